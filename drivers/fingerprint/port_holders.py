"""Which processes have a serial port open: read from /proc, so it needs no extra package.

A process whose /proc entry we may not read (another user's, without root) is not listed;
the caller then names no process rather than a wrong one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PortHolder:
    pid: int
    command: str  # the command line, arguments separated by spaces

    def __str__(self) -> str:
        return f"process {self.pid} ({self.command})"


def port_holders(port: str, *, proc: Path = Path("/proc")) -> list[PortHolder]:
    """Every other process with an open file descriptor on `port` (symlinks resolved)."""
    device = os.path.realpath(port)
    holders = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        if _holds(entry / "fd", device):
            holders.append(PortHolder(int(entry.name), _command_line(entry)))
    return sorted(holders, key=lambda holder: holder.pid)


def _holds(fd_dir: Path, device: str) -> bool:
    try:
        descriptors = list(fd_dir.iterdir())
    except OSError:  # the process ended, or is not ours to inspect
        return False
    for descriptor in descriptors:
        try:
            if os.readlink(descriptor) == device:
                return True
        except OSError:
            continue
    return False


def _command_line(process: Path) -> str:
    try:
        raw = (process / "cmdline").read_bytes()
    except OSError:
        return "command line unknown"
    words = [word.decode(errors="replace") for word in raw.split(b"\0") if word]
    return " ".join(words) or "command line unknown"
