"""Duty rosters (值班安排: 领导带班, 总服务台值班): a hall's roster for a week (or the days
asked for) by date and duty, names and the hours of each holder's sessions; for the hall's
managers a form putting a person on a duty, a button taking them off, and a roster file
(XLSX or CSV, the rows `hallwatch duty import` reads) checked first (every wrong row with
its number, nothing written) and imported whole once confirmed. Each through the
management API (rules/manage_rosters.py), audited with the signed-in person.

The confirmation carries the checked file back (base64 in the form), and the import checks
it again: what is imported is what the dry run showed, or it is refused as a whole.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import PurePath
from urllib.parse import urlencode

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hallwatch.console.accounts import Session
from hallwatch.console.config import Language
from hallwatch.console.hall_view import duty_hours
from hallwatch.console.i18n import t
from hallwatch.console.pages.scope import (
    REFUSALS,
    chosen_day,
    chosen_site,
    hall_staff,
    rules_language,
    sites_of,
    today_at,
)
from hallwatch.console.web import console_of, in_scope, language, render, requires
from rules.acting import InvalidInput
from rules.directory_edits import RowProblem
from rules.manage_directory import ImportRefused
from rules.rosters import DUTIES, ROSTER_HEADINGS, DutyAssignment, sessions_of
from rules.staff_file import StaffFileError, read_upload
from rules.words import duty_word

WEEK = 7
MOST_DAYS = 62  # the longest stretch one page lists
MOST_BYTES = 2 * 1024 * 1024  # a roster file larger than this is refused


@dataclass(frozen=True, slots=True)
class Entered:
    """What the manager chose and typed in the form, kept when it is shown again."""

    day: str = ""
    duty: str = ""
    staff: str = ""
    sessions: str = ""


@dataclass(frozen=True, slots=True)
class Checked:
    """A roster file after its dry run: what it would set, or why it cannot be imported
    (its wrong rows, or `problem`: it could not be read at all)."""

    source: str
    content: str = ""  # the file in base64, for the confirmation
    entries: tuple[DutyAssignment, ...] = ()
    wrong: tuple[RowProblem, ...] = ()
    problem: str = ""

    @property
    def refused(self) -> bool:
        return bool(self.wrong or self.problem)


def week_of(day: date) -> tuple[date, date]:
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=WEEK - 1)


def _days(request: Request, site: str) -> tuple[date, date]:
    """`?from=` .. `?to=` (both inclusive; at most MOST_DAYS), else this week."""
    first = chosen_day(request, site, "from")
    last = chosen_day(request, site, "to")
    if first is None:
        first, week_end = week_of(last or today_at(request, site))
        last = last or week_end
    last = max(last or first + timedelta(days=WEEK - 1), first)
    return first, min(last, first + timedelta(days=MOST_DAYS - 1))


def _week_url(site: str, first: date, last: date, **more: object) -> str:
    query = {"site": site, "from": first.isoformat(), "to": last.isoformat(), **more}
    return f"/duty?{urlencode(query)}"


def _page(
    request: Request,
    who: Session,
    site: str,
    days: tuple[date, date],
    *,
    entered: Entered = Entered(),
    error: str = "",
    checked: Checked | None = None,
    status_code: int = 200,
) -> Response:
    management = console_of(request).management
    lang = language(request, who)
    words = rules_language(lang)
    directory = management.directory()
    first, last = days
    roster = management.store.rosters(first, last, site=site)

    def line(e: DutyAssignment) -> dict[str, str]:
        return {
            "day": e.day.isoformat(),
            "duty": e.duty,
            "duty_word": duty_word(e.duty, words),
            "staff": e.staff_id,
            "name": directory.name(e.staff_id, words),
            "hours": duty_hours(management.policy, e, words),
        }

    dates = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    span = last - first + timedelta(days=1)
    return render(
        request,
        "duty.html",
        who,
        status_code,
        site=site,
        sites=sites_of(request, who),
        first=first,
        last=last,
        earlier=_week_url(site, first - span, last - span),
        later=_week_url(site, first + span, last + span),
        duties=[(d, duty_word(d, words)) for d in DUTIES],
        days=[
            {
                "day": day,
                "weekday": t(f"duty.weekday.{day.weekday()}", lang),
                "off": not management.policy.sessions(day),
                "holders": {
                    d: [line(e) for e in roster if (e.day, e.duty) == (day, d)] for d in DUTIES
                },
            }
            for day in dates
        ],
        staff=[
            (m.staff_id, directory.name(m.staff_id, words)) for m in hall_staff(directory, site)
        ],
        imported=request.query_params.get("imported", "").isdigit()
        and request.query_params["imported"],
        may_act=who.account.at_least("manager"),
        entered=entered,
        error=error,
        checked=checked,
        preview=[line(e) for e in checked.entries] if checked else [],
    )


@requires("viewer")
async def duty_page(request: Request, who: Session) -> Response:
    site = chosen_site(request, who)
    return _page(request, who, site, _days(request, site))


def _entered(form: FormData) -> Entered:
    return Entered(
        **{k: str(form.get(k, "")).strip() for k in ("day", "duty", "staff", "sessions")}
    )


def _checked_entry(entered: Entered, lang: Language) -> tuple[date, tuple[int, ...] | None]:
    """The form's date and sessions, or InvalidInput saying in the person's language what
    to write instead; a duty and a person must be chosen."""
    try:
        day = date.fromisoformat(entered.day)
    except ValueError:
        raise InvalidInput(t("duty.bad_date", lang, value=entered.day)) from None
    if entered.duty not in DUTIES:
        raise InvalidInput(t("duty.pick_duty", lang))
    if not entered.staff:
        raise InvalidInput(t("duty.pick_staff", lang))
    try:
        return day, sessions_of(entered.sessions)
    except ValueError:
        raise InvalidInput(t("duty.bad_sessions", lang, value=entered.sessions)) from None


@requires("manager")
async def assign(request: Request, who: Session) -> Response:
    form = await request.form()
    site = in_scope(who, str(form.get("site", "")))
    entered = _entered(form)
    management = console_of(request).management
    lang = language(request, who)
    try:
        day, sessions = _checked_entry(entered, lang)
        management.set_duty(who.actor, site, day, entered.duty, entered.staff, sessions)
    except REFUSALS as refused:
        shown = _days(request, site)
        return _page(
            request, who, site, shown, entered=entered, error=str(refused), status_code=409
        )
    return RedirectResponse(_week_url(site, *week_of(day)), 303)


@requires("manager")
async def remove(request: Request, who: Session) -> Response:
    form = await request.form()
    site = in_scope(who, str(form.get("site", "")))
    entered = _entered(form)
    management = console_of(request).management
    try:
        day, _ = _checked_entry(entered, language(request, who))
        management.remove_duty(who.actor, site, day, entered.duty, entered.staff)
    except REFUSALS as refused:
        return _page(request, who, site, _days(request, site), error=str(refused), status_code=409)
    return RedirectResponse(_week_url(site, *week_of(day)), 303)


async def _file_of(form: FormData, lang: Language) -> tuple[str, bytes]:
    """The roster file's name and bytes: the upload (a dry run), or the checked file the
    confirmation carries back."""
    if form.get("confirm"):
        try:
            return str(form.get("source", "")), base64.b64decode(str(form.get("content", "")))
        except binascii.Error:
            raise HTTPException(400) from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise InvalidInput(t("duty.pick_file", lang))
    data = await upload.read(MOST_BYTES + 1)
    if len(data) > MOST_BYTES:
        raise InvalidInput(t("duty.file_too_large", lang, mb=MOST_BYTES // 1024 // 1024))
    return PurePath(upload.filename).name, data


@requires("manager")
async def import_file(request: Request, who: Session) -> Response:
    form = await request.form()
    site = in_scope(who, str(form.get("site", "")))
    management = console_of(request).management
    confirm = bool(form.get("confirm"))
    shown = _days(request, site)
    source = ""
    try:
        source, data = await _file_of(form, language(request, who))
        rows = read_upload(source, data, ROSTER_HEADINGS)
        result = management.import_duties(who.actor, rows, source, site, dry_run=not confirm)
    except ImportRefused as refused:
        checked = Checked(source, wrong=refused.rows)
        return _page(request, who, site, shown, checked=checked, status_code=409)
    except (*REFUSALS, StaffFileError) as refused:
        checked = Checked(source, problem=str(refused))
        return _page(request, who, site, shown, checked=checked, status_code=409)
    if confirm:
        days = sorted(e.day for e in result.entries) or [shown[0]]
        url = _week_url(site, days[0], days[-1], imported=len(result.entries))
        return RedirectResponse(url, 303)
    content = base64.b64encode(data).decode("ascii")
    checked = Checked(source, content, result.entries)
    return _page(request, who, site, shown, checked=checked)


routes = [
    Route("/duty", duty_page, methods=["GET"]),
    Route("/duty", assign, methods=["POST"]),
    Route("/duty/remove", remove, methods=["POST"]),
    Route("/duty/import", import_file, methods=["POST"]),
]
