"""After the demo's day: the console, set up on the demo's store (`make console`).

The demo writes `console.toml` beside its store and an admin account `demo` (its password
printed: a local demonstration, never a deployment), so the day just lived can be opened in
the browser at once.
"""

from __future__ import annotations

from pathlib import Path

from hallwatch.demo import hall

USER, PASSWORD, PORT = "demo", "demo-hall-2026", 8080


def console_toml(out: Path) -> str:
    folder = out.resolve()
    return (
        "# The hall console on the demo's store: `make console` (or `hallwatch console "
        f"--config {folder / 'console.toml'}`).\n"
        "[broker]  # live updates: the machine's own broker (the demo's is gone with the day)\n"
        'host = "127.0.0.1"\nport = 1883\n\n'
        "[console]\n"
        f'db = "{folder / "rules.db"}"\n'
        f'policy = "{folder / "policy.toml"}"\n'
        f"port = {PORT}\n"
        'site_name = "演示大厅"\n'
        f'session_secret_file = "{folder / "console-secret"}"\n'
        "cookie_secure = false  # plain http on this machine only\n"
    )


def set_up_console(out: Path) -> str:
    """Write the console's config and its demo account; the line that says how to open it."""
    from hallwatch.console.accounts import Accounts
    from rules.acting import Actor
    from rules.backend import open_store

    (out / "console.toml").write_text(console_toml(out), encoding="utf-8")
    store = open_store(out / "rules.db")
    try:
        Accounts(store).add(
            Actor("demo-admin", "cli"), USER, PASSWORD, "admin", ["*"], "演示管理员"
        )
    finally:
        store.close()
    return (
        f"open this day in the console: make console, then http://127.0.0.1:{PORT}"
        f"/inspection?site={hall.SITE}&date={hall.DAY} (sign in as {USER} / {PASSWORD})"
    )
