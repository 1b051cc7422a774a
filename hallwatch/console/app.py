"""The console's ASGI application: routes, templates, static files, error pages, and the
lifespan that starts and stops its background services."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from hallwatch.console.accounts import Accounts
from hallwatch.console.config import ConsoleConfig, session_secret
from hallwatch.console.pages import NAV, ROUTES, request_link, sign_in
from hallwatch.console.services import Service, Services
from hallwatch.console.web import SAFE_METHODS, Console, current_session, render, templates_env
from rules.announce import Connecting
from rules.backend import open_store
from rules.manage import Management
from rules.policy import load_policy
from rules.store import Store

HERE = Path(__file__).parent
# The only routes that change something without `web.requires` (they check their own token).
UNGUARDED = {sign_in.sign_in, request_link.own_raise}


def _check_guarded(routes: Iterable[BaseRoute]) -> None:
    """Every route that changes something checks who and their CSRF token (`requires`)."""
    for route in routes:
        if not isinstance(route, Route) or set(route.methods or ()) <= SAFE_METHODS:
            continue
        if route.endpoint not in UNGUARDED and not hasattr(route.endpoint, "hallwatch_role"):
            raise TypeError(f"console route {route.path} changes state without web.requires")


async def _error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    return render(request, "error.html", current_session(request), status, status=status)


def create_app(
    config: ConsoleConfig,
    *,
    store: Store | None = None,
    services: Iterable[tuple[str, Service]] = (),
    accounts: Accounts | None = None,
    extra_routes: Iterable[BaseRoute] = (),
) -> Starlette:
    """The console for `config`; `store` defaults to opening `[console] db` (and is
    closed with the app only then). `extra_routes` come after the pages' (tests add
    probes there; a page belongs in pages/)."""
    settings = config.console
    owned = store is None
    store = store or open_store(settings.db)
    registry = Services()
    for name, service in services:
        registry.add(name, service)
    routes: list[BaseRoute] = [
        *ROUTES,
        *extra_routes,
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    _check_guarded(routes)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await registry.start()
        try:
            yield
        finally:
            await registry.stop()
            if owned:
                store.close()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={403: _error, 404: _error},
    )
    app.state.services = registry
    app.state.console = Console(
        settings,
        store,
        Management(
            store,
            load_policy(settings.policy),
            Connecting(config.announce) if config.announce is not None else None,
        ),
        accounts
        or Accounts(
            store,
            session_hours=settings.session_hours,
            throttle_failures=settings.throttle_failures,
            throttle_minutes=settings.throttle_minutes,
        ),
        Jinja2Templates(env=templates_env(str(HERE / "templates"))),
        session_secret(settings.session_secret_file),
        NAV,
    )
    return app
