"""`hallwatch station --config FILE`: run the clock-in station."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from base.service_loop import run_until_signalled
from edge.cli_options import config_file_option


@click.command()
@config_file_option("station")
@click.option(
    "--keys/--no-keys",
    default=None,
    help="Read action keys (i, o, g [kind] [reason], b) from standard input "
    "[default: when it is a terminal].",
)
@click.option("-v", "--verbose", is_flag=True, help="Log progress to standard error.")
def station(config_file: Path, keys: bool | None, verbose: bool) -> None:
    """Run the clock-in station: identify staff, journal punches, publish them.

    \b
    Example:
        hallwatch station --config /etc/hallwatch/station.toml
    """
    from edge.station.config import load_station_config
    from edge.station.keypad import KeyReader
    from edge.station.station import Station

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    config = load_station_config(config_file)
    read_keys = sys.stdin.isatty() if keys is None else keys
    reader = KeyReader() if read_keys else None
    runner = Station(config, keys=reader)
    runner.start()
    try:
        run_until_signalled(
            lambda _stop: runner.step(),
            status=f"{len(runner.names)} staff enrolled",
            alive=runner.alive,
        )
    finally:
        runner.stop()
