"""Times as people read them: one rule for every screen, feed, list and report.

A person reads a moment in one zone, the site's (or the one they chose), never a mix.
A full date and time carries its UTC offset (`2026-11-24 16:45 +08:00`): it may be read
far from the hall. A bare time of day (`16:45`) is shown where the zone is already
stated (a station's screen, a feed with its zone in the header) and gains its offset
only where the local time alone could mean two moments (a daylight-saving fold).
Machines get ISO 8601 with the offset (`datetime.isoformat()`), never a bare local time.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from base.errors import HallwatchError


class UnknownZoneError(HallwatchError, ValueError):
    """A time zone name this machine does not know."""


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone `name` (e.g. Asia/Shanghai), or an error that says what to give."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownZoneError(
            f"unknown time zone {name!r} (use an IANA name like Asia/Shanghai)"
        ) from None


def local_zone() -> tzinfo:
    """This machine's own zone (what `--tz` defaults to when nothing else says)."""
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None
    return zone


def offset_text(offset: timedelta | None) -> str:
    """`+08:00`, `-03:30`, `+00:00`."""
    minutes = round((offset or timedelta(0)).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def zone_text(zone: tzinfo) -> str:
    """A zone as a header states it: `Asia/Shanghai (UTC+08:00)`."""
    now = datetime.now(zone)
    name = getattr(zone, "key", None) or now.tzname() or "local"
    return f"{name} (UTC{offset_text(now.utcoffset())})"


def is_ambiguous(moment: datetime) -> bool:
    """The local time of day of this aware moment names two instants (or none) in its zone."""
    naive = moment.replace(tzinfo=None)
    zone = moment.tzinfo
    return (
        naive.replace(tzinfo=zone, fold=0).utcoffset()
        != naive.replace(tzinfo=zone, fold=1).utcoffset()
    )


def time_of_day(moment: datetime, zone: tzinfo | None = None, *, seconds: bool = False) -> str:
    """`16:45` (or `16:45:07`) in `zone` (default: the moment's own), with the offset
    appended only where that local time is ambiguous."""
    local = moment.astimezone(zone) if zone is not None else moment
    text = local.strftime("%H:%M:%S" if seconds else "%H:%M")
    return f"{text} {offset_text(local.utcoffset())}" if is_ambiguous(local) else text


def date_time(moment: datetime, zone: tzinfo | None = None, *, seconds: bool = False) -> str:
    """`2026-11-24 16:45 +08:00` in `zone` (default: the moment's own): for lists, audits,
    reports and files, which are read away from the hall."""
    local = moment.astimezone(zone) if zone is not None else moment
    text = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{text} {offset_text(local.utcoffset())}"
