"""Whose turn it is at the station once a request was refused.

A refused request (a wrong key, "back" with no going-out open, a second factor the person
never enrolled) keeps the person's turn: until they move on (someone else is identified,
or their face leaves the camera) or nothing is heard from them for the turn's timeout,
identifying them again repeats why and what to do instead of inferring an action. So a
person who pressed "back" by mistake and keeps looking at the camera is not clocked out
a second later. A key pressed during the turn is a new, explicit request.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.feedback import Notice


@dataclass(frozen=True, slots=True)
class RefusedKey:
    """A key line that could not be understood: the next person identified is told so,
    and nothing is inferred for them."""

    notice: Notice
    at: float  # time.monotonic() when the key was pressed


@dataclass(slots=True)
class _Held:
    staff_id: str
    notice: Notice
    by_face: bool
    last_seen: float
    shown_at: float


class Turn:
    """At most one held turn: the station serves one person at a time."""

    def __init__(self, timeout_s: float, repeat_s: float) -> None:
        self.timeout_s = timeout_s  # no identification for this long: the turn is over
        self.repeat_s = repeat_s  # the refusal is shown again at most this often
        self._held: _Held | None = None

    @property
    def staff_id(self) -> str | None:
        return self._held.staff_id if self._held is not None else None

    def hold(self, staff_id: str, notice: Notice, now: float, *, by_face: bool) -> None:
        """`staff_id` was refused with `notice` (already shown)."""
        self._held = _Held(staff_id, notice, by_face, now, now)

    def holds(self, staff_id: str, now: float) -> bool:
        """`staff_id` was identified: is it still their refused turn? Someone else being
        identified, or a pause longer than the timeout, ends the turn."""
        held = self._held
        if held is None:
            return False
        if held.staff_id != staff_id or now - held.last_seen > self.timeout_s:
            self._held = None
            return False
        held.last_seen = now
        return True

    def repeat(self, now: float) -> Notice | None:
        """The refusal to show again, unless it was shown very recently."""
        held = self._held
        if held is None or now - held.shown_at < self.repeat_s:
            return None
        held.shown_at = now
        return held.notice

    def face_gone(self) -> None:
        """The camera sees nobody any more: a person identified by face has moved on."""
        if self._held is not None and self._held.by_face:
            self._held = None

    def end(self) -> None:
        self._held = None
