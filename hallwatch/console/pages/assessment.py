"""The monthly assessment (月度考核) of a hall: each person and each window ranked, scores,
ratings, vetoes with their reason in words, the dot plot that shows differences between
98 and 100 (rules/html_report.py's section), the month's red and black lists (红黑榜),
printable; downloads as XLSX and CSV (rules/render.py's tables: Chinese headers, names
beside ids)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hallwatch.console.accounts import Session
from hallwatch.console.pages.inspection import print_style
from hallwatch.console.pages.scope import chosen_month, chosen_site, rules_language, sites_of
from hallwatch.console.web import console_of, language, render, requires
from rules.directory import Directory
from rules.html_report import assessment_html, signoff_html
from rules.manage import MonthlySheet
from rules.render import Table, score_csv, score_tables, score_xlsx
from rules.scoring import PersonScore, WindowScore
from rules.words import Language, label

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True, slots=True)
class ListLine:
    """Someone or some window on a red or black list."""

    rank: int
    name: str
    score: str
    veto: str  # the veto in words, or ""


def list_lines(
    rows: list[PersonScore] | list[WindowScore], directory: Directory, words: Language
) -> list[ListLine]:
    veto = label("veto", words)
    return [
        ListLine(
            r.rank,
            directory.label(r.staff_id, words)
            if isinstance(r, PersonScore)
            else directory.window_label(r.window),
            f"{r.score:g}",
            veto if r.vetoed else "",
        )
        for r in rows
    ]


def _sheet(request: Request, site: str, month: str, every_violation: bool) -> MonthlySheet:
    """The month's sheet, of the hall only; with every violation of the hall, or only
    those its vetoes name (`Management.monthly_sheet`)."""
    sheet = console_of(request).management.monthly_sheet(month, every_violation=every_violation)
    return MonthlySheet(
        month,
        [p for p in sheet.staff if p.site == site],
        [w for w in sheet.windows if w.site == site],
        [v for v in sheet.violations if v.site == site],
        sheet.directory,
    )


@requires("viewer")
async def assessment(request: Request, who: Session) -> Response:
    site = chosen_site(request, who)
    month = chosen_month(request, site)
    lang = language(request, who)
    words = rules_language(lang)
    sheet = _sheet(request, site, month, every_violation=False)
    title = f"{label('monthly assessment', words)} {month}"
    hall = console_of(request).settings.site_name
    found = console_of(request).management.month_lists(month, site=site)
    lists = {
        f"lists.{group}": list_lines(getattr(found.lists, group), found.directory, words)
        for group in ("red_staff", "black_staff", "red_windows", "black_windows")
    }
    return render(
        request,
        "assessment.html",
        who,
        site=site,
        sites=sites_of(request, who),
        month=month,
        title=title,
        body=assessment_html(
            month, sheet.staff, sheet.windows, sheet.violations, sheet.directory, words
        ),
        print_style=print_style(f"{hall} {site} · {title}", lang),
        signoff=signoff_html(words),
        lists=lists,
    )


def _tables(request: Request, who: Session) -> tuple[str, str, list[Table]]:
    site = chosen_site(request, who)
    month = chosen_month(request, site)
    sheet = _sheet(request, site, month, every_violation=True)
    words = rules_language(language(request, who))
    tables = score_tables(
        month, sheet.staff, sheet.windows, sheet.violations, sheet.directory, words
    )
    return site, month, tables


def attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@requires("viewer")
async def assessment_xlsx(request: Request, who: Session) -> Response:
    site, month, tables = _tables(request, who)
    with tempfile.TemporaryDirectory(prefix="hallwatch-xlsx-") as work:
        path = Path(work) / "assessment.xlsx"
        score_xlsx(path, tables)
        content = path.read_bytes()
    return Response(content, media_type=XLSX, headers=attachment(f"{site}-{month}.xlsx"))


@requires("viewer")
async def assessment_csv(request: Request, who: Session) -> Response:
    site, month, tables = _tables(request, who)
    # With a byte-order mark, so that Excel reads the Chinese as UTF-8.
    return Response(
        "\ufeff" + score_csv(tables),
        media_type="text/csv; charset=utf-8",
        headers=attachment(f"{site}-{month}.csv"),
    )


routes = [
    Route("/assessment", assessment, methods=["GET"]),
    Route("/assessment.xlsx", assessment_xlsx, methods=["GET"]),
    Route("/assessment.csv", assessment_csv, methods=["GET"]),
]
