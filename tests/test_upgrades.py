"""Upgrades: every store opens the databases released versions made (tests/fixtures/stores)
and files from before versions were kept, finds every row, refuses a database newer than
the code, and a migration that fails (or a power cut during one) changes nothing."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from base.migrations import Migration, SchemaError, migrate, sqlite_database
from drivers.fingerprint.registry import MIGRATIONS as FINGER_MIGRATIONS
from drivers.fingerprint.registry import FingerRegistry
from edge.journal import MIGRATIONS as JOURNAL_MIGRATIONS
from edge.journal import Journal
from edge.station.gallery_sync import MIGRATIONS as STAFF_MIGRATIONS
from edge.station.gallery_sync import StationGallery
from models.gallery import MIGRATIONS as GALLERY_MIGRATIONS
from models.gallery import Gallery
from mqtt import schema
from rules.backend import open_store
from rules.pgstore import PostgresStore
from rules.store import SqliteStore, later_versions
from rules.tally import tallies
from tests.conftest import REPO
from tests.store_fixtures import FIXTURES, Rows, load_pg_dump, pg_rows, sqlite_rows

V1 = FIXTURES / "v1"
RULES_VERSION = 1 + len(
    later_versions("TEXT", "FLOAT", "INTEGER")
)  # what the code makes of a store


# -- opening a station's files ----------------------------------------------------------
def open_journal(path: Path) -> Journal:
    with closing(sqlite3.connect(path)) as db:
        (payload,) = db.execute("SELECT payload FROM events LIMIT 1").fetchone()
    first = schema.decode(payload)
    return Journal(path, first.site, first.device)


def open_gallery(path: Path) -> Gallery:
    with closing(sqlite3.connect(path)) as db:
        model, size = db.execute("SELECT model, length(embedding) FROM templates").fetchone()
    return Gallery(path, model, size // 4)


STATION: dict[str, tuple[Callable[[Path], object], tuple[Migration, ...]]] = {
    "journal.db": (open_journal, JOURNAL_MIGRATIONS),
    "gallery.db": (open_gallery, GALLERY_MIGRATIONS),
    "staff.db": (lambda path: StationGallery(path, None, None), STAFF_MIGRATIONS),
    "fingers.db": (FingerRegistry, FINGER_MIGRATIONS),
}


def version(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]


# Tables a later version replaced: where their rows went, and as what.
MOVED: dict[str, tuple[str, Callable[[tuple], tuple]]] = {
    "delivery_seqs": ("delivery_ranges", lambda row: (*row, row[-1])),  # version 3
}


def kept(before: Rows, after: Rows) -> None:
    """Every row of `before` is in `after` (a later version may only add to a row, or move
    it to the table that replaced its own)."""
    for table, rows in before.items():
        if table not in after and table in MOVED:
            into, moved = MOVED[table]
            assert {moved(row) for row in rows} <= set(after[into]), table
            continue
        width = len(rows[0]) if rows else 0
        assert [row[:width] for row in after[table]] == rows, table


@pytest.fixture
def station_dir(tmp_path) -> Path:
    """A station's data directory as the first versioned release left it."""
    return Path(shutil.copytree(V1 / "station", tmp_path / "station"))


def test_the_fixtures_hold_rows_in_every_station_file():
    for name in STATION:
        rows = sqlite_rows(V1 / "station" / name)
        assert all(rows.values()), (name, {t: len(r) for t, r in rows.items()})


def test_a_stations_data_directory_survives_an_upgrade_of_the_package(station_dir):
    for name, (opener, migrations) in STATION.items():
        before = sqlite_rows(station_dir / name)
        opener(station_dir / name).close()
        kept(before, sqlite_rows(station_dir / name))
        assert version(station_dir / name) == migrations[-1].version
    journal = open_journal(station_dir / "journal.db")
    with journal:
        events = journal.events()
        assert [e.seq for e in events] == sorted(e.seq for e in events)
        appended = journal.append(
            schema.new_event(
                schema.Alert,
                events[0].site,
                events[0].device,
                events[-1].ts,
                seq=0,
                kind=schema.AlertKind.DISK_FULL,
                severity=schema.Severity.MINOR,
                message="x",
            )
        )
        assert appended.seq == max(e.seq for e in events) + 1  # the numbering goes on
    gallery = open_gallery(station_dir / "gallery.db")
    assert len(gallery) == len(sqlite_rows(station_dir / "gallery.db")["staff"])
    gallery.close()
    registry = FingerRegistry(station_dir / "fingers.db")
    assert [r.slot for r in registry.all()] == [
        r[0] for r in sqlite_rows(station_dir / "fingers.db")["finger_slots"]
    ]
    registry.close()


def test_files_made_before_versions_were_kept_are_brought_to_the_codes_version(station_dir):
    for name, (opener, migrations) in STATION.items():
        path = station_dir / name
        with closing(sqlite3.connect(path)) as db:
            db.execute("DROP TABLE schema_version")
        before = sqlite_rows(path)
        opener(path).close()
        kept(before, sqlite_rows(path))
        assert version(path) == migrations[-1].version


def test_a_new_file_is_made_at_the_codes_version(tmp_path):
    for name, (_, migrations) in STATION.items():
        path = tmp_path / name
        with closing(sqlite3.connect(path, isolation_level=None)) as db:
            assert migrate(sqlite_database(db, name), migrations) == 0
            assert migrate(sqlite_database(db, name), migrations) == migrations[-1].version
        assert version(path) == migrations[-1].version


def test_the_schema_of_version_1_is_the_fixtures(tmp_path):
    """A change to version 1's statements would leave the files already in the field
    behind: a change is a new migration (base/migrations.py)."""
    for name, (_, migrations) in STATION.items():
        with closing(sqlite3.connect(tmp_path / name, isolation_level=None)) as db:
            migrate(sqlite_database(db, name), migrations[:1])
        assert sqlite_schema(tmp_path / name) == sqlite_schema(V1 / "station" / name), name

    class FirstVersion(SqliteStore):
        def _migrations(self, first, later, text):
            return super()._migrations(first, [], text)

    FirstVersion(tmp_path / "rules.db").close()
    assert sqlite_schema(tmp_path / "rules.db") == sqlite_schema(V1 / "rules.db")


def dump(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as db:
        return list(db.iterdump())


def sqlite_schema(path: Path) -> set[tuple[str, str]]:
    with closing(sqlite3.connect(path)) as db:
        return set(db.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"))


@pytest.mark.parametrize("name", list(STATION))
def test_a_file_newer_than_the_code_is_refused_and_left_alone(station_dir, name):
    path = station_dir / name
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("INSERT INTO schema_version VALUES (7, 'from the future', '2030-01-01')")
    before = dump(path)
    opener, migrations = STATION[name]
    with pytest.raises(SchemaError) as refused:
        opener(path)
    message = str(refused.value)
    assert str(path) in message
    made = migrations[-1].version
    assert "schema version 7" in message and f"makes version {made}" in message
    assert "install that release" in message and "restore the backup" in message
    assert dump(path) == before


@pytest.mark.parametrize("name", list(STATION))
def test_a_migration_that_fails_halfway_leaves_the_file_as_it_was(station_dir, name):
    path = station_dir / name
    _, migrations = STATION[name]
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        table = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        before = list(db.iterdump())
        failing = Migration(
            len(migrations) + 1,
            "a column, filled, then a mistake",
            [
                f'ALTER TABLE "{table}" ADD COLUMN added TEXT',
                f"UPDATE \"{table}\" SET added = 'x'",
                "CREATE TABLE more (n INTEGER)",
                "INSERT INTO no_such_table VALUES (1)",
            ],
        )
        with pytest.raises(SchemaError) as failed:
            migrate(sqlite_database(db, str(path)), [*migrations, failing])
        assert list(db.iterdump()) == before
    failed_at = f"schema version {len(migrations) + 1}"
    assert failed_at in str(failed.value) and "left at version 1" in str(failed.value)
    assert version(path) == 1


# -- a power cut in the middle of a migration ---------------------------------------------
SLOW_MIGRATION = """
import sys, time
from pathlib import Path
from base.migrations import Migration, migrate, sqlite_database
from base.private_files import connect_private
from edge.journal import MIGRATIONS

db = connect_private(sys.argv[1])
def halfway(database):
    Path(sys.argv[2]).touch()
    time.sleep(60)
step = Migration(2, "a column, then a long step", [
    "ALTER TABLE events ADD COLUMN note TEXT", "UPDATE events SET note = 'half'", halfway])
migrate(sqlite_database(db, sys.argv[1]), [*MIGRATIONS, step])
"""


def test_a_power_cut_during_a_migration_leaves_the_journal_at_the_old_version(
    station_dir, tmp_path
):
    path, halfway = station_dir / "journal.db", tmp_path / "halfway"
    before = sqlite_rows(path)
    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_MIGRATION, str(path), str(halfway)],
        cwd=REPO,
        env=os.environ | {"PYTHONPATH": str(REPO)},
    )
    try:
        deadline = time.monotonic() + 30
        while not halfway.exists():
            assert child.poll() is None and time.monotonic() < deadline, "never got halfway"
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert sqlite_rows(path) == before  # the old version, every row
    assert version(path) == 1
    open_journal(path).close()  # this release opens it as it is
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        step = Migration(2, "a column", ["ALTER TABLE events ADD COLUMN note TEXT"])
        assert migrate(sqlite_database(db, str(path)), [*JOURNAL_MIGRATIONS, step]) == 1
    assert version(path) == 2
    kept(before, sqlite_rows(path))


# -- the rules store, on SQLite and PostgreSQL --------------------------------------------
def released_store(location: Path | str) -> None:
    """Put the first versioned release's rules store where `location` says."""
    if isinstance(location, Path):
        shutil.copyfile(V1 / "rules.db", location)
    else:
        load_pg_dump(V1 / "rules.pg.sql", location)


def rows_of(location: Path | str) -> Rows:
    return sqlite_rows(location) if isinstance(location, Path) else pg_rows(location)


def run(location: Path | str, sql: str) -> None:
    if isinstance(location, Path):
        with closing(sqlite3.connect(location)) as db, db:
            db.execute(sql)
    else:
        with psycopg.connect(location, autocommit=True) as db:
            db.execute(sql)


def stored_version(location: Path | str) -> int:
    if isinstance(location, Path):
        return version(location)
    with psycopg.connect(location) as db:
        return db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]


def test_both_fixtures_hold_the_same_rows_in_every_table(postgres_url):
    load_pg_dump(V1 / "rules.pg.sql", postgres_url)
    sqlite, pg = sqlite_rows(V1 / "rules.db"), pg_rows(postgres_url)
    assert sqlite.keys() == pg.keys()
    assert {t: len(r) for t, r in sqlite.items()} == {t: len(r) for t, r in pg.items()}
    assert sum(1 for rows in sqlite.values() if rows) >= 25  # most tables have rows


def test_the_rules_store_of_the_release_opens_with_every_row(store_at):
    location = store_at()
    released_store(location)
    before = rows_of(location)
    store = open_store(location)
    try:
        events = store.events(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
        assert {e.id for e in events} == {row[0] for row in before["events"]}
        assert len(store.violations()) == len(before["violations"])
        assert len(store.actions()) == len(before["actions"])
        # Version 5 tallied every person-month of the violations stored.
        months = {v.day.strftime("%Y-%m") for v in store.violations()}
        assert months
        for month in months:
            assert store.month_tallies(month) == tallies(store.violations(month=month))
    finally:
        store.close()
    kept(before, rows_of(location))
    assert stored_version(location) == RULES_VERSION


def test_a_rules_store_from_before_versions_gains_the_columns_and_keeps_every_row(store_at):
    """As a release before versions made it: no audit `entered_by`, no device boots and
    states, no first punches kept."""
    location = store_at()
    released_store(location)
    first_punches = rows_of(location)["first_punches"]
    for sql in (
        "DROP TABLE schema_version",
        "DROP TABLE first_punches",
        'ALTER TABLE actions DROP COLUMN "entered_by"',
        *(f'ALTER TABLE device_status DROP COLUMN "{c}"' for c in ("state", "boot", "version",
                                                                  "rival_boot", "rival_seen")),
    ):  # fmt: skip
        run(location, sql)
    before = rows_of(location)
    open_store(location).close()
    after = rows_of(location)
    kept(before, after)
    assert after["first_punches"] == first_punches  # learnt from the events
    assert [row[7] for row in after["actions"]] == [None] * len(before["actions"])
    assert stored_version(location) == RULES_VERSION


def test_a_rules_store_newer_than_the_code_is_refused(store_at):
    location = store_at()
    released_store(location)
    run(location, "INSERT INTO schema_version VALUES (9, 'from the future', '2030-01-01')")
    before = rows_of(location)
    with pytest.raises(SchemaError) as refused:
        open_store(location)
    message = str(refused.value)
    assert "schema version 9" in message and f"makes version {RULES_VERSION}" in message
    assert (str(location) if isinstance(location, Path) else "PostgreSQL") in message
    assert "password" not in message
    assert rows_of(location) == before


def failing_store(backend: type[SqliteStore] | type[PostgresStore]) -> type:
    """The store with one more migration, that fails after changing things."""

    class Failing(backend):  # type: ignore[misc, valid-type]
        def _migrations(self, first, later, text):
            known = super()._migrations(first, later, text)
            return [
                *known,
                Migration(
                    len(known) + 1,
                    "a column, a row, then a mistake",
                    [
                        f'ALTER TABLE events ADD COLUMN "note" {text}',
                        "UPDATE events SET \"note\" = 'half'",
                        "DELETE FROM violations",
                        "INSERT INTO no_such_table VALUES (1)",
                    ],
                ),
            ]

    return Failing


def test_a_failed_rules_migration_leaves_the_store_as_it_was(store_at):
    location = store_at()
    released_store(location)
    before = rows_of(location)
    backend = SqliteStore if isinstance(location, Path) else PostgresStore
    with pytest.raises(SchemaError) as failed:
        failing_store(backend)(location)
    assert "left at version 1" in str(failed.value)
    assert rows_of(location) == before
    assert stored_version(location) == 1
    open_store(location).close()  # this release still opens it
