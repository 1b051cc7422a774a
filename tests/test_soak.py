"""The soak run (bench/soak.py) at a small size: its correctness checks, not its figures."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import msgspec
import pytest

from mqtt import schema
from rules.pgstore import PostgresStore
from tests.conftest import REPO
from tests.support.postgres import scratch_schema

sys.path.insert(0, str(REPO / "bench"))
import soak


@pytest.mark.slow
def test_a_small_soak_stores_every_journaled_event_once_and_equals_a_clean_replay() -> None:
    command = [sys.executable, str(REPO / "bench" / "soak.py"), "--devices", "20"]
    command += ["--minutes", "0.2", "--instances", "2"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "20 devices (2 stations, 18 agents), 100 staff" in done.stdout
    assert "4 devices offline for the first half" in done.stdout
    assert (
        "checks: every journaled event stored exactly once; violations equal a clean replay"
        in done.stdout
    )


def test_the_checks_name_what_the_store_lacks_or_holds_otherwise(tmp_path) -> None:
    the_plan = soak.plan(20, 0.2, seed=1)
    kept, changed, lost = the_plan.events[:3]
    with scratch_schema() as url:
        store = PostgresStore(url)
        store.add_events([kept, changed])
        store.close()
        altered = msgspec.structs.replace(changed, ts=changed.ts + timedelta(minutes=1))
        journal = {e.id: (schema.encode(e), 0.0) for e in (kept, altered, lost)}
        problems = soak.check(the_plan, journal, url, tmp_path)
    # The live store judged nothing; a replay of three punches finds them incomplete.
    assert problems == [
        "1 journaled events not in the store",
        "1 events stored differently from their journal",
        "violations differ from a clean replay of the journaled events",
    ]
