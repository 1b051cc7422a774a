"""Patrol findings and their photos in the rules store (SQLite and PostgreSQL share this SQL;
`SqlStore` mixes it in).

Findings are append-only: a correction of one is a void of its violation and a new finding.
Photos are kept apart, as BLOBs in the (private) store, re-encoded without metadata before
they get here (rules/photos.py); `prune_photos` drops those past the retention period and
leaves the findings.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from rules.filters import matching
from rules.patrol import PatrolFinding
from rules.stamps import stamp, unstamp

FINDING_COLUMNS = (
    "finding_id", "site", "staff_id", "window", "at", "rule", "note", "by", "photo",
)  # fmt: skip


def patrol_tables(text: str, blob: str) -> list[str]:
    """The findings' tables, in a backend's types; `at` is a UTC stamp (text order is time
    order)."""
    return [
        f"""CREATE TABLE IF NOT EXISTS findings ("finding_id" {text} PRIMARY KEY,
            "site" {text} NOT NULL, "staff_id" {text}, "window" {text}, "at" {text} NOT NULL,
            "rule" {text} NOT NULL, "note" {text} NOT NULL, "by" {text} NOT NULL,
            "photo" {text})""",
        'CREATE INDEX IF NOT EXISTS idx_findings_at ON findings ("at")',
        f"""CREATE TABLE IF NOT EXISTS finding_photos ("photo_id" {text} PRIMARY KEY,
            "at" {text} NOT NULL, "mime" {text} NOT NULL, "data" {blob} NOT NULL)""",
    ]


def _finding_of(row: Sequence[Any]) -> PatrolFinding:
    fid, site, staff, window, at, rule, note, by, photo = row
    return PatrolFinding(fid, site, staff, window, unstamp(at), rule, note, by, photo)


class PatrolQueries:
    """The findings' queries over `SqlStore`'s connection and transactions."""

    def _execute(self, text: str, params: Sequence[Any] = ()) -> Any: ...  # SqlStore's
    def _rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple]: ...
    def _transaction(self) -> AbstractContextManager[None]: ...

    def add_finding(self, finding: PatrolFinding, photo: tuple[str, bytes] | None = None) -> None:
        """Keep a finding, and its photo (MIME type, bytes) under `finding.photo`."""
        names = ", ".join(f'"{c}"' for c in FINDING_COLUMNS)
        f = finding
        with self._transaction():
            if photo is not None and f.photo is not None:
                self._execute(
                    'INSERT INTO finding_photos ("photo_id", "at", "mime", "data") '
                    "VALUES (?, ?, ?, ?)",
                    (f.photo, stamp(f.at), photo[0], photo[1]),
                )
            self._execute(
                f"INSERT INTO findings ({names}) VALUES ({', '.join('?' * len(FINDING_COLUMNS))})",
                (f.finding_id, f.site, f.staff_id, f.window, stamp(f.at), f.rule, f.note, f.by,
                 f.photo),
            )  # fmt: skip

    def findings(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        site: str | None = None,
        staff: str | None = None,
    ) -> list[PatrolFinding]:
        """Findings observed in [start, end), of one site or person, oldest first."""
        where, params = matching(
            (
                ('"at" >= ?', start and stamp(start)),
                ('"at" < ?', end and stamp(end)),
                ('"site" = ?', site),
                ('"staff_id" = ?', staff),
            )
        )
        names = ", ".join(f'"{c}"' for c in FINDING_COLUMNS)
        rows = self._rows(
            f'SELECT {names} FROM findings WHERE {where} ORDER BY "at", "finding_id"',
            params,
        )
        return [_finding_of(row) for row in rows]

    def finding(self, finding_id: str) -> PatrolFinding | None:
        names = ", ".join(f'"{c}"' for c in FINDING_COLUMNS)
        rows = self._rows(f'SELECT {names} FROM findings WHERE "finding_id" = ?', (finding_id,))
        return _finding_of(rows[0]) if rows else None

    def photo(self, photo_id: str) -> tuple[str, bytes] | None:
        """A finding's photo (MIME type, bytes); None if there is none or it was pruned."""
        rows = self._rows(
            'SELECT "mime", "data" FROM finding_photos WHERE "photo_id" = ?', (photo_id,)
        )
        return (rows[0][0], bytes(rows[0][1])) if rows else None

    def prune_photos(self, before: datetime) -> int:
        """Drop the photos of findings observed before `before`; how many went."""
        with self._transaction():
            cursor = self._execute('DELETE FROM finding_photos WHERE "at" < ?', (stamp(before),))
            return cursor.rowcount
