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

    category: NodeId = pydantic.Field(
        description="The category a matching application is in, e.g. work, game, video, chat."
    )
    pattern: Regex = pydantic.Field(
        description=(
            "A regular expression searched for in the application's process name "
            '(case-sensitive unless it starts with "(?i)").'
        )
    )
    titles_allowed: bool = pydantic.Field(
        False,
        description=(
            "Send the window title with this category's intervals. Off: titles are read but "
            "dropped at once, never sent, journaled or logged."
        ),
    )


class RecordingHours(Section):
    """When the agent records: the hall's office hours, so nothing is kept beyond them."""

    timezone: TimeZoneName | None = pydantic.Field(
        None,
        description=(
            'The IANA time zone the days and periods are in, e.g. "Asia/Shanghai". '
            "Unset: the workstation's own."
        ),
    )
    days: Annotated[list[Weekday], pydantic.Field(min_length=1)] = pydantic.Field(
        [1, 2, 3, 4, 5],
        description=(
            "ISO weekdays to record on, 1 = Monday. Make-up working days (调休) on a "
            "weekend need 6 or 7 added."
        ),
    )
    periods: Annotated[list[str], pydantic.Field(min_length=1)] = pydantic.Field(
        ["08:00-18:00"],
        description='Local times of day to record in, each "HH:MM-HH:MM", e.g. "09:00-12:00".',
    )

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
    """The workstation agent's file (`hallwatch agent --config FILE`)."""

    site: NodeId = pydantic.Field(
        description="The hall this workstation is in: its site id in topics and in the policy."
    )
    device: NodeId = pydantic.Field(
        description=(
            "This workstation's device id, unique in its site; the policy's window lists it "
            "under `workstations`."
        )
    )
    journal: Path = pydantic.Field(
        Path("~/.local/state/hallwatch/activity.db"),
        description="The agent's journal file (0600); ~ is the user's home.",
    )
    interval_s: Annotated[float, pydantic.Field(ge=0.1, le=300)] = pydantic.Field(
        5.0,
        description=(
            "Seconds between samples of the foreground application and the idle time "
            "(at 5 s the agent uses under 1 % of a core)."
        ),
    )
    afk_after_s: Annotated[float, pydantic.Field(gt=0, le=86400)] = pydantic.Field(
        180.0,
        description=(
            "Seconds without keyboard or mouse input after which the user counts as away "
            "(ActivityWatch's default)."
        ),
    )
    max_interval_s: Annotated[float, pydantic.Field(ge=1, le=3600)] = pydantic.Field(
        60.0,
        description=(
            "Longest interval in seconds: longer activity is cut into pieces of this length "
            "so the centre sees it as it happens."
        ),
    )
    display: str | None = pydantic.Field(
        None, description='The X display to sample, e.g. ":0". Unset: $DISPLAY.'
    )
    default_category: NodeId = pydantic.Field(
        "work", description="The category of an application no rule matches."
    )
    categories: list[CategoryRuleConfig] = pydantic.Field(
        [],
        description=(
            "Local category rules, first match wins, used until the central policy's rules "
            "arrive. Empty: the built-in defaults (game, video, shopping, stocks, social, chat)."
        ),
    )
    users: dict[str, StaffId] = pydantic.Field(
        {},
        description=(
            "Login name to staff id. Intervals of a login not listed are sent without a staff id."
        ),
    )
    disclosure: Annotated[str, pydantic.Field(min_length=1, max_length=4000)] = pydantic.Field(
        DEFAULT_DISCLOSURE,
        description=(
            "The notice of what is recorded, logged when the agent starts and shown by "
            "`disclosure_command`."
        ),
    )
    disclosure_command: list[str] = pydantic.Field(
        [],
        description=(
            "A command that shows the disclosure on the desktop, run with the text appended, "
            'e.g. ["notify-send", "hallwatch"] or ["xmessage", "-center"]. Empty: only logged.'
        ),
    )
    recording: RecordingHours | None = pydantic.Field(
        None,
        description=(
            "Record only in these office hours. No table: record whenever the agent runs "
            "(the user unit runs while the user is logged in)."
        ),
    )
    journal_max_mb: Annotated[int, pydantic.Field(ge=1, le=100_000)] = pydantic.Field(
        64,
        description=(
            "Size bound of the journal in megabytes: at the bound, acknowledged events go "
            "first, then the oldest unsent activity; alerts never."
        ),
    )
    retention_days: Annotated[float, pydantic.Field(gt=0, le=3650)] = pydantic.Field(
        7, description="Days acknowledged events are kept before they are pruned."
    )
    broker: BrokerConfig = pydantic.Field(
        BrokerConfig(), description="The MQTT broker the agent publishes to."
    )

    @pydantic.field_validator("journal")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def retention(self) -> timedelta:
        return timedelta(days=self.retention_days)
