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

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import pydantic

from hallwatch.config import Section
from mqtt.broker import NodeIdField
from mqtt.client import BrokerConfig

StaffIdField = Annotated[str, pydantic.Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]

DEFAULT_DISCLOSURE = (
    "Notice: during office hours this workstation records which application is in use and "
    "for how long, and how long it has had no keyboard or mouse input, for the service hall's "
    "conduct rules. No keystrokes, screen contents or screenshots are recorded, and window "
    "titles are not sent unless the hall's policy allows it for a category."
)


class CategoryRuleConfig(Section):
    """A local category rule, used until the central policy arrives."""

    category: NodeIdField
    pattern: Annotated[str, pydantic.Field(max_length=200)]
    titles_allowed: bool = False

    @pydantic.field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class AgentConfig(Section):
    site: NodeIdField
    device: NodeIdField
    journal: Path = Path("~/.local/state/hallwatch/activity.db")
    interval_s: Annotated[float, pydantic.Field(ge=0.1, le=300)] = 5.0
    afk_after_s: Annotated[float, pydantic.Field(gt=0, le=86400)] = 180.0
    max_interval_s: Annotated[float, pydantic.Field(ge=1, le=3600)] = 60.0
    display: str | None = None  # X display; default: $DISPLAY
    default_category: NodeIdField = "work"
    categories: list[CategoryRuleConfig] = []  # empty: the built-in default rules
    users: dict[str, StaffIdField] = {}
    disclosure: Annotated[str, pydantic.Field(min_length=1, max_length=4000)] = DEFAULT_DISCLOSURE
    # e.g. ["notify-send", "hallwatch"] or ["xmessage", "-center"]: run with the text appended.
    disclosure_command: list[str] = []
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
