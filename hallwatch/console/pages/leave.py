"""Leave (请假): the leave in force for a hall's staff, a form granting whole days (also
after the fact) and a cancel form per leave, for the hall's managers; each through the
management API, audited with the signed-in person."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hallwatch.console.accounts import Session
from hallwatch.console.pages.scope import (
    REFUSALS,
    chosen_site,
    hall_staff,
    rules_language,
    sites_of,
    staff_site,
)
from hallwatch.console.web import console_of, language, render, requires
from mqtt.schema import LeaveKind
from rules.acting import InvalidInput
from rules.render import moment
from rules.words import leave_kind_word


def _page(
    request: Request, who: Session, site: str, error: str = "", status_code: int = 200
) -> Response:
    console = console_of(request)
    words = rules_language(language(request, who))
    directory = console.management.directory()
    zone = console.management.policy.zone(site)
    staff = hall_staff(directory, site)
    ids = {m.staff_id for m in staff}
    leave = sorted(
        (lv for lv in console.management.leave() if lv.staff_id in ids),
        key=lambda lv: lv.start,
        reverse=True,
    )
    return render(
        request,
        "leave.html",
        who,
        status_code,
        site=site,
        sites=sites_of(request, who),
        staff=[(m.staff_id, directory.name(m.staff_id, words)) for m in staff],
        kinds=[(k.value, leave_kind_word(k.value, words)) for k in LeaveKind],
        rows=[
            {
                "lv": lv,
                "name": directory.name(lv.staff_id, words),
                "kind": leave_kind_word(lv.kind, words),
                "start": moment(lv.start, zone),
                "end": moment(lv.end, zone),
            }
            for lv in leave
        ],
        may_act=who.account.at_least("manager"),
        error=error,
    )


@requires("viewer")
async def leave_page(request: Request, who: Session) -> Response:
    return _page(request, who, chosen_site(request, who))


@requires("manager")
async def grant(request: Request, who: Session) -> Response:
    form = await request.form()
    staff = str(form.get("staff", "")).strip()
    site = staff_site(request, who, staff)
    management = console_of(request).management
    try:
        kind = str(form.get("kind", ""))
        if kind not in {k.value for k in LeaveKind}:
            raise InvalidInput(f"{kind!r} is not a kind of leave")
        start, end = management.leave_period(
            staff, str(form.get("start", "")), str(form.get("end", ""))
        )
        management.add_leave(
            who.actor, staff, start, end, LeaveKind(kind), str(form.get("reason", ""))
        )
    except REFUSALS as refused:
        return _page(request, who, site, str(refused), 409)
    return RedirectResponse(f"/leave?site={site}", 303)


@requires("manager")
async def cancel(request: Request, who: Session) -> Response:
    management = console_of(request).management
    current = {lv.leave_id: lv for lv in management.leave()}
    record = current.get(request.path_params["id"])
    if record is None:
        raise HTTPException(404)
    site = staff_site(request, who, record.staff_id)
    form = await request.form()
    try:
        management.cancel_leave(who.actor, record.leave_id, str(form.get("reason", "")))
    except REFUSALS as refused:
        return _page(request, who, site, str(refused), 409)
    return RedirectResponse(f"/leave?site={site}", 303)


routes = [
    Route("/leave", leave_page, methods=["GET"]),
    Route("/leave", grant, methods=["POST"]),
    Route("/leave/{id}/cancel", cancel, methods=["POST"]),
]
