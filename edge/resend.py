"""A device's side of delivery that does not depend on the broker: the centre asks for a
range of the journal it has not got (`Resend`, on the device's command topic); the device
publishes again what it holds of it and says what it no longer has (`Resent`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from edge.journal import Journal
from mqtt import schema
from mqtt.topics import Kind, device_topic

log = logging.getLogger(__name__)


def answer_resend(
    journal: Journal, site: str, device: str, topic: str, payload: bytes, now: datetime
) -> schema.Resent | None:
    """Take a resend request from the command topic: mark the range unsent again and
    journal the answer (published like any event). None for a message that is not one."""
    if topic != device_topic(site, device, Kind.COMMAND):
        log.error("resend request on %s refused: not this device's command topic", topic)
        return None
    try:
        request = schema.decode_as(schema.Resend, payload, topic)
    except schema.PayloadError as exc:
        log.error("resend request on %s refused: %s", topic, exc.reason)
        return None
    resent, missing = journal.resend(request.first_seq, request.last_seq)
    if missing:
        log.warning(
            "asked for %d-%d: %d entries no longer held (%d ranges)",
            request.first_seq,
            request.last_seq,
            sum(b - a + 1 for a, b in missing),
            len(missing),
        )
    answer = schema.new_event(
        schema.Resent,
        site,
        device,
        now,
        request_id=request.id,
        first_seq=request.first_seq,
        last_seq=request.last_seq,
        resent=resent,
        missing=missing[: schema.MAX_MISSING_RANGES],
    )
    return journal.append(answer)  # type: ignore[return-value]


def resend_handler(
    journal: Journal, site: str, device: str, now: Callable[[], datetime]
) -> Callable[[str, bytes], None]:
    """The command topic's message handler for a device's MQTT client."""

    def handle(topic: str, payload: bytes) -> None:
        if payload:
            answer_resend(journal, site, device, topic, payload, now())

    return handle
