"""Delivery that does not depend on the broker (issue 18): the centre folds the journal
numbers it receives, asks devices for the gaps, and records what they no longer have."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from edge.journal import Journal
from edge.resend import answer_resend
from mqtt import schema
from mqtt.client import topic_for
from mqtt.topics import CENTRAL
from rules.delivery import GIVE_UP_AFTER, GRACE, Received, fold, retry_after
from tests.journal_helpers import activity_event, unique_site

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


# -- folding (pure) ----------------------------------------------------------------------
def test_fold_advances_over_what_is_contiguous_and_names_the_gaps():
    folded = fold(0, 0, [(1, 3), (5, 6), (9, 9)])
    assert (folded.upto, folded.highest, folded.gaps) == (3, 9, [(4, 4), (7, 8)])
    later = fold(folded.upto, folded.highest, [(4, 9)])
    assert (later.upto, later.highest, later.gaps) == (9, 9, [])
    # Runs received twice, overlapping, or below `upto` change nothing.
    again = fold(3, 9, [(1, 3), (5, 6), (5, 6), (6, 6), (9, 9)])
    assert (again.upto, again.gaps) == (3, [(4, 4), (7, 8)])


def test_numbers_are_noted_as_the_runs_they_make():
    site = unique_site()
    numbers = [("ws-02", 7), ("ws-01", 1), ("ws-01", 2), ("ws-01", 3), ("ws-02", 8),
               ("ws-01", 2), ("ws-02", 4), ("ws-01", 0)]  # fmt: skip
    events = [_with_seq(activity_event(site, device), seq) for device, seq in numbers]
    received = Received()
    received.add(events[:4])
    received.add(events[4:])
    assert sorted(received.take()) == [
        (site, "ws-01", 1, 3), (site, "ws-01", 2, 2), (site, "ws-02", 4, 4),
        (site, "ws-02", 7, 8),
    ]  # fmt: skip
    assert received.take() == []


def test_a_device_seen_first_starts_where_its_first_number_is():
    assert fold(None, 0, [(40, 41), (43, 43)]).upto == 41  # nothing before 40 is asked for
    assert fold(None, 0, []).upto == 0


def test_requests_back_off_up_to_an_hour():
    assert [retry_after(n).total_seconds() for n in (0, 1, 2, 3)] == [60, 60, 120, 240]
    assert retry_after(30) == timedelta(hours=1)


# -- the store, on both backends ---------------------------------------------------------
def arrived(store, events: list[schema.Event]) -> None:
    """Stored and their numbers noted, as ingest does (rules/ingest.py)."""
    store.add_events(events)
    store.note_runs(Received.of(events))


def _with_seq(e: schema.Activity, seq: int) -> schema.Activity:
    return msgspec.structs.replace(e, seq=seq)


def test_a_gap_is_asked_for_after_the_grace_and_filled_by_the_resend(store):
    site = unique_site()
    arrived(store, [_with_seq(activity_event(site, "ws-01"), s) for s in (1, 2, 5, 6)])
    assert store.fold_deliveries(T0) == []  # a gap, but it may still be on its way
    [d] = store.deliveries(site)
    assert (d.upto, d.highest, d.missing, d.gap_since) == (2, 6, 2, T0)
    later = T0 + GRACE
    assert store.fold_deliveries(later) == [(site, "ws-01", 3, 4)]
    assert store.fold_deliveries(later + timedelta(seconds=5)) == []  # asked: wait for it
    [d] = store.deliveries(site)
    assert (d.resend_first, d.resend_last, d.resends, d.resend_at) == (3, 4, 1, later)
    arrived(store, [_with_seq(activity_event(site, "ws-01"), s) for s in (3, 4)])
    assert store.fold_deliveries(later + timedelta(seconds=10)) == []
    [d] = store.deliveries(site)
    assert (d.upto, d.missing, d.gap_since, d.resends) == (6, 0, None, 0)
    assert (d.resend_first, d.resend_last, d.resend_at) == (3, 4, later)  # the last, kept


def test_a_gap_opening_above_an_unmoved_delivery_is_asked_for_too(store):
    """Everything delivered, then only later numbers arrive (the entries between lost by a
    broker, or a store restored from a backup): the gap opens without `upto` moving."""
    site = unique_site()
    arrived(store, [_with_seq(activity_event(site, "ws-01"), s) for s in (1, 2)])
    store.fold_deliveries(T0)
    arrived(store, [_with_seq(activity_event(site, "ws-01"), 9)])
    assert store.fold_deliveries(T0 + timedelta(seconds=1)) == []
    [d] = store.deliveries(site)
    assert (d.upto, d.highest, d.gap_since) == (2, 9, T0 + timedelta(seconds=1))
    assert store.fold_deliveries(T0 + timedelta(seconds=1) + GRACE) == [(site, "ws-01", 3, 8)]


def test_what_the_device_no_longer_has_is_counted_lost_once_and_delivery_moves_on(store):
    site = unique_site()
    arrived(store, [_with_seq(activity_event(site, "st-01"), s) for s in (1, 9)])
    store.fold_deliveries(T0)
    assert store.record_lost(site, "st-01", [(2, 5), (7, 8)], T0, "no longer on the device") == 6
    assert store.record_lost(site, "st-01", [(2, 5)], T0, "no longer on the device") == 0
    arrived(store, [_with_seq(activity_event(site, "st-01"), 6)])
    store.fold_deliveries(T0 + timedelta(seconds=1))
    [d] = store.deliveries(site)
    assert (d.upto, d.lost, d.missing) == (9, 6, 0)
    assert store.lost_ranges(site, "st-01") == [
        (2, 5, "no longer on the device"), (7, 8, "no longer on the device")
    ]  # fmt: skip


def test_a_gap_never_filled_is_recorded_lost_after_the_last_request(store):
    site = unique_site()
    arrived(store, [_with_seq(activity_event(site, "ws-01"), s) for s in (1, 3)])
    now = T0
    store.fold_deliveries(now)
    for _ in range(GIVE_UP_AFTER):
        now += retry_after(GIVE_UP_AFTER) + GRACE
        assert store.fold_deliveries(now) == [(site, "ws-01", 2, 2)]
    now += retry_after(GIVE_UP_AFTER) + GRACE
    assert store.fold_deliveries(now) == []
    store.fold_deliveries(now + timedelta(seconds=1))
    [d] = store.deliveries(site)
    assert (d.upto, d.lost) == (3, 1)
    assert store.lost_ranges(site, "ws-01") == [
        (2, 2, f"not received after {GIVE_UP_AFTER} requests")
    ]


def test_duplicates_and_wills_do_not_count_and_acks_are_noted_beside_ingest(store):
    site = unique_site()
    first = _with_seq(activity_event(site, "ws-01"), 1)
    arrived(store, [first, first, _with_seq(activity_event(site, "ws-01"), 0)])
    store.note_runs([(site, "ws-01", 2, 2)])  # an ack, taken by the device config sender
    store.fold_deliveries(T0)
    [d] = store.deliveries(site)
    assert (d.upto, d.highest) == (2, 2)


# -- the device's side ---------------------------------------------------------------------
def test_a_device_sends_again_what_it_holds_and_names_what_it_no_longer_has(tmp_path):
    site = unique_site()
    with Journal(tmp_path / "j.db", site, "ws-01") as journal:
        for _ in range(6):
            journal.append(activity_event(site, "ws-01"))
        journal.mark_sent([1, 2, 3, 4, 5, 6])  # the broker acknowledged, then lost them
        with sqlite3.connect(tmp_path / "j.db") as db:  # pruned, as after its retention
            db.execute("DELETE FROM events WHERE seq IN (3, 4)")
        assert journal.backlog() == 0
        request = schema.new_event(schema.Resend, site, CENTRAL, T0, seq=1, first_seq=2, last_seq=6)
        topic = topic_for(request, "ws-01")
        answer = answer_resend(journal, site, "ws-01", topic, schema.encode(request), T0)
        assert answer is not None and answer.request_id == request.id
        assert (answer.resent, answer.missing) == (3, [(3, 4)])
        # The answer first (as acks go), then the activity again, in order.
        assert [e.seq for e in journal.pending(10)] == [7, 2, 5, 6]
        # A request for another device, or not a request at all, is refused, nothing marked.
        other = topic.replace("/ws-01/", "/ws-02/")
        assert answer_resend(journal, site, "ws-01", other, schema.encode(request), T0) is None


@pytest.mark.parametrize(
    ("first", "last"), [(5, 4), (1, schema.MAX_RESEND + 1)], ids=["backwards", "too-long"]
)
def test_a_resend_request_out_of_bounds_is_refused_by_the_contract(first, last):
    request = schema.new_event(schema.Resend, "hall-01", CENTRAL, T0, seq=1, first_seq=1,
                               last_seq=1)  # fmt: skip
    bad = json.loads(schema.encode(request)) | {"first_seq": first, "last_seq": last}
    with pytest.raises(schema.PayloadError, match="at most"):
        schema.decode(json.dumps(bad), topic_for(request, "st-01"))


# -- the whole loop: a real broker, the rules service and the workstation agent -----------
def test_what_a_broker_lost_after_acknowledging_it_is_asked_for_and_sent_again(tmp_path):
    """The agent's journal holds entries its broker acknowledged and then lost (a broker
    restart takes a `$share` group's messages with it): the centre sees the numbers after
    them, asks, and the agent publishes them again; one it no longer holds is lost, said."""
    from edge.agent.agent import Agent
    from edge.agent.config import AgentConfig
    from hallwatch.demo.stage import ScriptedDesktop
    from mqtt.client import BrokerConfig
    from mqtt.ids import utc_now
    from rules.service import RulesService, RulesSettings, ServiceConfig

    site = unique_site()
    journal_file = tmp_path / "activity.db"
    with Journal(journal_file, site, "ws-01") as journal:
        made = [journal.append(activity_event(site, "ws-01")) for _ in range(6)]
        journal.mark_sent([2, 3, 4, 5])  # acknowledged by the broker, never delivered
    with sqlite3.connect(journal_file) as db:
        db.execute("DELETE FROM events WHERE seq = 3")  # and 3 pruned since
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[[windows]]\nid = "w1"\nsite = "{site}"\nstaff = ["S1"]\n')
    config = ServiceConfig(
        broker=BrokerConfig(persistent_session=False),
        rules=RulesSettings(
            db=tmp_path / "rules.db", policy=policy, client_id=f"rules-{site}", sites=[site],
            recompute_every_s=0.2, resend_after_s=0.5,
        ),
    )  # fmt: skip
    agent_config = AgentConfig(
        site=site, device="ws-01", journal=journal_file, interval_s=0.1, display=":0"
    )
    with RulesService(config) as service:
        service.delivery.every_s = 0.2
        agent = Agent(agent_config, desktop=ScriptedDesktop(utc_now, "clerk", [], "soffice"))
        agent.start()
        try:
            wanted = {made[i].id for i in (0, 1, 3, 4, 5)}
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not (
                wanted <= stored_ids(service.store) and service.store.deliveries(site)[0].lost == 1
            ):
                time.sleep(0.1)
        finally:
            agent.stop(drain_s=1)
        [delivered] = service.store.deliveries(site)
        stored = stored_ids(service.store) & wanted
        lost = service.store.lost_ranges(site, "ws-01")
    assert stored == wanted
    assert (delivered.lost, delivered.resend_first, delivered.resend_last) == (1, 2, 5)
    assert lost == [(3, 3, "no longer on the device")]
    assert delivered.upto >= 8  # 1-6, the agent's online status (7), its answer (8)


def stored_ids(store) -> set[str]:
    now = datetime.now(UTC)
    return {e.id for e in store.events(now - timedelta(hours=1), now + timedelta(hours=1))}
