"""The console's live hub against a real Mosquitto with the production ACL: one viewer
connection fanned out to many asyncio subscribers, each seeing only its sites."""

from __future__ import annotations

import asyncio
import threading

import pytest

from hallwatch.console.live import Change, LiveHub
from mqtt import schema
from mqtt.broker import Deployment, DeviceAccount
from mqtt.client import BrokerConfig, ConnectError
from mqtt.ids import utc_now
from tests.mqtt_helpers import client, clock_event
from tests.support.mosquitto import Mosquitto, free_port

HALL_A, HALL_B = "hall-01", "hall-02"


@pytest.fixture
def broker(tmp_path, test_ca):
    listeners = test_ca.model_copy(
        update={"local_port": free_port(), "tls_port": free_port(), "websockets_port": free_port()}
    )
    deployment = Deployment(
        listeners=listeners,
        devices=[DeviceAccount(site=HALL_A, id="st-01"), DeviceAccount(site=HALL_B, id="st-01")],
    )
    with Mosquitto(deployment, tmp_path / "broker") as running:
        yield running


def viewer(broker: Mosquitto) -> BrokerConfig:
    return BrokerConfig(port=broker.port, username="viewer", password=broker.password("viewer"))


def station(broker: Mosquitto, site: str):
    user = f"{site}.st-01"
    return client(broker.port, f"{site}-st-01", user, broker.password(user))


async def next_of(subscription, timeout_s: float = 5.0):
    return await asyncio.wait_for(subscription.get(), timeout_s)


def test_fifty_subscribers_receive_a_punch(broker):
    async def scenario():
        hub = await LiveHub(viewer(broker), "console-1").start()
        subscriptions = [hub.subscribe([HALL_A]) for _ in range(50)]
        punch = clock_event(HALL_A, "st-01", 1, staff="S7")
        with station(broker, HALL_A) as st:
            st.publish_event(punch).wait_for_publish(5)
            got = await asyncio.gather(*(next_of(s) for s in subscriptions))
        await hub.stop()
        return punch, got

    punch, got = asyncio.run(scenario())
    assert {live.event for live in got} == {punch}
    first = got[0]
    assert (first.site, first.kind, first.retained) == (HALL_A, "clock", False)
    assert first.change == Change(HALL_A, "S7")


def test_a_subscriber_that_never_reads_does_not_hold_up_the_others(broker):
    async def scenario():
        hub = await LiveHub(viewer(broker), "console-1").start()
        stuck = hub.subscribe([HALL_A], queue_size=4)
        readers = [hub.subscribe([HALL_A]) for _ in range(5)]
        punches = [clock_event(HALL_A, "st-01", n, staff="S1") for n in range(1, 21)]
        with station(broker, HALL_A) as st:

            async def read_all(subscription):
                return [(await next_of(subscription)).event for _ in punches]

            reading = asyncio.gather(*(read_all(r) for r in readers))
            for punch in punches:
                st.publish_event(punch)
            got = await reading
        kept = [stuck.queue.get_nowait().event for _ in range(stuck.queue.qsize())]
        await hub.stop()
        return punches, got, stuck.dropped, kept, readers

    punches, got, dropped, kept, readers = asyncio.run(scenario())
    assert all(seen == punches for seen in got)
    assert all(r.dropped == 0 for r in readers)
    assert (dropped, kept) == (16, punches[-4:])  # the oldest went, the newest are kept


def test_a_subscriber_of_hall_b_never_sees_hall_a(broker):
    async def scenario():
        hub = await LiveHub(viewer(broker), "console-1").start()
        only_b = hub.subscribe([HALL_B])
        both = hub.subscribe([HALL_A, HALL_B])
        a_punch = clock_event(HALL_A, "st-01", 1)
        b_punch = clock_event(HALL_B, "st-01", 1)
        with station(broker, HALL_A) as a, station(broker, HALL_B) as b:
            a.publish_event(a_punch).wait_for_publish(5)
            assert (await next_of(both)).event == a_punch
            b.publish_event(b_punch).wait_for_publish(5)
            seen_by_b = await next_of(only_b)
            assert (await next_of(both)).event == b_punch
        await hub.stop()
        return b_punch, seen_by_b, only_b

    b_punch, seen_by_b, only_b = asyncio.run(scenario())
    assert seen_by_b.event == b_punch
    assert only_b.queue.get_nowait() is None  # nothing from hall A before the end


def test_a_hub_for_one_site_subscribes_to_it_only(broker):
    async def scenario():
        hub = await LiveHub(viewer(broker), "console-1", [HALL_B]).start()
        everyone = hub.subscribe([HALL_A, HALL_B])
        with station(broker, HALL_A) as a, station(broker, HALL_B) as b:
            a.publish_event(clock_event(HALL_A, "st-01", 1)).wait_for_publish(5)
            b.publish_event(clock_event(HALL_B, "st-01", 1)).wait_for_publish(5)
            first = await next_of(everyone)
        await hub.stop()
        return first

    assert asyncio.run(scenario()).site == HALL_B


def test_statuses_kept_by_the_broker_arrive_as_retained_and_change_no_row(broker):
    status = schema.status_for(HALL_A, "st-01", "station", "online", utc_now())
    with station(broker, HALL_A) as st:
        st.publish_event(status).wait_for_publish(5)

    async def scenario():
        hub = LiveHub(viewer(broker), "console-1")
        # Subscribed before connecting: the broker hands kept messages over at once.
        subscription = hub.subscribe([HALL_A])
        await hub.start()
        got = await next_of(subscription)
        await hub.stop()
        return got

    got = asyncio.run(scenario())
    assert (got.event, got.retained, got.change) == (status, True, None)


def test_bad_payloads_are_counted_and_skipped(broker):
    rules = client(broker.port, "rules-1", "rules", broker.password("rules"))

    async def scenario():
        hub = await LiveHub(viewer(broker), "console-1").start()
        subscription = hub.subscribe([HALL_A])
        with rules:
            rules.publish(
                f"hallwatch/v1/{HALL_A}/central/violation", b"{nonsense"
            ).wait_for_publish(5)
            leave = schema.new_event(
                schema.Correction, HALL_A, "central", utc_now(),
                target="lv-1", action="leave_add", by="wang", reason="sick",
            )  # fmt: skip
            rules.publish_event(leave).wait_for_publish(5)
            got = await next_of(subscription)
        await hub.stop()
        return hub.rejected, got

    rejected, got = asyncio.run(scenario())
    assert rejected == 1
    assert got.change == Change(HALL_A, None)  # leave names no person: the whole hall


def test_subscribers_come_and_go_and_stop_leaves_no_threads(broker):
    before = set(threading.enumerate())

    async def scenario():
        hub = await LiveHub(viewer(broker), "console-1").start()
        gone = hub.subscribe([HALL_A])
        staying = hub.subscribe([HALL_A])
        hub.unsubscribe(gone)
        assert await next_of(gone) is None and hub.subscribers == 1
        with station(broker, HALL_A) as st:
            st.publish_event(clock_event(HALL_A, "st-01", 1)).wait_for_publish(5)
            assert (await next_of(staying)).site == HALL_A
        await hub.stop()
        streamed = [live async for live in staying]
        return hub, streamed

    hub, streamed = asyncio.run(scenario())
    assert streamed == [] and hub.subscribers == 0 and not hub.connected
    assert set(threading.enumerate()) == before


def test_a_broker_that_is_not_there_is_an_error(broker):
    config = BrokerConfig(port=free_port(), username="viewer", password="x")

    async def scenario():
        await LiveHub(config, "console-1").start(wait_s=1)

    with pytest.raises(ConnectError, match="live view cannot connect"):
        asyncio.run(scenario())
