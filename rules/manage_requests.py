"""Requests in the management API: punch corrections (补卡) and appeals (申诉) raised by a
manager on a person's behalf, then approved or rejected once, with a reason; all audited.

`RequestManagement` is a part of `rules.manage.Management` (it uses its store, policy,
clock, language and its way of recording, recomputing and announcing an action). An
approved punch correction re-judges the person-month (the engine reads it as an attested
punch, rules/recompute.py); an upheld appeal is a void of its violation, recorded the way
`Management.void` records one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from mqtt.ids import new_event_id
from rules.acting import Actor, InvalidInput, NotFound, Refused, stated_reason
from rules.directory import Directory, ServiceWindow
from rules.engine import ViolationRecord
from rules.manager_actions import ActionKind, Language, LeaveRecord, ManagerAction
from rules.policy import Policy
from rules.recompute import month_of, month_span
from rules.requests import PUNCH_ACTIONS, Request, RequestKind, RequestStatus
from rules.store import Store
from rules.words import say

DUPLICATE_WITHIN = timedelta(minutes=1)  # a punch this close to another is the same punch


@dataclass(frozen=True, slots=True)
class RequestResult:
    """What raising or deciding a request recorded and what it changed."""

    request: Request  # as it is now
    action: ManagerAction  # the audit row
    changed: tuple[ViolationRecord, ...] = ()
    withdrawn: tuple[ViolationRecord, ...] = ()
    violation: ViolationRecord | None = None  # an appealed violation, as it is now
    not_announced: str | None = None


class RequestManagement:
    store: Store
    policy: Policy
    now: Callable[[], datetime]
    language: Language

    # Management's (rules/manage.py)
    def directory(self) -> Directory: ...
    def _window(self, staff: str) -> ServiceWindow: ...
    def _action(
        self,
        actor: Actor,
        kind: ActionKind,
        target: str,
        reason: str,
        leave: LeaveRecord | None = None,
    ) -> ManagerAction: ...
    def _recompute(
        self, staff: str, months: list[str], days: Iterable[date] = ()
    ) -> tuple[tuple[ViolationRecord, ...], tuple[ViolationRecord, ...]]: ...
    def _announce(
        self,
        site: str,
        action: ManagerAction,
        changed: Iterable[ViolationRecord],
        withdrawn: Iterable[ViolationRecord],
    ) -> str | None: ...
    def void(self, actor: Actor, violation_id: str, reason: str) -> object: ...

    def _say(self, zh: str, en: str) -> str:
        return say(self.language, zh, en)

    def _name(self, staff: str) -> str:
        return self.directory().name(staff, self.language)

    # -- queries -----------------------------------------------------------------------
    def requests(
        self,
        *,
        status: RequestStatus | None = None,
        kind: RequestKind | None = None,
        staff: str | None = None,
    ) -> list[Request]:
        """Requests, oldest raised first."""
        return self.store.requests(status=status, kind=kind, staff=staff)

    # -- actions -----------------------------------------------------------------------
    def raise_request(
        self,
        actor: Actor,
        *,
        reason: str,
        staff: str | None = None,
        at: datetime | None = None,
        action: str | None = None,
        violation_id: str | None = None,
    ) -> RequestResult:
        """Raise on a person's behalf a punch correction (`staff`, `at`, `action`: "I forgot
        to clock out at 12:00") or an appeal against a violation (`violation_id`); it is
        pending until a manager decides it. Times without an offset are the site's."""
        why = stated_reason(reason)
        if violation_id is not None:
            request = self._appeal(actor, violation_id.strip(), why)
        else:
            if staff is None or at is None or action is None:
                raise InvalidInput(
                    self._say(
                        "补卡需写明人员（--staff）、时间（--at）和打卡类型（--action）",
                        "a punch correction needs the person (--staff), the moment (--at) "
                        "and the punch (--action)",
                    )
                )
            request = self._punch_correction(actor, staff.strip(), at, action, why)
        self.store.add_request(request)
        row = self._action(actor, "request_raise", request.request_id, why)
        return RequestResult(request, row)

    def decide_request(
        self, actor: Actor, request_id: str, approve: bool, reason: str
    ) -> RequestResult:
        """Approve or reject a pending request, with the reason. An approved punch
        correction is judged as an attested punch (the person-month is recomputed and
        announced); an upheld appeal voids its violation; a rejection changes nothing."""
        why = stated_reason(reason)
        rid = request_id.strip()
        request = self.store.request(rid)
        if request is None:
            raise NotFound(
                self._say(
                    f"没有编号为 {rid} 的申请（查看：hallwatch requests list）",
                    f"no request {rid!r}; list them with 'hallwatch requests list'",
                )
            )
        if request.status != "pending":
            raise Refused(self._decided(request))
        appealed = (
            self._appealable(request.violation_id) if approve and request.violation_id else None
        )
        status: RequestStatus = "approved" if approve else "rejected"
        if not self.store.decide_request(rid, status, actor.decided_by, self.now(), why):
            raise Refused(self._decided(self.store.request(rid) or request))
        kind: ActionKind = "request_approve" if approve else "request_reject"
        row = self._action(actor, kind, rid, why)
        decided = self.store.request(rid) or request
        if not approve:
            return RequestResult(decided, row)
        if appealed is not None:
            upheld = self._say(
                f"{request.reason}（申诉 {rid} 成立：{why}）",
                f"{request.reason} (appeal {rid} upheld: {why})",
            )
            self.void(actor, appealed.violation_id, upheld)
            return RequestResult(
                decided, row, violation=self.store.violation(appealed.violation_id)
            )
        assert request.at is not None  # a punch correction has its moment
        zone = self.policy.zone(request.site)
        day = request.at.astimezone(zone).date()
        changed, withdrawn = self._recompute(request.staff_id, [month_of(day)], [day])
        return RequestResult(
            decided,
            row,
            changed,
            withdrawn,
            not_announced=self._announce(request.site, row, changed, withdrawn),
        )

    # -- what a request may be ---------------------------------------------------------
    def _decided(self, request: Request) -> str:
        state = {"approved": "批准", "rejected": "驳回"}.get(request.status, request.status)
        return self._say(
            f"申请 {request.request_id} 已由 {request.decided_by} {state}，不能再次审批",
            f"request {request.request_id} was already {request.status} by "
            f"{request.decided_by}; it cannot be decided again",
        )

    def _appealable(self, violation_id: str) -> ViolationRecord:
        found = self.store.violation(violation_id)
        if found is None:
            raise NotFound(
                self._say(
                    f"没有编号为 {violation_id} 的违规（查看：hallwatch violations --month YYYY-MM）",
                    f"no violation {violation_id!r}; list them with "
                    "'hallwatch violations --month YYYY-MM'",
                )
            )
        if found.status == "voided":
            raise Refused(
                self._say(
                    "该违规已撤销，无需申诉",
                    f"{violation_id} is already voided; there is nothing to appeal",
                )
            )
        return found

    def _appeal(self, actor: Actor, violation_id: str, reason: str) -> Request:
        found = self._appealable(violation_id)
        if any(r.violation_id == violation_id for r in self.store.requests(status="pending")):
            raise Refused(
                self._say(
                    "该违规已有待审批的申诉",
                    f"{violation_id} already has an appeal pending",
                )
            )
        return Request(
            f"rq-{new_event_id()[-12:]}", "appeal", found.site, found.staff_id, reason,
            actor.entered_by, self.now(), violation_id=violation_id,
        )  # fmt: skip

    def _punch_correction(
        self, actor: Actor, staff: str, at: datetime, action: str, reason: str
    ) -> Request:
        if action not in PUNCH_ACTIONS:
            raise InvalidInput(
                self._say(
                    f"打卡类型 {action!r} 不可补，可选：clock_in（上班）、clock_out（下班）",
                    f"{action!r} cannot be corrected; one of clock_in, clock_out",
                )
            )
        zone = self.policy.zone(self._window(staff).site)
        moment = at if at.tzinfo else at.replace(tzinfo=zone)
        day = moment.astimezone(zone).date()
        if moment > self.now():
            raise InvalidInput(
                self._say(
                    f"{moment.astimezone(zone):%Y-%m-%d %H:%M} 尚未到来：补卡只能补过去的打卡",
                    f"{moment.astimezone(zone):%Y-%m-%d %H:%M} is in the future: a punch "
                    "correction is for a punch that was missed",
                )
            )
        window = self.directory().posting_on(staff, day)
        if window is None:
            raise Refused(
                self._say(
                    f"{self._name(staff)} 在 {day} 没有在岗安排，无需补卡",
                    f"{self._name(staff)} works at no window on {day}: there is no punch to correct",
                )
            )
        self._not_a_duplicate(staff, moment, zone)
        self._within_cap(staff, window.site, day)
        return Request(
            f"rq-{new_event_id()[-12:]}", "punch", window.site, staff, reason,
            actor.entered_by, self.now(), at=moment, action=action,
        )  # fmt: skip

    def _not_a_duplicate(self, staff: str, moment: datetime, zone: tzinfo) -> None:
        start, end = moment - DUPLICATE_WITHIN, moment + DUPLICATE_WITHIN
        punched = self.store.events(start, end, staff=staff, kinds=("clock",))
        asked = [
            r
            for r in self.store.requests(kind="punch", staff=staff, start=start, end=end)
            if r.status != "rejected"
        ]
        if punched or asked:
            when = (punched[0].ts if punched else asked[0].at or moment).astimezone(zone)
            raise Refused(
                self._say(
                    f"{self._name(staff)} 在 {when:%H:%M:%S} 已有打卡（或补卡申请），"
                    "与所补时间相差不到一分钟",
                    f"{self._name(staff)} already has a punch (or a punch correction) at {when:%H:%M:%S}, "
                    "within a minute of this one",
                )
            )

    def _within_cap(self, staff: str, site: str, day: date) -> None:
        cap = self.policy.requests.punch_corrections_per_month
        month = month_of(day)
        start, end = month_span(self.policy, [site], month)
        used = [
            r
            for r in self.store.requests(kind="punch", staff=staff, start=start, end=end)
            if r.status != "rejected"
        ]
        if len(used) >= cap:
            raise Refused(
                self._say(
                    f"{self._name(staff)} 在 {month} 已有 {len(used)} 次补卡（待审批或已批准），"
                    f"已达每月上限 {cap} 次，不能再补",
                    f"{self._name(staff)} already has {len(used)} punch corrections in {month} (pending "
                    f"or approved): the monthly cap is {cap}, so no more can be raised",
                )
            )
