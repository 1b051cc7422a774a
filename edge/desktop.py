"""What the workstation's user is doing right now: the foreground app and input idle time.

One probe per platform (X11, Windows) behind the `Desktop` protocol; where neither exists
the app is a clear "unknown" and idle time comes from logind's idle hint if it can.
"""

from __future__ import annotations

import getpass
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Protocol

import psutil

log = logging.getLogger(__name__)

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


class Desktop(Protocol):
    name: str

    def foreground(self) -> Foreground: ...

    def idle_s(self) -> float | None: ...

    def close(self) -> None: ...


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


class LogindIdle:
    """Idle time from systemd-logind's IdleHint for the session (the fallback probe)."""

    def __init__(self, session: str | None = None) -> None:
        self.session = session or os.environ.get("XDG_SESSION_ID") or "auto"

    def idle_s(self) -> float | None:
        try:
            out = subprocess.run(
                [
                    "loginctl",
                    "show-session",
                    self.session,
                    "--property=IdleHint",
                    "--property=IdleSinceHint",
                ],
                capture_output=True,
                text=True,
                timeout=2,
                check=True,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        if values.get("IdleHint") != "yes":
            return 0.0 if "IdleHint" in values else None
        since_us = int(values.get("IdleSinceHint", "0") or 0)
        return max(0.0, time.time() - since_us / 1e6) if since_us else None


class UnknownDesktop:
    """No foreground probe here (e.g. a Wayland session or a headless machine)."""

    name = "unknown"

    def __init__(self) -> None:
        self._idle = LogindIdle()

    def foreground(self) -> Foreground:
        return Foreground(app=UNKNOWN_APP, user=getpass.getuser())

    def idle_s(self) -> float | None:
        return self._idle.idle_s()

    def close(self) -> None:
        pass


def open_desktop(display: str | None = None) -> Desktop:
    """The probe for this machine: X11 if a display answers, Windows, else unknown."""
    if sys.platform == "win32":
        from edge.desktop_windows import WindowsDesktop

        return WindowsDesktop()
    display = display or os.environ.get("DISPLAY")
    if display:
        from edge.desktop_x11 import X11Desktop, X11Unavailable

        try:
            return X11Desktop(display)
        except X11Unavailable as exc:
            log.warning("%s; the foreground app will be reported as unknown", exc)
    return UnknownDesktop()
