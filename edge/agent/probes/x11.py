"""X11: the EWMH active window, its process, and XScreenSaver idle time (python-xlib).

The window's process comes from `_NET_WM_PID`, else from the X server itself (the
X-Resource extension knows the pid of every local client, even of old toolkits that never
set `_NET_WM_PID`), else the window class names the app.
"""

from __future__ import annotations

import contextlib
import getpass

from Xlib import X, display, error
from Xlib.ext import res

from base.errors import HallwatchError
from edge.agent.foreground import NO_WINDOW, UNKNOWN_APP, Foreground, process_foreground
from edge.agent.probes.logind import LogindIdle


class X11Unavailable(HallwatchError, RuntimeError):
    """No X display to talk to (not running, or access refused)."""


class X11Desktop:
    name = "x11"

    def __init__(self, display_name: str) -> None:
        self.display_name = display_name
        self._connect()
        self._fallback_idle = LogindIdle()

    def _connect(self) -> None:
        try:
            self._display = display.Display(self.display_name)
        except (error.DisplayError, error.ConnectionClosedError, OSError) as exc:
            raise X11Unavailable(f"cannot open X display {self.display_name!r}: {exc}") from None
        self._root = self._display.screen().root
        self._active = self._display.intern_atom("_NET_ACTIVE_WINDOW")
        self._pid = self._display.intern_atom("_NET_WM_PID")
        self._name = self._display.intern_atom("_NET_WM_NAME")
        self._utf8 = self._display.intern_atom("UTF8_STRING")
        self._has_idle = self._display.has_extension("MIT-SCREEN-SAVER")
        self._has_res = self._display.has_extension("X-Resource")
        self._lost = False

    def _reconnected(self) -> bool:
        """After the X server went away (logout, restart), try to reach it again."""
        if not self._lost:
            return True
        try:
            self._connect()
        except X11Unavailable:
            return False
        return True

    def foreground(self) -> Foreground:
        if not self._reconnected():
            return Foreground(app=UNKNOWN_APP, user=getpass.getuser())
        try:
            window_id = self._active_window()
            if window_id is None:
                return Foreground(app=NO_WINDOW, user=getpass.getuser())
            window = self._display.create_resource_object("window", window_id)
            title = self._title(window)
            wm_class = window.get_wm_class()
            fallback = wm_class[0] if wm_class else UNKNOWN_APP
            return process_foreground(self._window_pid(window, window_id), fallback, title)
        except (error.BadWindow, error.BadValue, error.BadMatch):
            # The window closed between two requests: the next sample sees its successor.
            return Foreground(app=NO_WINDOW, user=getpass.getuser())
        except (error.ConnectionClosedError, OSError):
            self._lost = True
            return Foreground(app=UNKNOWN_APP, user=getpass.getuser())

    def idle_s(self) -> float | None:
        if self._lost or not self._has_idle:
            return self._fallback_idle.idle_s()
        try:
            return self._root.screensaver_query_info().idle / 1000.0
        except (error.ConnectionClosedError, OSError):
            self._lost = True
            return self._fallback_idle.idle_s()

    def close(self) -> None:
        with contextlib.suppress(error.ConnectionClosedError, OSError):  # server already gone
            self._display.close()

    def _active_window(self) -> int | None:
        prop = self._root.get_full_property(self._active, X.AnyPropertyType)
        if prop is None or not prop.value or prop.value[0] == 0:
            return None
        return int(prop.value[0])

    def _window_pid(self, window, window_id: int) -> int | None:
        prop = window.get_full_property(self._pid, X.AnyPropertyType)
        if prop is not None and prop.value:
            return int(prop.value[0])
        if not self._has_res:
            return None
        reply = self._display.res_query_client_ids(
            [{"client": window_id, "mask": res.LocalClientPIDMask}]
        )
        for client in reply.ids:
            if client.value:
                return int(client.value[0])
        return None

    def _title(self, window) -> str | None:
        prop = window.get_full_property(self._name, self._utf8)
        if prop is not None and prop.value:
            value = prop.value
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        name = window.get_wm_name()
        return name if isinstance(name, str) and name else None
