"""`hallwatch agent` as a real process, and its systemd user unit."""

from __future__ import annotations

import getpass
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mqtt import schema
from tests.journal_helpers import unique_site
from tests.mqtt_helpers import Collector, client
from tests.support.xsession import XSession

HALLWATCH = str(Path(sys.executable).with_name("hallwatch"))


@pytest.fixture
def xsession(tmp_path):
    with XSession(tmp_path) as session:
        yield session


def test_agent_shows_the_disclosure_and_publishes_intervals(xsession, tmp_path):
    site = unique_site()
    shown = tmp_path / "shown.txt"
    config = tmp_path / "activity.toml"
    config.write_text(
        f'site = "{site}"\ndevice = "ws-01"\njournal = "{tmp_path}/activity.db"\n'
        "interval_s = 0.2\nmax_interval_s = 1\n"
        'disclosure = "This PC records app use for the hall rules."\n'
        f'disclosure_command = ["sh", "-c", \'printf %s "$1" > {shown}\', "sh"]\n'
        f'[users]\n"{getpass.getuser()}" = "S042"\n'
    )
    seen = Collector()
    subscriber = client(1883, f"{site}-cli", on_message=seen)
    subscriber.subscribe(f"hallwatch/v1/{site}/ws-01/activity")
    subscriber.start()
    _, game = xsession.app("minesweeper")
    xsession.activate(game)
    run = subprocess.run(
        [HALLWATCH, "agent", "--config", str(config), "--seconds", "2.5", "--json"],
        env=xsession.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    got = seen.wait_for(2)
    subscriber.stop()
    assert run.returncode == 0, run.stderr
    assert "This PC records app use for the hall rules." in run.stderr
    deadline = time.monotonic() + 10  # the disclosure dialog is started, not waited for
    while not (shown.exists() and shown.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert shown.read_text() == "This PC records app use for the hall rules."
    printed = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(printed) >= 2  # cut at max_interval_s: about one interval a second
    assert {(p["app"], p["category"], p["staff_id"]) for p in printed} == {
        ("minesweeper", "game", "S042")
    }
    published = [schema.decode(p, t) for t, p in got]
    assert [e.id for e in published] == [p["id"] for p in printed][: len(published)]


def test_a_bad_config_file_is_explained(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('site = "Hall 1"\ndevice = "ws-01"\ninterval_s = 0\n')
    run = subprocess.run(
        [HALLWATCH, "agent", "--config", str(config)], capture_output=True, text=True
    )
    assert run.returncode == 1
    assert "key 'site'" in run.stderr and "key 'interval_s'" in run.stderr
    missing = subprocess.run(
        [HALLWATCH, "agent", "--config", str(tmp_path / "nope.toml")],
        capture_output=True,
        text=True,
    )
    assert "no such configuration file" in missing.stderr
