"""The hall console: a web application (Starlette + Jinja2 + htmx, served by uvicorn) for
admins, hall managers, inspectors and the hall's big screen. Chinese first, English
selectable.

Module map:
- `config.py`    `[console]` settings (ConsoleConfig: `[broker]` + `[console]`), the cookie key.
- `accounts.py`  accounts, roles, sign-in with throttling, sessions (the CLI's API too);
                 their tables are rules/account_store.py's, in the rules store.
- `web.py`       what a handler uses: `requires(role)`, `in_scope(who, site)`, `render`,
                 `console_of(request)` (settings, store, management API, accounts).
- `i18n.py`      `t(key, lang)` and the console's own words (`WORDS`).
- `services.py`  background services started and stopped with the app (`app.state.services`).
- `app.py`       `create_app(config, store=..., services=...)`: routes, static, errors, lifespan.
- `pages/`       one module per page, each with `routes`; `pages/__init__.py` lists them
                 (`ROUTES`) and the navigation bar (`NAV`).
- `cli.py`       `hallwatch console --config FILE [user add|passwd|disable|list]`.
- `templates/`   `base.html` (header, nav, language, sign-out) and one template per page.
- `static/`      `console.css`; `vendor/` htmx and its SSE extension (see its README.md).

How to add a page (say the violations list, for managers):

1. `pages/violations.py`::

       @requires("viewer")                      # viewer < inspector < manager < admin
       async def violations(request: Request, who: Session) -> Response:
           site = in_scope(who, request.query_params["site"])   # 404 if not theirs
           rows = console_of(request).management.violations(...)
           return render(request, "violations.html", who, rows=rows, site=site)

       @requires("manager")                     # the CSRF token is checked here too
       async def void(request: Request, who: Session) -> Response:
           form = await request.form()
           console_of(request).management.void(form["id"], form["reason"], who.actor)
           return RedirectResponse(..., 303)

       routes = [Route("/violations", violations), Route("/violations/void", void,
                 methods=["POST"])]

   `who.actor` is the `rules.acting.Actor` (through="console") every action is audited
   with; `who.account` has `.role`, `.sites`, `.at_least(role)`, `.sees(site)`.
2. Add `*violations.routes` to `ROUTES` in `pages/__init__.py` (the nav entry is there).
   `create_app` refuses a POST route whose handler is not under `requires`.
3. `templates/violations.html` extends `base.html` (blocks `title`, `main`). Every form
   that posts carries `<input type="hidden" name="csrf" value="{{ csrf }}">`; htmx
   requests send it as the `X-CSRF-Token` header from `<body hx-headers=...>`.
   Autoescape is on: never mark text from people or devices `|safe`.
4. Words: `{{ t("key") }}` with the key added to `i18n.WORDS` in both languages; the
   regime's words (rules, statuses, actions) come from rules/words.py.
5. Tests: tests/console/ with the fixtures of tests/support/browser.py (`console_server`,
   `browser_page`, `signed_in`, `screenshot`).

Live data: a background service (the MQTT subscriber) is a `base.lifecycle.StartStop`
registered with `create_app(..., services=[("live", subscriber)])` or
`app.state.services.add(...)` before serving; the lifespan starts and stops it, and a
handler reaches it as `request.app.state.services["live"]` (see services.py).
"""
