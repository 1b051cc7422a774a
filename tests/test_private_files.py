"""Biometric and attendance files stay 0600 with their WAL side files, whatever the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

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
