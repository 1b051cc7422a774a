"""Duty rosters in the management API (领导带班, 总服务台值班): entries set and removed one by
one (the person-month re-judged at once) or imported from a file, all or nothing (the
person-months marked pending for the service); every change audited.

`RosterManagement` is a part of `rules.manage.Management` (it uses its store, policy, clock,
recomputation and announcer)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from rules.acting import Actor, InvalidInput, NotFound, audit_row
from rules.announce import Announcer
from rules.directory import Directory
from rules.directory_edits import FileRow
from rules.engine import ViolationRecord, month_days
from rules.manage_directory import ImportRefused
from rules.manager_actions import ActionKind, ManagerAction
from rules.policy import Policy
from rules.publish import ResultPublisher
from rules.recompute import month_of
from rules.rosters import (
    DUTIES,
    DutyAssignment,
    read_roster_rows,
    session_problem,
    sessions_text,
    staff_problem,
)
from rules.store import PersonMonth, Store
from rules.words import Language, duty_word, say


@dataclass(frozen=True, slots=True)
class DutyResult:
    """A roster entry set or removed, and the violations the re-judgement changed."""

    action: ManagerAction
    entry: DutyAssignment
    changed: tuple[ViolationRecord, ...]
    withdrawn: tuple[ViolationRecord, ...]
    not_announced: str | None = None


@dataclass(frozen=True, slots=True)
class RosterImport:
    """What a roster file set (or, in a dry run, would set)."""

    entries: tuple[DutyAssignment, ...]
    rejudged: tuple[PersonMonth, ...]
    dry_run: bool


class RosterManagement:
    store: Store
    policy: Policy
    now: Callable[[], datetime]
    announcer: Announcer | None
    language: Language

    def directory(self) -> Directory: ...  # Management's
    def _recompute(
        self, staff: str, months: list[str], days: Iterable[date] = ()
    ) -> tuple[tuple[ViolationRecord, ...], tuple[ViolationRecord, ...]]: ...

    def duties(
        self, *, month: str | None = None, day: date | None = None, site: str | None = None
    ) -> list[DutyAssignment]:
        """Roster entries of a month or a day (or all), by day."""
        first, last = day, day
        if month is not None:
            try:
                days = month_days(month)
            except ValueError:
                raise InvalidInput(
                    say(self.language, f"月份 {month!r} 应写作 YYYY-MM",
                        f"month {month!r} is not YYYY-MM")
                ) from None  # fmt: skip
            first, last = days[0], days[-1]
        return self.store.rosters(first, last, site=site)

    def set_duty(
        self,
        actor: Actor,
        site: str,
        day: date,
        duty: str,
        staff: str,
        sessions: Sequence[int] | None = None,
    ) -> DutyResult:
        """Put `staff` on `duty` at `site` on `day` (for the day's `sessions`, indices;
        None: all); their month is re-judged."""
        entry = self._entry(actor, site, day, duty, staff, sessions)
        action = self._duty_action(actor, "duty_set", entry)
        self.store.set_duties([entry], [action])
        return self._rejudge(action, entry)

    def remove_duty(self, actor: Actor, site: str, day: date, duty: str, staff: str) -> DutyResult:
        """Take `staff` off `duty` at `site` on `day`; their month is re-judged."""
        self._known_duty(duty)
        entry = DutyAssignment(site, day, duty, staff.strip())
        action = self._duty_action(actor, "duty_remove", entry)
        if not self.store.remove_duty(site, day, duty, entry.staff_id, [action]):
            name = self.directory().name(entry.staff_id, self.language)
            raise NotFound(
                say(self.language, f"{name} 在 {day} 没有{duty_word(duty)}排班",
                    f"{name} is not on {duty_word(duty, 'en')} at {site} on {day}")
            )  # fmt: skip
        return self._rejudge(action, entry)

    def import_duties(
        self, actor: Actor, rows: Iterable[FileRow], source: str, site: str, *, dry_run: bool
    ) -> RosterImport:
        """Import a roster file's rows for `site`, all or nothing: any wrong row refuses the
        whole file (`ImportRefused`, naming every wrong row). A dry run writes nothing."""
        self._known_site(site)
        entries, wrong = read_roster_rows(
            rows, site, self.directory(), actor.entered_by, self._session_count, self.language
        )
        if wrong:
            raise ImportRefused(source, wrong)
        rejudged = tuple(sorted({(e.staff_id, month_of(e.day)) for e in entries}))
        if not dry_run and entries:
            audit = [self._duty_action(actor, "duty_set", e, f" (from {source})") for e in entries]
            self.store.set_duties(entries, audit, {(e.staff_id, e.day) for e in entries})
        return RosterImport(tuple(entries), rejudged, dry_run)

    # -- checks and the re-judgement ---------------------------------------------------
    def _entry(
        self,
        actor: Actor,
        site: str,
        day: date,
        duty: str,
        staff: str,
        sessions: Sequence[int] | None,
    ) -> DutyAssignment:
        self._known_duty(duty)
        self._known_site(site)
        staff = staff.strip()
        problem = staff_problem(self.directory(), staff, day, self.language)
        if problem:
            raise NotFound(problem)
        entry = DutyAssignment(
            site, day, duty, staff, tuple(sorted(set(sessions))) if sessions else None,
            actor.entered_by,
        )  # fmt: skip
        problem = session_problem(entry, self._session_count(day), self.language)
        if problem:
            raise InvalidInput(problem)
        return entry

    def _session_count(self, day: date) -> int:
        return len(self.policy.sessions(day))

    def _known_duty(self, duty: str) -> None:
        if duty not in DUTIES:
            words = ", ".join(f"{d} ({duty_word(d, self.language)})" for d in DUTIES)
            raise InvalidInput(
                say(self.language, f"没有值班类型 {duty!r}，可选：{words}",
                    f"no duty {duty!r}: give one of {words}")
            )  # fmt: skip

    def _known_site(self, site: str) -> None:
        known = set(self.policy.sites) | {w.site for w in self.directory().windows}
        if site not in known:
            sites = ", ".join(sorted(known))
            raise NotFound(
                say(self.language, f"没有大厅 {site!r}，现有：{sites}",
                    f"no site {site!r}; the sites are {sites}")
            )  # fmt: skip

    def _duty_action(
        self, actor: Actor, kind: ActionKind, entry: DutyAssignment, note: str = ""
    ) -> ManagerAction:
        sessions = sessions_text(entry.sessions)
        reason = f"{duty_word(entry.duty)} {entry.site} {entry.day.isoformat()}"
        reason += f" sessions {sessions}" if sessions else ""
        target = f"{entry.site}/{entry.day.isoformat()}/{entry.duty}/{entry.staff_id}"
        return audit_row(actor, kind, target, reason + note, self.now(), None)

    def _rejudge(self, action: ManagerAction, entry: DutyAssignment) -> DutyResult:
        changed, withdrawn = self._recompute(entry.staff_id, [month_of(entry.day)], [entry.day])
        not_announced = None
        if self.announcer is not None and (changed or withdrawn):

            def fill(publisher: ResultPublisher) -> None:
                for record in changed:
                    publisher.violation(record)
                for record in withdrawn:
                    publisher.violation(record, withdrawn=True)

            not_announced = self.announcer.announce(fill)
        return DutyResult(action, entry, changed, withdrawn, not_announced)
