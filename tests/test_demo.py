"""`make demo` runs end to end on embedded defaults and shows the feed."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_demo_shows_events_flowing_into_the_live_feed():
    result = subprocess.run(
        [sys.executable, "-m", "hallwatch", "demo"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in (
        "S001  clock_in  face",
        "S002  clock_in  finger",
        "leave_out",
        "unknown_face",
        "SERIOUS spoof_suspected",
        "activity",
        "MALFORMED",
        "station OFFLINE",
    ):
        assert expected in out, expected
    assert "(1 malformed, shown as such)" in out
