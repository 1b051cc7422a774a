"""Two judged months for the annual review and the lists (tests/test_annual_store.py, the
console's): October 2026 as tests/console/assess_month.py judges it (张伟 late once, 李娜's
absence vetoes her month), a blameless November, and 孙丽 S5, who joined 不动产登记窗口 W02 on
1 November."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from pathlib import Path

from rules.directory import Posting, StaffMember
from rules.policy import load_policy
from rules.recompute import recompute_month
from tests.console.assess_month import DIRECTORY, HOME, MONTH, month_events
from tests.rules_helpers import TZ

NOVEMBER = "2026-11"
JOINER = StaffMember(
    "S5", "孙丽", "Sun Li", department="D2", postings=(Posting("W02", date(2026, 11, 1)),)
)
AUTUMN = dataclasses.replace(DIRECTORY, staff=(*DIRECTORY.staff, JOINER))
AFTER = datetime(2026, 12, 2, 9, tzinfo=TZ)  # both months have ended


def judged_autumn(store, policy_file: Path) -> None:
    """The directory in the store, October's and November's events, both judged whole."""
    policy = load_policy(policy_file)
    store.seed_directory(AUTUMN)
    store.add_events(month_events(HOME) + month_events(HOME | {"S5": HOME["S3"]}, NOVEMBER))
    for month in (MONTH, NOVEMBER):
        recompute_month(store, policy, AUTUMN, month, AFTER)
