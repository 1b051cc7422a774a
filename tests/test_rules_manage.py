"""The management API on SQLite and PostgreSQL: each action, each refusal, the audit's actor,
announcing through a real Mosquitto; and exports that never carry a spreadsheet formula."""

from __future__ import annotations

import csv
import getpass
import io
import secrets
import sqlite3
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import msgspec
import psycopg
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from base.errors import HallwatchError
from hallwatch.cli import main
from mqtt import schema, topics
from mqtt.client import BrokerConfig, MqttClient
from mqtt.schema import Action, LeaveKind
from rules import render
from rules.acting import Actor, InvalidInput, NotFound, Refused
from rules.announce import Connecting, OverConnection
from rules.backend import open_store
from rules.directory_edits import months_between
from rules.engine import ViolationRecord
from rules.manage import Management
from rules.recompute import recompute_month
from rules.scoring import score_month
from tests.mqtt_helpers import Collector
from tests.rules_helpers import DAY, SITE, at, clock, directory_of, policy
from tests.support.mosquitto import free_port

MONTH = "2026-11"
LI = Actor("wang", "cli", on_behalf_of="li")  # wang enters li's decisions
FORMULA = '=HYPERLINK("http://evil.example/x","appeal")'


class Clock:
    """The evening of DAY, a second later at each reading (actions keep their order)."""

    def __init__(self) -> None:
        self.moment = at("23:00")

    def __call__(self) -> datetime:
        self.moment += timedelta(seconds=1)
        return self.moment


def hall_policy(site: str = SITE):
    # Live since the month began: S2 never punches, and the leave spans months before it.
    return policy(
        sites={site: {"timezone": "Asia/Shanghai", "go_live": "2026-09-01"}},
        windows=[{"id": "w1", "site": site, "staff": ["S1", "S2"]}],
    )


def judged_hall(store, site: str = SITE, announcer=None) -> Management:
    """S1 late on DAY (otherwise a full day), S2 never in: the month judged up to DAY."""
    rules_policy = hall_policy(site)
    day = [
        clock("09:20"),
        clock("12:01", Action.CLOCK_OUT),
        clock("13:25"),
        clock("17:02", Action.CLOCK_OUT),
    ]
    events = [msgspec.structs.replace(e, site=site) for e in day]
    store.add_events(events)
    clock_now = Clock()
    directory = directory_of(rules_policy)
    recompute_month(store, rules_policy, directory, MONTH, clock_now())
    return Management(store, rules_policy, announcer, now=clock_now)


def only(rows: list[ViolationRecord], **match) -> ViolationRecord:
    [found] = [v for v in rows if all(getattr(v, k) == want for k, want in match.items())]
    return found


def absences_of(manage: Management, staff: str, day: date) -> list[ViolationRecord]:
    return [v for v in manage.violations(staff=staff, day=day) if v.rule == "absence"]


# -- actions -----------------------------------------------------------------------------
def test_a_correction_is_recorded_with_who_decided_and_who_entered_it(store):
    manage = judged_hall(store)
    late = only(manage.violations(month=MONTH, staff="S1"), rule="late")
    result = manage.correct(LI, late.violation_id, "  talked to S1 on 11-24  ")
    assert result.violation is not None and result.violation.status == "corrected"
    assert result.violation.deduction == late.deduction  # a correction stays counted
    assert [v.violation_id for v in result.changed] == [late.violation_id]
    assert result.not_announced is None  # no broker: nothing to announce, nothing wrong
    [row] = manage.audit()
    assert (row.by, row.entered_by, row.action, row.target, row.reason) == (
        "li",
        "wang via cli",
        "correct",
        late.violation_id,
        "talked to S1 on 11-24",
    )
    assert row == result.action and row.ts.tzinfo is not None


def test_a_void_stops_a_violation_from_deducting(store):
    manage = judged_hall(store)
    late = only(manage.violations(month=MONTH, staff="S1"), rule="late")
    before = next(p for p in manage.monthly_sheet(MONTH).staff if p.staff_id == "S1")
    result = manage.void(Actor.cli(), late.violation_id, "sensor fault")
    assert result.violation is not None and result.violation.status == "voided"
    after = next(p for p in manage.monthly_sheet(MONTH).staff if p.staff_id == "S1")
    assert after.deductions == before.deductions - late.deduction
    assert after.voided == before.voided + 1
    [row] = manage.audit()
    me = getpass.getuser()
    assert (row.by, row.entered_by) == (me, f"{me} via cli")  # no --by: the OS user decides


def test_leave_after_the_fact_withdraws_an_absence_and_its_cancellation_restores_it(store):
    manage = judged_hall(store)
    [morning, afternoon] = absences_of(manage, "S2", DAY)
    # Times without an offset are the site's (Asia/Shanghai).
    result = manage.add_leave(
        LI, "S2", datetime(2026, 11, 24, 8), datetime(2026, 11, 24, 18), LeaveKind.SICK, "note"
    )
    leave = result.leave
    assert leave is not None and leave.start == at("08:00") and leave.end == at("18:00")
    assert {v.violation_id for v in result.withdrawn} == {
        morning.violation_id,
        afternoon.violation_id,
    }
    assert absences_of(manage, "S2", DAY) == []
    assert [lv.leave_id for lv in manage.leave(staff="S2")] == [leave.leave_id]
    assert manage.leave(staff="S1") == []

    cancelled = manage.cancel_leave(Actor.cli(), leave.leave_id, "wrong person")
    assert cancelled.leave == leave
    assert len(absences_of(manage, "S2", DAY)) == 2
    assert manage.leave(staff="S2") == []
    assert [(a.action, a.target) for a in manage.audit()] == [
        ("leave_add", leave.leave_id),
        ("leave_cancel", leave.leave_id),
    ]


def test_leave_over_three_months_recomputes_the_month_between(store):
    manage = judged_hall(store)
    assert absences_of(manage, "S2", date(2026, 11, 10))
    start, end = datetime(2026, 10, 30, 8), datetime(2026, 12, 2, 18)
    manage.add_leave(LI, "S2", start, end, LeaveKind.OFFICIAL, "secondment")
    assert [v for v in manage.violations(month=MONTH, staff="S2") if v.rule == "absence"] == []
    assert months_between(date(2026, 10, 30), date(2027, 2, 1)) == [
        "2026-10",
        "2026-11",
        "2026-12",
        "2027-01",
        "2027-02",
    ]


# -- refusals ----------------------------------------------------------------------------
def test_each_refusal_says_what_to_do_and_records_nothing(store):
    manage = judged_hall(store)
    late = only(manage.violations(month=MONTH, staff="S1"), rule="late")
    manage.void(LI, late.violation_id, "appeal upheld")
    recorded = manage.audit()
    naive = datetime(2026, 11, 24, 9)
    refusals = [
        (NotFound, "no violation 'v-nope'", lambda: manage.void(LI, "v-nope", "x")),
        (Refused, "already voided; nothing to void", lambda: manage.void(LI, late.violation_id, "x")),
        (Refused, "already voided; nothing to correct", lambda: manage.correct(LI, late.violation_id, "x")),
        (InvalidInput, "say why", lambda: manage.correct(LI, late.violation_id, " \n")),
        (InvalidInput, "the leave ends (2026-11-24T08:00:00+08:00) before it starts",
         lambda: manage.add_leave(LI, "S2", naive, naive - timedelta(hours=1), LeaveKind.SICK, "x")),
        (InvalidInput, "ends", lambda: manage.add_leave(LI, "S2", naive, naive, LeaveKind.SICK, "x")),
        (NotFound, "NOBODY is in no window of the directory",
         lambda: manage.add_leave(LI, "NOBODY", naive, naive + timedelta(hours=1), LeaveKind.SICK, "x")),
        (InvalidInput, "say why",
         lambda: manage.add_leave(LI, "S2", naive, naive + timedelta(hours=1), LeaveKind.SICK, "")),
        (NotFound, "no leave 'lv-nope' in force", lambda: manage.cancel_leave(LI, "lv-nope", "x")),
        (InvalidInput, "'October' is not YYYY-MM", lambda: manage.monthly_sheet("October")),
        (InvalidInput, "'2026-13' is not YYYY-MM", lambda: manage.violations(month="2026-13")),
        (Refused, "no MQTT broker", lambda: manage.announce_inspection(manage.inspection(DAY))),
        (InvalidInput, "who is acting is unknown", lambda: Actor(" ", "console")),
    ]  # fmt: skip
    for kind, message, attempt in refusals:
        with pytest.raises(kind) as refused:
            attempt()
        assert isinstance(refused.value, HallwatchError) and message in str(refused.value)
    assert manage.audit() == recorded


def test_a_second_correction_is_refused(store):
    manage = judged_hall(store)
    late = only(manage.violations(month=MONTH, staff="S1"), rule="late")
    manage.correct(LI, late.violation_id, "told")
    with pytest.raises(Refused, match="already has a correction recorded"):
        manage.correct(LI, late.violation_id, "told again")
    assert manage.void(LI, late.violation_id, "appeal upheld").violation.status == "voided"


# -- queries -----------------------------------------------------------------------------
def test_queries_filter_and_read_the_store(store):
    manage = judged_hall(store)
    assert {v.staff_id for v in manage.violations(month=MONTH)} == {"S1", "S2"}
    assert {v.rule for v in manage.violations(day=DAY, staff="S1")} == {"late"}
    assert manage.violations(site="elsewhere") == []
    report = manage.inspection(DAY, as_of=at("10:30"))
    statuses = {line.staff_id: line.status for w in report.windows for line in w.staff}
    assert statuses == {"S1": "at post", "S2": "absent"}
    sheet = manage.monthly_sheet(MONTH)
    assert (sheet.staff, sheet.windows) == score_month(
        manage.policy, sheet.directory, sheet.violations
    )
    assert len(sheet.violations) == len(manage.violations(month=MONTH))


def test_the_audit_row_keeps_its_actor_in_a_store_made_before_it_was_kept(store_at):
    """A store made by an earlier version gains the column; its old rows read as unknown."""
    location = store_at()
    old_table = (
        'CREATE TABLE actions ("action_id" TEXT PRIMARY KEY, "ts" TEXT, "by" TEXT, '
        '"action" TEXT, "target" TEXT, "reason" TEXT, "leave" TEXT)'
    )
    old_row = ("a-old", "2026-11-01T09:00:00+00:00", "li", "void", "v-1", "appeal", None)
    if isinstance(location, Path):
        with sqlite3.connect(location) as db:
            db.execute(old_table)
            db.execute("INSERT INTO actions VALUES (?, ?, ?, ?, ?, ?, ?)", old_row)
        db.close()
    else:
        with psycopg.connect(location, autocommit=True) as db:
            db.execute(old_table)
            db.execute("INSERT INTO actions VALUES (%s, %s, %s, %s, %s, %s, %s)", old_row)
    store = open_store(location)
    try:
        manage = judged_hall(store)
        late = only(manage.violations(month=MONTH, staff="S1"), rule="late")
        manage.correct(LI, late.violation_id, "told")
    finally:
        store.close()
    reopened = open_store(location)
    try:
        trail = [(a.action_id, a.by, a.entered_by) for a in reopened.actions()]
    finally:
        reopened.close()
    assert trail[0] == ("a-old", "li", "")
    assert trail[1][1:] == ("li", "wang via cli")


# -- announcing --------------------------------------------------------------------------
def watch(site: str) -> tuple[MqttClient, Collector]:
    seen = Collector()
    watcher = MqttClient(BrokerConfig(persistent_session=False), f"w-{site}", on_message=seen)
    watcher.subscribe(topics.subscription(site, topics.CENTRAL))
    return watcher, seen


def test_actions_and_the_inspection_are_announced_through_mosquitto(store):
    site = f"t-{secrets.token_hex(4)}"
    manage = judged_hall(store, site, Connecting(BrokerConfig()))
    late = only(manage.violations(month=MONTH, staff="S1"), rule="late")
    watcher, seen = watch(site)
    with watcher:
        time.sleep(0.3)  # let the subscription settle
        result = manage.void(LI, late.violation_id, "appeal upheld")
        assert result.not_announced is None
        report = manage.inspection(DAY, site=site, as_of=at("10:30"))
        assert manage.announce_inspection(report) is None
        messages = seen.wait_for(3)
    decoded = [schema.decode(payload, topic) for topic, payload in messages]
    [correction] = [e for e in decoded if isinstance(e, schema.Correction)]
    assert (correction.target, correction.action, correction.by, correction.reason) == (
        late.violation_id,
        "void",
        "li",
        "appeal upheld",
    )
    [voided] = [e for e in decoded if isinstance(e, schema.Violation)]
    assert (voided.violation_id, voided.status) == (late.violation_id, "voided")
    [inspection] = [e for e in decoded if isinstance(e, schema.Inspection)]
    assert inspection.day == DAY and (
        inspection.counts["at post"],
        inspection.counts["absent"],
    ) == (1, 1)


def test_a_long_lived_connection_announces_with_running_sequence_numbers(store):
    site = f"t-{secrets.token_hex(4)}"
    watcher, seen = watch(site)
    console = MqttClient(BrokerConfig(persistent_session=False), f"console-{site}")
    with watcher, console:
        manage = judged_hall(store, site, OverConnection(console))
        late = only(manage.violations(month=MONTH, staff="S1"), rule="late")
        time.sleep(0.3)
        manage.correct(LI, late.violation_id, "told")
        manage.void(LI, late.violation_id, "appeal upheld")
        messages = seen.wait_for(4)
    sequence = [schema.decode(payload, topic).seq for topic, payload in messages]
    assert sorted(sequence) == [1, 2, 3, 4]


def test_an_unreachable_broker_is_a_warning_and_the_action_stands(store):
    manage = judged_hall(store, announcer=Connecting(BrokerConfig(port=free_port()), wait_s=1))
    late = only(manage.violations(month=MONTH, staff="S1"), rule="late")
    result = manage.void(LI, late.violation_id, "appeal upheld")
    assert result.not_announced and "cannot connect to the MQTT broker" in result.not_announced
    assert manage.violations(staff="S1", day=DAY)[0].status == "voided"
    # A connection that is down (the console's, between reconnects): queued, not confirmed.
    offline = MqttClient(BrokerConfig(port=free_port()), f"offline-{secrets.token_hex(4)}")
    offline.start(wait_s=None)
    try:
        manage.announcer = OverConnection(offline, wait_s=0.5)
        result = manage.add_leave(LI, "S2", at("08:00"), at("18:00"), LeaveKind.SICK, "note")
    finally:
        offline.stop()
    assert result.not_announced and "has not confirmed it within 0.5 s" in result.not_announced
    assert manage.leave(staff="S2") == [result.leave]


# -- exports -----------------------------------------------------------------------------
@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(
        f'[sites.{SITE}]\ntimezone = "Asia/Shanghai"\n'
        f'[[windows]]\nid = "w1"\nsite = "{SITE}"\nstaff = ["S1", "S2"]\n'
    )
    return path


def test_a_formula_in_a_reason_stays_text_in_csv_exports(tmp_path, policy_file):
    env = {"HALLWATCH_RULES_DB": str(tmp_path / "rules.db"), "HALLWATCH_POLICY": str(policy_file)}
    runner = CliRunner()
    add = [
        "leave",
        "add",
        "--staff",
        "S2",
        "--from",
        "2026-11-24T08:00",
        "--to",
        "2026-11-24T18:00",
        "--kind",
        "personal",
    ]
    added = runner.invoke(main, [*add, "--reason", FORMULA, "--by", "li"], env=env)
    assert added.exit_code == 0, added.output
    for command in (["leave", "list"], ["rules", "audit"]):
        result = runner.invoke(main, [*command, "--csv"], env=env)
        assert result.exit_code == 0, result.output
        rows = list(csv.DictReader(io.StringIO(result.output)))
        assert [row["reason"] for row in rows] == ["'" + FORMULA], command
    both = runner.invoke(main, ["leave", "list", "--csv", "--json"], env=env)
    assert both.exit_code == 2 and "give --json or --csv, not both" in both.output


def test_every_formula_start_is_neutralised_and_numbers_are_left_alone():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert render.inert(f"{start}1+1") == f"'{start}1+1"
    assert render.inert("sensor fault") == "sensor fault"
    assert render.inert(-1.5) == -1.5
    header, body = ["reason", "deduction"], [["@SUM(A1:A9)", -2.0]]
    assert render.csv_text(header, body).splitlines() == ["reason,deduction", "'@SUM(A1:A9),-2.0"]


def test_a_formula_in_the_data_stays_text_in_the_workbook(tmp_path):
    record = ViolationRecord(
        violation_id="v-1",
        staff_id="S1",
        site=SITE,
        window="w1",
        day=DAY,
        at=at("09:20"),
        rule="late",
        severity="minor",
        deduction=1.0,
        correction_no=1,
        escalated=False,
        veto=False,
        evidence=(),
        status="open",
        detail=FORMULA,
    )
    directory = directory_of(hall_policy())
    people, windows = score_month(hall_policy(), directory, [record])
    path = tmp_path / "sheet.xlsx"
    render.score_xlsx(path, render.score_tables(MONTH, people, windows, [record], directory, "en"))
    sheet = load_workbook(path)["Violations"]
    header = [cell.value for cell in sheet[1]]
    cell = sheet[2][header.index("detail")]
    assert (cell.value, cell.data_type) == (FORMULA, "s")
