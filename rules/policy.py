"""The hall's regime as a validated TOML policy; the defaults mirror BRIEF.md.

Everything the engine decides comes from here: time zones and go-live dates, sessions
(with seasonal schedules), the calendar with holidays and make-up working days (调休),
windows with their staff (and when each was employed) and workstations, grace periods,
going-out allowances, leave, app categories, the violation catalogue, the correction
allowance, the veto, the rating bands, the annual review and the red and black lists, and
how far a device clock may be off.
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
    """What differs between sites: the time zone sessions and days are read in."""

    timezone: TimeZoneName = pydantic.Field(
        "Asia/Shanghai",
        description="The site's IANA time zone: sessions, days and months are local to it.",
    )
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
    """A service window: its staff are judged, scored and vetoed together."""

    id: NodeId = pydantic.Field(description="The window's id, unique in the policy.")
    site: NodeId = pydantic.Field(description="The site the window is in.")
    staff: list[StaffId] = pydantic.Field(
        [], description="The staff ids working at this window; each in one window only."
    )
    workstations: dict[str, StaffId] = pydantic.Field(
        {},
        description=(
            "Workstation device id to the staff member who works at it, for activity sent "
            "without a staff id; each must be in `staff`."
        ),
    )
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
    """Tolerances of the violation rules, in minutes."""

    late_min: Minutes = pydantic.Field(
        5, description="Late if arriving more than this many minutes after a session starts."
    )
    early_min: Minutes = pydantic.Field(
        5, description="Early departure if leaving more than this many minutes before it ends."
    )
    absent_late_min: Minutes = pydantic.Field(
        60,
        description="An arrival later than this many minutes is an absence (旷工), not a late.",
    )
    outing_overdue_min: Minutes = pydantic.Field(
        10,
        description="Going out: overdue if back more than this many minutes after the allowed return.",
    )
    away_idle_min: Minutes = pydantic.Field(
        30,
        description=(
            "Away from post if the workstation is idle this many minutes while its user is "
            "clocked in (once per session)."
        ),
    )
    nonwork_session_min: Minutes = pydantic.Field(
        5, description="Non-work application use in one session that is a minor violation."
    )
    nonwork_day_min: Minutes = pydantic.Field(
        60,
        description=(
            "Non-work application use in a day that is one serious violation, instead of the "
            "session ones."
        ),
    )
    duty_absent_min: Minutes = pydantic.Field(
        15,
        description=(
            "A person on duty (领导带班, 总服务台值班) missing longer than this many minutes "
            "of a duty session (not clocked in, or out) is absent from duty (once per session)."
        ),
    )
    settle_min: Minutes = pydantic.Field(
        30,
        description=(
            "Minutes after a session ends before absences are judged, so devices that were "
            "offline can send their punches first."
        ),
    )
    incident_min: Minutes = pydantic.Field(
        5,
        description=(
            "Spoof alerts of one kind, person and device within this many minutes of an "
            "incident's first alert are that one incident (one violation)."
        ),
    )


class Penalty(Section):
    """What a violation of one rule costs."""

    severity: Literal["minor", "serious"] = pydantic.Field(
        description=(
            "minor: numbered against the monthly correction allowance; serious: vetoes the "
            "month (see `[veto]`)."
        )
    )
    deduction: Annotated[float, pydantic.Field(ge=0, le=100)] = pydantic.Field(
        description="Points taken off the monthly 100."
    )
    applies_to: Literal["person", "window"] = pydantic.Field(
        "person",
        description=(
            "person: a violation of the person it names; window: an observed rule whose "
            "finding deducts from the window's score instead (rules devices judge are "
            "always a person's)."
        ),
    )


class Outing(Section):
    """Going-out kinds and their allowed durations; the promised return may be earlier."""

    allowed_min: dict[LeaveKind, Minutes] = pydantic.Field(
        {
            LeaveKind.OUTING: 60,
            LeaveKind.PERSONAL: 120,
            LeaveKind.SICK: 240,
            LeaveKind.OFFICIAL: 480,
        },
        description=(
            "Minutes each kind of going out may last: the allowed return is the earlier of "
            "the promised return and going-out time plus this."
        ),
    )
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

    staff: StaffId = pydantic.Field(description="Who is on leave.")
    start: pydantic.AwareDatetime = pydantic.Field(
        description="When the leave begins, with its UTC offset (2026-11-24T09:00:00+08:00)."
    )
    end: pydantic.AwareDatetime = pydantic.Field(
        description="When it ends, after `start`, with its UTC offset."
    )
    kind: LeaveKind = pydantic.Field(LeaveKind.PERSONAL, description="The kind of leave.")
    reason: str = pydantic.Field("", description="Why, as shown in reports.")

    @pydantic.model_validator(mode="after")
    def _ordered(self) -> LeaveGrant:
        if self.end <= self.start:
            raise ValueError("leave ends before it starts")
        return self


class CategoryRule(Section):
    """An application-name pattern and the category it means."""

    pattern: Regex = pydantic.Field(
        description="A regular expression searched for in the application name reported."
    )
    category: NodeId = pydantic.Field(description="The category a matching application is in.")


class Categories(Section):
    """Application categories, and which of them are not work."""

    # Central patterns win over the agent's own category, so one place decides.
    rules: list[CategoryRule] = pydantic.Field(
        [
            CategoryRule(pattern=r"(?i)steam|game|minecraft|solitaire", category="game"),
            CategoryRule(pattern=r"(?i)youku|iqiyi|bilibili|youtube|netflix|vlc", category="video"),
            CategoryRule(pattern=r"(?i)taobao|jd\.com|pinduoduo|amazon", category="shopping"),
            CategoryRule(pattern=r"(?i)tonghuashun|eastmoney|stock", category="stocks"),
            CategoryRule(pattern=r"(?i)wechat|weixin|qq\b|telegram", category="chat"),
        ],
        description=(
            "Patterns over the application name, first match wins; they override the "
            "category the agent reported, which stands when none matches."
        ),
    )
    nonwork: list[NodeId] = pydantic.Field(
        ["game", "video", "shopping", "stocks", "chat"],
        description="The categories whose use counts towards the non-work violations.",
    )

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
    # observed by inspectors (巡查): patrol findings, see rules/patrol.py
    "observed_away",
    "dress",
    "eating_chatting",
    "phone_use",
    "attitude",
    "complaint_upheld",
    "window_untidy",
    # judged from duty rosters (rules/rosters.py)
    "duty_absent",
]
# The rules an inspector records as findings; the others are judged from devices' events.
OBSERVED_RULES = (
    "observed_away",
    "dress",
    "eating_chatting",
    "phone_use",
    "attitude",
    "complaint_upheld",
    "window_untidy",
)
UNREGISTERED_OUTING = "unregistered_outing"  # judged only with `outing.unregistered` set


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
        "observed_away": ("minor", 2),
        "dress": ("minor", 1),
        "eating_chatting": ("minor", 1),
        "phone_use": ("minor", 2),
        "attitude": ("minor", 2),
        "complaint_upheld": ("serious", 5),
        "duty_absent": ("minor", 2),
    }
    catalogue = {rule: Penalty(severity=s, deduction=d) for rule, (s, d) in table.items()}
    catalogue["window_untidy"] = Penalty(severity="minor", deduction=1, applies_to="window")
    return catalogue


class FindingPhotos(Section):
    """Photos attached to patrol findings: what is accepted and how long it is kept."""

    max_bytes: Annotated[int, pydantic.Field(ge=1024, le=50 * 1024 * 1024)] = pydantic.Field(
        5 * 1024 * 1024, description="The largest photo accepted, in bytes (JPEG or PNG)."
    )
    retention_days: Annotated[int, pydantic.Field(ge=1, le=3660)] = pydantic.Field(
        180,
        description=(
            "Days a finding's photo is kept after the finding was observed; then pruned "
            "(the finding itself stays)."
        ),
    )


class Requests(Section):
    """Requests staff make through a manager: punch corrections (补卡) and appeals (申诉)."""

    punch_corrections_per_month: Annotated[int, pydantic.Field(ge=0, le=31)] = pydantic.Field(
        3,
        description=(
            "The most punch corrections (补卡) a person may have pending or approved in one "
            "month (by the local day of the punch); more are refused. 0 allows none."
        ),
    )


class Corrections(Section):
    """The monthly allowance of minor violations, and what happens beyond it."""

    allowance: Annotated[int, pydantic.Field(ge=0, le=100)] = pydantic.Field(
        3,
        description=(
            "Minor violations a person may have in a month (numbered 1/3, 2/3, 3/3); each "
            "one after that is escalated to serious."
        ),
    )
    escalated_deduction: Annotated[float, pydantic.Field(ge=0, le=100)] | None = pydantic.Field(
        None,
        description=(
            "Points an escalated violation deducts. Unset: it keeps its own rule's deduction."
        ),
    )


class Veto(Section):
    """The one-vote veto (一票否决): a serious violation fails the month."""

    person: bool = pydantic.Field(
        True, description="A serious violation fails the person's month, whatever the score."
    )
    window: bool = pydantic.Field(
        True, description="A vetoed member fails their window's month too."
    )


class Band(Section):
    """A rating band: the lowest score that earns a rating."""

    min: Annotated[float, pydantic.Field(ge=0, le=100)] = pydantic.Field(
        description="The lowest score that earns this rating."
    )
    rating: str = pydantic.Field(description="The rating's name, as reports show it.")


def _default_bands() -> list[Band]:
    return [
        Band(min=95, rating="excellent"),
        Band(min=85, rating="good"),
        Band(min=70, rating="pass"),
    ]


def banded(bands: list[Band], fail_rating: str, score: float) -> str:
    """The rating of the highest band `score` reaches; `fail_rating` below them all."""
    for band in sorted(bands, key=lambda b: -b.min):
        if score >= band.min:
            return band.rating
    return fail_rating


# -- the annual review and the red and black lists (年度考核, 红黑榜) ------------------------
def _default_annual_bands() -> list[Band]:
    return [
        Band(min=95, rating="excellent"),
        Band(min=80, rating="pass"),
        Band(min=70, rating="basic_pass"),
    ]


class Annual(Section):
    """The annual review (年度考核): a year's rating from the mean of its months."""

    bands: list[Band] = pydantic.Field(
        default_factory=_default_annual_bands,
        description=(
            "Rating bands of the year's mean monthly score, by their lowest score (defaults: "
            "优秀 excellent 95, 合格 pass 80, 基本合格 basic_pass 70)."
        ),
    )
    fail_rating: str = pydantic.Field(
        "fail", description="The year's rating below the lowest band (不合格)."
    )
    veto_caps_at: str | None = pydantic.Field(
        "basic_pass",
        description=(
            "A year with a vetoed month (一票否决) is rated no higher than this rating, one of "
            "`bands` or `fail_rating` (default 基本合格: a veto costs the year its standing "
            "without failing it outright; give the fail rating to fail it). Unset: a vetoed "
            "month weighs only through its score."
        ),
    )

    @pydantic.model_validator(mode="after")
    def _known_cap(self) -> Annual:
        ratings = [b.rating for b in self.bands] + [self.fail_rating]
        if self.veto_caps_at is not None and self.veto_caps_at not in ratings:
            raise ValueError(f"veto_caps_at {self.veto_caps_at!r} is none of the ratings {ratings}")
        return self

    def rating(self, mean: float, vetoed_months: int) -> str:
        """The year's rating: the band of `mean`, capped when a month was vetoed."""
        rating = banded(self.bands, self.fail_rating, mean)
        if not vetoed_months or self.veto_caps_at is None:
            return rating
        order = [b.rating for b in sorted(self.bands, key=lambda b: -b.min)] + [self.fail_rating]
        return order[max(order.index(rating), order.index(self.veto_caps_at))]


class Lists(Section):
    """The red and black lists (红黑榜) of a month, of people and of windows."""

    red_size: Annotated[int, pydantic.Field(ge=0, le=100)] = pydantic.Field(
        3,
        description=(
            "How many of the best, none vetoed, are on the red list (红榜); all who tie with "
            "the last of them are on it too. 0: no red list."
        ),
    )
    red_min_score: Annotated[float, pydantic.Field(ge=0, le=100)] = pydantic.Field(
        95, description="Nobody scoring below this is on the red list, whatever their place."
    )
    black_size: Annotated[int, pydantic.Field(ge=0, le=100)] = pydantic.Field(
        3,
        description=(
            "Besides every vetoed one (一票否决), how many of the worst are on the black list "
            "(黑榜), ties with the last of them included. 0: only the vetoed."
        ),
    )
    black_below: Annotated[float, pydantic.Field(ge=0, le=100)] = pydantic.Field(
        100,
        description=(
            "Only who scores below this is among the worst (100: whoever lost a point), so "
            "that a month without fault puts nobody on the black list but the vetoed."
        ),
    )


class Policy(Section):
    """The hall's regime (policy.toml, named by the rules service's `[rules] policy`)."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    default_site: Site = pydantic.Field(
        Site(), description="The settings of every site not listed under `sites`."
    )
    sites: dict[NodeId, Site] = pydantic.Field(
        {}, description="Settings per site id, for sites that differ from `default_site`."
    )
    schedules: Schedules = pydantic.Field(
        default_factory=_default_schedules,
        description=(
            "Seasonal schedules of sessions, each in force from its `from` day until the next "
            "one's; before the first of the year, the last one applies."
        ),
    )
    calendar: Calendar = pydantic.Field(
        Calendar(), description="Working days: weekend, holidays, make-up days."
    )
    windows: list[Window] = pydantic.Field(
        [],
        description=(
            "Deprecated: windows and staff live in the directory (`hallwatch staff import`, "
            "`hallwatch staff add`, docs/directory.md). Read only to seed a store whose "
            "directory is empty (the service logs a deprecation warning); once the store "
            "has a directory, these are ignored."
        ),
    )
    grace: Grace = pydantic.Field(Grace(), description="The rules' tolerances.")
    outing: Outing = pydantic.Field(Outing(), description="Going-out allowances.")
    leave: list[LeaveGrant] = pydantic.Field(
        [],
        description=(
            "Approved leave known when the policy is written; managers add more with "
            "`hallwatch leave add`."
        ),
    )
    categories: Categories = pydantic.Field(
        Categories(), description="Application categories and which are not work."
    )
    catalogue: dict[RuleId, Penalty] = pydantic.Field(
        default_factory=_default_catalogue,
        description=(
            "The penalty of every rule; each rule devices judge must be listed when the "
            "table is given (observed rules not listed keep their defaults)."
        ),
    )
    finding_photos: FindingPhotos = pydantic.Field(
        FindingPhotos(), description="Photos of patrol findings: size limit and retention."
    )
    corrections: Corrections = pydantic.Field(
        Corrections(), description="The monthly allowance of minor violations."
    )
    requests: Requests = pydantic.Field(
        Requests(), description="Limits of punch corrections (补卡) and appeals (申诉)."
    )
    veto: Veto = pydantic.Field(Veto(), description="The one-vote veto.")
    bands: list[Band] = pydantic.Field(
        default_factory=_default_bands,
        description="Rating bands of the monthly score, by their lowest score.",
    )
    fail_rating: str = pydantic.Field(
        "fail", description="The rating below the lowest band, and of a vetoed month."
    )
    clocks: DeviceClocks = pydantic.Field(
        DeviceClocks(), description="When a device clock, and the punches it times, is in doubt."
    )
    annual: Annual = pydantic.Field(
        Annual(), description="The annual review (年度考核): the year's rating bands and veto cap."
    )
    lists: Lists = pydantic.Field(
        Lists(), description="Who is on a month's red and black lists (红黑榜)."
    )

    @pydantic.field_validator("catalogue", mode="after")
    @classmethod
    def _observed_defaults(cls, catalogue: dict[str, Penalty]) -> dict[str, Penalty]:
        """Observed rules and the duty rule came after halls wrote their catalogues:
        unlisted, they default."""
        defaults = _default_catalogue()
        return {**{r: defaults[r] for r in (*OBSERVED_RULES, "duty_absent")}, **catalogue}

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> Policy:
        missing = sorted(set(_default_catalogue()) - set(self.catalogue))
        if missing:
            raise ValueError(f"catalogue lacks rules {missing} (give every rule a penalty)")
        judged = sorted(
            r
            for r, p in self.catalogue.items()
            if r not in OBSERVED_RULES and p.applies_to != "person"
        )
        if judged:
            raise ValueError(
                f"rules {judged} are judged from a person's events: applies_to = 'person'"
            )
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
        if rule == UNREGISTERED_OUTING and self.outing.unregistered is not None:
            return self.outing.unregistered
        return self.catalogue[rule]  # type: ignore[index]

    def rating(self, score: float, vetoed: bool) -> str:
        return self.fail_rating if vetoed else banded(self.bands, self.fail_rating, score)

    def settle(self) -> timedelta:
        return timedelta(minutes=self.grace.settle_min)


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file (errors name the file and key)."""
    return load_toml(Policy, path)
