"""The topic tree: one place that builds and parses every hallwatch topic.

    hallwatch/v1/{site}/{device}/status     retained; last will "offline"   device -> all
    hallwatch/v1/{site}/{device}/clock      punches                          device -> central
    hallwatch/v1/{site}/{device}/activity   workstation intervals            agent  -> central
    hallwatch/v1/{site}/{device}/alert      spoof, unknown face, faults      device -> central
    hallwatch/v1/{site}/{device}/ack        config acknowledgements          device -> central
    hallwatch/v1/{site}/{device}/enrolment  templates enrolled at a device   device -> central
    hallwatch/v1/{site}/{device}/resent     its answer to a resend request   device -> central
    hallwatch/v1/{site}/{device}/config     retained gallery and timetable   central -> device
    hallwatch/v1/{site}/{device}/command    resend a range of its journal    central -> device
    hallwatch/v1/{site}/central/violation   violations                       rules  -> all
    hallwatch/v1/{site}/central/correction  corrections, voids, leave        rules  -> all
    hallwatch/v1/{site}/central/inspection  daily inspection summaries       rules  -> all
    hallwatch/v1/{site}/central/deadletter  rejected payloads with reasons   rules  -> admins

`central` is a reserved source name: no device may be called that.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from base.errors import HallwatchError
from base.identifiers import NODE_ID, IdError

ROOT = "hallwatch/v1"
CENTRAL = "central"


class Kind(StrEnum):
    STATUS = "status"
    CLOCK = "clock"
    ACTIVITY = "activity"
    ALERT = "alert"
    ACK = "ack"
    ENROLMENT = "enrolment"
    RESENT = "resent"
    CONFIG = "config"
    COMMAND = "command"
    VIOLATION = "violation"
    CORRECTION = "correction"
    INSPECTION = "inspection"
    DEADLETTER = "deadletter"


DEVICE_KINDS = (
    Kind.STATUS,
    Kind.CLOCK,
    Kind.ACTIVITY,
    Kind.ALERT,
    Kind.ACK,
    Kind.ENROLMENT,
    Kind.RESENT,
)
# What the rules service sends one device, on that device's own topics.
TO_DEVICE_KINDS = (Kind.CONFIG, Kind.COMMAND)
CENTRAL_KINDS = (Kind.VIOLATION, Kind.CORRECTION, Kind.INSPECTION, Kind.DEADLETTER)
RETAINED_KINDS = (Kind.STATUS, Kind.CONFIG)
# What a live view shows (BRIEF.md: every punch, alert, device status and violation): the
# viewer account reads these and nothing else (no face templates, activity, dead letters).
LIVE_KINDS = (
    Kind.STATUS,
    Kind.CLOCK,
    Kind.ALERT,
    Kind.VIOLATION,
    Kind.CORRECTION,
    Kind.INSPECTION,
)


class TopicError(HallwatchError, ValueError):
    """A topic outside the hallwatch tree, or with an invalid part."""


def check_id(value: str, what: str) -> str:
    try:
        return NODE_ID.check(value, f"{what} id")
    except IdError as exc:
        raise TopicError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class Topic:
    site: str
    source: str  # a device id, or CENTRAL
    kind: Kind

    def __str__(self) -> str:
        return f"{ROOT}/{self.site}/{self.source}/{self.kind}"

    @property
    def from_central(self) -> bool:
        return self.source == CENTRAL


def device_topic(site: str, device: str, kind: Kind) -> str:
    """The topic a device publishes (or, for config, reads) on."""
    check_id(site, "site")
    check_id(device, "device")
    if device == CENTRAL:
        raise TopicError(f"'{CENTRAL}' is reserved and cannot be a device id")
    if kind in CENTRAL_KINDS:
        raise TopicError(f"{kind} is published by the rules service, not by devices")
    return f"{ROOT}/{site}/{device}/{kind}"


def central_topic(site: str, kind: Kind) -> str:
    """A topic the rules service publishes on."""
    check_id(site, "site")
    if kind not in CENTRAL_KINDS:
        raise TopicError(f"{kind} is not a rules-service topic")
    return f"{ROOT}/{site}/{CENTRAL}/{kind}"


def subscription(
    site: str | None = None, source: str | None = None, kind: Kind | None = None
) -> str:
    """A topic filter; None means any (`+`)."""
    parts = [site or "+", source or "+", str(kind) if kind else "+"]
    return f"{ROOT}/{'/'.join(parts)}"


def shared(group: str, topic_filter: str) -> str:
    """A shared subscription, so several service instances split the load."""
    return f"$share/{group}/{topic_filter}"


def parse(topic: str) -> Topic:
    """Parse a concrete topic; raise TopicError naming what is wrong."""
    parts = topic.split("/")
    if len(parts) != 5 or f"{parts[0]}/{parts[1]}" != ROOT:
        raise TopicError(f"not a hallwatch topic: {topic!r} (expected {ROOT}/SITE/SOURCE/KIND)")
    _, _, site, source, kind_text = parts
    check_id(site, "site")
    check_id(source, "device")
    try:
        kind = Kind(kind_text)
    except ValueError:
        raise TopicError(f"unknown topic kind {kind_text!r} in {topic!r}") from None
    expected = CENTRAL_KINDS if source == CENTRAL else (*DEVICE_KINDS, *TO_DEVICE_KINDS)
    if kind not in expected:
        raise TopicError(
            f"{kind} is not published by {'central' if source == CENTRAL else 'a device'}"
        )
    return Topic(site, source, kind)
