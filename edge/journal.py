"""The device journal: every event is written to local SQLite before it is published.

The journal assigns each event its per-device `seq` (monotonic, persistent across
restarts) and keeps its unique `id`, so a restart after SIGKILL republishes the very
same event, never a new copy. Unsent punches and alerts are never dropped; when the file
reaches its size bound (or the disk is full), sent events go first, then the oldest
unsent activity intervals, and a `disk_full` alert is journaled so the centre knows.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import msgspec

from base.errors import HallwatchError
from base.migrations import Migration, migrate, sqlite_database
from base.private_files import PRIVATE_MODE, connect_private
from mqtt import schema
from mqtt.ids import utc_now
from mqtt.topics import Kind

# Lower drains first: punches and alerts before anything else, activity last.
PRIORITY: dict[Kind, int] = {
    Kind.CLOCK: 0,
    Kind.ALERT: 0,
    Kind.ENROLMENT: 0,  # templates enrolled here: lost, the person enrols again
    Kind.ACK: 1,
    Kind.RESENT: 1,  # the answer to a resend request: what it sent, what it lost
    Kind.STATUS: 1,
    Kind.ACTIVITY: 2,
}
DROPPABLE_KIND = Kind.ACTIVITY
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_RETENTION = timedelta(days=7)
RESERVE_BYTES = 1024 * 1024
DELETE_CHUNK = 200
WAL_CHECKPOINT_PAGES = 64
WAL_SIZE_LIMIT = 512 * 1024
# At most one disk_full alert per this period, so a full disk does not flood the backlog.
ALERT_PERIOD = timedelta(minutes=10)

# Version 1: the journal as the first versioned release made it (and any before).
MIGRATIONS = (
    Migration(
        1,
        "events with their seq, priority and sent time; the next seq",
        [
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
            """CREATE TABLE IF NOT EXISTS events (
                seq INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                kind TEXT NOT NULL,
                priority INTEGER NOT NULL,
                payload BLOB NOT NULL,
                created TEXT NOT NULL,
                sent TEXT
            )""",
            "CREATE INDEX IF NOT EXISTS events_unsent ON events (priority, seq) WHERE sent IS NULL",
            "CREATE INDEX IF NOT EXISTS events_sent ON events (sent) WHERE sent IS NOT NULL",
            "INSERT OR IGNORE INTO meta VALUES ('next_seq', 1)",
        ],
    ),
)


class JournalError(HallwatchError, RuntimeError):
    """The journal cannot take an event; the caller must tell the person it was not recorded."""


class JournalFull(JournalError):
    """No room even after dropping everything droppable: the event was NOT recorded."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One journaled event as the publisher sends it."""

    seq: int
    id: str
    kind: Kind
    payload: bytes


class Journal:
    """A private (0600, WAL, synchronous FULL) SQLite journal of one device's events.

    Thread-safe: the station or agent appends while the publisher drains.
    """

    def __init__(
        self,
        path: str | Path,
        site: str,
        device: str,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        retention: timedelta = DEFAULT_RETENTION,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.path = Path(path)
        self.site = site
        self.device = device
        self.retention = retention
        self._now = now
        self._lock = threading.RLock()
        self._appended = threading.Condition(self._lock)
        self._last_alert: datetime | None = None
        self.dropped = 0  # unsent activity intervals dropped to make room, this process
        try:
            self._db = connect_private(self.path, synchronous="FULL")
            migrate(sqlite_database(self._db, f"the event journal {self.path}"), MIGRATIONS)
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(f"cannot open the event journal {self.path}: {exc}") from None
        # A small WAL, checkpointed often: on a full disk a large WAL could not be
        # checkpointed into the database file any more.
        self._db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        self._db.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        page_size = self._db.execute("PRAGMA page_size").fetchone()[0]
        # The bound is enforced by SQLite itself, so it holds however events arrive.
        self._max_pages = max(max_bytes // page_size, 16)
        self._db.execute(f"PRAGMA max_page_count={self._max_pages}")
        # Space set aside on disk: when the disk fills up, deleting rows still needs room
        # in the WAL, and this file's removal provides it.
        self._reserve = Path(f"{self.path}-reserve")
        self._reserve_bytes = min(RESERVE_BYTES, max_bytes // 8)
        self._ensure_reserve()

    # -- writing ---------------------------------------------------------------------
    def append(self, event: schema.Event) -> schema.Event:
        """Record `event` durably with the next seq; return it as it will be published.

        Raises JournalFull if there is no room even after dropping sent events and unsent
        activity: the caller must then report that the event was not recorded.
        """
        if (event.site, event.device) != (self.site, self.device):
            raise JournalError(
                f"event from {event.site}/{event.device} offered to the journal of "
                f"{self.site}/{self.device}"
            )
        kind = schema.kind_of(event)
        if kind not in PRIORITY:
            raise JournalError(f"a device does not journal {kind} events")
        with self._lock:
            try:
                stored = self._insert(event, kind)
            except sqlite3.OperationalError as exc:
                if not _is_full(exc):
                    raise JournalError(f"journal write failed: {exc}") from None
                stored = self._insert_after_making_room(event, kind)
            self._appended.notify_all()
            return stored

    def _insert(self, event: schema.Event, kind: Kind) -> schema.Event:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            existing = db.execute("SELECT payload FROM events WHERE id = ?", (event.id,)).fetchone()
            if existing is not None:  # the same event offered twice keeps its first seq
                db.execute("ROLLBACK")
                return schema.decode(existing[0])
            seq = db.execute("SELECT value FROM meta WHERE key = 'next_seq'").fetchone()[0]
            stored = msgspec.structs.replace(event, seq=seq)
            db.execute(
                "INSERT INTO events (seq, id, kind, priority, payload, created)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    seq,
                    event.id,
                    str(kind),
                    PRIORITY[kind],
                    schema.encode(stored),
                    _iso(self._now()),
                ),
            )
            db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (seq + 1,))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return stored

    def _insert_after_making_room(self, event: schema.Event, kind: Kind) -> schema.Event:
        """Free space step by step (sent events, then the oldest unsent activity) and retry."""
        disk_full = self._stop_growing()
        try:
            freed_sent = 0
            while deleted := self._delete_oldest("sent IS NOT NULL", ()):
                freed_sent += deleted
            dropped = 0
            while True:
                try:
                    stored = self._insert(event, kind)
                    break
                except sqlite3.OperationalError as exc:
                    if not _is_full(exc):
                        raise JournalError(f"journal write failed: {exc}") from None
                more = self._drop_oldest_activity()
                if more == 0:
                    self._raise_full_alert(freed_sent, dropped, disk_full=True)
                    raise JournalFull(
                        f"the event journal {self.path} is full (disk or size bound) and "
                        f"nothing more can be dropped: this {kind} event was NOT recorded; "
                        "free disk space"
                    )
                dropped += more
        except sqlite3.OperationalError as exc:  # even deleting needs room on disk
            raise JournalFull(
                f"the disk holding the event journal {self.path} is full ({exc}): this {kind} "
                "event was NOT recorded; free disk space"
            ) from None
        if disk_full or dropped:
            self._raise_full_alert(freed_sent, dropped, disk_full=disk_full)
        return stored

    def _ensure_reserve(self) -> None:
        """(Re)create the reserve file if the disk has room; then let the file grow again."""
        if not self._reserve.exists():
            try:
                # Private like the journal: nothing else in the data directory is writable.
                fd = os.open(self._reserve, os.O_CREAT | os.O_WRONLY, PRIVATE_MODE)
                try:
                    os.posix_fallocate(fd, 0, self._reserve_bytes)
                finally:
                    os.close(fd)
            except OSError:
                self._reserve.unlink(missing_ok=True)  # no room yet: retry at the next prune
                return
        self._db.execute(f"PRAGMA max_page_count={self._max_pages}")

    def _stop_growing(self) -> bool:
        """If the disk is full (rather than the file at its bound), stop the file growing:
        from now on space is made inside it, as at the bound, and the reserve gives the
        checkpoints the little room they still need. Returns whether the disk was full."""
        if self._at_bound():
            return False
        self._reserve.unlink(missing_ok=True)
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        self._db.execute(f"PRAGMA max_page_count={pages}")
        return True

    def _at_bound(self) -> bool:
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        return pages >= self._db.execute("PRAGMA max_page_count").fetchone()[0] - 1

    def _drop_oldest_activity(self) -> int:
        dropped = self._delete_oldest("sent IS NULL AND kind = ?", (DROPPABLE_KIND,))
        self.dropped += dropped
        return dropped

    def _delete_oldest(self, where: str, params: tuple) -> int:
        """Delete a chunk of the oldest matching events, then checkpoint.

        Small chunks and a checkpoint after each keep the WAL from growing, which a full
        disk could not allow.
        """
        deleted = self._db.execute(
            f"DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE {where}"
            f" ORDER BY seq LIMIT {DELETE_CHUNK})",
            params,
        ).rowcount
        self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        return deleted

    def _raise_full_alert(self, freed_sent: int, dropped: int, *, disk_full: bool) -> None:
        now = self._now()
        if self._last_alert is not None and now - self._last_alert < ALERT_PERIOD:
            return
        where = "disk full" if disk_full else "at its size bound"
        message = (
            f"event journal {where}: removed {freed_sent} sent events, dropped {dropped} "
            "unsent activity intervals; punches are kept"
        )
        alert = schema.new_event(
            schema.Alert,
            self.site,
            self.device,
            now,
            kind=schema.AlertKind.DISK_FULL,
            severity=schema.Severity.SERIOUS if dropped else schema.Severity.MINOR,
            message=message[:200],
        )
        try:
            self._insert(alert, Kind.ALERT)
            self._last_alert = now
        except sqlite3.OperationalError:
            pass  # no room even for the alert: the caller's JournalFull reports it instead

    # -- draining --------------------------------------------------------------------
    def pending(self, limit: int, exclude: set[int] | frozenset[int] = frozenset()) -> list[Entry]:
        """Unsent events in drain order (punches and alerts first, then by seq)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, id, kind, payload FROM events WHERE sent IS NULL"
                " ORDER BY priority, seq LIMIT ?",
                (limit + len(exclude),),
            ).fetchall()
        entries = [Entry(seq, id_, Kind(kind), bytes(p)) for seq, id_, kind, p in rows]
        return [e for e in entries if e.seq not in exclude][:limit]

    def mark_sent(self, seqs: list[int]) -> None:
        """Record the broker's acknowledgement of these events."""
        if not seqs:
            return
        with self._lock:
            try:
                sent = _iso(self._now())
                self._write("UPDATE events SET sent = ? WHERE seq = ?", [(sent, s) for s in seqs])
            except sqlite3.OperationalError as exc:
                if not _is_full(exc):
                    raise
                # Marking needs room a full journal may not have, and without it nothing
                # could ever be freed. An acknowledged event need not be kept: delete it.
                disk_full = self._stop_growing()
                self._write("DELETE FROM events WHERE seq = ?", [(s,) for s in seqs])
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                self._raise_full_alert(len(seqs), 0, disk_full=disk_full)

    def resend(self, first: int, last: int) -> tuple[int, list[tuple[int, int]]]:
        """Send `first`..`last` again: the entries held are marked unsent, so the publisher
        publishes them once more. Returns how many, and the parts of the range this
        journal no longer holds (pruned, or dropped when it was full)."""
        with self._lock:
            held = [
                seq
                for (seq,) in self._db.execute(
                    "SELECT seq FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq", (first, last)
                )
            ]
            self._write(
                "UPDATE events SET sent = NULL WHERE seq BETWEEN ? AND ? AND sent IS NOT NULL",
                [(first, last)],
            )
            self._appended.notify_all()  # the publisher: there is work again
        missing, expected = [], first
        for seq in [*held, last + 1]:
            if seq > expected:
                missing.append((expected, seq - 1))
            expected = seq + 1
        return len(held), missing

    def _write(self, sql: str, rows: list[tuple]) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(sql, rows)
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def wait_for_append(self, timeout_s: float) -> None:
        """Block until an event is appended or `timeout_s` passes."""
        with self._lock:
            self._appended.wait(timeout_s)

    def prune(self) -> int:
        """Delete acknowledged events older than the retention period; return how many."""
        cutoff = _iso(self._now() - self.retention)
        with self._lock:
            self._ensure_reserve()
            return self._db.execute(
                "DELETE FROM events WHERE sent IS NOT NULL AND sent < ?", (cutoff,)
            ).rowcount

    # -- inspection ------------------------------------------------------------------
    def backlog(self) -> int:
        """How many events wait for the broker's acknowledgement."""
        with self._lock:
            return self._db.execute("SELECT count(*) FROM events WHERE sent IS NULL").fetchone()[0]

    def events(self) -> list[schema.Event]:
        """Every event still in the journal, in seq order (for inspection and tests)."""
        with self._lock:
            rows = self._db.execute("SELECT payload FROM events ORDER BY seq").fetchall()
        return [schema.decode(bytes(r[0])) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_full(exc: sqlite3.OperationalError) -> bool:
    # SQLITE_FULL: the disk is full or max_page_count (our size bound) is reached.
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "full" in str(exc)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")
