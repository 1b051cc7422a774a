"""The directory snapshot: who works at which window on which day."""

from __future__ import annotations

from datetime import date

from rules.directory import Device, Directory, Posting, ServiceWindow, StaffMember
from rules.policy import Policy


def _moved_mid_month() -> Directory:
    return Directory(
        windows=(
            ServiceWindow("W01", "hall", "社保窗口"),
            ServiceWindow("W02", "hall", "医保窗口"),
        ),
        staff=(
            StaffMember(
                "S001",
                "张伟",
                name_en="Zhang Wei",
                end_date=date(2026, 11, 30),
                postings=(
                    Posting("W01", None, date(2026, 11, 15)),
                    Posting("W02", date(2026, 11, 16), None),
                ),
            ),
            StaffMember("S002", "李娜"),
        ),
        devices=(Device("hall", "ws-1", "agent", user="S001"),),
    )


def test_a_person_who_moves_is_at_each_window_for_their_days_there() -> None:
    directory = _moved_mid_month()
    assert directory.posting_on("S001", date(2026, 11, 15)).id == "W01"
    assert directory.posting_on("S001", date(2026, 11, 16)).id == "W02"
    assert directory.posting_on("S001", date(2026, 12, 1)) is None  # after the end date
    assert directory.home_window("S001").id == "W02"
    assert [w.id for w in directory.windows_of("S001")] == ["W01", "W02"]


def test_only_posted_people_are_judged_and_names_fall_back_to_ids() -> None:
    directory = _moved_mid_month()
    assert directory.judged_staff == ["S001"]
    assert directory.name("S001") == "张伟"
    assert directory.name("S001", "en") == "Zhang Wei"
    assert directory.name("S999") == "S999"
    assert directory.staff_of_workstation == {("hall", "ws-1"): "S001"}


def test_a_policy_windows_list_is_read_as_seed_data() -> None:
    policy = Policy.model_validate(
        {
            "windows": [
                {
                    "id": "w01",
                    "site": "hall",
                    "staff": ["S001", "S002"],
                    "workstations": {"ws-1": "S002"},
                    "employment": {"S001": {"first_day": "2026-11-10"}},
                }
            ]
        }
    )
    directory = Directory.from_policy(policy)
    assert directory.judged_staff == ["S001", "S002"]
    assert directory.posting_on("S001", date(2026, 11, 9)) is None
    assert directory.posting_on("S001", date(2026, 11, 10)).id == "w01"
    assert directory.staff_of_workstation == {("hall", "ws-1"): "S002"}
    assert directory.sites == ("hall",)
