"""Manager actions: corrections, voids and leave, as audited, append-only records.

Nothing a manager does rewrites a violation: each action is a row (who, when, why) that the
pure engine takes as an input, so a replay with the same actions gives the same results.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from mqtt.schema import LeaveKind
from rules.policy import Policy

ActionKind = Literal["correct", "void", "leave_add", "leave_cancel"]


@dataclass(frozen=True, slots=True)
class LeaveRecord:
    leave_id: str
    staff_id: str
    start: datetime
    end: datetime
    kind: LeaveKind
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ManagerAction:
    action_id: str
    ts: datetime
    by: str
    action: ActionKind
    target: str  # a violation id, or a leave id
    reason: str
    leave: LeaveRecord | None = None  # for leave_add
    # Who entered it, and through what ("wang via cli"); `by` is who decided (they differ
    # when a clerk enters a manager's decision). Empty in rows from before it was kept.
    entered_by: str = ""


def policy_leave_id(staff: str, start: datetime, end: datetime) -> str:
    digest = hashlib.sha1(f"{staff}|{start.isoformat()}|{end.isoformat()}".encode()).hexdigest()
    return f"lv-{digest[:12]}"


def effective_leave(policy: Policy, actions: list[ManagerAction]) -> list[LeaveRecord]:
    """Leave granted in the policy and by managers, minus what managers cancelled."""
    leaves = [
        LeaveRecord(
            policy_leave_id(g.staff, g.start, g.end), g.staff, g.start, g.end, g.kind, g.reason
        )
        for g in policy.leave
    ]
    leaves += [a.leave for a in actions if a.action == "leave_add" and a.leave is not None]
    cancelled = {a.target for a in actions if a.action == "leave_cancel"}
    return sorted(
        (lv for lv in leaves if lv.leave_id not in cancelled),
        key=lambda lv: (lv.start, lv.leave_id),
    )


def violation_marks(actions: list[ManagerAction]) -> dict[str, ManagerAction]:
    """Per violation id, the action that decides its status: a void outranks a correction."""
    marks: dict[str, ManagerAction] = {}
    for action in sorted(actions, key=lambda a: (a.ts, a.action_id)):
        if action.action not in ("correct", "void"):
            continue
        previous = marks.get(action.target)
        if previous is None or previous.action != "void":
            marks[action.target] = action
    return marks
