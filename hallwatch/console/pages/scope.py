"""What the manager's pages share: the halls a person may choose from, the one they chose,
the day and month asked for (today and this month in the hall's zone when not asked), the
hall's people, and the regime's language for the console's."""

from __future__ import annotations

from datetime import date, datetime

from starlette.exceptions import HTTPException
from starlette.requests import Request

from hallwatch.console.accounts import Session
from hallwatch.console.config import Language
from hallwatch.console.web import console_of, in_scope
from rules.acting import ManagementError
from rules.directory import Directory, StaffMember
from rules.manager_actions import ActionRefused
from rules.words import Language as RulesLanguage

# What the management API and the regime answer a request they cannot do as asked: shown
# beside the form, with what to do instead.
REFUSALS = (ManagementError, ActionRefused)


def rules_language(lang: Language) -> RulesLanguage:
    """The regime's words (rules/words.py) in the console's language."""
    return "zh" if lang == "zh-CN" else "en"


def sites_of(request: Request, who: Session) -> list[str]:
    """The halls of the directory (and the policy) this person may see, in order."""
    console = console_of(request)
    known = set(console.management.directory().sites) | set(console.management.policy.sites)
    known |= {w.site for w in console.management.directory().windows}
    return sorted(s for s in known if who.account.sees(s))


def hall_staff(directory: Directory, site: str) -> list[StaffMember]:
    """The people of a hall: those still in the directory whose latest posting is there."""
    return [
        m
        for m in directory.staff
        if m.active and (home := directory.home_window(m.staff_id)) and home.site == site
    ]


def staff_site(request: Request, who: Session, staff: str) -> str:
    """The hall `staff` works at, if it is the person's (else 404)."""
    window = console_of(request).management.directory().home_window(staff)
    if window is None:
        raise HTTPException(404)
    return in_scope(who, window.site)


def chosen_site(request: Request, who: Session) -> str:
    """The hall of `?site=` (404 unless it is theirs), else the first of theirs."""
    asked = request.query_params.get("site") or request.path_params.get("site")
    if asked:
        return in_scope(who, asked)
    sites = sites_of(request, who)
    if not sites:
        raise HTTPException(404)
    return sites[0]


def today_at(request: Request, site: str) -> date:
    return datetime.now(console_of(request).management.policy.zone(site)).date()


def chosen_day(request: Request, site: str, name: str = "date") -> date | None:
    """`?date=` as a date; None when not given; 400 when it is not YYYY-MM-DD."""
    text = request.query_params.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HTTPException(400, f"{text!r} is not a date (YYYY-MM-DD)") from None


def chosen_month(request: Request, site: str) -> str:
    """`?month=` (YYYY-MM), else this month in the hall's zone; 400 when malformed."""
    text = request.query_params.get("month", "").strip()
    if not text:
        return today_at(request, site).strftime("%Y-%m")
    try:
        date.fromisoformat(f"{text}-01")
    except ValueError:
        raise HTTPException(400, f"{text!r} is not a month (YYYY-MM)") from None
    return text
