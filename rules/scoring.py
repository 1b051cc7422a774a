"""The monthly 100-point sheet: scores, vetoes (一票否决), ratings and ranking.

`score_month` is pure; `load_sheet` reads what it needs from a store.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rules.engine import Facts, ViolationRecord, judged_workdays
from rules.policy import Policy
from rules.store import Store

FULL_MARKS = 100.0


@dataclass(frozen=True, slots=True)
class PersonScore:
    rank: int
    staff_id: str
    window: str
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
    score: float  # the mean of its staff's scores, weighted by the days each was judged
    vetoed: bool
    rating: str
    vetoed_staff: tuple[str, ...]


def _ranking(rows: list[dict], name: str) -> list[tuple[int, dict]]:
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
    policy: Policy, violations: Iterable[ViolationRecord], workdays: Mapping[str, int] | None = None
) -> tuple[list[PersonScore], list[WindowScore]]:
    """Score every staff member and window of the policy from a month's violations.

    `workdays`: per staff member, the working days of the month on which they were judged
    (employed, the site live). A window's score then counts each member by those days, and
    whoever has none is not on the sheet. None: everyone, counted alike.
    """
    mine: dict[str, list[ViolationRecord]] = defaultdict(list)
    for v in violations:
        mine[v.staff_id].append(v)
    weight = {s: 1 if workdays is None else workdays.get(s, 0) for s in policy.window_of}
    people = []
    for window in policy.windows:
        for staff in window.staff:
            if not weight[staff]:
                continue
            counted = [v for v in mine[staff] if v.status != "voided"]
            deductions = sum(v.deduction for v in counted)
            vetoes = tuple(v.violation_id for v in counted if v.veto)
            score = max(0.0, FULL_MARKS - deductions)
            people.append(
                {
                    "staff_id": staff,
                    "window": window.id,
                    "site": window.site,
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

    person_rows = [PersonScore(rank=r, **p) for r, p in _ranking(people, "staff_id")]
    windows = []
    for window in policy.windows:
        members = [p for p in person_rows if p.window == window.id]
        days = sum(weight[p.staff_id] for p in members)
        score = sum(p.score * weight[p.staff_id] for p in members) / days if days else FULL_MARKS
        vetoed_staff = tuple(p.staff_id for p in members if p.vetoed)
        vetoed = bool(vetoed_staff) and policy.veto.window
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

    window_rows = [WindowScore(rank=r, **w) for r, w in _ranking(windows, "window")]
    return person_rows, window_rows


def load_sheet(
    store: Store, policy: Policy, month: str
) -> tuple[list[PersonScore], list[WindowScore], list[ViolationRecord]]:
    """The month's sheet from a store: (staff, windows, the violations it counts)."""
    rows = store.violations(month=month)
    facts = Facts(first_punch=store.first_punches())
    days = {staff: judged_workdays(policy, staff, month, facts) for staff in policy.window_of}
    people, windows = score_month(policy, rows, days)
    return people, windows, rows
