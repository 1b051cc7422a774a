"""Export and import of sensor templates, to install staff on other devices or restore one.

The file is JSON with a SHA-256 over its content, written 0600: templates are biometric
data. Templates are only portable between sensors of the same family (same template format);
the file records the source sensor so a mismatch can be explained.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from base.identifiers import check_staff_id
from base.private_files import replace_private
from drivers.fingerprint.errors import BackupFileError
from drivers.fingerprint.sensor import FingerprintSensor

FORMAT = "hallwatch-finger-templates"
VERSION = 1


@dataclass(frozen=True)
class BackupEntry:
    staff_id: str
    slot: int
    enrolled_at: datetime
    template: bytes


@dataclass
class ImportReport:
    installed: list[tuple[str, int]] = field(default_factory=list)  # (staff, slot)
    remapped: list[tuple[str, int]] = field(default_factory=list)  # already on the sensor
    skipped: list[str] = field(default_factory=list)  # why each one was left out


def _digest(document: dict[str, Any]) -> str:
    body = {key: value for key, value in document.items() if key != "sha256"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def export_templates(sensor: FingerprintSensor, path: str | Path) -> int:
    """Write every mapped template to `path` (0600, atomically); returns how many."""
    info = sensor.info()
    on_sensor = sensor.occupied_slots()
    entries = [
        {
            "staff_id": record.staff_id,
            "slot": record.slot,
            "enrolled_at": record.enrolled_at.isoformat(),
            "template": base64.b64encode(sensor.read_template(record.slot)).decode("ascii"),
        }
        for record in sensor.registry.all()
        if record.slot in on_sensor
    ]
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": datetime.now(UTC).isoformat(),
        "sensor": {"capacity": info.capacity, "system_id": info.system_id},
        "templates": entries,
    }
    document["sha256"] = _digest(document)
    path = Path(path)
    try:
        replace_private(path, json.dumps(document, ensure_ascii=False, indent=1).encode())
    except OSError as exc:
        raise BackupFileError(f"{path}: cannot write the export ({exc})") from None
    return len(entries)


def read_backup(path: str | Path) -> list[BackupEntry]:
    """Parse and verify an export file; every problem is a BackupFileError naming the file."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupFileError(f"{path}: no such template file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupFileError(f"{path}: not a readable template export ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BackupFileError(f"{path}: not a hallwatch fingerprint template export")
    if document.get("version") != VERSION:
        raise BackupFileError(
            f"{path}: export version {document.get('version')!r} is not supported (this "
            f"hallwatch reads version {VERSION}): export again with this version"
        )
    if document.get("sha256") != _digest(document):
        raise BackupFileError(
            f"{path}: the content does not match its checksum (modified or truncated): use an "
            "intact copy of the export"
        )
    entries = []
    for index, item in enumerate(document.get("templates", [])):
        try:
            template = base64.b64decode(item["template"], validate=True)
            entries.append(
                BackupEntry(
                    check_staff_id(item["staff_id"]),
                    int(item["slot"]),
                    datetime.fromisoformat(item["enrolled_at"]),
                    template,
                )
            )
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise BackupFileError(f"{path}: template #{index + 1} is malformed ({exc})") from None
        if not template or entries[-1].enrolled_at.tzinfo is None:
            raise BackupFileError(f"{path}: template #{index + 1} is empty or has no time zone")
    return entries


def import_templates(sensor: FingerprintSensor, path: str | Path) -> ImportReport:
    """Install the templates of an export on this sensor.

    A finger the sensor already holds is not stored twice (its mapping is restored if it was
    lost); no template is stored unless every new one fits.
    """
    entries = read_backup(path)
    report = ImportReport()
    new: list[BackupEntry] = []
    for entry in entries:
        found = sensor.find_template(entry.template)
        if found is None:
            new.append(entry)
            continue
        owner = sensor.registry.staff_for(found[0])
        if owner is None:
            sensor.map_slot(found[0], entry.staff_id, entry.enrolled_at)
            report.remapped.append((entry.staff_id, found[0]))
        elif owner.staff_id == entry.staff_id:
            report.skipped.append(f"{entry.staff_id}: already enrolled in slot {found[0]}")
        else:
            report.skipped.append(
                f"{entry.staff_id}: this finger is enrolled for {owner.staff_id} in slot "
                f"{found[0]}; delete that enrolment first to install it"
            )
    free = sensor.free_slots()
    if len(new) > len(free):
        raise sensor.store_full(needed=len(new), free=len(free))
    available = set(free)
    for entry in new:
        slot = entry.slot if entry.slot in available else min(available)
        available.discard(slot)
        sensor.install_template(entry.template, entry.staff_id, slot, entry.enrolled_at)
        report.installed.append((entry.staff_id, slot))
    return report
