"""Merging samples into intervals, classifying apps, and the recording hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from base.config import ConfigError, validate
from edge.agent.agent import Agent
from edge.agent.classify import DEFAULT_RULES, NON_WORK, CategoryError, Classifier
from edge.agent.config import AgentConfig, RecordingHours
from edge.agent.desktop import UnknownDesktop
from edge.agent.heartbeats import Heartbeats, Sample
from mqtt.schema import CategoryRule

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(seconds: float, app: str = "soffice", **fields) -> Sample:
    values = {"category": "work", "user": "zhang", "idle_s": 0.0, "away": False} | fields
    return Sample(at=T0 + timedelta(seconds=seconds), app=app, **values)


def feed(beats: Heartbeats, samples: list[Sample]) -> list:
    closed = [i for s in samples for i in beats.add(s)]
    return closed + beats.flush()


def spans(intervals) -> list[tuple[str, float, float]]:
    return [(i.sample.app, (i.start - T0).total_seconds(), i.duration_s) for i in intervals]


def test_equal_consecutive_samples_merge_and_a_change_closes_at_the_new_sample():
    samples = [at(0), at(5), at(10), at(15, "minesweeper"), at(20, "minesweeper"), at(25)]
    assert spans(feed(Heartbeats(pulse_s=11, max_s=600), samples)) == [
        ("soffice", 0, 15),
        ("minesweeper", 15, 10),
    ]  # the last soffice sample has no duration yet: it is not published on its own


def test_a_gap_longer_than_the_pulse_is_not_bridged():
    samples = [at(0), at(5), at(100), at(105)]
    assert spans(feed(Heartbeats(pulse_s=11, max_s=600), samples)) == [
        ("soffice", 0, 5),
        ("soffice", 100, 5),
    ]


def test_long_activity_is_cut_at_max_length_without_losing_time():
    samples = [at(5 * i) for i in range(30)]  # 145 s of the same app
    got = spans(feed(Heartbeats(pulse_s=11, max_s=60), samples))
    assert got == [("soffice", 0, 60), ("soffice", 60, 60), ("soffice", 120, 25)]


def test_away_state_and_titles_split_but_idle_time_alone_does_not():
    samples = [
        at(0, idle_s=1),
        at(5, idle_s=6),  # idle grows: same interval
        at(10, idle_s=11, away=True),
        at(15, idle_s=16, away=True),
        at(20, title="Report.odt"),
    ]
    intervals = feed(Heartbeats(pulse_s=11, max_s=600), samples)
    assert [(i.sample.away, i.duration_s, i.idle_s) for i in intervals] == [
        (False, 10, 6),
        (True, 10, 16),
    ]


def test_default_rules_classify_non_work_apps():
    classifier = Classifier()
    assert classifier.classify("soffice.bin").category == "work"
    assert classifier.classify("Minesweeper").category == "game"
    assert classifier.classify("steam").category == "game"
    assert classifier.classify("iqiyi.exe").category == "video"
    assert classifier.classify("WeChat.exe").category == "chat"
    assert classifier.classify("tonghuashun").category == "stocks"
    assert {r.category for r in DEFAULT_RULES} == set(NON_WORK)
    assert not any(classifier.classify(app).titles_allowed for app in ("steam", "soffice"))


def test_first_matching_rule_wins_and_a_bad_pattern_is_named():
    rules = [
        CategoryRule(category="work", pattern=r"^firefox$", titles_allowed=True),
        CategoryRule(category="video", pattern=r"fire"),
    ]
    classifier = Classifier(rules, default="other")
    assert classifier.classify("firefox").category == "work"
    assert classifier.classify("firefox").titles_allowed
    assert classifier.classify("firefox-esr").category == "video"
    assert classifier.classify("soffice").category == "other"
    with pytest.raises(CategoryError, match=r"rule 2 \(video\).*not a valid regular expression"):
        Classifier([rules[0], CategoryRule(category="video", pattern="[")])


def test_recording_hours_follow_the_halls_time_zone_days_and_periods():
    hours = RecordingHours(
        timezone="Asia/Shanghai", days=[1, 2, 3, 4, 5], periods=["09:00-12:00", "13:30-17:00"]
    )
    monday_0930_beijing = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    assert hours.contains(monday_0930_beijing)
    assert not hours.contains(monday_0930_beijing + timedelta(hours=3))  # 12:30, lunch
    assert hours.contains(monday_0930_beijing + timedelta(hours=4, minutes=30))  # 14:00
    assert not hours.contains(monday_0930_beijing + timedelta(days=5))  # Saturday
    with pytest.raises(ConfigError) as bad:
        validate(
            AgentConfig,
            {
                "site": "hall-01",
                "device": "ws-01",
                "recording": {"timezone": "Mars/Base", "days": [8], "periods": ["17:00-09:00"]},
            },
            "activity.toml",
        )
    message = str(bad.value)
    assert "unknown time zone 'Mars/Base'" in message
    assert "recording.days.0" in message
    assert "'17:00-09:00' ends before it starts" in message


def test_outside_recording_hours_nothing_is_sampled(tmp_path):
    today = datetime.now().astimezone().isoweekday()
    config = AgentConfig(
        site="hall-01",
        device="ws-01",
        journal=tmp_path / "a.db",
        recording=RecordingHours(days=[d for d in range(1, 8) if d != today]),
    )
    agent = Agent(config, desktop=UnknownDesktop())
    try:
        assert [agent.sample() for _ in range(3)] == [[], [], []]
        assert agent.heartbeats.open is None and agent.journal.events() == []
    finally:
        agent.journal.close()
