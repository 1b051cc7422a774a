"""What the centre has of each device's journal, in a real Chromium against a real console on
SQLite and PostgreSQL (issue 18): the inspection page lists per device delivered up to,
missing, lost and the last resend, and the loss is an open item; the live hall's devices
panel says the same, the loss marked."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from mqtt import schema
from mqtt.ids import new_event_id, utc_now
from rules.acting import Actor
from rules.backend import open_store
from rules.delivery import GRACE, Received
from rules.directory import Device
from rules.manage import Management
from rules.policy import load_policy
from tests.console.assess_month import DIRECTORY, write_policy
from tests.rules_helpers import TZ
from tests.support.browser import console_config, free_port, serve


@pytest.fixture
def hall(store_at, tmp_path):
    """hall-01's station 入口考勤机 journaled 1-8: 1-3, 7 and its status (8) arrived, 4-5
    it no longer had when asked, 6 was asked for a minute later."""
    store = open_store(store_at())
    policy = write_policy(tmp_path)
    store.seed_directory(DIRECTORY)
    management = Management(store, load_policy(policy))
    management.register_device(
        Actor("tests", "cli"), Device("hall-01", "st-01", "station", "入口考勤机")
    )
    now = utc_now() - timedelta(minutes=5)
    status = schema.new_event(
        schema.Status, "hall-01", "st-01", now, seq=8, state="online", role="station"
    )
    entries = [
        msgspec.structs.replace(status, id=new_event_id(), seq=seq, state="online")
        for seq in (1, 2, 3, 7)
    ]
    store.add_events([*entries, status])
    store.note_runs(Received.of([*entries, status]))  # as ingest does with each flush
    store.fold_deliveries(now)
    store.record_lost("hall-01", "st-01", [(4, 5)], now, "no longer on the device")
    store.fold_deliveries(now + timedelta(seconds=1))
    store.fold_deliveries(now + timedelta(seconds=1) + GRACE)
    config = console_config(tmp_path, store_at(), free_port(), policy=policy)
    try:
        for server in serve(config, store):
            server.add_user("wang", "manager", ("hall-01",), display_name="王经理")
            server.day = now.astimezone(TZ).date()  # the day of the loss, even near midnight
            yield server
    finally:
        store.close()


def test_the_inspection_and_the_live_hall_show_what_each_device_delivered(
    hall, browser_page, signed_in, screenshot
):
    page = browser_page
    signed_in(page, hall, "wang")
    page.goto(f"{hall.url}/inspection?site=hall-01&date={hall.day}")
    device = page.locator("li.lost", has_text="hall-01/st-01")
    text = device.inner_text()
    assert "已送达至 #5, 缺 1 条, 已丢失 2 条, 最近补发" in text and "(#6–#6)" in text
    item = page.locator("ul.items li", has_text="已丢失 2 条记录")
    assert item.inner_text().startswith("hall-01/st-01：已丢失 2 条记录")
    screenshot(page, "inspection-delivery")

    page.goto(f"{hall.url}/hall?site=hall-01")
    panel = page.locator("#hall-devices li", has_text="入口考勤机")
    delivered = panel.locator(".delivery")
    assert delivered.inner_text().startswith("已送达至 #5, 缺 1 条, 已丢失 2 条, 最近补发")
    assert "lost" in (delivered.get_attribute("class") or "")
    colour = delivered.evaluate("e => getComputedStyle(e).color")
    muted = panel.locator(".detail").first.evaluate("e => getComputedStyle(e).color")
    assert colour != muted  # marked, not greyed like the rest
    screenshot(page, "live-hall-delivery")
