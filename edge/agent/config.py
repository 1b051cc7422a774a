"""The workstation agent's configuration file (TOML), validated into `AgentConfig`.

site = "hall-01"
device = "ws-01"
journal = "~/.local/state/hallwatch/activity.db"
interval_s = 5
[users]            # login name -> staff id
zhang = "S001"
[broker]
host = "10.0.0.2"
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import pydantic

from base.config import Regex, Section, TimeZoneName
from base.identifiers import NodeId, StaffId
from mqtt.client import BrokerConfig

Weekday = Annotated[int, pydantic.Field(ge=1, le=7)]

DEFAULT_DISCLOSURE = (
    "Notice: during office hours this workstation records which application is in use and "
    "for how long, and how long it has had no keyboard or mouse input, for the service hall's "
    "conduct rules. No keystrokes, screen contents or screenshots are recorded, and window "
    "titles are not sent unless the hall's policy allows it for a category."
)


class CategoryRuleConfig(Section):
    """A local category rule, used until the central policy arrives."""

    category: NodeId
    pattern: Regex
    titles_allowed: bool = False


class RecordingHours(Section):
    """When the agent records: the hall's office hours, so nothing is kept beyond them."""

    timezone: TimeZoneName | None = None  # IANA name, e.g. "Asia/Shanghai"; default: the system's
    # ISO weekdays, 1 = Monday; make-up working days (调休) need 6 or 7 added.
    days: Annotated[list[Weekday], pydantic.Field(min_length=1)] = [1, 2, 3, 4, 5]
    periods: Annotated[list[str], pydantic.Field(min_length=1)] = ["08:00-18:00"]

    @pydantic.field_validator("periods")
    @classmethod
    def _periods(cls, values: list[str]) -> list[str]:
        for value in values:
            start, end = _period(value)
            if start >= end:
                raise ValueError(f"period {value!r} ends before it starts")
        return values

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(ZoneInfo(self.timezone) if self.timezone else None)
        if local.isoweekday() not in self.days:
            return False
        now = local.time()
        return any(start <= now < end for start, end in map(_period, self.periods))


def _period(text: str) -> tuple[time, time]:
    try:
        start, end = text.split("-")
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise ValueError(f"period {text!r} is not HH:MM-HH:MM") from None


class AgentConfig(Section):
    site: NodeId
    device: NodeId
    journal: Path = Path("~/.local/state/hallwatch/activity.db")
    interval_s: Annotated[float, pydantic.Field(ge=0.1, le=300)] = 5.0
    afk_after_s: Annotated[float, pydantic.Field(gt=0, le=86400)] = 180.0
    max_interval_s: Annotated[float, pydantic.Field(ge=1, le=3600)] = 60.0
    display: str | None = None  # X display; default: $DISPLAY
    default_category: NodeId = "work"
    categories: list[CategoryRuleConfig] = []  # empty: the built-in default rules
    users: dict[str, StaffId] = {}
    disclosure: Annotated[str, pydantic.Field(min_length=1, max_length=4000)] = DEFAULT_DISCLOSURE
    # e.g. ["notify-send", "hallwatch"] or ["xmessage", "-center"]: run with the text appended.
    disclosure_command: list[str] = []
    recording: RecordingHours | None = None  # None: record whenever the agent runs
    journal_max_mb: Annotated[int, pydantic.Field(ge=1, le=100_000)] = 64
    retention_days: Annotated[float, pydantic.Field(gt=0, le=3650)] = 7
    broker: BrokerConfig = BrokerConfig()

    @pydantic.field_validator("journal")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def retention(self) -> timedelta:
        return timedelta(days=self.retention_days)
