"""Events and brokers for the journal tests."""

from __future__ import annotations

import secrets
from datetime import timedelta

from mqtt import schema
from mqtt.ids import utc_now


def unique_site() -> str:
    return f"t-{secrets.token_hex(4)}"


def activity_event(
    site: str,
    device: str,
    app: str = "soffice",
    seconds: float = 5.0,
    *,
    category: str = "work",
    staff_id: str | None = None,
):
    now = utc_now()
    return schema.new_event(
        schema.Activity,
        site,
        device,
        now,
        user="clerk",
        start=now - timedelta(seconds=seconds),
        duration_s=seconds,
        app=app,
        category=category,
        idle_s=0.0,
        staff_id=staff_id,
    )


def alert_event(
    site: str,
    device: str,
    message: str = "sensor cover opened",
    *,
    kind: schema.AlertKind = schema.AlertKind.TAMPER,
    severity: schema.Severity = schema.Severity.MINOR,
    staff_id: str | None = None,
):
    return schema.new_event(
        schema.Alert,
        site,
        device,
        utc_now(),
        kind=kind,
        severity=severity,
        message=message,
        staff_id=staff_id,
    )
