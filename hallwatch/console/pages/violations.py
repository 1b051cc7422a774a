"""Violations (违规): a list filtered by month, date, department, window, person, rule and
status; a violation's page with its evidence (the events it rests on), its history (the
audit rows about it) and the actions the viewer may take (correction notice, void with a
reason: managers of its hall), each through the management API, audited with the
signed-in person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hallwatch.console.accounts import Session
from hallwatch.console.pages.scope import (
    REFUSALS,
    chosen_day,
    chosen_month,
    chosen_site,
    rules_language,
    sites_of,
)
from hallwatch.console.web import console_of, language, render, requires, theirs
from mqtt import schema
from rules.detail_words import detail_words
from rules.engine import ViolationRecord
from rules.render import moment
from rules.words import (
    RULES,
    STATUSES,
    action_word,
    alert_word,
    method_word,
    punch_word,
    rule_word,
    severity_word,
    status_word,
)
from rules.words import Language as RulesLanguage

FILTERS = ("month", "date", "department", "window", "staff", "rule", "status")


@dataclass(frozen=True, slots=True)
class Evidence:
    """One event a violation rests on, as a person reads it."""

    at: str
    what: str
    device: str
    event_id: str
    snapshot_kept: bool  # a station kept a photo: it stays on the station
    observed: bool = False  # an inspector's finding, not a device's event
    photo: str | None = None  # where the finding's photo is served, to those who may see it


def _evidence_line(event: schema.Event, zone, words: RulesLanguage) -> Evidence:
    if isinstance(event, schema.Punch):
        what = f"{punch_word(event.action, words)}（{method_word(event.method, words)}）"
    elif isinstance(event, schema.Activity):
        minutes = event.duration_s / 60
        what = f"{event.app} · {event.category} · {minutes:.0f} min"
    elif isinstance(event, schema.Alert):
        what = f"{alert_word(event.kind, words)}：{event.message}"
    else:
        what = type(event).__name__
    snapshot = isinstance(event, schema.Alert) and bool(event.evidence)
    return Evidence(moment(event.ts, zone), what, event.device, event.id, snapshot)


def evidence_of(
    request: Request, who: Session, v: ViolationRecord, words: RulesLanguage
) -> list[Evidence]:
    """The events the violation names, fetched from the store around its day, and the
    patrol finding it rests on when an inspector observed it."""
    if not v.evidence:
        return []
    console = console_of(request)
    zone = console.management.policy.zone(v.site)
    start = datetime.combine(v.day, datetime.min.time(), zone) - timedelta(days=1)
    wanted = set(v.evidence)
    events = console.store.events(start, start + timedelta(days=3))
    found = [_evidence_line(e, zone, words) for e in events if e.id in wanted]
    for finding_id in sorted(wanted - {e.event_id for e in found}):
        finding = console.store.finding(finding_id)
        if finding is None:
            continue
        shown = finding.photo is not None and who.account.at_least("inspector")
        found.append(
            Evidence(
                at=moment(finding.at, zone),
                what=f"{rule_word(finding.rule, words)}：{finding.note}",
                device=finding.by,
                event_id=finding.finding_id,
                snapshot_kept=False,
                observed=True,
                photo=f"/findings/{finding.finding_id}/photo" if shown else None,
            )
        )
    return found


def visible(request: Request, who: Session, violation_id: str) -> ViolationRecord:
    """The violation, if it exists and its hall is the person's; else 404 (the same)."""
    return theirs(who, console_of(request).store.violation(violation_id))


@requires("viewer")
async def violation_list(request: Request, who: Session) -> Response:
    site = chosen_site(request, who)
    console = console_of(request)
    lang = language(request, who)
    words = rules_language(lang)
    directory = console.management.directory()
    zone = console.management.policy.zone(site)
    asked = {k: request.query_params.get(k, "").strip() for k in FILTERS}
    day = chosen_day(request, site)
    month = None if day else chosen_month(request, site)
    rows = console.management.violations(
        month=month, day=day, staff=asked["staff"] or None, site=site
    )
    windows = [w for w in directory.windows if w.site == site]
    department_of = {w.id: w.department for w in directory.windows}
    rows = [
        v
        for v in rows
        if (not asked["window"] or v.window == asked["window"])
        and (not asked["department"] or department_of.get(v.window or "") == asked["department"])
        and (not asked["rule"] or v.rule == asked["rule"])
        and (not asked["status"] or v.status == asked["status"])
    ]
    rows.sort(key=lambda v: v.at, reverse=True)
    return render(
        request,
        "violations.html",
        who,
        site=site,
        sites=sites_of(request, who),
        month=month or "",
        day=day or "",
        asked=asked,
        rows=[
            {
                "v": v,
                "at": moment(v.at, zone),
                "name": directory.name(v.staff_id, words),
                "window": directory.window_name(v.window or "") or "—",
                "rule": rule_word(v.rule, words),
                "severity": severity_word(v.severity, words),
                "status": status_word(v.status, words),
            }
            for v in rows
        ],
        departments=[
            d for d in directory.departments if any(w.department == d.id for w in windows)
        ],
        windows=windows,
        staff=[
            (m.staff_id, directory.name(m.staff_id, words))
            for m in directory.staff
            if any(p.window in {w.id for w in windows} for p in m.postings)
        ],
        rules=[(code, rule_word(code, words)) for code in RULES],
        statuses=[(code, status_word(code, words)) for code in STATUSES],
    )


def _violation_page(
    request: Request, who: Session, v: ViolationRecord, error: str = "", status_code: int = 200
) -> Response:
    console = console_of(request)
    words = rules_language(language(request, who))
    directory = console.management.directory()
    zone = console.management.policy.zone(v.site)
    history = [
        {
            "at": moment(a.ts, zone),
            "by": a.by,
            "entered_by": a.entered_by,
            "what": action_word(a.action, words),
            "reason": a.reason,
        }
        for a in console.management.audit()
        if a.target == v.violation_id
    ]
    may_act = who.account.at_least("manager") and v.status != "voided"
    return render(
        request,
        "violation.html",
        who,
        status_code,
        v=v,
        at=moment(v.at, zone),
        name=directory.name(v.staff_id, words),
        window=directory.window_name(v.window or "") or "—",
        rule=rule_word(v.rule, words),
        severity=severity_word(v.severity, words),
        status=status_word(v.status, words),
        detail=detail_words(v.detail, words),
        evidence=evidence_of(request, who, v, words),
        history=history,
        may_correct=may_act and v.status == "open" and v.severity == "minor",
        may_void=may_act,
        error=error,
    )


@requires("viewer")
async def violation_page(request: Request, who: Session) -> Response:
    return _violation_page(request, who, visible(request, who, request.path_params["id"]))


def _local(target: str, fallback: str) -> str:
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else fallback


async def _act(request: Request, who: Session, kind: str) -> Response:
    v = visible(request, who, request.path_params["id"])
    form = await request.form()
    text = str(form.get("reason", ""))
    management = console_of(request).management
    try:
        if kind == "void":
            management.void(who.actor, v.violation_id, text)
        else:
            management.correct(who.actor, v.violation_id, text)
    except REFUSALS as refused:
        return _violation_page(request, who, v, str(refused), 409)
    back = _local(str(form.get("next", "")), f"/violations/{v.violation_id}")
    return RedirectResponse(back, 303)


@requires("manager")
async def void(request: Request, who: Session) -> Response:
    return await _act(request, who, "void")


@requires("manager")
async def correct(request: Request, who: Session) -> Response:
    return await _act(request, who, "correct")


routes = [
    Route("/violations", violation_list, methods=["GET"]),
    Route("/violations/{id}", violation_page, methods=["GET"]),
    Route("/violations/{id}/void", void, methods=["POST"]),
    Route("/violations/{id}/correct", correct, methods=["POST"]),
]
