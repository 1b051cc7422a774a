"""Which action a punch is, when no key was pressed, and when a punch is a repeat.

Pure functions over the person's previous punch and the site's sessions, so the station
and the tests agree on what "the first punch of a session is in" means.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from mqtt.schema import Action


@dataclass(frozen=True, slots=True)
class Session:
    start: time
    end: time


@dataclass(frozen=True, slots=True)
class LastPunch:
    action: Action
    at: datetime


def session_index(sessions: list[Session], at: datetime) -> int:
    """The session a local time belongs to.

    Each session owns the time from halfway through the break before it to halfway
    through the break after it: a 12:10 punch after a 09:00-12:00 session is that
    session's clock-out; a 13:20 punch before 13:30 is the afternoon's clock-in.
    """
    minutes = at.hour * 60 + at.minute

    def m(t: time) -> int:
        return t.hour * 60 + t.minute

    for i, (current, following) in enumerate(itertools.pairwise(sessions)):
        if minutes < (m(current.end) + m(following.start)) / 2:
            return i
    return len(sessions) - 1


def infer_action(sessions: list[Session], last: LastPunch | None, now: datetime) -> Action:
    """The action for a punch with no key pressed.

    `now` and `last.at` must be in the site's time zone. Out on leave -> back; clocked in
    (or back) in the same session -> out; anything else -> in.
    """
    if last is None:
        return Action.CLOCK_IN
    if last.action is Action.LEAVE_OUT and last.at.date() == now.date():
        return Action.LEAVE_RETURN
    same_session = last.at.date() == now.date() and session_index(
        sessions, last.at
    ) == session_index(sessions, now)
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
