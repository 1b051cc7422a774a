"""The management API: every action and query of a hall manager, for the CLI and the console.

`Management` holds a store, a policy and an announcer; each action takes the acting person
(`Actor`), is recorded as an audited `ManagerAction`, recomputes the person-months it
touches and is announced on MQTT. Results are dataclasses; a refusal is a
`ManagementError` (`NotFound`, `Refused`, `InvalidInput`) whose message says what to do.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Literal

from base.errors import HallwatchError
from base.identifiers import NODE_ID, STAFF_ID, IdRule
from mqtt.ids import new_event_id, utc_now
from mqtt.schema import LeaveKind, Status
from rules.announce import Announcer
from rules.directory import (
    Department,
    Device,
    Directory,
    ServiceWindow,
    StaffMember,
)
from rules.directory_edits import (
    Conflict,
    FileRow,
    RowProblem,
    current_window,
    months_between,
    moved,
    plain,
    plan_import,
    problems,
    rejudged_months,
)
from rules.directory_store import DirectoryEdit, seed_from_policy
from rules.engine import ViolationRecord, clock_fault
from rules.inspection import InspectionReport, load_inspection
from rules.manager_actions import (
    ActionKind,
    Language,
    LeaveRecord,
    ManagerAction,
    check_correction,
    effective_leave,
    leave_span,
)
from rules.policy import Policy
from rules.publish import ResultPublisher
from rules.recompute import month_of, recompute_person_month
from rules.replay import ReplaySummary, replay
from rules.scoring import PersonScore, WindowScore, load_sheet
from rules.store import PersonMonth, Store


class ManagementError(HallwatchError):
    """A manager's request that cannot be done as asked; the message says why."""


class NotFound(ManagementError):
    """What the request names does not exist (a violation, a leave, a staff member)."""


class Refused(ManagementError):
    """The request contradicts what is recorded (voiding a voided violation)."""


class InvalidInput(ManagementError):
    """A value the request gives is malformed or missing (an empty reason, a bad month)."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, and through what: the signed-in person (the OS user for the CLI) and,
    when they enter someone else's decision, the person on whose behalf."""

    user: str
    through: Literal["cli", "console"]
    on_behalf_of: str | None = None

    def __post_init__(self) -> None:
        if not self.user.strip():
            raise InvalidInput("who is acting is unknown: sign in (or run as a named user)")

    @classmethod
    def cli(cls, on_behalf_of: str | None = None) -> Actor:
        """The OS user at a command line, perhaps entering a decision of `on_behalf_of`."""
        return cls(getpass.getuser(), "cli", (on_behalf_of or "").strip() or None)

    @property
    def decided_by(self) -> str:
        """Who the audit trail names as deciding."""
        return self.on_behalf_of or self.user

    @property
    def entered_by(self) -> str:
        """Who entered it, and through what ("wang via cli")."""
        return f"{self.user} via {self.through}"


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an action recorded and what it changed."""

    action: ManagerAction  # the audit row
    changed: tuple[ViolationRecord, ...]  # violations new or changed by the recomputation
    withdrawn: tuple[ViolationRecord, ...]  # violations that no longer stand
    violation: ViolationRecord | None = None  # a corrected or voided violation, as it is now
    leave: LeaveRecord | None = None  # the leave granted or cancelled
    not_announced: str | None = None  # why MQTT did not get it (it is recorded regardless)


@dataclass(frozen=True, slots=True)
class MonthlySheet:
    """The 100-point sheet of a month and the violations it was scored from."""

    month: str
    staff: list[PersonScore]
    windows: list[WindowScore]
    violations: list[ViolationRecord]
    directory: Directory  # the snapshot it was scored with (names for the reader)


@dataclass(frozen=True, slots=True)
class StaffLine:
    """A person as a list shows them: names, not ids, beside the ids."""

    staff_id: str
    name: str
    name_en: str | None
    department: str | None  # its name
    window: str | None  # where they work today (else their latest posting)
    window_name: str | None
    position: str | None
    start_date: date | None
    end_date: date | None
    active: bool


@dataclass(frozen=True, slots=True)
class DirectoryResult:
    """What a directory edit wrote: the audit rows, the months it re-judges (marked pending
    for the service to recompute), and the directory's version after it."""

    actions: tuple[ManagerAction, ...]
    rejudged: tuple[PersonMonth, ...]
    version: int
    staff: StaffMember | None = None
    window: ServiceWindow | None = None
    department: Department | None = None
    device: Device | None = None


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import changed (or, in a dry run, would change)."""

    added: tuple[str, ...]
    changed: tuple[str, ...]
    unchanged: int
    departments_created: tuple[str, ...]
    rejudged: tuple[PersonMonth, ...]
    dry_run: bool
    version: int


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """A device as the directory registered it, and as the centre last heard from it.
    `state`: online, offline, never seen, retired; or unregistered (heard from, unknown)."""

    site: str
    device: str
    kind: str
    name: str
    location: str
    user: str | None  # an agent's workstation owner, by name
    state: str
    last_seen: datetime | None
    backlog: int | None
    clock: str  # synchronised, not synchronised, off by ... s, or unknown
    version: str | None  # the software it runs
    registered: datetime | None
    retired: datetime | None


class ImportRefused(ManagementError):
    """A staff file with wrong rows: nothing was written; `rows` says what is wrong where."""

    def __init__(self, source: str, rows: Sequence[RowProblem]) -> None:
        self.rows = tuple(rows)
        lines = [f"  row {p.row}: {p.reason}" for p in self.rows]
        super().__init__(
            f"{source}: {len(self.rows)} rows are wrong, nothing was imported "
            "(fix them and import the file again):\n" + "\n".join(lines)
        )


def checked_month(month: str) -> str:
    """`month` if it is YYYY-MM."""
    try:
        date.fromisoformat(f"{month}-01")
    except ValueError:
        raise InvalidInput(f"{month!r} is not YYYY-MM (for example 2026-11)") from None
    return month


def _reason(text: str) -> str:
    reason = text.strip()
    if not reason:
        raise InvalidInput("say why (it is kept in the audit trail)")
    return reason


class Management:
    """A hall manager's actions and queries on one store and policy.

    `announcer` publishes each action and the violations it changed (None: no broker,
    nothing is announced); `directory` gives the current snapshot of who works where;
    `now` is the time source for action times and judgements.
    """

    def __init__(
        self,
        store: Store,
        policy: Policy,
        announcer: Announcer | None = None,
        *,
        now: Callable[[], datetime] = utc_now,
        language: Language = "zh",
    ) -> None:
        self.store = store
        self.policy = policy
        self.announcer = announcer
        self.now = now
        self.language = language  # of the regime's refusals (rules/manager_actions.py)
        # A policy's deprecated [[windows]] seed a store that has no directory yet.
        seed_from_policy(store, policy)

    # -- queries -----------------------------------------------------------------------
    def violations(
        self,
        *,
        month: str | None = None,
        day: date | None = None,
        staff: str | None = None,
        site: str | None = None,
    ) -> list[ViolationRecord]:
        """Violations with their evidence, numbering, escalation, veto and status."""
        if month is not None:
            checked_month(month)
        return self.store.violations(month=month, day=day, staff=staff, site=site)

    def leave(self, *, staff: str | None = None) -> list[LeaveRecord]:
        """Leave in force: granted in the policy or by managers, and not cancelled."""
        return [
            lv
            for lv in effective_leave(self.policy, self.store.actions())
            if staff in (None, lv.staff_id)
        ]

    def audit(self) -> list[ManagerAction]:
        """Every correction, void and leave change, oldest first."""
        return self.store.actions()

    def inspection(
        self, day: date, *, site: str | None = None, as_of: datetime | None = None
    ) -> InspectionReport:
        """The daily inspection of `day` (of one site, or all), as of `as_of` (now)."""
        return load_inspection(
            self.store, self.policy, self.directory(), day, site, as_of or self.now(), self.language
        )

    def announce_inspection(self, report: InspectionReport) -> str | None:
        """Publish the report's counts per site; None, or why it was not announced."""
        if self.announcer is None:
            raise Refused("no MQTT broker to publish on: give a config with a [broker] table")
        return self.announcer.announce(lambda publisher: publisher.inspections(report))

    def monthly_sheet(self, month: str) -> MonthlySheet:
        """Scores, vetoes, ratings and ranks of every staff member and window."""
        directory = self.directory()
        people, windows, rows = load_sheet(self.store, self.policy, directory, checked_month(month))
        return MonthlySheet(month, people, windows, rows, directory)

    def replay(self, lines: Iterable[bytes], as_of: datetime | None = None) -> ReplaySummary:
        """Store recorded payloads (JSONL lines) and rebuild every month they touch."""
        return replay(lines, self.policy, self.directory(), self.store, as_of or self.now())

    # -- actions -----------------------------------------------------------------------
    def correct(self, actor: Actor, violation_id: str, note: str) -> ActionResult:
        """Record the correction notice given for a violation (纠错); it stays counted."""
        return self._mark(actor, "correct", violation_id, note)

    def void(self, actor: Actor, violation_id: str, reason: str) -> ActionResult:
        """Void a violation (appeal upheld): it no longer deducts, counts or vetoes."""
        return self._mark(actor, "void", violation_id, reason)

    def add_leave(
        self,
        actor: Actor,
        staff: str,
        start: datetime,
        end: datetime,
        kind: LeaveKind,
        reason: str,
    ) -> ActionResult:
        """Grant leave, also after the fact; times without an offset are the site's."""
        why = _reason(reason)
        zone = self.policy.zone(self._window(staff).site)
        start, end = (t if t.tzinfo else t.replace(tzinfo=zone) for t in (start, end))
        if end <= start:
            raise InvalidInput(
                f"the leave ends ({end.isoformat()}) before it starts ({start.isoformat()})"
            )
        record = LeaveRecord(f"lv-{new_event_id()[-12:]}", staff, start, end, kind, why)
        return self._record_leave(actor, "leave_add", record, why)

    def leave_period(self, staff: str, start: str, end: str) -> tuple[datetime, datetime]:
        """`start` and `end` as a person types them, as instants in `staff`'s site: a date
        is the whole local day (both inclusive), a date-time that instant."""
        return leave_span(start, end, self.policy.zone(self._window(staff).site), self.language)

    def cancel_leave(self, actor: Actor, leave_id: str, reason: str) -> ActionResult:
        """Cancel leave granted earlier (in the policy or by a manager)."""
        why = _reason(reason)
        current = {lv.leave_id: lv for lv in self.leave()}
        record = current.get(leave_id.strip())
        if record is None:
            raise NotFound(f"no leave {leave_id!r} in force; list it with 'hallwatch leave list'")
        return self._record_leave(actor, "leave_cancel", record, why)

    # -- the directory -----------------------------------------------------------------
    def directory(self) -> Directory:
        return self.store.directory()

    def staff_list(self, *, include_inactive: bool = False) -> list[StaffLine]:
        """Everyone in the directory (deleted people only with `include_inactive`)."""
        directory = self.store.directory()
        today = self.now().date()
        lines = []
        for m in directory.staff:
            if not (m.active or include_inactive):
                continue
            window = current_window(m, directory, today)
            department = directory.department.get(m.department or "")
            lines.append(
                StaffLine(
                    m.staff_id,
                    m.name,
                    m.name_en,
                    department.name if department else m.department,
                    window.id if window else None,
                    window.name if window else None,
                    m.position,
                    m.start_date,
                    m.end_date,
                    m.active,
                )
            )
        return lines

    def add_staff(
        self,
        actor: Actor,
        member: StaffMember,
        window: str | None = None,
        since: date | None = None,
    ) -> DirectoryResult:
        """Add a person, working at `window` from `since` (default: from their start)."""
        directory = self.store.directory()
        if member.staff_id in directory.member:
            raise Refused(
                f"staff id {member.staff_id} is already in the directory "
                f"({directory.name(member.staff_id)}): change them with 'hallwatch staff edit'"
            )
        if window is not None:
            member = moved(member, self._known_window(directory, window), since or date.min)
            if since is None:  # from the start: bounded by the start date alone
                member = replace(member, postings=(replace(member.postings[0], first_day=None),))
        self._check(member, directory)
        return self._save_staff(actor, directory, "staff_add", member, "added")

    def edit_staff(
        self,
        actor: Actor,
        staff_id: str,
        *,
        window: str | None = None,
        since: date | None = None,
        **fields: str | date | None,
    ) -> DirectoryResult:
        """Change a person's record (the `fields` given: name, name_en, department,
        position, start_date, end_date); with `window`, move them there from `since`
        (default today): their posting ends the day before, a new one begins."""
        directory = self.store.directory()
        before = self._member(directory, staff_id)
        unknown = sorted(set(fields) - set(EDITABLE))
        if unknown:
            raise InvalidInput(f"cannot edit {', '.join(unknown)}: only {', '.join(EDITABLE)}")
        after = replace(before, **fields)
        if window is not None:
            try:
                after = moved(after, self._known_window(directory, window), since or self.today())
            except Conflict as exc:
                raise Refused(str(exc)) from None
        if after == before:
            raise Refused(f"{staff_id}: nothing to change (it is so already)")
        self._check(after, directory)
        return self._save_staff(actor, directory, "staff_edit", after, _changes(before, after))

    def deactivate_staff(
        self, actor: Actor, staff_id: str, reason: str, end: date | None = None
    ) -> DirectoryResult:
        """Delete a person from the directory: inactive, ending on `end` (default today,
        or their end date if earlier). They stay in the months they were judged in."""
        why = _reason(reason)
        directory = self.store.directory()
        before = self._member(directory, staff_id)
        if not before.active:
            raise Refused(f"{staff_id} is already deleted (since {before.end_date})")
        last = end or min(d for d in (before.end_date, self.today()) if d)
        after = replace(before, active=False, end_date=last)
        self._check(after, directory)
        return self._save_staff(actor, directory, "staff_deactivate", after, f"ends {last}: {why}")

    def import_staff(
        self,
        actor: Actor,
        rows: Iterable[FileRow],
        source: str,
        *,
        moves_from: date | None = None,
        dry_run: bool = False,
        create_departments: bool = False,
    ) -> ImportResult:
        """Import a staff file's rows, all or nothing: any wrong row refuses the whole
        file (`ImportRefused`, naming every wrong row). A dry run writes nothing."""
        directory = self.store.directory()
        plan = plan_import(
            directory, rows, moves_from or self.today(), create_departments=create_departments
        )
        if plan.problems:
            raise ImportRefused(source, plan.problems)
        rejudged = self._rejudged(directory, plan.staff)
        version = self.store.directory_version()
        if not dry_run and (plan.staff or plan.departments):
            audit = [
                self._audit(actor, "department_add", d.id, f"created by importing {source}")
                for d in plan.departments
            ] + [
                self._audit(
                    actor,
                    "staff_add" if m.staff_id not in directory.member else "staff_edit",
                    m.staff_id,
                    f"imported from {source}",
                )
                for m in plan.staff
            ]
            edit = DirectoryEdit(departments=plan.departments, staff=plan.staff)
            version = self.store.save_directory(edit, audit, rejudged)
        return ImportResult(
            plan.added,
            plan.changed,
            len(plan.unchanged),
            tuple(d.id for d in plan.departments),
            rejudged,
            dry_run,
            version,
        )

    def add_window(self, actor: Actor, window: ServiceWindow) -> DirectoryResult:
        directory = self.store.directory()
        if window.id in directory.window:
            raise Refused(f"window {window.id} is already in the directory")
        _checked_id(STAFF_ID, window.id, "window id")
        _checked_id(NODE_ID, window.site, "site")
        self._check_names(window.name)
        self._known_department(directory, window.department)
        action = self._audit(actor, "window_add", window.id, f"{window.name} at {window.site}")
        version = self.store.save_directory(DirectoryEdit(windows=(window,)), [action])
        return DirectoryResult((action,), (), version, window=window)

    def edit_window(
        self,
        actor: Actor,
        window_id: str,
        *,
        name: str | None = None,
        department: str | None = None,
    ) -> DirectoryResult:
        """Rename a window or give it to another department. Its site stays: a window in
        another site is a new window (add it and move its staff)."""
        directory = self.store.directory()
        before = directory.window.get(window_id)
        if before is None:
            raise NotFound(f"no window {window_id!r}; list them with 'hallwatch staff list'")
        self._check_names(name or before.name)
        self._known_department(directory, department)
        after = replace(
            before, name=name or before.name, department=department or before.department
        )
        if after == before:
            raise Refused(f"window {window_id}: nothing to change (it is so already)")
        action = self._audit(actor, "window_edit", window_id, f"{after.name} ({after.department})")
        version = self.store.save_directory(DirectoryEdit(windows=(after,)), [action])
        return DirectoryResult((action,), (), version, window=after)

    def add_department(self, actor: Actor, department: Department) -> DirectoryResult:
        if department.id in self.store.directory().department:
            raise Refused(f"department {department.id} is already in the directory")
        self._check_names(department.id, department.name)
        return self._save_department(actor, "department_add", department)

    def edit_department(self, actor: Actor, department: Department) -> DirectoryResult:
        """Rename a department (its id stays)."""
        if department.id not in self.store.directory().department:
            raise NotFound(f"no department {department.id!r} in the directory")
        self._check_names(department.name)
        return self._save_department(actor, "department_edit", department)

    def devices(self) -> list[DeviceRow]:
        """Every registered device with what the centre last heard from it, then devices
        heard from but not registered."""
        directory = self.store.directory()
        heard = {(s.status.site, s.status.device): s for s in self.store.device_statuses()}
        registered = {(d.site, d.device): d for d in directory.devices}
        rows = []
        for key in sorted(
            registered.keys() | {k for k, s in heard.items() if s.status.role != "rules"}
        ):
            device = registered.get(key) or Device(key[0], key[1], heard[key].status.role)
            seen = heard.get(key)
            health = seen.status.health if seen else None
            if device.retired is not None:
                state = "retired"
            elif key not in registered:
                state = "unregistered"
            else:
                state = ("online" if seen.online else "offline") if seen else "never seen"
            rows.append(
                DeviceRow(
                    device.site,
                    device.device,
                    device.kind,
                    device.name,
                    device.location,
                    directory.name(device.user, self.language) if device.user else None,
                    state,
                    seen.seen if seen else None,
                    health.backlog if health else None,
                    self._clock(seen.status) if seen else "unknown",
                    seen.version if seen else None,
                    device.registered,
                    device.retired,
                )
            )
        return rows

    def register_device(self, actor: Actor, device: Device) -> DirectoryResult:
        """Register a station or agent (again, if it was retired)."""
        directory = self.store.directory()
        _checked_id(NODE_ID, device.site, "site")
        _checked_id(NODE_ID, device.device, "device id")
        self._check_names(device.name, device.location)
        known = next(
            (d for d in directory.devices if (d.site, d.device) == (device.site, device.device)),
            None,
        )
        if known is not None and known.retired is None:
            raise Refused(f"{device.site}/{device.device} is already registered")
        if device.user is not None:
            self._member(directory, device.user)
        device = replace(device, registered=self.now(), retired=None)
        action = self._audit(
            actor,
            "device_register",
            f"{device.site}/{device.device}",
            f"{device.kind} {device.name}",
        )
        version = self.store.save_directory(DirectoryEdit(devices=(device,)), [action])
        return DirectoryResult((action,), (), version, device=device)

    def retire_device(
        self, actor: Actor, site: str, device_id: str, reason: str
    ) -> DirectoryResult:
        """Retire a device: it stays listed (with its history), marked retired."""
        why = _reason(reason)
        known = next(
            (d for d in self.store.directory().devices if (d.site, d.device) == (site, device_id)),
            None,
        )
        if known is None:
            raise NotFound(f"no device {site}/{device_id} is registered ('hallwatch devices list')")
        if known.retired is not None:
            raise Refused(f"{site}/{device_id} was retired already on {known.retired:%Y-%m-%d}")
        device = replace(known, retired=self.now())
        action = self._audit(actor, "device_retire", f"{site}/{device_id}", why)
        version = self.store.save_directory(DirectoryEdit(devices=(device,)), [action])
        return DirectoryResult((action,), (), version, device=device)

    # -- how a directory edit is checked and recorded ----------------------------------
    def today(self) -> date:
        return self.now().date()

    def _clock(self, status: Status) -> str:
        health = status.health
        if health is None or health.clock_synced is None:
            return "unknown"
        return clock_fault(status, self.policy) or "synchronised"

    def _member(self, directory: Directory, staff_id: str) -> StaffMember:
        member = directory.member.get(staff_id.strip())
        if member is None:
            raise NotFound(
                f"no staff id {staff_id!r} in the directory; list them with 'hallwatch staff list'"
            )
        return member

    def _known_window(self, directory: Directory, window: str) -> str:
        if window not in directory.window:
            known = ", ".join(sorted(directory.window)) or "none yet"
            raise NotFound(f"no window {window!r} in the directory (windows: {known})")
        return window

    def _known_department(self, directory: Directory, department: str | None) -> None:
        if department is not None and department not in directory.department:
            raise NotFound(f"no department {department!r} in the directory")

    def _check_names(self, *texts: str) -> None:
        for text in texts:
            if not plain(text):
                raise InvalidInput(f"{text[:40]!r}... is too long or has control characters")

    def _check(self, member: StaffMember, directory: Directory) -> None:
        found = problems(member, directory)
        if found:
            raise InvalidInput(f"{member.staff_id}: " + "; ".join(found))

    def _audit(self, actor: Actor, kind: ActionKind, target: str, reason: str) -> ManagerAction:
        return ManagerAction(
            new_event_id(), self.now(), actor.decided_by, kind, target, reason,
            entered_by=actor.entered_by,
        )  # fmt: skip

    def _rejudged(
        self, directory: Directory, staff: Iterable[StaffMember]
    ) -> tuple[PersonMonth, ...]:
        """The person-months the new records judge differently on days already past (from
        the first punch stored, or the retention horizon, to today)."""
        punches = self.store.first_punches()
        if not punches:
            return ()
        first = min(punches.values()).date() - timedelta(days=1)  # a site east of UTC
        horizon = self.store.horizon()
        if horizon is not None:
            first = max(first, date.fromisoformat(f"{horizon}-01"))
        last = self.today() + timedelta(days=1)  # a site east of UTC is a day ahead
        return tuple(
            (m.staff_id, month)
            for m in staff
            for month in rejudged_months(directory.member.get(m.staff_id), m, first, last)
        )

    def _save_staff(
        self, actor: Actor, directory: Directory, kind: ActionKind, member: StaffMember, what: str
    ) -> DirectoryResult:
        rejudged = self._rejudged(directory, [member])
        action = self._audit(actor, kind, member.staff_id, what)
        version = self.store.save_directory(DirectoryEdit(staff=(member,)), [action], rejudged)
        return DirectoryResult((action,), rejudged, version, staff=member)

    def _save_department(
        self, actor: Actor, kind: ActionKind, department: Department
    ) -> DirectoryResult:
        action = self._audit(actor, kind, department.id, department.name)
        version = self.store.save_directory(DirectoryEdit(departments=(department,)), [action])
        return DirectoryResult((action,), (), version, department=department)

    # -- how an action is recorded -----------------------------------------------------
    def _action(
        self,
        actor: Actor,
        kind: ActionKind,
        target: str,
        reason: str,
        leave: LeaveRecord | None = None,
    ) -> ManagerAction:
        action = ManagerAction(
            action_id=new_event_id(),
            ts=self.now(),
            by=actor.decided_by,
            action=kind,
            target=target,
            reason=reason,
            leave=leave,
            entered_by=actor.entered_by,
        )
        self.store.add_action(action)
        return action

    def _window(self, staff: str) -> ServiceWindow:
        window = self.directory().home_window(staff)
        if window is None:
            raise NotFound(
                f"{staff} is in no window of the directory: check the staff id "
                "('hallwatch staff list' shows who works where)"
            )
        return window

    def _mark(self, actor: Actor, kind: ActionKind, violation_id: str, reason: str) -> ActionResult:
        """A correction or a void: record it, recompute its person-month, announce both."""
        why = _reason(reason)
        target = violation_id.strip()
        found = self.store.violation(target)
        if found is None:
            raise NotFound(
                f"no violation {target!r}; list them with 'hallwatch violations --month YYYY-MM'"
            )
        if found.status == "voided":
            raise Refused(f"{target} is already voided; nothing to {kind}")
        if kind == "correct" and found.status == "corrected":
            raise Refused(f"{target} already has a correction recorded")
        if kind == "correct":
            check_correction(found, self.language)
        action = self._action(actor, kind, target, why)
        changed, withdrawn = self._recompute(found.staff_id, [month_of(found.day)])
        return ActionResult(
            action,
            changed,
            withdrawn,
            violation=self.store.violation(target),
            not_announced=self._announce(found.site, action, changed, withdrawn),
        )

    def _record_leave(
        self, actor: Actor, kind: ActionKind, record: LeaveRecord, reason: str
    ) -> ActionResult:
        """Record a leave action, recompute every month the leave touches, announce them."""
        action = self._action(
            actor, kind, record.leave_id, reason, record if kind == "leave_add" else None
        )
        window = self.directory().home_window(record.staff_id)
        if window is None:  # someone who left the windows since: nothing of theirs is judged
            return ActionResult(action, (), (), leave=record)
        zone = self.policy.zone(window.site)
        first, last = (moment.astimezone(zone).date() for moment in (record.start, record.end))
        changed, withdrawn = self._recompute(record.staff_id, months_between(first, last))
        not_announced = self._announce(window.site, action, changed, withdrawn)
        return ActionResult(action, changed, withdrawn, leave=record, not_announced=not_announced)

    def _recompute(
        self, staff: str, months: list[str]
    ) -> tuple[tuple[ViolationRecord, ...], tuple[ViolationRecord, ...]]:
        """Re-judge a person's months now; (changed, withdrawn) over all of them."""
        directory = self.directory()
        if not directory.sites_of(staff):
            return (), ()
        changed: list[ViolationRecord] = []
        withdrawn: list[ViolationRecord] = []
        for month in months:
            more, gone = recompute_person_month(
                self.store, self.policy, directory, staff, month, self.now()
            )
            changed += more
            withdrawn += gone
        return tuple(changed), tuple(withdrawn)

    def _announce(
        self,
        site: str,
        action: ManagerAction,
        changed: Iterable[ViolationRecord],
        withdrawn: Iterable[ViolationRecord],
    ) -> str | None:
        """Publish the action and the violations it changed; None, or why not."""
        if self.announcer is None:
            return None

        def fill(publisher: ResultPublisher) -> None:
            publisher.correction(site, action)
            for record in changed:
                publisher.violation(record)
            for record in withdrawn:
                publisher.violation(record, withdrawn=True)

        return self.announcer.announce(fill)


EDITABLE = ("name", "name_en", "department", "position", "start_date", "end_date")


def _changes(before: StaffMember, after: StaffMember) -> str:
    """What an edit changed, for the audit trail ("position: clerk -> head; window ...")."""
    said = [
        f"{name}: {getattr(before, name) or '-'} -> {getattr(after, name) or '-'}"
        for name in EDITABLE
        if getattr(before, name) != getattr(after, name)
    ]
    if before.postings != after.postings:
        latest = after.postings[-1]
        said.append(f"window {latest.window} from {latest.first_day or 'the start'}")
    return "; ".join(said)


def _checked_id(rule: IdRule, value: str, what: str) -> None:
    if not rule.matches(value):
        raise InvalidInput(f"invalid {what} {value!r}: use {rule.spelled}")
