"""systemd's service notification protocol: READY, WATCHDOG and STATUS over NOTIFY_SOCKET.

A no-op outside systemd. Services call `ready()` once serving and `watchdog()` from their
main loop, so a hung loop (not just a dead process) is restarted.
"""

from __future__ import annotations

import os
import socket
import time


def notify(*fields: str) -> bool:
    """Send `KEY=value` fields to systemd; False when not run by systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall("\n".join(fields).encode())
    return True


def ready(status: str = "") -> bool:
    return notify("READY=1", *([f"STATUS={status}"] if status else []))


def watchdog() -> bool:
    return notify("WATCHDOG=1")


class Watchdog:
    """Pets systemd's watchdog from a loop, at most twice per WatchdogSec."""

    def __init__(self) -> None:
        self.interval_s = watchdog_interval_s()
        self._last = float("-inf")

    def pet(self) -> None:
        if self.interval_s is None:
            return
        now = time.monotonic()
        if now - self._last >= self.interval_s:
            self._last = now
            watchdog()


def stopping() -> bool:
    return notify("STOPPING=1")


def watchdog_interval_s() -> float | None:
    """Half of WatchdogSec (systemd's advice for the ping period), or None if unset."""
    usec = os.environ.get("WATCHDOG_USEC")
    return (
        int(usec) / 2e6
        if usec and os.environ.get("WATCHDOG_PID", str(os.getpid())) == str(os.getpid())
        else None
    )
