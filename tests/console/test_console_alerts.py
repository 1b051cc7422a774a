"""Alerts on the daily inspection in a real Chromium against a real console, on SQLite and
PostgreSQL: a manager acknowledges an alert (it shows with their name and note) and then
clears it (it leaves the open items); an inspector may acknowledge but not clear; a viewer
may do neither (403)."""

from __future__ import annotations

from datetime import datetime, time

import pytest

from mqtt import schema
from tests.console.assess_month import (
    LATE_DAY,
    hall_console,
    judged_month,
)
from tests.console.test_console_assess import csrf_of
from tests.rules_helpers import TZ

FAULT = schema.new_event(
    schema.Alert,
    "hall-01",
    "st-01",
    datetime.combine(LATE_DAY, time(9, 40), TZ),
    seq=1,
    kind=schema.AlertKind.CAMERA_FAULT,
    severity=schema.Severity.MINOR,
    message="no frames for 60 s",
)


@pytest.fixture
def hall(store_at, tmp_path):
    """October judged, a camera fault at hall-01 on the 13th; a manager of hall-01 (wang)."""

    def prepare(store, policy_file) -> None:
        judged_month(store, policy_file)
        store.add_events([FAULT])

    yield from hall_console(store_at, tmp_path, prepare)


def test_a_manager_acknowledges_an_alert_then_clears_it(hall, browser_page, signed_in, screenshot):
    page = browser_page
    fault = FAULT
    signed_in(page, hall, "wang")
    page.goto(f"{hall.url}/inspection?site=hall-01&date={LATE_DAY}")
    item = page.locator("ul.items li", has_text="摄像头故障")
    assert "[待处理]" in item.inner_text()

    item.locator("form[action$='/acknowledge'] input[name=note]").fill("已通知厂家")
    item.get_by_role("button", name="确认").click()
    page.wait_for_url(f"**/inspection?site=hall-01&date={LATE_DAY}")
    item = page.locator("ul.items li", has_text="摄像头故障")
    state = item.locator(".alert-state").inner_text()
    assert "已确认 wang" in state and "已通知厂家" in state
    assert item.get_by_role("button", name="确认").count() == 0
    screenshot(page, "inspection-alert-acknowledged")

    item.locator("form[action$='/clear'] input[name=note]").fill("摄像头已更换")
    item.get_by_role("button", name="关闭").click()
    page.wait_for_url(f"**/inspection?site=hall-01&date={LATE_DAY}")
    assert page.locator("ul.items li", has_text="摄像头故障").count() == 0
    assert hall.store.alert_states()[fault.id].state == "cleared"
    assert [(a.action, a.by) for a in hall.store.actions()] == [
        ("alert_ack", "wang"),
        ("alert_clear", "wang"),
    ]


def test_an_inspector_acknowledges_but_cannot_clear_and_a_viewer_can_do_neither(
    hall, browser_page, signed_in
):
    fault = FAULT
    page = browser_page
    hall.add_user("qian", "viewer", ("hall-01",))
    signed_in(page, hall, "qian")
    page.goto(f"{hall.url}/inspection?site=hall-01&date={LATE_DAY}")
    item = page.locator("ul.items li", has_text="摄像头故障")
    assert item.get_by_role("button").count() == 0
    for step in ("acknowledge", "clear"):
        answer = page.request.post(
            f"{hall.url}/alerts/{fault.id}/{step}", form={"csrf": csrf_of(page), "note": "try"}
        )
        assert answer.status == 403, step
    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/login")

    hall.add_user("zhao", "inspector", ("hall-01",))
    signed_in(page, hall, "zhao")
    page.goto(f"{hall.url}/inspection?site=hall-01&date={LATE_DAY}")
    item = page.locator("ul.items li", has_text="摄像头故障")
    assert item.get_by_role("button", name="关闭").count() == 0
    answer = page.request.post(
        f"{hall.url}/alerts/{fault.id}/clear", form={"csrf": csrf_of(page), "note": "try"}
    )
    assert answer.status == 403
    no_token = page.request.post(f"{hall.url}/alerts/{fault.id}/acknowledge", form={"note": "x"})
    assert no_token.status == 403
    assert hall.store.alert_states() == {}
    item.locator("form[action$='/acknowledge'] input[name=note]").fill("去现场看看")
    item.get_by_role("button", name="确认").click()
    page.wait_for_url(f"**/inspection?site=hall-01&date={LATE_DAY}")
    assert hall.store.alert_states()[fault.id].by == "zhao"
