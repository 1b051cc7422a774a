"""The rest of the regime in one month, against the sheet a hall manager computes by hand.

November 2026, hall-01 (live from the 2nd), window w1 with S1 and S2, window w2 with S3.
Everyone works every working day (21 days: 2nd-6th, 9th-13th, 16th-20th, 23rd-27th, 30th)
blamelessly, except:

    S1  4th   forgets to clock out at 12:00: missing punch, announced as #1; a 补卡 for
              12:00 is approved: the punch is attested and the violation withdrawn
    S1  10th  clocks in at 09:12: late, #2 (numbers announced stay), -1
    S1  12th  an inspector sees them on their phone: phone use (finding), #3, -2
    S2  5th   clocks in at 09:10: late, #1, -1
    S2  11th  a complaint upheld (finding, serious, vetoes the month), appealed; the appeal
              is upheld: voided, no veto
    S3  23rd  leader on duty all day, goes out 10:00-11:00 (a registered outing): absent
              from duty in the morning session, #1, -2
    w2  20th  an inspector finds the window untidy (finding on the window): -1 off w2

The manager's sheet:

    staff  violations standing                    score  veto  rating
    S1     late 10th, phone use 12th               97     no    excellent
    S2     late 5th (the complaint voided)         99     no    excellent
    S3     absent from duty 23rd                   98     no    excellent
    w1     (97*21 + 99*21) / 42 = 98.00                         excellent
    w2     98 - 1 (untidy) = 97.00                              excellent

Recomputing the month from the store (a replay) gives the same sheet.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from mqtt.schema import Action
from rules.acting import Actor
from rules.manage import Management
from rules.recompute import recompute_month
from tests.rules_helpers import SITE, TZ, at, clock, full_day, going_out, policy

MONTH = "2026-11"
MANAGER = Actor("li", "console")
INSPECTOR = Actor("zhao", "console")


def nov(day: int) -> date:
    return date(2026, 11, day)


WORKDAYS = [nov(d) for d in range(2, 31) if nov(d).isoweekday() < 6]


def month_of_punches() -> list:
    events = []
    for day in WORKDAYS:
        for staff in ("S1", "S2", "S3"):
            punches = full_day(staff, day)
            if (staff, day) == ("S1", nov(4)):
                punches = [p for p in punches if p.ts != at("12:01", day)]
            if (staff, day) in (("S1", nov(10)), ("S2", nov(5))):
                late = "09:12" if staff == "S1" else "09:10"
                punches[0] = clock(late, Action.CLOCK_IN, staff, day)
            if (staff, day) == ("S3", nov(23)):
                punches[1:1] = [
                    going_out("10:00", "11:00", staff=staff, day=day),
                    clock("11:00", Action.LEAVE_RETURN, staff, day),
                ]
            events += punches
    return events


def standing(manage: Management) -> list[tuple[str, date, str, int | None, str]]:
    return sorted(
        (v.staff_id, v.day, v.rule, v.correction_no, v.status)
        for v in manage.violations(month=MONTH)
        if v.status != "voided"
    )


def test_findings_rosters_a_correction_and_an_appeal_change_the_sheet_as_by_hand(store):
    pol = policy(
        sites={SITE: {"timezone": "Asia/Shanghai", "go_live": "2026-11-02"}},
        windows=[
            {"id": "w1", "site": SITE, "staff": ["S1", "S2"]},
            {"id": "w2", "site": SITE, "staff": ["S3"]},
        ],
    )
    end = datetime(2026, 11, 30, 20, 0, tzinfo=TZ)
    moments = iter(end + timedelta(seconds=n) for n in range(1000))
    manage = Management(store, pol, now=lambda: next(moments))
    manage.set_duty(MANAGER, SITE, nov(23), "leader", "S3")
    store.add_events(month_of_punches())
    recompute_month(store, pol, manage.directory(), MONTH, end)
    [missing] = [v for v in manage.violations(month=MONTH) if v.rule == "missing_punch"]
    assert (missing.staff_id, missing.day, missing.correction_no) == ("S1", nov(4), 1)

    # The inspectors' findings, the 补卡 and the appeal, as the hall enters them.
    manage.add_finding(INSPECTOR, site=SITE, staff="S1", rule="phone_use",
                       note="窗口内玩手机", at=at("10:00", nov(12)))  # fmt: skip
    complaint = manage.add_finding(INSPECTOR, site=SITE, staff="S2", rule="complaint_upheld",
                                   note="群众投诉态度生硬", at=at("15:00", nov(11)))  # fmt: skip
    manage.add_finding(INSPECTOR, site=SITE, window="w2", rule="window_untidy",
                       note="台面堆放杂物", at=at("16:00", nov(20)))  # fmt: skip
    correction = manage.raise_request(MANAGER, staff="S1", at=datetime(2026, 11, 4, 12, 0),
                                      action="clock_out", reason="忘记打下班卡")  # fmt: skip
    manage.decide_request(MANAGER, correction.request.request_id, True, "监控核实")
    [vetoing] = [v for v in manage.violations(month=MONTH) if v.rule == "complaint_upheld"]
    assert vetoing.veto and vetoing.violation_id == complaint.finding.violation_id
    appeal = manage.raise_request(MANAGER, violation_id=vetoing.violation_id, reason="误会")
    manage.decide_request(MANAGER, appeal.request.request_id, True, "视频证明无过错")

    expected = [
        ("S1", nov(10), "late", 2, "open"),
        ("S1", nov(12), "phone_use", 3, "open"),
        ("S2", nov(5), "late", 1, "open"),
        ("S3", nov(23), "duty_absent", 1, "open"),
    ]
    assert standing(manage) == expected
    sheet = manage.monthly_sheet(MONTH)
    people = {p.staff_id: (p.score, p.vetoed, p.rating) for p in sheet.staff}
    assert people == {
        "S1": (97.0, False, "excellent"),
        "S2": (99.0, False, "excellent"),
        "S3": (98.0, False, "excellent"),
    }
    windows = {w.window: (w.score, w.vetoed, w.rating) for w in sheet.windows}
    assert windows == {"w1": (98.0, False, "excellent"), "w2": (97.0, False, "excellent")}
    assert [w.window for w in sorted(sheet.windows, key=lambda w: w.rank)] == ["w1", "w2"]

    # The 补卡 stands in the record as an attested punch, the appeal as a void, each audited.
    assert [a.action for a in manage.audit()] == [
        "duty_set", "finding_add", "finding_add", "finding_add", "request_raise",
        "request_approve", "request_raise", "request_approve", "void",
    ]  # fmt: skip

    # A replay of the month from the store gives the same sheet.
    recompute_month(store, pol, manage.directory(), MONTH, end + timedelta(hours=1))
    assert standing(manage) == expected
    again = manage.monthly_sheet(MONTH)
    assert (again.staff, again.windows) == (sheet.staff, sheet.windows)
