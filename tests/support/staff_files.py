"""Staff spreadsheets as an HR system exports them, for tests and benchmarks."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from openpyxl import Workbook

HEADER = ["工号", "姓名", "英文名", "部门", "窗口", "岗位", "入职日期", "离职日期"]


def staff_workbook(path: Path, count: int, bad: dict[int, list] | None = None) -> Path:
    """A title row, the header, then `count` people in department d1 at windows w1 and
    (by its name) 窗口二; `bad` replaces rows by their 0-based index."""
    book = Workbook()
    sheet = book.active
    sheet.append(["2026年11月 人员名单"])
    sheet.append(HEADER)
    for i in range(count):
        row = [
            f"E{i:05d}", f"员工{i}", f"Staff {i}", "d1", "w1" if i % 2 else "窗口二",
            "综合受理", datetime(2026, 1, 1) + timedelta(days=i % 300), None,
        ]  # fmt: skip
        sheet.append((bad or {}).get(i, row))
    book.save(path)
    return path
