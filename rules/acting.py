"""Who acts in the management API, and how it refuses: `Actor` and the errors whose
message says what to do (the CLI prints them, the console shows them beside the form)."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from base.errors import HallwatchError
from mqtt.ids import new_event_id
from rules.manager_actions import ActionKind, LeaveRecord, ManagerAction


class ManagementError(HallwatchError):
    """A manager's request that cannot be done as asked; the message says why."""


class NotFound(ManagementError):
    """What the request names does not exist (a violation, a leave, a staff member)."""


class Refused(ManagementError):
    """The request contradicts what is recorded (voiding a voided violation)."""


class InvalidInput(ManagementError):
    """A value the request gives is malformed or missing (an empty reason, a bad month)."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, and through what: the signed-in person (the OS user for the CLI; the
    staff member themself through a request link of the console) and, when they enter
    someone else's decision, the person on whose behalf."""

    user: str
    through: Literal["cli", "console", "link"]
    on_behalf_of: str | None = None

    def __post_init__(self) -> None:
        if not self.user.strip():
            raise InvalidInput("who is acting is unknown: sign in (or run as a named user)")

    @classmethod
    def cli(cls, on_behalf_of: str | None = None) -> Actor:
        """The OS user at a command line, perhaps entering a decision of `on_behalf_of`."""
        return cls(getpass.getuser(), "cli", (on_behalf_of or "").strip() or None)

    @property
    def decided_by(self) -> str:
        """Who the audit trail names as deciding."""
        return self.on_behalf_of or self.user

    @property
    def entered_by(self) -> str:
        """Who entered it, and through what ("wang via cli")."""
        return f"{self.user} via {self.through}"


def checked_month(month: str) -> str:
    """`month` if it is YYYY-MM."""
    try:
        date.fromisoformat(f"{month}-01")
    except ValueError:
        raise InvalidInput(f"{month!r} is not YYYY-MM (for example 2026-11)") from None
    return month


def stated_reason(text: str) -> str:
    """The reason a person gave for an action, which the audit trail must have."""
    reason = text.strip()
    if not reason:
        raise InvalidInput("say why (it is kept in the audit trail)")
    return reason


def audit_row(
    actor: Actor,
    kind: ActionKind,
    target: str,
    reason: str,
    at: datetime,
    leave: LeaveRecord | None = None,
) -> ManagerAction:
    """The audit trail's row of an action: who decided it, who entered it and through what."""
    return ManagerAction(
        new_event_id(), at, actor.decided_by, kind, target, reason, leave, actor.entered_by
    )
