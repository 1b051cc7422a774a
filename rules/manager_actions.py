"""Manager actions: corrections, voids and leave, as audited, append-only records.

Nothing a manager does rewrites a violation: each action is a row (who, when, why) that the
pure engine takes as an input, so a replay with the same actions gives the same results.
The rules of what a manager may do (no correction notice on a serious violation) and of
how what they type is read (leave dates are whole local days) live here too, for every
front end (commands, console) to call.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Literal, Protocol

from base.errors import HallwatchError
from mqtt.schema import LeaveKind
from rules.policy import Policy
from rules.words import Language, rule_word

ActionKind = Literal[
    "correct",
    "void",
    "leave_add",
    "leave_cancel",
    # edits of the directory (rules/directory_store.py): their target is what they edit
    "staff_add",
    "staff_edit",
    "staff_deactivate",
    "window_add",
    "window_edit",
    "department_add",
    "department_edit",
    "device_register",
    "device_retire",
    # biometric templates kept centrally (hallwatch enrol --central): their target is the person
    "enrol",
    # a lookalike pair decided (rules/manage_lookalikes.py): its target is "A+B"
    "lookalike_decide",
    # a patrol finding recorded (rules/patrol.py): its target is the finding's id
    "finding_add",
    # alerts (rules/alerts.py): their target is the alert
    "alert_ack",
    "alert_clear",
    # requests (rules/requests.py): their target is the request's id
    "request_raise",
    "request_approve",
    "request_reject",
    # duty rosters (rules/rosters.py): their target is the roster entry
    "duty_set",
    "duty_remove",
]


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
    target: str  # a violation id, a leave id, or what a directory edit edits
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


# -- what a manager may do, and how what they type is read -----------------------------
class ActionRefused(HallwatchError):
    """A manager action the regime does not allow, with what to do instead."""


class Judged(Protocol):
    """What the correction rule reads of a violation (a `rules.engine.ViolationRecord`)."""

    violation_id: str
    rule: str
    severity: str
    escalated: bool


def check_correction(violation: Judged, language: Language = "zh") -> None:
    """Refuse a correction notice on a serious violation, saying what to do instead.

    A correction notice (纠错) answers a minor violation. A serious one, and a minor one
    escalated past the month's allowance, stays until an appeal voids it."""
    if violation.severity != "serious":
        return
    words = rule_word(violation.rule, language)
    vid = violation.violation_id
    if language == "zh":
        why = (
            f"这次{words}发生在本月纠错次数用完之后，已按严重违规处理"
            if violation.escalated
            else f"{words}是严重违规"
        )
        raise ActionRefused(
            f"不能对 {vid} 登记纠错：{why}，纠错通知只适用于轻微违规。"
            f"如申诉成立，请作废：hallwatch void {vid} --reason 原因；否则保持不变。"
        )
    why = (
        f"this {words} came after the month's corrections were used up, so it counts as serious"
        if violation.escalated
        else f"{words} is a serious violation"
    )
    raise ActionRefused(
        f"cannot record a correction for {vid}: {why}, and a correction notice applies "
        f"only to minor ones. If an appeal is upheld, void it: hallwatch void {vid} "
        "--reason WHY; otherwise leave it as it is."
    )


def leave_kind(text: str | None, language: Language = "zh") -> LeaveKind:
    """The kind of leave, which must be given: there is no default kind."""
    kinds = ", ".join(k.value for k in LeaveKind)
    if text is None or not text.strip():
        raise ActionRefused(
            f"请说明假别（--kind {kinds}）"
            if language == "zh"
            else f"say which kind of leave it is (--kind {kinds})"
        )
    try:
        return LeaveKind(text.strip())
    except ValueError:
        raise ActionRefused(
            f"没有“{text}”这种假别，可选：{kinds}"
            if language == "zh"
            else f"no kind of leave called {text!r}; one of {kinds}"
        ) from None


def leave_span(
    start: str, end: str, zone: tzinfo, language: Language = "zh"
) -> tuple[datetime, datetime]:
    """`--from` and `--to` as instants: a date means the whole local day, both ends
    inclusive (2026-11-24 to 2026-11-25 is two days); a date-time means that instant (in
    the site's time zone when it has no offset)."""
    begin = _moment(start, zone, "--from", False, language)
    finish = _moment(end, zone, "--to", True, language)
    if finish <= begin:
        raise ActionRefused(
            f"请假结束（{end}）不晚于开始（{start}）"
            if language == "zh"
            else f"the leave ends ({end}) before it starts ({start})"
        )
    return begin, finish


def _moment(text: str, zone: tzinfo, option: str, end: bool, language: Language) -> datetime:
    value = text.strip()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        pass
    else:
        # A date at the end of a span means up to the end of that day.
        return datetime.combine(day + timedelta(days=end), time(), zone)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ActionRefused(
            f"{option} {text!r} 不是日期（2026-11-24）或时间（2026-11-24T09:00）"
            if language == "zh"
            else f"{option} {text!r} is neither a date (2026-11-24) nor a date-time "
            "(2026-11-24T09:00)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)
