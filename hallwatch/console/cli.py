"""`hallwatch console`: serve the console, and manage its accounts (`user add | passwd |
disable | list`), a thin layer over hallwatch/console/accounts.py (the app's own API).

The web stack and argon2 are imported inside the commands: `--help` works without them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from base.printable import printable
from hallwatch.console.config import ConsoleConfig, load_config
from rules import render
from rules.acting import Actor
from rules.cli import FILE, output_format

ROLE_CHOICE = click.Choice(["viewer", "inspector", "manager", "admin"])


def config_option(required: bool):
    return click.option(
        "--config",
        "config_file",
        type=FILE,
        required=required,
        envvar="HALLWATCH_CONSOLE_CONFIG",
        help="The console's config (console.toml): its [console] db is where accounts live.",
    )


@click.group(invoke_without_command=True)
@config_option(required=False)
@click.pass_context
def console(ctx: click.Context, config_file: Path | None) -> None:
    """The hall console (web): serve it, or manage its accounts.

    Without a subcommand, serves the console the config describes until stopped.

    \b
    Example:
        hallwatch console --config /etc/hallwatch/console.toml
        hallwatch console user list --config /etc/hallwatch/console.toml
    """
    if ctx.invoked_subcommand is None:
        if config_file is None:
            raise click.UsageError("give --config FILE (console.toml)")
        serve(load_config(config_file))


def serve(config: ConsoleConfig) -> None:
    import uvicorn

    from hallwatch.console.app import create_app
    from hallwatch.console.live import LiveHub

    settings = config.console
    # one broker connection per console process, as the read-only account of [broker]
    hub = LiveHub(config.broker, config.broker.username or "console")
    uvicorn.run(
        create_app(config, services=[("live", hub)]),
        host=settings.host,
        port=settings.port,
        ssl_certfile=settings.tls_cert,
        ssl_keyfile=settings.tls_key,
        proxy_headers=True,
        log_level="info",
        timeout_graceful_shutdown=5,  # open live pages (streams) do not hold up a stop
    )


def _accounts(config_file: Path):
    from hallwatch.console.accounts import Accounts
    from rules.backend import open_store

    return Accounts(open_store(load_config(config_file).console.db))


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


password_stdin = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (for scripts).",
)


@console.group()
def user() -> None:
    """The console's accounts: add, passwd, disable, list.

    \b
    Example:
        hallwatch console user add wang --role manager --site hall-01 --config console.toml
    """


@user.command("add")
@click.argument("name")
@click.option("--role", type=ROLE_CHOICE, required=True, help="What the account may do.")
@click.option(
    "--site",
    "sites",
    multiple=True,
    required=True,
    help="A site the account sees (repeat for several; * for every site).",
)
@click.option("--display-name", default="", help="The name shown in the console [NAME].")
@password_stdin
@config_option(required=True)
def add(
    config_file: Path,
    name: str,
    role: str,
    sites: tuple[str, ...],
    display_name: str,
    password_stdin: bool,
) -> None:
    """Add an account (the password is asked for, or read with --password-stdin).

    \b
    Example:
        hallwatch console user add wang --role manager --site hall-01 --display-name 王芳 --config console.toml
    """
    added = _accounts(config_file).add(
        Actor.cli(), name, _password(password_stdin), role, sites, display_name
    )
    click.echo(f"added {added.user} ({added.role}, sites {', '.join(added.sites)})")


@user.command("passwd")
@click.argument("name")
@password_stdin
@config_option(required=True)
def passwd(config_file: Path, name: str, password_stdin: bool) -> None:
    """Set an account's password (this also enables a disabled account).

    \b
    Example:
        hallwatch console user passwd wang --config console.toml
    """
    changed = _accounts(config_file).passwd(Actor.cli(), name, _password(password_stdin))
    click.echo(f"password set for {changed.user}")


@user.command("disable")
@click.argument("name")
@config_option(required=True)
def disable(config_file: Path, name: str) -> None:
    """Disable an account: it cannot sign in, and its open sessions end now.

    \b
    Example:
        hallwatch console user disable wang --config console.toml
    """
    _accounts(config_file).disable(Actor.cli(), name)
    click.echo(f"disabled {name}")


@user.command("list")
@output_format("json")
@config_option(required=True)
def list_accounts(config_file: Path, fmt: render.Format) -> None:
    """The accounts: name, display name, role, sites, and whether disabled.

    \b
    Example:
        hallwatch console user list --json --config console.toml
    """
    accounts = _accounts(config_file).list()

    def text() -> str:
        return render.listing(
            accounts,
            lambda a: (
                f"{a.user}  {printable(a.display_name)}  {a.role}  "
                f"{','.join(a.sites)}{'  (disabled)' if a.disabled else ''}"
            ),
            "accounts",
        )

    render.emit(accounts, fmt, text=text)
