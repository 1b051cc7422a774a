"""Merge consecutive equal samples into intervals (ActivityWatch-style heartbeats).

A sample equal to the open interval (same app, category, user, shown title and away
state) arriving within `pulse_s` of it extends it; anything else closes it at the new
sample's time and opens another. Long intervals are cut at `max_s` so the centre sees
activity while it lasts; a gap longer than `pulse_s` (the machine slept) ends the interval
at its last sample instead of bridging the gap.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Sample:
    """One classified observation. `title` is set only when policy lets it leave."""

    at: datetime
    app: str
    category: str
    user: str
    idle_s: float
    away: bool
    title: str | None = None

    def same_activity(self, other: Sample) -> bool:
        return (self.app, self.category, self.user, self.title, self.away) == (
            other.app,
            other.category,
            other.user,
            other.title,
            other.away,
        )


@dataclass(frozen=True, slots=True)
class Interval:
    start: datetime
    end: datetime
    sample: Sample  # the activity (its last sample)
    idle_s: float  # input idle time at the end of the interval (the rules read it so)

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


class Heartbeats:
    def __init__(self, pulse_s: float, max_s: float) -> None:
        self.pulse_s = pulse_s
        self.max_s = max_s
        self.open: Interval | None = None

    def add(self, sample: Sample) -> list[Interval]:
        """Take a sample; return the intervals it closes (oldest first)."""
        current = self.open
        if current is None:
            self.open = Interval(sample.at, sample.at, sample, sample.idle_s)
            return []
        gap = (sample.at - current.end).total_seconds()
        if gap > self.pulse_s or gap < 0:  # slept, or the clock went back: do not bridge
            self.open = Interval(sample.at, sample.at, sample, sample.idle_s)
            return [current]
        if not sample.same_activity(current.sample):
            self.open = Interval(sample.at, sample.at, sample, sample.idle_s)
            return [replace(current, end=sample.at)]
        extended = Interval(current.start, sample.at, sample, sample.idle_s)
        if extended.duration_s >= self.max_s:
            self.open = Interval(sample.at, sample.at, sample, sample.idle_s)
            return [extended]
        self.open = extended
        return []

    def flush(self) -> list[Interval]:
        """Close the open interval (on shutdown)."""
        current, self.open = self.open, None
        return [current] if current is not None and current.duration_s > 0 else []
