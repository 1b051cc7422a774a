"""The daily inspection (每日巡查) of a hall and a date: the same content as `hallwatch
inspect` (rules/html_report.py's section), its open items with the actions the viewer
may take, printable (print CSS: the hall and date on every page, page numbers, the
sign-off block 检查人 / 审核人)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hallwatch.console.accounts import Session
from hallwatch.console.pages.scope import (
    chosen_day,
    chosen_site,
    rules_language,
    sites_of,
    today_at,
)
from hallwatch.console.web import console_of, language, render, requires
from rules.html_report import NUMBERING, PAGE_STYLE, inspection_html, signoff_html
from rules.words import label


def print_style(running: str, lang: str) -> str:
    """The printed page's @page rules: `running` at the top of every page, its number at
    the foot (rules/html_report.py's, for the console's pages)."""
    safe = running.replace("\\", "").replace('"', "'").replace("<", "")
    return PAGE_STYLE.format(running=safe, numbering=NUMBERING[rules_language(lang)])


@requires("viewer")
async def inspection(request: Request, who: Session) -> Response:
    site = chosen_site(request, who)
    day = chosen_day(request, site) or today_at(request, site)
    console = console_of(request)
    lang = language(request, who)
    words = rules_language(lang)
    report = console.management.inspection(day, site=site, language=words)
    title = f"{label('daily inspection', words)} {day}"
    return render(
        request,
        "inspection.html",
        who,
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
        print_style=print_style(f"{console.settings.site_name} {site} · {title}", lang),
        signoff=signoff_html(words),
    )


routes = [Route("/inspection", inspection, methods=["GET"])]
