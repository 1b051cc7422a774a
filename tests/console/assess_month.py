"""A judged month for the manager's pages (and their bench): two halls, named people in
named windows of named departments, October 2026 judged whole.

hall-01: 张伟 S1 and 李娜 S2 at 综合受理窗口 W01 (综合科), 王芳 S3 at 不动产登记窗口 W02
(不动产科); hall-02: 赵强 S4 at W11. Blameless days but: 张伟 late on the 13th (minor),
李娜 absent the afternoon of the 20th (serious: vetoes her month), 赵强 absent the afternoon
of the 21st.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import msgspec

from mqtt.schema import Action
from rules.directory import Department, Directory, Posting, ServiceWindow, StaffMember
from rules.engine import month_days
from rules.policy import Policy, load_policy
from rules.recompute import recompute_month
from tests.rules_helpers import TZ, clock, full_day

MONTH = "2026-10"
LATE_DAY, ABSENT_DAY, HALL_B_ABSENT_DAY = date(2026, 10, 13), date(2026, 10, 20), date(2026, 10, 21)
POLICY_TOML = """
[sites.hall-01]
timezone = "Asia/Shanghai"
go_live = "2026-10-01"

[sites.hall-02]
timezone = "Asia/Shanghai"
go_live = "2026-10-01"
"""
DIRECTORY = Directory(
    windows=(
        ServiceWindow("W01", "hall-01", "综合受理窗口", "D1"),
        ServiceWindow("W02", "hall-01", "不动产登记窗口", "D2"),
        ServiceWindow("W11", "hall-02", "社保窗口", "D1"),
    ),
    staff=(
        StaffMember("S1", "张伟", "Zhang Wei", department="D1", postings=(Posting("W01"),)),
        StaffMember("S2", "李娜", "Li Na", department="D1", postings=(Posting("W01"),)),
        StaffMember("S3", "王芳", "Wang Fang", department="D2", postings=(Posting("W02"),)),
        StaffMember("S4", "赵强", "Zhao Qiang", department="D1", postings=(Posting("W11"),)),
    ),
    departments=(Department("D1", "综合科"), Department("D2", "不动产科")),
    sites=("hall-01", "hall-02"),
)
HOME = {"S1": ("hall-01", "st-01"), "S2": ("hall-01", "st-01"), "S3": ("hall-01", "st-01")}
HOME["S4"] = ("hall-02", "st-02")


def write_policy(folder: Path) -> Path:
    path = folder / "policy.toml"
    path.write_text(POLICY_TOML, encoding="utf-8")
    return path


def month_events(staff: dict[str, tuple[str, str]], month: str = MONTH) -> list:
    """Blameless workdays for `staff` (id -> (site, station)), but for the three above."""
    policy = Policy.model_validate({})
    events = []
    for day in month_days(month):
        if not policy.sessions(day):
            continue
        for person, (site, device) in staff.items():
            punches = full_day(person, day)
            if (person, day) in {("S2", ABSENT_DAY), ("S4", HALL_B_ABSENT_DAY)}:
                punches = punches[:2]  # the morning only
            if (person, day) == ("S1", LATE_DAY):
                punches[0] = clock("09:20", Action.CLOCK_IN, person, day)
            events += [msgspec.structs.replace(e, site=site, device=device) for e in punches]
    return events


def judged_month(store, policy_file: Path, directory: Directory = DIRECTORY, staff=HOME) -> None:
    """`directory` in the store, `staff`'s month of events, the month judged whole."""
    policy = load_policy(policy_file)
    store.seed_directory(directory)
    store.add_events(month_events(staff))
    recompute_month(store, policy, directory, MONTH, datetime(2026, 11, 2, tzinfo=TZ))


# -- a console on such a store -------------------------------------------------------------
Account = tuple[str, str, tuple[str, ...], str]  # user, role, halls, display name
MANAGER: Account = ("wang", "manager", ("hall-01",), "王经理")


def hall_console(
    store_at,
    tmp_path: Path,
    prepare: Callable[[Any, Path], object],
    accounts: Iterable[Account] = (MANAGER,),
    **settings: Any,
) -> Iterator[Any]:
    """A console (tests/support/browser.py) on a fresh store that `prepare(store, policy
    file)` filled, with `accounts`; the server knows its `policy_file`."""
    from rules.backend import open_store
    from tests.support.browser import console_config, free_port, serve

    store = open_store(store_at())
    policy_file = write_policy(tmp_path)
    prepare(store, policy_file)
    config = console_config(tmp_path, store_at(), free_port(), policy=policy_file, **settings)
    try:
        for server in serve(config, store):
            for user, role, halls, name in accounts:
                server.add_user(user, role, halls, display_name=name)
            server.policy_file = policy_file
            yield server
    finally:
        store.close()


def violation_of(server, staff: str, rule: str):
    """The one violation of `rule` of `staff` in the month."""
    [found] = [v for v in server.store.violations(month=MONTH, staff=staff) if v.rule == rule]
    return found
