"""The PostgreSQL store (psycopg 3): one database shared by several service instances.

The queries are `SqlStore`'s; this adds the connection, the DDL and the locks that make
concurrent instances safe: events are unique by primary key (`ON CONFLICT DO NOTHING`),
and a recomputation holds a transaction-scoped advisory lock on its person-month (shared
on its month), a whole-month recomputation the month exclusively.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from rules.account_store import account_tables
from rules.alert_store import alert_tables
from rules.delivery_store import delivery_tables
from rules.gallery_store import gallery_tables
from rules.notify_store import notify_tables
from rules.patrol_store import patrol_tables
from rules.request_store import request_tables
from rules.roster_store import roster_tables
from rules.store import SqlStore, later_versions, tables

# Text compared byte by byte, as SQLite does: timestamps and ids sort the same everywhere.
TEXT = 'TEXT COLLATE "C"'
CREATE_LOCK = 0x68616C6C  # serialises schema creation by instances starting together
# Advisory locks are the server's, not a schema's: the keys name the schema, so stores in
# other schemas of the same server (another hall's, a test's) never hold each other up.
MONTH_KEY = "hashtextextended(current_schema() || '/hallwatch-month/' || ?, 0)"
PERSON_KEY = "hashtextextended(current_schema() || '/' || ? || '/' || ?, 0)"


class PostgresStore(SqlStore):
    """The store in PostgreSQL; the URL's `options=-csearch_path=...` picks a schema."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.conn = self._connect()
        self._create(
            tables(TEXT, "DOUBLE PRECISION", "BIGSERIAL PRIMARY KEY")
            + gallery_tables(TEXT, "BYTEA", "BIGSERIAL PRIMARY KEY")
            + patrol_tables(TEXT, "BYTEA")
            + request_tables(TEXT)
            + roster_tables(TEXT)
            + account_tables(TEXT, "BIGSERIAL PRIMARY KEY")
            + notify_tables(TEXT, "BIGSERIAL PRIMARY KEY")
            + alert_tables(TEXT)
            + delivery_tables(TEXT, "BIGINT"),
            later_versions(TEXT, "DOUBLE PRECISION", "BIGINT"),
            TEXT,
        )

    def _schema_name(self) -> str:
        info = self.conn.info  # never the password
        where = f"{info.user}@{info.host}:{info.port}/{info.dbname}"
        return f"the rules database (PostgreSQL {where}, search_path {self._search_path()})"

    def _search_path(self) -> str:
        return str(self._rows("SHOW search_path")[0][0])

    @contextmanager
    def _schema_transaction(self) -> Iterator[None]:
        with self._transaction():
            self._execute(f"SELECT pg_advisory_xact_lock({CREATE_LOCK})")
            yield

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
