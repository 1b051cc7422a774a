"""The rules service's store: a narrow interface, its SQL once, and SQLite behind it.

Events and manager actions are append-only (an event id is stored once; redeliveries are
ignored); violations are derived and replaced whenever a person-month is recomputed. Two
small tables keep what the results must not forget: each site's first punch (its go-live
by default) and every correction number announced (numbers never change once given). The
SQL is portable (SQLite 3.35+ and PostgreSQL share it, `ON CONFLICT` and `RETURNING`
included): `SqlStore` holds it, `SqliteStore` and `rules.pgstore.PostgresStore` add the
connection, the DDL and the locking. Several service instances may share one PostgreSQL
store: idempotency and the order of concurrent recomputations are the database's job
(primary keys, transactions, locks), see `Store.recomputing`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from base.migrations import Database, Migration, Step, migrate
from base.printable import printable
from base.private_files import connect_private
from mqtt import schema
from mqtt.schema import LeaveKind
from rules.account_store import AccountQueries, account_tables
from rules.alert_store import AlertQueries, AlertState, alert_tables
from rules.day_store import NO_MARKS, DayQueries, Marks, PersonDayKey, day_tables
from rules.delivery import Delivery
from rules.delivery_store import DeliveryQueries, delivery_range_tables, delivery_tables
from rules.directory import Directory
from rules.directory_store import DirectoryEdit, DirectoryTables, directory_tables
from rules.engine import DayJudgement, ViolationRecord, event_time
from rules.gallery_store import GalleryQueries, gallery_tables, lookalike_tables
from rules.manager_actions import LeaveRecord, ManagerAction
from rules.notify_store import NotifyQueries, notify_tables
from rules.patrol import PatrolFinding
from rules.patrol_store import PatrolQueries, patrol_tables
from rules.request_store import RequestQueries, request_tables
from rules.requests import Request, RequestKind, RequestStatus
from rules.roster_store import RosterQueries, roster_tables
from rules.rosters import DutyAssignment
from rules.spans import union
from rules.stamps import stamp, unstamp
from rules.tally import Tally, tally
from rules.tally_store import KEEP_TALLY, TallyQueries, tally_row, tally_tables

BATCH = 500  # rows of one multi-row INSERT, ids of one IN (...) query
# Dead letters are bounded so a device (or an attacker with its credentials) publishing
# garbage cannot grow the database without end: past the cap the oldest rows go first,
# and the count of rows dropped stays visible.
DEAD_LETTER_CAP = 10_000
DEAD_LETTER_PAYLOAD_CHARS = 4096  # what is kept of a rejected payload

PersonMonth = tuple[str, str]  # (staff id, YYYY-MM)
Affected = Callable[[schema.Event], Iterable[PersonDayKey]]
NearPunch = tuple[str, str, datetime]  # (site, device, moment)


def _moments_by_device(punches: Iterable[NearPunch]) -> dict[tuple[str, str], list[datetime]]:
    moments: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for site, device, moment in punches:
        moments[(site, device)].append(moment)
    return moments


def _moment(text: str | None) -> datetime | None:
    """A `stamp` read back (aware, UTC)."""
    return unstamp(text) if text else None


@dataclass(frozen=True, slots=True)
class Arrival:
    """When the centre received a message, and whether it came in just as the centre's
    own connection to the broker came back (then the broker, not the device, went away
    at `broker_lost`)."""

    at: datetime
    broker_lost: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeviceSeen:
    """A device's latest status as the centre received it."""

    status: schema.Status
    seen: datetime  # when it arrived (a will: when the centre saw the device go)
    broker_lost: datetime | None = None  # it came as the broker came back: see Arrival
    # -- devices: another process took turns with this one under its id (two devices
    # configured alike): its boot, and when the centre last saw them alternate.
    rival_boot: str | None = None
    rival_seen: datetime | None = None

    @property
    def online(self) -> bool:
        return self.status.state == "online"

    @property
    def version(self) -> str | None:
        return self.status.version

    @property
    def boot(self) -> str | None:
        return self.status.boot

    @property
    def backlog(self) -> int | None:
        """Events waiting in the device's journal when it last said so."""
        return self.status.health.backlog if self.status.health else None

    @property
    def clock_synced(self) -> bool | None:
        return self.status.health.clock_synced if self.status.health else None


@dataclass(frozen=True, slots=True)
class DeadLetterRow:
    received: datetime
    topic: str
    reason: str
    payload: str

    @classmethod
    def of(cls, received: datetime, topic: str, reason: str, payload: bytes) -> DeadLetterRow:
        """A rejected message, every part escaped: it is shown to people (and published),
        and PostgreSQL's text takes no NUL."""
        text = printable(payload.decode("utf-8", "replace"))
        return cls(received, printable(topic), printable(reason), text[:DEAD_LETTER_PAYLOAD_CHARS])


class Store(Protocol):
    """What the service, the CLI and the reports need from a store, and nothing more
    (the central gallery's queries are rules.gallery_store's, the console's accounts
    rules.account_store's, the notifications' outbox rules.notify_store's, which both
    stores have)."""

    def note_runs(self, runs: Sequence[tuple[str, str, int, int]]) -> None: ...
    def outstanding_requests(self) -> dict[tuple[str, str], tuple[int, int]]: ...
    def record_lost(
        self, site: str, device: str, ranges: Sequence[tuple[int, int]], at: datetime, why: str
    ) -> int: ...

    def add_events(
        self,
        events: Sequence[schema.Event],
        affected: Affected | None = None,
        arrivals: Mapping[str, Arrival] | None = None,
    ) -> list[schema.Event]:
        """Store events not seen before (by id), in their canonical encoding (a device's
        padding and key order are not kept); return those that were new.

        With `affected`, the person-days of the new events are marked pending in the
        same transaction, so a process killed right after storing loses no recomputation:
        any instance sharing the store finds them in `pending`. With `arrivals` (by event
        id), a new status that arrived last becomes its device's state (`device_statuses`).
        """

    def prune_events(self, month: str) -> int:
        """Delete the events of months before `month` (YYYY-MM) and remember it as the
        horizon: those months' results are final. Returns how many events went."""

    def horizon(self) -> str | None:
        """The first month whose events are all kept (None: nothing was ever pruned)."""

    def pending(self, limit: int = 1000) -> list[PersonMonth]:
        """Person-months with marks (of days or of the whole month) not recomputed since."""

    def recomputing(
        self, staff: str, month: str, *, wait: bool = True
    ) -> AbstractContextManager[Marks]:
        """Hold a person-month for one read-evaluate-replace cycle, in one transaction.

        Concurrent cycles on it (other instances, manager commands) wait, so the last one
        to write has read every event stored before it began. Yields its pending marks
        (false if none); on success the marks seen are cleared, unless new events marked
        them again meanwhile. `wait=False`: if another cycle holds it, yield no marks at
        once (its marks stay if that cycle misses anything, so they are picked up again).
        """

    def recomputing_month(self, month: str) -> AbstractContextManager[None]:
        """Hold a whole month (every person-month of it) for one cycle, likewise."""

    def add_dead_letter(self, row: DeadLetterRow) -> None:
        """Keep the row (its payload cut to DEAD_LETTER_PAYLOAD_CHARS); past the store's cap
        drop the oldest rows."""

    def dead_letters(self, limit: int = 100) -> list[DeadLetterRow]: ...

    def dead_letter_counts(self) -> tuple[int, int]:
        """(rows kept, rows dropped over the cap since the store was created)."""

    def events(
        self,
        start: datetime,
        end: datetime,
        *,
        staff: str | None = None,
        workstations: Iterable[tuple[str, str]] = (),
        kinds: Iterable[str] = (),
    ) -> list[schema.Event]:
        """Events in [start, end); with `staff`, only theirs (and their workstations')."""

    def device_statuses(self) -> list[DeviceSeen]:
        """Each device's latest status: the last to arrive, or (for statuses stored without
        an arrival, as by a replay) the latest by the device's own time."""

    def deliveries(self, site: str | None = None) -> list[Delivery]:
        """What the centre has of each device's journal (rules/delivery_store.py)."""

    def broker_went_away(self, lost: datetime, since: datetime) -> None:
        """The centre's connection to the broker was lost at `lost`: the wills that arrived
        from `since` until then were the broker's going, not their devices'."""

    def statuses_near(self, punches: Iterable[NearPunch], reach: timedelta) -> list[schema.Status]:
        """The heartbeats of each punch's device within `reach` of it (the clock check)."""

    def first_punches(self) -> dict[str, datetime]:
        """Per site, the earliest punch stored (whatever order they came in)."""

    def numbers(self, month: str) -> dict[str, dict[str, int]]:
        """The correction numbers announced in `month`: staff -> violation id -> number."""

    def keep_numbers(self, staff: str, month: str, numbers: Mapping[str, int]) -> None:
        """Remember numbers announced; a number once kept is never changed."""

    def add_action(self, action: ManagerAction) -> None: ...

    def actions(self) -> list[ManagerAction]: ...

    def replace_violations(
        self, staff: str, month: str, records: Sequence[ViolationRecord]
    ) -> tuple[list[ViolationRecord], list[ViolationRecord]]:
        """Make the person-month's violations `records`; return (changed, withdrawn)."""

    # -- person-days (rules/day_store.py) ------------------------------------------------
    def day_judgements(self, staff: str, month: str) -> tuple[str | None, dict[date, DayJudgement]]:
        """The basis a person-month's days were judged on and each judged day's judgement."""
        ...

    def keep_days(
        self,
        staff: str,
        month: str,
        basis: str,
        judged: Mapping[date, DayJudgement],
        gone: Iterable[date] = (),
        *,
        whole: bool = False,
    ) -> None:
        """Keep days' judgements and the month's basis; forget the days `gone`."""

    def numbers_of(self, staff: str, month: str) -> dict[str, int]:
        """The correction numbers announced to `staff` in `month`."""
        ...

    def expiring_days(self, after: datetime, until: datetime) -> list[PersonDayKey]:
        """The person-days whose kept judgement stopped holding in (after, until]."""
        ...

    def judging_actions(self) -> list[ManagerAction]:
        """The manager actions the engine reads (leave, corrections, voids)."""
        ...

    def violations(
        self,
        *,
        month: str | None = None,
        day: date | None = None,
        staff: str | None = None,
        site: str | None = None,
    ) -> list[ViolationRecord]: ...

    def violation(self, violation_id: str) -> ViolationRecord | None: ...

    def violations_named(self, ids: Iterable[str]) -> list[ViolationRecord]:
        """The violations of these ids still stored, in the order of `violations`."""
        ...

    def month_tallies(self, month: str) -> dict[str, Tally]:
        """Per staff member with violations in `month`, their tally (rules/tally.py), kept
        in the transaction that writes them."""
        ...

    # -- the directory (rules/directory_store.py) ----------------------------------------
    def add_finding(self, finding: PatrolFinding, photo: tuple[str, bytes] | None = None) -> None:
        """Keep a patrol finding (and its photo: MIME type, bytes)."""

    def findings(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        site: str | None = None,
        staff: str | None = None,
    ) -> list[PatrolFinding]:
        """Patrol findings observed in [start, end), oldest first."""
        ...

    def prune_photos(self, before: datetime) -> int:
        """Drop the photos of findings observed before `before`."""
        ...

    def add_request(self, request: Request) -> None:
        """Keep a request (punch correction or appeal) as raised."""

    def decide_request(
        self, request_id: str, status: RequestStatus, by: str, at: datetime, reason: str
    ) -> bool:
        """Record the decision of a pending request; False if it was not pending."""
        ...

    def requests(
        self,
        *,
        kind: RequestKind | None = None,
        status: RequestStatus | None = None,
        staff: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Request]:
        """Requests, oldest raised first; `start`/`end` bound a punch correction's moment."""
        ...

    def request(self, request_id: str) -> Request | None: ...

    def set_duties(
        self,
        entries: Sequence[DutyAssignment],
        audit: Sequence[ManagerAction] = (),
        pending: Iterable[PersonDayKey] = (),
    ) -> None:
        """Keep duty roster entries with their audit rows and the person-days to re-judge,
        all or none (rules/roster_store.py)."""

    def remove_duty(
        self, site: str, day: date, duty: str, staff: str, audit: Sequence[ManagerAction] = ()
    ) -> bool:
        """Take a person off a duty of a day; whether they were on it."""
        ...

    def rosters(
        self,
        first: date | None = None,
        last: date | None = None,
        *,
        site: str | None = None,
        staff: str | None = None,
    ) -> list[DutyAssignment]:
        """Roster entries of the days [first, last], by day."""
        ...

    def directory(self) -> Directory:
        """The staff directory as it is now: windows, staff and their postings, devices."""

    def directory_version(self) -> int:
        """0 while there is no directory; grows with every edit (reload when it changed)."""

    def save_directory(
        self,
        edit: DirectoryEdit,
        actions: Sequence[ManagerAction] = (),
        pending: Iterable[PersonMonth] = (),
    ) -> int:
        """Write an edit with its audit rows and the person-months it re-judges (marked
        pending), in one transaction; returns the new version."""

    def seed_directory(self, seed: Directory) -> bool:
        """Write `seed` as the directory if there is none yet; whether it did."""

    def alert(self, alert_id: str) -> schema.Alert | None: ...

    def set_alert_state(self, state: AlertState) -> None: ...

    def alert_states(self) -> dict[str, AlertState]: ...

    def close(self) -> None: ...


def _violation_row(r: ViolationRecord) -> dict:
    return {
        "violation_id": r.violation_id,
        "staff_id": r.staff_id,
        "site": r.site,
        "window": r.window,
        "month": r.day.strftime("%Y-%m"),
        "day": r.day.isoformat(),
        "at": r.at.isoformat(),
        "rule": r.rule,
        "severity": r.severity,
        "deduction": r.deduction,
        "correction_no": r.correction_no,
        "escalated": int(r.escalated),
        "veto": int(r.veto),
        "evidence": json.dumps(list(r.evidence)),
        "status": r.status,
        "detail": r.detail,
    }


def _violation_of(row: dict) -> ViolationRecord:
    return ViolationRecord(
        violation_id=row["violation_id"],
        staff_id=row["staff_id"],
        site=row["site"],
        window=row["window"],
        day=date.fromisoformat(row["day"]),
        at=datetime.fromisoformat(row["at"]),
        rule=row["rule"],
        severity=row["severity"],
        deduction=float(row["deduction"]),
        correction_no=row["correction_no"],
        escalated=bool(row["escalated"]),
        veto=bool(row["veto"]),
        evidence=tuple(json.loads(row["evidence"])),
        status=row["status"],
        detail=row["detail"],
    )


def _action_row(a: ManagerAction) -> dict:
    leave = a.leave
    return {
        "action_id": a.action_id,
        "ts": a.ts.isoformat(),
        "by": a.by,
        "action": a.action,
        "target": a.target,
        "reason": a.reason,
        "entered_by": a.entered_by,
        "leave": None
        if leave is None
        else json.dumps(
            {
                "leave_id": leave.leave_id,
                "staff_id": leave.staff_id,
                "start": leave.start.isoformat(),
                "end": leave.end.isoformat(),
                "kind": str(leave.kind),
                "reason": leave.reason,
            }
        ),
    }


def _action_of(row: dict) -> ManagerAction:
    leave = None
    if row["leave"]:
        data = json.loads(row["leave"])
        leave = LeaveRecord(
            data["leave_id"],
            data["staff_id"],
            datetime.fromisoformat(data["start"]),
            datetime.fromisoformat(data["end"]),
            LeaveKind(data["kind"]),
            data["reason"],
        )
    return ManagerAction(
        row["action_id"],
        datetime.fromisoformat(row["ts"]),
        row["by"],
        row["action"],
        row["target"],
        row["reason"],
        leave,
        row["entered_by"] or "",
    )


VIOLATION_COLUMNS = (
    "violation_id", "staff_id", "site", "window", "month", "day", "at", "rule", "severity",
    "deduction", "correction_no", "escalated", "veto", "evidence", "status", "detail",
)  # fmt: skip
ACTION_COLUMNS = ("action_id", "ts", "by", "action", "target", "reason", "leave", "entered_by")
# Columns added before versions were kept: schema version 1 adds them to older files.
ADDED_COLUMNS = {
    "actions": ("entered_by",),
    "device_status": ("state", "boot", "version", "rival_boot", "rival_seen"),
}
EVENT_COLUMNS = ("id", "kind", "site", "device", "staff_id", "at", "payload")
DEVICE_STATUS_COLUMNS = (
    "site",
    "device",
    "event_id",
    "seen",
    "broker_lost",
    "will",
    "state",
    "boot",
    "version",
)


def _names(columns: Iterable[str]) -> str:
    # Quoted: "window" and "by" are reserved words in PostgreSQL.
    return ", ".join(f'"{c}"' for c in columns)


def _insert(table: str, columns: Sequence[str], rows: int = 1) -> str:
    values = ", ".join(["(" + ", ".join("?" * len(columns)) + ")"] * rows)
    return f"INSERT INTO {table} ({_names(columns)}) VALUES {values}"


def _added_columns(text: str) -> Step:
    """Add the columns a table made by an earlier release lacks."""

    def step(db: Database) -> None:
        for table, columns in ADDED_COLUMNS.items():
            cursor = db.execute(f"SELECT * FROM {table} LIMIT 0")
            present = {column[0] for column in cursor.description}
            for column in columns:
                if column not in present:
                    db.execute(f'ALTER TABLE {table} ADD COLUMN "{column}" {text}')

    return step


def _learn_first_punches(db: Database) -> None:
    """A store made before first punches were kept learns them from its events once."""
    if not db.execute("SELECT 1 FROM first_punches LIMIT 1").fetchall():
        db.execute(
            'INSERT INTO first_punches ("site", "at") SELECT "site", MIN("at") '
            'FROM events WHERE "kind" = \'clock\' GROUP BY "site"'
        )


def _tally_stored_months(db: Database) -> None:
    """Tally the person-months already stored, from their violations, once: from then on
    every write of violations keeps its tally (a lazy tally on first read would leave the
    first sheet of each month slow and two instances racing to write it)."""
    rows = db.execute(f"SELECT {_names(VIOLATION_COLUMNS)} FROM violations").fetchall()
    months: dict[PersonMonth, list[ViolationRecord]] = defaultdict(list)
    for row in rows:
        v = _violation_of(dict(zip(VIOLATION_COLUMNS, row, strict=True)))
        months[(v.staff_id, row[VIOLATION_COLUMNS.index("month")])].append(v)
    for (staff, month), records in sorted(months.items()):
        db.execute(KEEP_TALLY, tally_row(staff, month, tally(records)))


def tables(text: str, real: str, serial: str) -> list[str]:
    """The schema, in the types a backend names (`text`, `real`, an auto-numbered key)."""
    return [
        f"""CREATE TABLE IF NOT EXISTS events ("id" {text} PRIMARY KEY, "kind" {text},
            "site" {text}, "device" {text}, "staff_id" {text}, "at" {text}, "payload" {text})""",
        'CREATE INDEX IF NOT EXISTS idx_events_staff_id_at ON events ("staff_id", "at")',
        'CREATE INDEX IF NOT EXISTS idx_events_site_device_at ON events ("site", "device", "at")',
        'CREATE INDEX IF NOT EXISTS idx_events_at ON events ("at")',
        f"""CREATE TABLE IF NOT EXISTS dead_letters ("n" {serial}, "received" {text},
            "topic" {text}, "reason" {text}, "payload" {text})""",
        f"""CREATE TABLE IF NOT EXISTS actions ("action_id" {text} PRIMARY KEY, "ts" {text},
            "by" {text}, "action" {text}, "target" {text}, "reason" {text}, "leave" {text},
            "entered_by" {text})""",
        f"""CREATE TABLE IF NOT EXISTS violations ("violation_id" {text} PRIMARY KEY,
            "staff_id" {text}, "site" {text}, "window" {text}, "month" {text}, "day" {text},
            "at" {text}, "rule" {text}, "severity" {text}, "deduction" {real},
            "correction_no" INTEGER, "escalated" INTEGER, "veto" INTEGER, "evidence" {text},
            "status" {text}, "detail" {text})""",
        'CREATE INDEX IF NOT EXISTS idx_violations_month_staff_id ON violations ("month", "staff_id")',
        'CREATE INDEX IF NOT EXISTS idx_violations_day ON violations ("day")',
        # A device's state is its last status to arrive: a will's `ts` is its connect time.
        f"""CREATE TABLE IF NOT EXISTS device_status ("site" {text}, "device" {text},
            "event_id" {text}, "seen" {text}, "broker_lost" {text}, "will" INTEGER,
            "state" {text}, "boot" {text}, "version" {text}, "rival_boot" {text},
            "rival_seen" {text},
            PRIMARY KEY ("site", "device"))""",
        # -- devices: every boot id each device sent, to tell two devices under one id
        # (an earlier boot comes back) from a restart (a new boot, the old one gone).
        f"""CREATE TABLE IF NOT EXISTS device_boots ("site" {text}, "device" {text},
            "boot" {text}, "first_seen" {text}, PRIMARY KEY ("site", "device", "boot"))""",
        # Person-months with events not yet judged; `n` counts the marks, so a
        # recomputation clears only the mark it saw (see `recomputing`).
        f"""CREATE TABLE IF NOT EXISTS pending ("staff_id" {text}, "month" {text},
            "n" INTEGER NOT NULL, PRIMARY KEY ("staff_id", "month"))""",
        # Each site's earliest punch: a site goes live on its day unless the policy says.
        f"""CREATE TABLE IF NOT EXISTS first_punches ("site" {text} PRIMARY KEY,
            "at" {text} NOT NULL)""",
        # Every correction number announced, withdrawn violations' included (retired).
        f"""CREATE TABLE IF NOT EXISTS numbers ("violation_id" {text} PRIMARY KEY,
            "staff_id" {text}, "month" {text}, "number" INTEGER NOT NULL)""",
        'CREATE INDEX IF NOT EXISTS idx_numbers_month_staff_id ON numbers ("month", "staff_id")',
        # The retention horizon: events of earlier months were pruned (one row).
        f"""CREATE TABLE IF NOT EXISTS retention ("what" {text} PRIMARY KEY,
            "horizon" {text} NOT NULL)""",
        *directory_tables(text),
    ]


def later_versions(text: str, real: str, integer: str) -> list[Migration]:
    """The rules store's schema versions after the first, in a backend's types. A schema
    change is a version appended here: version 1 is what the first release made."""
    return [
        Migration(
            2, "lookalike pairs of people (face templates close)", lookalike_tables(text, real)
        ),
        Migration(3, "journal numbers received kept as runs", delivery_range_tables(text, integer)),
        Migration(4, "the judged days kept, pending marks by person-day", day_tables(text)),
        Migration(
            5,
            "person-month tallies of the violations, for the monthly sheet",
            [*tally_tables(text, real), _tally_stored_months],
        ),
    ]


class SqlStore(
    DayQueries,  # first: other mixins name its `_mark_days` as a stub
    DirectoryTables,
    GalleryQueries,
    AccountQueries,
    NotifyQueries,
    PatrolQueries,
    RequestQueries,
    AlertQueries,
    RosterQueries,
    DeliveryQueries,
    TallyQueries,
):
    """Every query of the store, over one DB-API connection, in transactions.

    The SQL is written with `?` placeholders; a backend whose driver wants another style
    rewrites them in `_sql`. One lock serialises the connection between the ingest
    worker and readers in other threads, and makes nested transactions join the outer one.
    """

    begin = "BEGIN"
    dead_letter_cap = DEAD_LETTER_CAP  # the service sets its configured cap

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0

    # -- what a backend provides ---------------------------------------------------------
    def _connection(self) -> Any:
        raise NotImplementedError

    def _sql(self, text: str) -> str:
        return text

    def _hold(self, month: str, staff: str | None, wait: bool = True) -> bool:
        """Inside a transaction: lock the person-month (or the month) until it ends.

        Returns False only when `wait` is False and another transaction holds it."""
        raise NotImplementedError

    # -- plumbing --------------------------------------------------------------------------
    def _execute(self, text: str, params: Sequence[Any] = ()) -> Any:
        cursor = self._connection().cursor()
        cursor.execute(self._sql(text), params)
        return cursor

    def _rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            cursor = self._execute(text, params)
            try:
                return list(cursor.fetchall())
            finally:
                cursor.close()

    def _execute_many(self, text: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._connection().cursor().executemany(self._sql(text), rows)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock:
            if self._depth:
                yield
                return
            self._execute(self.begin)
            self._depth = 1
            try:
                yield
                self._execute("COMMIT")
            except BaseException:
                # If the connection itself is gone, the original error says why.
                with suppress(Exception):
                    self._execute("ROLLBACK")
                raise
            finally:
                self._depth = 0

    def _create(self, first: Iterable[str], later: Sequence[Migration], text: str) -> None:
        """Bring the store to the code's schema version (base/migrations.py)."""
        db = Database(self._schema_name(), self._execute, self._schema_transaction)
        migrate(db, self._migrations(list(first), later, text))

    def _migrations(
        self, first: list[str], later: Sequence[Migration], text: str
    ) -> list[Migration]:
        """The store's schema versions: `first`, version 1's tables in the backend's types,
        then `later` (`later_versions`, in the same types)."""
        return [
            Migration(
                1,
                "the rules store as first versioned",
                [*first, _added_columns(text), _learn_first_punches],
            ),
            *later,
        ]

    def _schema_name(self) -> str:
        raise NotImplementedError

    def _schema_transaction(self) -> AbstractContextManager[None]:
        return self._transaction()

    # -- events ----------------------------------------------------------------------
    def add_events(
        self,
        events: Sequence[schema.Event],
        affected: Affected | None = None,
        arrivals: Mapping[str, Arrival] | None = None,
    ) -> list[schema.Event]:
        unique: dict[str, schema.Event] = {}
        for event in events:
            unique.setdefault(event.id, event)
        # In id order: concurrent writers of the same ids then wait, never deadlock.
        ordered = [unique[i] for i in sorted(unique)]
        stored: set[str] = set()
        with self._transaction():
            for chunk in (ordered[i : i + BATCH] for i in range(0, len(ordered), BATCH)):
                values = [
                    value
                    for event in chunk
                    for value in (
                        event.id,
                        str(schema.kind_of(event)),
                        event.site,
                        event.device,
                        getattr(event, "staff_id", None),
                        stamp(event_time(event)),
                        schema.encode(event).decode(),
                    )
                ]
                # RETURNING names the rows this transaction inserted: a concurrent
                # instance that stored the same event first makes it a duplicate here.
                insert = _insert("events", EVENT_COLUMNS, len(chunk))
                cursor = self._execute(
                    f'{insert} ON CONFLICT ("id") DO NOTHING RETURNING "id"', values
                )
                stored.update(i for (i,) in cursor.fetchall())
            new = [event for event in ordered if event.id in stored]
            self._note_first_punches(new)
            if affected is not None:
                self._mark_days(key for event in new for key in affected(event))
            if arrivals:
                self._saw_statuses(new, arrivals)
        return new

    def _saw_statuses(self, new: list[schema.Event], arrivals: Mapping[str, Arrival]) -> None:
        # By device, then arrival: each device's statuses in the order they came, and the
        # devices' rows locked in one order by every instance sharing the store (in
        # arrival order alone, two instances' batches deadlocked on each other's rows).
        seen = sorted(
            ((e, arrivals[e.id]) for e in new if isinstance(e, schema.Status) and e.id in arrivals),
            key=lambda pair: (pair[0].site, pair[0].device, pair[1].at),
        )
        for event, arrival in seen:  # one by one: each sees the boot the one before left
            self._saw_boot(event, arrival.at)
            # An offline from another boot than the online one in place comes from a
            # process that was taken over (its will, its shutdown): the device is online.
            self._execute(
                f"{_insert('device_status', DEVICE_STATUS_COLUMNS)} "
                'ON CONFLICT ("site", "device") DO UPDATE SET '
                '"event_id" = excluded."event_id", "seen" = excluded."seen", '
                '"broker_lost" = excluded."broker_lost", "will" = excluded."will", '
                '"state" = excluded."state", "boot" = excluded."boot", '
                '"version" = excluded."version" WHERE excluded."seen" >= device_status."seen" '
                "AND NOT COALESCE(excluded.\"state\" = 'offline' AND "
                "device_status.\"state\" = 'online' AND "
                'device_status."boot" <> excluded."boot", FALSE)',
                [
                    event.site,
                    event.device,
                    event.id,
                    stamp(arrival.at),
                    stamp(arrival.broker_lost) if arrival.broker_lost else None,
                    int(schema.is_will(event)),
                    event.state,
                    event.boot,
                    event.version,
                ],
            )

    # -- devices: two devices under one id -------------------------------------------
    def _saw_boot(self, status: schema.Status, at: datetime) -> None:
        """An online status from a boot seen before, while another boot is in place: two
        processes take turns under one id (a restart brings a new boot, never an old one)."""
        if status.boot is None or status.state != "online":
            return
        key = [status.site, status.device]
        current = self._rows(
            'SELECT "boot" FROM device_status WHERE "site" = ? AND "device" = ?', key
        )
        in_place = current[0][0] if current else None
        if in_place is not None and in_place != status.boot:
            returning = self._rows(
                'SELECT 1 FROM device_boots WHERE "site" = ? AND "device" = ? AND "boot" = ?',
                [*key, status.boot],
            )
            if returning:
                self._execute(
                    'UPDATE device_status SET "rival_boot" = ?, "rival_seen" = ? '
                    'WHERE "site" = ? AND "device" = ?',
                    [in_place, stamp(at), *key],
                )
        self._execute(
            'INSERT INTO device_boots ("site", "device", "boot", "first_seen") '
            'VALUES (?, ?, ?, ?) ON CONFLICT ("site", "device", "boot") DO NOTHING',
            [*key, status.boot, stamp(at)],
        )

    def broker_went_away(self, lost: datetime, since: datetime) -> None:
        with self._transaction():
            self._execute(
                'UPDATE device_status SET "broker_lost" = ? WHERE "will" = 1 '
                'AND "broker_lost" IS NULL AND "seen" >= ? AND "seen" <= ?',
                [stamp(lost), stamp(since), stamp(lost)],
            )

    def _note_first_punches(self, new: Iterable[schema.Event]) -> None:
        earliest: dict[str, str] = {}
        for event in new:
            if isinstance(event, schema.Punch):
                moment = stamp(event.ts)
                earliest[event.site] = min(earliest.get(event.site, moment), moment)
        self._execute_many(
            'INSERT INTO first_punches ("site", "at") VALUES (?, ?) ON CONFLICT ("site") '
            'DO UPDATE SET "at" = excluded."at" WHERE excluded."at" < first_punches."at"',
            sorted(earliest.items()),
        )

    def first_punches(self) -> dict[str, datetime]:
        rows = self._rows('SELECT "site", "at" FROM first_punches')
        return {site: unstamp(at) for site, at in rows}

    def events(
        self,
        start: datetime,
        end: datetime,
        *,
        staff: str | None = None,
        workstations: Iterable[tuple[str, str]] = (),
        kinds: Iterable[str] = (),
    ) -> list[schema.Event]:
        span = ['"at" >= ?', '"at" < ?']
        params: list[str] = [stamp(start), stamp(end)]
        kinds = list(kinds)
        if kinds:
            span.append(f'"kind" IN ({",".join("?" * len(kinds))})')
            params += kinds
        if staff is None:
            parts = [(span, params)]
        else:
            # One part per index: the person's own events, then each workstation's (those
            # naming nobody: told apart here, as a condition on that column would pick the
            # index of everyone's events of the span).
            parts = [(['"staff_id" = ?', *span], [staff, *params])]
            parts += [
                (['"site" = ?', '"device" = ?', *span], [site, device, *params])
                for site, device in workstations
            ]
        union = " UNION ALL ".join(
            f'SELECT "at", "id", "payload", "staff_id", {n} AS "part" FROM events '
            f"WHERE {' AND '.join(where)}"
            for n, (where, _) in enumerate(parts)
        )
        sql = f'SELECT "payload", "staff_id", "part" FROM ({union}) found ORDER BY "at", "id"'
        values = [value for _, part in parts for value in part]
        rows = self._rows(sql, values)
        return [schema.decode(p) for p, who, part in rows if part == 0 or who is None]

    def device_statuses(self) -> list[DeviceSeen]:
        arrived = self._rows(
            'SELECT e."payload", d."seen", d."broker_lost", d."rival_boot", d."rival_seen" '
            'FROM device_status d JOIN events e ON e."id" = d."event_id"'
        )
        found = {
            (status.site, status.device): DeviceSeen(
                status, _moment(seen), _moment(lost), rival, _moment(rival_seen)
            )
            for payload, seen, lost, rival, rival_seen in arrived
            if isinstance(status := schema.decode(payload), schema.Status)
        }
        latest_by_device_time = (
            "SELECT e.payload FROM events e JOIN (SELECT site, device, MAX(at) AS last "
            "FROM events WHERE kind = 'status' GROUP BY site, device) l "
            "ON e.site = l.site AND e.device = l.device AND e.at = l.last "
            "WHERE e.kind = 'status'"
        )
        for (payload,) in self._rows(latest_by_device_time):
            status = schema.decode(payload)
            assert isinstance(status, schema.Status)
            found.setdefault((status.site, status.device), DeviceSeen(status, status.ts))
        return [found[key] for key in sorted(found)]

    def statuses_near(self, punches: Iterable[NearPunch], reach: timedelta) -> list[schema.Status]:
        spans = [
            (site, device, span)
            for (site, device), times in sorted(_moments_by_device(punches).items())
            for span in union((t - reach, t + reach) for t in times)
        ]
        # One index range per span (a single WHERE with ORs would scan the device's rows).
        one = (
            'SELECT "payload" FROM events WHERE "kind" = \'status\' AND "site" = ? '
            'AND "device" = ? AND "at" >= ? AND "at" <= ?'
        )
        found: list[schema.Status] = []
        for chunk in (spans[i : i + BATCH // 5] for i in range(0, len(spans), BATCH // 5)):
            sql = " UNION ALL ".join([one] * len(chunk))
            params = [
                v for site, device, (a, b) in chunk for v in (site, device, stamp(a), stamp(b))
            ]
            found += [schema.decode(p) for (p,) in self._rows(sql, params)]
        return sorted(found, key=lambda s: (s.ts, s.id))

    # -- retention -------------------------------------------------------------------
    def prune_events(self, month: str) -> int:
        # A day's margin: a site east of UTC starts `month` up to 14 hours before it does.
        before = datetime.fromisoformat(f"{month}-01T00:00:00+00:00") - timedelta(days=1)
        with self._transaction():
            self._execute(
                'INSERT INTO retention ("what", "horizon") VALUES (?, ?) '
                'ON CONFLICT ("what") DO UPDATE SET "horizon" = excluded."horizon" '
                'WHERE excluded."horizon" > retention."horizon"',
                ["events", month],
            )
            return self._execute('DELETE FROM events WHERE "at" < ?', [stamp(before)]).rowcount

    def horizon(self) -> str | None:
        found = self._rows('SELECT "horizon" FROM retention WHERE "what" = ?', ["events"])
        return found[0][0] if found else None

    # -- pending recomputations ------------------------------------------------------
    def _mark_pending(self, marks: Iterable[PersonMonth]) -> None:
        self._execute_many(
            'INSERT INTO pending ("staff_id", "month", "n") VALUES (?, ?, 1) '
            'ON CONFLICT ("staff_id", "month") DO UPDATE SET "n" = pending."n" + 1',
            list(marks),
        )

    def pending(self, limit: int = 1000) -> list[PersonMonth]:
        sql = (
            'SELECT "staff_id", "month" FROM pending UNION '
            'SELECT "staff_id", "month" FROM pending_days ORDER BY 2, 1 LIMIT ?'
        )
        return [(staff, month) for staff, month in self._rows(sql, [limit])]

    @contextmanager
    def recomputing(self, staff: str, month: str, *, wait: bool = True) -> Iterator[Marks]:
        with self._transaction():
            if not self._hold(month, staff, wait):
                yield NO_MARKS
                return
            marks = self._marks(staff, month)
            yield marks
            self._clear_marks(staff, month, marks)

    @contextmanager
    def recomputing_month(self, month: str) -> Iterator[None]:
        with self._transaction():
            self._hold(month, None)
            yield

    # -- dead letters ----------------------------------------------------------------
    def add_dead_letter(self, row: DeadLetterRow) -> None:
        with self._transaction():
            self._execute(
                _insert("dead_letters", ("received", "topic", "reason", "payload")),
                [
                    row.received.isoformat(),
                    row.topic,
                    row.reason,
                    row.payload[:DEAD_LETTER_PAYLOAD_CHARS],
                ],
            )
            # `n` only grows (rows go oldest first), so MAX(n) - COUNT(*) is what was dropped.
            self._execute(
                "DELETE FROM dead_letters WHERE n <= (SELECT MAX(n) FROM dead_letters) - ?",
                [self.dead_letter_cap],
            )

    def dead_letters(self, limit: int = 100) -> list[DeadLetterRow]:
        rows = self._rows(
            "SELECT received, topic, reason, payload FROM dead_letters ORDER BY n DESC LIMIT ?",
            [limit],
        )
        return [DeadLetterRow(datetime.fromisoformat(r[0]), r[1], r[2], r[3]) for r in rows]

    def dead_letter_counts(self) -> tuple[int, int]:
        [(kept, last)] = self._rows("SELECT COUNT(*), MAX(n) FROM dead_letters")
        return kept, (last or 0) - kept

    # -- manager actions ---------------------------------------------------------------
    def add_action(self, action: ManagerAction) -> None:
        with self._transaction():
            self._add_actions([action])

    def _add_actions(self, actions: Sequence[ManagerAction]) -> None:
        rows = [_action_row(action) for action in actions]
        self._execute_many(
            _insert("actions", ACTION_COLUMNS), [[row[c] for c in ACTION_COLUMNS] for row in rows]
        )

    def actions(self) -> list[ManagerAction]:
        return self._actions("1 = 1", ())

    def _actions(self, where: str, params: Sequence[Any]) -> list[ManagerAction]:
        sql = (
            f'SELECT {_names(ACTION_COLUMNS)} FROM actions WHERE {where} ORDER BY "ts", "action_id"'
        )
        rows = self._rows(sql, params)
        return [_action_of(dict(zip(ACTION_COLUMNS, r, strict=True))) for r in rows]

    # -- correction numbers ----------------------------------------------------------------
    def numbers(self, month: str) -> dict[str, dict[str, int]]:
        rows = self._rows(
            'SELECT "staff_id", "violation_id", "number" FROM numbers WHERE "month" = ?', [month]
        )
        found: dict[str, dict[str, int]] = defaultdict(dict)
        for staff, violation_id, number in rows:
            found[staff][violation_id] = number
        return dict(found)

    def keep_numbers(self, staff: str, month: str, numbers: Mapping[str, int]) -> None:
        with self._transaction():
            self._execute_many(
                'INSERT INTO numbers ("violation_id", "staff_id", "month", "number") '
                'VALUES (?, ?, ?, ?) ON CONFLICT ("violation_id") DO NOTHING',
                [[vid, staff, month, n] for vid, n in sorted(numbers.items())],
            )

    # -- violations --------------------------------------------------------------------
    def replace_violations(
        self, staff: str, month: str, records: Sequence[ViolationRecord]
    ) -> tuple[list[ViolationRecord], list[ViolationRecord]]:
        updates = ", ".join(f'"{c}" = excluded."{c}"' for c in VIOLATION_COLUMNS[1:])
        upsert = f'{_insert("violations", VIOLATION_COLUMNS)} ON CONFLICT ("violation_id") '
        with self._transaction():
            before = {v.violation_id: v for v in self.violations(month=month, staff=staff)}
            after = {r.violation_id: r for r in records}
            changed = [r for r in records if before.get(r.violation_id) != r]
            withdrawn = [v for vid, v in before.items() if vid not in after]
            self._execute_many(
                'DELETE FROM violations WHERE "violation_id" = ?',
                [[gone.violation_id] for gone in withdrawn],
            )
            self._execute_many(
                f"{upsert} DO UPDATE SET {updates}",
                [[_violation_row(r)[c] for c in VIOLATION_COLUMNS] for r in changed],
            )
            if changed or withdrawn:
                self._keep_tally(staff, month, records)
        return changed, withdrawn

    def violations(
        self,
        *,
        month: str | None = None,
        day: date | None = None,
        staff: str | None = None,
        site: str | None = None,
    ) -> list[ViolationRecord]:
        clauses = {
            '"month" = ?': month,
            '"day" = ?': day.isoformat() if day else None,
            '"staff_id" = ?': staff,
            '"site" = ?': site,
        }
        where = " AND ".join(k for k, v in clauses.items() if v is not None) or "1 = 1"
        params = [v for v in clauses.values() if v is not None]
        sql = (
            f"SELECT {_names(VIOLATION_COLUMNS)} FROM violations WHERE {where} "
            'ORDER BY "staff_id", "at", "rule"'
        )
        return self._violations(sql, params)

    def violation(self, violation_id: str) -> ViolationRecord | None:
        sql = f'SELECT {_names(VIOLATION_COLUMNS)} FROM violations WHERE "violation_id" = ?'
        found = self._violations(sql, [violation_id])
        return found[0] if found else None

    def violations_named(self, ids: Iterable[str]) -> list[ViolationRecord]:
        wanted = sorted(set(ids))
        found = []
        for chunk in (wanted[i : i + BATCH] for i in range(0, len(wanted), BATCH)):
            sql = (
                f"SELECT {_names(VIOLATION_COLUMNS)} FROM violations "
                f'WHERE "violation_id" IN ({", ".join("?" * len(chunk))})'
            )
            found += self._violations(sql, chunk)
        return sorted(found, key=lambda v: (v.staff_id, v.at, v.rule))

    def _violations(self, sql: str, params: Sequence[Any]) -> list[ViolationRecord]:
        rows = self._rows(sql, params)
        return [_violation_of(dict(zip(VIOLATION_COLUMNS, r, strict=True))) for r in rows]


class SqliteStore(SqlStore):
    """The default store: one private (0600) WAL SQLite file, for one service instance.

    `BEGIN IMMEDIATE` takes SQLite's single write lock, so a transaction (a recomputation
    included) also excludes other processes on the file, such as manager commands.
    """

    begin = "BEGIN IMMEDIATE"

    def __init__(self, path: str | Path, *, synchronous: str = "FULL") -> None:
        super().__init__()
        self.path = Path(path)
        self.db: sqlite3.Connection = connect_private(self.path, synchronous=synchronous)
        # Files made by earlier versions (sqlite-utils tables) have the same tables.
        self._create(
            tables("TEXT", "FLOAT", "INTEGER PRIMARY KEY")
            + gallery_tables("TEXT", "BLOB", "INTEGER PRIMARY KEY")
            + patrol_tables("TEXT", "BLOB")
            + request_tables("TEXT")
            + roster_tables("TEXT")
            + account_tables("TEXT", "INTEGER PRIMARY KEY")
            + notify_tables("TEXT", "INTEGER PRIMARY KEY")
            + alert_tables("TEXT")
            + delivery_tables("TEXT", "INTEGER"),
            later_versions("TEXT", "FLOAT", "INTEGER"),
            "TEXT",
        )

    def _connection(self) -> sqlite3.Connection:
        return self.db

    def _schema_name(self) -> str:
        return f"the rules database {self.path}"

    def _hold(self, month: str, staff: str | None, wait: bool = True) -> bool:
        """Nothing more to take: the transaction holds the database's write lock."""
        return True

    def close(self) -> None:
        with self._lock:  # never under a query another thread runs
            self.db.close()
