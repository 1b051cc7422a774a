"""`make demo`: the planted day, end to end, and a report that shows every planted finding."""

from __future__ import annotations

import re

from click.testing import CliRunner

from hallwatch.cli import main
from hallwatch.console.accounts import Accounts
from hallwatch.console.config import load_config
from hallwatch.demo import hall
from hallwatch.demo.command import MARKER, fresh_out_dir
from hallwatch.demo.console import PASSWORD, USER
from rules.backend import open_store
from rules.words import rule_word
from tests.command_helpers import run_hallwatch


def test_the_demo_day_reports_every_planted_violation(tmp_path):
    out = tmp_path / "demo"
    result = run_hallwatch("demo", "--out", str(out), timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    stdout = result.stdout
    inspection = stdout[stdout.index("== Daily inspection") :]
    # Each planted violation, on the right person, in the inspection and in the HTML report.
    html = (out / "report.html").read_text()
    for staff, rule in hall.PLANTED_VIOLATIONS:
        said = re.escape(rule_word(rule))  # in words, as managers read it
        assert re.search(rf"{staff}\s+\S+ w0\d\s+{said}\s", inspection), (staff, rule)
        assert f">{rule_word(rule)} (" in html
    assert "赵敏 S006：严重违规“冒用/代打卡嫌疑”" in inspection
    assert "一票否决 (赵敏 S006)" in inspection
    assert "无法确定人员的告警“陌生人脸”（unknown_face）" in inspection  # the stranger
    # The live feed saw st-02 drop off and its punches arrive after it came back.
    assert re.search(r"demo-hall/st-02\s+status\s+station OFFLINE", stdout)
    s005 = re.search(r"S005\s+已下班\s+(.*)", inspection).group(1)
    assert s005.split()[1::2] == ["上班打卡", "下班打卡", "上班打卡", "下班打卡"]
    # On time means on time: the morning punches kept their simulated minutes.
    s001 = re.search(r"S001\s+已下班\s+(.*)", inspection).group(1)
    assert s001.split()[0] < "09:00"
    assert "<svg" in html and "本月得分" in html and "检查人" in html
    # Enrolled once, centrally and at st-01; both stations know everyone, by name.
    assert "every station has them" in stdout
    for person in hall.STAFF:
        assert f"{person.name} {person.staff_id}" in inspection, person
    assert "社保窗口 w01" in inspection
    assert re.search(r"demo-hall/st-0\d\s+clock\s+陈静 S005\s+clock_in", stdout)
    # It ends with the one command that opens the day in the console, set up to sign in.
    assert "make console" in stdout and f"date={hall.DAY}" in stdout
    settings = load_config(out / "console.toml").console
    store = open_store(settings.db)
    try:
        session, _ = Accounts(store).sign_in(USER, PASSWORD, "127.0.0.1")
    finally:
        store.close()
    assert session.account.role == "admin"


def test_the_demo_never_deletes_a_folder_it_did_not_make(tmp_path):
    theirs = tmp_path / "thesis"
    theirs.mkdir()
    (theirs / "chapter1.tex").write_text("months of work")
    result = CliRunner().invoke(main, ["demo", "--out", str(theirs)])
    assert result.exit_code == 1
    assert "was not made by 'hallwatch demo'" in result.output and "--out" in result.output
    assert (theirs / "chapter1.tex").read_text() == "months of work"
    assert sorted(p.name for p in theirs.iterdir()) == ["chapter1.tex"]


def test_a_rerun_replaces_the_folder_the_demo_made(tmp_path):
    out = tmp_path / "demo-out"
    fresh_out_dir(out)
    (out / "report.html").write_text("yesterday's report")
    fresh_out_dir(out)
    assert [p.name for p in out.iterdir()] == [MARKER]
    empty = tmp_path / "empty"
    empty.mkdir()
    fresh_out_dir(empty)  # an empty folder holds nothing to lose
    assert (empty / MARKER).is_file()
