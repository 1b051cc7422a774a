"""Patrol findings in the console, on a tablet-sized Chromium (768×1024, touch) against a
real console on SQLite and PostgreSQL, with this month judged up to now: an inspector
records a finding with a photo taken with GPS metadata; it is listed today, becomes a
violation in words, takes its deduction off the person's month, and its photo comes back
without metadata from a guarded URL. Refusals (role, hall, a bad photo) and text that
stays text."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from PIL import Image
from playwright.sync_api import expect

from rules.acting import Actor
from rules.manage import Management
from rules.policy import load_policy
from rules.recompute import recompute_month
from tests.console.assess_month import (
    DIRECTORY,
    HOME,
    hall_console,
    month_events,
)
from tests.rules_helpers import TZ

SCRIPT = "<script>alert(1)</script>"
TABLET = {"width": 768, "height": 1024}
PHONE_USE_DEDUCTION = 2  # the default catalogue's 玩手机


@pytest.fixture
def hall(store_at, tmp_path):
    """A console on a store with this month judged up to now (blameless so far); an
    inspector of hall-01 (zhao)."""
    now = datetime.now(TZ)
    month = now.strftime("%Y-%m")

    def prepare(store, policy_file) -> None:
        store.seed_directory(DIRECTORY)
        store.add_events([e for e in month_events(HOME, month) if e.ts <= now])
        recompute_month(store, load_policy(policy_file), DIRECTORY, month, now)

    inspector = ("zhao", "inspector", ("hall-01",), "赵巡查")
    for server in hall_console(store_at, tmp_path, prepare, (inspector,)):
        server.month = month
        yield server


@pytest.fixture
def tablet(browser):
    """A page of a touch tablet's size, Chinese by default."""
    context = browser.new_context(viewport=TABLET, locale="zh-CN", has_touch=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def photo_with_gps() -> bytes:
    """A JPEG as a phone takes it: with EXIF naming the camera and where it stood."""
    image = Image.new("RGB", (320, 240), (40, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "TabletMaker"  # Make
    exif[0x8825] = {1: "N", 2: (30.0, 15.0, 0.0), 3: "E", 4: (120.0, 10.0, 0.0)}  # GPS
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    assert Image.open(io.BytesIO(out.getvalue())).getexif().get_ifd(0x8825)  # it has GPS
    return out.getvalue()


def score_of(page, server, staff: str) -> float:
    page.goto(f"{server.url}/assessment?site=hall-01&month={server.month}")
    for row in page.locator("table tr").all_inner_texts():
        cells = row.split("\t")
        if len(cells) > 4 and cells[2] == staff:
            return float(cells[4])
    raise AssertionError(f"{staff} is not on the monthly page")


def csrf_of(page) -> str:
    return page.locator("input[name=csrf]").first.get_attribute("value")


def fill_finding(page, note: str) -> None:
    """Window → person → rule → note, as an inspector taps them."""
    page.select_option("select[name=window]", label="不动产登记窗口")
    staff = page.locator("select[name=staff] option")
    expect(page.locator("select[name=staff] option", has_text="王芳")).to_have_count(1)
    assert "张伟" not in staff.all_inner_texts()  # only the people of the window chosen
    page.select_option("select[name=window]", label="综合受理窗口")
    page.select_option("select[name=staff]", label="张伟")
    expect(page.locator("select[name=rule] option", has_text="玩手机")).to_have_count(1)
    assert "窗口不整洁" not in page.locator("select[name=rule] option").all_inner_texts()
    page.select_option("select[name=rule]", label="玩手机")
    page.fill("textarea[name=note]", note)


def test_an_inspector_records_a_finding_with_a_photo_on_a_tablet(
    hall, tablet, signed_in, screenshot
):
    page = tablet
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    signed_in(page, hall, "zhao")
    before = score_of(page, hall, "S1")

    page.goto(f"{hall.url}/findings?site=hall-01")
    assert page.get_by_role("link", name="巡查记录").count() == 1  # the nav entry
    fill_finding(page, f"窗口内玩手机 {SCRIPT}")
    page.set_input_files(
        "input[name=photo]",
        files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": photo_with_gps()}],
    )
    submit = page.get_by_role("button", name="提交")
    box = submit.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 300  # a touch target
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    screenshot(page, "findings-tablet")
    submit.click()
    page.wait_for_url("**/findings?site=hall-01&window=W01")

    row = page.locator("table.findings tbody tr", has_text="张伟")
    assert row.locator("td.rule").inner_text() == "玩手机"
    assert row.locator("td.note").inner_text() == f"窗口内玩手机 {SCRIPT}"  # text, not markup
    assert "zhao via console" in row.inner_text()
    assert dialogs == []  # the script never ran
    [finding] = hall.store.findings(site="hall-01")
    assert (finding.staff_id, finding.rule, finding.by) == ("S1", "phone_use", "zhao via console")
    [action] = [a for a in hall.store.actions() if a.action == "finding_add"]
    assert action.by == "zhao"

    href = row.locator("a.thumb").get_attribute("href")
    assert href == f"/findings/{finding.finding_id}/photo"
    assert row.locator("img").evaluate("img => img.complete && img.naturalWidth") == 320
    answer = page.request.get(hall.url + href)
    assert answer.status == 200
    assert answer.headers["content-type"] == "image/jpeg"
    assert answer.headers["cache-control"] == "private, no-store"
    served = Image.open(io.BytesIO(answer.body()))
    assert served.format == "JPEG" and served.size == (320, 240)
    assert not served.getexif() and "exif" not in served.info  # no camera, no position

    page.goto(f"{hall.url}/violations?site=hall-01&month={hall.month}&rule=phone_use")
    rows = page.locator("table.violations tbody tr")
    assert rows.count() == 1 and "张伟" in rows.first.inner_text()
    assert "玩手机" in rows.first.inner_text()
    assert score_of(page, hall, "S1") == before - PHONE_USE_DEDUCTION

    # The violation's page rests on the finding: what was seen, by whom, and its photo.
    page.goto(f"{hall.url}/violations/{finding.violation_id}")
    [evidence] = page.locator("table.evidence tbody tr").all()
    assert f"巡查发现：玩手机：窗口内玩手机 {SCRIPT}" in evidence.inner_text()
    assert "zhao via console" in evidence.inner_text()
    assert evidence.get_by_role("link", name="现场照片").get_attribute("href") == href
    screenshot(page, "finding-violation")


def test_a_bad_photo_is_refused_beside_the_form_with_what_was_entered(hall, tablet, signed_in):
    page = tablet
    signed_in(page, hall, "zhao")
    page.goto(f"{hall.url}/findings?site=hall-01")
    fill_finding(page, "窗口内玩手机")
    page.set_input_files(
        "input[name=photo]",
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"just some text\n"}],
    )
    page.get_by_role("button", name="提交").click()
    page.wait_for_load_state()
    refusal = page.locator("form.finding [role=alert]")
    assert "not a JPEG or PNG" in refusal.inner_text()
    assert page.locator("textarea[name=note]").input_value() == "窗口内玩手机"
    assert page.locator("select[name=window]").input_value() == "W01"
    assert page.locator("select[name=staff]").input_value() == "S1"
    assert page.locator("select[name=rule]").input_value() == "phone_use"
    assert hall.store.findings() == []
    assert page.locator("table.findings tbody").inner_text().strip() == "无"


def test_a_window_finding_is_of_the_whole_window(hall, tablet, signed_in):
    page = tablet
    signed_in(page, hall, "zhao")
    page.goto(f"{hall.url}/findings?site=hall-01")
    page.select_option("select[name=window]", label="不动产登记窗口")
    expect(page.locator("select[name=staff] option", has_text="王芳")).to_have_count(1)
    assert page.locator("select[name=staff]").input_value() == ""  # 整个窗口
    assert page.locator("select[name=rule] option").all_inner_texts() == ["窗口不整洁"]
    page.fill("textarea[name=note]", "台面堆放杂物")
    page.get_by_role("button", name="提交").click()
    page.wait_for_url("**/findings?site=hall-01&window=W02")
    row = page.locator("table.findings tbody tr").first
    assert row.locator("td.of").inner_text() == "不动产登记窗口"
    assert row.locator("td.rule").inner_text() == "窗口不整洁"
    [finding] = hall.store.findings()
    assert (finding.window, finding.staff_id, finding.photo) == ("W02", None, None)


def test_a_viewer_gets_no_form_and_photos_stay_in_their_hall(hall, tablet, signed_in):
    management = Management(hall.store, load_policy(hall.policy_file))
    elsewhere = management.add_finding(
        Actor("li", "cli"), site="hall-02", staff="S4", rule="dress", note="未佩戴工牌",
        photo=photo_with_gps(),
    ).finding  # fmt: skip
    page = tablet
    signed_in(page, hall, "zhao")  # an inspector of hall-01 only
    assert page.goto(f"{hall.url}/findings/{elsewhere.finding_id}/photo").status == 404
    assert page.goto(f"{hall.url}/findings?site=hall-02").status == 404
    assert page.goto(f"{hall.url}/findings/f-nonesuch/photo").status == 404
    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/login")

    hall.add_user("qian", "viewer", ("hall-01", "hall-02"))
    signed_in(page, hall, "qian")
    page.goto(f"{hall.url}/violations?site=hall-01")
    assert page.get_by_role("link", name="巡查记录").count() == 0
    csrf = csrf_of(page)
    answer = page.goto(f"{hall.url}/findings?site=hall-01")
    assert answer.status == 403 and page.locator("form.finding").count() == 0
    posted = page.request.post(
        f"{hall.url}/findings",
        multipart={
            "csrf": csrf, "site": "hall-01", "window": "W01", "staff": "S1",
            "rule": "phone_use", "note": "viewer tries",
        },
    )  # fmt: skip
    assert posted.status == 403
    assert page.goto(f"{hall.url}/findings/{elsewhere.finding_id}/photo").status == 403
    assert [f.finding_id for f in hall.store.findings()] == [elsewhere.finding_id]
