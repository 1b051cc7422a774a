"""The rules service's store: a narrow interface, and SQLite (sqlite-utils) behind it.

Events and manager actions are append-only (an event id is stored once; redeliveries are
ignored); violations are derived and replaced whenever a person-month is recomputed. The
SQL is kept portable (no SQLite-only constructs in queries) so PostgreSQL can follow.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

import sqlite_utils

from hallwatch.storage import connect_private
from mqtt import schema
from mqtt.schema import LeaveKind
from rules.actions import LeaveRecord, ManagerAction
from rules.engine import ViolationRecord, event_time

BATCH = 500  # bound on the ids of one IN (...) query
# Dead letters are bounded so a device (or an attacker with its credentials) publishing
# garbage cannot grow the database without end: past the cap the oldest rows go first,
# and the count of rows dropped stays visible.
DEAD_LETTER_CAP = 10_000
DEAD_LETTER_PAYLOAD_CHARS = 4096  # what is kept of a rejected payload


def stamp(moment: datetime) -> str:
    """A UTC timestamp whose text order is its time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class DeadLetterRow:
    received: datetime
    topic: str
    reason: str
    payload: str


class Store(Protocol):
    """What the service, the CLI and the reports need from a store, and nothing more."""

    def add_events(self, events: Sequence[tuple[schema.Event, bytes]]) -> list[schema.Event]:
        """Store events not seen before (by id); return those that were new."""

    def add_dead_letter(self, row: DeadLetterRow) -> None:
        """Keep the row (its payload cut to DEAD_LETTER_PAYLOAD_CHARS); past the store's cap
        drop the oldest rows."""

    def dead_letters(self, limit: int = 100) -> list[DeadLetterRow]: ...

    def dead_letter_counts(self) -> tuple[int, int]:
        """(rows kept, rows dropped over the cap since the store was created)."""

    def events(
        self,
        start: datetime,
        end: datetime,
        *,
        staff: str | None = None,
        workstations: Iterable[tuple[str, str]] = (),
        kinds: Iterable[str] = (),
    ) -> list[schema.Event]:
        """Events in [start, end); with `staff`, only theirs (and their workstations')."""

    def latest_status(self) -> list[schema.Status]: ...

    def add_action(self, action: ManagerAction) -> None: ...

    def actions(self) -> list[ManagerAction]: ...

    def replace_violations(
        self, staff: str, month: str, records: Sequence[ViolationRecord]
    ) -> tuple[list[ViolationRecord], list[ViolationRecord]]:
        """Make the person-month's violations `records`; return (changed, withdrawn)."""

    def violations(
        self,
        *,
        month: str | None = None,
        day: date | None = None,
        staff: str | None = None,
        site: str | None = None,
    ) -> list[ViolationRecord]: ...

    def violation(self, violation_id: str) -> ViolationRecord | None: ...

    def close(self) -> None: ...


def _violation_row(r: ViolationRecord) -> dict:
    return {
        "violation_id": r.violation_id,
        "staff_id": r.staff_id,
        "site": r.site,
        "window": r.window,
        "month": r.day.strftime("%Y-%m"),
        "day": r.day.isoformat(),
        "at": r.at.isoformat(),
        "rule": r.rule,
        "severity": r.severity,
        "deduction": r.deduction,
        "correction_no": r.correction_no,
        "escalated": int(r.escalated),
        "veto": int(r.veto),
        "evidence": json.dumps(list(r.evidence)),
        "status": r.status,
        "detail": r.detail,
    }


def _violation_of(row: dict) -> ViolationRecord:
    return ViolationRecord(
        violation_id=row["violation_id"],
        staff_id=row["staff_id"],
        site=row["site"],
        window=row["window"],
        day=date.fromisoformat(row["day"]),
        at=datetime.fromisoformat(row["at"]),
        rule=row["rule"],
        severity=row["severity"],
        deduction=float(row["deduction"]),
        correction_no=row["correction_no"],
        escalated=bool(row["escalated"]),
        veto=bool(row["veto"]),
        evidence=tuple(json.loads(row["evidence"])),
        status=row["status"],
        detail=row["detail"],
    )


def _action_row(a: ManagerAction) -> dict:
    leave = a.leave
    return {
        "action_id": a.action_id,
        "ts": a.ts.isoformat(),
        "by": a.by,
        "action": a.action,
        "target": a.target,
        "reason": a.reason,
        "leave": None
        if leave is None
        else json.dumps(
            {
                "leave_id": leave.leave_id,
                "staff_id": leave.staff_id,
                "start": leave.start.isoformat(),
                "end": leave.end.isoformat(),
                "kind": str(leave.kind),
                "reason": leave.reason,
            }
        ),
    }


def _action_of(row: dict) -> ManagerAction:
    leave = None
    if row["leave"]:
        data = json.loads(row["leave"])
        leave = LeaveRecord(
            data["leave_id"],
            data["staff_id"],
            datetime.fromisoformat(data["start"]),
            datetime.fromisoformat(data["end"]),
            LeaveKind(data["kind"]),
            data["reason"],
        )
    return ManagerAction(
        row["action_id"],
        datetime.fromisoformat(row["ts"]),
        row["by"],
        row["action"],
        row["target"],
        row["reason"],
        leave,
    )


class SqliteStore:
    """The default store: one private (0600) WAL SQLite file."""

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: str = "FULL",
        dead_letter_cap: int = DEAD_LETTER_CAP,
    ) -> None:
        self.path = Path(path)
        self.dead_letter_cap = dead_letter_cap
        self.db = sqlite_utils.Database(connect_private(self.path, synchronous=synchronous))
        self._create()

    def _create(self) -> None:
        db = self.db
        if "events" not in db.table_names():
            db["events"].create(
                {
                    "id": str,
                    "kind": str,
                    "site": str,
                    "device": str,
                    "staff_id": str,
                    "at": str,
                    "payload": str,
                },
                pk="id",
            )
            db["events"].create_index(["staff_id", "at"])
            db["events"].create_index(["site", "device", "at"])
            db["events"].create_index(["at"])
        if "dead_letters" not in db.table_names():
            db["dead_letters"].create(
                {"n": int, "received": str, "topic": str, "reason": str, "payload": str}, pk="n"
            )
        if "actions" not in db.table_names():
            db["actions"].create(
                {
                    "action_id": str,
                    "ts": str,
                    "by": str,
                    "action": str,
                    "target": str,
                    "reason": str,
                    "leave": str,
                },
                pk="action_id",
            )
        if "violations" not in db.table_names():
            db["violations"].create(
                {
                    "violation_id": str,
                    "staff_id": str,
                    "site": str,
                    "window": str,
                    "month": str,
                    "day": str,
                    "at": str,
                    "rule": str,
                    "severity": str,
                    "deduction": float,
                    "correction_no": int,
                    "escalated": int,
                    "veto": int,
                    "evidence": str,
                    "status": str,
                    "detail": str,
                },
                pk="violation_id",
            )
            db["violations"].create_index(["month", "staff_id"])
            db["violations"].create_index(["day"])

    # -- events ----------------------------------------------------------------------
    def add_events(self, events: Sequence[tuple[schema.Event, bytes]]) -> list[schema.Event]:
        fresh: dict[str, tuple[schema.Event, bytes]] = {}
        for event, payload in events:
            fresh.setdefault(event.id, (event, payload))
        ids = list(fresh)
        for chunk in (ids[i : i + BATCH] for i in range(0, len(ids), BATCH)):
            marks = ",".join("?" * len(chunk))
            for (known,) in self.db.execute(
                f"SELECT id FROM events WHERE id IN ({marks})", chunk
            ).fetchall():
                del fresh[known]
        rows = [
            {
                "id": event.id,
                "kind": str(schema.kind_of(event)),
                "site": event.site,
                "device": event.device,
                "staff_id": getattr(event, "staff_id", None),
                "at": stamp(event_time(event)),
                "payload": payload.decode(),
            }
            for event, payload in fresh.values()
        ]
        with self.db.atomic():
            self.db["events"].insert_all(rows, ignore=True, batch_size=BATCH)
        return [event for event, _ in fresh.values()]

    def events(
        self,
        start: datetime,
        end: datetime,
        *,
        staff: str | None = None,
        workstations: Iterable[tuple[str, str]] = (),
        kinds: Iterable[str] = (),
    ) -> list[schema.Event]:
        where = ["at >= ?", "at < ?"]
        params: list[str] = [stamp(start), stamp(end)]
        if staff is not None:
            who = ["staff_id = ?"]
            params.append(staff)
            for site, device in workstations:
                who.append("(staff_id IS NULL AND site = ? AND device = ?)")
                params += [site, device]
            where.append(f"({' OR '.join(who)})")
        kinds = list(kinds)
        if kinds:
            where.append(f"kind IN ({','.join('?' * len(kinds))})")
            params += kinds
        sql = f"SELECT payload FROM events WHERE {' AND '.join(where)} ORDER BY at, id"
        return [schema.decode(p) for (p,) in self.db.execute(sql, params).fetchall()]

    def latest_status(self) -> list[schema.Status]:
        sql = (
            "SELECT e.payload FROM events e JOIN (SELECT site, device, MAX(at) AS last "
            "FROM events WHERE kind = 'status' GROUP BY site, device) l "
            "ON e.site = l.site AND e.device = l.device AND e.at = l.last "
            "WHERE e.kind = 'status' ORDER BY e.site, e.device"
        )
        return [schema.decode(p) for (p,) in self.db.execute(sql).fetchall()]

    # -- dead letters ----------------------------------------------------------------
    def add_dead_letter(self, row: DeadLetterRow) -> None:
        with self.db.atomic():
            self.db["dead_letters"].insert(
                {
                    "received": row.received.isoformat(),
                    "topic": row.topic,
                    "reason": row.reason,
                    "payload": row.payload[:DEAD_LETTER_PAYLOAD_CHARS],
                }
            )
            # `n` only grows (rows go oldest first), so MAX(n) - COUNT(*) is what was dropped.
            self.db.execute(
                "DELETE FROM dead_letters WHERE n <= (SELECT MAX(n) FROM dead_letters) - ?",
                [self.dead_letter_cap],
            )

    def dead_letters(self, limit: int = 100) -> list[DeadLetterRow]:
        rows = self.db.execute(
            "SELECT received, topic, reason, payload FROM dead_letters ORDER BY n DESC LIMIT ?",
            [limit],
        ).fetchall()
        return [DeadLetterRow(datetime.fromisoformat(r[0]), r[1], r[2], r[3]) for r in rows]

    def dead_letter_counts(self) -> tuple[int, int]:
        kept, last = self.db.execute("SELECT COUNT(*), MAX(n) FROM dead_letters").fetchone()
        return kept, (last or 0) - kept

    # -- manager actions ---------------------------------------------------------------
    def add_action(self, action: ManagerAction) -> None:
        with self.db.atomic():
            self.db["actions"].insert(_action_row(action))

    def actions(self) -> list[ManagerAction]:
        return [_action_of(row) for row in self.db["actions"].rows_where(order_by="ts, action_id")]

    # -- violations --------------------------------------------------------------------
    def replace_violations(
        self, staff: str, month: str, records: Sequence[ViolationRecord]
    ) -> tuple[list[ViolationRecord], list[ViolationRecord]]:
        before = {v.violation_id: v for v in self.violations(month=month, staff=staff)}
        after = {r.violation_id: r for r in records}
        changed = [r for r in records if before.get(r.violation_id) != r]
        withdrawn = [v for vid, v in before.items() if vid not in after]
        with self.db.atomic():
            for gone in withdrawn:
                self.db["violations"].delete(gone.violation_id)
            if changed:
                self.db["violations"].upsert_all(
                    [_violation_row(r) for r in changed], pk="violation_id"
                )
        return changed, withdrawn

    def violations(
        self,
        *,
        month: str | None = None,
        day: date | None = None,
        staff: str | None = None,
        site: str | None = None,
    ) -> list[ViolationRecord]:
        clauses = {
            "month = ?": month,
            "day = ?": day.isoformat() if day else None,
            "staff_id = ?": staff,
            "site = ?": site,
        }
        where = " AND ".join(k for k, v in clauses.items() if v is not None) or None
        params = [v for v in clauses.values() if v is not None]
        rows = self.db["violations"].rows_where(where, params, order_by="staff_id, at, rule")
        return [_violation_of(row) for row in rows]

    def violation(self, violation_id: str) -> ViolationRecord | None:
        rows = list(self.db["violations"].rows_where("violation_id = ?", [violation_id]))
        return _violation_of(rows[0]) if rows else None

    def close(self) -> None:
        self.db.conn.close()
