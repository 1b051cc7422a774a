"""Delivery that does not depend on the broker: what the centre has of each device's
journal, what it misses, and when to ask for it again.

A device numbers everything it journals (`seq`, 1, 2, 3 ...) and publishes it all; its
status carries the latest number, so a tail that never arrived shows as well as a hole.
The centre notes every number it receives (rules/delivery_store.py) and, every few
seconds, folds them into "delivered up to" and the gaps above it. A gap still open after
a grace period is asked for on the device's command topic (`Resend`); the device
publishes again what its journal holds and names what it no longer has (`Resent`), which
the centre records as lost: counted, shown to admins, never silent. Pure: the watch
(rules/delivery_watch.py) does the I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from mqtt import schema
from mqtt.schema import MAX_RESEND
from mqtt.topics import CENTRAL

GRACE = timedelta(seconds=60)  # a gap younger than this is still on its way
RETRY = timedelta(seconds=60)  # an unanswered request is asked again after this, doubling
MAX_RETRY = timedelta(hours=1)
GIVE_UP_AFTER = 6  # requests for one gap the device never answers: then it counts as lost
GAPS_PER_TICK = 10  # gaps a fold names, the first of which is asked for


@dataclass(frozen=True, slots=True)
class Delivery:
    """What the centre has of one device's journal."""

    site: str
    device: str
    upto: int  # every entry up to this one is here (or recorded lost)
    highest: int  # the highest entry number seen
    lost: int  # entries the device no longer had when asked
    gap_since: datetime | None  # since when the entry after `upto` has been missing
    resend_at: datetime | None  # the last request (kept once its gap is filled)
    resend_first: int | None  # the range it asked for
    resend_last: int | None
    resends: int  # requests for the current first gap (0: not asked for it yet)
    above: int = 0  # entries here above `upto` (past a gap)
    lost_at: datetime | None = None  # when entries were last recorded lost

    @property
    def missing(self) -> int:
        """Entries up to the highest seen that are not here."""
        return max(0, self.highest - self.upto - self.above)


@dataclass(frozen=True, slots=True)
class Folded:
    """A device's row after folding in the numbers received since the last time."""

    upto: int
    highest: int
    gaps: list[tuple[int, int]]  # above `upto`, in order, the first ones


Run = tuple[str, str, int, int]  # site, device, first and last journal number


class Received:
    """Journal numbers as they are stored, kept as runs per device: a few operations per
    event, where a row per event would cost ingest a fifth of its rate."""

    def __init__(self) -> None:
        self._runs: dict[tuple[str, str], list[list[int]]] = {}

    @classmethod
    def of(cls, events: Iterable[schema.Event]) -> list[Run]:
        received = cls()
        received.add(events)
        return received.take()

    def add(self, events: Iterable[schema.Event]) -> None:
        """Devices' events (a will's 0 is no number, the centre's own have none)."""
        known = self._runs
        for event in events:
            seq, device = event.seq, event.device
            if seq <= 0 or device == CENTRAL:
                continue
            key = (event.site, device)
            runs = known.get(key)
            if runs is None:
                known[key] = [[seq, seq]]
            elif runs[-1][1] + 1 == seq:
                runs[-1][1] = seq
            else:
                runs.append([seq, seq])

    def take(self) -> list[Run]:
        """The runs so far, and none kept."""
        runs, self._runs = self._runs, {}
        return [(site, device, a, b) for (site, device), kept in runs.items() for a, b in kept]

    def put_back(self, runs: Iterable[Run]) -> None:
        """Runs taken and not noted (the store failed): kept for the next time."""
        for site, device, first, last in runs:
            self._runs.setdefault((site, device), []).append([first, last])


def merged(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Ranges (first, last), overlapping or touching ones joined, in order."""
    joined: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if joined and first <= joined[-1][1] + 1:
            joined[-1] = (joined[-1][0], max(joined[-1][1], last))
        else:
            joined.append((first, last))
    return joined


def fold(upto: int | None, highest: int, received: Iterable[tuple[int, int]]) -> Folded:
    """Advance `upto` over the ranges of numbers received (all > 0). A device seen for the
    first time starts where its first number is: the centre cannot ask for what was before
    it (a journal older than the store, a store made after the devices)."""
    runs = merged(received)
    if upto is None:
        upto = runs[0][0] - 1 if runs else 0
    above = [(max(first, upto + 1), last) for first, last in runs if last > upto]
    highest = max([highest, upto, *(last for _, last in above)])
    if above and above[0][0] == upto + 1:
        upto = above.pop(0)[1]
    gaps, expected = [], upto + 1
    for first, last in above:
        gaps.append((expected, first - 1))
        expected = last + 1
        if len(gaps) == GAPS_PER_TICK:
            break
    return Folded(upto, highest, gaps)


def retry_after(resends: int) -> timedelta:
    return min(RETRY * 2 ** max(0, resends - 1), MAX_RETRY)


def due(delivery: Delivery, now: datetime, grace: timedelta = GRACE) -> bool:
    """Whether the device should be asked for its first gap now."""
    if delivery.upto >= delivery.highest or delivery.gap_since is None:
        return False
    if now - delivery.gap_since < grace:
        return False
    if delivery.resends == 0 or delivery.resend_at is None:
        return True  # not yet asked for this gap
    return now - delivery.resend_at >= retry_after(delivery.resends)


def request_for(gaps: list[tuple[int, int]]) -> tuple[int, int]:
    """The range to ask for: the first gap, as much of it as one request may name. One
    request a device at a time, so the centre knows what it has asked for (and lets its
    answer past the device's quota: rules/ingest.py)."""
    first, last = gaps[0]
    return first, min(last, first + MAX_RESEND - 1)
