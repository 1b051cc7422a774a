"""Background services that live as long as the console app: the live-data subscriber
(one MQTT connection per process, fanned out to every open page) and whatever else a page
needs running beside the requests.

Register one before the app starts, in `create_app(..., services=[...])` or
`app.state.services.add("name", thing)`; `thing` is a `base.lifecycle.StartStop` (started
in a worker thread) or an `AsyncService` (started in the app's event loop, as the live hub
must be: it hands events to the loop's subscribers). The app's lifespan starts each in
order when uvicorn starts serving and stops them in reverse order when it shuts down; a
handler finds one by name: `request.app.state.services["live"]` (None if not registered).
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool

from base.lifecycle import StartStop

log = logging.getLogger(__name__)


class AsyncService(Protocol):
    async def start(self) -> Any: ...

    async def stop(self) -> None: ...


Service = StartStop | AsyncService


async def _call(method: Any) -> None:
    if inspect.iscoroutinefunction(method):
        await method()
    else:
        await run_in_threadpool(method)


class Services:
    """Named services, started and stopped with the app."""

    def __init__(self) -> None:
        self._services: dict[str, Service] = {}
        self._started: list[str] = []

    def add(self, name: str, service: Service) -> None:
        if name in self._services:
            raise ValueError(f"a console service named {name!r} is already registered")
        self._services[name] = service

    def __getitem__(self, name: str) -> Service:
        return self._services[name]

    def get(self, name: str) -> Service | None:
        return self._services.get(name)

    async def start(self) -> None:
        """Start every service; if one fails, stop those already started and re-raise."""
        try:
            for name, service in self._services.items():
                await _call(service.start)
                self._started.append(name)
                log.info("console service %s started", name)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        while self._started:
            name = self._started.pop()
            try:
                await _call(self._services[name].stop)
            except Exception:  # the others must still stop
                log.exception("console service %s did not stop cleanly", name)
