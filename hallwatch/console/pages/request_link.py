"""A person's own requests (`/r/<token>`): opened without an account through the link a
manager made for them (pages/requests.py), it shows that person's recent violations to
appeal and a punch correction form, and their requests so far; what they raise is raised
as them, through the link (`Actor(staff, "link")`), by the management API.

An unknown, expired or revoked link, or one opened from an address that opened too many
bad ones lately, gets a page that says so (hallwatch/console/request_links.py). The
token is the page's only secret: the page sends no referrer and is not cached.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hallwatch.console.pages.requests import (
    Entered,
    appealable,
    links_of,
    raise_as,
    request_row,
    violation_words,
)
from hallwatch.console.pages.scope import REFUSALS, rules_language
from hallwatch.console.request_links import LINK_PATH, LinkRefused
from hallwatch.console.web import client_address, console_of, language, render
from rules.acting import Actor
from rules.request_store import RequestLink
from rules.requests import PUNCH_ACTIONS
from rules.words import punch_word, request_kind_word

PRIVATE = {"Referrer-Policy": "no-referrer", "Cache-Control": "private, no-store"}
STATUS = {"unknown": 404, "expired": 410, "revoked": 410, "throttled": 429}
MINE = 10  # the person's latest requests shown


def _page(
    request: Request,
    link: RequestLink,
    entered: Entered | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    console = console_of(request)
    lang = language(request)
    words = rules_language(lang)
    staff = link.staff_id
    mine = [request_row(request, r, lang) for r in console.management.requests(staff=staff)]
    response = render(
        request,
        "request_link.html",
        None,
        status_code,
        name=console.management.directory().name(staff, words),
        site=link.site,
        kinds=[(k, request_kind_word(k, words)) for k in ("punch", "appeal")],
        forms={
            k: entered if entered and entered.kind == k else Entered(kind=k)
            for k in ("punch", "appeal")
        },
        actions=[(a, punch_word(a, words)) for a in PUNCH_ACTIONS],
        violations=[(v.violation_id, violation_words(v, lang)) for v in appealable(request, staff)],
        mine=list(reversed(mine))[:MINE],
        raised=request.query_params.get("raised") == "1",
        error=error,
        refused="",
    )
    response.headers.update(PRIVATE)
    return response


def _opened(request: Request) -> RequestLink | Response:
    """The live link of the path's token, or the page saying why it does not open."""
    try:
        return links_of(request).open(request.path_params["token"], client_address(request))
    except LinkRefused as refused:
        response = render(
            request, "request_link.html", None, STATUS[refused.why], refused=refused.why,
            minutes=refused.minutes,
        )  # fmt: skip
        response.headers.update(PRIVATE)
        return response


async def own_page(request: Request) -> Response:
    link = _opened(request)
    return link if isinstance(link, Response) else _page(request, link)


async def own_raise(request: Request) -> Response:
    """Raise what the person asked, as them; the link's token is the form's secret (no
    session, so no CSRF token: a page elsewhere cannot know the token)."""
    link = _opened(request)
    if isinstance(link, Response):
        return link
    entered = Entered.of(await request.form())
    try:
        raise_as(request, Actor(link.staff_id, "link"), link.staff_id, entered)
    except REFUSALS as refused:
        return _page(request, link, entered, str(refused), 409)
    return RedirectResponse(f"{LINK_PATH}{request.path_params['token']}?raised=1", 303)


routes = [
    Route(LINK_PATH + "{token}", own_page, methods=["GET"]),
    Route(LINK_PATH + "{token}", own_raise, methods=["POST"]),
]
