"""The live hall (实时大厅) and its wall mode (大屏): every window with its staff and their
state now, counts per state, today's punches and violations as they happen, the devices.

`/hall?site=S` is the page, `/hall/wall?site=S` the same board full screen for the hall's
wall, `/hall/events?site=S` the Server-Sent Events stream both listen to: on each event of
the live hub (hallwatch/console/live.py) for the site it re-renders what the event changes
(the person's row and the counts, today's duty holders when the person is one of them,
the punch list, the violations, the devices) as
fragments htmx swaps in by element id (out-of-band swaps), and every `TICK_S` the whole
board, for the states that change with time alone (缺勤 once the absence threshold passes).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from hallwatch.console.accounts import Session
from hallwatch.console.config import Language
from hallwatch.console.hall_view import HallReader
from hallwatch.console.i18n import t
from hallwatch.console.live import LiveEvent, LiveHub
from hallwatch.console.web import console_of, in_scope, language, render, requires
from mqtt import schema
from mqtt.ids import utc_now
from rules.presence import State

TICK_S = 30.0  # the whole board again, for states that change with time alone


def sites_of(request: Request, who: Session) -> list[str]:
    """The sites the person may watch: their account's, or (all sites) the directory's."""
    if not who.account.all_sites:
        return sorted(who.account.sites)
    return sorted({w.site for w in console_of(request).store.directory().windows})


def chosen_site(request: Request, who: Session) -> str:
    """`?site=` if it is theirs (else 404), or the first of theirs."""
    site = request.query_params.get("site")
    if site:
        return in_scope(who, site)
    sites = sites_of(request, who)
    if not sites:
        raise HTTPException(404)
    return sites[0]


async def _board_page(request: Request, who: Session, template: str) -> Response:
    site = chosen_site(request, who)
    reader = HallReader(console_of(request).management, site, language(request, who))
    board, _ = await run_in_threadpool(reader.board, utc_now())
    sites = sites_of(request, who)
    return render(request, template, who, board=board, site=site, sites=sites)


@requires("viewer")
async def hall(request: Request, who: Session) -> Response:
    return await _board_page(request, who, "hall.html")


@requires("viewer")
async def wall(request: Request, who: Session) -> Response:
    return await _board_page(request, who, "hall_wall.html")


def sse(event: str, html: str) -> str:
    """One Server-Sent Events message: each line of `html` a `data:` line."""
    data = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    return f"event: {event}\n{data}\n"


class Stream:
    """One open page's view of the hall: the states it counts, what it renders next."""

    def __init__(self, request: Request, site: str, lang: Language) -> None:
        console = console_of(request)
        self.reader = HallReader(console.management, site, lang)
        self.template = console.templates.env.get_template("hall_update.html")
        self.lang = lang
        self.states: dict[str, State] = {}

    def fragment(self, **parts: Any) -> str:
        return self.template.render(t=lambda key, **v: t(key, self.lang, **v), **parts)

    def whole(self) -> str:
        board, self.states = self.reader.board(utc_now())
        return self.fragment(board=board)

    def update(self, live: LiveEvent) -> str | None:
        """What `live` changes, as fragments (None: nothing shown changes)."""
        now = utc_now()
        change = live.change
        event = live.event
        if isinstance(event, schema.Status):
            return None if live.retained else self.fragment(devices=self.reader.devices())
        if change is None:
            return None
        if change.staff_id is None:
            return self.whole()
        directory = self.reader.store.directory()
        parts: dict[str, Any] = {}
        person = self.reader.person(directory, change.staff_id, now, also=[event])
        if person is not None:
            self.states[person.staff_id] = person.state
            parts["person"] = person
            parts["counts"] = self.reader.counts(self.states)
        if change.staff_id in self.reader.duty_staff(now):
            parts["duties"] = self.reader.duties(directory, now, self.states, also=[event])
        if isinstance(event, schema.Punch):
            parts["punch"] = self.reader.punch_line(directory, event)
        elif isinstance(event, schema.Violation):
            parts["violations"] = self.reader.violations(directory, now, also=[event])
        return self.fragment(**parts) if parts else None


@requires("viewer")
async def events(request: Request, who: Session) -> Response:
    site = chosen_site(request, who)
    hub = request.app.state.services.get("live")
    if not isinstance(hub, LiveHub):
        raise HTTPException(503)
    stream = Stream(request, site, language(request, who))
    subscription = hub.subscribe([site])

    async def messages() -> AsyncIterator[str]:
        try:
            yield "retry: 2000\n\n"
            # the board as of now: whatever happened between the page and the stream
            yield sse("hall", await run_in_threadpool(stream.whole))
            while True:
                try:
                    live = await asyncio.wait_for(subscription.get(), TICK_S)
                except TimeoutError:
                    yield sse("hall", await run_in_threadpool(stream.whole))
                    continue
                if live is None:
                    return  # the hub stopped
                html = await run_in_threadpool(stream.update, live)
                if html:
                    yield sse("hall", html)
        finally:
            hub.unsubscribe(subscription)

    return StreamingResponse(
        messages(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


routes = [
    Route("/hall", hall, methods=["GET"]),
    Route("/hall/wall", wall, methods=["GET"]),
    Route("/hall/events", events, methods=["GET"]),
]
