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

from hallwatch.demo import hall
from hallwatch.demo.simulated_time import SimulatedTime

REPO = Path(__file__).resolve().parents[2]
# The day takes about this long: 9 hours at 1,000x is 32 s, plus punches.
SPEED = 1000.0


def _shared(kind: str, given: Path | None) -> Path | None:
    if given is not None:
        return given
    base = Path(os.environ.get("HALLWATCH_SHARED", REPO.parent / "shared"))
    return base / kind if (base / kind).is_dir() else None


@click.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-out"),
    show_default=True,
    help="Where the demo keeps its data and writes report.html.",
)
@click.option(
    "--faces",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Photos for the replay camera [$HALLWATCH_SHARED/faces, else ../shared/faces].",
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
    from hallwatch.demo.run import HallDay

    faces = _shared("faces", faces)
    models_source = _shared("models", models_source)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
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
    sys.stdout.flush()
