"""The hall's regime as a validated TOML policy; the defaults mirror BRIEF.md.

Everything the engine decides comes from here: time zones, sessions (with seasonal
schedules), the calendar with holidays and make-up working days (调休), windows with their
staff and workstations, grace periods, going-out allowances, leave, app categories, the
violation catalogue, the correction allowance, the veto and the rating bands.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import pydantic

from base.config import Regex, Section, TimeZoneName, load_toml
from base.identifiers import NodeId, StaffId
from base.schedule import (
    Calendar,
    Schedule,
    Schedules,
    Session,
    Timetable,
    sessions_on,
)
from mqtt.schema import LeaveKind

Minutes = Annotated[float, pydantic.Field(ge=0, le=24 * 60)]


class Site(Section):
    timezone: TimeZoneName = "Asia/Shanghai"

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _default_schedules() -> list[Schedule]:
    return [
        Schedule.model_validate(
            {
                "from": "01-01",
                "sessions": [
                    {"start": "09:00", "end": "12:00"},
                    {"start": "13:30", "end": "17:00"},
                ],
            }
        )
    ]


class Window(Section):
    id: NodeId
    site: NodeId
    staff: list[StaffId] = []
    # Workstation device id -> the staff member who works at it.
    workstations: dict[str, StaffId] = {}

    @pydantic.model_validator(mode="after")
    def _workstation_staff_known(self) -> Window:
        unknown = sorted(set(self.workstations.values()) - set(self.staff))
        if unknown:
            raise ValueError(f"workstations assigned to staff not in this window: {unknown}")
        return self


class Grace(Section):
    late_min: Minutes = 5  # late if arriving more than this after a session starts
    early_min: Minutes = 5  # early departure if leaving more than this before it ends
    absent_late_min: Minutes = 60  # an arrival later than this counts as absence
    outing_overdue_min: Minutes = 10  # back later than the allowed return plus this
    away_idle_min: Minutes = 30  # workstation idle this long while on duty
    nonwork_session_min: Minutes = 5  # non-work use per session
    nonwork_day_min: Minutes = 60  # non-work use per day
    settle_min: Minutes = 30  # wait after a session for offline devices before judging it


class Outing(Section):
    """Going-out kinds and their allowed durations; the promised return may be earlier."""

    allowed_min: dict[LeaveKind, Minutes] = {
        LeaveKind.OUTING: 60,
        LeaveKind.PERSONAL: 120,
        LeaveKind.SICK: 240,
        LeaveKind.OFFICIAL: 480,
    }


class LeaveGrant(Section):
    """Approved leave known when the policy is written (managers add more with the CLI)."""

    staff: StaffId
    start: pydantic.AwareDatetime
    end: pydantic.AwareDatetime
    kind: LeaveKind = LeaveKind.PERSONAL
    reason: str = ""

    @pydantic.model_validator(mode="after")
    def _ordered(self) -> LeaveGrant:
        if self.end <= self.start:
            raise ValueError("leave ends before it starts")
        return self


class CategoryRule(Section):
    """An app-name (or window-title) pattern and the category it means."""

    pattern: Regex
    category: NodeId


class Categories(Section):
    # Central patterns win over the agent's own category, so one place decides.
    rules: list[CategoryRule] = [
        CategoryRule(pattern=r"(?i)steam|game|minecraft|solitaire", category="game"),
        CategoryRule(pattern=r"(?i)youku|iqiyi|bilibili|youtube|netflix|vlc", category="video"),
        CategoryRule(pattern=r"(?i)taobao|jd\.com|pinduoduo|amazon", category="shopping"),
        CategoryRule(pattern=r"(?i)tonghuashun|eastmoney|stock", category="stocks"),
        CategoryRule(pattern=r"(?i)wechat|weixin|qq\b|telegram", category="chat"),
    ]
    nonwork: list[NodeId] = ["game", "video", "shopping", "stocks", "chat"]

    @cached_property
    def compiled(self) -> list[tuple[re.Pattern[str], str]]:
        return [(re.compile(r.pattern), r.category) for r in self.rules]

    def categorise(self, app: str, reported: str) -> str:
        for pattern, category in self.compiled:
            if pattern.search(app):
                return category
        return reported

    def is_nonwork(self, app: str, reported: str) -> bool:
        return self.categorise(app, reported) in self.nonwork


RuleId = Literal[
    "late",
    "early_departure",
    "missing_punch",
    "absence",
    "outing_overdue",
    "away_from_post",
    "nonwork_session",
    "nonwork_day",
    "spoof",
]


class Penalty(Section):
    severity: Literal["minor", "serious"]
    deduction: Annotated[float, pydantic.Field(ge=0, le=100)]


def _default_catalogue() -> dict[RuleId, Penalty]:
    table: dict[RuleId, tuple[Literal["minor", "serious"], float]] = {
        "late": ("minor", 1),
        "early_departure": ("minor", 1),
        "missing_punch": ("minor", 1),
        "absence": ("serious", 10),
        "outing_overdue": ("minor", 1),
        "away_from_post": ("minor", 2),
        "nonwork_session": ("minor", 2),
        "nonwork_day": ("serious", 5),
        "spoof": ("serious", 10),
    }
    return {rule: Penalty(severity=s, deduction=d) for rule, (s, d) in table.items()}


class Corrections(Section):
    allowance: Annotated[int, pydantic.Field(ge=0, le=100)] = 3  # minor corrections a month
    # Deduction of a minor violation escalated to serious; None keeps its own.
    escalated_deduction: Annotated[float, pydantic.Field(ge=0, le=100)] | None = None


class Veto(Section):
    person: bool = True  # any serious violation fails the person's month
    window: bool = True  # ... and their window's


class Band(Section):
    min: Annotated[float, pydantic.Field(ge=0, le=100)]
    rating: str


def _default_bands() -> list[Band]:
    return [
        Band(min=95, rating="excellent"),
        Band(min=85, rating="good"),
        Band(min=70, rating="pass"),
    ]


class Policy(Section):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    default_site: Site = Site()
    sites: dict[NodeId, Site] = {}
    schedules: Schedules = pydantic.Field(default_factory=_default_schedules)
    calendar: Calendar = Calendar()
    windows: list[Window] = []
    grace: Grace = Grace()
    outing: Outing = Outing()
    leave: list[LeaveGrant] = []
    categories: Categories = Categories()
    catalogue: dict[RuleId, Penalty] = pydantic.Field(default_factory=_default_catalogue)
    corrections: Corrections = Corrections()
    veto: Veto = Veto()
    bands: list[Band] = pydantic.Field(default_factory=_default_bands)
    fail_rating: str = "fail"

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> Policy:
        missing = sorted(set(_default_catalogue()) - set(self.catalogue))
        if missing:
            raise ValueError(f"catalogue lacks rules {missing} (give every rule a penalty)")
        seen: dict[str, str] = {}
        for window in self.windows:
            for staff in window.staff:
                if staff in seen:
                    raise ValueError(f"staff {staff} is in windows {seen[staff]} and {window.id}")
                seen[staff] = window.id
        ids = [w.id for w in self.windows]
        if len(set(ids)) != len(ids):
            raise ValueError("window ids must be unique")
        return self

    # -- lookups the engine uses ---------------------------------------------------------
    @cached_property
    def window_of(self) -> dict[str, Window]:
        return {staff: w for w in self.windows for staff in w.staff}

    @cached_property
    def staff_of_workstation(self) -> dict[tuple[str, str], str]:
        return {(w.site, ws): staff for w in self.windows for ws, staff in w.workstations.items()}

    def site(self, site_id: str) -> Site:
        return self.sites.get(site_id, self.default_site)

    def zone(self, site_id: str) -> ZoneInfo:
        return self.site(site_id).zone

    def sessions(self, day: date) -> list[Session]:
        """The sessions of `day` under the seasonal schedule in force (none on days off)."""
        return sessions_on(self.schedules, self.calendar, day)

    def timetable(self, site_id: str) -> Timetable:
        """What a station of `site_id` needs to know of office hours."""
        return Timetable(
            timezone=self.site(site_id).timezone, schedules=self.schedules, calendar=self.calendar
        )

    def session_bounds(self, site_id: str, day: date) -> list[tuple[datetime, datetime]]:
        zone = self.zone(site_id)
        return [
            (datetime.combine(day, s.start, zone), datetime.combine(day, s.end, zone))
            for s in self.sessions(day)
        ]

    def penalty(self, rule: str) -> Penalty:
        return self.catalogue[rule]  # type: ignore[index]

    def rating(self, score: float, vetoed: bool) -> str:
        if vetoed:
            return self.fail_rating
        for band in sorted(self.bands, key=lambda b: -b.min):
            if score >= band.min:
                return band.rating
        return self.fail_rating

    def settle(self) -> timedelta:
        return timedelta(minutes=self.grace.settle_min)


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file (errors name the file and key)."""
    return load_toml(Policy, path)
