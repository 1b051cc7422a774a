"""What the workstation's user is doing right now: the foreground app and input idle time.

One probe per platform (X11, Windows) behind the `Desktop` protocol; where neither exists
the app is a clear "unknown" and idle time comes from logind's idle hint if it can.
"""

from __future__ import annotations

import getpass
import logging
import os
import sys
from typing import Protocol

from edge.agent.foreground import UNKNOWN_APP, Foreground
from edge.agent.probes.logind import LogindIdle

log = logging.getLogger(__name__)


class Desktop(Protocol):
    name: str

    def foreground(self) -> Foreground: ...

    def idle_s(self) -> float | None: ...

    def close(self) -> None: ...


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
        from edge.agent.probes.windows import WindowsDesktop

        return WindowsDesktop()
    display = display or os.environ.get("DISPLAY")
    if display:
        from edge.agent.probes.x11 import X11Desktop, X11Unavailable

        try:
            return X11Desktop(display)
        except X11Unavailable as exc:
            log.warning("%s; the foreground app will be reported as unknown", exc)
    return UnknownDesktop()
