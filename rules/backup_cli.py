"""`hallwatch rules backup FILE` and `hallwatch rules restore FILE` (rules/backup.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from rules.backend import StoreParam, describe
from rules.backup import BackupError, backup, restore

FILE = click.Path(dir_okay=False, path_type=Path)


def with_database(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --config / --db; the command receives `database`, the store's SQLite file (a
    PostgreSQL store is refused: pg_dump and pg_restore back it up)."""

    @click.option(
        "--config",
        "config_file",
        type=FILE,
        envvar="HALLWATCH_RULES_CONFIG",
        help="A rules config: its [rules] db is the store (rules.toml or manager.toml).",
    )
    @click.option(
        "--db",
        type=StoreParam(),
        envvar="HALLWATCH_RULES_DB",
        help="Rules database: a SQLite file (a postgresql:// URL: see pg_dump).",
    )
    @wraps(command)
    def wrapper(config_file: Path | None, db: Path | str | None, **kwargs: Any) -> None:
        if db is None and config_file is not None:
            from rules.service import load_config

            db = load_config(config_file).rules.db
        if db is None:
            raise click.UsageError("give --config FILE or --db FILE")
        if not isinstance(db, Path):
            raise BackupError(
                f"the rules database is PostgreSQL ({describe(db)}): back it up with pg_dump "
                "and restore it with pg_restore, as docs/operations.md (Backups) shows"
            )
        command(database=db, **kwargs)

    return wrapper


@click.command("backup")
@click.argument("file", type=FILE)
@with_database
def backup_command(database: Path, file: Path) -> None:
    """Copy the rules database (SQLite) to FILE, consistently while the service runs.

    FILE is private (0600) and replaced if it exists; it is written whole or not at all.

    \b
    Example:
        hallwatch rules backup /var/backups/hallwatch/rules-$(date +%F).db \\
            --config /etc/hallwatch/rules.toml
    """
    backup(database, file)
    click.echo(f"backed up {database} to {file}")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--force",
    is_flag=True,
    help="Restore even while another process (the service) has the database open.",
)
@with_database
def restore_command(database: Path, file: Path, force: bool) -> None:
    """Replace the rules database (SQLite) by the backup FILE; stop the service first.

    The copy is checked and brought to this release's schema version before it replaces
    the database; the devices then resend what they journaled since the backup.

    \b
    Example:
        systemctl stop hallwatch-rules
        hallwatch rules restore /var/backups/hallwatch/rules-2026-11-24.db \\
            --config /etc/hallwatch/rules.toml
        systemctl start hallwatch-rules
    """
    restore(file, database, force=force)
    click.echo(f"restored {database} from {file}")
