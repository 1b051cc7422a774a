"""The monthly 100-point sheet: scores, vetoes (一票否决), ratings and ranking.

`score_month` and `score_tallies` are pure; `load_sheet` reads what it needs from a store:
the tallies kept beside the violations (rules/tally.py), not the violations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rules.directory import Directory
from rules.engine import Facts, ViolationRecord, judged_workdays
from rules.manager_actions import violation_marks
from rules.patrol import WindowDeduction, window_deductions
from rules.policy import Policy
from rules.recompute import month_span
from rules.store import Store
from rules.tally import NO_VIOLATIONS, Tally, tallies

FULL_MARKS = 100.0


@dataclass(frozen=True, slots=True)
class PersonScore:
    rank: int
    staff_id: str
    window: str  # the latest window they worked at in the month
    site: str
    deductions: float
    score: float
    vetoed: bool
    rating: str
    minor: int
    serious: int
    voided: int
    veto_reasons: tuple[str, ...]  # violation ids


@dataclass(frozen=True, slots=True)
class WindowScore:
    rank: int
    window: str
    site: str
    staff: int
    # The mean of its staff's scores for their days at this window (the violations of those
    # days), weighted by the days each was judged here.
    score: float
    vetoed: bool
    rating: str
    vetoed_staff: tuple[str, ...]


def ranking(rows: list[dict], name: str) -> list[tuple[int, dict]]:
    """Not vetoed before vetoed, then by score; ties share a rank (1, 2, 2, 4)."""

    def merit(row: dict) -> tuple[bool, float]:
        return (row["vetoed"], -row["score"])

    ordered = sorted(rows, key=lambda row: (*merit(row), row[name]))
    ranked: list[tuple[int, dict]] = []
    for index, row in enumerate(ordered):
        tied = index > 0 and merit(ordered[index - 1]) == merit(row)
        ranked.append((ranked[-1][0] if tied else index + 1, row))
    return ranked


def score_month(
    policy: Policy,
    directory: Directory,
    violations: Iterable[ViolationRecord],
    workdays: Mapping[str, Mapping[str, int]] | None = None,
    window_findings: Mapping[str, WindowDeduction] | None = None,
) -> tuple[list[PersonScore], list[WindowScore]]:
    """Score every staff member and window of the directory from a month's violations
    (`score_tallies` of their tallies)."""
    return score_tallies(policy, directory, tallies(violations), workdays, window_findings)


def score_tallies(
    policy: Policy,
    directory: Directory,
    counted: Mapping[str, Tally],
    workdays: Mapping[str, Mapping[str, int]] | None = None,
    window_findings: Mapping[str, WindowDeduction] | None = None,
) -> tuple[list[PersonScore], list[WindowScore]]:
    """Score every staff member and window of the directory from the tallies of their
    month's violations (rules/tally.py; whoever has none has no violation).

    `workdays`: per staff member, per window in the order they worked there, the working
    days of the month on which they were judged there (`judged_workdays`). A person has one
    score for the month, from all their violations, and is listed at the last window they
    worked at; a window's score is the mean of its members' scores for the violations of
    their days there, weighted by those days, and a member's veto vetoes the window where
    the vetoing violation happened. Whoever has no judged day is not on the sheet. None:
    everyone at their latest window, counted alike. `window_findings`: per window, what its
    patrol findings take off the mean (a serious one vetoes it when `[veto] window` says so).
    """
    weights: dict[str, dict[str, int]] = {}
    for staff in directory.judged_staff:
        home = directory.home_window(staff)
        days = {home.id: 1} if workdays is None and home else (workdays or {}).get(staff, {})
        weights[staff] = {window: n for window, n in days.items() if n}
    people = []
    for staff, days in weights.items():
        if not days:
            continue
        mine = counted.get(staff, NO_VIOLATIONS)
        score = max(0.0, FULL_MARKS - mine.deductions)
        latest = directory.window[list(days)[-1]]
        people.append(
            {
                "staff_id": staff,
                "window": latest.id,
                "site": latest.site,
                "deductions": mine.deductions,
                "score": score,
                "vetoed": bool(mine.vetoes),
                "rating": policy.rating(score, bool(mine.vetoes)),
                "minor": mine.minor,
                "serious": mine.serious,
                "voided": mine.voided,
                "veto_reasons": mine.vetoes,
            }
        )

    person_rows = [PersonScore(rank=r, **p) for r, p in ranking(people, "staff_id")]
    at_window: dict[str, list[PersonScore]] = {}
    for p in person_rows:
        for window_id in weights[p.staff_id]:
            at_window.setdefault(window_id, []).append(p)
    windows = []
    for window in directory.windows:
        members = at_window.get(window.id, [])
        days = sum(weights[p.staff_id][window.id] for p in members)
        # A violation recorded without its window (before windows were dated) counts at
        # every window its person worked at that month.
        here = {p.staff_id: counted.get(p.staff_id, NO_VIOLATIONS).at(window.id) for p in members}
        total = sum(
            max(0.0, FULL_MARKS - here[p.staff_id].deductions) * weights[p.staff_id][window.id]
            for p in members
        )
        found = (window_findings or {}).get(window.id, WindowDeduction(0.0, ()))
        score = max(0.0, (total / days if days else FULL_MARKS) - found.points)
        vetoed_staff = tuple(p.staff_id for p in members if here[p.staff_id].vetoed)
        vetoed = (bool(vetoed_staff) and policy.veto.window) or bool(found.vetoing)
        windows.append(
            {
                "window": window.id,
                "site": window.site,
                "staff": len(members),
                "score": round(score, 2),
                "vetoed": vetoed,
                "rating": policy.rating(score, vetoed),
                "vetoed_staff": vetoed_staff,
            }
        )

    window_rows = [WindowScore(rank=r, **w) for r, w in ranking(windows, "window")]
    return person_rows, window_rows


SheetBasis = tuple[dict[str, dict[str, int]], dict[str, WindowDeduction]]


def sheet_basis(store: Store, policy: Policy, directory: Directory, month: str) -> SheetBasis:
    """What a month's sheet weighs besides the violations: each person's judged working
    days per window (`judged_workdays`) and each window's patrol deductions."""
    facts = Facts(first_punch=store.first_punches())
    days = {
        staff: judged_workdays(policy, directory, staff, month, facts)
        for staff in directory.judged_staff
    }
    found: dict[str, WindowDeduction] = {}
    if sites := {w.site for w in directory.windows}:
        start, end = month_span(policy, sites, month)
        marks = violation_marks(store.actions())
        found = window_deductions(policy, store.findings(start, end), marks)
    return days, found


def load_sheet(
    store: Store, policy: Policy, directory: Directory, month: str
) -> tuple[list[PersonScore], list[WindowScore]]:
    """The month's sheet from a store: (staff, windows), scored from the person-months'
    tallies (rules/tally_store.py), the month's violations not read."""
    return score_tallies(
        policy, directory, store.month_tallies(month), *sheet_basis(store, policy, directory, month)
    )


def veto_violations(store: Store, people: Iterable[PersonScore]) -> list[ViolationRecord]:
    """The violations the sheet's vetoes name: what its veto reasons say in words."""
    return store.violations_named(v for p in people for v in p.veto_reasons)
