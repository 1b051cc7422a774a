"""Duty rosters (领导带班, 总服务台值班): the engine judges the person on duty present or not in
each duty session, the store keeps the roster on SQLite and PostgreSQL, the management API
sets, removes and imports it (all or nothing), and `hallwatch duty` is a thin layer over it."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from hallwatch.cli import main
from mqtt.schema import Action
from rules.acting import Actor, InvalidInput, NotFound
from rules.engine import PersonEvents, evaluate_person_month, group_by_person
from rules.manage import Management
from rules.manage_directory import ImportRefused
from rules.render import inspection_text
from rules.rosters import ROSTER_HEADINGS, DutyAssignment
from rules.staff_file import read_rows
from tests.rules_helpers import DAY, SITE, at, clock, directory_of, full_day, going_out, policy

MONTH = "2026-11"
CLERK = Actor("li", "cli")


def hall():
    return policy(
        sites={SITE: {"timezone": "Asia/Shanghai", "go_live": "2026-09-01"}},
        windows=[{"id": "w1", "site": SITE, "staff": ["S1", "S2"]}],
    )


def leader(sessions=None, staff="S1", day=DAY) -> DutyAssignment:
    return DutyAssignment(SITE, day, "leader", staff, sessions, "li via cli")


def judge(events, rosters, now=None):
    pol = hall()
    directory = directory_of(pol)
    person = group_by_person(list(events), directory).get("S1") or PersonEvents()
    return [
        v
        for v in evaluate_person_month(
            pol, directory, "S1", MONTH, person, (), now, rosters=rosters
        )
        if v.rule == "duty_absent"
    ]


# -- the engine ----------------------------------------------------------------------------
def test_a_leader_on_duty_who_never_clocked_in_is_absent_from_duty_once_per_session():
    found = judge([], [leader()])
    assert [(v.day, v.at) for v in found] == [(DAY, at("09:00")), (DAY, at("13:30"))]
    assert all(v.severity == "minor" and v.deduction == 2 for v in found)
    assert "present 0 of 180 min" in found[0].detail
    # Only the duty's sessions: the afternoon alone.
    [afternoon] = judge([], [leader((1,))])
    assert afternoon.at == at("13:30")
    # Ids are stable across recomputations.
    assert [v.violation_id for v in judge([], [leader()])] == [v.violation_id for v in found]


def test_judged_only_after_the_session_settles():
    assert judge([], [leader()], now=at("12:10")) == []  # the morning not settled yet
    [morning] = judge([], [leader()], now=at("12:31"))
    assert morning.at == at("09:00")


def test_a_leader_gone_out_during_the_duty_session_is_absent_from_duty():
    day = full_day()
    day.insert(1, going_out("10:00", "11:00"))
    day.insert(2, clock("11:00", Action.LEAVE_RETURN))
    [out] = judge(day, [leader()])
    assert out.at == at("09:00") and "present 120 of 180 min" in out.detail
    # Out for less than the tolerance (15 min): nothing.
    short = full_day()
    short.insert(1, going_out("10:00", "10:10"))
    short.insert(2, clock("10:10", Action.LEAVE_RETURN))
    assert judge(short, [leader()]) == []


def test_a_leader_present_all_day_or_someone_elses_roster_gives_nothing():
    assert judge(full_day(), [leader()]) == []
    assert judge([], [leader(staff="S2")]) == []  # S2's duty is not S1's


# -- the store and the management API, on SQLite and PostgreSQL ---------------------------
def managed(store) -> Management:
    pol = policy(
        sites={SITE: {"timezone": "Asia/Shanghai", "go_live": DAY.isoformat()}},
        windows=[{"id": "w1", "site": SITE, "staff": ["S1", "S2"]}],
    )
    store.add_events(full_day("S2"))  # S2 present all day; S1 never clocked in
    moments = iter(at("18:30") + timedelta(seconds=n) for n in range(1000))
    return Management(store, pol, now=lambda: next(moments))


def duty_absences(manage: Management, staff: str) -> list:
    return [
        v
        for v in manage.violations(month=MONTH)
        if v.rule == "duty_absent" and v.staff_id == staff and v.status != "voided"
    ]


def test_setting_and_removing_a_duty_rejudges_the_person_month(store):
    manage = managed(store)
    result = manage.set_duty(CLERK, SITE, DAY, "leader", "S1")
    assert len(result.changed) >= 2 and len(duty_absences(manage, "S1")) == 2
    assert store.rosters(DAY, DAY) == [leader()]
    # The front desk for the morning only: S2 was present, nothing.
    manage.set_duty(CLERK, SITE, DAY, "front_desk", "S2", [0])
    assert duty_absences(manage, "S2") == []
    assert [e.duty for e in manage.duties(month=MONTH)] == ["front_desk", "leader"]
    # Replaced for the afternoon only: one absence left.
    manage.set_duty(CLERK, SITE, DAY, "leader", "S1", [1])
    assert [v.at for v in duty_absences(manage, "S1")] == [at("13:30")]
    removed = manage.remove_duty(CLERK, SITE, DAY, "leader", "S1")
    assert removed.withdrawn and duty_absences(manage, "S1") == []
    assert [a.action for a in manage.audit()] == ["duty_set", "duty_set", "duty_set", "duty_remove"]
    assert manage.audit()[0].target == f"{SITE}/{DAY}/leader/S1"
    with pytest.raises(NotFound, match="没有领导带班排班"):
        manage.remove_duty(CLERK, SITE, DAY, "leader", "S1")
    for args, error, message in [
        ((SITE, DAY, "janitor", "S1"), InvalidInput, "没有值班类型 'janitor'"),
        (("hall-99", DAY, "leader", "S1"), NotFound, "没有大厅 'hall-99'"),
        ((SITE, DAY, "leader", "S9"), NotFound, "人员名册中没有工号 S9"),
        ((SITE, date(2026, 11, 28), "leader", "S1"), InvalidInput, "不是工作日"),
    ]:
        with pytest.raises(error, match=message):
            manage.set_duty(CLERK, *args)
    with pytest.raises(InvalidInput, match="没有第 3 时段"):
        manage.set_duty(CLERK, SITE, DAY, "leader", "S1", [2])
    manage.language = "en"  # the command line's reader may ask for English
    with pytest.raises(InvalidInput, match="not a working day"):
        manage.set_duty(CLERK, SITE, date(2026, 11, 28), "leader", "S1")
    assert len(manage.audit()) == 4  # refusals record nothing


def write_roster(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["日期", "值班类型", "工号", "时段"])
        writer.writerows(rows)
    return path


def test_an_import_with_a_bad_row_is_refused_whole_and_a_good_one_marks_months_pending(
    store, tmp_path
):
    manage = managed(store)
    bad = write_roster(
        tmp_path / "bad.csv",
        [
            ["2026-11-24", "领导带班", "S1", ""],
            ["2026-11-25", "清洁", "S1", ""],
            ["2026-11-26", "总服务台值班", "S9", ""],
            ["24/11/2026", "leader", "S2", ""],
        ],
    )
    with pytest.raises(ImportRefused) as refused:
        manage.import_duties(CLERK, read_rows(bad, ROSTER_HEADINGS), "bad.csv", SITE, dry_run=False)
    assert [p.row for p in refused.value.rows] == [3, 4, 5]
    assert "row 3" in str(refused.value) and "S9" in str(refused.value)
    assert store.rosters() == [] and manage.audit() == []
    good = write_roster(
        tmp_path / "good.csv",
        [["2026-11-24", "领导带班", "S1", ""], ["2026/11/25", "front_desk", "S2", "1,2"]],
    )
    rows = read_rows(good, ROSTER_HEADINGS)
    dry = manage.import_duties(CLERK, rows, "good.csv", SITE, dry_run=True)
    assert len(dry.entries) == 2 and store.rosters() == []
    done = manage.import_duties(CLERK, rows, "good.csv", SITE, dry_run=False)
    assert done.rejudged == (("S1", MONTH), ("S2", MONTH))
    assert set(store.pending()) >= {("S1", MONTH), ("S2", MONTH)}
    assert [(e.day, e.duty, e.staff_id, e.sessions) for e in store.rosters()] == [
        (DAY, "leader", "S1", None),
        (date(2026, 11, 25), "front_desk", "S2", (0, 1)),
    ]
    assert [a.action for a in manage.audit()] == ["duty_set", "duty_set"]


def test_the_daily_inspection_shows_the_duty_holders_and_whether_they_are_present(store):
    manage = managed(store)
    manage.set_duty(CLERK, SITE, DAY, "leader", "S1")
    manage.set_duty(CLERK, SITE, DAY, "front_desk", "S2")
    report = manage.inspection(day=DAY, as_of=at("10:00"))
    assert [(d.duty, d.staff_id, d.status) for d in report.on_duty] == [
        ("front_desk", "S2", "at post"),
        ("leader", "S1", "absent"),  # an hour past the start, no punch
    ]
    text = inspection_text(report)
    assert "今日值班" in text and "领导带班  S1  缺勤" in text and "总服务台值班" in text
    html = manage.daily_report(day=DAY, as_of=at("10:00"))
    assert "领导带班" in html


# -- the command ---------------------------------------------------------------------------
def test_duty_set_list_and_import_from_the_command_line(tmp_path: Path):
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(
        f'[sites.{SITE}]\ntimezone = "Asia/Shanghai"\ngo_live = "2026-09-01"\n'
        f'[[windows]]\nid = "w1"\nsite = "{SITE}"\nstaff = ["S1", "S2"]\n'
    )
    env = {"HALLWATCH_RULES_DB": str(tmp_path / "rules.db"), "HALLWATCH_POLICY": str(policy_file)}
    runner = CliRunner()
    added = runner.invoke(
        main,
        ["duty", "set", "--site", SITE, "--date", "2026-11-24", "--duty", "leader", "--staff",
         "S1"],
        env=env,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "领导带班" in added.output and "leader" not in added.output
    roster = write_roster(tmp_path / "r.csv", [["2026-11-25", "总服务台值班", "S2", "2"]])
    dry = runner.invoke(main, ["duty", "import", str(roster), "--site", SITE, "--dry-run"], env=env)
    assert dry.exit_code == 0 and "dry run" in dry.output, dry.output
    done = runner.invoke(main, ["duty", "import", str(roster), "--site", SITE], env=env)
    assert done.exit_code == 0, done.output
    listed = runner.invoke(main, ["duty", "list", "--site", SITE, "--month", MONTH], env=env)
    assert listed.exit_code == 0, listed.output
    assert "领导带班" in listed.output and "总服务台值班" in listed.output
    assert "2026-11-25" in listed.output
    english = runner.invoke(main, ["duty", "list", "--month", MONTH, "--json"], env=env)
    assert '"front_desk"' in english.output
    bad = write_roster(tmp_path / "bad.csv", [["2026-11-25", "值日", "S2", ""]])
    refused = runner.invoke(main, ["duty", "import", str(bad), "--site", SITE], env=env)
    assert refused.exit_code != 0 and "row 2" in refused.output
