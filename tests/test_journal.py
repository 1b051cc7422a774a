"""The device journal and its publisher, against real SQLite files and a real Mosquitto."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from edge.journal import Journal, JournalError, JournalFull
from edge.publisher import JournalPublisher
from mqtt import schema
from mqtt.ids import utc_now
from tests.conftest import REPO
from tests.journal_helpers import activity_event, alert_event, unique_site
from tests.mqtt_helpers import Collector, client, clock_event


def test_seq_is_persistent_and_ids_are_kept(tmp_path):
    site, path = unique_site(), tmp_path / "j.db"
    with Journal(path, site, "st-01") as journal:
        first = [journal.append(clock_event(site, "st-01", 0)) for _ in range(3)]
        again = journal.append(first[1])  # the same event offered twice keeps its seq
    assert [e.seq for e in first] == [1, 2, 3]
    assert again.seq == 2 and again.id == first[1].id
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with Journal(path, site, "st-01") as journal:
        later = journal.append(clock_event(site, "st-01", 0))
        assert later.seq == 4
        assert [e.id for e in journal.events()] == [*(e.id for e in first), later.id]
        assert journal.backlog() == 4


def test_a_journal_that_cannot_be_opened_is_a_clear_error(tmp_path):
    (tmp_path / "a-file").write_text("")
    with pytest.raises(JournalError, match=r"cannot open the event journal .*a-file/j\.db"):
        Journal(tmp_path / "a-file" / "j.db", "hall-01", "st-01")


def test_foreign_events_are_refused(tmp_path):
    site = unique_site()
    with Journal(tmp_path / "j.db", site, "st-01") as journal:
        with pytest.raises(JournalError, match="offered to the journal of"):
            journal.append(clock_event(site, "st-02", 0))
        assert journal.backlog() == 0


def test_bound_drops_oldest_activity_and_never_punches(tmp_path):
    site = unique_site()
    journal = Journal(tmp_path / "j.db", site, "ws-01", max_bytes=96 * 1024)
    clocks, activity = [], []
    for i in range(600):
        activity.append(journal.append(activity_event(site, "ws-01", app=f"app-{i:04d}" * 8)))
        if i % 10 == 0:
            clocks.append(journal.append(clock_event(site, "ws-01", 0)))
    kept = journal.events()
    kept_ids = {e.id for e in kept}
    assert journal.dropped > 0
    assert {c.id for c in clocks} <= kept_ids
    kept_activity = [e.seq for e in kept if isinstance(e, schema.Activity)]
    # What survives is the newest activity, contiguous up to the last one appended.
    newest = [a.seq for a in activity][-len(kept_activity) :]
    assert kept_activity == newest
    alerts = [e for e in kept if isinstance(e, schema.Alert)]
    assert alerts and alerts[0].kind is schema.AlertKind.DISK_FULL
    assert "dropped" in alerts[0].message
    # With no activity left to drop, a punch that does not fit is refused loudly.
    with pytest.raises(JournalFull, match="NOT recorded"):
        for _ in range(10_000):
            clocks.append(journal.append(clock_event(site, "ws-01", 0)))
    assert {c.id for c in clocks} <= {e.id for e in journal.events()}
    journal.close()


def test_acknowledged_events_are_pruned_after_retention(tmp_path):
    site = unique_site()
    now = [utc_now()]
    journal = Journal(
        tmp_path / "j.db", site, "st-01", retention=timedelta(days=2), now=lambda: now[0]
    )
    sent = journal.append(clock_event(site, "st-01", 0))
    unsent = journal.append(clock_event(site, "st-01", 0))
    journal.mark_sent([sent.seq])
    now[0] += timedelta(days=1)
    assert journal.prune() == 0
    now[0] += timedelta(days=2)
    assert journal.prune() == 1
    assert [e.id for e in journal.events()] == [unsent.id]
    journal.close()


def test_broker_down_loses_nothing_and_alerts_drain_first(hardened_broker, tmp_path):
    """An agent's alerts drain before its intervals (a station's punches likewise)."""
    b = hardened_broker
    seen = Collector()
    rules = client(b.port, "rules-journal", "rules", b.password("rules"), on_message=seen)
    rules.subscribe("hallwatch/v1/hall-01/ws-01/+")
    rules.start()
    agent = client(b.port, "ws-01", "hall-01.ws-01", b.password("hall-01.ws-01")).start()
    journal = Journal(tmp_path / "j.db", "hall-01", "ws-01")
    publisher = JournalPublisher(journal, agent).start()
    try:
        before = journal.append(activity_event("hall-01", "ws-01"))
        seen.wait_for(1)
        deadline = time.monotonic() + 5
        while journal.backlog() and time.monotonic() < deadline:  # its PUBACK is recorded
            time.sleep(0.01)
        b.stop()
        activity = [journal.append(activity_event("hall-01", "ws-01")) for _ in range(30)]
        alerts = [journal.append(alert_event("hall-01", "ws-01")) for _ in range(5)]
        assert journal.backlog() == 35
        b.start()
        got = seen.wait_for(36, timeout_s=30)
    finally:
        publisher.stop(drain_s=10)
        agent.stop()
        rules.stop()
    events = [schema.decode(p, t) for t, p in got]
    assert len({e.id for e in events}) == 36
    assert events[0].id == before.id
    # After the outage the alerts go first, then the intervals in their original order.
    assert [e.id for e in events[1:6]] == [a.id for a in alerts]
    assert [e.seq for e in events[6:]] == [a.seq for a in activity]
    assert journal.backlog() == 0
    journal.close()


def test_sigkill_at_any_point_loses_nothing_and_keeps_ids(tmp_path):
    """Kill a journaling, publishing process with SIGKILL again and again, then restart it."""
    site, path = unique_site(), tmp_path / "j.db"
    seen = Collector()
    rules = client(1883, f"{site}-rules", on_message=seen)
    rules.subscribe(f"hallwatch/v1/{site}/st-01/clock")
    rules.start()
    appended: dict[str, int] = {}
    rng = random.Random(7)
    try:
        for _ in range(5):
            child = _child(path, site, "append")
            time.sleep(rng.uniform(0.4, 1.2))
            child.send_signal(signal.SIGKILL)
            out, _ = child.communicate(timeout=10)
            for line in out.decode().splitlines():
                seq, event_id = line.split()
                appended[event_id] = int(seq)
        drained = _child(path, site, "drain").communicate(timeout=60)[0].decode()
        assert drained.strip() == "BACKLOG 0"
        got = seen.wait_for(len(appended), timeout_s=20)
    finally:
        rules.stop()
    received: dict[str, int] = {}
    for topic, payload in got:
        event = schema.decode(payload, topic)
        assert received.setdefault(event.id, event.seq) == event.seq  # a redelivery, same seq
    assert len(appended) > 50
    assert set(appended) <= set(received)
    seqs = sorted(received.values())
    assert len(set(seqs)) == len(received)  # no seq shared by two ids
    assert seqs == list(range(1, len(seqs) + 1))  # and none skipped across the restarts
    assert all(received[i] == s for i, s in appended.items())


def _child(path, site: str, mode: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.journal_child", str(path), site, "1883", mode],
        cwd=REPO,
        stdout=subprocess.PIPE,
    )


def test_a_full_disk_raises_an_alert_and_keeps_every_punch(tiny_disk):
    site = unique_site()
    journal = Journal(tiny_disk / "j.db", site, "st-01")
    clocks = []
    for i in range(8000):
        journal.append(activity_event(site, "st-01", app="x" * 100))
        if i % 20 == 0:
            clocks.append(journal.append(clock_event(site, "st-01", 0)).id)
    assert journal.dropped > 0  # the disk filled up: old activity made room
    kept = journal.events()
    alerts = [e for e in kept if isinstance(e, schema.Alert)]
    assert alerts and alerts[0].kind is schema.AlertKind.DISK_FULL
    assert alerts[0].message.startswith("event journal disk full")
    assert set(clocks) <= {e.id for e in kept}
    with pytest.raises(JournalFull, match="NOT recorded"):
        for _ in range(20_000):
            clocks.append(journal.append(clock_event(site, "st-01", 0)).id)
    assert set(clocks) <= {e.id for e in journal.events()}
    journal.close()
