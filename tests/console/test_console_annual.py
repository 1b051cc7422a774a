"""The annual review (/annual) and the red and black lists on the monthly assessment, in a
real Chromium against a real console on SQLite and PostgreSQL, with October and November
2026 judged (tests/annual_helpers.py). The console's clock is the real one: October has
ended whenever this runs, and 李娜's vetoed October caps her year at 基本合格 whether
November has ended or not."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from tests.annual_helpers import judged_autumn
from tests.console.assess_month import MONTH, hall_console


@pytest.fixture
def hall(store_at, tmp_path):
    """A console on a store with October and November judged; a manager of hall-01."""
    yield from hall_console(store_at, tmp_path, judged_autumn)


def test_the_annual_review_rates_a_vetoed_year_and_downloads(
    hall, browser_page, signed_in, screenshot, tmp_path
):
    page = browser_page
    signed_in(page, hall, "wang")
    page.get_by_role("navigation").get_by_role("link", name="年度考核").click()
    page.select_option("select[name=site]", "hall-01")
    page.fill("input[name=year]", "2026")
    page.get_by_role("button", name="查询").click()
    assert page.locator("h1").inner_text().endswith("年度考核 2026")
    li_na = page.locator("table.annual-staff tr", has_text="李娜")
    assert li_na.locator("td.rating").inner_text() == "基本合格"  # capped by the veto
    assert li_na.locator("td.vetoed").inner_text() == "10月"
    assert li_na.locator("td.month").nth(9).get_attribute("class") == "month veto"
    assert li_na.locator("td.month").first.inner_text() == "-"  # before go-live: not scored
    assert page.locator("table.annual-staff tr", has_text="王芳").locator(
        "td.rating"
    ).inner_text() == ("优秀")
    assert "赵强" not in page.content()  # hall-02's
    assert "有否决月份的，等次最高为 基本合格" in page.locator("p.rule").inner_text()
    windows = page.locator("table.annual-windows tr", has_text="综合受理窗口")
    assert windows.locator("td.rating").inner_text() == "基本合格"
    screenshot(page, "annual")

    with page.expect_download() as download:
        page.get_by_role("link", name="下载 Excel").click()
    path = tmp_path / "annual.xlsx"
    download.value.save_as(path)
    sheet = load_workbook(path).worksheets[0]
    header = [c.value for c in sheet[1]]
    rows = {r[header.index("姓名")]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["李娜"][header.index("等次")] == "基本合格"
    assert rows["李娜"][header.index("1月")] == "未考核"
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref

    assert page.goto(f"{hall.url}/annual?site=hall-02&year=2026").status == 404
    assert page.goto(f"{hall.url}/annual?site=hall-01&year=26").status == 400


def test_the_lists_show_on_the_monthly_assessment(hall, browser_page, signed_in, screenshot):
    page = browser_page
    signed_in(page, hall, "wang")
    page.goto(f"{hall.url}/assessment?site=hall-01&month={MONTH}")
    red = page.locator("table.list.red_staff tbody").inner_text()
    assert "王芳" in red and "张伟" in red and "李娜" not in red
    black = page.locator("table.list.black_staff tbody tr")
    assert black.count() == 1 and "李娜" in black.inner_text() and "一票否决" in black.inner_text()
    assert "不动产登记窗口" in page.locator("table.list.red_windows").inner_text()
    assert "综合受理窗口" in page.locator("table.list.black_windows").inner_text()
    page.locator("section.lists").scroll_into_view_if_needed()
    screenshot(page, "assessment-lists")


def test_a_viewer_has_no_annual_review(hall, browser_page, signed_in):
    hall.add_user("qian", "viewer", ("hall-01",))
    page = browser_page
    signed_in(page, hall, "qian")
    page.goto(f"{hall.url}/assessment?site=hall-01&month={MONTH}")
    assert page.get_by_role("navigation").get_by_role("link", name="年度考核").count() == 0
    assert "李娜" in page.locator("table.list.black_staff").inner_text()  # the lists are theirs
    assert page.goto(f"{hall.url}/annual?site=hall-01&year=2026").status == 403
