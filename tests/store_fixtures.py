"""Databases made by released versions, kept in tests/fixtures/stores/v<N>/ so every later
schema change is tested migrating from them (tests/test_upgrades.py).

`python -m tests.store_fixtures DEMO_OUT` makes the fixtures of the code's current schema
version, once per version (an existing folder is never rewritten: it is what that release
made): from the data folder of a `hallwatch demo --out DEMO_OUT` run (real stations, a
real rules service), with a few rows added to the rules store's tables the demo leaves
empty. `v<N>/station/` holds a station's journal, face gallery, staff file and finger
slots; `rules.db` the rules store on SQLite, `rules.pg.sql` the same rows as the store on
PostgreSQL made them (a pg_dump of its schema, with the schema's name taken out, so it
loads into any schema: `load_pg_dump`).
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg

from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "stores"
STATION_FILES = ("journal.db", "gallery.db", "staff.db", "fingers.db")
VERSION_TABLE = "schema_version"

Rows = dict[str, list[tuple]]


# -- reading what a database holds ------------------------------------------------------
def sqlite_rows(path: Path) -> Rows:
    """Every row of every table (but the versions), sorted, by table."""
    with closing(sqlite3.connect(path)) as db:
        names = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            name: sorted(db.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr)
            for name in names
            if name != VERSION_TABLE
        }


def sqlite_columns(path: Path) -> dict[str, list[str]]:
    with closing(sqlite3.connect(path)) as db:
        names = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: [c[1] for c in db.execute(f'PRAGMA table_info("{n}")')] for n in names}


def pg_rows(url: str) -> Rows:
    with psycopg.connect(url) as db:
        names = [
            n
            for (n,) in db.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
        ]
        return {
            name: sorted(
                (
                    tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                    for row in db.execute(f'SELECT * FROM "{name}"').fetchall()
                ),
                key=repr,
            )
            for name in names
            if name != VERSION_TABLE
        }


def load_pg_dump(dump: Path, url: str) -> None:
    """Load a fixture dump into the (empty) schema `url` works in."""
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(dump.read_text(encoding="utf-8"))


# -- making the fixtures of the current version -------------------------------------------
def _compact(source: Path, target: Path) -> None:
    """A copy of `source` with its write-ahead log folded in, vacuumed, out of WAL mode."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    _settle(target)


def _settle(path: Path) -> None:
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=DELETE")
        db.execute("VACUUM")


def version_of_file(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        return db.execute(f"SELECT MAX(version) FROM {VERSION_TABLE}").fetchone()[0]


def _add_rows(path: Path) -> None:
    """Rows in the rules store's tables the demo leaves empty."""
    from rules.manager_actions import ManagerAction
    from rules.patrol import PatrolFinding
    from rules.requests import Request
    from rules.rosters import DUTIES, DutyAssignment
    from rules.store import DeadLetterRow, SqliteStore

    store = SqliteStore(path)
    site, at = "hall-01", datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    try:
        store.add_dead_letter(DeadLetterRow.of(at, "hall/x", "not JSON", b"\x00garbage"))
        store.add_request(
            Request(
                "r-fixture-1",
                "punch",
                site,
                "S001",
                "forgot",
                "li via cli",
                at,
                at=at,
                action="clock_in",
            )
        )
        store.set_duties(
            [DutyAssignment(site, date(2026, 11, 25), DUTIES[0], "S002", by="li via cli")],
            [ManagerAction("a-fixture-duty", at, "li", "duty", "S002", "rota", None, "li via cli")],
        )
        store.add_finding(
            PatrolFinding(
                "f-fixture-1",
                site,
                "S003",
                None,
                at,
                "phone",
                "on the phone",
                "li",
                photo="p-fixture-1",
            ),
            ("image/jpeg", b"\xff\xd8 not really a photo"),
        )
    finally:
        store.close()


def _without_faces(folder: Path) -> None:
    """Face templates made from the demo's photos (real people's, test-only) replaced by
    random ones of the same size: a fixture keeps the rows, never anyone's face."""
    import msgspec
    import numpy as np

    from mqtt import schema

    rng = np.random.default_rng(7)

    def fake(blob: bytes) -> bytes:
        vector = rng.standard_normal(len(blob) // 4).astype(np.float32)
        return (vector / np.linalg.norm(vector)).tobytes()

    replacements = (
        ("station/gallery.db", "SELECT id, embedding FROM templates", "templates", "embedding", "id"),
        ("rules.db", "SELECT n, template FROM templates WHERE kind = 'face'", "templates",
         "template", "n"),
    )  # fmt: skip
    for name, query, table, column, key in replacements:
        with closing(sqlite3.connect(folder / name)) as db:
            for row_key, blob in db.execute(query).fetchall():
                db.execute(
                    f"UPDATE {table} SET {column} = ? WHERE {key} = ?", (fake(blob), row_key)
                )
            db.commit()
    with closing(sqlite3.connect(folder / "station" / "journal.db")) as db:
        query = "SELECT seq, payload FROM events WHERE kind = 'enrolment'"
        for seq, payload in db.execute(query).fetchall():
            enrolment = schema.decode(payload)
            faces = [fake(t) for t in enrolment.face_templates]
            replaced = msgspec.structs.replace(enrolment, face_templates=faces)
            db.execute(
                "UPDATE events SET payload = ? WHERE seq = ?", (schema.encode(replaced), seq)
            )
        db.commit()
    for name in (*(f"station/{n}" for n in STATION_FILES), "rules.db"):
        _settle(folder / name)


def _pg_dump(sqlite_file: Path, target: Path) -> None:
    """The rows of `sqlite_file` in a PostgreSQL store of this version, dumped."""
    from rules.pgstore import PostgresStore
    from tests.support.postgres import SERVER, scratch_schema

    rows = sqlite_rows(sqlite_file)
    with scratch_schema() as url:
        PostgresStore(url).close()
        schema = re.search(r"search_path%3D(\w+)", url)[1]
        with psycopg.connect(url, autocommit=True) as db:
            for table, found in rows.items():
                if found:
                    marks = ", ".join(["%s"] * len(found[0]))
                    db.cursor().executemany(f'INSERT INTO "{table}" VALUES ({marks})', found)
        dump = subprocess.run(
            ["pg_dump", "--schema", schema, "--no-owner", "--no-privileges", "--inserts", SERVER],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    lines = [
        line
        for line in dump.splitlines()
        if not line.startswith(("\\restrict", "\\unrestrict", "CREATE SCHEMA"))
        and "set_config('search_path'" not in line
    ]
    target.write_text(
        "\n".join(lines).replace(f"{schema}.", "").replace(schema, "fixture") + "\n",
        encoding="utf-8",
    )


def make(demo_out: Path) -> Path:
    version = version_of_file(demo_out / "rules.db")
    folder = FIXTURES / f"v{version}"
    if folder.exists():
        raise SystemExit(f"{folder} exists: it is what version {version} made; never rewrite it")
    for name in STATION_FILES:
        _compact(demo_out / "st-01" / name, folder / "station" / name)
    _compact(demo_out / "rules.db", folder / "rules.db")
    _add_rows(folder / "rules.db")
    _without_faces(folder)
    _pg_dump(folder / "rules.db", folder / "rules.pg.sql")
    return folder


if __name__ == "__main__":
    print(make(Path(sys.argv[1])))
