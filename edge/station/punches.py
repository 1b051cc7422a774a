"""Turning an identification into a punch: which action, is it a repeat, the leave details.

Pure: the station passes the day's sessions, the person's previous punch, the key pressed
(if any) and the local time; it gets back the punch to record or the reason not to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from base.schedule import Session
from edge.station.config import StationConfig
from edge.station.inference import LastPunch, infer_action, is_repeat
from edge.station.keypad import ActionRequest
from mqtt.schema import Action, Leave


@dataclass(frozen=True, slots=True)
class PlannedPunch:
    action: Action
    inferred: bool
    leave: Leave | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    message_key: str  # edge/station/messages.py
    time: str = ""


def plan_punch(
    config: StationConfig,
    sessions: Sequence[Session],
    last: LastPunch | None,
    request: ActionRequest | None,
    now: datetime,
) -> PlannedPunch | Refusal:
    """`sessions` are those of `now`'s day; `now` and `last.at` are in the site's time zone."""
    requested = request.action if request else None
    if is_repeat(last, now, timedelta(seconds=config.debounce_s), requested):
        assert last is not None
        return Refusal("already", last.at.strftime("%H:%M"))
    if requested is Action.LEAVE_RETURN and (last is None or last.action is not Action.LEAVE_OUT):
        return Refusal("not_out")
    action = requested or infer_action(sessions, last, now)
    leave = None
    if action is Action.LEAVE_OUT:
        assert request is not None  # going out is never inferred
        leave = Leave(
            kind=request.leave_kind,
            reason=config.leave.reasons[request.reason_index],
            expected_return=now + config.leave_duration(request.leave_kind),
        )
    return PlannedPunch(action, inferred=requested is None, leave=leave)
