"""Patrol findings (巡查记录): one screen an inspector uses on a tablet in the hall: pick
the window, then the person (or the whole window), the observed rule, a note and a photo
taken with the tablet's camera; below, the hall's findings of today. Each through the
management API (`add_finding`), audited with the signed-in person; the photos, stripped of
their metadata there, are served only to inspectors and up of the finding's hall.

The person and rule choices follow the window and the person (an htmx swap of
`_finding_choices.html`): a person's rules for a person, a window's for the whole window.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hallwatch.console.accounts import Session
from hallwatch.console.pages.scope import (
    REFUSALS,
    chosen_site,
    rules_language,
    sites_of,
    today_at,
)
from hallwatch.console.web import console_of, in_scope, language, render, requires
from rules.acting import InvalidInput, NotFound
from rules.directory import Directory
from rules.policy import OBSERVED_RULES
from rules.render import moment
from rules.words import Language as RulesLanguage
from rules.words import rule_word

# The photo is the finding's evidence, not the page's: nothing keeps a copy of it.
PHOTO_HEADERS = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True, slots=True)
class Entered:
    """What the inspector chose and typed, kept when the form is shown again."""

    window: str = ""
    staff: str = ""  # "" is the whole window
    rule: str = ""
    note: str = ""


def _choices(
    request: Request, site: str, entered: Entered, words: RulesLanguage
) -> dict[str, object]:
    """The windows of the hall, the people posted today at the chosen one (the first when
    none is chosen), and the observed rules that fit a person or the whole window."""
    console = console_of(request)
    directory = console.management.directory()
    windows = [w for w in directory.windows if w.site == site]
    window = entered.window if any(w.id == entered.window for w in windows) else ""
    window = window or (windows[0].id if windows else "")
    people = _people_at(directory, window, request, site, words)
    staff = entered.staff if any(s == entered.staff for s, _ in people) else ""
    applies_to = "person" if staff else "window"
    policy = console.management.policy
    return {
        "windows": [(w.id, w.name) for w in windows],
        "people": people,
        "rules": [
            (r, rule_word(r, words))
            for r in OBSERVED_RULES
            if policy.penalty(r).applies_to == applies_to
        ],
        "entered": Entered(window, staff, entered.rule, entered.note),
    }


def _people_at(
    directory: Directory, window: str, request: Request, site: str, words: RulesLanguage
) -> list[tuple[str, str]]:
    """(id, name) of the people posted at `window` today."""
    today = today_at(request, site)
    return [
        (m.staff_id, directory.name(m.staff_id, words))
        for m in directory.staff
        if (posted := directory.posting_on(m.staff_id, today)) and posted.id == window
    ]


def _page(
    request: Request,
    who: Session,
    site: str,
    entered: Entered = Entered(),
    error: str = "",
    status_code: int = 200,
) -> Response:
    console = console_of(request)
    words = rules_language(language(request, who))
    directory = console.management.directory()
    zone = console.management.policy.zone(site)
    today = console.management.findings(day=today_at(request, site), site=site)
    return render(
        request,
        "findings.html",
        who,
        status_code,
        site=site,
        sites=sites_of(request, who),
        error=error,
        rows=[
            {
                "f": f,
                "at": moment(f.at, zone),
                "of": directory.name(f.staff_id, words)
                if f.staff_id
                else directory.window_name(f.window or ""),
                "rule": rule_word(f.rule, words),
            }
            for f in reversed(today)
        ],
        **_choices(request, site, entered, words),
    )


@requires("inspector")
async def findings_page(request: Request, who: Session) -> Response:
    site = chosen_site(request, who)
    asked = Entered(window=request.query_params.get("window", ""))
    return _page(request, who, site, asked)


@requires("inspector")
async def choices(request: Request, who: Session) -> Response:
    """The person and rule choices for the window (and person) chosen: the htmx swap."""
    site = chosen_site(request, who)
    words = rules_language(language(request, who))
    asked = Entered(
        window=request.query_params.get("window", ""),
        staff=request.query_params.get("staff", ""),
        rule=request.query_params.get("rule", ""),
    )
    return render(request, "_finding_choices.html", who, **_choices(request, site, asked, words))


async def _photo_of(form: FormData) -> bytes | None:
    """The uploaded photo's bytes; None when none was chosen (the browser sends an empty
    part without a file name)."""
    upload = form.get("photo")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    return await upload.read()


def _record(request: Request, who: Session, site: str, entered: Entered, photo: bytes | None):
    management = console_of(request).management
    if entered.staff:
        posted = management.directory().posting_on(entered.staff, today_at(request, site))
        if posted is None or posted.id != entered.window:
            raise InvalidInput(f"{entered.staff} does not work at window {entered.window} today")
    management.add_finding(
        who.actor,
        site=site,
        rule=entered.rule,
        note=entered.note,
        staff=entered.staff or None,
        window=None if entered.staff else entered.window,
        photo=photo,
    )


@requires("inspector")
async def record(request: Request, who: Session) -> Response:
    form = await request.form()
    site = in_scope(who, str(form.get("site", "")))
    entered = Entered(
        **{k: str(form.get(k, "")).strip() for k in ("window", "staff", "rule")},
        note=str(form.get("note", "")),
    )
    try:
        _record(request, who, site, entered, await _photo_of(form))
    except REFUSALS as refused:
        return _page(request, who, site, entered, str(refused), 409)
    return RedirectResponse(f"/findings?{urlencode({'site': site, 'window': entered.window})}", 303)


@requires("inspector")
async def photo(request: Request, who: Session) -> Response:
    """A finding's photo, to inspectors and up of its hall; 404 for anything else."""
    console = console_of(request)
    finding = console.store.finding(request.path_params["id"])
    if finding is None or finding.photo is None:
        raise HTTPException(404)
    in_scope(who, finding.site)
    try:
        mime, data = console.management.finding_photo(finding.photo)
    except NotFound:
        raise HTTPException(404) from None  # pruned after its retention period
    return Response(data, media_type=mime, headers=PHOTO_HEADERS)


routes = [
    Route("/findings", findings_page, methods=["GET"]),
    Route("/findings", record, methods=["POST"]),
    Route("/findings/choices", choices, methods=["GET"]),
    Route("/findings/{id}/photo", photo, methods=["GET"]),
]
