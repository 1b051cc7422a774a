"""Edits of the directory, worked out without the store: a move between windows, what a
staff record must satisfy, which months an edit re-judges, and what an HR file changes.

Pure functions over `rules.directory` snapshots; the management API (`rules/manage.py`)
applies their results to the store in one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

from base.identifiers import STAFF_ID
from rules.directory import Department, Directory, Posting, ServiceWindow, StaffMember

DAY = timedelta(days=1)
NAME_CHARS = 200
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Conflict(Exception):
    """An edit that contradicts the record; the message says what and how to do it."""


def months_between(first: date, last: date) -> list[str]:
    """Every YYYY-MM from `first`'s month to `last`'s, both included."""
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


# -- one person's record ----------------------------------------------------------------
def moved(member: StaffMember, window: str, day: date) -> StaffMember:
    """`member` working at `window` from `day` on: the posting that covers the day before
    ends then, and a new open-ended one begins. Moving to the window they are at already
    changes nothing."""
    ordered = sorted(member.postings, key=lambda p: p.first_day or date.min)
    current = next((p for p in ordered if p.covers(day)), None)
    later = [p for p in ordered if p.first_day is not None and p.first_day >= day]
    if (current is not None and current.window == window) or (
        later and later[-1].window == window and later[-1].last_day is None
    ):
        return member  # there already, or going there
    if later:
        p = later[0]
        raise Conflict(
            f"{member.staff_id} is posted to {p.window} from {p.first_day}: a move must start "
            f"after their latest posting begins (give a date after {p.first_day})"
        )
    postings = [replace(p, last_day=day - DAY) if p is current else p for p in ordered]
    return replace(member, postings=(*postings, Posting(window, day, None)))


def problems(member: StaffMember, directory: Directory) -> list[str]:
    """What is wrong with a staff record against the directory (nothing: an empty list)."""
    found = []
    if not STAFF_ID.matches(member.staff_id):
        found.append(f"staff id {member.staff_id!r} is not valid: use {STAFF_ID.spelled}")
    found += [
        f"{what} {value!r} is too long or has control characters"
        for what, value in (("name", member.name), ("English name", member.name_en))
        if value and not plain(value)
    ]
    if not member.name.strip():
        found.append("the name is empty (give the name in Chinese)")
    if member.start_date and member.end_date and member.end_date < member.start_date:
        found.append(f"the end date {member.end_date} is before the start date {member.start_date}")
    if member.department and member.department not in directory.department:
        found.append(f"no department {member.department!r} in the directory")
    ordered = sorted(member.postings, key=lambda p: p.first_day or date.min)
    for posting in ordered:
        if posting.window not in directory.window:
            found.append(f"no window {posting.window!r} in the directory")
        if posting.first_day and posting.last_day and posting.last_day < posting.first_day:
            found.append(
                f"the posting at {posting.window} ends ({posting.last_day}) before it "
                f"starts ({posting.first_day})"
            )
    for before, after in pairwise(ordered):
        if before.last_day is None or (after.first_day or date.min) <= before.last_day:
            found.append(
                f"postings overlap: {before.window} until {before.last_day or 'open-ended'} "
                f"and {after.window} from {after.first_day or 'the start'}"
            )
    return found


def plain(text: str) -> bool:
    """Short enough and free of control characters: fit for a screen and a log line."""
    return len(text) <= NAME_CHARS and not CONTROLS.search(text)


# -- what an edit re-judges -----------------------------------------------------------------
def _segments(member: StaffMember | None) -> list[tuple[date, date, str]]:
    """The judged days of a person as (first, last, window) runs."""
    if member is None:
        return []
    runs = []
    for p in member.postings:
        first = max(d for d in (p.first_day, member.start_date, date.min) if d)
        last = min(d for d in (p.last_day, member.end_date, date.max) if d)
        if first <= last:
            runs.append((first, last, p.window))
    return runs


def _window_on(runs: list[tuple[date, date, str]], day: date) -> str | None:
    return next((w for first, last, w in runs if first <= day <= last), None)


def rejudged_months(
    before: StaffMember | None, after: StaffMember | None, first: date, last: date
) -> list[str]:
    """The months in [first, last] with a day on which the person is judged at another
    window (or judged, or not) after the edit than before it."""
    if first > last:
        return []
    old, new = _segments(before), _segments(after)
    cuts = {first, last + DAY}
    for a, b, _ in old + new:
        cuts.add(a)
        if b < date.max:
            cuts.add(b + DAY)
    points = sorted(c for c in cuts if first <= c <= last + DAY)
    months: set[str] = set()
    for start, end in pairwise(points):
        if _window_on(old, start) != _window_on(new, start):
            months.update(months_between(start, end - DAY))
    return sorted(months)


# -- an HR file ------------------------------------------------------------------------------
FIELDS = (
    "staff_id", "name", "name_en", "department", "window", "position", "start_date", "end_date",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FileRow:
    """One data row of a staff file: its number as the spreadsheet shows it, and its cells
    by field (only the columns the file has)."""

    row: int
    cells: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RowProblem:
    row: int
    reason: str


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """What a file changes: the records to write (added and changed), the departments it
    creates, and every row that is wrong (then nothing may be written)."""

    staff: tuple[StaffMember, ...]
    departments: tuple[Department, ...]
    added: tuple[str, ...]
    changed: tuple[str, ...]
    unchanged: tuple[str, ...]
    problems: tuple[RowProblem, ...]


DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")


def text_of(value: Any) -> str:
    """A cell as text: a whole number a spreadsheet stored as 1001.0 is "1001"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def date_of(value: Any) -> date | None:
    """A date cell: a spreadsheet date, or text in a form HR systems write."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = text_of(value)
    if not text:
        return None
    for form in DATE_FORMATS:
        try:
            return datetime.strptime(text, form).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (2026-11-24)")


def _find(value: str, by_id: Mapping[str, Any], names: Iterable[tuple[str, str]], what: str) -> str:
    """The id of a window or department given by its id or its (unique) name."""
    if value in by_id:
        return value
    ids = sorted(i for i, name in names if name == value)
    if len(ids) == 1:
        return ids[0]
    if ids:
        raise ValueError(f"{what} {value!r} names several ({', '.join(ids)}): give the id")
    raise ValueError(f"no {what} {value!r} in the directory")


def plan_import(
    directory: Directory,
    rows: Iterable[FileRow],
    moves_from: date,
    *,
    create_departments: bool = False,
) -> ImportPlan:
    """What importing `rows` would change. A person already in the directory whose window
    differs moves there from `moves_from`; empty cells clear optional fields, except the
    window (an empty window keeps the postings). People not in the file are not touched."""
    made: dict[str, Department] = {}
    seen: dict[str, int] = {}
    staff: list[StaffMember] = []
    added, changed, unchanged, wrong = [], [], [], []
    window_names = [(w.id, w.name) for w in directory.windows]
    for file_row in rows:
        cells = file_row.cells
        member, before, reasons = _row_member(directory, cells, made, create_departments)
        if member.staff_id in seen:
            reasons.append(f"staff id {member.staff_id} is also on row {seen[member.staff_id]}")
        seen.setdefault(member.staff_id, file_row.row)
        window = text_of(cells.get("window"))
        try:
            if window:
                window = _find(window, directory.window, window_names, "window")
                member = (
                    moved(member, window, moves_from)
                    if before and before.postings
                    else replace(member, postings=(Posting(window),))
                )
        except (ValueError, Conflict) as exc:
            reasons.append(str(exc))
        if not reasons:
            departments = (*directory.departments, *made.values())
            reasons = problems(member, replace(directory, departments=departments))
        if reasons:
            wrong.append(RowProblem(file_row.row, "; ".join(reasons)))
        elif before is None:
            added.append(member.staff_id)
            staff.append(member)
        elif before == member:
            unchanged.append(member.staff_id)
        else:
            changed.append(member.staff_id)
            staff.append(member)
    return ImportPlan(
        tuple(staff),
        tuple(made.values()),
        tuple(added),
        tuple(changed),
        tuple(unchanged),
        tuple(wrong),
    )


def _row_member(
    directory: Directory,
    cells: Mapping[str, Any],
    made: dict[str, Department],
    create_departments: bool,
) -> tuple[StaffMember, StaffMember | None, list[str]]:
    """The row's record before its window is applied, the record it replaces, and what is
    wrong with its cells."""
    reasons = []
    staff_id = text_of(cells.get("staff_id"))
    if not staff_id:
        reasons.append("the staff id (工号) is empty")
    before = directory.member.get(staff_id)
    values: dict[str, Any] = {}
    for name in ("name", "name_en", "position"):
        if name in cells:
            values[name] = text_of(cells[name]) or (None if name != "name" else "")
    if not (values.get("name") or (before and "name" not in cells)):
        reasons.append("the name (姓名) is empty")
    for name, what in (
        ("start_date", "start date (入职日期)"),
        ("end_date", "end date (离职日期)"),
    ):
        if name in cells:
            try:
                values[name] = date_of(cells[name])
            except ValueError as exc:
                reasons.append(f"the {what}: {exc}")
    if "department" in cells:
        try:
            values["department"] = _department(
                directory, text_of(cells["department"]), made, create_departments
            )
        except ValueError as exc:
            reasons.append(str(exc))
    return replace(before or StaffMember(staff_id, ""), **values), before, reasons


def _department(
    directory: Directory, value: str, made: dict[str, Department], create: bool
) -> str | None:
    if not value:
        return None
    names = [(d.id, d.name) for d in directory.departments]
    try:
        return _find(value, {**directory.department, **made}, names, "department")
    except ValueError:
        if not create or not plain(value):
            raise
    made[value] = Department(value, value)
    return value


def current_window(member: StaffMember, directory: Directory, day: date) -> ServiceWindow | None:
    """The window a person is at on `day`, else their latest posting's (what a list shows)."""
    posting = next((p for p in member.postings if p.covers(day)), None)
    if posting is not None:
        return directory.window.get(posting.window)
    return directory.home_window(member.staff_id)
