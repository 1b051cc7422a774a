"""Backing up and restoring the rules store on SQLite (PostgreSQL: pg_dump, pg_restore).

A backup is taken with SQLite's online backup API: one consistent copy, as of the moment
it begins, while the service goes on ingesting (WAL readers do not stop writers). It is
written beside its destination, checked, and renamed over it, private (0600) throughout.
A restore copies the backup the same way, brings it to the code's schema version, and
replaces the store's file; it refuses a store another process has open (the running
service would go on writing to the file it holds, and everything since would be lost)
unless forced. See docs/operations.md, "Backups".
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from contextlib import closing, suppress
from pathlib import Path

from base.errors import HallwatchError
from base.migrations import SchemaError
from rules.store import EVENT_COLUMNS, VIOLATION_COLUMNS, SqliteStore


class BackupError(HallwatchError):
    """A backup or restore not done, with the reason; nothing was replaced."""


def in_use(path: Path) -> bool:
    """Whether another connection (the service, a manager command) has `path` open: in WAL
    mode every open connection holds a shared lock, so an exclusive one is refused."""
    with closing(sqlite3.connect(path, timeout=0, isolation_level=None)) as probe:
        probe.execute("PRAGMA locking_mode=EXCLUSIVE")
        try:
            probe.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError:
            return True
        probe.execute("ROLLBACK")
        return False


def _copy(source: Path, target: Path) -> Path:
    """A consistent copy of `source`, staged private beside `target` (the caller renames
    it into place or removes it)."""
    fd, staged = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    os.close(fd)  # mkstemp made it 0600; SQLite writes it through its own descriptor
    try:
        with (
            closing(sqlite3.connect(source, isolation_level=None)) as src,
            closing(sqlite3.connect(staged)) as dst,
        ):
            src.backup(dst)  # all pages in one step: one read transaction, one snapshot
            [(verdict,)] = dst.execute("PRAGMA integrity_check").fetchall()
        if verdict != "ok":
            raise BackupError(f"the copy of {source} is damaged ({verdict}); nothing replaced")
    except BaseException:
        _remove(Path(staged))
        raise
    return Path(staged)


def _check_rules_store(path: Path, named: Path) -> None:
    """Refuse a file that is not a rules store of any version (its core tables' columns)."""
    with closing(sqlite3.connect(path)) as db:
        for table, columns in (("events", EVENT_COLUMNS), ("violations", VIOLATION_COLUMNS)):
            present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            if missing := [c for c in columns if c not in present]:
                raise BackupError(
                    f"{named} is no rules database: its {table} table lacks {', '.join(missing)}"
                )


def _remove(path: Path) -> None:
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        with suppress(FileNotFoundError):
            name.unlink()


def _exists(path: Path, what: str) -> None:
    if not path.is_file():
        raise BackupError(f"no {what} at {path}")


def backup(database: Path, target: Path) -> None:
    """Copy the store at `database` to `target` (replaced if there), consistently while
    the service writes."""
    _exists(database, "rules database")
    if target.resolve() == database.resolve():
        raise BackupError(f"{target} is the rules database itself: back it up to another file")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        staged = _copy(database, target)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot back up {database} to {target}: {exc}") from None
    os.replace(staged, target)
    _sync_dir(target.parent)


def restore(backup_file: Path, database: Path, *, force: bool = False) -> None:
    """Make `database` a copy of `backup_file` at the code's schema version."""
    _exists(backup_file, "backup")
    database.parent.mkdir(parents=True, exist_ok=True)
    if database.exists() and in_use(database) and not force:
        raise BackupError(
            f"{database} is open in another process (the rules service, or a manager "
            "command): stop the service first (systemctl stop hallwatch-rules), then restore "
            "and start it again. --force restores anyway, and a service still running keeps "
            "writing to the file it has open: whatever it stores from then on is lost."
        )
    try:
        staged = _copy(backup_file, database)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot restore {backup_file}: {exc}") from None
    try:
        _check_rules_store(staged, backup_file)
        SqliteStore(staged).close()  # brought to this code's schema version
    except (SchemaError, sqlite3.Error, BackupError) as exc:
        _remove(staged)
        raise BackupError(f"cannot restore {backup_file}: {exc}") from None
    # The old file's write-ahead log must go first: left beside the new file, SQLite would
    # replay it into it.
    for side in ("-wal", "-shm"):
        with suppress(FileNotFoundError):
            Path(f"{database}{side}").unlink()
    os.replace(staged, database)
    _sync_dir(database.parent)


def _sync_dir(directory: Path) -> None:
    """Make a rename in `directory` survive a power cut."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
