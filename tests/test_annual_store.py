"""The annual review and the red and black lists read from a real store (SQLite and
PostgreSQL) through the management API and `hallwatch score`: October and November 2026
judged (tests/annual_helpers.py), reviewed on 2 December."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from hallwatch.cli import main
from rules.acting import InvalidInput
from rules.backend import open_store
from rules.manage import Management
from rules.policy import load_policy
from tests.annual_helpers import AFTER, judged_autumn
from tests.console.assess_month import MONTH, write_policy


@pytest.fixture
def autumn(store_at, tmp_path):
    store = open_store(store_at())
    policy = write_policy(tmp_path)
    judged_autumn(store, policy)
    yield Management(store, load_policy(policy), now=lambda: AFTER), policy
    store.close()


def test_the_year_of_each_person_and_window_of_a_hall(autumn):
    manage, _ = autumn
    review = manage.annual_review(2026, site="hall-01")
    assert review.months == ("2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06",
                             "2026-07", "2026-08", "2026-09", "2026-10", "2026-11")  # fmt: skip
    people = {p.staff_id: p for p in review.staff}
    assert set(people) == {"S1", "S2", "S3", "S5"}  # not 赵强 of hall-02
    li_na = people["S2"]  # 90 in October (vetoed), 100 in November: 95, capped
    assert (li_na.months[9:11], li_na.mean, li_na.vetoed_months) == ((90.0, 100.0), 95.0, (10,))
    assert (li_na.rating, li_na.rank) == ("basic_pass", 4)
    assert li_na.months[:9] == (None,) * 9  # before the hall went live: not scored
    assert li_na.months[11] is None  # December has not ended
    assert (people["S1"].mean, people["S1"].rating) == (99.5, "excellent")
    joiner = people["S5"]  # joined in November: one month
    assert (joiner.months[9:11], joiner.mean, joiner.rank) == ((None, 100.0), 100.0, 1)
    windows = {w.window: w for w in review.windows}
    assert set(windows) == {"W01", "W02"}
    assert (windows["W01"].vetoed_months, windows["W01"].rating) == ((10,), "basic_pass")
    assert windows["W02"].rating == "excellent"


def test_the_lists_of_a_month(autumn):
    manage, _ = autumn
    found = manage.month_lists(MONTH, site="hall-01").lists
    assert [p.staff_id for p in found.red_staff] == ["S3", "S1"]
    assert [p.staff_id for p in found.black_staff] == ["S2"]
    assert [w.window for w in found.red_windows] == ["W02"]
    assert [w.window for w in found.black_windows] == ["W01"]


def test_a_bad_year_or_month_is_refused(autumn):
    manage, _ = autumn
    with pytest.raises(InvalidInput, match="not a year"):
        manage.annual_review(26)
    with pytest.raises(InvalidInput, match="not YYYY-MM"):
        manage.month_lists("2026-13")


def test_score_year_prints_names_and_writes_a_workbook(autumn, store_at, tmp_path):
    _, policy = autumn
    book = tmp_path / "2026.xlsx"
    run = CliRunner().invoke(
        main,
        ["score", "--year", "2026", "--site", "hall-01", "--xlsx", str(book),
         "--db", str(store_at()), "--policy", str(policy)],
    )  # fmt: skip
    # The CLI's clock is the real one: whatever month it is, October has ended.
    assert run.exit_code == 0, run.output
    assert (
        "年度考核 2026 hall-01" in run.output and "有否决月份的，等次最高为 基本合格" in run.output
    )
    [li_na] = [line for line in run.output.splitlines() if "李娜" in line]
    assert "90" in li_na and "基本合格" in li_na and "10月" in li_na and "S2" in li_na
    sheet = load_workbook(book).worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["排名", "姓名", "工号"] and "1月" in header and "年度平均分" in header
    rows = {r[1]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["李娜"][header.index("1月")] == "未考核"
    assert rows["李娜"][header.index("10月")] == 90
    assert rows["李娜"][header.index("等次")] == "基本合格"
    assert rows["李娜"][header.index("否决月数")] == 1
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    assert sheet.column_dimensions["B"].width >= 6


def test_score_lists_as_text_and_json(autumn, store_at):
    _, policy = autumn
    base = ["score", "--month", MONTH, "--lists", "--site", "hall-01"]
    base += ["--db", str(store_at()), "--policy", str(policy)]
    text = CliRunner().invoke(main, base)
    assert text.exit_code == 0, text.output
    red, black = text.output.split("黑榜 人员")[0], text.output.split("黑榜 人员")[1]
    assert "王芳" in red and "张伟" in red and "李娜" not in red
    assert "李娜" in black.split("红榜 窗口")[0]
    found = json.loads(CliRunner().invoke(main, [*base, "--json"]).output)
    assert [p["staff_id"] for p in found["black_staff"]] == ["S2"]


def test_score_refuses_options_that_do_not_go_together(autumn, store_at):
    _, policy = autumn
    db = ["--db", str(store_at()), "--policy", str(policy)]
    for args, problem in (
        (["--month", MONTH, "--year", "2026"], "give --month YYYY-MM or --year YYYY"),
        (["--year", "2026", "--lists"], "--lists are a month's"),
        (["--month", MONTH, "--site", "hall-01"], "--site is for --year and --lists"),
    ):
        run = CliRunner().invoke(main, ["score", *args, *db])
        assert run.exit_code == 2 and problem in run.output, run.output
