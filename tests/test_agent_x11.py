"""The workstation agent on a real X display: Xvfb, openbox, X clients and xdotool."""

from __future__ import annotations

import time

import pytest

from edge.agent.desktop import open_desktop
from edge.agent.probes.x11 import X11Desktop, X11Unavailable
from tests.support.xsession import XSession


@pytest.fixture
def xsession(tmp_path):
    with XSession(tmp_path) as session:
        yield session


def test_the_focused_windows_application_is_reported(xsession):
    editor, editor_window = xsession.app("gedit")
    game, game_window = xsession.app("minesweeper", title="Minesweeper - level 3")
    desktop = X11Desktop(xsession.display)
    try:
        xsession.activate(editor_window)
        seen = desktop.foreground()
        assert (seen.app, seen.pid) == ("gedit", editor.pid)
        xsession.activate(game_window)
        seen = desktop.foreground()
        assert (seen.app, seen.pid, seen.title) == (
            "minesweeper",
            game.pid,
            "Minesweeper - level 3",
        )
        game.terminate()
        game.wait(5)
        # The game's window is gone: whatever openbox focuses next, it is not the game.
        assert desktop.foreground().app != "minesweeper"
    finally:
        desktop.close()


def test_idle_time_grows_without_input_and_resets_on_input(xsession):
    desktop = X11Desktop(xsession.display)
    try:
        xsession.xdotool("mousemove", "5", "5")
        first = desktop.idle_s()
        time.sleep(1.5)
        later = desktop.idle_s()
        assert later >= first + 1.4
        xsession.xdotool("mousemove", "200", "150")
        assert desktop.idle_s() < 0.5
        time.sleep(1.0)
        xsession.xdotool("key", "shift")
        assert desktop.idle_s() < 0.5
    finally:
        desktop.close()


def test_a_display_that_is_not_there_is_a_clear_error(tmp_path):
    with pytest.raises(X11Unavailable, match="cannot open X display ':4097'"):
        X11Desktop(":4097")


def test_an_x_server_that_goes_away_is_reported_as_unknown(xsession):
    _, editor = xsession.app("soffice")
    desktop = X11Desktop(xsession.display)
    xsession.activate(editor)
    assert desktop.foreground().app == "soffice"
    xsession.stop()  # the session ends (logout): the agent keeps going
    assert desktop.foreground().app == "unknown"
    assert desktop.foreground().app == "unknown"  # reconnecting fails quietly
    idle = desktop.idle_s()  # from logind's hint if it has one; never an X error
    assert idle is None or idle >= 0
    desktop.close()


def test_without_a_desktop_to_probe_the_app_is_a_clear_unknown(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    for desktop in (open_desktop(), open_desktop(":4097")):
        assert desktop.name == "unknown"
        assert desktop.foreground().app == "unknown"
