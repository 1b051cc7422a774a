"""Duty rosters in the rules store (SQLite and PostgreSQL share this SQL; `SqlStore` mixes it
in). One row per site, local date, duty and person; setting an entry again replaces it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import date
from typing import Any

from rules.filters import matching
from rules.manager_actions import ManagerAction
from rules.rosters import DutyAssignment

ROSTER_COLUMNS = ("site", "day", "duty", "staff_id", "sessions", "by")


def roster_tables(text: str) -> list[str]:
    """The roster's table, in a backend's types: `day` is the site's local date (ISO, so text
    order is date order), `sessions` the session indices ("0,1"; "" for all of them)."""
    return [
        f"""CREATE TABLE IF NOT EXISTS rosters ("site" {text} NOT NULL, "day" {text} NOT NULL,
            "duty" {text} NOT NULL, "staff_id" {text} NOT NULL, "sessions" {text} NOT NULL,
            "by" {text} NOT NULL, PRIMARY KEY ("site", "day", "duty", "staff_id"))""",
        'CREATE INDEX IF NOT EXISTS idx_rosters_day ON rosters ("day")',
    ]


def _entry_of(row: Sequence[Any]) -> DutyAssignment:
    site, day, duty, staff, sessions, by = row
    indices = tuple(int(i) for i in sessions.split(",")) if sessions else None
    return DutyAssignment(site, date.fromisoformat(day), duty, staff, indices, by)


class RosterQueries:
    """The rosters' queries over `SqlStore`'s connection and transactions."""

    def _execute(self, text: str, params: Sequence[Any] = ()) -> Any: ...  # SqlStore's
    def _rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple]: ...
    def _transaction(self) -> AbstractContextManager[None]: ...
    def _add_actions(self, actions: Sequence[ManagerAction]) -> None: ...
    def _mark_days(self, marks: Iterable[tuple[str, date]]) -> None: ...  # DayQueries'

    def set_duties(
        self,
        entries: Sequence[DutyAssignment],
        audit: Sequence[ManagerAction] = (),
        pending: Iterable[tuple[str, date]] = (),
    ) -> None:
        """Keep roster entries, each replacing the same site, day, duty and person, with
        their audit rows and the person-days to re-judge: all or none."""
        names = ", ".join(f'"{c}"' for c in ROSTER_COLUMNS)
        with self._transaction():
            self._add_actions(audit)
            self._mark_days(pending)
            for e in entries:
                self._remove(e.site, e.day, e.duty, e.staff_id)
                sessions = "" if e.sessions is None else ",".join(str(i) for i in e.sessions)
                self._execute(
                    f"INSERT INTO rosters ({names}) VALUES (?, ?, ?, ?, ?, ?)",
                    (e.site, e.day.isoformat(), e.duty, e.staff_id, sessions, e.by),
                )

    def remove_duty(
        self, site: str, day: date, duty: str, staff: str, audit: Sequence[ManagerAction] = ()
    ) -> bool:
        """Take a person off a duty of a day, with the audit rows (only if they were on it);
        whether they were."""
        with self._transaction():
            if self._remove(site, day, duty, staff) == 0:
                return False
            self._add_actions(audit)
            return True

    def _remove(self, site: str, day: date, duty: str, staff: str) -> int:
        cursor = self._execute(
            'DELETE FROM rosters WHERE "site" = ? AND "day" = ? AND "duty" = ? AND "staff_id" = ?',
            (site, day.isoformat(), duty, staff),
        )
        return cursor.rowcount

    def rosters(
        self,
        first: date | None = None,
        last: date | None = None,
        *,
        site: str | None = None,
        staff: str | None = None,
    ) -> list[DutyAssignment]:
        """Roster entries of the days [first, last] (both inclusive), by day, site, duty."""
        where, params = matching(
            (
                ('"day" >= ?', first and first.isoformat()),
                ('"day" <= ?', last and last.isoformat()),
                ('"site" = ?', site),
                ('"staff_id" = ?', staff),
            )
        )
        names = ", ".join(f'"{c}"' for c in ROSTER_COLUMNS)
        rows = self._rows(
            f'SELECT {names} FROM rosters WHERE {where} ORDER BY "day", "site", "duty", "staff_id"',
            params,
        )
        return [_entry_of(row) for row in rows]
