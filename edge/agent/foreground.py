"""What is in front on a workstation: the types every desktop probe returns."""

from __future__ import annotations

from dataclasses import dataclass

import psutil

UNKNOWN_APP = "unknown"  # no way to see the foreground on this desktop
NO_WINDOW = "none"  # the desktop has no focused window (e.g. an empty screen)
APP_MAX = 128


@dataclass(frozen=True, slots=True)
class Foreground:
    """The focused window's application. `title` is private and leaves only if allowed."""

    app: str
    pid: int | None = None
    title: str | None = None
    user: str | None = None


def process_foreground(pid: int | None, fallback_app: str, title: str | None) -> Foreground:
    """The foreground app named after its process (psutil), else after the window class."""
    if pid is None:
        return Foreground(app=fallback_app[:APP_MAX] or UNKNOWN_APP, title=title)
    try:
        process = psutil.Process(pid)
        with process.oneshot():
            name, user = process.name(), process.username()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return Foreground(app=fallback_app[:APP_MAX] or UNKNOWN_APP, pid=pid, title=title)
    return Foreground(app=name[:APP_MAX], pid=pid, title=title, user=user)
