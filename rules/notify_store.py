"""The notifications' outbox, in the rules store (SQLite and PostgreSQL share this SQL;
`SqlStore` mixes it in).

Deciding a notice only inserts a row (once per channel and key: deciding it again adds
nothing), so ingest never waits on the network. The sender claims due rows (a lease, so
instances sharing a store do not send one row twice), and records each send or failure
on the row: attempts, when to try next, the last error, when it was sent and whether it
went in a summary. Unsent rows are never deleted; sent ones go after `KEEP_SENT`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rules.stamps import stamp, unstamp

KEEP_SENT = timedelta(days=90)
_COLUMNS = (
    "id", "channel", "key", "payload", "created", "attempts", "next_attempt", "last_error",
    "sent_at", "summarised",
)  # fmt: skip


def notify_tables(text: str, serial: str) -> list[str]:
    """The outbox's table, in a backend's types (times are rules.store `stamp`s)."""
    return [
        f"""CREATE TABLE IF NOT EXISTS notifications ("id" {serial}, "channel" {text} NOT NULL,
            "key" {text} NOT NULL, "payload" {text} NOT NULL, "created" {text} NOT NULL,
            "attempts" INTEGER NOT NULL, "next_attempt" {text} NOT NULL, "last_error" {text},
            "sent_at" {text}, "summarised" INTEGER NOT NULL, UNIQUE ("channel", "key"))""",
        'CREATE INDEX IF NOT EXISTS idx_notifications_due ON notifications ("channel", '
        '"sent_at", "next_attempt")',
    ]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    channel: str
    key: str
    notice: dict  # rules.notify Notice.as_json
    created: datetime
    attempts: int
    next_attempt: datetime
    last_error: str | None
    sent_at: datetime | None
    summarised: bool  # sent inside a summary with others (the channel's rate limit)


@dataclass(frozen=True, slots=True)
class ChannelState:
    """What `hallwatch rules notifications` shows of a channel."""

    channel: str
    sent: int
    waiting: int  # not yet sent
    failing: int  # not yet sent, tried at least once
    last_sent: datetime | None
    last_error: str | None


class NotifyQueries:
    """The outbox's queries over `SqlStore`'s connection and transactions."""

    def _execute(self, text: str, params: Sequence[Any] = ()) -> Any: ...  # SqlStore's
    def _rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple]: ...
    def _transaction(self) -> AbstractContextManager[None]: ...

    def queue_notices(self, routed: Sequence[tuple[str, str, dict]], at: datetime) -> int:
        """Keep each (channel, key, notice as JSON) whose key the channel has not kept;
        how many were new."""
        added = 0
        with self._transaction():
            for channel, key, notice in routed:
                added += len(
                    self._execute(
                        'INSERT INTO notifications ("channel", "key", "payload", "created", '
                        '"attempts", "next_attempt", "summarised") VALUES (?, ?, ?, ?, 0, ?, 0) '
                        'ON CONFLICT ("channel", "key") DO NOTHING RETURNING "id"',
                        [
                            channel,
                            key,
                            json.dumps(notice, ensure_ascii=False),
                            stamp(at),
                            stamp(at),
                        ],
                    ).fetchall()
                )
        return added

    def claim_notices(
        self, channel: str, now: datetime, lease: timedelta, limit: int = 500
    ) -> list[OutboxRow]:
        """The channel's due rows, oldest first, leased to this sender until `now + lease`
        (a row another sender claimed meanwhile is not returned)."""
        with self._transaction():
            rows = self._rows(
                f'UPDATE notifications SET "next_attempt" = ? WHERE "id" IN (SELECT "id" FROM '
                'notifications WHERE "channel" = ? AND "sent_at" IS NULL AND "next_attempt" <= ? '
                f'ORDER BY "id" LIMIT ?) AND "next_attempt" <= ? RETURNING {_names()}',
                [stamp(now + lease), channel, stamp(now), limit, stamp(now)],
            )
        return sorted((_row(r) for r in rows), key=lambda r: r.id)

    def notices_sent(self, ids: Sequence[int], at: datetime, *, summarised: bool) -> None:
        with self._transaction():
            for n in ids:
                self._execute(
                    'UPDATE notifications SET "sent_at" = ?, "attempts" = "attempts" + 1, '
                    '"last_error" = NULL, "summarised" = ? WHERE "id" = ?',
                    [stamp(at), int(summarised), n],
                )

    def notices_failed(self, ids: Sequence[int], error: str, retry_at: dict[int, datetime]) -> None:
        """A send failed: count the attempt, keep the error, try again at `retry_at[id]`."""
        with self._transaction():
            for n in ids:
                self._execute(
                    'UPDATE notifications SET "attempts" = "attempts" + 1, "last_error" = ?, '
                    '"next_attempt" = ? WHERE "id" = ?',
                    [error[:1000], stamp(retry_at[n]), n],
                )

    def release_notices(self, ids: Sequence[int], at: datetime) -> None:
        """Claimed rows not sent this time (the rate limit): due again at `at`."""
        with self._transaction():
            for n in ids:
                self._execute(
                    'UPDATE notifications SET "next_attempt" = ? WHERE "id" = ?', [stamp(at), n]
                )

    def prune_notices(self, now: datetime) -> int:
        with self._transaction():
            return len(
                self._execute(
                    'DELETE FROM notifications WHERE "sent_at" IS NOT NULL AND "sent_at" < ? '
                    'RETURNING "id"',
                    [stamp(now - KEEP_SENT)],
                ).fetchall()
            )

    def notifications(self, channel: str | None = None, limit: int = 50) -> list[OutboxRow]:
        """The latest rows, newest first (of one channel, or all)."""
        where, params = ('WHERE "channel" = ?', [channel]) if channel else ("", [])
        rows = self._rows(
            f'SELECT {_names()} FROM notifications {where} ORDER BY "id" DESC LIMIT ?',
            [*params, limit],
        )
        return [_row(r) for r in rows]

    def notification_channels(self) -> list[ChannelState]:
        rows = self._rows(
            'SELECT "channel", SUM(CASE WHEN "sent_at" IS NULL THEN 0 ELSE 1 END), '
            'SUM(CASE WHEN "sent_at" IS NULL THEN 1 ELSE 0 END), '
            'SUM(CASE WHEN "sent_at" IS NULL AND "attempts" > 0 THEN 1 ELSE 0 END), '
            'MAX("sent_at") FROM notifications GROUP BY "channel" ORDER BY "channel"'
        )
        errors = dict(
            self._rows(
                'SELECT "channel", "last_error" FROM notifications WHERE "id" IN (SELECT '
                'MAX("id") FROM notifications WHERE "last_error" IS NOT NULL AND "sent_at" IS '
                'NULL GROUP BY "channel")'
            )
        )
        return [
            ChannelState(c, int(s), int(w), int(f), unstamp(last) if last else None, errors.get(c))
            for c, s, w, f, last in rows
        ]


def _names() -> str:
    return ", ".join(f'"{c}"' for c in _COLUMNS)


def _row(row: tuple) -> OutboxRow:
    v = dict(zip(_COLUMNS, row, strict=True))
    return OutboxRow(
        id=int(v["id"]),
        channel=v["channel"],
        key=v["key"],
        notice=json.loads(v["payload"]),
        created=unstamp(v["created"]),
        attempts=int(v["attempts"]),
        next_attempt=unstamp(v["next_attempt"]),
        last_error=v["last_error"],
        sent_at=unstamp(v["sent_at"]) if v["sent_at"] else None,
        summarised=bool(v["summarised"]),
    )
