"""`hallwatch report`: the daily inspection and the monthly assessment as printable HTML
and, through a real headless Chromium, PDF; words and names, not codes."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from hallwatch.cli import main
from rules import html_report, pdf
from rules.engine import evaluate_month
from rules.inspection import inspect_day
from rules.scoring import score_month
from tests.rules_helpers import DAY, at
from tests.test_rules_directory import DIRECTORY, EVENTS, LATE_AT_W02, MONTH, POLICY
from tests.test_rules_manage import judged_hall

# Screenshots the tests take, for a person to look at (git-ignored; docs/images holds the
# ones the docs show, copied from here on purpose).
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    return int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1))


def pdf_text(path: Path) -> str:
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True)
    return done.stdout


def directory_day(language: str = "zh") -> str:
    """The day S1 was late at W02, and the month so far, as one document."""
    from rules.engine import Facts, judged_workdays

    records = evaluate_month(POLICY, DIRECTORY, MONTH, EVENTS)
    day_records = [r for r in records if r.day == LATE_AT_W02]
    events = [e for e in EVENTS if e.ts.date() == LATE_AT_W02]
    now = at("10:00", LATE_AT_W02)
    report = inspect_day(
        POLICY, DIRECTORY, LATE_AT_W02, None, events, day_records, [], [], now, language=language
    )
    days = {s: judged_workdays(POLICY, DIRECTORY, s, MONTH, Facts()) for s in ("S1", "S2", "S3")}
    people, windows = score_month(POLICY, DIRECTORY, records, days)
    sheet = (MONTH, people, windows, records)
    return html_report.daily_page(report, sheet, DIRECTORY, language)


def test_the_daily_page_shows_words_and_names_not_codes():
    html = directory_day()
    assert "张伟" in html and "不动产登记窗口" in html and "S1" in html  # the id beside
    assert "迟到" in html and "在岗" in html and "上班打卡" in html and "待处理" in html
    assert ">late<" not in html and "clock_in" not in html and "at post" not in html
    assert "检查人" in html and "审核人" in html and "日期" in html  # the sign-off block
    assert "counter(page)" in html and "<script" not in html
    english = directory_day("en")
    assert "Zhang Wei" in english and "late arrival" in english and "Inspector" in english


def test_the_score_axis_starts_near_the_lowest_score():
    low, high = html_report.score_axis([98, 99, 100])
    assert 90 <= low < 98 and high == 100
    assert html_report.score_axis([40, 100])[0] < 40
    assert html_report.score_axis([])[0] < 100
    svg = html_report.dot_plot("scores", [("张伟 S1", 98, "#000"), ("李娜 S2", 100, "#000")])
    # 98 and 100 sit far apart on the axis, not 2% of a bar from 0 apart.
    x98, x100 = (float(x) for x in re.findall(r'<circle cx="([\d.]+)"', svg))
    assert x100 - x98 > 100


def test_a_printed_report_has_pages_and_chinese_text(tmp_path):
    html = directory_day()
    printed = pdf.print_pdf(html, tmp_path / "day.pdf")
    assert printed.read_bytes().startswith(b"%PDF") and pages(printed) >= 1
    text = pdf_text(printed)
    assert "张伟" in text and "迟到" in text and "检查人" in text, text[:2000]
    assert re.search(
        r"第\s*1\s*页\s*/\s*共\s*\d+\s*页", text
    )  # the page number the print CSS puts at the foot
    # The first page as an image, to look at.
    ARTIFACTS.mkdir(exist_ok=True)
    stem = tmp_path / "page"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", str(printed), str(stem)], check=True
    )
    [png] = tmp_path.glob("page*.png")
    shutil.copy(png, ARTIFACTS / "report-daily-page1.png")


def test_the_report_command_writes_the_day_and_the_month(store, tmp_path):
    manage = judged_hall(store)
    day = manage.daily_report(DAY, as_of=at("18:00"))
    assert "迟到" in day and "旷工" in day and "缺勤" in day  # S1's rule, S2's rule and state
    month = manage.monthly_report("2026-11")
    assert "月度考核 2026-11" in month and "不合格" in month  # S2's absences veto the month
    assert "<svg" in month


def test_the_report_command_from_the_cli(tmp_path):
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text('[[windows]]\nid = "w1"\nsite = "hall-01"\nstaff = ["S1"]\n')
    env = {"HALLWATCH_RULES_DB": str(tmp_path / "rules.db"), "HALLWATCH_POLICY": str(policy_file)}
    runner = CliRunner()
    out = tmp_path / "nov"
    result = runner.invoke(
        main,
        [
            "report",
            "--month",
            "2026-11",
            "--html",
            f"{out}.html",
            "--pdf",
            f"{out}.pdf",
            "--lang",
            "en",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "Monthly assessment 2026-11" in Path(f"{out}.html").read_text()
    assert pages(Path(f"{out}.pdf")) >= 1
    day = runner.invoke(
        main, ["report", "--date", "2026-11-24", "--html", f"{out}.day.html"], env=env
    )
    assert day.exit_code == 0, day.output
    assert "每日巡查 2026-11-24" in Path(f"{out}.day.html").read_text()
    for wrong in (
        ["--html", "x.html"],
        ["--date", "2026-11-24", "--month", "2026-11", "--html", "x"],
    ):
        refused = runner.invoke(main, ["report", *wrong], env=env)
        assert refused.exit_code == 2 and "give one of --date DAY or --month" in refused.output
    nothing = runner.invoke(main, ["report", "--month", "2026-11"], env=env)
    assert nothing.exit_code == 2 and "--html FILE, --pdf FILE" in nothing.output


def test_no_chromium_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(pdf, "CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pdf.PdfUnavailable, match="install it"):
        pdf.print_pdf("<p>x</p>", tmp_path / "x.pdf")
