"""The regime as a hall lives it (issue 14): each situation seen in real life, reproduced.

Go-live and employment dates, one violation per spoofing incident, correction numbers that
never change once announced, departures judged only once a person has really left,
outings that cover a person only up to their allowed return, clocks in doubt, and the
rules a manager's actions follow.
"""

from __future__ import annotations

from datetime import date, timedelta

import msgspec
import pytest

from mqtt import schema
from mqtt.ids import new_event_id
from mqtt.schema import Action, AlertKind, LeaveKind
from rules.engine import (
    Facts,
    PersonEvents,
    evaluate_day,
    evaluate_person_month,
    group_by_person,
    judged_workdays,
)
from rules.manager_actions import ActionRefused, check_correction, leave_kind, leave_span
from rules.scoring import score_month
from tests.rules_helpers import (
    DAY,
    SITE,
    TZ,
    activity,
    at,
    clock,
    directory_of,
    full_day,
    going_out,
    policy,
    source_of,
)

POLICY = policy()
MONTH = "2026-11"
NOTHING_KNOWN = Facts()


def one_day(**overrides):
    """Everyone employed on DAY only: a person-month is that one day."""
    employed = {s: {"first_day": DAY, "last_day": DAY} for s in ("S1", "S2")}
    window = {"id": "w1", "site": SITE, "staff": ["S1", "S2"], "workstations": {"ws-1": "S1"}}
    return policy(windows=[window | {"employment": employed}], **overrides)


ONE_DAY = one_day()


def person_month(events, *, pol=ONE_DAY, staff="S1", facts=NOTHING_KNOWN, now=None, actions=()):
    directory = directory_of(pol)
    person = group_by_person(events, directory).get(staff, PersonEvents())
    return evaluate_person_month(pol, directory, staff, MONTH, person, actions, now, facts)


def day_rules(events, *, pol=POLICY, staff="S1", now=None, day=DAY, facts=NOTHING_KNOWN):
    directory = directory_of(pol)
    person = group_by_person(events, directory).get(staff, PersonEvents())
    return sorted(f.rule for f in evaluate_day(pol, directory, staff, day, person, (), now, facts))


def workdays(first: int, last: int) -> list[date]:
    days = [date(2026, 11, d) for d in range(first, last + 1)]
    return [d for d in days if d.isoweekday() < 6]


# -- 1. go-live and employment dates -------------------------------------------------------
def test_a_hall_that_starts_on_the_26th_judges_nobody_before_it():
    first = clock("08:50", day=date(2026, 11, 26))  # Thursday: the hall's first punch ever
    facts = Facts(first_punch={SITE: first.ts})
    records = person_month([first], pol=POLICY, staff="S2", facts=facts)
    assert {r.day for r in records} == {date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 30)}
    assert {r.rule for r in records} == {"absence"}  # S2 never punched: absent from day one
    # Untracked (a pure call without facts): every day, as before.
    assert len(person_month([first], pol=POLICY, staff="S2")) == 2 * len(workdays(2, 30))
    # The policy's go-live date wins over the first punch.
    explicit = policy(sites={SITE: {"go_live": "2026-11-30"}})
    assert {r.day for r in person_month([first], staff="S2", pol=explicit, facts=facts)} == {
        date(2026, 11, 30)
    }
    # A site that never received a punch and has no go-live date is not live.
    assert person_month([], pol=POLICY, staff="S2", facts=Facts(first_punch={})) == []


def test_nobody_is_absent_before_starting_or_after_leaving_and_the_window_counts_days():
    pol = policy(
        windows=[
            {
                "id": "w1",
                "site": SITE,
                "staff": ["S1", "S2", "S3"],
                "employment": {
                    "S2": {"first_day": "2026-11-16"},
                    "S3": {"last_day": "2026-11-20"},
                },
            }
        ]
    )
    facts = Facts(first_punch={SITE: at("08:50", date(2026, 11, 2))})
    newcomer = person_month([], pol=pol, staff="S2", facts=facts)
    assert min(r.day for r in newcomer) == date(2026, 11, 16)
    leaver = person_month([], pol=pol, staff="S3", facts=facts)
    assert max(r.day for r in leaver) == date(2026, 11, 20)
    directory = directory_of(pol)
    days = {s: judged_workdays(pol, directory, s, MONTH, facts) for s in ("S1", "S2", "S3")}
    assert days == {"S1": {"w1": 21}, "S2": {"w1": 11}, "S3": {"w1": 15}}
    # S1 lost 4 points (late four times), S2 and S3 none: the window's mean weighs each by their days.
    records = person_month(_lates(4), pol=pol, facts=facts)
    people, windows = score_month(pol, directory_of(pol), records, days)
    assert {p.staff_id: p.score for p in people} == {"S1": 96, "S2": 100, "S3": 100}
    assert windows[0].score == round((96 * 21 + 100 * 11 + 100 * 15) / 47, 2)
    # Someone judged on no day of the month is not on its sheet.
    people, _ = score_month(pol, directory_of(pol), records, {**days, "S3": {}})
    assert [p.staff_id for p in people] == ["S2", "S1"]


def _lates(count: int) -> list[schema.Punch]:
    """A November of blameless days but for lateness on the first `count` working days."""
    days = workdays(2, 30)
    return [clock("09:20" if n < count else "08:55", day=d) for n, d in enumerate(days)] + [
        e for d in days for e in full_day(day=d)[1:]
    ]


def test_employment_dates_are_checked():
    with pytest.raises(ValueError, match="last_day 2026-11-01 is before first_day 2026-11-16"):
        policy(
            windows=[
                {
                    "id": "w1",
                    "site": SITE,
                    "staff": ["S1"],
                    "employment": {"S1": {"first_day": "2026-11-16", "last_day": "2026-11-01"}},
                }
            ]
        )
    with pytest.raises(
        ValueError, match=r"employment dates for staff not in this window: \['S9'\]"
    ):
        policy(windows=[{"id": "w1", "site": SITE, "staff": ["S1"], "employment": {"S9": {}}}])


# -- 2. one incident, one violation -------------------------------------------------------
def spoof_alert(hms: str, staff: str = "S1", device: str = "st-01", kind=AlertKind.SPOOF_SUSPECTED):
    return schema.Alert(
        id=new_event_id(),
        seq=1,
        site=SITE,
        device=device,
        ts=at(hms),
        kind=kind,
        severity=schema.Severity.SERIOUS,
        message="liveness check failed for a face matching S1",
        staff_id=staff,
    )


def test_a_photo_held_up_for_seconds_is_one_incident():
    photo = [spoof_alert(f"09:30:0{n}") for n in range(5)]
    records = person_month([*full_day(), *photo])
    assert [(r.rule, r.deduction, len(r.evidence)) for r in records] == [("spoof", 10, 5)]
    assert set(records[0].evidence) == {a.id for a in photo}
    assert "5 alerts from 09:30:00 to 09:30:04, one incident" in records[0].detail
    # Five minutes after the incident's first alert: still it; later: a new incident; the
    # same minute at another device: another incident.
    more = [
        spoof_alert("09:35:00"),
        spoof_alert("09:35:01"),
        spoof_alert("09:30:02", device="st-02"),
    ]
    records = person_month([*full_day(), *photo, *more])
    assert sorted(len(r.evidence) for r in records) == [1, 1, 6]


def test_a_proxy_punch_judges_the_finger_owner_and_the_face_shown():
    # The station raises one alert for each person concerned (edge/station/station.py).
    alerts = [spoof_alert("10:00", staff, kind=AlertKind.PROXY_PUNCH) for staff in ("S2", "S1")]
    events = [*full_day(), *full_day("S2"), *alerts]
    for staff in ("S1", "S2"):
        assert [r.rule for r in person_month(events, staff=staff)] == ["spoof"]


# -- 3. correction numbers never change once announced ------------------------------------
def test_a_number_announced_stays_when_an_earlier_violation_is_found_later():
    early = replace_punch(full_day(), "17:02", clock("15:48", Action.CLOCK_OUT))
    first = person_month(early)
    assert [(r.rule, r.correction_no) for r in first] == [("early_departure", 1)]
    announced = Facts(numbers={"S1": {r.violation_id: r.correction_no for r in first}})
    # The agent's data arrives later: non-work use at 10:00, earlier in the day.
    game = activity("10:00", 6, app="steam")
    later = person_month([*early, game], facts=announced)
    assert [(r.rule, r.correction_no) for r in later] == [
        ("nonwork_session", 2),
        ("early_departure", 1),
    ]
    # Without the announcement (a replay into an empty store) it is time order.
    assert [r.correction_no for r in person_month([*early, game])] == [1, 2]


def test_a_withdrawn_number_is_retired_and_escalation_counts_standing_violations():
    events = _lates(4)
    records = person_month(events, pol=POLICY)
    assert [(r.correction_no, r.escalated) for r in records] == [
        (1, False),
        (2, False),
        (3, False),
        (4, True),
    ]
    numbers = {r.violation_id: r.correction_no for r in records}
    # The second late is withdrawn (an earlier clock-in arrived): its number is not reused,
    # and the fourth is now only the third standing one.
    second_day = records[1].day
    fixed = [*events, clock("08:59", day=second_day)]
    after = person_month(fixed, pol=POLICY, facts=Facts(numbers={"S1": numbers}))
    assert [(r.correction_no, r.escalated, r.veto) for r in after] == [
        (1, False, False),
        (3, False, False),
        (4, False, False),
    ]
    # A new late gets number 5 and is the fourth standing: escalated.
    last_day = date(2026, 11, 30)
    newer = [e for e in fixed if e.ts != at("08:55", last_day)] + [clock("09:30", day=last_day)]
    latest = person_month(newer, pol=POLICY, facts=Facts(numbers={"S1": numbers}))
    assert [(r.correction_no, r.escalated) for r in latest][-1] == (5, True)


# -- 5. early departure only when the person has really left ------------------------------
def replace_punch(events, hms, new):
    return [new if e.ts == at(hms) else e for e in events]


def test_out_and_back_inside_a_session_is_not_an_early_departure():
    out_and_back = [*full_day(), clock("15:48", Action.CLOCK_OUT), clock("15:52")]
    assert day_rules(out_and_back) == []
    # Seen live at 15:50, before the person came back: nothing is judged yet.
    assert day_rules(out_and_back[:-1], now=at("15:50")) == []
    # Never clocked out at the end: a missing clock-out, not an early departure.
    no_final = [e for e in out_and_back if e.ts != at("17:02")]
    assert day_rules(no_final) == ["missing_punch"]
    assert day_rules(no_final, now=at("17:29")) == []  # the session has not settled yet
    # Really left at 15:48: early departure, once the session's end has settled.
    left = replace_punch(full_day(), "17:02", clock("15:48", Action.CLOCK_OUT))
    assert day_rules(left, now=at("17:29")) == []
    assert day_rules(left, now=at("17:30")) == ["early_departure"]
    # Forgot the clock-in, then went out and back: a missing clock-in, not an absence.
    forgot = [clock("08:55"), clock("12:01", Action.CLOCK_OUT)]
    forgot += [clock("15:48", Action.CLOCK_OUT), clock("15:52"), clock("17:01", Action.CLOCK_OUT)]
    assert day_rules(forgot) == ["missing_punch"]


def test_an_unregistered_going_out_is_a_finding_only_if_the_policy_says_so():
    out_and_back = [*full_day(), clock("15:48", Action.CLOCK_OUT), clock("15:52")]
    strict = one_day(outing={"unregistered": {"severity": "minor", "deduction": 0.5}})
    assert day_rules(out_and_back, pol=strict) == ["unregistered_outing"]
    [record] = person_month(out_and_back, pol=strict)
    assert (record.deduction, record.correction_no, len(record.evidence)) == (0.5, 1, 2)


# -- 10 and 11. an outing covers a person only up to its allowed return -------------------
def test_a_sick_outing_never_returned_from_is_an_absence_not_an_overdue():
    morning = [clock("08:55"), going_out("11:59", "17:00", LeaveKind.SICK)]
    # Sick allows 240 minutes: covered until 15:59, absent from the rest of the afternoon.
    found = [r for r in person_month(morning) if r.day == DAY]
    assert [(r.rule, r.severity, r.at) for r in found] == [("absence", "serious", at("15:59"))]
    assert found[0].evidence == (morning[1].id,)
    # The same afternoon without the outing is an absence too.
    assert day_rules([clock("08:55"), clock("12:01", Action.CLOCK_OUT)]) == ["absence"]


@pytest.mark.parametrize(
    ("back", "expected"),
    [
        ("14:50", []),  # back before the allowed 15:00
        ("15:10", []),  # within the 10 minutes' tolerance
        ("15:30", ["outing_overdue"]),
        ("16:00", ["outing_overdue"]),  # exactly 60 minutes after the allowed return
        ("16:00:01", ["absence"]),  # later: absent, which stands in for the overdue
    ],
)
def test_an_official_outing_across_lunch_at_every_return(back, expected):
    day = [
        clock("08:55"),
        going_out("11:00", "15:00", LeaveKind.OFFICIAL),
        clock(back, Action.LEAVE_RETURN),
        clock("17:02", Action.CLOCK_OUT),
    ]
    assert day_rules(day) == expected


def test_an_outing_allowed_past_the_sessions_end_is_not_overdue_if_not_back():
    official = [*full_day()[:3], going_out("16:50", "17:30", LeaveKind.OFFICIAL)]
    assert day_rules(official) == []
    # Back after the allowed return plus tolerance: overdue (the return is the next punch).
    assert day_rules([*official, clock("17:41", Action.CLOCK_OUT)]) == ["outing_overdue"]
    # An outing that covers the whole afternoon (official, 480 minutes) is not an absence.
    covered = [clock("08:55"), going_out("11:30", "18:00", LeaveKind.OFFICIAL)]
    assert day_rules(covered) == []


def test_an_outing_that_ended_over_lunch_leaves_the_afternoon_judged_as_usual():
    # Allowed until 12:30; back at 13:40 for a 13:30 session: overdue, not also late.
    lunch = [clock("08:55"), going_out("11:30", "12:30"), clock("13:40", Action.LEAVE_RETURN)]
    assert day_rules([*lunch, clock("17:02", Action.CLOCK_OUT)]) == ["outing_overdue"]
    # Never back: the afternoon is an absence (the morning's part is that absence's).
    assert day_rules(lunch[:2]) == ["absence"]


# -- 9. clocks in doubt --------------------------------------------------------------------
def heartbeat(hms: str, synced: bool, offset: float | None = None, device: str = "st-01"):
    health = schema.Health(clock_synced=synced, clock_offset_s=offset)
    status = schema.status_for(SITE, device, "station", "online", at(hms), health)
    return msgspec.structs.replace(status, seq=1)


def test_a_punch_from_a_device_with_an_unsynchronised_clock_is_marked():
    late = replace_punch(full_day(), "08:55", clock("09:20"))
    statuses = [heartbeat("09:17", synced=False)]
    [record] = person_month(late, facts=Facts(statuses=statuses))
    assert record.rule == "late" and "time in doubt: st-01 clock not synchronised" in record.detail
    # A drifting clock likewise; a good one, or a heartbeat too far away, marks nothing.
    drifting = [heartbeat("09:24", synced=True, offset=-42.0)]
    assert "clock off by -42.0 s" in person_month(late, facts=Facts(statuses=drifting))[0].detail
    for fine in ([heartbeat("09:17", True, 0.2)], [heartbeat("09:10", False)]):
        assert "doubt" not in person_month(late, facts=Facts(statuses=fine))[0].detail


def test_the_inspection_shows_missing_clock_outs_and_clocks_in_doubt():
    from rules.inspection import inspect_day
    from rules.store import DeviceSeen

    events = [clock("08:55"), clock("13:25"), *full_day("S2")]
    statuses = [heartbeat("13:24", synced=False)]
    report = inspect_day(
        POLICY,
        directory_of(POLICY),
        DAY,
        None,
        events,
        [],
        [DeviceSeen(s, s.ts) for s in statuses],
        [],
        at("18:00"),
        Facts(statuses=statuses),
    )
    lines = {line.staff_id: line for w in report.windows for line in w.staff}
    assert lines["S1"].status == "missing clock-out" and lines["S2"].status == "off duty"
    assert [p.clock for p in lines["S1"].punches] == ["", "st-01 clock not synchronised"]
    assert [(d.device, d.state) for d in report.clocks] == [("st-01", "clock not synchronised")]
    assert any("st-01: clock not synchronised" in i.text for i in report.open_items)
    assert report.counts()["device clocks in doubt"] == 1
    # Before the site's go-live, nobody is judged, and the inspection says so.
    pending = Facts(first_punch={SITE: at("08:00", DAY + timedelta(days=1))})
    early = inspect_day(
        POLICY, directory_of(POLICY), DAY, None, [], [], [], [], at("18:00"), pending
    )
    assert {line.status for w in early.windows for line in w.staff} == {"before go-live"}


# -- 4 and 6. what a manager may do, and how what they type is read -----------------------
def test_a_correction_notice_is_refused_on_a_serious_violation():
    records = person_month(_lates(4), pol=POLICY)
    check_correction(records[0])  # minor: accepted
    with pytest.raises(ActionRefused, match="void") as refused:
        check_correction(records[3], "en")  # the fourth: escalated past the allowance
    assert "corrections were used up" in str(refused.value)
    absence = person_month(full_day()[:2])[0]
    with pytest.raises(ActionRefused) as refused:
        check_correction(absence)
    assert "旷工是严重违规" in str(refused.value)
    assert f"hallwatch void {absence.violation_id}" in str(refused.value)


def test_leave_dates_are_whole_local_days_and_times_are_instants():
    start, end = leave_span("2026-11-24", "2026-11-25", TZ)
    assert (start, end) == (at("00:00"), at("00:00", date(2026, 11, 26)))  # two whole days
    assert leave_span("2026-11-24", "2026-11-24", TZ) == (
        at("00:00"),
        at("00:00", DAY + timedelta(1)),
    )
    assert leave_span("2026-11-24T13:30", "2026-11-24T17:00", TZ) == (at("13:30"), at("17:00"))
    utc = leave_span("2026-11-24T01:00+00:00", "2026-11-24", TZ)
    assert utc[0] == at("09:00") and utc[1] == at("00:00", date(2026, 11, 25))
    with pytest.raises(ActionRefused, match="ends"):
        leave_span("2026-11-25", "2026-11-24", TZ, "en")
    with pytest.raises(ActionRefused, match="neither a date"):
        leave_span("Tuesday", "2026-11-24", TZ, "en")
    assert leave_kind("sick") is LeaveKind.SICK
    for missing in (None, " "):
        with pytest.raises(ActionRefused, match="say which kind"):
            leave_kind(missing, "en")
    with pytest.raises(ActionRefused, match="没有“holiday”这种假别"):
        leave_kind("holiday")


# -- the store keeps what the results must not forget (SQLite and PostgreSQL) ---------------
def stored(store, *events):
    store.add_events(events)


def test_the_store_keeps_each_sites_first_punch_whatever_the_arrival_order(store_at):
    from rules.backend import open_store

    store = open_store(store_at())
    later, earlier = clock("09:00", day=DAY), clock("08:50", day=DAY - timedelta(days=3))
    elsewhere = msgspec.structs.replace(clock("10:00"), site="hall-02")
    stored(store, later, heartbeat("07:00", True, 0.1))
    assert store.first_punches() == {SITE: later.ts}
    stored(store, earlier, elsewhere, later)
    assert store.first_punches() == {SITE: earlier.ts, "hall-02": elsewhere.ts}
    stored(store, clock("09:30", day=DAY - timedelta(days=1)))
    assert store.first_punches()[SITE] == earlier.ts
    # A store made before first punches were kept (and before schema versions) learns them
    # from its events once opened.
    store._execute("DELETE FROM first_punches")
    store._execute("DROP TABLE schema_version")
    store.close()
    store = open_store(store_at())
    assert store.first_punches() == {SITE: earlier.ts, "hall-02": elsewhere.ts}
    store.close()


def test_numbers_announced_survive_out_of_order_arrivals_and_replays_given_them(store, tmp_path):
    from rules.recompute import recompute_person_month
    from rules.replay import replay
    from rules.store import SqliteStore

    live = one_day()
    left_early = replace_punch(full_day(), "17:02", clock("15:48", Action.CLOCK_OUT))
    game = activity("10:00", 6, app="steam")
    stored(store, *left_early)
    recompute_person_month(store, live, directory_of(live), "S1", MONTH, None)
    [departure] = store.violations(staff="S1")
    assert (departure.rule, departure.correction_no) == ("early_departure", 1)
    stored(store, game)  # the agent's data comes in late
    recompute_person_month(store, live, directory_of(live), "S1", MONTH, None)
    results = store.violations(staff="S1")
    assert {v.rule: v.correction_no for v in results} == {
        "early_departure": 1,
        "nonwork_session": 2,
    }
    announced = store.numbers(MONTH)
    assert announced == {"S1": {v.violation_id: v.correction_no for v in results}}

    # A clean replay of the same events numbers in time order; given the numbers
    # announced, it gives exactly the live results.
    lines = [schema.encode(e) for e in [*left_early, game]]
    for name, given in (("clean", {}), ("given", announced)):
        clean = SqliteStore(tmp_path / f"{name}.db", synchronous="OFF")
        for staff, numbers in given.items():
            clean.keep_numbers(staff, MONTH, numbers)
        replay(lines, live, directory_of(live), clean)
        again = clean.violations(staff="S1")
        clean.close()
        if given:
            assert again == results
        else:
            assert [(v.rule, v.correction_no) for v in again] == [
                ("nonwork_session", 1),
                ("early_departure", 2),
            ]

    # The clock-out at 17:02 turns up: the early departure is withdrawn, its number retired.
    stored(store, clock("17:02", Action.CLOCK_OUT))
    recompute_person_month(store, live, directory_of(live), "S1", MONTH, None)
    assert [(v.rule, v.correction_no) for v in store.violations(staff="S1")] == [
        ("nonwork_session", 2)
    ]
    assert sorted(store.numbers(MONTH)["S1"].values()) == [1, 2]


def test_the_store_finds_the_heartbeats_near_punches(store):
    punch = clock("09:20")
    beats = [heartbeat(hms, False) for hms in ("09:10", "09:16", "09:24", "09:30")]
    other = heartbeat("09:20", False, device="st-02")
    stored(store, punch, *beats, other)
    near = store.statuses_near([(SITE, "st-01", punch.ts)], timedelta(minutes=5))
    assert [s.ts for s in near] == [at("09:16"), at("09:24")]
    assert store.statuses_near([], timedelta(minutes=5)) == []


def test_when_a_sites_go_live_moves_back_everyone_there_is_judged_again(store):
    from mqtt.client import topic_for
    from rules.ingest import Ingest

    ingest = Ingest(store, POLICY, source_of(POLICY), now=lambda: at("18:00"))

    def deliver(*events):
        for event in events:
            ingest.handle(topic_for(event), schema.encode(event))
        ingest.drain(timeout_s=0)
        ingest.flush()

    def absent(staff, day=DAY):
        return [v.at for v in store.violations(staff=staff, day=day) if v.rule == "absence"]

    deliver(*full_day(), *full_day("S2"))  # the hall's first punches, on the 24th
    assert absent("S1") == absent("S2") == absent("S3", DAY - timedelta(days=1)) == []
    # A station that was offline delivers a punch from the day before: live since then,
    # and S3, who did not come either day, is absent on both.
    monday = DAY - timedelta(days=1)
    deliver(clock("08:50", day=monday))
    assert absent("S3", monday) == [at("09:00", monday), at("13:30", monday)]
    assert absent("S3") == [at("09:00"), at("13:30")]
