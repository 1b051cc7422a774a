"""The manager's pages in a real Chromium against a real console on SQLite and PostgreSQL,
with October 2026 judged (tests/console/assess_month.py): the daily inspection printed to
PDF, the violations list and its filters, a violation's page and its void (the veto goes
from the monthly page), refusals (role, hall, CSRF), text that stays text, leave, and the
assessment's downloads."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import time

import pytest
from openpyxl import load_workbook

from mqtt import schema
from mqtt.client import BrokerConfig
from rules.backend import open_store
from tests.console.assess_month import (
    ABSENT_DAY,
    LATE_DAY,
    MONTH,
    hall_console,
    judged_month,
    violation_of,
    write_policy,
)
from tests.mqtt_helpers import client
from tests.support.browser import ARTIFACTS, console_config, free_port, serve

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def hall(store_at, tmp_path):
    """A console on a store with October judged; a manager of hall-01 (王芳 wang)."""
    yield from hall_console(store_at, tmp_path, judged_month)


def csrf_of(page) -> str:
    return page.locator("input[name=csrf]").first.get_attribute("value")


def test_a_manager_voids_an_absence_and_the_veto_leaves_the_month(
    hall, browser_page, signed_in, screenshot
):
    page = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    signed_in(page, hall, "wang")
    page.goto(f"{hall.url}/assessment?site=hall-01&month={MONTH}")
    li_na = page.locator("tr", has_text="李娜")
    assert f"{ABSENT_DAY} 旷工" in li_na.first.inner_text()  # the veto's reason in words
    assert page.locator("svg circle").count() == 3  # the dot plot: one dot a person
    assert "赵强" not in page.content()  # hall-02's people are not on hall-01's sheet
    screenshot(page, "assessment")

    page.goto(f"{hall.url}/violations?site=hall-01&month={MONTH}&rule=absence")
    assert page.locator("table.violations tbody tr").count() == 1
    page.get_by_role("link", name="旷工").click()
    assert page.locator("h1").inner_text() == "李娜 · 旷工"
    assert "一票否决" in page.locator("dl.facts").inner_text()
    screenshot(page, "violation")
    page.fill("form[action$='/void'] input[name=reason]", f"复核：病假补交 {SCRIPT}")
    page.get_by_role("button", name="撤销").click()
    page.wait_for_load_state()
    assert page.locator("dd.status").inner_text() == "已撤销"
    assert page.locator("td.reason").inner_text() == f"复核：病假补交 {SCRIPT}"  # text
    assert page.locator("form[action$='/void']").count() == 0  # nothing left to void
    assert dialogs == []  # the script never ran
    [row] = [a for a in hall.store.actions() if a.action == "void"]
    assert (row.by, row.entered_by) == ("wang", "wang via console")
    screenshot(page, "violation-voided")

    page.goto(f"{hall.url}/assessment?site=hall-01&month={MONTH}")
    assert "旷工" not in page.locator("tr", has_text="李娜").first.inner_text()
    assert "不合格" not in page.locator("tr", has_text="李娜").first.inner_text()


def test_a_void_in_the_console_is_announced_with_the_manager_account(
    broker, store_at, tmp_path, browser_page, signed_in
):
    """As `hallwatch void` does: the correction and the violation it changed go out on the
    hall's central topics, sent with the `manager` account the console is given."""
    store = open_store(store_at())
    policy = write_policy(tmp_path)
    judged_month(store, policy)
    config = console_config(tmp_path, store_at(), free_port(), policy=policy)
    manager = BrokerConfig(
        port=broker.port, username="manager", password=broker.password("manager")
    )
    config = config.model_copy(update={"announce": manager})
    heard: list[schema.Event] = []
    watcher = client(
        broker.port, "console", "console", broker.password("console"),
        on_message=lambda topic, payload: heard.append(schema.decode(payload, topic)),
    )  # fmt: skip
    try:
        with watcher:
            for kind in ("correction", "violation"):
                watcher.subscribe(f"hallwatch/v1/hall-01/central/{kind}")
            for server in serve(config, store):
                server.add_user("wang", "manager", ("hall-01",))
                absence = violation_of(server, "S2", "absence")
                signed_in(browser_page, server, "wang")
                browser_page.goto(f"{server.url}/violations/{absence.violation_id}")
                browser_page.fill("form[action$='/void'] input[name=reason]", "病假补交")
                browser_page.get_by_role("button", name="撤销").click()
                browser_page.wait_for_load_state()
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and not any(
                    isinstance(e, schema.Correction) for e in heard
                ):
                    time.sleep(0.1)
    finally:
        store.close()
    [correction] = [e for e in heard if isinstance(e, schema.Correction)]
    assert (correction.action, correction.target, correction.by) == (
        "void", absence.violation_id, "wang"
    )  # fmt: skip
    voided = [e for e in heard if isinstance(e, schema.Violation)]
    assert [v.violation_id for v in voided] == [absence.violation_id] and not voided[0].veto


def test_the_daily_inspection_prints_with_the_hall_page_numbers_and_sign_off(
    hall, browser_page, signed_in, screenshot, tmp_path
):
    page = browser_page
    signed_in(page, hall, "wang")
    page.goto(f"{hall.url}/inspection?site=hall-01&date={LATE_DAY}")
    report = page.locator("section.report").inner_text()
    for words in ("张伟", "迟到", "已下班", "上班打卡", "综合受理窗口", "王芳"):
        assert words in report, words
    late = violation_of(hall, "S1", "late")
    item = page.locator("ul.items li", has_text="张伟")
    assert item.locator("button", has_text="纠正通知").count() == 1
    assert item.locator("button", has_text="撤销").count() == 1
    screenshot(page, "inspection")

    item.locator("form[action$='/correct'] input[name=reason]").fill("已当面提醒")
    item.locator("button", has_text="纠正通知").click()
    page.wait_for_url(f"**/inspection?site=hall-01&date={LATE_DAY}")
    assert hall.store.violation(late.violation_id).status == "corrected"

    printed = tmp_path / "inspection.pdf"
    page.pdf(path=str(printed), format="A4", print_background=True)
    text = subprocess.run(
        ["pdftotext", "-layout", str(printed), "-"], capture_output=True, text=True, check=True
    ).stdout
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(printed, ARTIFACTS / "inspection-printed.pdf")
    assert "检查人" in text and "审核人" in text and "张伟" in text and "测试政务服务大厅" in text
    assert re.search(r"第\s*1\s*页\s*/\s*共\s*\d+\s*页", text), text[:1500]
    assert "撤销原因" not in text and "退出" not in text  # forms and navigation not printed
    stem = tmp_path / "page"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", str(printed), str(stem)],
        check=True,
    )
    [png] = tmp_path.glob("page*.png")
    shutil.copy(png, ARTIFACTS / "inspection-printed-page1.png")


def test_an_inspector_or_a_viewer_cannot_void(hall, browser_page, signed_in):
    absence = violation_of(hall, "S2", "absence")
    for user, role in (("zhao", "inspector"), ("qian", "viewer")):
        hall.add_user(user, role, ("hall-01",))
        page = browser_page
        signed_in(page, hall, user)
        page.goto(f"{hall.url}/violations/{absence.violation_id}")
        assert page.locator("h1").inner_text() == "李娜 · 旷工"
        assert page.get_by_role("button", name="撤销").count() == 0
        answer = page.request.post(
            f"{hall.url}/violations/{absence.violation_id}/void",
            form={"csrf": csrf_of(page), "reason": "try"},
        )
        assert answer.status == 403, role
        page.get_by_role("button", name="退出").click()
        page.wait_for_url("**/login")
    assert hall.store.violation(absence.violation_id).status == "open"
    assert hall.store.actions() == []


def test_a_manager_of_hall_a_cannot_see_hall_b(hall, browser_page, signed_in):
    page = browser_page
    signed_in(page, hall, "wang")
    other = violation_of(hall, "S4", "absence")
    for path in (
        f"/inspection?site=hall-02&date={LATE_DAY}",
        f"/violations/{other.violation_id}",
        f"/violations?site=hall-02&month={MONTH}",
        f"/assessment?site=hall-02&month={MONTH}",
        f"/assessment.xlsx?site=hall-02&month={MONTH}",
        "/leave?site=hall-02",
    ):
        assert page.goto(hall.url + path).status == 404, path
    page.goto(f"{hall.url}/violations?site=hall-01")
    answer = page.request.post(
        f"{hall.url}/violations/{other.violation_id}/void",
        form={"csrf": csrf_of(page), "reason": "not mine"},
    )
    assert answer.status == 404
    assert hall.store.violation(other.violation_id).status == "open"


def test_a_void_without_its_csrf_token_is_refused(hall, browser_page, signed_in):
    page = browser_page
    signed_in(page, hall, "wang")
    absence = violation_of(hall, "S2", "absence")
    page.goto(f"{hall.url}/violations/{absence.violation_id}")
    url = f"{hall.url}/violations/{absence.violation_id}/void"
    assert page.request.post(url, form={"reason": "no token"}).status == 403
    assert page.request.post(url, form={"reason": "forged", "csrf": "x" * 43}).status == 403
    assert hall.store.violation(absence.violation_id).status == "open"


def test_a_refusal_is_shown_beside_the_form(hall, browser_page, signed_in):
    page = browser_page
    signed_in(page, hall, "wang")
    absence = violation_of(hall, "S2", "absence")
    page.goto(f"{hall.url}/violations/{absence.violation_id}")
    csrf = csrf_of(page)
    answer = page.request.post(
        f"{hall.url}/violations/{absence.violation_id}/void", form={"csrf": csrf, "reason": " "}
    )
    assert answer.status == 409 and "say why" in answer.text()
    assert hall.store.actions() == []


def test_the_filters_narrow_the_list(hall, browser_page, signed_in, screenshot):
    page = browser_page
    signed_in(page, hall, "wang")
    page.goto(f"{hall.url}/violations?site=hall-01&month={MONTH}")
    rows = page.locator("table.violations tbody tr")
    assert rows.count() == 2
    screenshot(page, "violations")
    assert "张伟" in rows.all_inner_texts()[1] or "张伟" in rows.all_inner_texts()[0]
    page.select_option("select[name=rule]", label="迟到")
    page.get_by_role("button", name="查询").click()
    assert [r.split("\t")[1] for r in rows.all_inner_texts()] == ["张伟"]
    assert "迟到" in rows.first.inner_text() and "一般" in rows.first.inner_text()
    page.select_option("select[name=rule]", label="全部")
    page.select_option("select[name=staff]", label="李娜")
    page.get_by_role("button", name="查询").click()
    assert [r.split("\t")[1] for r in rows.all_inner_texts()] == ["李娜"]
    page.select_option("select[name=staff]", label="全部")
    page.select_option("select[name=department]", label="不动产科")
    page.get_by_role("button", name="查询").click()
    assert rows.count() == 0  # 王芳 of 不动产科 had a blameless month
    page.goto(f"{hall.url}/violations?site=hall-01&date={LATE_DAY}")
    assert [r.split("\t")[1] for r in rows.all_inner_texts()] == ["张伟"]
    page.goto(f"{hall.url}/violations?site=hall-01&month={MONTH}&status=voided")
    assert rows.count() == 0


def test_leave_granted_withdraws_the_absence_and_its_cancellation_restores_it(
    hall, browser_page, signed_in, screenshot
):
    page = browser_page
    signed_in(page, hall, "wang")
    page.goto(f"{hall.url}/leave?site=hall-01")
    page.select_option("form.grant select[name=staff]", label="李娜")
    page.select_option("form.grant select[name=kind]", label="病假")
    page.fill("form.grant input[name=start]", str(ABSENT_DAY))
    page.fill("form.grant input[name=end]", str(ABSENT_DAY))
    page.fill("form.grant input[name=reason]", f"发烧 {SCRIPT}")
    page.get_by_role("button", name="登记").click()
    row = page.locator("table.leave tbody tr", has_text="李娜")
    assert "病假" in row.inner_text() and f"发烧 {SCRIPT}" in row.inner_text()
    assert [v.rule for v in hall.store.violations(month=MONTH, staff="S2")] == []
    screenshot(page, "leave")
    row.locator("input[name=reason]").fill("假条未批")
    row.get_by_role("button", name="取消请假").click()
    page.wait_for_url("**/leave?site=hall-01")
    assert page.locator("table.leave tbody tr", has_text="李娜").count() == 0
    assert [v.rule for v in hall.store.violations(month=MONTH, staff="S2")] == ["absence"]
    assert [a.action for a in hall.store.actions()] == ["leave_add", "leave_cancel"]


def test_the_assessment_downloads_as_a_workbook_and_csv(hall, browser_page, signed_in, tmp_path):
    page = browser_page
    signed_in(page, hall, "wang")
    page.goto(f"{hall.url}/assessment?site=hall-01&month={MONTH}")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 Excel").click()
    path = tmp_path / "month.xlsx"
    download.value.save_as(path)
    book = load_workbook(path)
    staff = book.worksheets[0]
    header = [c.value for c in staff[1]]
    assert header[:3] == ["排名", "姓名", "工号"] or "姓名" in header
    rows = {r[header.index("姓名")]: r for r in staff.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"张伟", "李娜", "王芳"}
    assert rows["李娜"][header.index("等次")] == "不合格"
    assert rows["王芳"][header.index("等次")] == "优秀"
    assert staff.freeze_panes == "A2" and staff.auto_filter.ref
    assert staff.column_dimensions["B"].width >= 6
    windows = book.worksheets[1]
    assert "综合受理窗口" in [c.value for c in windows["B"]] + [
        v for r in windows.iter_rows(values_only=True) for v in r
    ]
    answer = page.request.get(f"{hall.url}/assessment.csv?site=hall-01&month={MONTH}")
    assert answer.status == 200 and "attachment" in answer.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(answer.text().lstrip("\ufeff"))))
    assert "姓名" in lines[0] and any("李娜" in line for line in lines)
