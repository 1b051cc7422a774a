"""The annual review (年度考核) and a month's red and black lists (红黑榜), from the monthly
100-point sheets of rules/scoring.py (`score_month`, `load_sheet`). Pure: nothing is read.

A month is scored for a person when its sheet has them (they were judged on a working day
of it: in service, posted, their site live), and for a window when someone was judged at
it; any other month is not scored, shown as such, never as 100 or 0 (someone who joined in
June has seven months, a hall that went live in March ten). The year's score is the mean
of the months scored; its rating is the `[annual]` band of that mean, no higher than
`veto_caps_at` when a month was vetoed (一票否决). Rows are ranked as the monthly sheet
ranks (`scoring.ranking`: a year without a veto first, then by score, ties share a rank).

The lists rank a hall's people and windows of one month the same way: the red list is the
best `red_size` without a veto scoring at least `red_min_score`; the black list is every
vetoed one and the worst `black_size` of the others scoring below `black_below`; whoever
ties with the last place is on the list too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from rules.policy import Annual, Lists
from rules.scoring import PersonScore, WindowScore, ranking

MONTHS = tuple(range(1, 13))
Sheet = tuple[list[PersonScore], list[WindowScore]]  # a month's staff and windows


@dataclass(frozen=True, slots=True)
class PersonYear:
    rank: int
    staff_id: str
    window: str  # the window of their latest scored month
    site: str
    months: tuple[float | None, ...]  # January to December; None: not scored
    vetoed_months: tuple[int, ...]  # the months (1-12) vetoed
    mean: float  # of the months scored
    rating: str


@dataclass(frozen=True, slots=True)
class WindowYear:
    rank: int
    window: str
    site: str
    months: tuple[float | None, ...]
    vetoed_months: tuple[int, ...]
    mean: float
    rating: str


@dataclass(frozen=True, slots=True)
class MonthLists:
    """A month's red and black lists; each row ranked within the rows it was listed from."""

    month: str
    red_staff: list[PersonScore]
    black_staff: list[PersonScore]
    red_windows: list[WindowScore]
    black_windows: list[WindowScore]


def month_number(month: str) -> int:
    """The month (1-12) of YYYY-MM."""
    return int(month[5:7])


def _year_rows(
    annual: Annual, scored: Mapping[str, dict[int, PersonScore | WindowScore]], name: str
) -> list[tuple[int, dict]]:
    """Per key (staff id or window id), its months scored -> one ranked row of the year."""
    rows = []
    for key, months in scored.items():
        latest = months[max(months)]
        vetoed = tuple(m for m in sorted(months) if months[m].vetoed)
        mean = round(sum(s.score for s in months.values()) / len(months), 2)
        rows.append(
            {
                name: key,
                "window": latest.window,
                "site": latest.site,
                "months": tuple(months[m].score if m in months else None for m in MONTHS),
                "vetoed_months": vetoed,
                "score": mean,
                "vetoed": bool(vetoed),
                "rating": annual.rating(mean, len(vetoed)),
            }
        )
    return ranking(rows, name)


def annual_review(
    annual: Annual, sheets: Mapping[str, Sheet]
) -> tuple[list[PersonYear], list[WindowYear]]:
    """The year of every person and window from the sheets of its scored months (YYYY-MM
    -> sheet, of one year; a month absent is not scored for anyone)."""
    people: dict[str, dict[int, PersonScore | WindowScore]] = {}
    windows: dict[str, dict[int, PersonScore | WindowScore]] = {}
    for month, (staff, window_rows) in sorted(sheets.items()):
        number = month_number(month)
        for p in staff:
            people.setdefault(p.staff_id, {})[number] = p
        for w in window_rows:
            if w.staff:  # nobody judged there: the sheet's 100 is not a score
                windows.setdefault(w.window, {})[number] = w

    def fields(row: dict) -> dict:
        return {
            "months": row["months"],
            "vetoed_months": row["vetoed_months"],
            "mean": row["score"],
            "rating": row["rating"],
            "site": row["site"],
        }

    person_years = [
        PersonYear(rank=rank, staff_id=row["staff_id"], window=row["window"], **fields(row))
        for rank, row in _year_rows(annual, people, "staff_id")
    ]
    window_years = [
        WindowYear(rank=rank, window=row["window"], **fields(row))
        for rank, row in _year_rows(annual, windows, "window")
    ]
    return person_years, window_years


Row = TypeVar("Row", PersonScore, WindowScore)


def _red_and_black(rows: Sequence[Row], name: str, lists: Lists) -> tuple[list[Row], list[Row]]:
    """The red and black lists of `rows`, re-ranked among themselves; the black list worst
    first."""
    plain = [{"score": r.score, "vetoed": r.vetoed, name: getattr(r, name), "row": r} for r in rows]
    ranked: list[Row] = [replace(d["row"], rank=rank) for rank, d in ranking(plain, name)]
    clean = [r for r in ranked if not r.vetoed]
    red = [r for r in clean if r.rank <= lists.red_size and r.score >= lists.red_min_score]
    on_red = {getattr(r, name) for r in red}
    worst = [r for r in clean if getattr(r, name) not in on_red and r.score < lists.black_below]
    if lists.black_size and worst:
        cut = worst[-min(lists.black_size, len(worst))].score
        worst = [r for r in worst if r.score <= cut]
    else:
        worst = []
    black = [*worst, *(r for r in ranked if r.vetoed)]
    return red, sorted(black, key=lambda r: (-r.rank, getattr(r, name)))


def month_lists(lists: Lists, month: str, sheet: Sheet) -> MonthLists:
    """The red and black lists of a month's sheet (of one hall, or all)."""
    staff, windows = sheet
    red_staff, black_staff = _red_and_black(staff, "staff_id", lists)
    red_windows, black_windows = _red_and_black([w for w in windows if w.staff], "window", lists)
    return MonthLists(month, red_staff, black_staff, red_windows, black_windows)
