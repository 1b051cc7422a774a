"""Signing in and out, and choosing the language: the only routes without `requires`
(the sign-in form has its own CSRF token, a cookie it must match)."""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hallwatch.console.accounts import Session, SignInRefused
from hallwatch.console.i18n import LANGUAGES, t
from hallwatch.console.web import (
    CSRF_FIELD,
    LANG_COOKIE,
    SESSION_COOKIE,
    client_address,
    console_of,
    current_session,
    language,
    render,
    requires,
)

LOGIN_COOKIE = "hw_login"  # the sign-in form's CSRF token (double submit)
YEAR_S = 365 * 24 * 3600


def _local(target: str | None) -> str:
    """Where to go after signing in: a path of this console, never another site."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def _form(request: Request, status_code: int = 200, error: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "sign_in.html",
        None,
        status_code,
        login_csrf=token,
        error=error,
        next=_local(request.query_params.get("next")),
        languages=LANGUAGES,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        secure=console_of(request).settings.cookie_secure,
        samesite="strict",
        path="/login",
    )
    return response


async def sign_in_form(request: Request) -> Response:
    if current_session(request) is not None:
        return RedirectResponse(_local(request.query_params.get("next")), 303)
    chosen = request.query_params.get("lang")
    if chosen in LANGUAGES:  # the language links of the sign-in page
        response = RedirectResponse("/login", 303)
        response.set_cookie(LANG_COOKIE, chosen, max_age=YEAR_S, samesite="lax")
        return response
    return _form(request)


async def sign_in(request: Request) -> Response:
    form = await request.form()
    sent, expected = str(form.get(CSRF_FIELD, "")), request.cookies.get(LOGIN_COOKIE, "")
    lang = language(request)
    if not expected or not hmac.compare_digest(sent, expected):
        return _form(request, 403, t("sign_in.expired", lang))
    console = console_of(request)
    try:
        _, token = console.accounts.sign_in(
            str(form.get("user", "")), str(form.get("password", "")), client_address(request)
        )
    except SignInRefused as refused:
        if refused.throttled:
            return _form(request, 429, t("sign_in.throttled", lang, minutes=refused.minutes))
        return _form(request, 401, t("sign_in.refused", lang))
    response = RedirectResponse(_local(str(form.get("next", ""))), 303)
    console.set_session_cookie(response, token)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@requires("viewer")
async def sign_out(request: Request, who: Session) -> Response:
    console_of(request).accounts.sign_out(who, client_address(request))
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@requires("viewer")
async def choose_language(request: Request, who: Session) -> Response:
    form = await request.form()
    chosen = str(form.get("lang", ""))
    if chosen in LANGUAGES:
        console_of(request).accounts.set_lang(who.account.user, chosen)
    response = RedirectResponse(_local(str(form.get("next", ""))), 303)
    response.set_cookie(LANG_COOKIE, chosen, max_age=YEAR_S, samesite="lax")
    return response


routes = [
    Route("/login", sign_in_form, methods=["GET"]),
    Route("/login", sign_in, methods=["POST"]),
    Route("/logout", sign_out, methods=["POST"]),
    Route("/lang", choose_language, methods=["POST"]),
]
