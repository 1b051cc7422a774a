"""The agent end to end: a real X session, the real journal and a real Mosquitto."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from edge.agent.agent import Agent
from edge.agent.config import AgentConfig
from hallwatch.demo.stage import ScriptedDesktop
from mqtt import schema
from mqtt.client import BrokerConfig
from mqtt.ids import new_event_id, utc_now
from mqtt.schema import CategoryRule
from tests.journal_helpers import unique_site
from tests.mqtt_helpers import Collector, central_config, client
from tests.support.mosquitto import anonymous_broker, free_port
from tests.support.xsession import XSession

TICK_S = 0.1


@pytest.fixture
def xsession(tmp_path):
    with XSession(tmp_path) as session:
        yield session


@pytest.fixture
def site():
    return unique_site()


def make_config(tmp_path: Path, site: str, display: str, **fields) -> AgentConfig:
    broker = fields.pop("broker", BrokerConfig())
    return AgentConfig(
        site=site,
        device="ws-01",
        journal=tmp_path / "activity.db",
        interval_s=TICK_S,
        display=display,
        broker=broker,
        **fields,
    )


def sample(agent: Agent, ticks: int) -> None:
    for _ in range(ticks):
        agent.sample()
        time.sleep(TICK_S)


def listen(port: int, site: str, kind: str, **credentials) -> tuple[Collector, object]:
    seen = Collector()
    subscriber = client(
        port, f"{site}-{kind}-{new_event_id()[-6:]}", on_message=seen, **credentials
    )
    subscriber.subscribe(f"hallwatch/v1/{site}/ws-01/{kind}")
    return seen, subscriber.start()


def test_games_are_non_work_intervals_merge_and_titles_stay_private(xsession, tmp_path, site):
    seen, subscriber = listen(1883, site, "activity")
    _, editor = xsession.app("soffice", title="Budget 2026 secret-draft")
    _, game = xsession.app("minesweeper", title="Minesweeper secret-level")
    agent = Agent(make_config(tmp_path, site, xsession.display)).start()
    try:
        xsession.activate(editor)
        sample(agent, 5)
        xsession.activate(game)
        sample(agent, 6)
        xsession.activate(editor)
        sample(agent, 2)
    finally:
        agent.stop()
    got = seen.wait_for(3)
    subscriber.stop()
    events = [schema.decode(payload, topic) for topic, payload in got]
    assert [(e.app, e.category) for e in events] == [
        ("soffice", "work"),
        ("minesweeper", "game"),
        ("soffice", "work"),
    ]
    # Six samples a tick apart became one interval of about five ticks, and so on.
    assert 4 * TICK_S <= events[1].duration_s <= 9 * TICK_S
    assert events[1].start == events[0].ts and events[2].start == events[1].ts
    assert all(e.title is None for e in events)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("activity.db*"))
    assert not any(b"secret" in payload for _, payload in got)
    assert b"secret" not in stored  # not kept locally either


def test_away_from_the_keyboard_splits_intervals_and_reports_idle(xsession, tmp_path, site):
    _, editor = xsession.app("soffice")
    recorded: list[schema.Activity] = []
    config = make_config(tmp_path, site, xsession.display, afk_after_s=0.8)
    agent = Agent(config, on_interval=recorded.append).start()
    try:
        xsession.activate(editor)
        xsession.xdotool("mousemove", "10", "10")
        sample(agent, 14)  # 1.4 s without input: away from 0.8 s on
        xsession.xdotool("mousemove", "300", "200")
        sample(agent, 2)
    finally:
        agent.stop()
    assert [e.app for e in recorded] == ["soffice"] * 3
    active, away, back = recorded
    assert active.idle_s < 0.8 <= away.idle_s
    assert away.idle_s >= 1.2
    assert back.idle_s < 0.5


def test_central_policy_decides_categories_and_title_release(xsession, tmp_path, site):
    rules = client(1883, f"{site}-central").start()
    config_topic = f"hallwatch/v1/{site}/ws-01/config"

    def push(version: int, *categories: CategoryRule) -> None:
        event = central_config(site, version, categories=list(categories))
        rules.publish(config_topic, schema.encode(event), retain=True).wait_for_publish(5)

    acks, ack_listener = listen(1883, site, "ack")
    push(1, CategoryRule(category="video", pattern=r"^gedit$", titles_allowed=True))
    _, editor = xsession.app("gedit", title="Episode 12")
    recorded: list[schema.Activity] = []
    agent = Agent(make_config(tmp_path, site, xsession.display), on_interval=recorded.append)
    agent.start()
    try:
        deadline = time.monotonic() + 10
        while agent.policy_version < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        xsession.activate(editor)
        sample(agent, 3)
        push(2, CategoryRule(category="video", pattern="(unclosed"))
        got = acks.wait_for(2)
        sample(agent, 2)
    finally:
        agent.stop()
        rules.publish(config_topic, b"", retain=True).wait_for_publish(5)
        rules.stop()
        ack_listener.stop()
    assert [(e.app, e.category, e.title) for e in recorded] == [("gedit", "video", "Episode 12")]
    answers = [schema.decode(p, t) for t, p in got]
    assert [(a.version, a.applied) for a in answers] == [(1, True), (2, False)]
    assert "not a valid regular expression" in answers[1].error
    assert agent.policy_version == 1  # the bad policy was not applied


def test_a_broker_that_is_down_loses_no_interval(hardened_broker, xsession, tmp_path):
    b = hardened_broker
    seen, subscriber = listen(
        b.port, "hall-01", "activity", user="rules", password=b.password("rules")
    )
    _, editor = xsession.app("soffice")
    _, game = xsession.app("minesweeper")
    broker = BrokerConfig(
        port=b.port, username="hall-01.ws-01", password=b.password("hall-01.ws-01")
    )
    recorded: list[schema.Activity] = []
    config = make_config(tmp_path, "hall-01", xsession.display, broker=broker)
    agent = Agent(config, on_interval=recorded.append).start()
    try:
        for _ in range(2):
            xsession.activate(editor)
            sample(agent, 2)
            xsession.activate(game)
            sample(agent, 2)
        b.stop()
        for _ in range(3):
            xsession.activate(editor)
            sample(agent, 2)
            xsession.activate(game)
            sample(agent, 2)
        assert agent.journal.backlog() >= 6
        b.start()
    finally:
        agent.stop(drain_s=20)
    got = seen.wait_for(len(recorded), timeout_s=20)
    subscriber.stop()
    received = {schema.decode(p, t).id for t, p in got}
    assert len(recorded) == 10
    assert {e.id for e in recorded} <= received


def test_after_a_broker_restart_the_agent_is_online_at_once(tmp_path, site):
    """A broker that stops publishes the agent's will and keeps it: the agent that
    reconnects says at once that it is online again."""
    port = free_port()
    folder = tmp_path / "broker"
    broker = BrokerConfig(port=port, reconnect_min_s=0.2, reconnect_max_s=1.0)
    config = make_config(tmp_path, site, ":0", broker=broker)
    desktop = ScriptedDesktop(utc_now, "zhang", [], "soffice")
    with anonymous_broker(folder, port, persistence=True):
        agent = Agent(config, desktop=desktop).start()
        deadline = time.monotonic() + 10
        while agent.journal.backlog() and time.monotonic() < deadline:
            time.sleep(0.1)  # its online status delivered, then the broker stops
    try:
        time.sleep(0.5)
        with anonymous_broker(folder, port, persistence=True):
            time.sleep(3)  # the agent reconnects
            seen, subscriber = listen(port, site, "status")  # what anyone subscribing now is told
            [(topic, payload)] = seen.wait_for(1, timeout_s=5)
            subscriber.stop()
    finally:
        agent.stop(drain_s=0)
    assert schema.decode(payload, topic).state == "online"


def test_an_agent_that_cannot_see_the_desktop_says_so_and_sends_no_guesses(
    tmp_path, site, monkeypatch
):
    """No display and no idle source (a headless machine, like this one without Xvfb):
    a fault alert and a status that says what is missing, and no "unknown, idle 0"
    intervals that would read as someone at the window."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("XDG_SESSION_ID", "no-such-session")  # logind knows no idle hint
    agent = Agent(make_config(tmp_path, site, display=None))
    try:
        sample(agent, 5)
        stored = [schema.decode(row.payload) for row in agent.journal.pending(100)]
    finally:
        agent.stop(drain_s=0)
    assert not [e for e in stored if isinstance(e, schema.Activity)]
    [alert] = [e for e in stored if isinstance(e, schema.Alert)]
    assert alert.kind == schema.AlertKind.PROBE_FAULT
    assert "no display" in alert.message and "no idle source" in alert.message
    assert agent.probe_fault == alert.message


def test_an_agent_on_a_display_reports_its_probes_ok(xsession, tmp_path, site):
    agent = Agent(make_config(tmp_path, site, xsession.display))
    try:
        sample(agent, 3)
        stored = [schema.decode(row.payload) for row in agent.journal.pending(100)]
        assert agent.heartbeats.open is not None  # what it sees makes an interval
    finally:
        agent.stop(drain_s=0)
    assert agent.probe_fault is None
    assert not [e for e in stored if isinstance(e, schema.Alert)]
    assert agent._status("online").health.sensor == "ok"
    assert agent._status("offline").health is None  # the will says nothing of the probes
