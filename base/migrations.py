"""Schema versions: every store's ordered migrations, applied on start in one transaction.

Each database keeps the versions it went through in a `schema_version` table (one row per
migration applied: its number, what it did, when), the same on SQLite and PostgreSQL. On
opening, `migrate` reads the highest version in one transaction and applies the store's
migrations after it, in order, recording each. A database newer than the code is refused
(nothing is ever downgraded); a migration that fails, or a process killed or a power cut
in the middle of one, leaves the database as it was before it began (SQLite and
PostgreSQL both roll back schema changes with the transaction).

A database made before versions were kept has no `schema_version` rows: it is at version
0, and every store's migration 1 makes the schema of the first versioned release out of
whatever is there (it creates what is missing, adds the columns earlier releases lacked),
so a new file and a file of any earlier release both end at version 1. A later change to
a schema is a new migration appended to the store's list, never an edit of an old one;
tests/fixtures/stores/ keeps a database of each released version to migrate from.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from base import __version__
from base.errors import HallwatchError

VERSION_TABLE = (
    'CREATE TABLE IF NOT EXISTS schema_version ("version" INTEGER PRIMARY KEY, '
    '"description" TEXT NOT NULL, "applied" TEXT NOT NULL)'
)


@dataclass(frozen=True, slots=True)
class Database:
    """What migrating needs of a database: how messages name it, a statement with `?`
    parameters (returning a cursor), and a write transaction that rolls back on error."""

    name: str
    execute: Callable[..., Any]
    transaction: Callable[[], AbstractContextManager[Any]]


Step = str | Callable[[Database], None]


@dataclass(frozen=True, slots=True)
class Migration:
    """Version `version` of a schema: `steps` (statements, or functions of the database
    for what SQL alone cannot say) bring it from the version before."""

    version: int
    description: str
    steps: Sequence[Step]


class SchemaError(HallwatchError):
    """A database this code cannot use as it is: newer than the code, or a migration
    failed (the message says which, and that the database was left unchanged)."""


def latest(migrations: Sequence[Migration]) -> int:
    """The version the code makes; checks the list is 1, 2, 3, ... in order."""
    numbers = [m.version for m in migrations]
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f"migrations must be numbered 1, 2, 3, ... in order, not {numbers}")
    return len(numbers)


def version_of(db: Database) -> int:
    """The highest version recorded (0: made before versions were kept, or new). Inside
    a transaction: creates the (empty) version table if it is missing."""
    db.execute(VERSION_TABLE)
    [(found,)] = db.execute('SELECT MAX("version") FROM schema_version').fetchall()
    return int(found or 0)


def migrate(db: Database, migrations: Sequence[Migration]) -> int:
    """Bring `db` to the last of `migrations`, all in one transaction; returns the version
    it was at. Refuses (SchemaError) a database newer than the code."""
    target = latest(migrations)
    with db.transaction():
        found = version_of(db)
        if found > target:
            raise SchemaError(
                f"{db.name} is at schema version {found}, newer than this hallwatch "
                f"({__version__}) knows: it makes version {target}. A newer release upgraded "
                "it; install that release (or a later one) again, or restore the backup taken "
                "before the upgrade. Nothing was changed."
            )
        for migration in migrations[found:]:
            try:
                for step in migration.steps:
                    if isinstance(step, str):
                        db.execute(step)
                    else:
                        step(db)
            except Exception as exc:
                raise SchemaError(
                    f"{db.name}: migrating to schema version {migration.version} "
                    f"({migration.description}) failed: {exc}. The database was left at "
                    f"version {found}, unchanged; report this with the file or a backup."
                ) from exc
            db.execute(
                'INSERT INTO schema_version ("version", "description", "applied") VALUES (?, ?, ?)',
                [migration.version, migration.description, datetime.now(UTC).isoformat()],
            )
    return found


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def sqlite_database(conn: sqlite3.Connection, name: str) -> Database:
    """A SQLite connection in autocommit mode (as `connect_private` opens them)."""
    return Database(name, conn.execute, lambda: _immediate(conn))
