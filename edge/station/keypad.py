"""Action keys at the station: in, out, going out (with kind and reason), back.

A keypad or keyboard sends one line per press; a line is one of

    i | in            clock in              o | out          clock out
    g | go [K] [R]    going out, kind K (1 outing, 2 personal, 3 sick, 4 official),
                      reason R (its number in the configured list)
    b | back          back from going out

With no key, the station infers the action (edge/station/inference.py).
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from dataclasses import dataclass
from typing import TextIO

from base.errors import HallwatchError
from mqtt.schema import Action, LeaveKind

log = logging.getLogger(__name__)

LEAVE_KEYS = {
    "1": LeaveKind.OUTING,
    "2": LeaveKind.PERSONAL,
    "3": LeaveKind.SICK,
    "4": LeaveKind.OFFICIAL,
}
ACTION_KEYS = {
    "i": Action.CLOCK_IN,
    "in": Action.CLOCK_IN,
    "o": Action.CLOCK_OUT,
    "out": Action.CLOCK_OUT,
    "g": Action.LEAVE_OUT,
    "go": Action.LEAVE_OUT,
    "b": Action.LEAVE_RETURN,
    "back": Action.LEAVE_RETURN,
}


class InputError(HallwatchError, ValueError):
    """A key sequence the station does not understand (shown to the person)."""


@dataclass(frozen=True, slots=True)
class ActionRequest:
    action: Action
    at: float  # time.monotonic() when the key was pressed
    leave_kind: LeaveKind = LeaveKind.OUTING
    reason_index: int = 0


def parse(line: str, reasons: int, at: float) -> ActionRequest:
    words = line.strip().lower().split()
    if not words or words[0] not in ACTION_KEYS:
        raise InputError(f"unknown key {line.strip()!r}: use i, o, g [kind] [reason], b")
    action = ACTION_KEYS[words[0]]
    if action is not Action.LEAVE_OUT:
        if len(words) > 1:
            raise InputError(f"{words[0]} takes no options")
        return ActionRequest(action, at)
    kind = LEAVE_KEYS.get(words[1]) if len(words) > 1 else LeaveKind.OUTING
    if kind is None:
        raise InputError(
            f"unknown going-out kind {words[1]!r}: 1 outing, 2 personal, 3 sick, 4 official"
        )
    reason = 0
    if len(words) > 2:
        if not words[2].isdigit() or not 1 <= int(words[2]) <= reasons:
            raise InputError(f"reason must be a number from 1 to {reasons}")
        reason = int(words[2]) - 1
    return ActionRequest(action, at, kind, reason)


class KeyReader:
    """Reads key lines from a stream (stdin: a keypad is a keyboard) in a thread."""

    def __init__(self, reasons: int, stream: TextIO | None = None) -> None:
        self.reasons = reasons
        self.stream = stream or sys.stdin
        self.requests: queue.Queue[ActionRequest | InputError] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="keys", daemon=True)

    def start(self) -> KeyReader:
        self._thread.start()
        return self

    def _run(self) -> None:
        for line in self.stream:
            if not line.strip():
                continue
            try:
                self.requests.put(parse(line, self.reasons, time.monotonic()))
            except InputError as exc:
                self.requests.put(exc)

    def poll(self) -> ActionRequest | InputError | None:
        try:
            return self.requests.get_nowait()
        except queue.Empty:
            return None
