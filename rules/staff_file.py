"""Staff files as HR systems export them: XLSX or CSV, one person a row, a header row in
Chinese or English. Reading finds the header (title rows above it are skipped) and keeps
each row's number as the spreadsheet shows it; writing produces the same format, so an
export imports back unchanged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path, PurePath
from typing import Any, BinaryIO

from base.errors import HallwatchError
from rules.directory import Directory
from rules.directory_edits import FIELDS, FileRow, current_window
from rules.render import inert

# The column headings each field is known by (compared without spaces, case-insensitively).
HEADINGS: dict[str, tuple[str, ...]] = {
    "staff_id": ("工号", "员工编号", "职工号", "人员编号", "编号", "staff_id", "staffid", "id",
                 "employee_id", "employeeid", "employee_no"),
    "name": ("姓名", "中文名", "name", "chinese_name"),
    "name_en": ("英文名", "拼音", "英文姓名", "name_en", "english_name", "pinyin"),
    "department": ("部门", "所属部门", "单位", "department", "dept"),
    "window": ("窗口", "窗口号", "服务窗口", "window", "window_id"),
    "position": ("岗位", "职位", "职务", "position", "title", "job_title"),
    "start_date": ("入职日期", "入职时间", "到岗日期", "start_date", "start", "hire_date",
                   "date_joined"),
    "end_date": ("离职日期", "离职时间", "end_date", "end", "leave_date", "termination_date"),
}  # fmt: skip
HEADERS = {
    "zh": ("工号", "姓名", "英文名", "部门", "窗口", "岗位", "入职日期", "离职日期"),
    "en": FIELDS,
}
HEADER_SEARCH_ROWS = 10  # title rows an export may put above the header


class StaffFileError(HallwatchError):
    """A staff file that cannot be read as one (no header row, unknown format)."""


def _key(heading: Any) -> str:
    return str(heading or "").strip().lower().replace(" ", "").replace("-", "_")


def read_rows(path: Path, headings: Mapping[str, Sequence[str]] = HEADINGS) -> list[FileRow]:
    """The data rows of an XLSX or CSV file (empty rows skipped): a staff file, or another
    file of rows about staff (a duty roster) whose columns `headings` names."""
    return _read(str(path), path, headings)


def read_upload(
    name: str, data: bytes, headings: Mapping[str, Sequence[str]] = HEADINGS
) -> list[FileRow]:
    """The data rows of an uploaded file's bytes, like `read_rows`; `name`, the file name it
    came with, says its format (by its suffix) and names it in messages."""
    return _read(name, io.BytesIO(data), headings)


def _read(
    name: str, source: Path | BinaryIO, headings: Mapping[str, Sequence[str]]
) -> list[FileRow]:
    suffix = PurePath(name).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        grid = _xlsx_rows(name, source)
    elif suffix in (".csv", ".txt"):
        grid = _csv_rows(name, source)
    else:
        raise StaffFileError(f"{name}: give an .xlsx or .csv file (not {suffix or 'no suffix'})")
    return _with_header(name, grid, headings)


def _with_header(
    name: str, grid: Iterator[Sequence[Any]], headings: Mapping[str, Sequence[str]]
) -> list[FileRow]:
    field_of = {_key(h): name for name, names in headings.items() for h in names}
    columns: dict[int, str] | None = None
    rows = []
    for number, cells in enumerate(grid, start=1):
        if columns is None:
            columns = _header(cells, field_of)
            if columns is None and number >= HEADER_SEARCH_ROWS:
                break
            continue
        if not any(str(c).strip() for c in cells if c is not None):
            continue
        rows.append(
            FileRow(
                number,
                {field: cells[i] if i < len(cells) else None for i, field in columns.items()},
            )
        )
    if columns is None:
        known = " / ".join(f"{h[0]}/{name}" for name, h in headings.items())
        raise StaffFileError(
            f"{name}: no header row in its first {HEADER_SEARCH_ROWS} rows; name the columns "
            f"(at least 工号 and one more): {known}"
        )
    return rows


def _header(cells: Sequence[Any], field_of: Mapping[str, str]) -> dict[int, str] | None:
    """Column index -> field, if these cells are the header row (they name the staff id)."""
    found = {i: field_of[_key(c)] for i, c in enumerate(cells) if _key(c) in field_of}
    return found if "staff_id" in found.values() and len(found) >= 2 else None


def _xlsx_rows(name: str, source: Path | BinaryIO) -> Iterator[Sequence[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise StaffFileError(f"{name}: not a readable XLSX workbook ({exc})") from None
    try:
        yield from book.worksheets[0].iter_rows(values_only=True)
    finally:
        book.close()


def _csv_rows(name: str, source: Path | BinaryIO) -> Iterator[Sequence[Any]]:
    data = source.read_bytes() if isinstance(source, Path) else source.read()
    # HR systems in China often write GB18030 (GBK); Excel's "CSV UTF-8" starts with a BOM.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise StaffFileError(f"{name}: neither UTF-8 nor GB18030 text")
    yield from csv.reader(io.StringIO(text, newline=""))


# -- export ---------------------------------------------------------------------------------
def export_rows(directory: Directory, today: date, *, include_inactive: bool = False) -> list[list]:
    """One row per person in the import format (their window today, else their latest)."""
    rows = []
    for m in directory.staff:
        if not (m.active or include_inactive):
            continue
        window = current_window(m, directory, today)
        rows.append(
            [
                m.staff_id,
                m.name,
                m.name_en,
                m.department,
                window.id if window else None,
                m.position,
                m.start_date,
                m.end_date,
            ]
        )
    return rows


def write_rows(path: Path, rows: list[list], language: str = "zh") -> None:
    """Write an XLSX or CSV staff file (by `path`'s suffix); CSV is UTF-8 with a BOM, as
    Excel opens it."""
    header = list(HEADERS[language])
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("staff")
        sheet.append(header)
        for row in rows:  # dates as date cells
            sheet.append([inert(c) for c in row])
        book.save(path)
    elif path.suffix.lower() == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(header)
            writer.writerows(
                [inert(c.isoformat() if isinstance(c, date) else c) for c in row] for row in rows
            )
    else:
        raise StaffFileError(f"{path}: give a file name ending in .xlsx or .csv")
