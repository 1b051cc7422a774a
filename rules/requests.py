"""Requests a person makes through a manager: punch corrections (补卡) and appeals (申诉).

A request is raised (pending) and then decided once, approved or rejected with a reason.
An approved punch correction is an input of the engine: an attested punch (`attested`),
judged like a punch from a station (it can cure an absence or a missing punch) and shown
as attested wherever punches are shown. An upheld appeal is a void of its violation (a
manager action, rules/manager_actions.py); a rejected request changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from mqtt import schema
from mqtt.schema import Action, Method

RequestKind = Literal["punch", "appeal"]
RequestStatus = Literal["pending", "approved", "rejected"]
# The device an attested punch names; its id ("att-" and the request's) is no event's UUID.
ATTESTED_DEVICE = "attested"
ATTESTED_METHOD = "attested"  # the method shown for it (rules/words.py METHODS)
PUNCH_ACTIONS = (Action.CLOCK_IN.value, Action.CLOCK_OUT.value)


@dataclass(frozen=True, slots=True)
class Request:
    """A punch correction (`kind` punch: `at`, `action`) or an appeal (`kind` appeal:
    `violation_id`), of one person at one site, with its decision once decided."""

    request_id: str
    kind: RequestKind
    site: str
    staff_id: str
    reason: str
    raised_by: str  # who entered it ("wang via cli")
    raised_at: datetime
    at: datetime | None = None  # the punch's moment (punch)
    action: str | None = None  # clock_in | clock_out (punch)
    violation_id: str | None = None  # the violation appealed against (appeal)
    status: RequestStatus = "pending"
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision: str | None = None  # the decider's reason

    @property
    def punch_id(self) -> str:
        """The id of the attested punch an approved correction becomes (its evidence id)."""
        return f"att-{self.request_id}"


def attested_punches(requests: Iterable[Request]) -> list[schema.Punch]:
    """The approved punch corrections as punches the engine judges like any other."""
    return [
        schema.Punch(
            id=r.punch_id,
            seq=0,
            site=r.site,
            device=ATTESTED_DEVICE,
            ts=r.at,
            staff_id=r.staff_id,
            action=Action(r.action),
            method=Method.FINGER,  # a placeholder: `is_attested` tells it apart
            score=0.0,
        )
        for r in requests
        if r.kind == "punch" and r.status == "approved" and r.at is not None and r.action
    ]


def is_attested(punch: schema.Punch) -> bool:
    """Whether a punch is an approved punch correction rather than a station's."""
    return punch.device == ATTESTED_DEVICE and punch.id.startswith("att-")
