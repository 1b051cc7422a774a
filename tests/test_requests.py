"""Requests and appeals: a punch correction (补卡) approved is judged as an attested punch,
an appeal upheld voids its violation, the policy caps corrections per month, everything is
audited and stored on SQLite and PostgreSQL, and `hallwatch requests` is a thin layer."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from hallwatch.cli import main
from mqtt.schema import Action
from rules.acting import Actor, ManagementError, NotFound, Refused
from rules.backend import open_store
from rules.manage import Management
from rules.recompute import recompute_month
from tests.rules_helpers import DAY, SITE, at, clock, policy

MONTH = "2026-11"
MANAGER = Actor("li", "cli")


def forgot_to_clock_out(day=DAY):
    """A day with the morning's clock-out missing: one missing punch."""
    return [
        clock("08:55", Action.CLOCK_IN, day=day),
        clock("13:25", Action.CLOCK_IN, day=day),
        clock("17:02", Action.CLOCK_OUT, day=day),
    ]


def managed(store, language="zh") -> Management:
    pol = policy(
        sites={SITE: {"timezone": "Asia/Shanghai", "go_live": "2026-11-02"}},
        windows=[
            {"id": "w1", "site": SITE, "staff": ["S1"],
             "employment": {"S1": {"first_day": DAY.isoformat()}}},
        ],
    )  # fmt: skip
    store.add_events(forgot_to_clock_out())
    moments = iter(at("18:00") + timedelta(seconds=n) for n in range(1000))
    manage = Management(store, pol, now=lambda: next(moments), language=language)
    recompute_month(store, pol, manage.directory(), MONTH, at("18:00"))
    return manage


def on_day(manage: Management, rule: str):
    return [v for v in manage.violations(day=DAY) if v.rule == rule]


def test_an_approved_punch_correction_cures_a_missing_clock_out_and_shows_as_attested(store):
    manage = managed(store)
    [missing] = on_day(manage, "missing_punch")
    raised = manage.raise_request(
        MANAGER, staff="S1", at=datetime(2026, 11, 24, 12, 0), action="clock_out",
        reason="忘记打下班卡",
    )  # fmt: skip
    assert raised.request.status == "pending" and raised.request.at == at("12:00")
    assert on_day(manage, "missing_punch") == [missing]  # pending changes nothing
    decided = manage.decide_request(MANAGER, raised.request.request_id, True, "监控核实")
    assert decided.request.status == "approved" and decided.request.decided_by == "li"
    assert [v.violation_id for v in decided.withdrawn] == [missing.violation_id]
    assert on_day(manage, "missing_punch") == []
    report = manage.inspection(DAY, as_of=at("18:00"))
    [line] = [s for w in report.windows for s in w.staff if s.staff_id == "S1"]
    [attested] = [p for p in line.punches if p.method == "attested"]
    assert (attested.time, attested.action) == ("12:00", "clock_out")
    from rules.render import punch_text

    assert punch_text(attested, "zh") == "12:00 下班打卡（补卡）"
    assert [(a.action, a.target) for a in manage.audit()] == [
        ("request_raise", raised.request.request_id),
        ("request_approve", raised.request.request_id),
    ]
    # A whole-month recompute from the store gives the same result.
    before = manage.violations(month=MONTH)
    recompute_month(store, manage.policy, manage.directory(), MONTH, at("18:30"))
    assert manage.violations(month=MONTH) == before


def test_a_rejected_correction_changes_nothing_and_deciding_twice_is_refused(store):
    manage = managed(store)
    before = manage.violations(month=MONTH)
    raised = manage.raise_request(
        MANAGER, staff="S1", at=at("12:00"), action="clock_out", reason="forgot"
    )
    rid = raised.request.request_id
    rejected = manage.decide_request(MANAGER, rid, False, "no proof")
    assert rejected.request.status == "rejected" and rejected.request.decision == "no proof"
    assert manage.violations(month=MONTH) == before
    with pytest.raises(Refused, match="已由 li 驳回"):
        manage.decide_request(MANAGER, rid, True, "changed my mind")
    assert [a.action for a in manage.audit()] == ["request_raise", "request_reject"]


def test_the_cap_refuses_the_fourth_correction_of_a_month_and_bad_ones_are_refused(store):
    manage = managed(store)
    for hm in ("12:00", "12:05", "12:10"):
        manage.raise_request(MANAGER, staff="S1", at=at(hm), action="clock_out", reason="forgot")
    with pytest.raises(Refused, match="每月上限 3 次"):
        manage.raise_request(MANAGER, staff="S1", at=at("12:20"), action="clock_out", reason="x")
    english = Management(store, manage.policy, now=manage.now, language="en")
    with pytest.raises(Refused, match="monthly cap is 3"):
        english.raise_request(MANAGER, staff="S1", at=at("12:20"), action="clock_out", reason="x")
    cases = [
        (at("09:00") + timedelta(days=2), "clock_in", "future"),
        (at("12:00", DAY - timedelta(days=1)), "clock_out", "works at no window"),  # not hired yet
        (at("08:55:30"), "clock_in", "within a minute"),
    ]
    for moment, action, message in cases:
        with pytest.raises(ManagementError, match=message):
            english.raise_request(MANAGER, staff="S1", at=moment, action=action, reason="x")
    assert len(manage.requests()) == 3


def test_an_upheld_appeal_voids_the_violation_and_its_veto_leaves_the_sheet(store):
    manage = managed(store)
    manage.add_finding(
        Actor("zhao", "console"), site=SITE, staff="S1", rule="complaint_upheld",
        note="rude to a citizen", at=at("10:00"),
    )  # fmt: skip
    [complaint] = on_day(manage, "complaint_upheld")
    [s1] = manage.monthly_sheet(MONTH).staff
    assert complaint.veto and s1.vetoed
    appeal = manage.raise_request(MANAGER, violation_id=complaint.violation_id, reason="误会")
    assert appeal.request.kind == "appeal" and appeal.request.staff_id == "S1"
    with pytest.raises(Refused, match="待审批"):
        manage.raise_request(MANAGER, violation_id=complaint.violation_id, reason="again")
    upheld = manage.decide_request(MANAGER, appeal.request.request_id, True, "视频证明无过错")
    assert upheld.violation is not None and upheld.violation.status == "voided"
    assert "视频证明无过错" in upheld.violation.detail
    [s1] = manage.monthly_sheet(MONTH).staff
    assert not s1.vetoed
    with pytest.raises(Refused, match="已撤销"):
        manage.raise_request(MANAGER, violation_id=complaint.violation_id, reason="once more")
    with pytest.raises(NotFound):
        manage.raise_request(MANAGER, violation_id="v-nope", reason="x")
    kinds = [a.action for a in manage.audit()]
    assert kinds == ["finding_add", "request_raise", "request_approve", "void"]
    before = manage.violations(month=MONTH)
    recompute_month(store, manage.policy, manage.directory(), MONTH, at("18:30"))
    assert manage.violations(month=MONTH) == before


# -- the command ---------------------------------------------------------------------------
def test_requests_from_the_command_line(tmp_path: Path):
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(
        f'[sites.{SITE}]\ntimezone = "Asia/Shanghai"\ngo_live = "2026-11-02"\n'
        f'[[windows]]\nid = "w1"\nsite = "{SITE}"\nstaff = ["S1"]\n'
        "[requests]\npunch_corrections_per_month = 1\n"
    )
    db = tmp_path / "rules.db"
    stored = open_store(db)
    try:
        stored.add_events(forgot_to_clock_out())
    finally:
        stored.close()
    env = {"HALLWATCH_RULES_DB": str(db), "HALLWATCH_POLICY": str(policy_file)}
    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, ["requests", *args], env=env)

    added = run("add-punch", "--staff", "S1", "--at", "2026-11-24T12:00", "--action",
                "clock_out", "--reason", "忘记打卡")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "补卡" in added.output and "待审批" in added.output
    rid = added.output.split()[0]
    again = run("add-punch", "--staff", "S1", "--at", "2026-11-23T12:00", "--action",
                "clock_out", "--reason", "x")  # fmt: skip
    assert again.exit_code != 0 and "上限 1 次" in again.output
    listed = run("list", "--status", "pending")
    assert listed.exit_code == 0 and rid in listed.output and "下班打卡" in listed.output
    approved = run("approve", rid, "--reason", "核实")
    assert approved.exit_code == 0, approved.output
    assert "已批准" in approved.output
    twice = run("reject", rid, "--reason", "x", "--lang", "en")
    assert twice.exit_code != 0 and "already approved" in twice.output
    assert run("list", "--status", "pending").output.strip().endswith("0 条申请")
    appeal = run("appeal", "v-unknown", "--reason", "x")
    assert appeal.exit_code != 0 and "没有编号为 v-unknown 的违规" in appeal.output
