"""The whole `hallwatch` command tree, walked from its root: every command path and its help.

Run as a script, it prints `{"finger enrol": [exit status, help text], ...}` as JSON, so a
test can walk the tree in a process whose installed components it chose.
"""

from __future__ import annotations

import json

import click
from click.testing import CliRunner

from hallwatch.cli import main

CommandPath = tuple[str, ...]


def command_paths(command: click.Command = main, prefix: CommandPath = ()) -> list[CommandPath]:
    """Every command path under `command`, itself first (the root is `()`)."""
    found = [prefix]
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=" ".join(("hallwatch", *prefix)))
        for name in command.list_commands(ctx):
            found += command_paths(command.get_command(ctx, name), (*prefix, name))
    return found


def help_of(path: CommandPath) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*path, "--help"])
    problem = f"\n{result.exception!r}" if result.exception and result.exit_code else ""
    return result.exit_code, result.output + problem


if __name__ == "__main__":
    print(json.dumps({" ".join(path): help_of(path) for path in command_paths()}))
