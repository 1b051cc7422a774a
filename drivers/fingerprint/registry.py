"""Which staff member each template slot of the sensor belongs to (device SQLite, 0600)."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from base.migrations import Migration, migrate, sqlite_database
from base.private_files import connect_private
from drivers.fingerprint.errors import RegistryError

# Version 1: the file as the first versioned release made it (and any before).
MIGRATIONS = (
    Migration(
        1,
        "which staff member each sensor slot holds",
        [
            """CREATE TABLE IF NOT EXISTS finger_slots (
                slot        INTEGER PRIMARY KEY,
                staff_id    TEXT NOT NULL,
                enrolled_at TEXT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS finger_slots_staff ON finger_slots (staff_id)",
        ],
    ),
)


@dataclass(frozen=True)
class SlotRecord:
    slot: int
    staff_id: str
    enrolled_at: datetime


class FingerRegistry:
    """The slot -> staff map; the templates themselves stay on the sensor."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()  # one connection, shared by the station's threads
        try:
            self._conn = connect_private(self.path)
            migrate(sqlite_database(self._conn, f"the finger database {self.path}"), MIGRATIONS)
        except (OSError, sqlite3.Error) as exc:
            raise RegistryError(
                f"cannot open the finger database {self.path} ({exc}): check the data "
                "directory setting and that this user may write there"
            ) from None

    def close(self) -> None:
        self._conn.close()

    def add(self, slot: int, staff_id: str, enrolled_at: datetime | None = None) -> SlotRecord:
        when = enrolled_at or datetime.now(UTC)
        if when.tzinfo is None:
            raise ValueError("enrolled_at must be timezone-aware")
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO finger_slots (slot, staff_id, enrolled_at) "
                "VALUES (?, ?, ?)",
                (slot, staff_id, when.isoformat()),
            )
        return SlotRecord(slot, staff_id, when)

    def remove(self, slots: list[int]) -> None:
        with self._lock:
            self._conn.executemany("DELETE FROM finger_slots WHERE slot = ?", [(s,) for s in slots])

    def staff_for(self, slot: int) -> SlotRecord | None:
        rows = self._select("WHERE slot = ?", (slot,))
        return rows[0] if rows else None

    def slots_of(self, staff_id: str) -> list[SlotRecord]:
        return self._select("WHERE staff_id = ?", (staff_id,))

    def all(self) -> list[SlotRecord]:
        return self._select("", ())

    def _select(self, where: str, params: tuple[object, ...]) -> list[SlotRecord]:
        query = f"SELECT slot, staff_id, enrolled_at FROM finger_slots {where} ORDER BY slot"
        with self._lock:
            rows = self._conn.execute(query, params).fetchall()
        return [_record(row) for row in rows]


def _record(row: sqlite3.Row | tuple[int, str, str]) -> SlotRecord:
    slot, staff_id, enrolled_at = row
    return SlotRecord(slot, staff_id, datetime.fromisoformat(enrolled_at))
