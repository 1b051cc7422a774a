"""Running a long-lived program in the foreground until it is told to stop.

The station, the workstation agent and the rules service each turn one loop in the main
thread until SIGTERM (systemd stopping the unit) or SIGINT (Ctrl-C). Around that loop
systemd hears READY once serving, WATCHDOG while the program is healthy, and STOPPING on
the way out, so a hung loop or a dead worker gets the unit restarted.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

from base import sdnotify

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def always_alive() -> bool:
    return True


def run_until_signalled(
    turn: Callable[[threading.Event], object],
    *,
    status: str,
    alive: Callable[[], bool] = always_alive,
) -> None:
    """Call `turn(stop)` again and again until SIGTERM or SIGINT sets `stop`.

    `turn` does one round of work and returns promptly once `stop` is set (waiting, if it
    waits, on `stop.wait`); it may set `stop` itself to finish. After each turn the systemd
    watchdog is petted, but only while `alive()`: a program whose worker died stops petting
    and is restarted. `status` is the READY message. Runs in the main thread (signals are
    delivered there); the previous signal handlers are restored on return.
    """
    stop = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in STOP_SIGNALS}
    watchdog = sdnotify.Watchdog()
    sdnotify.ready(status)
    try:
        while not stop.is_set():
            turn(stop)
            if alive():
                watchdog.pet()
    finally:
        sdnotify.stopping()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
