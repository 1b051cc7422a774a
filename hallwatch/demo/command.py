"""`hallwatch demo`: enrol a small hall, live one working day in a minute, report on it.

Everything runs through the real code: the embedded broker, two stations (the face
pipeline on real photos, the fingerprint driver over its emulator), two workstation
agents on scripted desktops, the rules service on SQLite, and the live feed.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

import click

from base.errors import HallwatchError
from hallwatch.demo import hall
from hallwatch.demo.simulated_time import SimulatedTime

# The day takes about this long: 9 hours at 1,000x is 32 s, plus punches.
SPEED = 1000.0
# Written into every folder the demo creates: only such a folder is deleted by a rerun.
MARKER = ".hallwatch-demo"


class DemoFolderError(HallwatchError):
    """--out names a folder the demo did not create."""


def shared(kind: str, given: Path | None) -> Path | None:
    """`given`, else `$HALLWATCH_SHARED/<kind>` if there is one (`make demo` sets it)."""
    if given is not None:
        return given
    base = os.environ.get("HALLWATCH_SHARED")
    return Path(base) / kind if base and (Path(base) / kind).is_dir() else None


def fresh_out_dir(out: Path) -> None:
    """Make `out` an empty folder marked as the demo's; replace only a folder it made.

    A folder with anything in it and no marker is someone else's: it is left alone.
    """
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise DemoFolderError(
                f"{out} exists and was not made by 'hallwatch demo', so it is left alone: "
                "give another --out, or remove that folder yourself"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("made by 'hallwatch demo': deleted and rewritten on its next run\n")


@click.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-out"),
    show_default=True,
    help="Where the demo keeps its data and writes report.html; a rerun replaces only a "
    "folder the demo made.",
)
@click.option(
    "--faces",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Photos for the replay camera [$HALLWATCH_SHARED/faces].",
)
@click.option(
    "--models",
    "models_source",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Model files to install the face pack from [$HALLWATCH_SHARED/models].",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=10),
    default=SPEED,
    show_default=True,
    help="Simulated seconds per real second.",
)
@click.option("--quiet", is_flag=True, help="No live feed; only the reports.")
def demo(
    out: Path, faces: Path | None, models_source: Path | None, speed: float, quiet: bool
) -> None:
    """A whole hall day in a minute: punches, violations, the inspection and the scores.

    \b
    Example:
        hallwatch demo                   # writes demo-out/report.html
        hallwatch demo --speed 3000 --quiet
    """
    from hallwatch.demo.console import set_up_console
    from hallwatch.demo.run import HallDay

    faces = shared("faces", faces)
    models_source = shared("models", models_source)
    fresh_out_dir(out)
    # Components log to a file; the terminal shows the feed, the screens and the reports.
    logging.basicConfig(
        filename=out / "demo.log",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    sim_time = SimulatedTime(hall.START, speed)
    sim_time.freeze()  # the day starts once the hall is set up (HallDay.live)
    with HallDay(out, sim_time, faces, models_source, quiet=quiet) as day:
        day.live()
        report = day.report()
    click.echo(report.text)
    click.secho(f"\nreport: {report.html}", bold=True)
    click.secho(set_up_console(out), bold=True)
    sys.stdout.flush()
