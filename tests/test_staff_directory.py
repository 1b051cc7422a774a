"""The directory in the central store, on SQLite and PostgreSQL: edits through the
management API (audited, re-judged months marked pending), HR files imported all or
nothing, exports that import back unchanged, devices joined with their statuses, and a
policy's [[windows]] as seed."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner

from hallwatch.cli import main
from mqtt import schema
from rules.acting import Actor, InvalidInput, NotFound, Refused
from rules.directory import Department, Device, Posting, ServiceWindow, StaffMember
from rules.directory_edits import FileRow, rejudged_months
from rules.gallery_store import NewTemplate
from rules.manage import Management
from rules.manage_directory import ImportRefused
from rules.staff_file import export_rows, read_rows, write_rows
from tests.rules_helpers import DAY, SITE, at, clock, policy
from tests.support.staff_files import staff_workbook

WANG = Actor("wang", "cli")


def _now() -> datetime:
    return at("23:00")


def _hall(store) -> Management:
    """A hall whose policy's windows seeded the directory (w1: S1 S2, w2: S3)."""
    return Management(store, policy(), now=_now)


def test_a_policy_with_windows_seeds_an_empty_directory_once(store, caplog) -> None:
    with caplog.at_level(logging.INFO):
        _hall(store)
    assert "deprecated" in caplog.text and "hallwatch staff import" in caplog.text
    directory = store.directory()
    assert [w.id for w in directory.windows] == ["w1", "w2"]
    assert directory.posting_on("S3", DAY).id == "w2"
    assert directory.staff_of_workstation == {(SITE, "ws-1"): "S1"}
    version = store.directory_version()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        _hall(store)  # the directory is there now: the policy's windows are ignored
    assert store.directory_version() == version
    assert "ignored" in caplog.text


def test_moving_a_person_closes_the_posting_the_day_before_and_rejudges_past_months(
    store,
) -> None:
    store.add_events([clock("08:55", day=DAY - timedelta(days=30))])  # judged since October
    manage = _hall(store)
    result = manage.edit_staff(WANG, "S1", window="w2", since=date(2026, 11, 16))
    member = store.directory().member["S1"]
    assert member.postings == (
        Posting("w1", None, date(2026, 11, 15)),
        Posting("w2", date(2026, 11, 16), None),
    )
    assert result.rejudged == (("S1", "2026-11"),)
    assert ("S1", "2026-11") in store.pending()
    [audit] = [a for a in store.actions() if a.action == "staff_edit"]
    assert (audit.by, audit.target, audit.entered_by) == ("wang", "S1", "wang via cli")
    assert "w2 from 2026-11-16" in audit.reason
    # A name change judges no day differently: nothing to recompute.
    assert manage.edit_staff(WANG, "S1", name="张伟").rejudged == ()
    assert store.directory().name("S1") == "张伟"


def test_every_edit_bumps_the_version(store) -> None:
    manage = _hall(store)
    seen = [store.directory_version()]
    manage.add_department(WANG, Department("d1", "社保局"))
    manage.add_window(WANG, ServiceWindow("w3", SITE, "医保窗口", "d1"))
    manage.add_staff(WANG, StaffMember("S9", "李娜", department="d1"), "w3")
    manage.deactivate_staff(WANG, "S9", "left", date(2026, 11, 30))
    seen.append(store.directory_version())
    assert seen[1] == seen[0] + 4
    gone = store.directory().member["S9"]
    assert (gone.active, gone.end_date) == (False, date(2026, 11, 30))
    assert [s.staff_id for s in manage.staff_list()] == ["S1", "S2", "S3"]
    assert "S9" in [s.staff_id for s in manage.staff_list(include_inactive=True)]


def test_refusals_say_what_is_wrong(store) -> None:
    manage = _hall(store)
    with pytest.raises(Refused, match="already in the directory"):
        manage.add_staff(WANG, StaffMember("S1", "张伟"))
    with pytest.raises(NotFound, match="no window 'w9'"):
        manage.add_staff(WANG, StaffMember("S9", "张伟"), "w9")
    with pytest.raises(InvalidInput, match="end date 2026-01-01 is before the start date"):
        manage.add_staff(
            WANG, StaffMember("S9", "张伟", start_date=date(2026, 2, 1), end_date=date(2026, 1, 1))
        )
    manage.edit_staff(WANG, "S1", window="w2", since=date(2026, 11, 16))
    manage.add_window(WANG, ServiceWindow("w3", SITE, "医保窗口"))
    with pytest.raises(Refused, match="posted to w2 from 2026-11-16: a move must start after"):
        manage.edit_staff(WANG, "S1", window="w3", since=date(2026, 11, 10))
    with pytest.raises(NotFound, match="no staff id 'S404'"):
        manage.edit_staff(WANG, "S404", name="x")
    with pytest.raises(Refused, match="nothing to change"):
        manage.edit_staff(WANG, "S1", window="w2", since=date(2026, 11, 20))
    with pytest.raises(InvalidInput, match="invalid device id"):
        manage.register_device(WANG, Device(SITE, "ST 1", "station"))
    assert "S9" not in store.directory().member  # nothing refused was written


def test_overlapping_postings_are_refused() -> None:
    from rules.directory import Directory
    from rules.directory_edits import problems

    directory = Directory(windows=(ServiceWindow("w1", SITE, "a"), ServiceWindow("w2", SITE, "b")))
    member = StaffMember(
        "S1",
        "张伟",
        postings=(Posting("w1", None, date(2026, 11, 20)), Posting("w2", date(2026, 11, 16))),
    )
    assert any("postings overlap" in p for p in problems(member, directory))


def test_rejudged_months_are_those_with_a_day_judged_differently() -> None:
    before = StaffMember("S1", "a", postings=(Posting("w1"),))
    after = StaffMember(
        "S1",
        "a",
        postings=(Posting("w1", None, date(2026, 9, 30)), Posting("w2", date(2026, 10, 1))),
    )
    first, last = date(2026, 8, 1), date(2026, 11, 24)
    assert rejudged_months(before, after, first, last) == ["2026-10", "2026-11"]
    assert rejudged_months(None, before, first, last) == [
        "2026-08",
        "2026-09",
        "2026-10",
        "2026-11",
    ]
    ended = StaffMember("S1", "a", end_date=date(2026, 11, 10), postings=(Posting("w1"),))
    assert rejudged_months(before, ended, first, last) == ["2026-11"]


# -- HR files ------------------------------------------------------------------------------
def _with_window_two(store) -> Management:
    manage = _hall(store)
    manage.add_department(WANG, Department("d1", "社保局"))
    manage.edit_window(WANG, "w2", name="窗口二")
    return manage


def test_a_file_with_bad_rows_is_refused_whole_with_every_reason(store, tmp_path) -> None:
    manage = _with_window_two(store)
    bad = {
        10: ["E00010", "", None, "d1", "w1", None, "2026-01-01", None],  # no name
        500: ["E00500", "王", None, "d1", "w9", None, "2026-01-01", None],  # unknown window
        1200: ["E01200", "李", None, "d1", "w1", None, "2026-05-01", "2026-04-01"],
        1999: ["E00003", "赵", None, "d1", "w1", None, "2026/13/01", None],  # dup id, bad date
    }
    path = staff_workbook(tmp_path / "hr.xlsx", 2000, bad)
    version = store.directory_version()
    with pytest.raises(ImportRefused) as refused:
        manage.import_staff(WANG, read_rows(path), "hr.xlsx")
    reasons = {p.row: p.reason for p in refused.value.rows}
    # Rows as the spreadsheet numbers them: the title is row 1, the header row 2.
    assert sorted(reasons) == [13, 503, 1203, 2002]
    assert "name (姓名) is empty" in reasons[13]
    assert "no window 'w9'" in reasons[503]
    assert "before the start date" in reasons[1203]
    assert "also on row 6" in reasons[2002] and "'2026/13/01' is not a date" in reasons[2002]
    assert "row 503: no window 'w9'" in str(refused.value)
    assert store.directory_version() == version
    assert len(store.directory().staff) == 3  # nothing half-imported


def test_import_dry_run_then_real_then_export_round_trip(store, tmp_path) -> None:
    manage = _with_window_two(store)
    path = staff_workbook(tmp_path / "hr.xlsx", 200)
    version = store.directory_version()
    dry = manage.import_staff(WANG, read_rows(path), "hr.xlsx", dry_run=True)
    assert (len(dry.added), len(dry.changed), dry.unchanged) == (200, 0, 0)
    assert store.directory_version() == version and len(store.directory().staff) == 3
    done = manage.import_staff(WANG, read_rows(path), "hr.xlsx")
    assert len(done.added) == 200 and done.version == version + 1
    directory = store.directory()
    assert directory.posting_on("E00001", DAY).id == "w1"
    assert directory.posting_on("E00002", DAY).id == "w2"  # found by its name 窗口二
    assert directory.member["E00002"].start_date == date(2026, 1, 3)
    assert sum(a.action == "staff_add" for a in store.actions()) == 200
    for suffix in ("xlsx", "csv"):
        out = tmp_path / f"export.{suffix}"
        write_rows(out, export_rows(store.directory(), DAY))
        again = manage.import_staff(WANG, read_rows(out), out.name, dry_run=True)
        assert (again.added, again.changed, again.unchanged) == ((), (), 203)


def test_an_english_csv_in_gb18030_moves_people_from_a_date(store, tmp_path) -> None:
    manage = _hall(store)
    path = tmp_path / "hr.csv"
    path.write_bytes(
        "Staff ID,Name,Name_EN,Window,Start_Date\nS1,张伟,Zhang Wei,w2,2026-01-05\n".encode(
            "gb18030"
        )
    )
    result = manage.import_staff(WANG, read_rows(path), "hr.csv", moves_from=date(2026, 11, 16))
    assert result.changed == ("S1",)
    member = store.directory().member["S1"]
    assert (member.name, member.name_en, member.start_date) == (
        "张伟",
        "Zhang Wei",
        date(2026, 1, 5),
    )
    assert member.postings[-1] == Posting("w2", date(2026, 11, 16))


def test_unknown_departments_are_refused_unless_asked_to_create_them(store) -> None:
    manage = _hall(store)
    rows = [FileRow(2, {"staff_id": "S7", "name": "钱", "department": "医保局"})]
    with pytest.raises(ImportRefused, match="row 2: no department '医保局'"):
        manage.import_staff(WANG, rows, "f.csv")
    result = manage.import_staff(WANG, rows, "f.csv", create_departments=True)
    assert result.departments_created == ("医保局",)
    assert store.directory().member["S7"].department == "医保局"


# -- devices -----------------------------------------------------------------------------------
def test_devices_list_joins_registrations_with_statuses(store) -> None:
    manage = _hall(store)
    manage.register_device(WANG, Device(SITE, "st-01", "station", "东门考勤机", "东门"))
    manage.register_device(WANG, Device(SITE, "ws-2", "agent", user="S2"))
    manage.edit_staff(WANG, "S2", name="李娜")
    health = schema.Health(backlog=3, clock_synced=False)
    status = schema.new_event(
        schema.Status, SITE, "st-01", at("09:00"), seq=1, state="online", role="station",
        health=health,
    )  # fmt: skip
    stray = schema.new_event(
        schema.Status, SITE, "st-09", at("09:00"), seq=1, state="online", role="station"
    )
    store.add_events([status, stray])
    rows = {r.device: r for r in manage.devices()}
    assert (rows["st-01"].state, rows["st-01"].backlog, rows["st-01"].clock) == (
        "online", 3, "not synchronised"
    )  # fmt: skip
    assert rows["ws-2"].state == "never seen" and rows["ws-2"].user == "李娜"
    assert rows["ws-1"].user == "S1"  # seeded from the policy's workstations
    assert rows["st-09"].state == "unregistered"
    assert (rows["st-01"].gallery_version, rows["ws-2"].gallery_version) == (None, None)
    # st-01 applied the gallery with two people; then one of them is erased centrally.
    face = NewTemplate("face", "m", bytes(512))
    store.add_templates(SITE, "S1", "张伟", [face], source="central", at=at("08:00"))
    applied = store.add_templates(SITE, "S2", "李娜", [face], source="central", at=at("08:00"))
    store.gallery_acked(SITE, "st-01", applied, None, at("08:01"))
    store.erase_person("S2")
    (row,) = [r for r in manage.devices() if r.device == "st-01"]
    assert (row.gallery_version, row.site_gallery_version, row.erasures_pending) == (2, 3, 1)
    with pytest.raises(Refused, match="already registered"):
        manage.register_device(WANG, Device(SITE, "st-01", "station"))
    manage.retire_device(WANG, SITE, "st-01", "replaced")
    assert {r.device: r.state for r in manage.devices()}["st-01"] == "retired"
    with pytest.raises(Refused, match="retired already"):
        manage.retire_device(WANG, SITE, "st-01", "again")


# -- the commands ------------------------------------------------------------------------------
def test_the_commands_list_in_chinese_and_refuse_a_bad_file(store_at, tmp_path) -> None:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text('[[windows]]\nid = "w1"\nsite = "hall-01"\nstaff = ["S1"]\n')
    where = ["--db", str(store_at()), "--policy", str(policy_file)]
    runner = CliRunner()
    added = runner.invoke(main, ["staff", "add", "S2", "--name", "李娜", "--window", "w1", *where])
    assert added.exit_code == 0, added.output
    listed = runner.invoke(main, ["staff", "list", *where])
    assert "工号" in listed.output and "李娜" in listed.output and "共 2 人" in listed.output
    english = runner.invoke(main, ["staff", "list", "--lang", "en", *where])
    assert "staff id" in english.output and "2 staff" in english.output
    bad = tmp_path / "bad.csv"
    bad.write_text("工号,姓名,窗口\nS3,王,w9\nS4,,w1\n", encoding="utf-8")
    refused = runner.invoke(main, ["staff", "import", str(bad), *where])
    assert refused.exit_code == 1
    assert "row 2: no window 'w9'" in refused.output and "row 3: the name" in refused.output
    good = tmp_path / "good.csv"
    good.write_text("工号,姓名,窗口\nS3,王,w1\n", encoding="utf-8")
    dry = runner.invoke(main, ["staff", "import", str(good), "--dry-run", *where])
    assert "would add 1" in dry.output and "nothing was written" in dry.output
    devices = runner.invoke(main, ["devices", "list", *where])
    assert devices.exit_code == 0 and "站点" in devices.output and "图库" in devices.output
