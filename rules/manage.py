"""The management API: every action and query of a hall manager, for the CLI and the console.

`Management` holds a store, a policy and an announcer; each action takes the acting person
(`Actor`), is recorded as an audited `ManagerAction`, recomputes the person-months it
touches and is announced on MQTT. Results are dataclasses; a refusal is a
`rules.acting.ManagementError` (`NotFound`, `Refused`, `InvalidInput`) whose message says
what to do. The directory's part is `rules.manage_directory.DirectoryManagement`, the duty
rosters' `rules.manage_rosters.RosterManagement`, the annual review's and the red and black
lists' `rules.manage_annual.AnnualManagement`, the lookalike pairs'
`rules.manage_lookalikes.LookalikeManagement`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from mqtt.ids import new_event_id, utc_now
from mqtt.schema import Alert, LeaveKind
from rules.acting import (
    Actor,
    InvalidInput,
    NotFound,
    Refused,
    audit_row,
    checked_month,
    stated_reason,
)
from rules.alert_store import AlertState, AlertStateName
from rules.alerts import AlertItem, is_item, lifecycle
from rules.announce import Announcer
from rules.directory import (
    Directory,
    ServiceWindow,
)
from rules.directory_edits import (
    months_between,
)
from rules.directory_store import seed_from_policy
from rules.engine import ViolationRecord
from rules.html_report import daily_page, monthly_page
from rules.inspection import InspectionReport, load_inspection
from rules.manage_annual import AnnualManagement
from rules.manage_directory import DirectoryManagement
from rules.manage_lookalikes import LookalikeManagement
from rules.manage_requests import RequestManagement
from rules.manage_rosters import RosterManagement
from rules.manager_actions import (
    ActionKind,
    Language,
    LeaveRecord,
    ManagerAction,
    check_correction,
    effective_leave,
    leave_span,
)
from rules.patrol import PatrolFinding
from rules.photos import clean_photo
from rules.policy import OBSERVED_RULES, Policy
from rules.publish import ResultPublisher
from rules.recompute import month_of, recompute_person_month
from rules.replay import ReplaySummary, replay
from rules.scoring import PersonScore, WindowScore, load_sheet, veto_violations
from rules.store import Store
from rules.words import rule_word


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an action recorded and what it changed."""

    action: ManagerAction  # the audit row
    changed: tuple[ViolationRecord, ...]  # violations new or changed by the recomputation
    withdrawn: tuple[ViolationRecord, ...]  # violations that no longer stand
    violation: ViolationRecord | None = None  # a corrected or voided violation, as it is now
    leave: LeaveRecord | None = None  # the leave granted or cancelled
    not_announced: str | None = None  # why MQTT did not get it (it is recorded regardless)
    finding: PatrolFinding | None = None  # the patrol finding recorded


@dataclass(frozen=True, slots=True)
class MonthlySheet:
    """The 100-point sheet of a month and the violations it names: every violation of the
    month (as the downloads list them), or only those its vetoes name (`monthly_sheet`)."""

    month: str
    staff: list[PersonScore]
    windows: list[WindowScore]
    violations: list[ViolationRecord]
    directory: Directory  # the snapshot it was scored with (names for the reader)


class Management(
    DirectoryManagement,
    RequestManagement,
    RosterManagement,
    AnnualManagement,
    LookalikeManagement,
):
    """A hall manager's actions and queries on one store and policy.

    `announcer` publishes each action and the violations it changed (None: no broker,
    nothing is announced); `directory` gives the current snapshot of who works where;
    `now` is the time source for action times and judgements.
    """

    def __init__(
        self,
        store: Store,
        policy: Policy,
        announcer: Announcer | None = None,
        *,
        now: Callable[[], datetime] = utc_now,
        language: Language = "zh",
    ) -> None:
        self.store = store
        self.policy = policy
        self.announcer = announcer
        self.now = now
        self.language = language  # of the regime's refusals (rules/manager_actions.py)
        # A policy's deprecated [[windows]] seed a store that has no directory yet.
        seed_from_policy(store, policy)

    # -- queries -----------------------------------------------------------------------
    def violations(
        self,
        *,
        month: str | None = None,
        day: date | None = None,
        staff: str | None = None,
        site: str | None = None,
    ) -> list[ViolationRecord]:
        """Violations with their evidence, numbering, escalation, veto and status."""
        if month is not None:
            checked_month(month)
        return self.store.violations(month=month, day=day, staff=staff, site=site)

    def leave(self, *, staff: str | None = None) -> list[LeaveRecord]:
        """Leave in force: granted in the policy or by managers, and not cancelled."""
        return [
            lv
            for lv in effective_leave(self.policy, self.store.actions())
            if staff in (None, lv.staff_id)
        ]

    def alerts(
        self,
        *,
        site: str | None = None,
        state: AlertStateName | None = None,
        days: int = 30,
    ) -> list[AlertItem]:
        """The alerts to act on of the last `days` days (of one site, or all; in one
        state, or any), oldest first, each with where it is in its lifecycle."""
        if days < 1:
            raise InvalidInput(f"--days {days}: give a number of days of at least 1")
        now = self.now()
        directory = self.directory()
        states = self.store.alert_states()
        statuses = self.store.device_statuses()
        found = [
            lifecycle(event, states, statuses)
            for event in self.store.events(now - timedelta(days=days), now, kinds=("alert",))
            if isinstance(event, Alert) and is_item(event, directory) and site in (None, event.site)
        ]
        return [item for item in found if state in (None, item.state)]

    def audit(self) -> list[ManagerAction]:
        """Every correction, void and leave change, oldest first."""
        return self.store.actions()

    def inspection(
        self,
        day: date,
        *,
        site: str | None = None,
        as_of: datetime | None = None,
        language: Language | None = None,
    ) -> InspectionReport:
        """The daily inspection of `day` (of one site, or all), as of `as_of` (now), its
        open items in `language` (the manager's)."""
        return load_inspection(
            self.store,
            self.policy,
            self.directory(),
            day,
            site,
            as_of or self.now(),
            language or self.language,
        )

    def announce_inspection(self, report: InspectionReport) -> str | None:
        """Publish the report's counts per site; None, or why it was not announced."""
        if self.announcer is None:
            raise Refused("no MQTT broker to publish on: give a config with a [broker] table")
        return self.announcer.announce(
            lambda publisher: publisher.inspections(report, self.language)
        )

    def monthly_sheet(self, month: str, *, every_violation: bool = True) -> MonthlySheet:
        """Scores, vetoes, ratings and ranks of every staff member and window, with every
        violation of the month, or (`every_violation` False: what a page shows) only the
        violations the vetoes name."""
        directory = self.directory()
        month = checked_month(month)
        people, windows = load_sheet(self.store, self.policy, directory, month)
        rows = (
            self.store.violations(month=month)
            if every_violation
            else veto_violations(self.store, people)
        )
        return MonthlySheet(month, people, windows, rows, directory)

    def daily_report(
        self, day: date, *, site: str | None = None, as_of: datetime | None = None
    ) -> str:
        """The daily inspection as a printable HTML document, in the manager's language."""
        report = self.inspection(day, site=site, as_of=as_of)
        return daily_page(report, None, self.directory(), self.language)

    def monthly_report(self, month: str, *, site: str | None = None) -> str:
        """The monthly assessment (of one site, or all) as a printable HTML document."""
        sheet = self.monthly_sheet(month, every_violation=False)
        people = [p for p in sheet.staff if site is None or p.site == site]
        windows = [w for w in sheet.windows if site is None or w.site == site]
        return monthly_page(
            month, people, windows, sheet.violations, sheet.directory, site, self.language
        )

    def replay(self, lines: Iterable[bytes], as_of: datetime | None = None) -> ReplaySummary:
        """Store recorded payloads (JSONL lines) and rebuild every month they touch."""
        return replay(lines, self.policy, self.directory(), self.store, as_of or self.now())

    # -- actions -----------------------------------------------------------------------
    def correct(self, actor: Actor, violation_id: str, note: str) -> ActionResult:
        """Record the correction notice given for a violation (纠错); it stays counted."""
        return self._mark(actor, "correct", violation_id, note)

    def void(self, actor: Actor, violation_id: str, reason: str) -> ActionResult:
        """Void a violation (appeal upheld): it no longer deducts, counts or vetoes."""
        return self._mark(actor, "void", violation_id, reason)

    def add_leave(
        self,
        actor: Actor,
        staff: str,
        start: datetime,
        end: datetime,
        kind: LeaveKind,
        reason: str,
    ) -> ActionResult:
        """Grant leave, also after the fact; times without an offset are the site's."""
        why = stated_reason(reason)
        zone = self.policy.zone(self._window(staff).site)
        start, end = (t if t.tzinfo else t.replace(tzinfo=zone) for t in (start, end))
        if end <= start:
            raise InvalidInput(
                f"the leave ends ({end.isoformat()}) before it starts ({start.isoformat()})"
            )
        record = LeaveRecord(f"lv-{new_event_id()[-12:]}", staff, start, end, kind, why)
        return self._record_leave(actor, "leave_add", record, why)

    def leave_period(self, staff: str, start: str, end: str) -> tuple[datetime, datetime]:
        """`start` and `end` as a person types them, as instants in `staff`'s site: a date
        is the whole local day (both inclusive), a date-time that instant."""
        return leave_span(start, end, self.policy.zone(self._window(staff).site), self.language)

    def cancel_leave(self, actor: Actor, leave_id: str, reason: str) -> ActionResult:
        """Cancel leave granted earlier (in the policy or by a manager)."""
        why = stated_reason(reason)
        current = {lv.leave_id: lv for lv in self.leave()}
        record = current.get(leave_id.strip())
        if record is None:
            raise NotFound(f"no leave {leave_id!r} in force; list it with 'hallwatch leave list'")
        return self._record_leave(actor, "leave_cancel", record, why)

    def add_finding(
        self,
        actor: Actor,
        *,
        site: str,
        rule: str,
        note: str,
        staff: str | None = None,
        window: str | None = None,
        at: datetime | None = None,
        photo: bytes | None = None,
    ) -> ActionResult:
        """Record what an inspector observed of a person or a window (巡查): it is judged
        like an event (a person's: a violation of that day; a window's: a deduction of the
        window's month). Times without an offset are the site's; the photo, JPEG or PNG, is
        kept without its metadata."""
        what = self._observed(site, rule, staff, window)
        text = note.strip()
        if not text:
            raise InvalidInput("say what was observed (--note)")
        zone = self.policy.zone(site)
        moment = at if at is None or at.tzinfo else at.replace(tzinfo=zone)
        moment = moment or self.now()
        if moment > self.now() + timedelta(minutes=5):
            raise InvalidInput(f"{moment.isoformat()} is in the future: give when it was observed")
        if (
            staff is not None
            and self.directory().posting_on(staff, moment.astimezone(zone).date()) is None
        ):
            raise Refused(f"{staff} works at no window on {moment.astimezone(zone).date()}")
        cleaned = (
            clean_photo(photo, self.policy.finding_photos.max_bytes) if photo is not None else None
        )
        finding_id = f"f-{new_event_id()[-12:]}"
        finding = PatrolFinding(
            finding_id, site, staff, window, moment, rule, text, actor.entered_by,
            f"ph-{finding_id[2:]}" if cleaned else None,
        )  # fmt: skip
        self.store.add_finding(finding, cleaned)
        action = self._action(actor, "finding_add", finding_id, f"{what}: {text}")
        changed, withdrawn = (
            self._recompute(
                staff, [month_of(moment.astimezone(zone).date())], [moment.astimezone(zone).date()]
            )
            if staff
            else ((), ())
        )
        return ActionResult(
            action,
            changed,
            withdrawn,
            violation=self.store.violation(finding.violation_id) if staff else None,
            not_announced=self._announce(site, action, changed, withdrawn),
            finding=finding,
        )

    def findings(
        self, *, month: str | None = None, day: date | None = None, site: str | None = None
    ) -> list[PatrolFinding]:
        """Patrol findings of a month or a day (local to each site), oldest first."""
        found = self.store.findings(site=site)
        if month is not None:
            checked_month(month)
        return [
            f
            for f in found
            if (month is None or month_of(f.day(self.policy)) == month)
            and (day is None or f.day(self.policy) == day)
        ]

    def finding_photo(self, photo_id: str) -> tuple[str, bytes]:
        """A finding's photo (MIME type, bytes); for roles that may see it (the caller's
        check: inspectors and up)."""
        photo = self.store.photo(photo_id)
        if photo is None:
            raise NotFound(f"no photo {photo_id!r} (or it was pruned after its retention period)")
        return photo

    def _observed(self, site: str, rule: str, staff: str | None, window: str | None) -> str:
        """Whom a finding is of, in words, once its rule and target agree."""
        if (staff is None) == (window is None):
            raise InvalidInput("a finding is of one person (--staff) or one window (--window)")
        if rule not in OBSERVED_RULES:
            words = ", ".join(f"{r} ({rule_word(r, self.language)})" for r in OBSERVED_RULES)
            raise InvalidInput(f"{rule!r} is not an observed rule; one of {words}")
        applies_to = self.policy.penalty(rule).applies_to
        directory = self.directory()
        if window is not None:
            if applies_to != "window":
                raise InvalidInput(
                    f"{rule_word(rule, self.language)} is a person's: give --staff, not --window"
                )
            found = directory.window.get(window)
            if found is None or found.site != site:
                raise NotFound(f"no window {window!r} at site {site!r} ('hallwatch windows list')")
            return directory.window_label(window)
        assert staff is not None
        if applies_to != "person":
            raise InvalidInput(
                f"{rule_word(rule, self.language)} is a window's: give --window, not --staff"
            )
        if site not in directory.sites_of(staff):
            raise NotFound(f"{staff} does not work at site {site!r} ('hallwatch staff list')")
        return directory.label(staff, self.language)

    def acknowledge_alert(self, actor: Actor, alert_id: str, note: str) -> AlertItem:
        """Acknowledge an open alert (someone is on it): who, when and their note."""
        return self._alert_step(actor, "alert_ack", "acknowledged", alert_id, note)

    def clear_alert(self, actor: Actor, alert_id: str, note: str) -> AlertItem:
        """Clear an alert by hand (dealt with): it leaves the inspection's open items."""
        return self._alert_step(actor, "alert_clear", "cleared", alert_id, note)

    def _alert_step(
        self,
        actor: Actor,
        kind: ActionKind,
        state: AlertStateName,
        alert_id: str,
        note: str,
    ) -> AlertItem:
        why = stated_reason(note)
        target = alert_id.strip()
        alert = self.store.alert(target)
        if alert is None:
            raise NotFound(f"no alert {target!r}; list them with 'hallwatch alerts list'")
        current = lifecycle(alert, self.store.alert_states(), self.store.device_statuses())
        if current.state == "cleared":
            raise Refused(f"alert {target} is already cleared; nothing to do")
        if current.state == state:
            raise Refused(f"alert {target} is already acknowledged by {current.by}")
        action = self._action(actor, kind, target, why)
        self.store.set_alert_state(AlertState(target, state, action.by, action.ts, why))
        return lifecycle(alert, self.store.alert_states(), [])

    # -- how an action is recorded -----------------------------------------------------
    def _action(
        self,
        actor: Actor,
        kind: ActionKind,
        target: str,
        reason: str,
        leave: LeaveRecord | None = None,
    ) -> ManagerAction:
        action = audit_row(actor, kind, target, reason, self.now(), leave)
        self.store.add_action(action)
        return action

    def _window(self, staff: str) -> ServiceWindow:
        window = self.directory().home_window(staff)
        if window is None:
            raise NotFound(
                f"{staff} is in no window of the directory: check the staff id "
                "('hallwatch staff list' shows who works where)"
            )
        return window

    def _mark(self, actor: Actor, kind: ActionKind, violation_id: str, reason: str) -> ActionResult:
        """A correction or a void: record it, recompute its person-month, announce both."""
        why = stated_reason(reason)
        target = violation_id.strip()
        found = self.store.violation(target)
        if found is None:
            raise NotFound(
                f"no violation {target!r}; list them with 'hallwatch violations --month YYYY-MM'"
            )
        if found.status == "voided":
            raise Refused(f"{target} is already voided; nothing to {kind}")
        if kind == "correct" and found.status == "corrected":
            raise Refused(f"{target} already has a correction recorded")
        if kind == "correct":
            check_correction(found, self.language)
        action = self._action(actor, kind, target, why)
        changed, withdrawn = self._recompute(found.staff_id, [month_of(found.day)])
        return ActionResult(
            action,
            changed,
            withdrawn,
            violation=self.store.violation(target),
            not_announced=self._announce(found.site, action, changed, withdrawn),
        )

    def _record_leave(
        self, actor: Actor, kind: ActionKind, record: LeaveRecord, reason: str
    ) -> ActionResult:
        """Record a leave action, recompute every month the leave touches, announce them."""
        action = self._action(
            actor, kind, record.leave_id, reason, record if kind == "leave_add" else None
        )
        window = self.directory().home_window(record.staff_id)
        if window is None:  # someone who left the windows since: nothing of theirs is judged
            return ActionResult(action, (), (), leave=record)
        zone = self.policy.zone(window.site)
        first, last = (moment.astimezone(zone).date() for moment in (record.start, record.end))
        # A day either side: a day at a site of another zone may hold an end of the leave.
        first, last = first - timedelta(days=1), last + timedelta(days=1)
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        changed, withdrawn = self._recompute(record.staff_id, months_between(first, last), days)
        not_announced = self._announce(window.site, action, changed, withdrawn)
        return ActionResult(action, changed, withdrawn, leave=record, not_announced=not_announced)

    def _recompute(
        self, staff: str, months: list[str], days: Iterable[date] = ()
    ) -> tuple[tuple[ViolationRecord, ...], tuple[ViolationRecord, ...]]:
        """Re-judge a person's `days` now and number their `months` again (what a manager
        changed: leave, a finding, a punch correction, a duty; a void or a correction only
        numbers); (changed, withdrawn) over all of them."""
        days = list(days)
        directory = self.directory()
        if not directory.sites_of(staff):
            return (), ()
        changed: list[ViolationRecord] = []
        withdrawn: list[ViolationRecord] = []
        for month in months:
            more, gone = recompute_person_month(
                self.store, self.policy, directory, staff, month, self.now(), days=days
            )
            changed += more
            withdrawn += gone
        return tuple(changed), tuple(withdrawn)

    def _announce(
        self,
        site: str,
        action: ManagerAction,
        changed: Iterable[ViolationRecord],
        withdrawn: Iterable[ViolationRecord],
    ) -> str | None:
        """Publish the action and the violations it changed; None, or why not."""
        if self.announcer is None:
            return None

        def fill(publisher: ResultPublisher) -> None:
            publisher.correction(site, action)
            for record in changed:
                publisher.violation(record)
            for record in withdrawn:
                publisher.violation(record, withdrawn=True)

        return self.announcer.announce(fill)
