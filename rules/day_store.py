"""Person-day judgements and person-day marks in the rules store (`SqlStore` mixes it in;
SQLite and PostgreSQL share the SQL).

A person-month is recomputed by re-judging only the days a change touched and numbering
the month again from every day's kept judgement (rules/recompute.py): `day_results` keeps
each judged day's findings before numbering, with the site it was judged at and the span of
"now"s it holds for; `day_months` the basis the month's days were judged on (policy and
attribution; another basis re-judges every day). `pending_days` are the person-days with
changes not judged yet, counted like the whole-month marks of `pending` (a recomputation
clears only the marks it saw, in the transaction that writes its results).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from rules.engine import DayJudgement, Finding, month_days
from rules.manager_actions import ManagerAction
from rules.stamps import stamp

PersonDayKey = tuple[str, date]  # (staff id, the local day)
# The manager actions the engine reads (leave and violation marks); the rest are audit rows.
JUDGING_ACTIONS = ("leave_add", "leave_cancel", "correct", "void")


def day_tables(text: str) -> list[str]:
    """The tables, in a backend's types; days are ISO dates (text order is date order)."""
    return [
        f"""CREATE TABLE IF NOT EXISTS day_results ("staff_id" {text} NOT NULL,
            "day" {text} NOT NULL, "site" {text} NOT NULL, "since" {text}, "until" {text},
            "findings" {text} NOT NULL, PRIMARY KEY ("staff_id", "day"))""",
        f"""CREATE TABLE IF NOT EXISTS day_months ("staff_id" {text} NOT NULL,
            "month" {text} NOT NULL, "basis" {text} NOT NULL, PRIMARY KEY ("staff_id", "month"))""",
        f"""CREATE TABLE IF NOT EXISTS pending_days ("staff_id" {text} NOT NULL,
            "day" {text} NOT NULL, "month" {text} NOT NULL, "n" INTEGER NOT NULL,
            PRIMARY KEY ("staff_id", "day"))""",
        'CREATE INDEX IF NOT EXISTS idx_pending_days_month ON pending_days ("month", "staff_id")',
        'CREATE INDEX IF NOT EXISTS idx_day_results_until ON day_results ("until")',
    ]


@dataclass(frozen=True, slots=True)
class Marks:
    """A person-month's pending marks as a recomputation saw them: the whole month's count
    (None: not marked as a whole) and each marked day's. True if any."""

    month: int | None = None
    days: Mapping[date, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.month is not None or bool(self.days)


NO_MARKS = Marks()


def _findings_text(judgement: DayJudgement) -> str:
    return json.dumps(
        [[f.rule, f.slot, f.at.isoformat(), list(f.evidence), f.detail] for f in judgement.findings]
    )


def _findings_of(staff: str, day: date, text: str) -> tuple[Finding, ...]:
    return tuple(
        Finding(staff, day, rule, slot, datetime.fromisoformat(at), tuple(evidence), detail)
        for rule, slot, at, evidence, detail in json.loads(text)
    )


def _month_bounds(month: str) -> tuple[str, str]:
    days = month_days(month)
    return days[0].isoformat(), days[-1].isoformat()


class DayQueries:
    """The person-day queries over `SqlStore`'s connection and transactions."""

    def _execute(self, text: str, params: Sequence[Any] = ()) -> Any: ...  # SqlStore's
    def _execute_many(self, text: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def _rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple]: ...
    def _transaction(self) -> AbstractContextManager[None]: ...
    def _actions(self, where: str, params: Sequence[Any]) -> list[ManagerAction]: ...

    # -- marks -----------------------------------------------------------------------------
    def _mark_days(self, marks: Iterable[PersonDayKey]) -> None:
        self._execute_many(
            'INSERT INTO pending_days ("staff_id", "day", "month", "n") VALUES (?, ?, ?, 1) '
            'ON CONFLICT ("staff_id", "day") DO UPDATE SET "n" = pending_days."n" + 1',
            [[staff, day.isoformat(), day.strftime("%Y-%m")] for staff, day in sorted(set(marks))],
        )

    def _marks(self, staff: str, month: str) -> Marks:
        whole = self._rows(
            'SELECT "n" FROM pending WHERE "staff_id" = ? AND "month" = ?', [staff, month]
        )
        days = self._rows(
            'SELECT "day", "n" FROM pending_days WHERE "month" = ? AND "staff_id" = ?',
            [month, staff],
        )
        return Marks(whole[0][0] if whole else None, {date.fromisoformat(d): n for d, n in days})

    def _clear_marks(self, staff: str, month: str, marks: Marks) -> None:
        """Delete the marks seen, unless marked again since (their count then grew)."""
        if marks.month is not None:
            self._execute(
                'DELETE FROM pending WHERE "staff_id" = ? AND "month" = ? AND "n" = ?',
                [staff, month, marks.month],
            )
        self._execute_many(
            'DELETE FROM pending_days WHERE "staff_id" = ? AND "day" = ? AND "n" = ?',
            [[staff, day.isoformat(), n] for day, n in sorted(marks.days.items())],
        )

    # -- judged days -------------------------------------------------------------------
    def day_judgements(self, staff: str, month: str) -> tuple[str | None, dict[date, DayJudgement]]:
        """The basis a person-month's days were judged on (None: never judged day by day)
        and each judged day's judgement."""
        basis = self._rows(
            'SELECT "basis" FROM day_months WHERE "staff_id" = ? AND "month" = ?', [staff, month]
        )
        rows = self._rows(
            'SELECT "day", "site", "since", "until", "findings" FROM day_results '
            'WHERE "staff_id" = ? AND "day" >= ? AND "day" <= ?',
            [staff, *_month_bounds(month)],
        )
        judged = {}
        for text, site, since, until, findings in rows:
            day = date.fromisoformat(text)
            judged[day] = DayJudgement(
                site,
                _findings_of(staff, day, findings),
                datetime.fromisoformat(since) if since else None,  # a stamp, read fast
                datetime.fromisoformat(until) if until else None,
            )
        return (basis[0][0] if basis else None), judged

    def keep_days(
        self,
        staff: str,
        month: str,
        basis: str,
        judged: Mapping[date, DayJudgement],
        gone: Iterable[date] = (),
        *,
        whole: bool = False,
    ) -> None:
        """Keep the judgement of the days judged and the month's basis, and forget the
        days `gone` (no longer judged); `whole`: `judged` is every judged day of the month."""
        with self._transaction():
            if whole:
                self._execute(
                    'DELETE FROM day_results WHERE "staff_id" = ? AND "day" >= ? AND "day" <= ?',
                    [staff, *_month_bounds(month)],
                )
            self._execute_many(
                'DELETE FROM day_results WHERE "staff_id" = ? AND "day" = ?',
                [[staff, day.isoformat()] for day in sorted(set(gone))],
            )
            self._execute_many(
                'INSERT INTO day_results ("staff_id", "day", "site", "since", "until", '
                '"findings") VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT ("staff_id", "day") DO UPDATE '
                'SET "site" = excluded."site", "since" = excluded."since", '
                '"until" = excluded."until", "findings" = excluded."findings"',
                [
                    [
                        staff,
                        day.isoformat(),
                        j.site,
                        stamp(j.since) if j.since else None,
                        stamp(j.until) if j.until else None,
                        _findings_text(j),
                    ]
                    for day, j in sorted(judged.items())
                ],
            )
            self._execute(
                'INSERT INTO day_months ("staff_id", "month", "basis") VALUES (?, ?, ?) '
                'ON CONFLICT ("staff_id", "month") DO UPDATE SET "basis" = excluded."basis"',
                [staff, month, basis],
            )

    def expiring_days(self, after: datetime, until: datetime) -> list[PersonDayKey]:
        """The person-days whose kept judgement stopped holding in (after, until]: a moment
        it was judged before (a session's end, a return's deadline, plus the settling time)
        has passed."""
        rows = self._rows(
            'SELECT "staff_id", "day" FROM day_results WHERE "until" > ? AND "until" <= ?',
            [stamp(after), stamp(until)],
        )
        return [(staff, date.fromisoformat(day)) for staff, day in rows]

    # -- what numbering reads of one person ----------------------------------------------
    def numbers_of(self, staff: str, month: str) -> dict[str, int]:
        """The correction numbers announced to `staff` in `month` (violation id -> number)."""
        rows = self._rows(
            'SELECT "violation_id", "number" FROM numbers WHERE "month" = ? AND "staff_id" = ?',
            [month, staff],
        )
        return dict(rows)

    def judging_actions(self) -> list[ManagerAction]:
        """The manager actions the engine reads (leave given or cancelled, corrections and
        voids), in the order of `actions`."""
        marks = ", ".join("?" * len(JUDGING_ACTIONS))
        return self._actions(f'"action" IN ({marks})', JUDGING_ACTIONS)
