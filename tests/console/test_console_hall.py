"""The live hall, its wall mode and the people page: a real console (uvicorn) on SQLite and
PostgreSQL with its live hub subscribed, as the read-only `console` account, to a real
Mosquitto with the production ACL; stations publish real punches; Debian's chromium reads."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from hallwatch.console.live import LiveHub
from mqtt import schema
from mqtt.client import BrokerConfig
from mqtt.ids import utc_now
from rules.acting import Actor
from rules.backend import open_store
from rules.directory import Department, Device, ServiceWindow, StaffMember
from rules.manage import Management
from rules.policy import load_policy
from tests.mqtt_helpers import client, clock_event
from tests.rules_helpers import TZ
from tests.support.browser import console_config, free_port, serve, sign_in
from tests.support.mosquitto import Mosquitto

HALL_A, HALL_B = "hall-01", "hall-02"
# Sessions all day, every day: a person not clocked in is 未上班 (the site not live yet),
# clocked in 在岗, whenever the test runs.
POLICY = """
[default_site]
timezone = "Asia/Shanghai"

[[schedules]]
from = "01-01"
sessions = [{ start = "00:00", end = "23:59" }]

[calendar]
weekend = []
"""
ADMIN = Actor("tests", "cli")


def seed(management: Management) -> None:
    management.add_department(ADMIN, Department("d-tax", "税务科"))
    for window, site, name in (
        ("w01", HALL_A, "综合受理窗口"),
        ("w02", HALL_A, "税务窗口"),
        ("w11", HALL_B, "社保窗口"),
    ):
        management.add_window(ADMIN, ServiceWindow(window, site, name, "d-tax"))
    for staff, name, window in (
        ("S001", "张伟", "w01"),
        ("S002", "李娜", "w01"),
        ("S003", "王强", "w02"),
        ("S101", "赵敏", "w11"),
    ):
        management.add_staff(ADMIN, StaffMember(staff, name, department="d-tax"), window)
    for site in (HALL_A, HALL_B):
        management.register_device(ADMIN, Device(site, "st-01", "station", "入口考勤机", "大门"))


@pytest.fixture
def live_console(broker, store_at, tmp_path):
    policy = tmp_path / "hall-policy.toml"
    policy.write_text(POLICY)
    store = open_store(store_at())
    seed(Management(store, load_policy(policy)))
    config = console_config(tmp_path, store_at(), free_port(), policy=policy)
    hub = LiveHub(
        BrokerConfig(port=broker.port, username="console", password=broker.password("console")),
        "console",
    )
    try:
        yield from serve(config, store, services=[("live", hub)])
    finally:
        store.close()


def station(broker: Mosquitto, site: str):
    user = f"{site}.st-01"
    return client(broker.port, f"{site}-st-01", user, broker.password(user))


def page_of(browser, server, user: str):
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, server, user)
    return page


def wait_live(page) -> None:
    """Until the page's stream is open: its first message swapped the board in."""
    page.wait_for_selector("#hall-board[data-live]", state="attached")


def test_a_punch_shows_on_the_live_hall_within_a_second(live_console, broker, browser, screenshot):
    server = live_console
    server.add_user("wang", "manager", (HALL_A,), display_name="王芳")
    server.add_user("zhao", "viewer", (HALL_B,), display_name="赵六")
    page = page_of(browser, server, "wang")
    page.goto(f"{server.url}/hall?site={HALL_A}")
    assert page.locator("h1").inner_text().startswith("实时大厅")
    zhang = page.locator("#p-S001")
    assert zhang.locator(".name").inner_text() == "张伟"
    assert zhang.locator(".state").inner_text() == "未上班"
    assert page.locator("#hall-counts [data-state=not_in] .n").inner_text() == "3"
    assert "入口考勤机" in page.locator("#hall-devices").inner_text()
    other = page_of(browser, server, "zhao")
    other.goto(f"{server.url}/hall?site={HALL_B}")
    wait_live(page)
    wait_live(other)

    punch = clock_event(HALL_A, "st-01", 1, staff="S001")
    with station(broker, HALL_A) as st:
        published = time.monotonic()
        st.publish_event(punch).wait_for_publish(5)
        page.wait_for_selector("#p-S001[data-state=at_post]", timeout=2_000)
        took = time.monotonic() - published
        server.store.add_events([punch])  # as the rules service stores it
    assert took < 1.0, f"the punch took {took:.3f} s to show"
    assert zhang.locator(".state").inner_text() == "在岗"
    first = page.locator("#hall-punches li").first
    assert "张伟" in first.inner_text() and "上班打卡" in first.inner_text()
    assert page.locator("#hall-counts [data-state=at_post] .n").inner_text() == "1"
    assert page.locator("#hall-counts [data-state=not_in] .n").inner_text() == "2"
    screenshot(page, "live-hall")

    # the viewer of hall B saw nothing of hall A's punch, and may not open hall A
    assert "张伟" not in other.locator("body").inner_text()
    assert other.locator("#hall-punches li").count() == 0
    assert other.locator("#p-S101 .name").inner_text() == "赵敏"
    response = other.goto(f"{server.url}/hall?site={HALL_A}")
    assert response.status == 404
    response = other.goto(f"{server.url}/hall/events?site={HALL_A}")
    assert response.status == 404

    # a reload shows what the store has: the same
    page.reload()
    assert page.locator("#p-S001").get_attribute("data-state") == "at_post"


def test_going_out_and_a_violation_show_in_words(live_console, broker, browser):
    server = live_console
    server.add_user("wang", "manager", (HALL_A,))
    page = page_of(browser, server, "wang")
    page.goto(f"{server.url}/hall?site={HALL_A}")
    wait_live(page)
    clock_in = clock_event(HALL_A, "st-01", 1, staff="S002")
    server.store.add_events([clock_in])
    going = clock_event(
        HALL_A,
        "st-01",
        2,
        staff="S002",
        action=schema.Action.LEAVE_OUT,
        leave=schema.Leave(
            kind=schema.LeaveKind.OUTING,
            reason="去银行",
            expected_return=utc_now() + timedelta(hours=1),
        ),
    )
    violation = schema.new_event(
        schema.Violation, HALL_A, "central", utc_now(),
        violation_id="v-1", staff_id="S003", rule="late", day=utc_now().astimezone(TZ).date(),
        severity="minor", deduction=1.0, window="w02",
    )  # fmt: skip
    rules = client(broker.port, "rules", "rules", broker.password("rules"))
    with station(broker, HALL_A) as st, rules:
        st.publish_event(going).wait_for_publish(5)
        page.wait_for_selector("#p-S002[data-state=out]")
        rules.publish_event(violation).wait_for_publish(5)
        page.wait_for_selector("#v-v-1")
    row = page.locator("#p-S002").inner_text()
    assert "外出" in row and "去银行" in row and "预计" in row
    entry = page.locator("#v-v-1").inner_text()
    assert "王强" in entry and "迟到" in entry and "late" not in entry


def test_the_wall_mode_and_the_people_page(live_console, broker, browser, screenshot):
    server = live_console
    server.add_user("ops", "admin", ("*",), display_name="运维")
    page = page_of(browser, server, "ops")
    server.store.add_events([clock_event(HALL_A, "st-01", 1, staff="S003")])
    page.goto(f"{server.url}/hall/wall?site={HALL_A}")
    assert page.locator("body.wall").count() == 1
    assert page.locator("nav.pages").count() == 0  # no navigation on the wall
    assert page.locator("#p-S003").get_attribute("data-state") == "at_post"
    size = page.evaluate(
        "() => parseFloat(getComputedStyle(document.querySelector('#p-S003 .name')).fontSize)"
    )
    assert size >= 20  # readable across a hall
    screenshot(page, "live-hall-wall")

    page.goto(f"{server.url}/people?site={HALL_A}")
    staff = page.locator("#staff").inner_text()
    for name in ("张伟", "李娜", "王强", "税务科", "综合受理窗口"):
        assert name in staff
    assert "赵敏" not in staff  # hall B's
    device = page.locator("#d-st-01").inner_text()
    assert "入口考勤机" in device and "从未上线" in device
    screenshot(page, "people")
