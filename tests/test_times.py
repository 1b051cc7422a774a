"""Times as people read them: one zone, the offset on full timestamps and where ambiguous."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from base.times import (
    UnknownZoneError,
    date_time,
    is_ambiguous,
    offset_text,
    time_of_day,
    zone_named,
    zone_text,
)

SHANGHAI = zone_named("Asia/Shanghai")
BERLIN = zone_named("Europe/Berlin")


def test_a_moment_is_shown_in_the_zone_asked_for():
    moment = datetime(2026, 11, 24, 8, 45, tzinfo=UTC)
    assert time_of_day(moment, SHANGHAI) == "16:45"
    assert time_of_day(moment, SHANGHAI, seconds=True) == "16:45:00"
    assert date_time(moment, SHANGHAI) == "2026-11-24 16:45 +08:00"
    assert date_time(moment.astimezone(SHANGHAI)) == "2026-11-24 16:45 +08:00"  # its own zone
    assert (
        date_time(moment, zone_named("Asia/Kolkata"), seconds=True) == "2026-11-24 14:15:00 +05:30"
    )


def test_a_time_of_day_carries_its_offset_only_where_it_names_two_moments():
    # 2026-10-25 in Berlin: 02:00-03:00 happens twice (CEST, then CET).
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    second = first + timedelta(hours=1)  # 02:30 CET
    assert is_ambiguous(first.astimezone(BERLIN)) and is_ambiguous(second.astimezone(BERLIN))
    assert time_of_day(first, BERLIN) == "02:30 +02:00"
    assert time_of_day(second, BERLIN) == "02:30 +01:00"
    assert time_of_day(first + timedelta(hours=3), BERLIN) == "04:30"
    assert not is_ambiguous(first.astimezone(SHANGHAI))


def test_zones_are_named_or_refused_with_what_to_give():
    assert zone_text(SHANGHAI) == "Asia/Shanghai (UTC+08:00)"
    assert offset_text(timedelta(hours=-3, minutes=-30)) == "-03:30"
    with pytest.raises(UnknownZoneError, match="use an IANA name like Asia/Shanghai"):
        zone_named("Mars/Olympus")
