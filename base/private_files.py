"""Local SQLite files on a device: private (0600), WAL, durable.

Biometric templates and the event journal live in such files; they must never be
world-readable, whatever the process umask is.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

PRIVATE_MODE = 0o600


def create_private_file(path: str | Path) -> Path:
    """Create `path` (and its parent directories) with mode 0600 if missing; enforce 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, PRIVATE_MODE)
    os.close(fd)
    os.chmod(path, PRIVATE_MODE)
    return path


def connect_private(path: str | Path, *, synchronous: str = "FULL") -> sqlite3.Connection:
    """Open a private SQLite database in WAL mode.

    `synchronous=FULL` makes every commit durable across power loss, which a journal of
    punches needs; caches may pass "NORMAL".
    """
    path = create_private_file(path)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=5000")
    # WAL and shared-memory side files inherit the umask: keep them private as well.
    for suffix in ("-wal", "-shm"):
        side = Path(f"{path}{suffix}")
        if side.exists():
            os.chmod(side, PRIVATE_MODE)
    return conn
