"""Duty rosters in the console (值班安排), in Debian's chromium against a real console on
SQLite and PostgreSQL: a manager puts people on duty by name and takes them off, a refused
entry keeps what was typed and says why, a roster file is checked first (every wrong row by
its number, nothing written) and imported whole once confirmed; a viewer reads but cannot
change; the live hall shows today's duty holders and whether each is present, as it
changes (a real Mosquitto, a station's punch)."""

from __future__ import annotations

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook

from rules.acting import Actor
from rules.manage import Management
from rules.policy import load_policy
from tests.console.assess_month import DIRECTORY, hall_console
from tests.console.test_console_hall import (  # noqa: F401  (the live hall's fixture)
    HALL_A,
    live_console,
    page_of,
    station,
    wait_live,
)
from tests.mqtt_helpers import clock_event

WEEK = "from=2026-11-23&to=2026-11-29"  # Monday to Sunday; the 28th and 29th are days off
HEADER = ("日期", "值班类型", "工号", "时段")


@pytest.fixture
def hall(store_at, tmp_path):
    """A console on hall-01 and hall-02 (tests/console/assess_month.py: 张伟 S1, 李娜 S2,
    王芳 S3 at hall-01; 赵强 S4 at hall-02) with the default timetable (two sessions,
    09:00–12:00 and 13:30–17:00); a manager of hall-01 (wang)."""
    yield from hall_console(store_at, tmp_path, lambda store, _: store.seed_directory(DIRECTORY))


def roster(server) -> list[tuple[str, str, str, tuple[int, ...] | None]]:
    return [(e.day.isoformat(), e.duty, e.staff_id, e.sessions) for e in server.store.rosters()]


def cell(page, day: str, duty: str):
    return page.locator(f"#d-{day} td.duty-{duty}")


def assign(page, day: str, duty: str, name: str, sessions: str = "") -> None:
    form = page.locator("form.duty-set")
    form.locator("input[name=day]").fill(day)
    form.locator("select[name=duty]").select_option(label=duty)
    form.locator("select[name=staff]").select_option(label=name)
    form.locator("input[name=sessions]").fill(sessions)
    form.get_by_role("button", name="排班").click()
    page.wait_for_load_state()


def test_a_manager_puts_people_on_duty_by_name_and_takes_them_off(
    hall, browser_page, signed_in, screenshot
):
    page = browser_page
    signed_in(page, hall, "wang")
    page.goto(f"{hall.url}/duty?site=hall-01&{WEEK}")
    assert page.get_by_role("link", name="值班安排").count() == 1  # the nav entry
    assert page.locator("table.roster thead").inner_text().strip().split("\t") == [
        "日期", "领导带班", "总服务台值班",
    ]  # fmt: skip
    assert page.locator("table.roster tbody tr").count() == 7
    assert "2026-11-24 周二" in page.locator("#d-2026-11-24").inner_text()
    names = page.locator("form.duty-set select[name=staff] option").all_inner_texts()
    assert names == ["张伟", "李娜", "王芳"]  # the hall's people, by name; not hall-02's 赵强

    assign(page, "2026-11-24", "领导带班", "张伟")
    page.wait_for_url(f"**/duty?site=hall-01&{WEEK}")
    assert cell(page, "2026-11-24", "leader").locator(".name").inner_text() == "张伟"
    assert cell(page, "2026-11-24", "leader").locator(".hours").inner_text() == "全天"
    assign(page, "2026-11-25", "总服务台值班", "李娜", "2")
    assert cell(page, "2026-11-25", "front_desk").locator(".hours").inner_text() == "13:30–17:00"
    assert roster(hall) == [
        ("2026-11-24", "leader", "S1", None),
        ("2026-11-25", "front_desk", "S2", (1,)),
    ]
    assert {(a.action, a.by) for a in hall.store.actions()} == {("duty_set", "wang")}
    screenshot(page, "duty")

    # a day off: refused, with the API's reason, and everything typed is still there
    assign(page, "2026-11-28", "总服务台值班", "王芳", "1")
    alert = page.locator("form.duty-set [role=alert]").inner_text()
    assert alert.startswith("未能完成：") and "不是工作日" in alert
    form = page.locator("form.duty-set")
    assert form.locator("input[name=day]").input_value() == "2026-11-28"
    assert form.locator("select[name=duty]").input_value() == "front_desk"
    assert form.locator("select[name=staff]").input_value() == "S3"
    assert form.locator("input[name=sessions]").input_value() == "1"
    assert page.locator("table.roster tbody tr").count() == 7  # the same week still shown
    screenshot(page, "duty-refused")
    # sessions not written as numbers: said in Chinese, kept as typed
    assign(page, "2026-11-26", "领导带班", "王芳", "上午")
    alert = page.locator("form.duty-set [role=alert]").inner_text()
    assert "时段“上午”无法识别" in alert
    assert form.locator("input[name=sessions]").input_value() == "上午"
    assert len(roster(hall)) == 2

    page.get_by_role("button", name="取消排班 2026-11-24 领导带班 张伟").click()
    page.wait_for_url(f"**/duty?site=hall-01&{WEEK}")
    assert cell(page, "2026-11-24", "leader").inner_text().strip() == "—"
    assert roster(hall) == [("2026-11-25", "front_desk", "S2", (1,))]
    removed = [a for a in hall.store.actions() if a.action == "duty_remove"]
    assert [(a.by, a.target) for a in removed] == [("wang", "hall-01/2026-11-24/leader/S1")]

    # a viewer reads the roster and cannot change it; nobody reaches another hall's
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    assert page.goto(f"{hall.url}/duty?site=hall-02").status == 404
    elsewhere = {"csrf": csrf, "site": "hall-02", "day": "2026-11-24", "duty": "leader"}
    assert page.request.post(f"{hall.url}/duty", form={**elsewhere, "staff": "S4"}).status == 404
    no_token = {**elsewhere, "site": "hall-01", "staff": "S1", "csrf": "forged"}
    assert page.request.post(f"{hall.url}/duty", form=no_token).status == 403
    page.get_by_role("button", name="退出").click()
    # an entry the CLI set, of a person of another hall: their name, never the id
    management = Management(hall.store, load_policy(hall.policy_file))
    management.set_duty(Actor("li", "cli"), "hall-01", date(2026, 11, 27), "leader", "S4")
    hall.add_user("qian", "viewer", ("hall-01",))
    signed_in(page, hall, "qian")
    page.goto(f"{hall.url}/duty?site=hall-01&{WEEK}")
    assert cell(page, "2026-11-25", "front_desk").locator(".name").inner_text() == "李娜"
    assert cell(page, "2026-11-27", "leader").locator(".name").inner_text() == "赵强"
    assert "S4" not in page.locator("table.roster").inner_text()
    assert page.locator("form").filter(has=page.locator("[name=staff]")).count() == 0
    assert page.locator("form.duty-import").count() == 0
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    viewer = {**elsewhere, "site": "hall-01", "staff": "S1", "csrf": csrf}
    assert page.request.post(f"{hall.url}/duty", form=viewer).status == 403
    assert page.request.post(f"{hall.url}/duty/remove", form=viewer).status == 403
    assert len(roster(hall)) == 2


def roster_file(*rows: tuple[object, ...]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["2026年11月值班表"])  # a title row above the header, as offices write
    sheet.append(list(HEADER))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(page, name: str, data: bytes) -> None:
    page.set_input_files(
        "form.duty-import input[name=file]",
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}],
    )
    page.get_by_role("button", name="检查文件（试导入）").click()
    page.wait_for_load_state()


GOOD = (
    (datetime(2026, 11, 24), "领导带班", "S1", None),
    ("2026-11-24", "总服务台值班", "S2", "1"),
    ("2026/11/26", "front_desk", "S3", "1,2"),
)


def test_a_roster_file_is_checked_first_and_imported_whole(
    hall, browser_page, signed_in, screenshot
):
    page = browser_page
    signed_in(page, hall, "wang")
    page.goto(f"{hall.url}/duty?site=hall-01&{WEEK}")
    bad = roster_file(
        *GOOD, ("2026-11-25", "领导带班", "S9", ""), ("2026-11-28", "领导带班", "S3", "")
    )
    upload(page, "十一月值班.xlsx", bad)
    checked = page.locator("#checked")
    assert checked.locator("[role=alert]").inner_text().startswith("十一月值班.xlsx 未导入")
    wrong = checked.locator("table.wrong-rows tbody tr").all_inner_texts()
    assert len(wrong) == 2
    assert wrong[0].startswith("第 6 行") and "人员名册中没有工号 S9" in wrong[0]
    assert wrong[1].startswith("第 7 行") and "不是工作日" in wrong[1]
    assert checked.get_by_role("button", name="确认导入").count() == 0
    assert roster(hall) == [] and hall.store.actions() == []  # nothing half-imported
    screenshot(page, "duty-import-refused")

    upload(page, "十一月值班.xlsx", roster_file(*GOOD))
    assert "将导入以下 3 条排班" in checked.locator("[role=status]").inner_text()
    preview = checked.locator("table.preview tbody tr").all_inner_texts()
    assert [r.split("\t")[:3] for r in preview] == [
        ["2026-11-24", "领导带班", "张伟"],
        ["2026-11-24", "总服务台值班", "李娜"],
        ["2026-11-26", "总服务台值班", "王芳"],
    ]
    assert preview[2].split("\t")[3] == "09:00–12:00、13:30–17:00"
    assert roster(hall) == []  # a dry run writes nothing
    screenshot(page, "duty-import-preview")
    assert page.evaluate("location.hash") == "#checked"  # the answer is where the eye is
    checked.get_by_role("button", name="确认导入 3 条排班").click()
    page.wait_for_url("**/duty?site=hall-01&from=2026-11-24&to=2026-11-26&imported=3")
    assert page.locator("[role=status]").inner_text() == "已导入 3 条排班。"
    li_na = cell(page, "2026-11-24", "front_desk")
    assert (li_na.locator(".name").inner_text(), li_na.locator(".hours").inner_text()) == (
        "李娜",
        "09:00–12:00",
    )
    assert roster(hall) == [
        ("2026-11-24", "front_desk", "S2", (0,)),
        ("2026-11-24", "leader", "S1", None),
        ("2026-11-26", "front_desk", "S3", (0, 1)),
    ]
    actions = hall.store.actions()
    assert {(a.action, a.by) for a in actions} == {("duty_set", "wang")} and len(actions) == 3

    upload(page, "notes.txt", "这不是排班表\n".encode())  # no header row: refused, said why
    assert "no header row" in checked.locator("[role=alert]").inner_text()
    assert len(roster(hall)) == 3


def test_the_live_hall_shows_today_s_duty_holders_and_their_presence(
    live_console,  # noqa: F811  (imported above)
    broker,
    browser,
    screenshot,
):
    server = live_console
    server.add_user("wang", "manager", (HALL_A,), display_name="王芳")
    page = page_of(browser, server, "wang")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()  # the hall's zone
    page.goto(f"{server.url}/duty?site={HALL_A}")
    assign(page, today, "领导带班", "张伟")
    assign(page, today, "总服务台值班", "王强", "1")

    page.goto(f"{server.url}/hall?site={HALL_A}")
    zhang = page.locator("#hall-duty li[data-staff=S001]")
    assert zhang.locator(".duty-kind").inner_text() == "领导带班"
    assert zhang.locator(".name").inner_text() == "张伟"
    assert zhang.locator(".state").inner_text() == "未上班"
    wang = page.locator("#hall-duty li[data-staff=S003]")
    assert wang.locator(".duty-kind").inner_text() == "总服务台值班"
    assert wang.locator(".detail").inner_text() == "00:00–23:59"
    wait_live(page)

    with station(broker, HALL_A) as st:
        punch = clock_event(HALL_A, "st-01", 1, staff="S001")
        st.publish_event(punch).wait_for_publish(5)
        page.wait_for_selector("#hall-duty li[data-staff=S001][data-state=at_post]")
        server.store.add_events([punch])  # as the rules service stores it
    assert zhang.locator(".state").inner_text() == "在岗"  # as on the window's row
    assert page.locator("#p-S001 .state").inner_text() == "在岗"
    assert wang.locator(".state").inner_text() == "未上班"
    screenshot(page, "live-hall-duty")

    page.goto(f"{server.url}/hall/wall?site={HALL_A}")
    assert page.locator("#hall-duty li[data-staff=S001]").get_attribute("data-state") == "at_post"
    assert page.locator("#hall-duty li[data-staff=S003] .name").inner_text() == "王强"
    size = page.evaluate(
        "() => parseFloat(getComputedStyle(document.querySelector('#hall-duty .name')).fontSize)"
    )
    assert size >= 20  # readable across the hall
    screenshot(page, "live-hall-duty-wall")
