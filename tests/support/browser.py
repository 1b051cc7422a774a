"""A real console in a real browser: uvicorn serving `create_app` on a free port in a
thread, against a rules store of each backend, and Debian's chromium driven by Playwright
(never a downloaded browser).

Fixtures (import them into a test module, or a conftest.py, with
`from tests.support.browser import *`):
- `console_server`: a running console on SQLite and on PostgreSQL (the `store_at`
  parameters); `.url`, `.store`, `.accounts`, `.add_user(...)`. A test module's
  `CONSOLE_ROUTES` (a list of Starlette routes), if it has one, is served too.
- `browser`: one headless chromium per test session.
- `browser_page`: a fresh context (no cookies) and page at 1920×1080.
- `signed_in`: `signed_in(page, server, user, password)` signs in through the form.
- `screenshot`: `screenshot(page, "name")` saves tests/artifacts/console/<name>.png (a
  stable path, git-ignored; the docs link the copies they show).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1920, "height": 1080}
ARTIFACTS = REPO / "tests" / "artifacts" / "console"
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ConsoleServer:
    url: str
    store: object
    accounts: object

    def add_user(
        self,
        user: str,
        role: str,
        sites: tuple[str, ...] = ("hall-01",),
        password: str = PASSWORD,
        display_name: str = "",
    ):
        from rules.acting import Actor

        return self.accounts.add(Actor("tests", "cli"), user, password, role, sites, display_name)


def console_config(tmp_path: Path, db: Path | str, port: int, **settings: object):
    """A console config for a test: plain HTTP on 127.0.0.1:`port`, an empty policy."""
    from hallwatch.console.config import ConsoleConfig

    policy = tmp_path / "policy.toml"
    policy.touch()
    return ConsoleConfig.model_validate(
        {
            "console": {
                "db": db,
                "policy": policy,
                "port": port,
                "session_secret_file": tmp_path / "console-secret",
                "cookie_secure": False,  # plain HTTP on the loopback
                "site_name": "测试政务服务大厅",
                **settings,
            }
        }
    )


def serve(config, store, routes=(), services=()) -> Iterator[ConsoleServer]:
    """Serve the console for `config` on `store` (and `routes`, and `services`: the live
    hub) in a thread."""
    import uvicorn

    from hallwatch.console.app import create_app

    app = create_app(config, store=store, extra_routes=routes, services=services)
    settings = config.console
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=settings.port,
            log_level="warning",
            timeout_graceful_shutdown=2,  # live pages' streams left open do not hold it up
        )
    )
    thread = threading.Thread(target=server.run, name="console", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the console did not start")
        time.sleep(0.02)
    try:
        yield ConsoleServer(f"http://127.0.0.1:{settings.port}", store, app.state.console.accounts)
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def console_server(request, store_at, tmp_path) -> Iterator[ConsoleServer]:
    """A console serving a fresh rules store, on SQLite and on PostgreSQL."""
    from rules.backend import open_store

    store = open_store(store_at())
    config = console_config(tmp_path, store_at(), free_port())
    try:
        yield from serve(config, store, getattr(request.module, "CONSOLE_ROUTES", ()))
    finally:
        store.close()


@pytest.fixture(scope="package")
def browser():
    """Debian's Chromium, for the browser tests' package: Playwright's synchronous API
    keeps an event loop of its own while it runs, so it is closed before the tests that
    drive asyncio themselves."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        yield launched
        launched.close()


@pytest.fixture
def browser_page(browser):
    """A page of its own context (its own cookies) at 1920×1080, Chinese by default."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def sign_in(page, server: ConsoleServer, user: str, password: str = PASSWORD) -> None:
    """Sign in through the sign-in form, as a person does."""
    page.goto(f"{server.url}/login")
    page.fill("input[name=user]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


@pytest.fixture
def signed_in() -> Callable[..., None]:
    return sign_in


def save_screenshot(page, name: str) -> Path:
    """The whole page as tests/artifacts/console/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    return save_screenshot
