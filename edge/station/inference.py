"""Which action a punch is, when no key was pressed, and when a punch is a repeat.

Pure functions over the person's previous punch and the day's sessions; which session a
punch belongs to is the rules engine's own rule (`base.schedule.session_index`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from base.schedule import Session, session_index
from mqtt.schema import Action


@dataclass(frozen=True, slots=True)
class LastPunch:
    action: Action
    at: datetime


def infer_action(sessions: Sequence[Session], last: LastPunch | None, now: datetime) -> Action:
    """The action for a punch with no key pressed.

    `sessions` are those of `now`'s day and `now` is in the site's time zone (the previous
    punch is read in it too). Out on leave -> back; clocked in (or back) in the same session
    -> out; anything else -> in.
    """
    if last is None:
        return Action.CLOCK_IN
    then = last.at.astimezone(now.tzinfo)
    same_day = then.date() == now.date()
    if last.action is Action.LEAVE_OUT and same_day:
        return Action.LEAVE_RETURN
    same_session = same_day and (
        session_index(sessions, then.time()) == session_index(sessions, now.time())
    )
    if same_session and last.action in (Action.CLOCK_IN, Action.LEAVE_RETURN):
        return Action.CLOCK_OUT
    return Action.CLOCK_IN


def is_repeat(
    last: LastPunch | None, now: datetime, debounce: timedelta, requested: Action | None = None
) -> bool:
    """A second punch by the same person within the debounce window is the same punch.

    A different action chosen on purpose (a key) is a new punch, however soon.
    """
    if last is None or not timedelta(0) <= now - last.at < debounce:
        return False
    return requested is None or requested is last.action
