"""The hall's regime as a validated TOML policy; the defaults mirror BRIEF.md.

Everything the engine decides comes from here: time zones and go-live dates, sessions
(with seasonal schedules), the calendar with holidays and make-up working days (调休),
windows with their staff (and when each was employed) and workstations, grace periods,
going-out allowances, leave, app categories, the violation catalogue, the correction
allowance, the veto, the rating bands and how far a device clock may be off.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import pydantic

from base.config import Regex, Section, SessionTimes, TimeZoneName, load_toml
from mqtt.schema import LeaveKind

Minutes = Annotated[float, pydantic.Field(ge=0, le=24 * 60)]
MonthDay = Annotated[str, pydantic.Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
NodeId = Annotated[str, pydantic.Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
StaffId = Annotated[str, pydantic.Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class Site(Section):
    timezone: TimeZoneName = "Asia/Shanghai"
    go_live: date | None = pydantic.Field(
        None,
        description=(
            "Nobody at the site is judged before this day; unset: the local day of the "
            "first punch the site received."
        ),
    )

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


Session = SessionTimes


class Schedule(Section):
    """Sessions in force from `from` (MM-DD) until the next schedule's `from`, every year."""

    from_: MonthDay = pydantic.Field("01-01", alias="from")
    sessions: list[Session]

    @pydantic.model_validator(mode="after")
    def _no_overlap(self) -> Schedule:
        if not self.sessions:
            raise ValueError("a schedule needs at least one session")
        for a, b in pairwise(self.sessions):
            if b.start < a.end:
                raise ValueError(f"sessions overlap or are out of order: {a.end} > {b.start}")
        return self


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


class Calendar(Section):
    weekend: list[Annotated[int, pydantic.Field(ge=1, le=7)]] = [6, 7]  # ISO weekdays off
    holidays: list[date] = []
    workdays: list[date] = []  # make-up working days (调休) falling on a weekend

    @pydantic.model_validator(mode="after")
    def _disjoint(self) -> Calendar:
        both = set(self.holidays) & set(self.workdays)
        if both:
            raise ValueError(f"dates both holiday and make-up working day: {sorted(both)}")
        return self

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day not in self.holidays and day.isoweekday() not in self.weekend


class Employment(Section):
    """The days a staff member works here, both inclusive; unset: open-ended."""

    first_day: date | None = pydantic.Field(
        None, description="The first day the staff member is judged (unset: open-ended)."
    )
    last_day: date | None = pydantic.Field(
        None, description="The last day the staff member is judged (unset: open-ended)."
    )

    @pydantic.model_validator(mode="after")
    def _ordered(self) -> Employment:
        if self.first_day and self.last_day and self.last_day < self.first_day:
            raise ValueError(f"last_day {self.last_day} is before first_day {self.first_day}")
        return self

    def covers(self, day: date) -> bool:
        return (self.first_day is None or self.first_day <= day) and (
            self.last_day is None or day <= self.last_day
        )


class Window(Section):
    id: NodeId
    site: NodeId
    staff: list[StaffId] = []
    # Workstation device id -> the staff member who works at it.
    workstations: dict[str, StaffId] = {}
    employment: dict[StaffId, Employment] = pydantic.Field(
        {},
        description=(
            "Staff id to the days they work here (first_day, last_day, both inclusive); "
            "staff not named are judged every day the site is live."
        ),
    )

    @pydantic.model_validator(mode="after")
    def _staff_known(self) -> Window:
        unknown = sorted(set(self.workstations.values()) - set(self.staff))
        if unknown:
            raise ValueError(f"workstations assigned to staff not in this window: {unknown}")
        strangers = sorted(set(self.employment) - set(self.staff))
        if strangers:
            raise ValueError(f"employment dates for staff not in this window: {strangers}")
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
    incident_min: Minutes = pydantic.Field(
        5,
        description=(
            "Spoof alerts of one kind, person and device within this many minutes of an "
            "incident's first alert are that one incident (one violation)."
        ),
    )


class Penalty(Section):
    severity: Literal["minor", "serious"]
    deduction: Annotated[float, pydantic.Field(ge=0, le=100)]


class Outing(Section):
    """Going-out kinds and their allowed durations; the promised return may be earlier."""

    allowed_min: dict[LeaveKind, Minutes] = {
        LeaveKind.OUTING: 60,
        LeaveKind.PERSONAL: 120,
        LeaveKind.SICK: 240,
        LeaveKind.OFFICIAL: 480,
    }
    unregistered: Penalty | None = pydantic.Field(
        None,
        description=(
            "Clocking out and back in within a session without registering a going-out is "
            "never an early departure; given a penalty it is an `unregistered_outing`."
        ),
    )


class DeviceClocks(Section):
    """When a device clock is not to be trusted (punch times are device times)."""

    max_offset_s: Annotated[float, pydantic.Field(gt=0, le=3600)] = pydantic.Field(
        5.0, description="The clock offset (seconds) a heartbeat may report before doubt."
    )
    reach_min: Annotated[float, pydantic.Field(gt=0, le=24 * 60)] = pydantic.Field(
        5.0,
        description=(
            "A heartbeat speaks for its device's clock this many minutes either side of it "
            "(heartbeats come every minute)."
        ),
    )


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
UNREGISTERED_OUTING = "unregistered_outing"  # judged only with `outing.unregistered` set
# What each rule is called where people read it (Chinese first, English selectable).
RULE_WORDS: dict[str, dict[str, str]] = {
    "late": {"zh": "迟到", "en": "late arrival"},
    "early_departure": {"zh": "早退", "en": "early departure"},
    "missing_punch": {"zh": "漏打卡", "en": "missing punch"},
    "absence": {"zh": "旷工", "en": "absence"},
    "outing_overdue": {"zh": "外出超时", "en": "overdue from going out"},
    "away_from_post": {"zh": "离岗", "en": "away from post"},
    "nonwork_session": {"zh": "上班时间做与工作无关的事", "en": "non-work computer use"},
    "nonwork_day": {"zh": "全天非工作用机超时", "en": "non-work computer use all day"},
    "spoof": {"zh": "冒用身份打卡", "en": "spoofed or proxy punch"},
    UNREGISTERED_OUTING: {"zh": "未登记外出", "en": "going out without registering"},
}


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
    schedules: list[Schedule] = pydantic.Field(default_factory=_default_schedules)
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
    clocks: DeviceClocks = pydantic.Field(
        DeviceClocks(), description="When a device clock, and the punches it times, is in doubt."
    )

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> Policy:
        starts = [s.from_ for s in self.schedules]
        if len(set(starts)) != len(starts):
            raise ValueError(f"two schedules start on the same day: {sorted(starts)}")
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

    def employment(self, staff: str) -> Employment:
        window = self.window_of.get(staff)
        return (window.employment.get(staff) if window else None) or Employment()

    def go_live_day(self, site_id: str, first_punch: datetime | None) -> date | None:
        """The site's first judged day: its go-live date, else the local day of its first
        punch; None: not live yet (no go-live date and no punch)."""
        go_live = self.site(site_id).go_live
        if go_live is not None or first_punch is None:
            return go_live
        return first_punch.astimezone(self.zone(site_id)).date()

    def zone(self, site_id: str) -> ZoneInfo:
        return self.site(site_id).zone

    def sessions(self, day: date) -> list[Session]:
        """The sessions of `day` under the seasonal schedule in force (none on days off)."""
        if not self.calendar.is_workday(day):
            return []
        key = day.strftime("%m-%d")
        ordered = sorted(self.schedules, key=lambda s: s.from_)
        current = ordered[-1]  # before the first `from` of the year, last year's applies
        for schedule in ordered:
            if schedule.from_ <= key:
                current = schedule
        return current.sessions

    def session_bounds(self, site_id: str, day: date) -> list[tuple[datetime, datetime]]:
        zone = self.zone(site_id)
        return [
            (datetime.combine(day, s.start, zone), datetime.combine(day, s.end, zone))
            for s in self.sessions(day)
        ]

    def penalty(self, rule: str) -> Penalty:
        if rule == UNREGISTERED_OUTING and self.outing.unregistered is not None:
            return self.outing.unregistered
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
