"""The annual review (年度考核) of a hall, for managers and up: per person and per window the
twelve months (a month not scored said so, a vetoed month marked), the mean, the months
vetoed and the year's rating in words; downloads as XLSX (rules/render.py's tables)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hallwatch.console.accounts import Session
from hallwatch.console.pages.assessment import XLSX, attachment
from hallwatch.console.pages.scope import chosen_site, rules_language, sites_of, today_at
from hallwatch.console.web import console_of, language, render, requires
from rules.acting import InvalidInput
from rules.annual import PersonYear, WindowYear
from rules.directory import Directory
from rules.manage_annual import YearReview, checked_year
from rules.render import annual_tables, month_text, score_xlsx
from rules.words import Language, label, rating_word


@dataclass(frozen=True, slots=True)
class YearLine:
    """A row of the annual table as the page shows it."""

    rank: int
    name: str
    window: str
    months: list[tuple[str, bool]]  # January to December: the score or "-", vetoed
    mean: str
    vetoed: str  # the months vetoed ("10月, 11月")
    rating: str


def year_lines(
    rows: list[PersonYear] | list[WindowYear], directory: Directory, words: Language
) -> list[YearLine]:
    return [
        YearLine(
            r.rank,
            directory.label(r.staff_id, words) if isinstance(r, PersonYear) else "",
            directory.window_label(r.window),
            [
                ("-" if s is None else f"{s:g}", n + 1 in r.vetoed_months)
                for n, s in enumerate(r.months)
            ],
            f"{r.mean:g}",
            ", ".join(month_text(n, words) for n in r.vetoed_months),
            rating_word(r.rating, words),
        )
        for r in rows
    ]


def chosen_year(request: Request, site: str) -> int:
    """`?year=`, else the year of the last month that has ended in the hall's zone."""
    text = request.query_params.get("year", "").strip()
    if not text:
        today = today_at(request, site)
        return today.year if today.month > 1 else today.year - 1
    try:
        return checked_year(int(text))
    except (ValueError, InvalidInput):
        raise HTTPException(400, f"{text!r} is not a year (YYYY, for example 2026)") from None


def _review(request: Request, who: Session) -> tuple[str, YearReview]:
    site = chosen_site(request, who)
    return site, console_of(request).management.annual_review(chosen_year(request, site), site=site)


@requires("manager")
async def annual(request: Request, who: Session) -> Response:
    site, review = _review(request, who)
    words = rules_language(language(request, who))
    cap = review.veto_caps_at
    return render(
        request,
        "annual.html",
        who,
        site=site,
        sites=sites_of(request, who),
        year=review.year,
        title=f"{label('annual review', words)} {review.year}",
        rule=label("annual rule", words),
        cap=f"{label('veto cap', words)} {rating_word(cap, words)}" if cap else "",
        not_scored=label("not scored", words),
        staff=year_lines(review.staff, review.directory, words),
        windows=year_lines(review.windows, review.directory, words),
    )


@requires("manager")
async def annual_xlsx(request: Request, who: Session) -> Response:
    site, review = _review(request, who)
    tables = annual_tables(review, rules_language(language(request, who)))
    with tempfile.TemporaryDirectory(prefix="hallwatch-xlsx-") as work:
        path = Path(work) / "annual.xlsx"
        score_xlsx(path, tables)
        content = path.read_bytes()
    return Response(content, media_type=XLSX, headers=attachment(f"{site}-{review.year}.xlsx"))


routes = [
    Route("/annual", annual, methods=["GET"]),
    Route("/annual.xlsx", annual_xlsx, methods=["GET"]),
]
