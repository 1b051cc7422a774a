"""Requests and appeals (补卡与申诉) in a real Chromium against a real console on SQLite and
PostgreSQL, with October 2026 judged (tests/console/assess_month.py): a manager raises
李娜's two missing afternoon punches and approves them, and her absence leaves the month
while the punches show as attested; an appeal from a violation's page voids it; refusals
(the monthly cap, a bad time, a second decision, another hall, no CSRF token) are shown in
Chinese with what was typed kept; a person's own link raises as them, refuses another's
violation, and an unknown, expired or revoked link (or too many bad ones) says so."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from hallwatch.console.request_links import RequestLinks
from mqtt.ids import utc_now
from rules.acting import Actor
from tests.console.assess_month import (
    ABSENT_DAY,
    LATE_DAY,
    MANAGER,
    MONTH,
    hall_console,
    judged_month,
    violation_of,
)

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def hall(store_at, tmp_path):
    """A console on a store with October judged; 王经理 (wang) manages hall-01, 赵经理
    (zhao) hall-02; refused links throttle after 4 (throttle_failures 1)."""
    zhao = ("zhao", "manager", ("hall-02",), "赵经理")
    yield from hall_console(store_at, tmp_path, judged_month, (MANAGER, zhao), throttle_failures=1)


def raise_punch(page, server, staff: str, at: str, action: str, reason: str) -> None:
    """The raise form as a manager fills it: person and kind, then time, punch, reason."""
    page.goto(f"{server.url}/requests/new?site=hall-01")
    page.select_option("select[name=staff]", staff)
    page.select_option("select[name=kind]", "punch")
    page.get_by_role("button", name="下一步").click()
    page.fill("input[name=at]", at)
    page.select_option("select[name=action]", action)
    page.fill("form.raise input[name=reason]", reason)
    page.get_by_role("button", name="提交").click()
    page.wait_for_load_state()


def decide(page, request_id: str, reason: str, button: str) -> None:
    row = page.locator(f"tr[id='{request_id}']")
    row.locator("input[name=reason]").fill(reason)
    row.get_by_role("button", name=button).click()
    page.wait_for_load_state()


def test_two_approved_punch_corrections_cure_an_absence_and_show_as_attested(
    hall, browser_page, signed_in, screenshot
):
    page = browser_page
    signed_in(page, hall, "wang")
    absence = violation_of(hall, "S2", "absence")
    raise_punch(page, hall, "S2", f"{ABSENT_DAY}T13:24", "clock_in", f"忘记打卡 {SCRIPT}")
    raise_punch(page, hall, "S2", f"{ABSENT_DAY}T17:05", "clock_out", "忘记打下班卡")
    assert page.url.endswith("/requests?site=hall-01")
    rows = page.locator("table.requests tbody tr")
    assert rows.count() == 2
    first = rows.first.inner_text()
    assert "李娜" in first and "补卡" in first and "待审批" in first and "王经理" in first
    assert f"{ABSENT_DAY} 17:05" in first and "下班打卡" in first  # newest first, in words
    assert page.locator("td.reason").last.inner_text() == f"忘记打卡 {SCRIPT}"  # text
    screenshot(page, "requests-pending")

    for r in hall.store.requests():
        decide(page, r.request_id, "监控核实", "批准")
    assert page.locator("td.status").all_inner_texts() == ["已批准", "已批准"]
    assert "王经理：监控核实" in page.locator("table.requests").inner_text()
    screenshot(page, "requests-approved")
    assert [a.entered_by for a in hall.store.actions() if a.action == "request_approve"] == [
        "wang via console"
    ] * 2

    page.goto(f"{hall.url}/violations?site=hall-01&month={MONTH}&rule=absence")
    assert "李娜" not in page.locator("table.violations").inner_text()
    assert hall.store.violation(absence.violation_id) is None or (
        hall.store.violation(absence.violation_id).status == "voided"
    )
    page.goto(f"{hall.url}/inspection?site=hall-01&date={ABSENT_DAY}")
    li_na = page.locator("tr", has_text="李娜").first.inner_text()
    assert "13:24 上班打卡 补卡" in li_na and "17:05 下班打卡 补卡" in li_na
    screenshot(page, "requests-attested-inspection")


def test_refusals_are_shown_in_chinese_and_keep_what_was_typed(
    hall, browser_page, signed_in, screenshot
):
    page = browser_page
    signed_in(page, hall, "wang")
    for hm in ("13:20", "13:30", "13:40"):
        raise_punch(page, hall, "S1", f"{LATE_DAY}T{hm}", "clock_in", "忘记打卡")
    raise_punch(page, hall, "S1", f"{LATE_DAY}T13:50", "clock_in", "第四次补卡")
    assert "每月上限 3 次" in page.locator("p.error").inner_text()
    assert page.locator("input[name=at]").input_value() == f"{LATE_DAY}T13:50"
    assert page.locator("form.raise input[name=reason]").input_value() == "第四次补卡"
    screenshot(page, "requests-refused")

    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    answer = page.request.post(
        f"{hall.url}/requests/new",
        form={"csrf": csrf, "staff": "S3", "kind": "punch", "at": "昨天中午", "reason": "忘了"},
    )
    assert answer.status == 409 and "无法识别" in answer.text() and 'value="忘了"' in answer.text()

    rid = hall.store.requests()[0].request_id
    page.goto(f"{hall.url}/requests?site=hall-01&status=pending")
    decide(page, rid, "无证明", "驳回")
    url = f"{hall.url}/requests/{rid}/decide"
    form = {"csrf": csrf, "decision": "approve", "reason": "改为批准"}
    answer = page.request.post(url, form=form)
    assert answer.status == 409 and "已由 wang 驳回，不能再次审批" in answer.text()
    assert 'value="改为批准"' not in answer.text()  # a decided request has no form left
    assert page.request.post(url, form={"decision": "approve", "reason": "x"}).status == 403
    page.goto(f"{hall.url}/requests?site=hall-01&status=rejected")
    assert page.locator("table.requests tbody tr").count() == 1

    other = page.context.browser.new_context()  # hall-02's manager cannot decide hall-01's
    try:
        zhao = other.new_page()
        signed_in(zhao, hall, "zhao")
        zhao_csrf = zhao.locator("input[name=csrf]").first.get_attribute("value")
        pending = hall.store.requests(status="pending")[0].request_id
        answer = zhao.request.post(
            f"{hall.url}/requests/{pending}/decide",
            form={"csrf": zhao_csrf, "decision": "approve", "reason": "x"},
        )
        assert answer.status == 404
        assert zhao.goto(f"{hall.url}/requests?site=hall-01").status == 404
    finally:
        other.close()


def test_an_appeal_from_a_violation_page_voids_it_when_upheld(hall, browser_page, signed_in):
    page = browser_page
    signed_in(page, hall, "wang")
    late = violation_of(hall, "S1", "late")
    page.goto(f"{hall.url}/violations/{late.violation_id}")
    page.get_by_role("link", name="申诉", exact=True).click()
    assert page.locator("form.raise h2").inner_text() == "张伟 · 申诉"
    assert page.locator("select[name=violation]").input_value() == late.violation_id
    page.fill("form.raise input[name=reason]", "当日系统故障")
    page.get_by_role("button", name="提交").click()
    page.wait_for_load_state()
    row = page.locator("table.requests tbody tr").first
    assert f"{LATE_DAY} 迟到" in row.inner_text() and "申诉" in row.inner_text()
    assert row.get_by_role("link").get_attribute("href") == f"/violations/{late.violation_id}"
    decide(page, hall.store.requests()[0].request_id, "核实属实", "批准")
    assert hall.store.violation(late.violation_id).status == "voided"


def test_a_persons_link_raises_as_them_and_only_for_them(
    hall, browser, browser_page, signed_in, screenshot
):
    page = browser_page
    signed_in(page, hall, "wang")
    page.goto(f"{hall.url}/requests?site=hall-01")
    page.select_option("form[action='/requests/links'] select[name=staff]", "S1")
    page.get_by_role("button", name="生成链接").click()
    url = page.locator("input.link-url").input_value()
    assert "/r/" in url and "张伟" in page.locator("section.links table").inner_text()
    token = url.rsplit("/", 1)[1]
    [kept] = hall.store.live_request_links(utc_now(), "hall-01")
    assert kept.token_hash == hashlib.sha256(token.encode()).hexdigest()  # never the token

    person = browser.new_context(locale="zh-CN")  # no account, no cookies
    try:
        own = person.new_page()
        answer = own.goto(url)
        assert answer.status == 200 and answer.headers["referrer-policy"] == "no-referrer"
        assert "张伟（hall-01）" in own.content()
        late = violation_of(hall, "S1", "late")
        absence = violation_of(hall, "S2", "absence")  # 李娜's
        options = own.locator("form.appeal select[name=violation] option").all_inner_texts()
        assert options == [f"{LATE_DAY} 迟到"]
        form = {"kind": "appeal", "violation": absence.violation_id, "reason": "不是我的"}
        refused = own.request.post(url, form=form)
        assert refused.status == 409 and "只能对本人的违规提出申诉" in refused.text()
        own.fill("form.appeal input[name=reason]", "当日停电")
        own.locator("form.appeal button").click()
        own.wait_for_load_state()
        assert "已提交" in own.locator("p.ok").inner_text()
        assert "待审批" in own.locator("table.requests").inner_text()
        screenshot(own, "request-link")
        [raised] = hall.store.requests()
        assert (raised.staff_id, raised.violation_id, raised.raised_by) == (
            "S1", late.violation_id, "S1 via link"
        )  # fmt: skip
        [row] = [a for a in hall.store.actions() if a.action == "request_raise"]
        assert (row.by, row.entered_by) == ("S1", "S1 via link")

        page.goto(f"{hall.url}/requests?site=hall-01")
        assert "张伟（本人，经申请链接）" in page.locator("table.requests").inner_text()
        screenshot(page, "requests-link-made")
        page.get_by_role("button", name="撤销链接").click()
        page.wait_for_load_state()
        revoked = own.goto(url)
        assert revoked.status == 410 and "已被撤销" in own.content()
        assert own.request.post(url, form={"kind": "punch"}).status == 410
    finally:
        person.close()
    what = [(a.what, a.who) for a in hall.store.console_audit() if a.what.startswith("link")]
    assert what[:2] == [("link_add", "wang"), ("link_revoke", "wang")]


def test_unknown_expired_and_too_many_bad_links_get_a_page_that_says_so(hall, browser, screenshot):
    links = RequestLinks(
        hall.store, days=7, throttle_failures=1, throttle_minutes=15,
        now=lambda: utc_now() - timedelta(days=8),
    )  # fmt: skip
    token, _ = links.issue(Actor("wang", "console"), "S1", "hall-01", None)
    context = browser.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        expired = page.goto(f"{hall.url}/r/{token}")
        assert expired.status == 410 and "此链接已过期" in page.content()
        unknown = page.goto(f"{hall.url}/r/{'x' * 43}")
        assert unknown.status == 404 and "此链接无效" in page.content()
        assert "Traceback" not in page.content()
        for _ in range(2):
            page.goto(f"{hall.url}/r/nothing")
        throttled = page.goto(f"{hall.url}/r/{'y' * 43}")
        assert throttled.status == 429 and "分钟后再试" in page.content()
        screenshot(page, "request-link-throttled")
    finally:
        context.close()
