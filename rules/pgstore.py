"""The PostgreSQL store (psycopg 3): one database shared by several service instances.

The queries are `SqlStore`'s; this adds the connection, the DDL and the locks that make
concurrent instances safe: events are unique by primary key (`ON CONFLICT DO NOTHING`),
and a recomputation holds a transaction-scoped advisory lock on its person-month (shared
on its month), a whole-month recomputation the month exclusively.
"""

from __future__ import annotations

import psycopg

from rules.account_store import account_tables
from rules.alert_store import alert_tables
from rules.day_store import day_tables
from rules.delivery_store import delivery_tables
from rules.gallery_store import gallery_tables
from rules.notify_store import notify_tables
from rules.patrol_store import patrol_tables
from rules.request_store import request_tables
from rules.roster_store import roster_tables
from rules.store import SqlStore, tables

# Text compared byte by byte, as SQLite does: timestamps and ids sort the same everywhere.
TEXT = 'TEXT COLLATE "C"'
CREATE_LOCK = 0x68616C6C  # serialises schema creation by instances starting together
MONTH_KEY = "hashtextextended('hallwatch-month/' || ?, 0)"
PERSON_KEY = "hashtextextended(? || '/' || ?, 0)"


class PostgresStore(SqlStore):
    """The store in PostgreSQL; the URL's `options=-csearch_path=...` picks a schema."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.conn = self._connect()
        lock = [f"SELECT pg_advisory_xact_lock({CREATE_LOCK})"]
        self._create(
            lock
            + tables(TEXT, "DOUBLE PRECISION", "BIGSERIAL PRIMARY KEY")
            + gallery_tables(TEXT, "BYTEA", "BIGSERIAL PRIMARY KEY")
            + patrol_tables(TEXT, "BYTEA")
            + request_tables(TEXT)
            + roster_tables(TEXT)
            + account_tables(TEXT, "BIGSERIAL PRIMARY KEY")
            + notify_tables(TEXT, "BIGSERIAL PRIMARY KEY")
            + alert_tables(TEXT)
            + delivery_tables(TEXT, "BIGINT")
            + day_tables(TEXT),
            TEXT,
        )

    def _connect(self) -> psycopg.Connection:
        # Autocommit: `SqlStore` opens every transaction itself with BEGIN ... COMMIT.
        return psycopg.connect(self.url, autocommit=True)

    def _connection(self) -> psycopg.Connection:
        if self.conn.broken and not self._depth:
            # The server restarted or the network dropped: the next statement reconnects
            # (inside a transaction it must fail instead, so the caller retries it whole).
            self.conn = self._connect()
        return self.conn

    def _sql(self, text: str) -> str:
        # psycopg's placeholder; the store's SQL has no other `?` and no `%`.
        return text.replace("?", "%s")

    def _hold(self, month: str, staff: str | None, wait: bool = True) -> bool:
        if staff is None:
            self._execute(f"SELECT pg_advisory_xact_lock({MONTH_KEY})", [month])
            return True
        # Month first, then person: every cycle takes them in that order, so none deadlock.
        self._execute(f"SELECT pg_advisory_xact_lock_shared({MONTH_KEY})", [month])
        if wait:
            self._execute(f"SELECT pg_advisory_xact_lock({PERSON_KEY})", [staff, month])
            return True
        query = f"SELECT pg_try_advisory_xact_lock({PERSON_KEY})"
        return bool(self._execute(query, [staff, month]).fetchone()[0])

    def close(self) -> None:
        with self._lock:  # never under a query another thread runs
            self.conn.close()
