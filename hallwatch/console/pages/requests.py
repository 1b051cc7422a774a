"""Requests (补卡与申诉): a hall's punch corrections and appeals, pending first, filtered by
status and month, each decided (approve or reject, with a reason) by the hall's managers;
a form raising one on a person's behalf (person, then kind, then the punch's time or the
violation, and the reason); the links a person raises their own through
(pages/request_link.py), made and revoked here. Each through the management API (or
hallwatch/console/request_links.py), audited with the signed-in person."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hallwatch.console.accounts import Session
from hallwatch.console.config import Language
from hallwatch.console.i18n import t
from hallwatch.console.pages.scope import (
    REFUSALS,
    chosen_site,
    hall_staff,
    rules_language,
    sites_of,
    staff_site,
    today_at,
)
from hallwatch.console.pages.violations import visible
from hallwatch.console.request_links import LINK_PATH, RequestLinks
from hallwatch.console.web import (
    client_address,
    console_of,
    in_scope,
    language,
    render,
    requires,
    theirs,
)
from rules.acting import Actor, InvalidInput, Refused
from rules.engine import ViolationRecord
from rules.render import moment
from rules.requests import PUNCH_ACTIONS
from rules.requests import Request as Asked
from rules.words import (
    REQUEST_STATUSES,
    punch_word,
    request_kind_word,
    request_status_word,
    rule_word,
)

APPEAL_WINDOW = timedelta(days=62)  # the violations a form offers to appeal: about two months


@dataclass(frozen=True, slots=True)
class Entered:
    """What the form was given, kept when it is shown again."""

    staff: str = ""
    kind: str = ""  # punch | appeal
    at: str = ""  # datetime-local text
    action: str = ""
    violation: str = ""
    reason: str = ""

    @classmethod
    def of(cls, values: FormData | dict[str, str]) -> Entered:
        return cls(**{k: str(values.get(k, "")).strip() for k in cls.__slots__})


def links_of(request: Request) -> RequestLinks:
    settings = console_of(request).settings
    return RequestLinks(
        console_of(request).store,
        days=settings.request_link_days,
        throttle_failures=settings.throttle_failures,
        throttle_minutes=settings.throttle_minutes,
    )


def punch_moment(text: str) -> datetime:
    """The punch's time as the form gives it (the site's time, no offset)."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"时间 “{text}” 无法识别：请填写日期和时间，例如 2026-11-24 12:00"
        ) from None


def appealable(request: Request, staff: str, also: str = "") -> list[ViolationRecord]:
    """The person's violations of about the last two months that are not voided and have
    no appeal pending (and `also`, a violation chosen elsewhere), newest first."""
    console = console_of(request)
    pending = {r.violation_id for r in console.store.requests(kind="appeal", status="pending")}
    site = console.management.directory().home_window(staff)
    since = today_at(request, site.site) - APPEAL_WINDOW if site else date.min
    rows = [
        v
        for v in console.management.violations(staff=staff)
        if v.status != "voided"
        and v.violation_id not in pending
        and (v.day >= since or v.violation_id == also)
    ]
    return sorted(rows, key=lambda v: v.at, reverse=True)


def violation_words(v: ViolationRecord, lang: Language) -> str:
    return f"{v.day} {rule_word(v.rule, rules_language(lang))}"


def raiser(request: Request, raised_by: str, lang: Language) -> str:
    """Who raised a request, in words: the person themself through a link, the account's
    name through the console, the operator at a command line."""
    user, _, through = raised_by.rpartition(" via ")
    console = console_of(request)
    if through == "link":
        name = console.management.directory().name(user, rules_language(lang))
        return f"{name}（{t('req.via_link', lang)}）"
    if through == "console":
        account = console.store.console_account(user)
        return account.display_name if account else user
    return f"{user or raised_by}（{t('req.via_cli', lang)}）"


def request_row(request: Request, r: Asked, lang: Language) -> dict[str, object]:
    """A request as a person reads it: who, what is asked (the violation, linked), why,
    who raised it and when, and how it was decided."""
    console = console_of(request)
    words = rules_language(lang)
    zone = console.management.policy.zone(r.site)
    violation = console.store.violation(r.violation_id) if r.violation_id else None
    if r.kind == "punch" and r.at is not None:
        asked, month = f"{moment(r.at, zone)} {punch_word(r.action, words)}", r.at.astimezone(zone)
    elif violation is not None:
        asked, month = violation_words(violation, lang), violation.day
    else:
        asked, month = r.violation_id or "", r.raised_at.astimezone(zone)
    return {
        "r": r,
        "name": console.management.directory().name(r.staff_id, words),
        "kind": request_kind_word(r.kind, words),
        "asked": asked,
        "violation": violation,
        "month": month.strftime("%Y-%m"),
        "raised_by": raiser(request, r.raised_by, lang),
        "raised_at": moment(r.raised_at, zone),
        "status": request_status_word(r.status, words),
        "decided_by": r.decided_by and raiser(request, f"{r.decided_by} via console", lang),
        "decided_at": r.decided_at and moment(r.decided_at, zone),
    }


# -- the list ------------------------------------------------------------------------------
def _page(
    request: Request,
    who: Session,
    site: str,
    *,
    error: str = "",
    failed: str = "",
    typed: str = "",
    new_link: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    console = console_of(request)
    lang = language(request, who)
    words = rules_language(lang)
    directory = console.management.directory()
    status = request.query_params.get("status", "").strip()
    month = request.query_params.get("month", "").strip()
    rows = [
        request_row(request, r, lang)
        for r in console.management.requests(status=status or None)  # type: ignore[arg-type]
        if r.site == site
    ]
    rows = [row for row in rows if not month or row["month"] == month]
    rows.sort(key=lambda row: row["r"].raised_at, reverse=True)  # type: ignore[attr-defined]
    rows.sort(key=lambda row: row["r"].status != "pending")  # type: ignore[attr-defined]
    zone = console.management.policy.zone(site)
    return render(
        request,
        "requests.html",
        who,
        status_code,
        site=site,
        sites=sites_of(request, who),
        pick_month=month,
        status=status,
        statuses=[(code, request_status_word(code, words)) for code in REQUEST_STATUSES],
        rows=rows,
        error=error,
        failed=failed,
        typed=typed,
        staff=[
            (m.staff_id, directory.name(m.staff_id, words)) for m in hall_staff(directory, site)
        ],
        links=[
            {
                "link": link,
                "name": directory.name(link.staff_id, words),
                "by": raiser(request, f"{link.created_by} via console", lang),
                "expires": moment(link.expires_at, zone),
            }
            for link in links_of(request).live(site)
        ],
        link_days=f"{console.settings.request_link_days:g}",
        new_link=new_link,
    )


@requires("manager")
async def requests_page(request: Request, who: Session) -> Response:
    return _page(request, who, chosen_site(request, who))


def _pending(request: Request, who: Session) -> Asked:
    return theirs(who, console_of(request).store.request(request.path_params["id"]))


@requires("manager")
async def decide(request: Request, who: Session) -> Response:
    asked = _pending(request, who)
    form = await request.form()
    reason = str(form.get("reason", ""))
    try:
        decision = str(form.get("decision", ""))
        if decision not in {"approve", "reject"}:
            raise InvalidInput("请选择批准或驳回")
        console_of(request).management.decide_request(
            who.actor, asked.request_id, decision == "approve", reason
        )
    except REFUSALS as refused:
        return _page(
            request, who, asked.site, error=str(refused), failed=asked.request_id, typed=reason,
            status_code=409,
        )  # fmt: skip
    return RedirectResponse(f"/requests?site={asked.site}", 303)


# -- raising one on a person's behalf ------------------------------------------------------
def _new_page(
    request: Request, who: Session, entered: Entered, error: str = "", status_code: int = 200
) -> Response:
    console = console_of(request)
    lang = language(request, who)
    words = rules_language(lang)
    directory = console.management.directory()
    if entered.violation and not entered.staff:  # from a violation's page: its person
        v = visible(request, who, entered.violation)
        entered = replace(entered, staff=v.staff_id, kind="appeal")
    site = staff_site(request, who, entered.staff) if entered.staff else chosen_site(request, who)
    chosen = entered.staff if entered.kind in {"punch", "appeal"} else ""
    return render(
        request,
        "request_new.html",
        who,
        status_code,
        site=site,
        sites=sites_of(request, who),
        entered=entered,
        chosen=chosen,
        name=directory.name(chosen, words) if chosen else "",
        staff=[
            (m.staff_id, directory.name(m.staff_id, words)) for m in hall_staff(directory, site)
        ],
        kinds=[(k, request_kind_word(k, words)) for k in ("punch", "appeal")],
        actions=[(a, punch_word(a, words)) for a in PUNCH_ACTIONS],
        violations=[
            (v.violation_id, violation_words(v, lang))
            for v in (appealable(request, chosen, entered.violation) if chosen else [])
        ],
        error=error,
    )


@requires("manager")
async def new_page(request: Request, who: Session) -> Response:
    return _new_page(request, who, Entered.of(dict(request.query_params)))


def raise_as(request: Request, actor: Actor, staff: str, entered: Entered) -> Asked:
    """Raise what `entered` asks, for `staff`: a punch correction, or an appeal against one
    of the person's own violations (another's is refused)."""
    management = console_of(request).management
    if entered.kind == "punch":
        return management.raise_request(
            actor, staff=staff, at=punch_moment(entered.at), action=entered.action,
            reason=entered.reason,
        ).request  # fmt: skip
    if entered.kind != "appeal":
        raise InvalidInput("请选择补卡或申诉")
    violation = console_of(request).store.violation(entered.violation)
    if violation is None or violation.staff_id != staff:
        raise Refused(f"只能对本人的违规提出申诉（{management.directory().name(staff)}）")
    return management.raise_request(
        actor, violation_id=entered.violation, reason=entered.reason
    ).request


@requires("manager")
async def raise_request(request: Request, who: Session) -> Response:
    entered = Entered.of(await request.form())
    site = staff_site(request, who, entered.staff)
    try:
        raise_as(request, who.actor, entered.staff, entered)
    except REFUSALS as refused:
        return _new_page(request, who, entered, str(refused), 409)
    return RedirectResponse(f"/requests?site={site}", 303)


# -- request links -------------------------------------------------------------------------
@requires("manager")
async def make_link(request: Request, who: Session) -> Response:
    form = await request.form()
    staff = str(form.get("staff", "")).strip()
    site = staff_site(request, who, staff)
    token, link = links_of(request).issue(who.actor, staff, site, client_address(request))
    lang = language(request, who)
    name = console_of(request).management.directory().name(staff, rules_language(lang))
    url = f"{str(request.base_url).rstrip('/')}{LINK_PATH}{token}"
    zone = console_of(request).management.policy.zone(site)
    new_link = {"name": name, "url": url, "expires": moment(link.expires_at, zone)}
    return _page(request, who, site, new_link=new_link)


@requires("manager")
async def revoke_link(request: Request, who: Session) -> Response:
    links = links_of(request)
    try:
        link = links.get(request.path_params["id"])
    except REFUSALS:
        raise HTTPException(404) from None
    in_scope(who, link.site)
    try:
        links.revoke(who.actor, link, client_address(request))
    except REFUSALS as refused:
        return _page(request, who, link.site, error=str(refused), status_code=409)
    return RedirectResponse(f"/requests?site={link.site}", 303)


routes = [
    Route("/requests", requests_page, methods=["GET"]),
    Route("/requests/new", new_page, methods=["GET"]),
    Route("/requests/new", raise_request, methods=["POST"]),
    Route("/requests/links", make_link, methods=["POST"]),
    Route("/requests/links/{id}/revoke", revoke_link, methods=["POST"]),
    Route("/requests/{id}/decide", decide, methods=["POST"]),
]
