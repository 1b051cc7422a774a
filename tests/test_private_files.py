"""Biometric and attendance files stay 0600 with their WAL side files, whatever the umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from base.private_files import connect_private
from drivers.fingerprint.registry import FingerRegistry
from edge.journal import Journal
from models.gallery import Gallery, Template
from rules.store import SqliteStore
from tests.mqtt_helpers import clock_event


@pytest.fixture
def open_umask():
    """The most careless umask a service could be started with."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def modes(directory: Path, stem: str) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in directory.glob(f"{stem}*")}


def test_every_device_and_central_database_is_private_with_its_side_files(tmp_path, open_umask):
    rng = np.random.default_rng(1)
    embedding = rng.standard_normal(128).astype(np.float32)
    gallery = Gallery(tmp_path / "gallery.db", "model-a", 128)
    gallery.enrol("S001", "张伟", [Template(embedding / np.linalg.norm(embedding), "camera")], 0.9)
    fingers = FingerRegistry(tmp_path / "fingers.db")
    fingers.add(3, "S001")
    journal = Journal(tmp_path / "journal.db", "hall-01", "st-01")
    punch = journal.append(clock_event("hall-01", "st-01", 0))
    rules = SqliteStore(tmp_path / "rules.db")
    rules.add_events([punch])
    try:
        found = {}
        for stem in ("gallery.db", "fingers.db", "journal.db", "rules.db"):
            found |= modes(tmp_path, stem)
        # Open and written: each database has its -wal and -shm beside it now.
        assert {
            f"{s}{side}" for s in ("gallery.db", "journal.db") for side in ("-wal", "-shm")
        } <= set(found)
        assert found == dict.fromkeys(found, 0o600), found
    finally:
        gallery.close()
        fingers.close()
        journal.close()
        rules.close()


# -- a link planted where a private file goes (issue 13, finding 13) --------------------
@pytest.fixture
def victim(tmp_path):
    """A file someone else owns the content of, and the link planted at a private name."""
    path = tmp_path / "elsewhere" / "victim.conf"
    path.parent.mkdir()
    path.write_text("original\n")
    os.chmod(path, 0o644)
    return path


def _untouched(victim: Path) -> bool:
    return victim.read_text() == "original\n" and stat.S_IMODE(victim.stat().st_mode) == 0o644


@pytest.mark.parametrize("write", ["create", "write"])
def test_a_private_file_is_never_made_through_a_planted_link(tmp_path, victim, write):
    from base.private_files import PrivateFileError, create_private_file, write_private

    planted = tmp_path / "data" / "evidence.jpg"
    planted.parent.mkdir()
    planted.symlink_to(victim)
    with pytest.raises(PrivateFileError, match="symbolic link"):
        if write == "create":
            create_private_file(planted)
        else:
            write_private(planted, b"\xff\xd8 a snapshot")
    assert _untouched(victim)


def test_a_sqlite_database_is_never_opened_through_a_planted_link(tmp_path, victim):
    from edge.journal import JournalError

    (tmp_path / "journal.db").symlink_to(victim)
    with pytest.raises(JournalError, match="is a symbolic link"):
        Journal(tmp_path / "journal.db", "hall-01", "st-01")
    assert _untouched(victim)


def test_the_template_export_writes_through_no_planted_link(tmp_path, victim):
    from drivers.fingerprint.backup import export_templates, read_backup
    from tests.fingerprint_helpers import emulated_sensor, enrol

    target = tmp_path / "export" / "fingers.json"
    target.parent.mkdir()
    # The name the export used to stage its file under, fixed and so known in advance.
    (target.parent / ".fingers.json.partial").symlink_to(victim)
    with emulated_sensor(tmp_path / "sensor", capacity=20) as (emu, sensor):
        enrol(emu, sensor, "S001", "finger-1")
        assert export_templates(sensor, target) == 1
    assert _untouched(victim)
    assert [e.staff_id for e in read_backup(target)] == ["S001"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_opening_a_database_again_keeps_the_locks_another_connection_holds(tmp_path):
    """Closing any descriptor on a file drops every POSIX lock the process holds on it:
    opening the store a second time in a process (the console's pages, a test) must not
    take away the write lock the first connection holds from another process's view."""
    path = tmp_path / "rules.db"
    writer = connect_private(path)
    writer.execute("CREATE TABLE t (x)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t VALUES (1)")
    second = connect_private(path)  # the same file again, while the write lock is held
    try:
        other_process = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=0, "
                "isolation_level=None); c.execute('BEGIN IMMEDIATE')",
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert other_process.returncode != 0
        assert "database is locked" in other_process.stderr
    finally:
        writer.execute("ROLLBACK")
        second.close()
        writer.close()
