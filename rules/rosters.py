"""Duty rosters (领导带班, 总服务台值班): who is on duty at a site on a date, as an input of
the engine.

A roster entry names a site, a local date, a duty (`DUTIES`), the person and, optionally,
the sessions of the day it covers (indices into the day's timetable; None: all of them).
The engine reads a person's entries of the month beside their events: the person on duty
must be present (clocked in, neither out nor gone out) during each duty session; a session
they were missing from longer than `grace.duty_absent_min` is one `duty_absent` violation
(rules/engine.py `PersonDay.duty`). Files of entries (XLSX or CSV, like the staff files:
rules/staff_file.py) are read here into entries, every wrong row named by its number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, get_args

from rules.directory import Directory
from rules.directory_edits import FileRow, RowProblem
from rules.words import DUTY_WORDS, Language, duty_word, say

Duty = Literal["leader", "front_desk"]
DUTIES: tuple[str, ...] = get_args(Duty)
DUTY_ABSENT = "duty_absent"

# The column headings of a roster file (compared like the staff file's).
ROSTER_HEADINGS: dict[str, tuple[str, ...]] = {
    "date": ("日期", "值班日期", "date", "day"),
    "duty": ("值班类型", "值班", "类型", "duty", "duty_kind"),
    "staff_id": ("工号", "员工编号", "人员编号", "staff_id", "staffid", "id"),
    "sessions": ("时段", "班次", "sessions", "session"),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class DutyAssignment:
    """One person on one duty at a site on a date."""

    site: str
    day: date
    duty: str  # one of DUTIES
    staff_id: str
    sessions: tuple[int, ...] | None = None  # indices of the day's sessions; None: all
    by: str = ""  # who entered it ("wang via cli")

    def session_indices(self, count: int) -> list[int]:
        """The duty's sessions of a day with `count` sessions."""
        if self.sessions is None:
            return list(range(count))
        return [i for i in self.sessions if i < count]

    @property
    def key(self) -> tuple[str, date, str, str]:
        return (self.site, self.day, self.duty, self.staff_id)


def on_duty(rosters: Iterable[DutyAssignment], staff: str, day: date) -> list[DutyAssignment]:
    """The duties `staff` holds on `day`, in a stable order."""
    return sorted(
        (r for r in rosters if r.staff_id == staff and r.day == day), key=lambda r: r.duty
    )


def duty_of(text: Any) -> str | None:
    """A duty's code from its code or its Chinese or English word (None: not a duty)."""
    value = str(text or "").strip()
    if value in DUTIES:
        return value
    for code, words in DUTY_WORDS.items():
        if value in words.values() or value.lower() == words["en"].lower():
            return code
    return None


def sessions_of(text: Any) -> tuple[int, ...] | None:
    """Session numbers as people write them ("1", "1,2", "1、2"; counted from 1) as indices;
    None for an empty cell (all sessions). ValueError for anything else."""
    value = str(text if text is not None else "").strip()
    if not value:
        return None
    parts = [p for p in value.replace("、", ",").replace("，", ",").split(",") if p.strip()]
    numbers = sorted({int(float(p)) for p in parts})
    if not numbers or numbers[0] < 1:
        raise ValueError(value)
    return tuple(n - 1 for n in numbers)


def day_of(cell: Any) -> date:
    """A date cell as a spreadsheet gives it (a date, a date-time, or text)."""
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    return date.fromisoformat(str(cell or "").strip().replace("/", "-"))


def read_roster_rows(
    rows: Iterable[FileRow],
    site: str,
    directory: Directory,
    by: str,
    session_count: Callable[[date], int],
    language: Language = "zh",
) -> tuple[list[DutyAssignment], list[RowProblem]]:
    """A roster file's rows as entries of `site`, and every wrong row with its reason in
    `language` (`session_count`: how many sessions a day has)."""
    entries: list[DutyAssignment] = []
    wrong: list[RowProblem] = []
    seen: dict[tuple[str, date, str, str], int] = {}
    for row in rows:
        cells = row.cells
        try:
            day = day_of(cells.get("date"))
        except ValueError:
            date_cell = cells.get("date")
            wrong.append(
                RowProblem(row.row, say(language, f"日期 {date_cell!r} 不是日期",
                                        f"date {date_cell!r} is not a date"))
            )  # fmt: skip
            continue
        duty = duty_of(cells.get("duty"))
        if duty is None:
            duties = "、".join(duty_word(d, language) for d in DUTIES)
            wrong.append(
                RowProblem(row.row, say(language, f"值班类型 {cells.get('duty')!r} 应为{duties}",
                                        f"duty {cells.get('duty')!r} is not one of {duties}"))
            )  # fmt: skip
            continue
        staff = str(cells.get("staff_id") or "").strip()
        problem = staff_problem(directory, staff, day, language)
        if problem:
            wrong.append(RowProblem(row.row, problem))
            continue
        try:
            sessions = sessions_of(cells.get("sessions"))
        except ValueError:
            cell = cells.get("sessions")
            wrong.append(
                RowProblem(row.row, say(language, f"时段 {cell!r} 应写作 1,2 这样的序号",
                                        f"sessions {cell!r}: write them as 1,2"))
            )  # fmt: skip
            continue
        entry = DutyAssignment(site, day, duty, staff, sessions, by)
        problem = session_problem(entry, session_count(day), language)
        if problem:
            wrong.append(RowProblem(row.row, problem))
            continue
        if entry.key in seen:
            first = seen[entry.key]
            wrong.append(
                RowProblem(row.row, say(language, f"与第 {first} 行的值班相同",
                                        f"the same duty as row {first}"))
            )  # fmt: skip
            continue
        seen[entry.key] = row.row
        entries.append(entry)
    return entries, wrong


def session_problem(entry: DutyAssignment, count: int, language: Language = "zh") -> str | None:
    """Why `entry` does not fit a day of `count` sessions (None: it does)."""
    day = entry.day.isoformat()
    if count == 0:
        return say(language, f"{day} 不是工作日（没有时段）",
                   f"{day} is not a working day: it has no sessions")  # fmt: skip
    if entry.sessions and max(entry.sessions) >= count:
        last = max(entry.sessions) + 1
        return say(language, f"{day} 只有 {count} 个时段，没有第 {last} 时段",
                   f"{day} has {count} sessions; there is no session {last}")  # fmt: skip
    return None


def staff_problem(
    directory: Directory, staff: str, day: date, language: Language = "zh"
) -> str | None:
    """Why `staff` cannot be on duty on `day` (None: they can)."""
    member = directory.member.get(staff)
    if not staff:
        return say(language, "工号为空", "the staff id is empty")
    if member is None or not member.active:
        return say(language, f"人员名册中没有工号 {staff}", f"{staff} is not in the directory")
    if not member.employed(day):
        name = directory.name(staff, language)
        return say(language, f"{name} 在 {day.isoformat()} 不在职",
                   f"{name} is not employed on {day.isoformat()}")  # fmt: skip
    return None


def sessions_text(sessions: Sequence[int] | None) -> str:
    """Session indices as people number them ("1,2"); "" for all sessions."""
    return "" if sessions is None else ",".join(str(i + 1) for i in sessions)
