"""Turning an identification into a punch: which action, is it a repeat, the leave details.

Pure: the station passes the day's sessions, the person's previous punch, the key pressed
(if any) and the local time; it gets back the punch to record or the reason not to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from base.schedule import Session
from base.times import time_of_day
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
    message_key: str  # edge/station/messages.py: why
    time: str = ""
    # What to press instead: a refusal with one keeps the person's turn (edge/station/turn.py).
    hint_key: str | None = None


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
        return Refusal("already", time_of_day(last.at))
    if requested is Action.LEAVE_RETURN and (last is None or last.action is not Action.LEAVE_OUT):
        return Refusal("not_out", hint_key="not_out_do")
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
