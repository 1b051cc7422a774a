"""Directory benchmark: importing a 2,000-row HR staff spreadsheet (XLSX) into the store.

Times, on SQLite and on PostgreSQL: reading the file with openpyxl alone (the reference),
reading and validating it (`hallwatch staff import --dry-run`), importing it for real (one
transaction: rows, postings, an audit row per person, the version), and importing it again
(nothing changes). Ratios are against the openpyxl read of the same file in the same run.

Run: .venv/bin/python bench/bench_directory.py [--rows N] [--server URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo: tests.support

from openpyxl import load_workbook

from rules.acting import Actor
from rules.backend import open_store
from rules.directory import Department, ServiceWindow
from rules.directory_store import DirectoryEdit
from rules.manage import Management
from rules.policy import Policy
from rules.staff_file import read_rows
from tests.support.postgres import SERVER, scratch_schema
from tests.support.staff_files import staff_workbook

ACTOR = Actor("bench", "cli")


def timed(work: Callable[[], object], repeat: int = 3) -> float:
    """The best of `repeat` runs, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def openpyxl_alone(path: Path) -> int:
    book = load_workbook(path, read_only=True, data_only=True)
    rows = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))
    book.close()
    return rows


def import_times(location: Path | str, path: Path) -> tuple[float, float, float]:
    """(dry run, real import, import again unchanged) in seconds, on one store."""
    store = open_store(location)
    try:
        store.save_directory(
            DirectoryEdit(
                departments=(Department("d1", "社保局"),),
                windows=(
                    ServiceWindow("w1", "hall-01", "窗口一"),
                    ServiceWindow("w2", "hall-01", "窗口二"),
                ),
            )
        )
        manage = Management(store, Policy(), now=lambda: datetime(2026, 11, 24, 9, tzinfo=UTC))

        def run(dry_run: bool) -> object:
            return manage.import_staff(ACTOR, read_rows(path), path.name, dry_run=dry_run)

        dry = timed(lambda: run(True))
        start = time.perf_counter()
        done = run(False)
        real = time.perf_counter() - start
        assert len(done.added) == len(read_rows(path)), done
        again = timed(lambda: run(False))
        return dry, real, again
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000, help="people in the spreadsheet")
    parser.add_argument("--server", default=SERVER, help="PostgreSQL server for a scratch schema")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = staff_workbook(Path(tmp) / "staff.xlsx", args.rows)
        size = path.stat().st_size
        reference = timed(lambda: openpyxl_alone(path))
        parse = timed(lambda: read_rows(path))
        results = {"SQLite": import_times(Path(tmp) / "rules.db", path)}
        with scratch_schema(args.server) as url:
            results["PostgreSQL"] = import_times(url, path)
    print(f"staff spreadsheet: {args.rows:,} rows (XLSX, {size:,} bytes)")
    print(f"openpyxl read alone (reference)  {reference:>7.3f} s  1.00 x")
    print(f"read + header + cells            {parse:>7.3f} s  {parse / reference:.2f} x")
    for backend, (dry, real, again) in results.items():
        print(f"{backend}:")
        print(f"  import --dry-run               {dry:>7.3f} s  {dry / reference:.2f} x")
        print(f"  import (one transaction)       {real:>7.3f} s  {real / reference:.2f} x")
        print(f"  import again (all unchanged)   {again:>7.3f} s  {again / reference:.2f} x")


if __name__ == "__main__":
    main()
