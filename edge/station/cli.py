"""`hallwatch station --config FILE`: run the clock-in station."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

import click

from base.config import ConfigError


@click.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The station's TOML configuration.",
)
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
    from drivers.fingerprint.errors import FingerprintError
    from edge.journal import JournalError
    from edge.station.config import load_station_config
    from edge.station.keypad import KeyReader
    from edge.station.station import Station
    from models.gallery import GalleryError
    from models.packs import PackError

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = load_station_config(config_file)
        read_keys = sys.stdin.isatty() if keys is None else keys
        reader = KeyReader() if read_keys else None
        runner = Station(config, keys=reader)
    except (ConfigError, PackError, GalleryError, JournalError, FingerprintError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    runner.start()
    try:
        runner.run(stop)
    finally:
        runner.stop()
