"""A person-month's violations as the monthly sheet counts them (rules/scoring.py).

The sheet needs of a person's month only sums and counts: the points deducted, the minor,
serious and voided violations, the vetoing violations, and per window the points deducted
there and whether one vetoes. `tally` reduces the violations to them; the store keeps each
person-month's tally in the transaction that writes its violations (rules/tally_store.py),
so a sheet of 10,000 staff reads 10,000 tallies instead of the month's violations, and
`score_month` scores from the same tallies: one sum, whichever way the sheet is built.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rules.engine import ViolationRecord


@dataclass(frozen=True, slots=True)
class WindowPart:
    """The counted violations of a person-month at one window."""

    deductions: float = 0.0
    vetoed: bool = False


@dataclass(frozen=True, slots=True)
class Tally:
    """What the sheet counts of a person-month's violations (voided ones only counted)."""

    deductions: float = 0.0
    minor: int = 0
    serious: int = 0
    voided: int = 0
    vetoes: tuple[str, ...] = ()  # the vetoing violations' ids, in time order
    # Per window the violations were at (None: recorded before windows were dated, which
    # counts at every window of the month).
    windows: Mapping[str | None, WindowPart] = field(default_factory=dict)

    def at(self, window: str) -> WindowPart:
        """The violations that count at `window`: its own and the undated ones."""
        own, undated = (self.windows.get(w, WindowPart()) for w in (window, None))
        return WindowPart(own.deductions + undated.deductions, own.vetoed or undated.vetoed)

    def text(self) -> str:
        """The per-window parts as stored (JSON)."""
        return json.dumps([[w, p.deductions, p.vetoed] for w, p in self.windows.items()])


NO_VIOLATIONS = Tally()


def tally(violations: Iterable[ViolationRecord]) -> Tally:
    """One person-month's violations reduced to what the sheet counts. Summed in time
    order (then rule, id), whatever order they come in."""
    ordered = sorted(violations, key=lambda v: (v.at, v.rule, v.violation_id))
    counted = [v for v in ordered if v.status != "voided"]
    points: dict[str | None, float] = defaultdict(float)
    vetoed: dict[str | None, bool] = defaultdict(bool)
    for v in counted:
        points[v.window] += v.deduction
        vetoed[v.window] |= v.veto
    return Tally(
        deductions=sum(v.deduction for v in counted),
        minor=sum(v.severity == "minor" for v in counted),
        serious=sum(v.severity == "serious" for v in counted),
        voided=len(ordered) - len(counted),
        vetoes=tuple(v.violation_id for v in counted if v.veto),
        windows={w: WindowPart(points[w], vetoed[w]) for w in points},
    )


def tallies(violations: Iterable[ViolationRecord]) -> dict[str, Tally]:
    """Per staff member, the tally of their violations (of one month)."""
    mine: dict[str, list[ViolationRecord]] = defaultdict(list)
    for v in violations:
        mine[v.staff_id].append(v)
    return {staff: tally(rows) for staff, rows in mine.items()}


def tally_of(
    deductions: float, minor: int, serious: int, voided: int, vetoes: str, windows: str
) -> Tally:
    """A tally as stored (`vetoes` and `windows` JSON)."""
    return Tally(
        float(deductions),
        minor,
        serious,
        voided,
        tuple(json.loads(vetoes)),
        {w: WindowPart(float(d), bool(v)) for w, d, v in json.loads(windows)},
    )
