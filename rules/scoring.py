"""The monthly 100-point sheet: scores, vetoes (一票否决), ratings and ranking.

`score_month` is pure; `load_sheet` reads what it needs from a store.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rules.directory import Directory
from rules.engine import Facts, ViolationRecord, judged_workdays
from rules.manager_actions import violation_marks
from rules.patrol import WindowDeduction, window_deductions
from rules.policy import Policy
from rules.recompute import month_span
from rules.store import Store

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
    """Score every staff member and window of the directory from a month's violations.

    `workdays`: per staff member, per window in the order they worked there, the working
    days of the month on which they were judged there (`judged_workdays`). A person has one
    score for the month, from all their violations, and is listed at the last window they
    worked at; a window's score is the mean of its members' scores for the violations of
    their days there, weighted by those days, and a member's veto vetoes the window where
    the vetoing violation happened. Whoever has no judged day is not on the sheet. None:
    everyone at their latest window, counted alike. `window_findings`: per window, what its
    patrol findings take off the mean (a serious one vetoes it when `[veto] window` says so).
    """
    mine: dict[str, list[ViolationRecord]] = defaultdict(list)
    for v in violations:
        mine[v.staff_id].append(v)
    weights: dict[str, dict[str, int]] = {}
    for staff in directory.judged_staff:
        home = directory.home_window(staff)
        days = {home.id: 1} if workdays is None and home else (workdays or {}).get(staff, {})
        weights[staff] = {window: n for window, n in days.items() if n}
    people = []
    for staff, days in weights.items():
        if not days:
            continue
        counted = [v for v in mine[staff] if v.status != "voided"]
        deductions = sum(v.deduction for v in counted)
        vetoes = tuple(v.violation_id for v in counted if v.veto)
        score = max(0.0, FULL_MARKS - deductions)
        latest = directory.window[list(days)[-1]]
        people.append(
            {
                "staff_id": staff,
                "window": latest.id,
                "site": latest.site,
                "deductions": deductions,
                "score": score,
                "vetoed": bool(vetoes),
                "rating": policy.rating(score, bool(vetoes)),
                "minor": sum(v.severity == "minor" for v in counted),
                "serious": sum(v.severity == "serious" for v in counted),
                "voided": len(mine[staff]) - len(counted),
                "veto_reasons": vetoes,
            }
        )

    person_rows = [PersonScore(rank=r, **p) for r, p in ranking(people, "staff_id")]
    windows = []
    for window in directory.windows:
        members = [p for p in person_rows if weights[p.staff_id].get(window.id)]
        days = sum(weights[p.staff_id][window.id] for p in members)
        # A violation recorded without its window (before windows were dated) counts at
        # every window its person worked at that month.
        here = {
            p.staff_id: [
                v
                for v in mine[p.staff_id]
                if v.status != "voided" and v.window in (window.id, None)
            ]
            for p in members
        }
        total = sum(
            max(0.0, FULL_MARKS - sum(v.deduction for v in here[p.staff_id]))
            * weights[p.staff_id][window.id]
            for p in members
        )
        found = (window_findings or {}).get(window.id, WindowDeduction(0.0, ()))
        score = max(0.0, (total / days if days else FULL_MARKS) - found.points)
        vetoed_staff = tuple(p.staff_id for p in members if any(v.veto for v in here[p.staff_id]))
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


def load_sheet(
    store: Store, policy: Policy, directory: Directory, month: str
) -> tuple[list[PersonScore], list[WindowScore], list[ViolationRecord]]:
    """The month's sheet from a store: (staff, windows, the violations it counts)."""
    rows = store.violations(month=month)
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
    people, windows = score_month(policy, directory, rows, days, found)
    return people, windows, rows
