"""Patrol findings (明查暗访, 日常检查): what an inspector observed, as an input of the engine.

A finding names a person or a window, a moment, an observed rule of the catalogue
(`policy.OBSERVED_RULES`), a note and who recorded it. It is stored once and never
rewritten; the engine reads a person's findings like their events (`person_breaches`: each
one a breach of the day it was observed, numbered, escalated and vetoing with the others),
and a window's findings are deducted from the window's score (`window_deductions`). The
violation a finding becomes has an id derived from the finding's, so voids and correction
notices hold across recomputations and replays.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from rules.manager_actions import ManagerAction
from rules.policy import Policy


@dataclass(frozen=True, slots=True)
class PatrolFinding:
    """One observation of an inspector: of a person (`staff_id`) or of a window (`window`)."""

    finding_id: str
    site: str
    staff_id: str | None
    window: str | None
    at: datetime
    rule: str
    note: str
    by: str  # who recorded it ("wang via console")
    photo: str | None = None  # the photo's id in the store, if one was taken

    @property
    def violation_id(self) -> str:
        """The id of the violation it becomes: the same in every recomputation."""
        return "v-" + hashlib.sha1(f"finding|{self.finding_id}".encode()).hexdigest()[:16]

    def day(self, policy: Policy) -> date:
        return self.at.astimezone(policy.zone(self.site)).date()

    def detail(self) -> str:
        return f"observed by {self.by}: {self.note}" + (" (photo)" if self.photo else "")


@dataclass(frozen=True, slots=True)
class WindowDeduction:
    """What a window's findings of a month take off its score."""

    points: float
    vetoing: tuple[str, ...]  # violation ids of the serious findings standing


def window_deductions(
    policy: Policy, findings: Iterable[PatrolFinding], marks: Mapping[str, ManagerAction]
) -> dict[str, WindowDeduction]:
    """Per window, the deductions of its findings not voided; a serious one vetoes the
    window when the policy's `[veto] window` says so."""
    points: dict[str, float] = {}
    vetoing: dict[str, list[str]] = {}
    for finding in sorted(findings, key=lambda f: (f.at, f.finding_id)):
        mark = marks.get(finding.violation_id)
        if finding.window is None or (mark is not None and mark.action == "void"):
            continue
        penalty = policy.penalty(finding.rule)
        points[finding.window] = points.get(finding.window, 0.0) + penalty.deduction
        if penalty.severity == "serious" and policy.veto.window:
            vetoing.setdefault(finding.window, []).append(finding.violation_id)
    return {
        window: WindowDeduction(total, tuple(vetoing.get(window, ())))
        for window, total in points.items()
    }
