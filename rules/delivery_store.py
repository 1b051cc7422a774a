"""What the centre has of each device's journal, in the rules store (SQLite and PostgreSQL
share this SQL; `SqlStore` mixes it in). rules/delivery.py says what the numbers mean.

Ingest notes the numbers it stored in `delivery_ranges`, as the runs they make, with each
of its flushes (a row per device and flush, never per event: rules/ingest.py), the device
config sender those of acks and enrolments; `fold_deliveries` folds them into each
device's `delivery` row every few seconds, under a try-lock, so one instance of several
does it at a time, and decides the resend requests in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from rules.delivery import (
    GIVE_UP_AFTER,
    GRACE,
    Delivery,
    Run,
    due,
    fold,
    merged,
    request_for,
)
from rules.stamps import stamp, unstamp

DELIVERY_COLUMNS = (
    "site", "device", "upto", "highest", "lost", "gap_since", "resend_at", "resend_first",
    "resend_last", "resends",
)  # fmt: skip
Request = tuple[str, str, int, int]  # site, device, first, last


def delivery_tables(text: str, integer: str) -> list[str]:
    """The tables, in a backend's types (`integer` holds a journal's numbers: 64 bits)."""
    return [
        f"""CREATE TABLE IF NOT EXISTS delivery ("site" {text} NOT NULL,
            "device" {text} NOT NULL, "upto" {integer} NOT NULL, "highest" {integer} NOT NULL,
            "lost" {integer} NOT NULL, "gap_since" {text}, "resend_at" {text},
            "resend_first" {integer}, "resend_last" {integer}, "resends" {integer} NOT NULL,
            PRIMARY KEY ("site", "device"))""",
        f"""CREATE TABLE IF NOT EXISTS delivery_seqs ("site" {text} NOT NULL,
            "device" {text} NOT NULL, "seq" {integer} NOT NULL,
            PRIMARY KEY ("site", "device", "seq"))""",
        f"""CREATE TABLE IF NOT EXISTS delivery_lost ("site" {text} NOT NULL,
            "device" {text} NOT NULL, "first_seq" {integer} NOT NULL,
            "last_seq" {integer} NOT NULL, "noted" {text} NOT NULL, "why" {text} NOT NULL,
            PRIMARY KEY ("site", "device", "first_seq"))""",
    ]


def delivery_range_tables(text: str, integer: str) -> list[str]:
    """Version 3: the numbers received kept as runs, not one row each (schema version 1's
    `delivery_seqs` cost ingest a row per event)."""
    return [
        f"""CREATE TABLE IF NOT EXISTS delivery_ranges ("site" {text} NOT NULL,
            "device" {text} NOT NULL, "first_seq" {integer} NOT NULL,
            "last_seq" {integer} NOT NULL,
            PRIMARY KEY ("site", "device", "first_seq", "last_seq"))""",
        # `WHERE TRUE`: SQLite reads ON after a bare FROM as a join's.
        'INSERT INTO delivery_ranges SELECT "site", "device", "seq", "seq" FROM delivery_seqs '
        "WHERE TRUE ON CONFLICT DO NOTHING",
        "DROP TABLE delivery_seqs",
    ]


def _delivery(row: Sequence[Any]) -> Delivery:
    site, device, upto, highest, lost, gap_since, resend_at, first, last, resends = row
    return Delivery(
        site, device, upto, highest, lost,
        unstamp(gap_since) if gap_since else None,
        unstamp(resend_at) if resend_at else None,
        first, last, resends,
    )  # fmt: skip


class DeliveryQueries:
    """Delivery's queries over `SqlStore`'s connection and transactions."""

    def _execute(self, text: str, params: Sequence[Any] = ()) -> Any: ...  # SqlStore's
    def _execute_many(self, text: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def _rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple]: ...
    def _transaction(self) -> AbstractContextManager[None]: ...
    def _hold(self, month: str, staff: str | None, wait: bool = True) -> bool: ...

    def _note_runs(self, runs: Sequence[Run]) -> None:
        self._execute_many(
            'INSERT INTO delivery_ranges ("site", "device", "first_seq", "last_seq") '
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            runs,
        )

    def note_runs(self, runs: Sequence[Run]) -> None:
        """Journal numbers received, as runs (rules.delivery.Received)."""
        with self._transaction():
            self._note_runs(runs)

    def record_lost(
        self, site: str, device: str, ranges: Sequence[tuple[int, int]], at: datetime, why: str
    ) -> int:
        """Ranges a device no longer has (or never answered for): counted once each, and
        delivered as far as folding goes. Returns the entries newly counted."""
        counted = 0
        with self._transaction():
            for first, last in ranges:
                new = self._execute(
                    'INSERT INTO delivery_lost ("site", "device", "first_seq", "last_seq", '
                    '"noted", "why") VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING '
                    'RETURNING "first_seq"',
                    [site, device, first, last, stamp(at), why],
                ).fetchall()
                if new:
                    counted += last - first + 1
                    self._note_runs([(site, device, first, last)])
            if counted:
                self._execute(
                    'UPDATE delivery SET "lost" = "lost" + ? WHERE "site" = ? AND "device" = ?',
                    [counted, site, device],
                )
        return counted

    def fold_deliveries(self, now: datetime, grace: timedelta = GRACE) -> list[Request] | None:
        """Fold the numbers received into each device's row and decide what to ask for
        (recorded as asked). None when another instance is doing it."""
        with self._transaction():
            if not self._hold("delivery", "*", wait=False):
                return None
            names = ", ".join(f'"{c}"' for c in DELIVERY_COLUMNS)
            known = {
                (r[0], r[1]): _delivery(r) for r in self._rows(f"SELECT {names} FROM delivery")
            }
            received = self._received()
            requests: list[Request] = []
            for key in sorted(set(known) | set(received)):
                requests += self._fold_one(known.get(key), key, received.get(key, []), now, grace)
            return requests

    def _fold_one(
        self,
        before: Delivery | None,
        key: tuple[str, str],
        runs: list[tuple[int, int]],
        now: datetime,
        grace: timedelta,
    ) -> list[Request]:
        site, device = key
        folded = fold(before.upto if before else None, before.highest if before else 0, runs)
        moved = before is None or folded.upto != before.upto
        gap = folded.upto < folded.highest
        # A gap opens when `upto` moves, or above an `upto` that stays (no gap before).
        opened = moved or before.gap_since is None  # type: ignore[union-attr]
        row = Delivery(
            site, device, folded.upto, folded.highest,
            before.lost if before else 0,
            (now if opened else before.gap_since) if gap else None,  # type: ignore[union-attr]
            before.resend_at if before else None,
            before.resend_first if before else None,
            before.resend_last if before else None,
            0 if moved else before.resends,  # type: ignore[union-attr]
        )  # fmt: skip
        asked: list[Request] = []
        if due(row, now, grace):
            if row.resends >= GIVE_UP_AFTER:
                self.record_lost(
                    site,
                    device,
                    folded.gaps[:1],
                    now,
                    f"not received after {GIVE_UP_AFTER} requests",
                )
            else:
                first, last = request_for(folded.gaps)
                asked = [(site, device, first, last)]
                row = Delivery(site, device, row.upto, row.highest, row.lost, row.gap_since,
                               now, first, last, row.resends + 1)  # fmt: skip
        if before is None or row != before:
            self._save_delivery(row, before is None)
        if runs and min(last for _, last in runs) <= folded.upto:
            self._execute(
                'DELETE FROM delivery_ranges WHERE "site" = ? AND "device" = ? AND "last_seq" <= ?',
                [site, device, folded.upto],
            )
        return asked

    def _received(self, site: str | None = None) -> dict[tuple[str, str], list[tuple[int, int]]]:
        where, params = ('WHERE "site" = ?', [site]) if site else ("", [])
        received: dict[tuple[str, str], list[tuple[int, int]]] = {}
        query = f'SELECT "site", "device", "first_seq", "last_seq" FROM delivery_ranges {where}'
        for where_, device, first, last in self._rows(query, params):
            received.setdefault((where_, device), []).append((first, last))
        return received

    def _save_delivery(self, row: Delivery, new: bool) -> None:
        values = [
            row.upto, row.highest, row.lost,
            stamp(row.gap_since) if row.gap_since else None,
            stamp(row.resend_at) if row.resend_at else None,
            row.resend_first, row.resend_last, row.resends,
        ]  # fmt: skip
        if new:
            marks = ", ".join("?" * len(DELIVERY_COLUMNS))
            names = ", ".join(f'"{c}"' for c in DELIVERY_COLUMNS)
            self._execute(
                f"INSERT INTO delivery ({names}) VALUES ({marks})", [row.site, row.device, *values]
            )
            return
        sets = ", ".join(f'"{c}" = ?' for c in DELIVERY_COLUMNS[2:])
        self._execute(
            f'UPDATE delivery SET {sets} WHERE "site" = ? AND "device" = ?',
            [*values, row.site, row.device],
        )

    def deliveries(self, site: str | None = None) -> list[Delivery]:
        """Each device's delivery: up to where, how many missing and lost (and when last),
        the last request."""
        names = ", ".join(f'd."{c}"' for c in DELIVERY_COLUMNS)
        where, params = ('WHERE d."site" = ?', [site]) if site else ("", [])
        lost_at = (
            'SELECT MAX(l."noted") FROM delivery_lost l WHERE l."site" = d."site" '
            'AND l."device" = d."device"'
        )
        rows = self._rows(
            f'SELECT {names}, ({lost_at}) FROM delivery d {where} ORDER BY d."site", d."device"',
            params,
        )
        received = self._received(site)
        found = []
        for r in rows:
            row = _delivery(r[:-1])
            runs = merged(received.get((row.site, row.device), []))
            above = sum(
                last - max(first, row.upto + 1) + 1 for first, last in runs if last > row.upto
            )
            found.append(replace(row, above=above, lost_at=unstamp(r[-1]) if r[-1] else None))
        return found

    def outstanding_requests(self) -> dict[tuple[str, str], tuple[int, int]]:
        """Per device, the range last asked for while it is not yet delivered."""
        rows = self._rows(
            'SELECT "site", "device", "resend_first", "resend_last" FROM delivery '
            'WHERE "resend_last" IS NOT NULL AND "upto" < "resend_last"'
        )
        return {(site, device): (first, last) for site, device, first, last in rows}

    def lost_ranges(self, site: str, device: str) -> list[tuple[int, int, str]]:
        rows = self._rows(
            'SELECT "first_seq", "last_seq", "why" FROM delivery_lost WHERE "site" = ? '
            'AND "device" = ? ORDER BY "first_seq"',
            [site, device],
        )
        return [(a, b, why) for a, b, why in rows]
