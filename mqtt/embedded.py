"""An in-process MQTT 3.1.1 broker (amqtt) for the demo and single-box trials.

Production uses Mosquitto (`hallwatch broker setup`); this one needs nothing installed.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading

from base.lifecycle import StartStop


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedBroker(StartStop):
    """`with EmbeddedBroker() as broker:` serves anonymous MQTT on 127.0.0.1:`broker.port`."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="embedded-broker", daemon=True)

    def _run(self) -> None:
        from amqtt.broker import Broker

        async def serve() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            broker = Broker(
                {
                    "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
                    "plugins": {
                        "amqtt.plugins.authentication.AnonymousAuthPlugin": {
                            "allow_anonymous": True
                        }
                    },
                }
            )
            await broker.start()
            self._started.set()
            await self._stop.wait()
            await broker.shutdown()

        logging.getLogger("amqtt").setLevel(logging.ERROR)
        try:
            asyncio.run(serve())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._started.set()

    def start(self) -> EmbeddedBroker:
        self._thread.start()
        self._started.wait(15)
        if self._error is not None or not self._started.is_set():
            raise RuntimeError(
                f"embedded broker failed to start on port {self.port}: {self._error}"
            )
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
