"""The `hallwatch` console command.

Subcommands live next to the code they drive (`mqtt/cli.py`, `rules/cli.py`, ...) and are
imported only when run, so the workstation agent never loads the face stack and
`hallwatch --help` works on a core-only install. Errors a person can act on
(`base.errors.HallwatchError`) become a clean message and exit status 1, here, once.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import click

from base import __version__
from base.errors import HallwatchError


@dataclass(frozen=True, slots=True)
class Subcommand:
    target: str  # "module:attribute" of a click command or group
    summary: str  # its one-line help, shown without importing it (a test keeps them equal)
    extra: str | None = None  # the install extra it needs, named when it is missing


SUBCOMMANDS: dict[str, Subcommand] = {
    "agent": Subcommand(
        "edge.agent.cli:agent",
        "Sample the foreground application and input idle time, and publish intervals.",
        "agent",
    ),
    "broker": Subcommand(
        "mqtt.cli:broker", "The production Mosquitto setup: config, ACLs, per-device credentials."
    ),
    "config-docs": Subcommand(
        "hallwatch.config_docs:config_docs",
        "The configuration reference (docs/config.md), generated from the models.",
        "station",
    ),
    "correct": Subcommand(
        "rules.cli:correct",
        "Record the correction notice for a violation (纠错); it stays counted.",
        "rules",
    ),
    "demo": Subcommand(
        "hallwatch.demo:demo",
        "A whole hall day in a minute: punches, violations, the inspection and the scores.",
        "demo",
    ),
    "enrol": Subcommand(
        "models.cli_staff:enrol",
        "Enrol a staff member from photos or camera captures (each quality-gated).",
        "station",
    ),
    "finger": Subcommand(
        "drivers.fingerprint.cli:finger",
        "Fingerprint sensor: enrol and identify staff fingers, back templates up.",
        "station",
    ),
    "gallery": Subcommand(
        "models.cli_staff:gallery", "The staff gallery on this device: list and delete.", "station"
    ),
    "identify": Subcommand(
        "models.cli_staff:identify",
        "Who is in each photo: staff id, score, margin, liveness, or why not.",
        "station",
    ),
    "inspect": Subcommand(
        "rules.cli:inspect",
        "The daily inspection: per window who is where, punches, violations, devices, open items.",
        "rules",
    ),
    "leave": Subcommand(
        "rules.cli:leave", "Approved leave: add (also after the fact), list, cancel.", "rules"
    ),
    "models": Subcommand(
        "models.cli:models", "Face model packs: list, verify, install, evaluate.", "station"
    ),
    "rules": Subcommand(
        "rules.cli:rules", "The central rules service: run it, or replay events offline.", "rules"
    ),
    "score": Subcommand(
        "rules.cli:score",
        "The monthly 100-point sheet per person and per window, with vetoes and ranking.",
        "rules",
    ),
    "station": Subcommand(
        "edge.station.cli:station",
        "Run the clock-in station: identify staff, journal punches, publish them.",
        "station",
    ),
    "topics": Subcommand(
        "mqtt.cli:topics_command", "The topic tree and payload schemas of the MQTT contract."
    ),
    "violations": Subcommand(
        "rules.cli:violations",
        "List violations with their evidence, numbering, escalation, veto and status.",
        "rules",
    ),
    "void": Subcommand(
        "rules.cli:void",
        "Void a violation (appeal upheld): it no longer deducts, counts or vetoes.",
        "rules",
    ),
    "watch": Subcommand(
        "mqtt.cli:watch", "Live feed: every punch, alert, status and violation as it happens."
    ),
}


def load(name: str) -> click.Command:
    """Import one subcommand; a missing extra is a message naming what to install."""
    sub = SUBCOMMANDS[name]
    module_name, attr = sub.target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        extra = sub.extra or "station"
        raise click.ClickException(
            f"'hallwatch {name}' needs a component that is not installed ({exc.name}); "
            f"install the matching extra: pip install 'hallwatch[{extra}]'"
        ) from exc
    return getattr(module, attr)


class LazyGroup(click.Group):
    """A click group whose subcommands are imported when run, not when listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *SUBCOMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SUBCOMMANDS:
            return load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUBCOMMANDS[name].summary) for name in sorted(SUBCOMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except HallwatchError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hallwatch")
def main() -> None:
    """hallwatch: attendance and conduct monitoring for service halls.

    \b
    Examples:
        hallwatch watch --site hall-01
        hallwatch inspect --date 2026-11-24 --config /etc/hallwatch/rules.toml
    """
