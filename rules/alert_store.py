"""What managers did with alerts, in the rules store (SQLite and PostgreSQL share this SQL;
`SqlStore` mixes it in).

An alert is an event (the `events` table); its lifecycle is a row here: acknowledged
(who, when, note) and then cleared by hand. No row: the alert is open. An alert cleared by
its condition ending (a later healthy status of its device) needs no row: that is read
from the device's status (rules/alerts.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from mqtt import schema

AlertStateName = Literal["open", "acknowledged", "cleared"]


def alert_tables(text: str) -> list[str]:
    """The alert states' table, in a backend's types."""
    return [
        f"""CREATE TABLE IF NOT EXISTS alert_states ("alert_id" {text} PRIMARY KEY,
            "state" {text} NOT NULL, "by" {text} NOT NULL, "at" {text} NOT NULL,
            "note" {text} NOT NULL)""",
    ]


@dataclass(frozen=True, slots=True)
class AlertState:
    """What a person last did with an alert: acknowledged or cleared it, when, and why."""

    alert_id: str
    state: AlertStateName
    by: str
    at: datetime
    note: str


class AlertQueries:
    """The alert states' queries over `SqlStore`'s connection and transactions."""

    def _execute(self, text: str, params: Sequence[Any] = ()) -> Any: ...  # SqlStore's
    def _rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple]: ...
    def _transaction(self) -> AbstractContextManager[None]: ...

    def alert(self, alert_id: str) -> schema.Alert | None:
        """The alert event of that id, if one was stored."""
        rows = self._rows(
            'SELECT "payload" FROM events WHERE "id" = ? AND "kind" = \'alert\'', [alert_id]
        )
        found = schema.decode(rows[0][0]) if rows else None
        return found if isinstance(found, schema.Alert) else None

    def set_alert_state(self, state: AlertState) -> None:
        """Keep `state` as the alert's latest."""
        with self._transaction():
            self._execute(
                'INSERT INTO alert_states ("alert_id", "state", "by", "at", "note") '
                'VALUES (?, ?, ?, ?, ?) ON CONFLICT ("alert_id") DO UPDATE SET '
                '"state" = excluded."state", "by" = excluded."by", "at" = excluded."at", '
                '"note" = excluded."note"',
                [state.alert_id, state.state, state.by, state.at.isoformat(), state.note],
            )

    def alert_states(self) -> dict[str, AlertState]:
        """Every alert a person acknowledged or cleared, by alert id."""
        rows = self._rows('SELECT "alert_id", "state", "by", "at", "note" FROM alert_states')
        return {
            alert_id: AlertState(alert_id, state, by, datetime.fromisoformat(at), note)
            for alert_id, state, by, at, note in rows
        }
