"""Backups of the rules store: `hallwatch rules backup/restore` on SQLite (consistent while
the service writes, private, refused over a store in use), pg_dump/pg_restore on
PostgreSQL as docs/operations.md shows them."""

from __future__ import annotations

import re
import shutil
import sqlite3
import stat
import subprocess
import threading
from contextlib import closing
from pathlib import Path

import pytest

from rules.store import SqliteStore
from tests.command_helpers import run_hallwatch
from tests.conftest import REPO
from tests.rules_helpers import clock
from tests.store_fixtures import pg_rows, sqlite_rows
from tests.support.postgres import SERVER

V1_RULES = REPO / "tests" / "fixtures" / "stores" / "v1" / "rules.db"


class Writer(threading.Thread):
    """The service ingesting: events stored one small batch after another, each id noted
    once its transaction committed."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.store = SqliteStore(path)
        self.committed: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            batch = [clock("09:00", staff=f"S{n}-{i}") for i in range(20)]
            self.store.add_events(batch)
            self.committed += [e.id for e in batch]
            n += 1

    def finish(self) -> None:
        self.stop.set()
        self.join(10)
        self.store.close()


def event_ids(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as db:
        return {i for (i,) in db.execute("SELECT id FROM events")}


def integrity(path: Path) -> str:
    with closing(sqlite3.connect(path)) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_backup_taken_while_the_service_writes_is_whole_and_consistent(tmp_path):
    db, copy = tmp_path / "rules.db", tmp_path / "backups" / "rules-today.db"
    shutil.copyfile(V1_RULES, db)
    writer = Writer(db)
    writer.start()
    try:
        while len(writer.committed) < 200:
            threading.Event().wait(0.01)
        before = set(writer.committed)
        done = run_hallwatch("rules", "backup", str(copy), "--db", str(db))
        during = len(writer.committed) - len(before)
    finally:
        writer.finish()
    assert done.returncode == 0, done.stderr
    assert during > 0  # the service went on storing while the copy was taken
    assert integrity(copy) == "ok" and private(copy)
    copied = event_ids(copy)
    assert before <= copied  # everything committed before the backup began
    assert copied <= event_ids(db)  # and nothing that was not committed
    assert {row[0] for row in sqlite_rows(V1_RULES)["events"]} <= copied
    assert not list(copy.parent.glob("*.partial"))


def test_a_restore_brings_back_every_row_of_the_backup(tmp_path):
    db, copy = tmp_path / "rules.db", tmp_path / "rules-backup.db"
    shutil.copyfile(V1_RULES, db)
    SqliteStore(db).close()  # brought to this version's schema, then backed up
    assert run_hallwatch("rules", "backup", str(copy), "--db", str(db)).returncode == 0
    backed_up = sqlite_rows(copy)
    store = SqliteStore(db)  # the day goes on after the backup, then the file is lost
    store.add_events([clock("10:00", staff="S-after")])
    store._execute("DELETE FROM violations")
    store.close()
    done = run_hallwatch("rules", "restore", str(copy), "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert sqlite_rows(db) == backed_up
    assert private(db) and integrity(db) == "ok"
    assert not Path(f"{db}-wal").exists()


def test_a_restore_over_a_store_in_use_is_refused_unless_forced(tmp_path):
    db, copy = tmp_path / "rules.db", tmp_path / "rules-backup.db"
    shutil.copyfile(V1_RULES, db)
    SqliteStore(db).close()  # brought to this version's schema, then backed up
    assert run_hallwatch("rules", "backup", str(copy), "--db", str(db)).returncode == 0
    service = SqliteStore(db)
    try:
        service.add_events([clock("10:00", staff="S-after")])
        refused = run_hallwatch("rules", "restore", str(copy), "--db", str(db))
        assert refused.returncode != 0
        assert "open in another process" in refused.stderr and "--force" in refused.stderr
        assert "S-after" in {row[4] for row in sqlite_rows(db)["events"]}  # untouched
        forced = run_hallwatch("rules", "restore", str(copy), "--db", str(db), "--force")
        assert forced.returncode == 0, forced.stderr
    finally:
        service.close()
    assert sqlite_rows(db) == sqlite_rows(copy) and private(db)


def test_a_backup_that_is_no_rules_store_is_not_restored(tmp_path):
    db, bogus = tmp_path / "rules.db", tmp_path / "notes.db"
    shutil.copyfile(V1_RULES, db)
    with closing(sqlite3.connect(bogus)) as other, other:
        other.execute("CREATE TABLE events (x)")  # a table of the name, another shape
    before = sqlite_rows(db)
    refused = run_hallwatch("rules", "restore", str(bogus), "--db", str(db))
    assert refused.returncode != 0 and f"cannot restore {bogus}" in refused.stderr
    assert sqlite_rows(db) == before
    assert not list(tmp_path.glob("*.partial"))


def test_the_commands_send_a_postgresql_store_to_pg_dump(postgres_url):
    refused = run_hallwatch("rules", "backup", "x.dump", "--db", postgres_url)
    assert refused.returncode != 0
    assert "pg_dump" in refused.stderr and "docs/operations.md" in refused.stderr


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed here")
def test_postgresql_backup_and_restore_as_documented(postgres_url, tmp_path):
    """The commands of docs/operations.md (Backups), run on a scratch schema."""
    from rules.pgstore import PostgresStore
    from tests.store_fixtures import load_pg_dump

    load_pg_dump(REPO / "tests" / "fixtures" / "stores" / "v1" / "rules.pg.sql", postgres_url)
    PostgresStore(postgres_url).close()
    backed_up = pg_rows(postgres_url)
    schema = re.search(r"search_path%3D(\w+)", postgres_url)[1]
    dump = tmp_path / "rules.dump"
    documented = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    assert "pg_dump --format=custom --file" in documented
    assert "pg_restore --clean --if-exists --no-owner --dbname" in documented
    subprocess.run(
        ["pg_dump", "--format=custom", "--file", str(dump), "--schema", schema, SERVER],
        check=True,
    )
    store = PostgresStore(postgres_url)  # the day goes on, then the database is lost
    store.add_events([clock("10:00", staff="S-after")])
    store._execute("DELETE FROM violations")
    store.close()
    subprocess.run(
        ["pg_restore", "--clean", "--if-exists", "--no-owner", "--dbname", SERVER, str(dump)],
        check=True,
    )
    assert pg_rows(postgres_url) == backed_up
    PostgresStore(postgres_url).close()  # and the service opens it
