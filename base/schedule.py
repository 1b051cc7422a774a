"""Office hours, defined once for the centre and the stations.

A site's `Timetable` is its time zone, its seasonal schedules (each a list of sessions in
force from a day of the year) and its calendar (weekends, holidays, make-up working days).
The rules service reads it from the policy and pushes it to every station (the `config`
topic), so both decide with the same sessions:

- `sessions_on(schedules, calendar, day)`: the sessions of a day (none on a day off);
- `session_index(sessions, at)`: which session a punch at a local time of day belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, time
from functools import cached_property
from itertools import pairwise
from typing import Annotated
from zoneinfo import ZoneInfo

import pydantic

from base.config import Section, TimeZoneName

MonthDay = Annotated[str, pydantic.Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
Weekday = Annotated[int, pydantic.Field(ge=1, le=7)]  # ISO: 1 = Monday


class Session(Section):
    """An office-hours session of a day, in the site's local time."""

    start: time = pydantic.Field(
        description="When the session begins: a local time of day like 09:00, no zone."
    )
    end: time = pydantic.Field(
        description="When the session ends: a local time of day after `start`, no zone."
    )

    @pydantic.field_validator("start", "end")
    @classmethod
    def _local(cls, value: time) -> time:
        # A number (seconds) parses as a UTC time; a session is in the site's own zone.
        if value.tzinfo is not None:
            raise ValueError("a session time is a local time of day like 09:00, without a zone")
        return value

    @pydantic.model_validator(mode="after")
    def _ordered(self) -> Session:
        if self.end <= self.start:
            raise ValueError(f"session ends ({self.end}) before it starts ({self.start})")
        return self


def _in_order(sessions: list[Session]) -> list[Session]:
    if not sessions:
        raise ValueError("at least one session is needed")
    for a, b in pairwise(sessions):
        if b.start < a.end:
            raise ValueError(f"sessions overlap or are out of order: {a.end} > {b.start}")
    return sessions


# A day's sessions: at least one, in order, none overlapping the next.
DaySessions = Annotated[list[Session], pydantic.AfterValidator(_in_order)]


class Schedule(Section):
    """Sessions in force from `from` (MM-DD) until the next schedule's `from`, every year."""

    from_: MonthDay = pydantic.Field(
        "01-01",
        alias="from",
        description="The first day (MM-DD) the schedule applies, every year.",
    )
    sessions: DaySessions = pydantic.Field(
        description="The day's sessions in order, not overlapping, at least one."
    )


class Calendar(Section):
    """Which days are working days: the weekend, public holidays, make-up working days."""

    weekend: list[Weekday] = pydantic.Field([6, 7], description="ISO weekdays off, 1 = Monday.")
    holidays: list[date] = pydantic.Field(
        [], description="Public holidays: days off even when they fall on a weekday."
    )
    workdays: list[date] = pydantic.Field(
        [], description="Make-up working days (调休): days on even when they fall on a weekend."
    )

    @pydantic.model_validator(mode="after")
    def _disjoint(self) -> Calendar:
        both = set(self.holidays) & set(self.workdays)
        if both:
            days = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"dates both holiday and make-up working day: {days}")
        return self

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day not in self.holidays and day.isoweekday() not in self.weekend


def _distinct_starts(schedules: list[Schedule]) -> list[Schedule]:
    starts = [s.from_ for s in schedules]
    if len(set(starts)) != len(starts):
        raise ValueError(f"two schedules start on the same day: {sorted(starts)}")
    return schedules


# A year's schedules: at least one, each starting on its own day.
Schedules = Annotated[
    list[Schedule], pydantic.Field(min_length=1), pydantic.AfterValidator(_distinct_starts)
]


def sessions_on(schedules: Sequence[Schedule], calendar: Calendar, day: date) -> list[Session]:
    """The sessions of `day` under the seasonal schedule in force (none on days off)."""
    if not calendar.is_workday(day):
        return []
    key = day.strftime("%m-%d")
    ordered = sorted(schedules, key=lambda s: s.from_)
    current = ordered[-1]  # before the first `from` of the year, last year's applies
    for schedule in ordered:
        if schedule.from_ <= key:
            current = schedule
    return current.sessions


def _microseconds(moment: time) -> int:
    return (
        (moment.hour * 60 + moment.minute) * 60 + moment.second
    ) * 1_000_000 + moment.microsecond


def session_index(sessions: Sequence[Session], at: time) -> int:
    """The session a punch at local time of day `at` belongs to.

    Each session owns the time from halfway through the break before it to halfway
    through the break after it: a 12:10 punch after a 09:00-12:00 session is that
    session's clock-out; a 13:20 punch before 13:30 is the afternoon's clock-in. A day
    without sessions (a holiday) is one stretch, index 0.
    """
    doubled = 2 * _microseconds(at)  # doubled, so the middle of a break is a whole number
    for index, (current, following) in enumerate(pairwise(sessions)):
        if doubled < _microseconds(current.end) + _microseconds(following.start):
            return index
    return max(len(sessions) - 1, 0)


class Timetable(Section):
    """A site's office hours through the year, as a station needs them."""

    timezone: TimeZoneName = pydantic.Field(description="The site's IANA time zone.")
    schedules: Schedules = pydantic.Field(
        description="Seasonal schedules of sessions, each in force from its `from` day."
    )
    calendar: Calendar = pydantic.Field(
        Calendar(), description="Working days: weekend, holidays, make-up days."
    )

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def sessions(self, day: date) -> list[Session]:
        return sessions_on(self.schedules, self.calendar, day)

    @classmethod
    def every_day(cls, timezone: str, sessions: list[Session]) -> Timetable:
        """The same sessions on every day of the year, weekends included."""
        return cls(
            timezone=timezone,
            schedules=[Schedule.model_validate({"from": "01-01", "sessions": sessions})],
            calendar=Calendar(weekend=[]),
        )
