"""A scratch schema in the test PostgreSQL server: created for a test (or a benchmark run),
dropped after it."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

SERVER = os.environ.get("HALLWATCH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def scratch_schema(server: str = SERVER) -> Iterator[str]:
    """Yield a URL whose connections work in a new, empty schema; drop it afterwards."""
    name = f"hallwatch_test_{secrets.token_hex(6)}"
    try:
        admin = psycopg.connect(server, autocommit=True)
    except psycopg.OperationalError as exc:
        raise RuntimeError(
            f"PostgreSQL is needed at {server} (set HALLWATCH_TEST_POSTGRES): {exc}"
        ) from None
    with admin:
        admin.execute(f"CREATE SCHEMA {name}")
        try:
            sep = "&" if "?" in server else "?"
            yield f"{server}{sep}options=-csearch_path%3D{name}"
        finally:
            admin.execute(f"DROP SCHEMA {name} CASCADE")
