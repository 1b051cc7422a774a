"""Action keys at the station: in, out, going out (with kind and reason), back.

A keypad or keyboard sends one line per press; a line is one of

    i | in | 上班             clock in
    o | out | 下班            clock out
    g | go | 外出 [K] [R]     going out; K, the kind, by number or name: 1 outing (外出办事),
                              2 personal (事假), 3 sick (病假), 4 official (公务); R, the
                              reason, by its number or its text in the configured list
    b | back | 返回           back from going out

so `g`, `g 2 3`, `g outing bank` and `g 事假 银行` all go out (without K: an outing; without
R: the first reason). While the station asks for a second factor (a face in the grey
zone), any other single word is the person's staff number. With no key, the station infers the action (edge/station/inference.py).
The reader only collects lines; the station parses them against its own reasons and
shows what was chosen, or what is wrong, in its own language.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from base.errors import HallwatchError
from edge.station.messages import say
from mqtt.schema import Action, LeaveKind

# Kinds by number and by name, in either language of the station.
LEAVE_KEYS = {
    "1": LeaveKind.OUTING,
    "2": LeaveKind.PERSONAL,
    "3": LeaveKind.SICK,
    "4": LeaveKind.OFFICIAL,
    **{kind.value: kind for kind in LeaveKind},
    "外出办事": LeaveKind.OUTING,
    "事假": LeaveKind.PERSONAL,
    "病假": LeaveKind.SICK,
    "公务": LeaveKind.OFFICIAL,
}
ACTION_KEYS = {
    "i": Action.CLOCK_IN,
    "in": Action.CLOCK_IN,
    "上班": Action.CLOCK_IN,
    "o": Action.CLOCK_OUT,
    "out": Action.CLOCK_OUT,
    "下班": Action.CLOCK_OUT,
    "g": Action.LEAVE_OUT,
    "go": Action.LEAVE_OUT,
    "外出": Action.LEAVE_OUT,
    "b": Action.LEAVE_RETURN,
    "back": Action.LEAVE_RETURN,
    "返回": Action.LEAVE_RETURN,
}


class InputError(HallwatchError, ValueError):
    """A key sequence the station does not understand; the station shows it to the person
    in its own language (`message_key` and `values` are for `say`)."""

    def __init__(self, message_key: str, **values: str) -> None:
        super().__init__(say("en", message_key, **values))
        self.message_key = message_key
        self.values = values


@dataclass(frozen=True, slots=True)
class KeyPress:
    line: str
    at: float  # time.monotonic() when the key was pressed


@dataclass(frozen=True, slots=True)
class ActionRequest:
    action: Action
    at: float  # time.monotonic() when the key was pressed
    leave_kind: LeaveKind = LeaveKind.OUTING
    reason_index: int = 0


def reason_list(reasons: Sequence[str]) -> str:
    """`1 bank  2 meeting ...`: the going-out reasons as the screen lists them."""
    return "  ".join(f"{n} {reason}" for n, reason in enumerate(reasons, start=1))


def _reason_index(text: str, reasons: Sequence[str]) -> int:
    if text.isdigit() and 1 <= int(text) <= len(reasons):
        return int(text) - 1
    wanted = text.casefold()
    exact = [i for i, r in enumerate(reasons) if r.casefold() == wanted]
    starting = [i for i, r in enumerate(reasons) if r.casefold().startswith(wanted)]
    if exact or len(starting) == 1:
        return (exact or starting)[0]
    raise InputError(
        "reason_unknown", reason=text, count=str(len(reasons)), reasons=reason_list(reasons)
    )


def staff_number(press: KeyPress) -> str | None:
    """The staff number a line types (one word that is no action key), else None."""
    words = press.line.strip().split()
    if len(words) != 1 or words[0].casefold() in ACTION_KEYS:
        return None
    return words[0][:32]


def parse(press: KeyPress, reasons: Sequence[str]) -> ActionRequest:
    """The request a key line makes, or an InputError saying what to press instead."""
    words = press.line.strip().split()
    if not words or words[0].casefold() not in ACTION_KEYS:
        raise InputError("key_unknown", pressed=press.line.strip())
    action = ACTION_KEYS[words[0].casefold()]
    rest = words[1:]
    if action is not Action.LEAVE_OUT:
        if rest:
            raise InputError("key_no_options", pressed=words[0])
        return ActionRequest(action, press.at)
    kind = LeaveKind.OUTING
    if rest and rest[0].casefold() in LEAVE_KEYS:
        kind = LEAVE_KEYS[rest[0].casefold()]
        rest = rest[1:]
    elif rest and rest[0].isdigit():
        raise InputError("kind_unknown", kind=rest[0])
    reason = _reason_index(" ".join(rest), reasons) if rest else 0
    return ActionRequest(action, press.at, kind, reason)


class KeyReader:
    """Reads key lines from a stream (stdin: a keypad is a keyboard); the station runs
    `run` in a thread of its own."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdin
        self.presses: queue.Queue[KeyPress] = queue.Queue()

    def run(self, stop: threading.Event) -> None:
        """Collect presses until the stream ends (a blocked read does not see `stop`)."""
        for line in self.stream:
            if line.strip():
                self.presses.put(KeyPress(line, time.monotonic()))

    def poll(self) -> KeyPress | None:
        try:
            return self.presses.get_nowait()
        except queue.Empty:
            return None
