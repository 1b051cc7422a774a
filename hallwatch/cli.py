"""The `hallwatch` console command.

Subcommands live next to the code they drive (`mqtt/cli.py`, `rules/cli.py`, ...) and are
imported only when used, so the workstation agent never loads the face stack.
"""

from __future__ import annotations

import importlib

import click

from hallwatch import __version__

# name -> "module:attribute" of a click command or group.
SUBCOMMANDS: dict[str, str] = {
    "rules": "rules.cli:rules",
    "violations": "rules.cli:violations",
    "correct": "rules.cli:correct",
    "void": "rules.cli:void",
    "leave": "rules.cli:leave",
    "inspect": "rules.cli:inspect",
    "score": "rules.cli:score",
    "watch": "mqtt.cli:watch",
    "topics": "mqtt.cli:topics_command",
    "demo": "hallwatch.demo:demo",
    "broker": "mqtt.cli:broker",
    "station": "edge.station_cli:station",
    "finger": "drivers.fingerprint.cli:finger",
    "models": "models.cli:models",
    "enroll": "models.cli_staff:enroll",
    "identify": "models.cli_staff:identify",
    "gallery": "models.cli_staff:gallery",
    "activity": "edge.activity_cli:activity",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def __init__(self, *args, lazy: dict[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module_name, attr = self.lazy[cmd_name].split(":")
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                raise click.ClickException(
                    f"'hallwatch {cmd_name}' needs a component that is not installed ({exc.name}); "
                    "install the matching extra, e.g. pip install 'hallwatch[station]'"
                ) from exc
            return getattr(module, attr)
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup, lazy=SUBCOMMANDS, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name="hallwatch")
def main() -> None:
    """hallwatch: attendance and conduct monitoring for service halls.

    \b
    Example:
        hallwatch watch --site hall-01
    """
