from __future__ import annotations

import pytest

from mqtt import topics
from mqtt.topics import Kind, TopicError


def test_build_and_parse_round_trip():
    t = topics.device_topic("hall-01", "st-01", Kind.CLOCK)
    assert t == "hallwatch/v1/hall-01/st-01/clock"
    assert topics.parse(t) == topics.Topic("hall-01", "st-01", Kind.CLOCK)
    c = topics.central_topic("hall-01", Kind.VIOLATION)
    assert topics.parse(c).from_central


def test_filters_and_shared_subscriptions():
    assert topics.subscription() == "hallwatch/v1/+/+/+"
    assert topics.subscription("hall-01", kind=Kind.ALERT) == "hallwatch/v1/hall-01/+/alert"
    assert (
        topics.shared("rules", topics.subscription(kind=Kind.CLOCK))
        == "$share/rules/hallwatch/v1/+/+/clock"
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: topics.device_topic("Hall 1", "st-01", Kind.CLOCK), "invalid site id"),
        (lambda: topics.device_topic("hall-01", "st/01", Kind.CLOCK), "invalid device id"),
        (lambda: topics.device_topic("hall-01", "central", Kind.CLOCK), "reserved"),
        (lambda: topics.device_topic("hall-01", "st-01", Kind.VIOLATION), "rules service"),
        (lambda: topics.central_topic("hall-01", Kind.CLOCK), "not a rules-service topic"),
        (lambda: topics.parse("hallwatch/v1/hall-01/st-01/teleport"), "unknown topic kind"),
        (lambda: topics.parse("hallwatch/v2/hall-01/st-01/clock"), "not a hallwatch topic"),
        (lambda: topics.parse("hallwatch/v1/hall-01/central/clock"), "not published by central"),
        (lambda: topics.parse("hallwatch/v1/hall-01/st-01/violation"), "not published by a device"),
    ],
)
def test_bad_topics_are_explained(call, message):
    with pytest.raises(TopicError, match=message):
        call()
