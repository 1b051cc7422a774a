"""What every page handler uses: who is signed in (`requires`), whether a site is theirs
(`in_scope`), rendering a template in their language (`render`), and the CSRF check
that `requires` makes on every request that changes something.

A handler is `async def page(request: Request, who: Session) -> Response` under
`@requires("viewer" | "inspector" | "manager" | "admin")`: without a session the person
is sent to the sign-in page; with too low a role they get 403; a POST (PUT, PATCH,
DELETE) whose form field `csrf` or header `X-CSRF-Token` is not the session's token gets
403 before the handler runs. `create_app` refuses a state-changing route not guarded so.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from hallwatch.console.accounts import Accounts, Session
from hallwatch.console.config import ConsoleSettings, Language
from hallwatch.console.i18n import lang_of, t
from rules.account_store import Role
from rules.manage import Management
from rules.store import Store

SESSION_COOKIE = "hw_session"
LANG_COOKIE = "hw_lang"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Handler = Callable[[Request, Session], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class NavItem:
    """An entry of the navigation bar: shown to accounts of `role` and above."""

    key: str  # i18n key of its words, and its id
    path: str
    role: Role = "viewer"


@dataclass(slots=True)
class Console:
    """What handlers reach through `request.app.state.console`."""

    settings: ConsoleSettings
    store: Store
    management: Management  # the same API as the CLI's: pass `who.actor` to its actions
    accounts: Accounts
    templates: Jinja2Templates
    secret: bytes
    nav: list[NavItem]

    # -- cookies -------------------------------------------------------------------------
    def sign(self, token: str) -> str:
        mac = hmac.new(self.secret, token.encode(), hashlib.sha256).hexdigest()
        return f"{token}.{mac}"

    def unsign(self, value: str) -> str | None:
        token, _, mac = value.rpartition(".")
        expected = hmac.new(self.secret, token.encode(), hashlib.sha256).hexdigest()
        return token if token and hmac.compare_digest(mac, expected) else None

    def set_session_cookie(self, response: Response, token: str) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            self.sign(token),
            max_age=int(self.settings.session_hours * 3600),
            httponly=True,
            secure=self.settings.cookie_secure,
            samesite="lax",
        )


def console_of(request: Request) -> Console:
    return request.app.state.console


def client_address(request: Request) -> str | None:
    """The client's address as uvicorn gives it (behind the proxy, with
    `--forwarded-allow-ips`, the address the proxy saw)."""
    return request.client.host if request.client else None


def current_session(request: Request) -> Session | None:
    """The signed-in person, or None (no cookie, a forged one, ended or expired)."""
    if "session" not in request.scope.setdefault("hallwatch", {}):
        console = console_of(request)
        token = console.unsign(request.cookies.get(SESSION_COOKIE, ""))
        request.scope["hallwatch"]["session"] = console.accounts.session(token) if token else None
    return request.scope["hallwatch"]["session"]


def language(request: Request, who: Session | None = None) -> Language:
    """The person's choice (their account's, else their cookie's), else the default."""
    default = console_of(request).settings.default_lang
    chosen = (who.account.lang if who else None) or request.cookies.get(LANG_COOKIE)
    return lang_of(chosen, default)


async def csrf_ok(request: Request, who: Session) -> bool:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return sent is not None and hmac.compare_digest(sent, who.csrf)


def requires(role: Role) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Decorate a handler that needs a signed-in person of `role` or above (see above)."""

    def decorate(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            who = current_session(request)
            if who is None:
                if request.method not in SAFE_METHODS:
                    raise HTTPException(403)
                return RedirectResponse(f"/login?next={quote(request.url.path)}", 303)
            if request.method not in SAFE_METHODS and not await csrf_ok(request, who):
                raise HTTPException(403)
            if not who.account.at_least(role):
                raise HTTPException(403)
            return await handler(request, who)

        endpoint.hallwatch_role = role  # type: ignore[attr-defined]  # create_app checks it
        return endpoint

    return decorate


def in_scope(who: Session, site: str) -> str:
    """`site` if it is one of the person's sites; else 404, the same answer as for a
    site that does not exist (a manager of hall A learns nothing about hall B)."""
    if not who.account.sees(site):
        raise HTTPException(404)
    return site


class OfAHall(Protocol):
    site: str


Found = TypeVar("Found", bound=OfAHall)


def theirs(who: Session, found: Found | None) -> Found:
    """A record looked up by its id, if it exists and its hall is the person's; else 404,
    the same answer either way."""
    if found is None:
        raise HTTPException(404)
    in_scope(who, found.site)
    return found


def render(
    request: Request,
    template: str,
    who: Session | None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """`template` in the person's language; every template has `t`, `lang`, `who`,
    `csrf` (the session's token for forms), `nav`, `site_name` and `path`."""
    console = console_of(request)
    lang = language(request, who)
    nav = [item for item in console.nav if who and who.account.at_least(item.role)]
    return console.templates.TemplateResponse(
        request,
        template,
        {
            "t": lambda key, **values: t(key, lang, **values),
            "lang": lang,
            "who": who,
            "csrf": who.csrf if who else "",
            "nav": nav,
            "site_name": console.settings.site_name,
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
    )


def templates_env(directory: str) -> Environment:
    """Jinja with HTML escaping on for every template (a `<script>` in a name is text)."""
    return Environment(loader=FileSystemLoader(directory), autoescape=True)
