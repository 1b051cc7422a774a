"""What the live hall shows, as its templates read it: each window with its staff (by
name) and their state in words, the counts per state, today's punches and violations
(newest first, times in the site's zone, names and words, never ids or codes), and the
site's devices. Built from the store through rules/presence_store.py and the management
API; the page renders a `Board` whole, the live stream one `PersonLine` at a time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from hallwatch.console.config import Language
from hallwatch.console.i18n import t
from mqtt import schema
from rules.directory import Directory
from rules.engine import ViolationRecord
from rules.inspection import local_delivery
from rules.manage import Management
from rules.manage_directory import DeviceRow
from rules.policy import Policy
from rules.presence import STATES, PersonNow, State
from rules.presence_store import day_span, load_person, load_presence
from rules.render import delivery_text
from rules.rosters import DUTIES, DutyAssignment
from rules.words import (
    Language as WordsLanguage,
)
from rules.words import (
    device_state_word,
    duty_word,
    label,
    leave_kind_word,
    method_word,
    punch_word,
    role_word,
    rule_word,
    severity_word,
    state_word,
    status_word,
)

PUNCHES_SHOWN = 50  # the rolling lists keep this many, newest first
# presence.State -> the words table's code (rules/words.py STATES)
STATE_CODES: dict[State, str] = {
    "at_post": "at post",
    "out": "out",
    "away": "away",
    "absent": "absent",
    "on_leave": "on leave",
    "not_in": "not yet in",
    "off_duty": "off duty",
}


def words_language(lang: Language) -> WordsLanguage:
    return "en" if lang == "en" else "zh"


def duty_hours(policy: Policy, entry: DutyAssignment, words: WordsLanguage) -> str:
    """A duty's sessions as hours of its day in the site's zone ("09:00–12:00"), or 全天."""
    if entry.sessions is None:
        return label("all sessions", words)
    bounds = policy.session_bounds(entry.site, entry.day)
    hours = (bounds[i] for i in entry.session_indices(len(bounds)))
    return ("、" if words == "zh" else ", ").join(f"{s:%H:%M}–{e:%H:%M}" for s, e in hours)


@dataclass(frozen=True, slots=True)
class PersonLine:
    staff_id: str
    name: str
    state: State
    state_word: str
    detail: str  # since when, back by when, what leave
    flag: str | None  # 外出超时 (overdue), 迟到 (late): shown marked


@dataclass(frozen=True, slots=True)
class WindowLine:
    window_id: str
    name: str
    department: str | None
    people: tuple[PersonLine, ...]


@dataclass(frozen=True, slots=True)
class PunchLine:
    event_id: str
    time: str
    name: str
    window: str | None
    what: str  # 上班打卡 ...
    method: str
    device: str


@dataclass(frozen=True, slots=True)
class ViolationLine:
    violation_id: str
    time: str
    name: str
    window: str | None
    rule: str
    severity: str  # the code, for its colour
    severity_word: str
    status: str


@dataclass(frozen=True, slots=True)
class DeviceLine:
    device: str
    name: str
    kind: str
    state: str  # the code, for its colour
    state_word: str
    last_seen: str
    backlog: int | None
    clock: str
    clock_ok: bool | None
    version: str
    gallery: str  # applied / the site's (stations)
    erasures_pending: int
    delivery: str = ""  # what the centre has of its journal: 已送达至 #N, 缺 N 条 ...
    lost: int = 0  # entries it no longer had when asked for (shown marked)


@dataclass(frozen=True, slots=True)
class DutyHolder:
    """A duty holder of today (领导带班, 总服务台值班) and whether they are present now."""

    staff_id: str
    name: str
    duty: str  # the duty in words
    sessions: str  # the duty's sessions of today ("09:00–12:00"), or 全天
    state: State | None  # None: posted at no window today (not judged, no state)
    state_word: str


@dataclass(frozen=True, slots=True)
class Count:
    state: State
    word: str
    number: int


@dataclass(frozen=True, slots=True)
class Board:
    site: str
    day: str
    as_of: str
    counts: tuple[Count, ...]
    windows: tuple[WindowLine, ...]
    punches: tuple[PunchLine, ...]
    violations: tuple[ViolationLine, ...]
    devices: tuple[DeviceLine, ...]
    duties: tuple[DutyHolder, ...] = ()


class HallReader:
    """Reads one site's live hall in one language (a request's, or a stream's)."""

    def __init__(self, management: Management, site: str, lang: Language) -> None:
        self.management, self.site, self.lang = management, site, lang
        self.words = words_language(lang)
        self.store, self.policy = management.store, management.policy
        self.zone: ZoneInfo = self.policy.zone(site)

    def local(self, moment: datetime, seconds: bool = False) -> str:
        return moment.astimezone(self.zone).strftime("%H:%M:%S" if seconds else "%H:%M")

    def seen(self, moment: datetime) -> str:
        """A time today, or the date and time of an earlier day."""
        local = moment.astimezone(self.zone)
        today = datetime.now(self.zone).date()
        return local.strftime("%H:%M" if local.date() == today else "%Y-%m-%d %H:%M")

    # -- the whole board ---------------------------------------------------------------
    def board(self, now: datetime) -> tuple[Board, dict[str, State]]:
        """The board at `now`, and everyone's state (what a stream keeps to count)."""
        directory = self.store.directory()
        hall = load_presence(self.store, self.policy, directory, self.site, now)
        windows = tuple(
            WindowLine(
                w.window.id,
                w.window.name,
                self._department(directory, w.window.department),
                tuple(self.person_line(directory, p) for p in w.staff),
            )
            for w in hall.windows
        )
        states = {p.staff_id: p.state for w in hall.windows for p in w.staff}
        board = Board(
            self.site,
            hall.day.isoformat(),
            self.local(now, seconds=True),
            self.counts(states),
            windows,
            self.punches(directory, now),
            self.violations(directory, now),
            self.devices(),
            self.duties(directory, now, states),
        )
        return board, states

    def counts(self, states: Mapping[str, State]) -> tuple[Count, ...]:
        numbers = dict.fromkeys(STATES, 0)
        for state in states.values():
            numbers[state] += 1
        return tuple(
            Count(s, state_word(STATE_CODES[s], self.words), n) for s, n in numbers.items()
        )

    # -- one person ----------------------------------------------------------------------
    def person(
        self, directory: Directory, staff: str, now: datetime, also: Iterable[schema.Event] = ()
    ) -> PersonLine | None:
        """Their row now (None: not posted at this site today), counting `also` (events
        just received, perhaps not stored yet)."""
        row = load_person(self.store, self.policy, directory, self.site, staff, now, also)
        return self.person_line(directory, row) if row else None

    def person_line(self, directory: Directory, row: PersonNow) -> PersonLine:
        detail, flag = "", None
        since = label("since", self.words)
        match row.state:
            case "out" if row.outing is not None:
                kind = leave_kind_word(row.outing.kind, self.words)
                back = t("hall.back_by", self.lang, time=self.local(row.outing.expected_return))
                detail = f"{kind} · {row.outing.reason} · {back}"
                flag = rule_word("outing_overdue", self.words) if row.outing.overdue else None
            case "away" if row.idle_since is not None:
                detail = f"{since} {self.local(row.idle_since)}"
            case "on_leave" if row.leave is not None:
                detail = leave_kind_word(row.leave.kind, self.words)
            case "not_in" if row.late:
                flag = rule_word("late", self.words)
            case "at_post" | "off_duty" if row.last_punch is not None:
                detail = f"{since} {self.local(row.last_punch)}"
        return PersonLine(
            row.staff_id,
            directory.name(row.staff_id, self.words),
            row.state,
            state_word(STATE_CODES[row.state], self.words),
            detail,
            flag,
        )

    # -- today's duty holders --------------------------------------------------------------
    def duty_staff(self, now: datetime) -> set[str]:
        """Who is on a duty of this site today."""
        day = now.astimezone(self.zone).date()
        return {e.staff_id for e in self.store.rosters(day, day, site=self.site)}

    def duties(
        self,
        directory: Directory,
        now: datetime,
        states: Mapping[str, State],
        also: Iterable[schema.Event] = (),
    ) -> tuple[DutyHolder, ...]:
        """Today's duty holders of the site, by duty, each with their state now: the one
        the board shows (`states`), else where they are posted today (another site)."""
        day = now.astimezone(self.zone).date()
        entries = sorted(
            self.store.rosters(day, day, site=self.site),
            key=lambda e: (DUTIES.index(e.duty) if e.duty in DUTIES else len(DUTIES), e.staff_id),
        )
        holders = []
        for entry in entries:
            state = states.get(entry.staff_id)
            posted = directory.posting_on(entry.staff_id, day)
            if state is None and posted is not None:
                row = load_person(
                    self.store, self.policy, directory, posted.site, entry.staff_id, now, also
                )
                state = row.state if row else None
            holders.append(
                DutyHolder(
                    entry.staff_id,
                    directory.name(entry.staff_id, self.words),
                    duty_word(entry.duty, self.words),
                    duty_hours(self.policy, entry, self.words),
                    state,
                    state_word(STATE_CODES[state], self.words)
                    if state
                    else label("not posted", self.words),
                )
            )
        return tuple(holders)

    # -- what happened today -------------------------------------------------------------
    def punches(self, directory: Directory, now: datetime) -> tuple[PunchLine, ...]:
        start, end = day_span(self.policy, self.site, now)
        punches = [
            e
            for e in self.store.events(start, end, kinds=("clock",))
            if isinstance(e, schema.Punch) and e.site == self.site
        ]
        punches.sort(key=lambda p: p.ts, reverse=True)
        return tuple(self.punch_line(directory, p) for p in punches[:PUNCHES_SHOWN])

    def punch_line(self, directory: Directory, punch: schema.Punch) -> PunchLine:
        window = directory.posting_on(punch.staff_id, punch.ts.astimezone(self.zone).date())
        device = next(
            (d for d in directory.devices if (d.site, d.device) == (punch.site, punch.device)),
            None,
        )
        return PunchLine(
            punch.id,
            self.local(punch.ts, seconds=True),
            directory.name(punch.staff_id, self.words),
            window.name if window else None,
            punch_word(punch.action, self.words),
            method_word(punch.method, self.words),
            (device.name or device.device) if device else punch.device,
        )

    def violations(
        self, directory: Directory, now: datetime, also: Iterable[schema.Violation] = ()
    ) -> tuple[ViolationLine, ...]:
        """Today's violations at the site, newest first; `also`: announced just now (a
        re-announced one, voided say, replaces the stored one)."""
        day = now.astimezone(self.zone).date()
        lines = {
            v.violation_id: (v.at, self._violation(directory, v.staff_id, v.window, v))
            for v in self.store.violations(day=day, site=self.site)
        }
        for v in also:
            if v.site == self.site and v.day == day:
                lines[v.violation_id] = (v.ts, self._violation(directory, v.staff_id, v.window, v))
        ordered = sorted(lines.values(), key=lambda pair: pair[0], reverse=True)
        return tuple(line for _, line in ordered[:PUNCHES_SHOWN])

    def _violation(
        self,
        directory: Directory,
        staff: str,
        window: str | None,
        v: ViolationRecord | schema.Violation,
    ) -> ViolationLine:
        at = v.at if isinstance(v, ViolationRecord) else v.ts
        return ViolationLine(
            v.violation_id,
            self.local(at),
            directory.name(staff, self.words),
            directory.window_name(window) if window else None,
            rule_word(v.rule, self.words),
            v.severity,
            severity_word(v.severity, self.words),
            status_word(v.status, self.words),
        )

    # -- devices -------------------------------------------------------------------------
    def devices(self) -> tuple[DeviceLine, ...]:
        return tuple(self.device_line(d) for d in self.management.devices() if d.site == self.site)

    def device_line(self, d: DeviceRow) -> DeviceLine:
        clock_ok = {"synchronised": True, "unknown": None}.get(d.clock, False)
        clock = {True: "clock synced", None: "clock unknown", False: "clock not synced"}[clock_ok]
        gallery = ""
        delivered = local_delivery(d.delivery, self.policy)
        if d.gallery_version is not None:
            gallery = f"{d.gallery_version} / {d.site_gallery_version}"
        return DeviceLine(
            d.device,
            d.name or d.device,
            role_word(d.kind, self.words),
            d.state.replace(" ", "_"),
            device_state_word(d.state, self.words),
            self.seen(d.last_seen) if d.last_seen else "",
            d.backlog,
            label(clock, self.words) + ("" if clock_ok is not False else f" ({d.clock})"),
            clock_ok,
            d.version or "",
            gallery,
            d.erasures_pending,
            delivery_text(delivered, self.words) if delivered else "",
            delivered.lost if delivered else 0,
        )

    @staticmethod
    def _department(directory: Directory, department: str | None) -> str | None:
        known = directory.department.get(department or "")
        return known.name if known else department
