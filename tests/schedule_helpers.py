"""The brief's office hours (09:00–12:00, 13:30–17:00) and moments in the hall's zone."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from base.schedule import Session

TZ = ZoneInfo("Asia/Shanghai")
SESSIONS = [Session(start=time(9), end=time(12)), Session(start=time(13, 30), end=time(17))]


def at(hour: int, minute: int = 0, day: int = 24) -> datetime:
    """A moment of November 2026 (the 24th, a Tuesday, unless `day` says otherwise)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)
