"""Which store a `db` setting names, and opening it: a SQLite file or a PostgreSQL URL.

`[rules] db = "/var/lib/hallwatch/rules.db"` keeps one instance's SQLite file;
`db = "postgresql://hallwatch@db.example:5432/hallwatch"` is the store that several
instances share (psycopg is imported only then).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Annotated

import click
import pydantic

from base.errors import HallwatchError
from rules.store import SqliteStore, Store

POSTGRES_SCHEMES = ("postgresql", "postgres")
EXAMPLE = "a SQLite file path, or postgresql://user@host:5432/database"


class StoreError(HallwatchError):
    """The store could not be opened; the message names it (never with its password)."""


def store_location(value: object) -> Path | str:
    """A SQLite file path (`Path`) or a PostgreSQL URL (`str`); anything else: why not."""
    if isinstance(value, Path):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"give {EXAMPLE}")
    if "://" not in value:
        return Path(value)
    scheme = value.split("://", 1)[0]
    if scheme not in POSTGRES_SCHEMES:
        raise ValueError(f"unsupported database URL scheme {scheme!r}: give {EXAMPLE}")
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        conninfo_to_dict(value)
    except ProgrammingError as exc:
        raise ValueError(
            f"not a valid PostgreSQL URL ({str(exc).strip()}): give {EXAMPLE}"
        ) from None
    return value


StoreLocation = Annotated[Path | str, pydantic.BeforeValidator(store_location)]


def describe(location: Path | str) -> str:
    """How messages name a store: the path, or the URL without its password."""
    if isinstance(location, Path):
        return str(location)
    from psycopg.conninfo import conninfo_to_dict

    shown = {k: v for k, v in conninfo_to_dict(location).items() if k != "password"}
    return "PostgreSQL " + " ".join(f"{k}={v}" for k, v in sorted(shown.items()))


def open_store(location: Path | str, *, synchronous: str = "FULL") -> Store:
    """Open (creating its tables if needed) the store a `db` setting names."""
    if isinstance(location, Path):
        try:
            return SqliteStore(location, synchronous=synchronous)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the rules database {location}: {exc}") from None
    import psycopg

    from rules.pgstore import PostgresStore

    try:
        return PostgresStore(location)
    except psycopg.Error as exc:
        raise StoreError(f"cannot open the rules database ({describe(location)}): {exc}") from None


class StoreParam(click.ParamType):
    """A `--db` option: a SQLite file path or a PostgreSQL URL."""

    name = "PATH|URL"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None):
        try:
            return store_location(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
