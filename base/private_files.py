"""Local files on a device or the central host that must stay private (0600).

Biometric templates, the event journal, credentials and evidence live in such files; they
must never be world-readable, whatever the process umask is, and never be written through
a symbolic link someone planted where the file goes: they are created exclusively
(`O_EXCL`), opened without following a link (`O_NOFOLLOW`), and their mode is set on the
open file (`fchmod`), not on whatever the name points to by then.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
import tempfile
from contextlib import suppress
from pathlib import Path

from base.errors import HallwatchError

PRIVATE_MODE = 0o600


class PrivateFileError(HallwatchError, OSError):
    """A private file that cannot be made safely: a link or something else than a file
    stands where it goes."""


def _open_private(path: Path, access: int) -> int:
    """A descriptor on `path` (created 0600 if missing, made 0600 if not), never through
    a symbolic link, only ever on a regular file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = access | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    except FileExistsError:
        try:
            fd = os.open(path, flags | os.O_NONBLOCK)  # a FIFO must not hang us
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise PrivateFileError(
                    f"{path} is a symbolic link: a private file is never written through one"
                ) from None
            raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise PrivateFileError(f"{path} is not a regular file")
        os.fchmod(fd, PRIVATE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def create_private_file(path: str | Path) -> Path:
    """Create `path` (and its parent directories) with mode 0600 if missing; enforce 0600."""
    path = Path(path)
    os.close(_open_private(path, os.O_RDONLY))
    return path


def write_private(path: str | Path, data: bytes) -> None:
    """Make `path` a private file holding `data` (replacing what it held)."""
    fd = _open_private(Path(path), os.O_WRONLY)
    with os.fdopen(fd, "wb") as handle:
        handle.truncate()
        handle.write(data)


def replace_private(path: str | Path, data: bytes) -> None:
    """Replace `path` whole by a private file holding `data`, durably: written to a file
    `mkstemp` makes beside it (exclusively, under a name no one can plant a link at),
    synced, then renamed over `path`."""
    path = Path(path)
    fd, staged = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(staged, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(staged)
        raise


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
            create_private_file(side)
    return conn
