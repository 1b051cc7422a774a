"""The daily inspection (每日巡查) of a hall and a date: the same content as `hallwatch
inspect` (rules/html_report.py's section), its open items with the actions the viewer
may take, printable (print CSS: the hall and date on every page, page numbers, the
sign-off block 检查人 / 审核人)."""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hallwatch.console.accounts import Session
from hallwatch.console.pages.scope import (
    REFUSALS,
    chosen_day,
    chosen_site,
    rules_language,
    sites_of,
    today_at,
)
from hallwatch.console.web import console_of, language, render, requires, theirs
from rules.html_report import NUMBERING, PAGE_STYLE, inspection_html, signoff_html
from rules.inspection import acknowledgement
from rules.words import label


def print_style(running: str, lang: str) -> str:
    """The printed page's @page rules: `running` at the top of every page, its number at
    the foot (rules/html_report.py's, for the console's pages)."""
    safe = running.replace("\\", "").replace('"', "'").replace("<", "")
    return PAGE_STYLE.format(running=safe, numbering=NUMBERING[rules_language(lang)])


@requires("viewer")
async def inspection(request: Request, who: Session) -> Response:
    site = chosen_site(request, who)
    return _page(request, who, site, chosen_day(request, site) or today_at(request, site))


def _page(
    request: Request, who: Session, site: str, day: date, error: str = "", status_code: int = 200
) -> Response:
    console = console_of(request)
    lang = language(request, who)
    words = rules_language(lang)
    report = console.management.inspection(day, site=site, language=words)
    title = f"{label('daily inspection', words)} {day}"
    return render(
        request,
        "inspection.html",
        who,
        status_code,
        site=site,
        sites=sites_of(request, who),
        day=day,
        title=title,
        body=inspection_html(report, words, open_items=False),
        items=report.open_items,
        # a correction notice is for an open minor violation (a serious one is voided or not)
        correctable={
            v.violation_id
            for window in report.windows
            for line in window.staff
            for v in line.violations
            if v.status == "open" and v.severity == "minor"
        },
        may_act=who.account.at_least("manager"),
        # inspectors and up acknowledge an alert (someone is on it); managers clear it
        may_acknowledge=who.account.at_least("inspector"),
        alert_states={
            i.alert_id: acknowledgement(i, words) for i in report.open_items if i.alert_id
        },
        error=error,
        print_style=print_style(f"{console.settings.site_name} {site} · {title}", lang),
        signoff=signoff_html(words),
    )


async def _alert_step(request: Request, who: Session, step: str) -> Response:
    """Acknowledge or clear an alert of one of the person's halls, then back to the
    inspection; a refusal is shown there beside the items."""
    console = console_of(request)
    alert = theirs(who, console.store.alert(request.path_params["id"]))
    site = alert.site
    form = await request.form()
    note = str(form.get("note", ""))
    day = alert.ts.astimezone(console.management.policy.zone(site)).date()
    try:
        if step == "ack":
            console.management.acknowledge_alert(who.actor, alert.id, note)
        else:
            console.management.clear_alert(who.actor, alert.id, note)
    except REFUSALS as refused:
        return _page(request, who, site, day, str(refused), 409)
    return RedirectResponse(f"/inspection?site={site}&date={day}", 303)


@requires("inspector")
async def acknowledge(request: Request, who: Session) -> Response:
    return await _alert_step(request, who, "ack")


@requires("manager")
async def clear(request: Request, who: Session) -> Response:
    return await _alert_step(request, who, "clear")


routes = [
    Route("/inspection", inspection, methods=["GET"]),
    Route("/alerts/{id}/acknowledge", acknowledge, methods=["POST"]),
    Route("/alerts/{id}/clear", clear, methods=["POST"]),
]
