"""Events and brokers for the journal tests."""

from __future__ import annotations

import secrets
from datetime import timedelta

from mqtt import schema
from mqtt.ids import new_event_id, utc_now


def unique_site() -> str:
    return f"t-{secrets.token_hex(4)}"


def activity_event(site: str, device: str, app: str = "soffice", seconds: float = 5.0):
    now = utc_now()
    return schema.Activity(
        id=new_event_id(),
        seq=0,
        site=site,
        device=device,
        ts=now,
        user="clerk",
        start=now - timedelta(seconds=seconds),
        duration_s=seconds,
        app=app,
        category="work",
        idle_s=0.0,
    )


def alert_event(site: str, device: str, message: str = "sensor cover opened"):
    return schema.Alert(
        id=new_event_id(),
        seq=0,
        site=site,
        device=device,
        ts=utc_now(),
        kind=schema.AlertKind.TAMPER,
        severity=schema.Severity.MINOR,
        message=message,
    )
