"""The `hallwatch` console command.

Subcommands live next to the code they drive (`mqtt/cli.py`, `rules/cli.py`, ...) and are
imported only when run; their modules import nothing beyond the core at the top (the
heavy components load inside the command bodies), so the workstation agent never loads the
face stack and every `--help` works on a core-only install. Here, once, at the root:
errors a person can act on (`base.errors.HallwatchError`) become a clean message and exit
status 1, and a missing optional component becomes the extra to install.
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


# The install extra (pyproject.toml's optional-dependencies) that brings each optional
# top-level module: a command that needs a missing one names the extra to install.
EXTRA_OF_MODULE: dict[str, str] = {
    "numpy": "station",
    "cv2": "station",
    "onnx": "station",
    "onnxruntime": "station",
    "PIL": "station",
    "pyfingerprint": "station",
    "serial": "station",
    "psycopg": "rules",
    "openpyxl": "rules",
    "psutil": "agent",
    "Xlib": "agent",
    "amqtt": "demo",
    "insightface": "insightface",
    "skimage": "insightface",
    "scipy": "insightface",
    "starlette": "console",
    "uvicorn": "console",
    "jinja2": "console",
    "multipart": "console",
    "python_multipart": "console",
    "argon2": "console",
}
# Our own top-level packages: a missing one of these is a broken install, not an extra.
FIRST_PARTY = frozenset({"base", "drivers", "mqtt", "models", "edge", "rules", "hallwatch"})


SUBCOMMANDS: dict[str, Subcommand] = {
    "agent": Subcommand(
        "edge.agent.cli:agent",
        "Sample the foreground application and input idle time, and publish intervals.",
    ),
    "alerts": Subcommand(
        "rules.alerts_cli:alerts",
        "Alerts (device faults, unknown faces, tampering): list, acknowledge, clear.",
    ),
    "broker": Subcommand(
        "mqtt.cli:broker", "The production Mosquitto setup: config, ACLs, per-device credentials."
    ),
    "config-docs": Subcommand(
        "hallwatch.config_docs:config_docs",
        "The configuration reference (docs/config.md), generated from the models.",
    ),
    "console": Subcommand(
        "hallwatch.console.cli:console",
        "The hall console (web): serve it, or manage its accounts.",
    ),
    "correct": Subcommand(
        "rules.cli:correct",
        "Record the correction notice for a violation (纠错); it stays counted.",
    ),
    "demo": Subcommand(
        "hallwatch.demo:demo",
        "A whole hall day in a minute: punches, violations, the inspection and the scores.",
    ),
    "devices": Subcommand(
        "rules.directory_cli:devices",
        "Stations and workstation agents: list with their state, register, retire.",
    ),
    "enrol": Subcommand(
        "hallwatch.enrol:enrol",
        "Enrol a staff member from photos or camera captures (each quality-gated).",
    ),
    "finger": Subcommand(
        "drivers.fingerprint.cli:finger",
        "Fingerprint sensor: enrol and identify staff fingers, back templates up.",
    ),
    "gallery": Subcommand(
        "hallwatch.gallery_cli:gallery",
        "The staff gallery: this device's list and delete, the lookalike pairs.",
    ),
    "identify": Subcommand(
        "models.cli_staff:identify",
        "Who is in each photo: staff id, score, margin, liveness, or why not.",
    ),
    "duty": Subcommand(
        "rules.roster_cli:duty",
        "Duty rosters (领导带班, 总服务台值班): who is on duty at a site on a date.",
    ),
    "findings": Subcommand(
        "rules.patrol_cli:findings",
        "Patrol findings (巡查): what an inspector observed of a person or a window.",
    ),
    "requests": Subcommand(
        "rules.request_cli:requests",
        "Punch corrections (补卡) and appeals (申诉): raise, list, approve, reject.",
    ),
    "inspect": Subcommand(
        "rules.cli:inspect",
        "The daily inspection: per window who is where, punches, violations, devices, open items.",
    ),
    "leave": Subcommand(
        "rules.cli:leave", "Approved leave: add (also after the fact), list, cancel."
    ),
    "models": Subcommand("models.cli:models", "Face model packs: list, verify, install, evaluate."),
    "report": Subcommand(
        "rules.report_cli:report",
        "The daily inspection or the monthly assessment as a standalone, printable report.",
    ),
    "rules": Subcommand(
        "rules.cli:rules", "The central rules service: run it, or replay events offline."
    ),
    "score": Subcommand(
        "rules.cli:score",
        "The monthly 100-point sheet, its red and black lists, or the year's review.",
    ),
    "staff": Subcommand(
        "rules.directory_cli:staff",
        "The staff directory: add, edit, list, delete, import and export staff.",
    ),
    "station": Subcommand(
        "edge.station.cli:station",
        "Run the clock-in station: identify staff, journal punches, publish them.",
    ),
    "topics": Subcommand(
        "mqtt.cli:topics_command", "The topic tree and payload schemas of the MQTT contract."
    ),
    "violations": Subcommand(
        "rules.cli:violations",
        "List violations with their evidence, numbering, escalation, veto and status.",
    ),
    "void": Subcommand(
        "rules.cli:void",
        "Void a violation (appeal upheld): it no longer deducts, counts or vetoes.",
    ),
    "watch": Subcommand(
        "mqtt.cli:watch", "Live feed: every punch, alert, status and violation as it happens."
    ),
}


def load(name: str) -> click.Command:
    """Import one subcommand (its module imports only the core)."""
    module_name, attr = SUBCOMMANDS[name].target.split(":")
    return getattr(importlib.import_module(module_name), attr)


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """The extra to install for a module that is not there; None if it is one of ours."""
    top = (exc.name or "").partition(".")[0]
    if not top or top in FIRST_PARTY:
        return None
    return EXTRA_OF_MODULE.get(top, ",".join(sorted(set(EXTRA_OF_MODULE.values()))))


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
        except ModuleNotFoundError as exc:
            extra = missing_extra(exc)
            if extra is None:
                raise
            raise click.ClickException(
                f"'hallwatch {ctx.invoked_subcommand}' needs a component that is not installed "
                f"({exc.name}); install the matching extra: pip install 'hallwatch[{extra}]'"
            ) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hallwatch")
def main() -> None:
    """hallwatch: attendance and conduct monitoring for service halls.

    \b
    Examples:
        hallwatch watch --site hall-01
        hallwatch inspect --date 2026-11-24 --config /etc/hallwatch/rules.toml
    """
