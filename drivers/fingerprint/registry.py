"""Which staff member each template slot of the sensor belongs to (device SQLite, 0600)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hallwatch.storage import connect_private

_SCHEMA = """
CREATE TABLE IF NOT EXISTS finger_slots (
    slot        INTEGER PRIMARY KEY,
    staff_id    TEXT NOT NULL,
    enrolled_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS finger_slots_staff ON finger_slots (staff_id);
"""


@dataclass(frozen=True)
class SlotRecord:
    slot: int
    staff_id: str
    enrolled_at: datetime


class FingerRegistry:
    """The slot -> staff map; the templates themselves stay on the sensor."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn = connect_private(self.path)
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def add(self, slot: int, staff_id: str, enrolled_at: datetime | None = None) -> SlotRecord:
        when = enrolled_at or datetime.now(UTC)
        if when.tzinfo is None:
            raise ValueError("enrolled_at must be timezone-aware")
        self._conn.execute(
            "INSERT OR REPLACE INTO finger_slots (slot, staff_id, enrolled_at) VALUES (?, ?, ?)",
            (slot, staff_id, when.isoformat()),
        )
        return SlotRecord(slot, staff_id, when)

    def remove(self, slots: list[int]) -> None:
        self._conn.executemany("DELETE FROM finger_slots WHERE slot = ?", [(s,) for s in slots])

    def staff_for(self, slot: int) -> SlotRecord | None:
        row = self._conn.execute(
            "SELECT slot, staff_id, enrolled_at FROM finger_slots WHERE slot = ?", (slot,)
        ).fetchone()
        return _record(row) if row else None

    def slots_of(self, staff_id: str) -> list[SlotRecord]:
        rows = self._conn.execute(
            "SELECT slot, staff_id, enrolled_at FROM finger_slots WHERE staff_id = ? ORDER BY slot",
            (staff_id,),
        )
        return [_record(row) for row in rows]

    def all(self) -> list[SlotRecord]:
        rows = self._conn.execute(
            "SELECT slot, staff_id, enrolled_at FROM finger_slots ORDER BY slot"
        )
        return [_record(row) for row in rows]


def _record(row: sqlite3.Row | tuple[int, str, str]) -> SlotRecord:
    slot, staff_id, enrolled_at = row
    return SlotRecord(slot, staff_id, datetime.fromisoformat(enrolled_at))
