"""How far the device clock is from true time, as the kernel's NTP discipline knows it.

Punch times are only as good as the device clock; the station reports this in its
heartbeat so the centre can see a skewed or unsynchronised device.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass

STA_UNSYNC = 0x0040
STA_NANO = 0x2000
TIME_ERROR = 5


class _Timeval(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long))


class _Timex(ctypes.Structure):
    """struct timex of <sys/timex.h> (Linux)."""

    _fields_ = (
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time", _Timeval),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("_reserved", ctypes.c_int * 11),
    )


@dataclass(frozen=True, slots=True)
class TimeSync:
    synchronised: bool
    offset_s: float  # the kernel's current estimate of (true time - clock)
    max_error_s: float


def time_sync() -> TimeSync | None:
    """Read-only adjtimex(2); None where the call is not available (not Linux)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name, use_errno=True)
    if not hasattr(libc, "adjtimex"):
        return None
    timex = _Timex()  # modes = 0: read only, needs no privilege
    state = libc.adjtimex(ctypes.byref(timex))
    if state < 0:
        return None
    scale = 1e-9 if timex.status & STA_NANO else 1e-6
    synchronised = state != TIME_ERROR and not timex.status & STA_UNSYNC
    return TimeSync(synchronised, timex.offset * scale, timex.maxerror * 1e-6)


class ClockWatch:
    """Says when the device clock goes wrong: unsynchronised, or off by more than
    `max_offset_s`. Punch times are device times, so the centre must hear of it.

    A Pi has no battery clock: after boot it runs unsynchronised until NTP answers, so a
    fault is told only once the station has run `grace_s`; each new fault is told once,
    and again after the clock was good in between.
    """

    def __init__(self, max_offset_s: float, grace_s: float) -> None:
        self.max_offset_s = max_offset_s
        self.grace_s = grace_s
        self._told: str | None = None

    def fault(self, sync: TimeSync | None) -> str | None:
        if sync is None:
            return None  # no way to know here (not Linux)
        if not sync.synchronised:
            return "the device clock is not synchronised (NTP)"
        if abs(sync.offset_s) > self.max_offset_s:
            return f"the device clock is off by {sync.offset_s:+.1f} s"
        return None

    def news(self, sync: TimeSync | None, uptime_s: float) -> str | None:
        """The fault to report now, if there is a new one."""
        fault = self.fault(sync)
        if fault is None:
            self._told = None
            return None
        if uptime_s < self.grace_s or fault == self._told:
            return None
        self._told = fault
        return fault
