"""Console benchmark: the server's time to render the manager's pages.

Times, on SQLite: the monthly assessment page (/assessment) of a hall of N staff (target
< 1 s for 2,000) and the daily inspection page (/inspection) of a 200-staff hall, each
through the whole application (routing, session, the management API, templates) and,
as the reference in the same run, the management API's query alone
(`Management.monthly_sheet`, `Management.inspection`). A month of blameless days with a
late arrival for one in 50 and an absent afternoon for one in 200.

Run: .venv/bin/python bench/bench_console_pages.py [--full] [--staff N]
     (default 300 staff in the assessed hall; --full: 2,000)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo: tests.*

import msgspec
from starlette.testclient import TestClient

from hallwatch.console.app import create_app
from hallwatch.console.web import SESSION_COOKIE
from mqtt.schema import Action
from rules.acting import Actor
from rules.backend import open_store
from rules.directory import Directory, Posting, ServiceWindow, StaffMember
from rules.engine import month_days
from rules.manage import Management
from rules.policy import Policy, load_policy
from rules.recompute import recompute_month
from tests.console.assess_month import POLICY_TOML
from tests.rules_helpers import TZ, clock, full_day
from tests.support.browser import console_config

MONTH = "2026-10"
DAY = date(2026, 10, 13)
INSPECTED = 200  # staff of the inspected hall (hall-02)
PER_WINDOW = 10


def timed(work: Callable[[], object], repeat: int = 3) -> float:
    """The best of `repeat` runs, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def hall(site: str, staff: int, prefix: str) -> tuple[list[ServiceWindow], list[StaffMember]]:
    windows = [
        ServiceWindow(f"{prefix}W{i:03d}", site, f"{site} 第{i + 1}窗口")
        for i in range((staff + PER_WINDOW - 1) // PER_WINDOW)
    ]
    people = [
        StaffMember(
            f"{prefix}{n:04d}",
            f"员工{prefix}{n:04d}",
            postings=(Posting(windows[n // PER_WINDOW].id),),
        )
        for n in range(staff)
    ]
    return windows, people


def build(store, staff: int) -> Directory:
    """hall-01 of `staff` people and hall-02 of 200, their month judged."""
    w1, s1 = hall("hall-01", staff, "A")
    w2, s2 = hall("hall-02", INSPECTED, "B")
    directory = Directory(windows=(*w1, *w2), staff=(*s1, *s2), sites=("hall-01", "hall-02"))
    store.seed_directory(directory)
    workdays = [d for d in month_days(MONTH) if Policy().sessions(d)]
    site_of = {w.id: w.site for w in directory.windows}
    for n, member in enumerate(directory.staff):
        site = site_of[member.postings[0].window]
        events = []
        for k, day in enumerate(workdays):
            punches = full_day(member.staff_id, day)
            if n % 50 == 7 and k == 8:
                punches[0] = clock("09:20", Action.CLOCK_IN, member.staff_id, day)
            if n % 200 == 11 and k == 12:
                punches = punches[:2]
            events += [msgspec.structs.replace(e, site=site) for e in punches]
        store.add_events(events)
    policy = Policy.model_validate(
        {
            "sites": {
                s: {"timezone": "Asia/Shanghai", "go_live": "2026-10-01"}
                for s in ("hall-01", "hall-02")
            }
        }
    )
    recompute_month(store, policy, directory, MONTH, datetime(2026, 11, 2, tzinfo=TZ))
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="2,000 staff in the assessed hall")
    parser.add_argument("--staff", type=int, help="staff in the assessed hall (default 300)")
    args = parser.parse_args()
    staff = args.staff or (2000 if args.full else 300)
    with tempfile.TemporaryDirectory(prefix="bench-console-") as work:
        folder = Path(work)
        policy_file = folder / "policy.toml"
        policy_file.write_text(POLICY_TOML, encoding="utf-8")
        store = open_store(folder / "rules.db")
        start = time.perf_counter()
        build(store, staff)
        print(
            f"built: {staff} + {INSPECTED} staff, {MONTH} judged in {time.perf_counter() - start:.1f} s"
        )
        config = console_config(
            folder, folder / "rules.db", 8080, policy=policy_file
        )  # never bound
        app = create_app(config, store=store)
        console = app.state.console
        console.accounts.add(
            Actor("bench", "cli"), "boss", "correct horse battery", "manager", ("*",)
        )
        _, token = console.accounts.sign_in("boss", "correct horse battery", None)
        manage = Management(store, load_policy(policy_file))
        with TestClient(app, cookies={SESSION_COOKIE: console.sign(token)}) as client:

            def page(path: str) -> Callable[[], object]:
                def get() -> object:
                    answer = client.get(path)
                    assert answer.status_code == 200, (path, answer.status_code)
                    return answer

                return get

            rows = [
                (
                    f"assessment page, {staff} staff",
                    page(f"/assessment?site=hall-01&month={MONTH}"),
                    lambda: manage.monthly_sheet(MONTH),
                    "Management.monthly_sheet",
                ),
                (
                    f"inspection page, {INSPECTED} staff",
                    page(f"/inspection?site=hall-02&date={DAY}"),
                    lambda: manage.inspection(DAY, site="hall-02"),
                    "Management.inspection",
                ),
            ]
            for name, whole, reference, reference_name in rows:
                page_s, ref_s = timed(whole), timed(reference)
                print(
                    f"{name:<32} {page_s * 1000:8.1f} ms   "
                    f"({reference_name} alone {ref_s * 1000:.1f} ms, page/reference {page_s / ref_s:.2f})"
                )
        store.close()


if __name__ == "__main__":
    main()
