"""Person-month tallies in the rules store (rules/tally.py; `SqlStore` mixes it in, SQLite
and PostgreSQL share the SQL).

`month_tallies` holds one row per person-month with violations: written by
`replace_violations` in the transaction that writes the person-month's violations (every
recomputation, the ones a manager's void or correction starts included, goes through it),
so a tally is never older or newer than its violations. A person-month without a row has
no violation. Schema version 5 made the table and tallied the months already stored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from rules.engine import ViolationRecord
from rules.tally import Tally, tally, tally_of

TALLY_COLUMNS = ("deductions", "minor", "serious", "voided", "vetoes", "windows")
KEEP_TALLY = (
    'INSERT INTO month_tallies ("staff_id", "month", '
    + ", ".join(f'"{c}"' for c in TALLY_COLUMNS)
    + ') VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT ("staff_id", "month") DO UPDATE SET '
    + ", ".join(f'"{c}" = excluded."{c}"' for c in TALLY_COLUMNS)
)


def tally_tables(text: str, real: str) -> list[str]:
    """The table, in a backend's types (`real`: a double, so sums read back exactly)."""
    return [
        f"""CREATE TABLE IF NOT EXISTS month_tallies ("staff_id" {text} NOT NULL,
            "month" {text} NOT NULL, "deductions" {real} NOT NULL, "minor" INTEGER NOT NULL,
            "serious" INTEGER NOT NULL, "voided" INTEGER NOT NULL, "vetoes" {text} NOT NULL,
            "windows" {text} NOT NULL, PRIMARY KEY ("month", "staff_id"))""",
    ]


def tally_row(staff: str, month: str, counted: Tally) -> list[Any]:
    """The parameters of `KEEP_TALLY` for a person-month."""
    c = counted
    vetoes = json.dumps(list(c.vetoes))
    return [staff, month, c.deductions, c.minor, c.serious, c.voided, vetoes, c.text()]


class TallyQueries:
    """The tallies' queries over `SqlStore`'s connection and transactions."""

    def _execute(self, text: str, params: Sequence[Any] = ()) -> Any: ...  # SqlStore's
    def _rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple]: ...
    def _transaction(self) -> AbstractContextManager[None]: ...

    def _keep_tally(self, staff: str, month: str, records: Sequence[ViolationRecord]) -> None:
        """Inside `replace_violations`' transaction: the person-month's tally of `records`,
        its violations from now on."""
        if records:
            self._execute(KEEP_TALLY, tally_row(staff, month, tally(records)))
        else:
            self._execute(
                'DELETE FROM month_tallies WHERE "month" = ? AND "staff_id" = ?', [month, staff]
            )

    def month_tallies(self, month: str) -> dict[str, Tally]:
        """Per staff member with violations in `month`, their tally."""
        names = ", ".join(f'"{c}"' for c in TALLY_COLUMNS)
        rows = self._rows(
            f'SELECT "staff_id", {names} FROM month_tallies WHERE "month" = ?', [month]
        )
        return {staff: tally_of(*rest) for staff, *rest in rows}
