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


def _link_error(path: Path) -> PrivateFileError:
    return PrivateFileError(
        f"{path} is a symbolic link: a private file is never written through one"
    )


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
                raise _link_error(path) from None
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
    """Create `path` (and its parent directories) with mode 0600 if missing; enforce 0600.

    An existing file is checked through an `O_PATH` descriptor, never opened for reading:
    closing any other descriptor on a file releases every POSIX lock this process holds on
    it, and SQLite's locks on a database another connection here has open are such locks.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE_MODE))
        return path
    except FileExistsError:
        pass
    try:
        fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _link_error(path) from None
        raise
    try:
        found = os.fstat(fd)
        if stat.S_ISLNK(found.st_mode):  # O_PATH | O_NOFOLLOW opens the link itself
            raise _link_error(path)
        if not stat.S_ISREG(found.st_mode):
            raise PrivateFileError(f"{path} is not a regular file")
        if stat.S_IMODE(found.st_mode) != PRIVATE_MODE:
            os.chmod(f"/proc/self/fd/{fd}", PRIVATE_MODE)  # the file held, not the name
    finally:
        os.close(fd)
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
    punches needs; caches may pass "NORMAL". Every such connection is shared by its
    owner's threads (each use under the owner's lock), so it keeps no statement cache: the
    sqlite3 module resets a cached statement when a cursor that last ran it is freed, and a
    cursor freed by the garbage collector in another thread would reset it under a query
    running there.
    """
    path = create_private_file(path)
    conn = sqlite3.connect(
        path,
        isolation_level=None,
        check_same_thread=False,
        cached_statements=0,
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=5000")
    # SQLite gives the WAL and shared-memory files the database's mode; side files left
    # by an earlier version may be wider.
    for suffix in ("-wal", "-shm"):
        side = Path(f"{path}{suffix}")
        if side.exists():
            create_private_file(side)
    return conn
