"""The daily inspection (每日巡查): per window, who is where, punches, violations, devices.

`inspect_day` is pure (events, the directory, violations, statuses, facts and "now" in, a
report out); `load_inspection` reads what it needs from a store. Each person is shown at the
window they work at that day, by name (in the language asked for) beside their id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo

from base.times import date_time, time_of_day
from mqtt import schema
from mqtt.schema import Action
from rules.alert_store import AlertState, AlertStateName
from rules.alerts import DEVICE_FAULTS, AlertItem, is_item, lifecycle
from rules.delivery import Delivery
from rules.directory import Directory, ServiceWindow
from rules.engine import (
    NO_FACTS,
    Facts,
    PersonEvents,
    ViolationRecord,
    clock_doubt,
    clock_fault,
    event_order,
    group_by_person,
    judged_window,
    live_from,
)
from rules.manager_actions import Language, LeaveRecord, effective_leave
from rules.policy import Policy
from rules.recompute import attested, stored_facts
from rules.requests import ATTESTED_METHOD, is_attested
from rules.rosters import DutyAssignment
from rules.store import DeviceSeen, Store
from rules.words import alert_state_word, alert_word, label, rule_word

KINDS = ("clock", "activity", "alert")


@dataclass(frozen=True, slots=True)
class Punch:
    time: str  # local HH:MM
    action: str
    device: str
    method: str
    event_id: str
    clock: str = ""  # why its time is in doubt (its device's clock), if it is


@dataclass(frozen=True, slots=True)
class StaffLine:
    staff_id: str
    name: str  # the person's name (the id when the directory knows none)
    # at post | out | away | absent | on leave | off duty | not yet in | missing clock-out
    # | before go-live | not employed
    status: str
    punches: tuple[Punch, ...]
    violations: tuple[ViolationRecord, ...]

    @property
    def label(self) -> str:
        """The name, then the id; the id alone when no name is known."""
        return self.staff_id if self.name == self.staff_id else f"{self.name} {self.staff_id}"

    def noteworthy(self) -> bool:
        """Whether a summary names this person: a violation, or a status to act on."""
        return bool(self.violations) or self.status in ATTENTION


# What a manager acts on today (a summary names who is in one of these).
ATTENTION = frozenset({"absent", "away", "missing clock-out"})


@dataclass(frozen=True, slots=True)
class WindowLine:
    window: str
    name: str  # the window's display name
    site: str
    staff: tuple[StaffLine, ...]

    @property
    def label(self) -> str:
        return self.window if self.name == self.window else f"{self.name} {self.window}"


@dataclass(frozen=True, slots=True)
class DeviceLine:
    site: str
    device: str
    role: str
    state: str  # offline | never seen | clock not synchronised | clock off by ... s
    since: datetime | None  # in the site's zone: when the centre saw it go (or reported)
    # connection lost | the broker went away | shut down (the device said so); None: never seen
    why: str | None = None
    # -- devices: what the device last said of itself (None: it never said)
    version: str | None = None
    backlog: int | None = None
    clock_synced: bool | None = None
    # what the centre has of its journal (times in the site's zone); None: nothing yet
    delivery: Delivery | None = None


@dataclass(frozen=True, slots=True)
class OpenItem:
    site: str
    text: str
    violation_id: str | None = None  # the violation it is about (a page offers its actions)
    # -- an alert's item: its id and lifecycle (acknowledged: who, when, their note)
    alert_id: str | None = None
    alert_state: AlertStateName | None = None
    by: str | None = None
    at: datetime | None = None  # in the site's zone
    note: str = ""


@dataclass(frozen=True, slots=True)
class DutyLine:
    """A duty holder of the day (领导带班, 总服务台值班) and where they are now."""

    site: str
    duty: str
    staff_id: str
    name: str
    status: str  # a state of `_status`, as the person's window line shows it
    sessions: tuple[int, ...] | None  # None: all sessions


@dataclass(frozen=True, slots=True)
class InspectionReport:
    day: date
    site: str | None
    as_of: datetime  # in the site's zone (UTC when the sites' zones differ)
    windows: tuple[WindowLine, ...]
    offline: tuple[DeviceLine, ...]
    open_items: tuple[OpenItem, ...]
    clocks: tuple[DeviceLine, ...] = ()  # devices whose clock is not to be trusted
    devices: tuple[DeviceLine, ...] = ()  # every device seen: online or offline, version
    # the day's device faults that cleared by themselves (a later healthy status)
    healed: tuple[OpenItem, ...] = ()
    on_duty: tuple[DutyLine, ...] = ()  # today's duty holders (rules/rosters.py)

    def counts(self, sites: set[str] | None = None) -> dict[str, int]:
        """Staff per status and violations per rule (of `sites`, or all), devices, items."""
        counts: dict[str, int] = {}
        for window in self.windows:
            if sites is not None and window.site not in sites:
                continue
            for line in window.staff:
                counts[line.status] = counts.get(line.status, 0) + 1
                for v in line.violations:
                    counts[v.rule] = counts.get(v.rule, 0) + 1
        counts["devices offline"] = sum(sites is None or d.site in sites for d in self.offline)
        counts["device clocks in doubt"] = sum(
            sites is None or d.site in sites for d in self.clocks
        )
        counts["open items"] = sum(sites is None or i.site in sites for i in self.open_items)
        return counts


def _status(
    policy: Policy,
    directory: Directory,
    window: ServiceWindow,
    staff: str,
    person: PersonEvents,
    leaves: list[LeaveRecord],
    day: date,
    at: datetime,
    facts: Facts,
) -> str:
    if judged_window(policy, directory, staff, day, facts) is None:
        first = live_from(policy, window.site, facts)
        return "before go-live" if first is not None and day < first else "not employed"
    sessions = policy.session_bounds(window.site, day)
    if any(lv.staff_id == staff and lv.start <= at < lv.end for lv in leaves):
        return "on leave"
    punches = person.clocks
    if not sessions:
        return "off duty"
    if not punches:
        started = at >= sessions[0][0] + timedelta(minutes=policy.grace.absent_late_min)
        return "absent" if started else "not yet in"
    last = punches[-1].action
    if last is Action.LEAVE_OUT:
        return "out"
    if last is Action.CLOCK_OUT:
        return "off duty"
    if at >= sessions[-1][1]:
        return "missing clock-out"  # still clocked in after the day's last session
    idle_since = None
    for a in person.activity:
        finish = a.start + timedelta(seconds=a.duration_s)
        if finish <= at and a.idle_s > 0:
            idle_since = finish - timedelta(seconds=a.idle_s)
        elif finish <= at:
            idle_since = None
    away = idle_since is not None and at - idle_since >= timedelta(
        minutes=policy.grace.away_idle_min
    )
    return "away" if away else "at post"


def inspect_day(
    policy: Policy,
    directory: Directory,
    day: date,
    site: str | None,
    events: list[schema.Event],
    violations: list[ViolationRecord],
    statuses: list[DeviceSeen],
    leaves: list[LeaveRecord],
    now: datetime,
    facts: Facts = NO_FACTS,
    language: Language = "zh",
    alert_states: Mapping[str, AlertState] | None = None,
    corrections: dict[str, list[schema.Punch]] | None = None,
    rosters: list[DutyAssignment] | None = None,
    deliveries: list[Delivery] | None = None,
) -> InspectionReport:
    """The day's inspection; `alert_states`: what people did with alerts (none: all open);
    `corrections`: per person, the approved punch corrections (补卡) of the day, shown among
    the punches as attested; `deliveries`: what the centre has of each device's journal
    (rules/delivery.py), shown beside each device, and entries lost that day an open item."""
    grouped = group_by_person(events, directory)
    for staff, extra in (corrections or {}).items():
        grouped.setdefault(staff, PersonEvents()).clocks.extend(extra)
    shown: dict[str, list[str]] = {}
    for member in directory.staff:
        if (window := directory.window_shown(member.staff_id, day)) is not None:
            shown.setdefault(window.id, []).append(member.staff_id)
    windows = []
    for window in directory.windows:
        if site is not None and window.site != site:
            continue
        zone = policy.zone(window.site)
        end_of_day = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
        at = min(now, end_of_day - timedelta(microseconds=1))
        lines = []
        for staff in shown.get(window.id, []):
            # As of `at`: what happened later that day is not known yet at inspection time.
            person = grouped.get(staff, PersonEvents())
            person.clocks = sorted((c for c in person.clocks if c.ts <= at), key=event_order)
            person.activity = sorted((a for a in person.activity if a.start <= at), key=event_order)
            punches = tuple(
                Punch(
                    time_of_day(c.ts, zone),
                    str(c.action),
                    c.device,
                    ATTESTED_METHOD if is_attested(c) else str(c.method),
                    c.id,
                    clock_doubt(c, facts.statuses, policy),
                )
                for c in person.clocks
            )
            mine = tuple(v for v in violations if v.staff_id == staff and v.at <= at)
            status = _status(policy, directory, window, staff, person, leaves, day, at, facts)
            name = directory.name(staff, language)
            lines.append(StaffLine(staff, name, status, punches, mine))
        windows.append(WindowLine(window.id, window.name, window.site, tuple(lines)))
    clocks = _clocks(policy, site, statuses)
    alerts = [
        lifecycle(e, alert_states or {}, statuses)
        for e in events
        if isinstance(e, schema.Alert) and is_item(e, directory)
    ]
    # A duty holder is where their window's line says; someone posted nowhere is not judged.
    status_of = {line.staff_id: line.status for w in windows for line in w.staff}
    on_duty = tuple(
        DutyLine(
            e.site,
            e.duty,
            e.staff_id,
            directory.name(e.staff_id, language),
            status_of.get(e.staff_id, "not employed"),
            e.sessions,
        )
        for e in sorted(rosters or (), key=lambda e: (e.site, e.duty, e.staff_id))
        if e.day == day and (site is None or e.site == site)
    )
    return InspectionReport(
        day,
        site,
        now.astimezone(_report_zone(policy, directory, site)),
        tuple(windows),
        _offline(policy, directory, site, statuses),
        _open_items(policy, directory, violations, events, clocks, language)
        + _alert_items(policy, alerts, language)
        + _twins(policy, day, site, statuses)
        + _losses(policy, day, site, deliveries or [], language),
        clocks,
        _devices(policy, site, statuses, deliveries or []),
        tuple(_healed(policy, a, language) for a in alerts if a.cleared_by_itself),
        on_duty,
    )


def _report_zone(policy: Policy, directory: Directory, site: str | None) -> tzinfo:
    if site is not None:
        return policy.zone(site)
    zones = {policy.zone(w.site) for w in directory.windows}
    return zones.pop() if len(zones) == 1 else UTC


def _gone(device: DeviceSeen, zone: tzinfo) -> DeviceLine:
    """An offline device, timed when the centre saw it go (a will's own `ts` is when the
    device connected), and why: a will is a lost connection unless it came in as the
    broker came back; an offline the device published itself is a shutdown."""
    status = device.status
    if not schema.is_will(status):
        why, since = "shut down", status.ts
    elif device.broker_lost is not None:
        why, since = "the broker went away", device.broker_lost
    else:
        why, since = "connection lost", device.seen
    return DeviceLine(
        status.site, status.device, status.role, "offline", since.astimezone(zone), why
    )


def _offline(
    policy: Policy, directory: Directory, site: str | None, statuses: list[DeviceSeen]
) -> tuple[DeviceLine, ...]:
    seen = {
        (d.status.site, d.status.device): d
        for d in statuses
        if site is None or d.status.site == site
    }
    lines = [
        _gone(d, policy.zone(d.status.site)) for d in seen.values() if d.status.state == "offline"
    ]
    for where, workstation in directory.staff_of_workstation:
        if (site is None or where == site) and (where, workstation) not in seen:
            lines.append(DeviceLine(where, workstation, "agent", "never seen", None))
    return tuple(sorted(lines, key=lambda d: (d.site, d.device)))


# -- devices: each device's own view, and two devices under one id ----------------------
def _devices(
    policy: Policy, site: str | None, statuses: list[DeviceSeen], deliveries: list[Delivery]
) -> tuple[DeviceLine, ...]:
    """Every device the centre heard from: online or offline since it was last seen, with
    the version, backlog and clock sync it last reported, and what the centre has of its
    journal."""
    delivered = {(d.site, d.device): d for d in deliveries}
    return tuple(
        DeviceLine(
            d.status.site,
            d.status.device,
            d.status.role,
            d.status.state,
            d.seen.astimezone(policy.zone(d.status.site)),
            "last seen",
            d.version,
            d.backlog,
            d.clock_synced,
            local_delivery(delivered.get((d.status.site, d.status.device)), policy),
        )
        for d in statuses
        if site is None or d.status.site == site
    )


def local_delivery(delivery: Delivery | None, policy: Policy) -> Delivery | None:
    """A device's delivery with its times in the site's zone."""
    if delivery is None:
        return None
    zone = policy.zone(delivery.site)
    return replace(
        delivery,
        gap_since=delivery.gap_since.astimezone(zone) if delivery.gap_since else None,
        resend_at=delivery.resend_at.astimezone(zone) if delivery.resend_at else None,
        lost_at=delivery.lost_at.astimezone(zone) if delivery.lost_at else None,
    )


def _losses(
    policy: Policy, day: date, site: str | None, deliveries: list[Delivery], language: Language
) -> tuple[OpenItem, ...]:
    """Devices whose entries were recorded lost on `day` (the device no longer had them
    when asked, or never answered): never silent, an admin finds out why."""
    items = []
    for d in deliveries:
        if (site is not None and d.site != site) or d.lost_at is None:
            continue
        lost_at = d.lost_at.astimezone(policy.zone(d.site))
        if lost_at.date() != day:
            continue
        when = date_time(lost_at)
        items.append(
            OpenItem(
                d.site,
                f"{d.site}/{d.device}：已丢失 {d.lost} 条记录（补发时设备上已没有，或多次请求"
                f"未收到；最近 {when}），请核对该设备的记录"
                if language == "zh"
                else f"{d.site}/{d.device}: {d.lost} entries lost (no longer on the device when "
                f"asked for, or never received after repeated requests; last {when}): check "
                "the device's records",
            )
        )
    return tuple(items)


def _twins(
    policy: Policy, day: date, site: str | None, statuses: list[DeviceSeen]
) -> tuple[OpenItem, ...]:
    """Devices that took turns with another process under their id on `day`."""
    items = []
    for d in statuses:
        s = d.status
        if d.rival_seen is None or (site is not None and s.site != site):
            continue
        when = d.rival_seen.astimezone(policy.zone(s.site))
        if when.date() != day:
            continue
        items.append(
            OpenItem(
                s.site,
                f"two devices use the id {s.device} at site {s.site} (boots {d.rival_boot} "
                f"and {s.boot} take the connection from each other, last {date_time(when)}): "
                "give one of them its own device id",
            )
        )
    return tuple(items)


def _clocks(policy: Policy, site: str | None, statuses: list[DeviceSeen]) -> tuple[DeviceLine, ...]:
    """Devices whose latest heartbeat reports an unsynchronised or drifting clock."""
    latest = sorted((d.status for d in statuses), key=lambda s: (s.site, s.device))
    return tuple(
        DeviceLine(
            s.site,
            s.device,
            s.role,
            f"clock {fault}",
            s.ts.astimezone(policy.zone(s.site)),
            "reported",
        )
        for s in latest
        if (site is None or s.site == site) and (fault := clock_fault(s, policy))
    )


def _open_items(
    policy: Policy,
    directory: Directory,
    violations: list[ViolationRecord],
    events: list[schema.Event],
    clocks: tuple[DeviceLine, ...],
    language: Language,
) -> tuple[OpenItem, ...]:
    allowance = policy.corrections.allowance

    def who(staff: str) -> str:
        return directory.label(staff, language)

    zh = language == "zh"
    items = [
        OpenItem(
            v.site,
            f"{who(v.staff_id)}：{rule_word(v.rule, language)}待发纠正通知"
            f"（第 {v.correction_no}/{allowance} 次）- {v.violation_id}"
            if zh
            else f"{who(v.staff_id)}: {rule_word(v.rule, language)} needs a correction notice "
            f"({v.correction_no}/{allowance}) - {v.violation_id}",
            v.violation_id,
        )
        for v in violations
        if v.status == "open" and v.severity == "minor" and v.correction_no
    ]
    items += [
        OpenItem(
            v.site,
            f"{who(v.staff_id)}：严重违规“{rule_word(v.rule, language)}”（{v.violation_id}），"
            "除非撤销，本月一票否决"
            if zh
            else f"{who(v.staff_id)}: serious {rule_word(v.rule, language)} ({v.violation_id}) "
            "vetoes the month unless voided",
            v.violation_id,
        )
        for v in violations
        if v.status == "open" and v.veto
    ]
    for event in events:
        staff = getattr(event, "staff_id", None)
        where = f"{event.site}/{event.device}"
        if isinstance(event, schema.Punch) and not directory.sites_of(staff):
            items.append(
                OpenItem(
                    event.site,
                    f"{where}：{who(staff)} 打卡，但不在任何窗口"
                    if zh
                    else f"{where}: punch by {who(staff)}, who is in no window",
                )
            )
    items += [
        OpenItem(
            d.site,
            f"{d.site}/{d.device}: {d.state} (reported {date_time(d.since)}); punch times from it "
            "are in doubt and marked",
        )
        for d in clocks
    ]
    return tuple(items)


def _healed(policy: Policy, item: AlertItem, language: Language) -> OpenItem:
    """A device fault that cleared by itself: "hall-01/st-01: 指纹模块故障: 已自行恢复 ..."."""
    a = item.alert
    at = item.at.astimezone(policy.zone(a.site)) if item.at else None
    text = (
        f"{a.site}/{a.device}: {alert_word(a.kind, language)}: "
        f"{label('cleared by itself', language)} {date_time(at) if at else ''}"
    )
    return OpenItem(a.site, text, None, a.id, "cleared", None, at)


def _alert_items(
    policy: Policy, alerts: list[AlertItem], language: Language
) -> tuple[OpenItem, ...]:
    """An item per alert not cleared, with its id and who acknowledged it."""
    zh = language == "zh"
    items = []
    for item in alerts:
        if item.state == "cleared":
            continue
        event = item.alert
        where = f"{event.site}/{event.device}"
        kind = alert_word(event.kind, language)
        if event.kind in DEVICE_FAULTS:
            # The device's own fault: what it said is what an admin acts on.
            text = f"{where}: {kind}: {event.message}"
        elif zh:
            text = f"{where}：无法确定人员的告警“{kind}”（{event.kind}）{event.id}"
        else:
            text = f"{where}: unattributed {kind} alert ({event.kind}) {event.id}"
        at = item.at.astimezone(policy.zone(event.site)) if item.at else None
        items.append(OpenItem(event.site, text, None, event.id, item.state, item.by, at, item.note))
    return tuple(items)


def acknowledgement(item: OpenItem, language: Language = "zh") -> str:
    """An alert item's state as a person reads it: "已确认 王经理 2026-10-13 10:05：已通知厂家"."""
    if item.alert_state != "acknowledged":
        return alert_state_word(item.alert_state, language) if item.alert_state else ""
    when = date_time(item.at) if item.at else ""
    sep = "：" if language == "zh" else ": "
    return f"{alert_state_word(item.alert_state, language)} {item.by} {when}{sep}{item.note}"


def load_inspection(
    store: Store,
    policy: Policy,
    directory: Directory,
    day: date,
    site: str | None,
    now: datetime,
    language: Language = "zh",
) -> InspectionReport:
    sites = {w.site for w in directory.windows if site is None or w.site == site} or {site or ""}
    zones = [policy.zone(s) for s in sites]
    start = min(datetime.combine(day, datetime.min.time(), z) for z in zones)
    end = max(datetime.combine(day + timedelta(days=1), datetime.min.time(), z) for z in zones)
    events = [e for e in store.events(start, end, kinds=KINDS) if site is None or e.site == site]
    violations = store.violations(day=day, site=site)
    statuses = store.device_statuses()
    leaves = effective_leave(policy, store.actions())
    punches = [e for e in events if isinstance(e, schema.Punch)]
    facts = stored_facts(store, policy, day.strftime("%Y-%m"), punches)
    corrections = {
        staff: [p for p in punches if site is None or p.site == site]
        for staff, punches in attested(store, start, end).items()
    }
    rosters = store.rosters(day, day, site=site)
    return inspect_day(
        policy,
        directory,
        day,
        site,
        events,
        violations,
        statuses,
        leaves,
        now,
        facts,
        language,
        store.alert_states(),
        corrections,
        rosters,
        store.deliveries(site),
    )
