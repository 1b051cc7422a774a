"""Signing in and out of the console, CSRF, roles and sites, escaping, and the account
commands: a real console (uvicorn) on SQLite and PostgreSQL, in Debian's chromium."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from hallwatch.console.accounts import Accounts, Session, SignInRefused
from hallwatch.console.web import in_scope, requires
from rules.backend import open_store
from tests.command_helpers import HALLWATCH, run_hallwatch
from tests.conftest import REPO
from tests.support.browser import PASSWORD, console_config, free_port


# Probes served beside the pages: a manager-only page of a site, as pages will have.
@requires("manager")
async def site_probe(request: Request, who: Session) -> Response:
    site = in_scope(who, request.path_params["site"])
    return PlainTextResponse(f"site {site} for {who.actor.entered_by}")


CONSOLE_ROUTES = [Route("/probe/{site}", site_probe)]


def _audit(server, what):
    return [row for row in server.store.console_audit() if row.what == what]


def test_sign_in_shows_the_home_page_and_sign_out_ends_the_session(
    console_server, browser_page, signed_in, screenshot
):
    console_server.add_user("wang", "manager", ("hall-01",), display_name="王芳")
    page = browser_page
    page.goto(console_server.url + "/")
    assert page.url.endswith("/login?next=/")  # not signed in: the sign-in form
    assert page.locator("h1").inner_text() == "登录大厅管理平台"
    screenshot(page, "sign-in")

    signed_in(page, console_server, "wang")
    assert page.locator("h1").inner_text() == "欢迎，王芳"
    assert page.locator("header .who").inner_text() == "王芳"
    for words in ("实时大厅", "每日巡查", "违规", "月度考核", "人员与设备"):
        assert page.locator("nav.pages").get_by_text(words, exact=True).count() == 1
    screenshot(page, "home")

    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/login")
    page.goto(console_server.url + "/")
    assert "/login" in page.url  # the session is over
    signed_in_rows, signed_out_rows = (
        _audit(console_server, "sign_in"),
        _audit(console_server, "sign_out"),
    )
    assert [(r.who, r.address) for r in signed_in_rows] == [("wang", "127.0.0.1")]
    assert [(r.who, r.address) for r in signed_out_rows] == [("wang", "127.0.0.1")]


def test_english_is_a_click_away_and_kept_in_the_account(console_server, browser_page, signed_in):
    console_server.add_user("li", "viewer", ("hall-01",), display_name="李明")
    signed_in(browser_page, console_server, "li")
    browser_page.get_by_role("button", name="English").click()
    assert browser_page.locator("h1").inner_text() == "Welcome, 李明"
    assert console_server.accounts.get("li").lang == "en"


def test_a_wrong_password_is_refused_and_repeated_failures_are_throttled(
    console_server, browser_page, signed_in
):
    console_server.add_user("wang", "manager")
    page = browser_page
    for _ in range(5):
        signed_in(page, console_server, "wang", "not the password")
        assert page.locator(".error").inner_text() == "账号或密码错误。"
    signed_in(page, console_server, "wang")  # the right password, too late
    assert page.locator(".error").inner_text() == "登录失败次数过多，请 15 分钟后再试。"
    assert "/login" in page.url
    refused = _audit(console_server, "sign_in_refused")
    assert [r.detail for r in refused] == ["wrong password"] * 5 + ["throttled"]
    assert {(r.who, r.address) for r in refused} == {("wang", "127.0.0.1")}
    # An unknown name gets the same answer as a wrong password.
    signed_in(page, console_server, "nobody", "whatever1")
    assert page.locator(".error").inner_text() == "账号或密码错误。"


def test_a_post_without_the_csrf_token_is_refused(console_server, browser_page, signed_in):
    console_server.add_user("wang", "manager")
    page = browser_page
    signed_in(page, console_server, "wang")
    # The page's own cookies, without the form's token: 403, and still signed in.
    refused = page.request.post(console_server.url + "/logout", form={"next": "/"})
    assert refused.status == 403
    forged = page.request.post(console_server.url + "/logout", form={"csrf": "forged"})
    assert forged.status == 403
    page.goto(console_server.url + "/")
    assert page.locator("h1").inner_text().startswith("欢迎")
    # With the token the page carries, the same request works.
    token = page.locator("form[action='/logout'] input[name=csrf]").get_attribute("value")
    done = page.request.post(console_server.url + "/logout", form={"csrf": token})
    assert done.ok and done.url.endswith("/login")
    # The sign-in form's own token is checked too.
    posted = page.request.post(
        console_server.url + "/login", form={"user": "wang", "password": PASSWORD}
    )
    assert posted.status == 403


def test_roles_and_sites_bound_what_a_person_reaches(console_server, browser_page, signed_in):
    console_server.add_user("viewer-a", "viewer", ("hall-a",))
    console_server.add_user("manager-a", "manager", ("hall-a",))
    page = browser_page
    signed_in(page, console_server, "viewer-a")
    assert page.goto(console_server.url + "/probe/hall-a").status == 403
    assert "无权访问此页面" in page.content()
    page.get_by_role("button", name="退出").click()

    signed_in(page, console_server, "manager-a")
    own = page.goto(console_server.url + "/probe/hall-a")
    assert own.status == 200 and page.inner_text("body") == "site hall-a for manager-a via console"
    other = page.goto(console_server.url + "/probe/hall-b")
    unknown = page.goto(console_server.url + "/probe/no-such-hall")
    # Hall B looks exactly like a hall that does not exist.
    assert other.status == unknown.status == 404
    assert "hall-b" not in page.content()


def test_markup_in_a_name_is_shown_as_text(console_server, browser_page, signed_in):
    name = "<script>window.pwned = 1</script>王<b>芳</b>"
    console_server.add_user("wang", "viewer", display_name=name)
    signed_in(browser_page, console_server, "wang")
    assert browser_page.locator("header .who").inner_text() == name
    assert browser_page.evaluate("window.pwned") is None
    assert browser_page.locator("header b").count() == 0


def _config_file(tmp_path, store_at, port: int = 8080):
    config = console_config(tmp_path, store_at(), port)
    path = tmp_path / "console.toml"
    db = config.console.db
    path.write_text(
        "[console]\n"
        f"db = {json.dumps(str(db))}\n"
        f"policy = {json.dumps(str(config.console.policy))}\n"
        f"port = {port}\n"
        f"session_secret_file = {json.dumps(str(tmp_path / 'console-secret'))}\n"
        "cookie_secure = false\n"
    )
    return path


def test_user_commands_manage_accounts_in_the_store(store_at, tmp_path):
    config = _config_file(tmp_path, store_at)

    def user(*args: str, password: str | None = None):
        stdin = ["--password-stdin"] if password is not None else []
        return run_hallwatch(
            "console", "user", *args, *stdin, "--config", str(config), input=password
        )

    added = user(
        "add",
        "wang",
        "--role",
        "manager",
        "--site",
        "hall-01",
        "--display-name",
        "王芳",
        password="first-password",
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "added wang (manager, sites hall-01)"
    again = user("add", "wang", "--role", "viewer", "--site", "hall-01", password="another-one")
    assert again.returncode == 1 and "console account 'wang' exists" in again.stderr
    short = user("add", "li", "--role", "viewer", "--site", "hall-01", password="short")
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
    bad_site = user("add", "li", "--role", "viewer", "--site", "Hall 1", password="long-enough")
    assert bad_site.returncode == 1 and "invalid site id 'Hall 1'" in bad_site.stderr
    everywhere = user("add", "ops", "--role", "admin", "--site", "*", password="ops-password")
    assert everywhere.returncode == 0, everywhere.stderr

    listed = json.loads(user("list", "--json").stdout)
    assert [
        (a["user"], a["display_name"], a["role"], a["sites"], a["disabled"]) for a in listed
    ] == [
        ("ops", "ops", "admin", ["*"], False),
        ("wang", "王芳", "manager", ["hall-01"], False),
    ]
    assert "password" not in json.dumps(listed)

    store = open_store(store_at())
    try:
        accounts = Accounts(store)
        session, _token = accounts.sign_in("wang", "first-password", "10.0.0.7")
        assert session.account.display_name == "王芳"

        assert user("passwd", "wang", password="second-password").returncode == 0
        try:
            accounts.sign_in("wang", "first-password", None)
            raise AssertionError("the old password still works")
        except SignInRefused:
            pass
        _, token = accounts.sign_in("wang", "second-password", None)
        assert accounts.session(token) is not None

        assert user("disable", "wang").returncode == 0
        assert accounts.session(token) is None  # its open sessions ended at once
        try:
            accounts.sign_in("wang", "second-password", None)
            raise AssertionError("a disabled account signed in")
        except SignInRefused:
            pass
        assert "(disabled)" in user("list").stdout
        missing = user("disable", "nobody")
        assert missing.returncode == 1 and "no console account 'nobody'" in missing.stderr

        edits = [(r.what, r.target) for r in store.console_audit() if r.what.startswith("account")]
        assert edits == [
            ("account_add", "wang"),
            ("account_add", "ops"),
            ("account_edit", "wang"),
            ("account_disable", "wang"),
        ]
        assert all(
            r.who.endswith(" via cli")
            for r in store.console_audit()
            if r.what.startswith("account")
        )
    finally:
        store.close()


def test_the_console_command_serves(store_at, tmp_path):
    port = free_port()
    config = _config_file(tmp_path, store_at, port)
    server = subprocess.Popen(
        [*HALLWATCH, "console", "--config", str(config)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login") as reply:
                    page = reply.read().decode()
                break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "the console did not start"
                time.sleep(0.1)
        assert "登录大厅管理平台" in page
        assert (tmp_path / "console-secret").stat().st_mode & 0o777 == 0o600
    finally:
        server.terminate()
        # uvicorn shuts down gracefully, then re-raises the signal it was stopped by.
        assert server.wait(15) in (0, -signal.SIGTERM)
