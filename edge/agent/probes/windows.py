"""Windows: GetForegroundWindow and GetLastInputInfo through ctypes (no extra packages)."""

from __future__ import annotations

import ctypes
from ctypes import wintypes

from edge.agent.foreground import NO_WINDOW, Foreground, process_foreground


class _LastInputInfo(ctypes.Structure):
    _fields_ = [("cbSize", wintypes.UINT), ("dwTime", wintypes.DWORD)]


class WindowsDesktop:
    name = "windows"

    def __init__(self) -> None:
        self._user32 = ctypes.WinDLL("user32", use_last_error=True)
        self._kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        self._kernel32.GetTickCount.restype = wintypes.DWORD
        self._user32.GetForegroundWindow.restype = wintypes.HWND

    def foreground(self) -> Foreground:
        hwnd = self._user32.GetForegroundWindow()
        if not hwnd:
            return Foreground(app=NO_WINDOW)
        pid = wintypes.DWORD()
        self._user32.GetWindowThreadProcessId(hwnd, ctypes.byref(pid))
        length = self._user32.GetWindowTextLengthW(hwnd)
        buffer = ctypes.create_unicode_buffer(length + 1)
        self._user32.GetWindowTextW(hwnd, buffer, length + 1)
        return process_foreground(pid.value or None, NO_WINDOW, buffer.value or None)

    def idle_s(self) -> float | None:
        info = _LastInputInfo(cbSize=ctypes.sizeof(_LastInputInfo))
        if not self._user32.GetLastInputInfo(ctypes.byref(info)):
            return None
        # Both are 32-bit millisecond tick counts: the difference wraps correctly mod 2**32.
        return ((self._kernel32.GetTickCount() - info.dwTime) & 0xFFFFFFFF) / 1000.0

    def close(self) -> None:
        pass
