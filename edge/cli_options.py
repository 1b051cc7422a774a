"""What the station's and the agent's commands share: the option naming their file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def config_file_option(program: str) -> Callable[[F], F]:
    """`--config FILE` (required), passed as `config_file`: `program`'s TOML file."""
    return click.option(
        "--config",
        "config_file",
        required=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"The {program}'s TOML configuration file.",
    )
