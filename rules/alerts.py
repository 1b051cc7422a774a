"""Alerts that close: open → acknowledged (who, when, note) → cleared.

An alert is cleared by hand (a person's note) or by its condition ending: a sensor, camera
or disk fault clears itself when a later status of its device, online, reports that part
healthy again. Pure: alerts, the states people recorded and the devices' latest statuses
in, each alert's lifecycle out. The states are kept by rules/alert_store.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from mqtt import schema
from mqtt.schema import AlertKind
from rules.alert_store import AlertState, AlertStateName
from rules.directory import Directory
from rules.store import DeviceSeen

# A disk-full station writes again once this much is free (its journal needs room to grow).
DISK_FREE_AGAIN_MB = 100

# Which part of a device's health ends each fault that can end by itself.
HEALED: dict[AlertKind, Callable[[schema.Health], bool]] = {
    AlertKind.SENSOR_FAULT: lambda health: health.sensor == "ok",
    AlertKind.PROBE_FAULT: lambda health: health.sensor == "ok",  # an agent's probes
    AlertKind.CAMERA_FAULT: lambda health: health.camera == "ok",
    AlertKind.DISK_FULL: lambda health: (health.disk_free_mb or 0) >= DISK_FREE_AGAIN_MB,
}

# Alerts about a device, not a person: an admin's item, never a violation.
DEVICE_FAULTS = frozenset(
    {
        AlertKind.SENSOR_FAULT,
        AlertKind.CAMERA_FAULT,
        AlertKind.TAMPER,
        AlertKind.DUPLICATE_DEVICE,
        AlertKind.DISK_FULL,
        AlertKind.CLOCK_FAULT,
        AlertKind.PROBE_FAULT,
        AlertKind.SOFTWARE_FAULT,
    }
)


@dataclass(frozen=True, slots=True)
class AlertItem:
    """An alert and where it is in its lifecycle."""

    alert: schema.Alert
    state: AlertStateName
    by: str | None = None  # who acknowledged or cleared it (None: open, or cleared by itself)
    at: datetime | None = None  # when they did, or when its device reported it healthy
    note: str = ""
    acknowledged: AlertState | None = None  # kept when it then cleared by itself

    @property
    def alert_id(self) -> str:
        return self.alert.id

    @property
    def cleared_by_itself(self) -> bool:
        return self.state == "cleared" and self.by is None


def is_item(alert: schema.Alert, directory: Directory) -> bool:
    """Whether an alert is an item to act on: a device's fault, or an alert no person of
    the directory answers for (an unknown face, an unattributed spoof). An attributed
    spoof is judged as a violation instead."""
    return alert.kind in DEVICE_FAULTS or not (
        alert.staff_id and directory.sites_of(alert.staff_id)
    )


def healed_at(alert: schema.Alert, statuses: Iterable[DeviceSeen]) -> datetime | None:
    """When the alert's device last reported the faulty part healthy after the alert."""
    healthy = HEALED.get(alert.kind)
    if healthy is None:
        return None
    for seen in statuses:
        s = seen.status
        if (s.site, s.device) != (alert.site, alert.device) or s.ts <= alert.ts:
            continue
        if s.state == "online" and s.health is not None and healthy(s.health):
            return s.ts
    return None


def lifecycle(
    alert: schema.Alert,
    states: Mapping[str, AlertState],
    statuses: Iterable[DeviceSeen],
) -> AlertItem:
    """The alert's lifecycle: a person's clearing, else its condition's ending, else what
    a person acknowledged, else open (the audit trail keeps every step)."""
    recorded = states.get(alert.id)
    if recorded is not None and recorded.state == "cleared":
        return AlertItem(alert, "cleared", recorded.by, recorded.at, recorded.note)
    ack = recorded if recorded is not None and recorded.state == "acknowledged" else None
    healed = healed_at(alert, statuses)
    if healed is not None:
        return AlertItem(alert, "cleared", None, healed, "", ack)
    if ack is not None:
        return AlertItem(alert, "acknowledged", ack.by, ack.at, ack.note, ack)
    return AlertItem(alert, "open")


@dataclass(frozen=True, slots=True)
class AlertRow:
    """An alert and its lifecycle flat, for lists, CSV and JSON (codes, not words)."""

    alert_id: str
    site: str
    device: str
    kind: str
    severity: str
    message: str
    raised: datetime
    state: AlertStateName
    by: str | None  # who acknowledged or cleared it (None: open, or cleared by itself)
    at: datetime | None
    note: str

    @classmethod
    def of(cls, item: AlertItem) -> AlertRow:
        a = item.alert
        return cls(
            a.id,
            a.site,
            a.device,
            str(a.kind),
            str(a.severity),
            a.message,
            a.ts,
            item.state,
            item.by,
            item.at,
            item.note,
        )
