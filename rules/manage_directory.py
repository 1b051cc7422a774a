"""The directory in the management API: staff, windows, departments and devices, and the
HR import; every edit audited, the months it re-judges marked pending for the service.

`DirectoryManagement` is a part of `rules.manage.Management` (it uses its store, policy,
clock and language)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from base.identifiers import NODE_ID, WINDOW_ID, IdRule
from mqtt.schema import Status
from rules.acting import (
    Actor,
    InvalidInput,
    ManagementError,
    NotFound,
    Refused,
    audit_row,
    stated_reason,
)
from rules.delivery import Delivery
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
    moved,
    plain,
    plan_import,
    problems,
    rejudged_months,
)
from rules.directory_store import DirectoryEdit
from rules.engine import clock_fault
from rules.gallery_status import gallery_status
from rules.manager_actions import (
    ActionKind,
    Language,
    ManagerAction,
)
from rules.policy import Policy
from rules.store import PersonMonth, Store


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
    gallery_version: int | None  # a station's: what it applied of the site's gallery ...
    site_gallery_version: int | None  # ... of this version
    erasures_pending: int  # people deleted centrally it has not confirmed erasing
    registered: datetime | None
    retired: datetime | None
    delivery: Delivery | None = None  # what the centre has of its journal


class ImportRefused(ManagementError):
    """A staff file with wrong rows: nothing was written; `rows` says what is wrong where."""

    def __init__(self, source: str, rows: Sequence[RowProblem]) -> None:
        self.rows = tuple(rows)
        lines = [f"  row {p.row}: {p.reason}" for p in self.rows]
        super().__init__(
            f"{source}: {len(self.rows)} rows are wrong, nothing was imported "
            "(fix them and import the file again):\n" + "\n".join(lines)
        )


class DirectoryManagement:
    store: Store
    policy: Policy
    now: Callable[[], datetime]
    language: Language

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
        why = stated_reason(reason)
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
        _checked_id(WINDOW_ID, window.id, "window id")
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
        galleries = {(g.site, g.device): g for g in gallery_status(self.store)}
        delivered = {(d.site, d.device): d for d in self.store.deliveries()}
        registered = {(d.site, d.device): d for d in directory.devices}
        rows = []
        for key in sorted(
            registered.keys() | {k for k, s in heard.items() if s.status.role != "rules"}
        ):
            device = registered.get(key) or Device(key[0], key[1], heard[key].status.role)
            seen = heard.get(key)
            health = seen.status.health if seen else None
            gallery = galleries.get(key)
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
                    gallery.applied_version if gallery else None,
                    gallery.site_version if gallery else None,
                    len(gallery.erasures_pending) if gallery else 0,
                    device.registered,
                    device.retired,
                    delivered.get(key),
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
        why = stated_reason(reason)
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
        return audit_row(actor, kind, target, reason, self.now())

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
