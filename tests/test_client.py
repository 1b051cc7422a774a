"""The client survives a broker restart: it reconnects, resubscribes, and delivers its queue."""

from __future__ import annotations

from mqtt import schema
from tests.mqtt_helpers import Collector, client, clock_event


def test_reconnects_and_delivers_what_was_queued_while_the_broker_was_down(hardened_broker):
    b = hardened_broker
    seen = Collector()
    rules = client(
        b.port,
        "rules-restart",
        "rules",
        b.password("rules"),
        on_message=seen,
        reconnect_min_s=0.2,
        reconnect_max_s=1,
    )
    rules.subscribe("hallwatch/v1/+/+/clock")
    st01 = client(
        b.port,
        "st-01",
        "hall-01.st-01",
        b.password("hall-01.st-01"),
        reconnect_min_s=0.2,
        reconnect_max_s=1,
    )
    with rules, st01:
        first = clock_event("hall-01", "st-01", 0)
        st01.publish_event(first).wait_for_publish(5)
        assert len(seen.wait_for(1)) == 1
        b.stop()
        st01.connected.clear()
        queued = [clock_event("hall-01", "st-01", seq) for seq in range(1, 51)]
        infos = [st01.publish_event(e) for e in queued]
        assert not any(i.is_published() for i in infos)
        b.start()
        assert st01.connected.wait(15) and rules.connected.wait(15)
        for info in infos:
            info.wait_for_publish(15)
        got = seen.wait_for(51, timeout_s=15)
    assert [schema.decode(p).seq for _, p in got] == list(range(51))
