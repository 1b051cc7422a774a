"""A program run by `base.service_loop`, for the tests of it: a real process, real signals.

    python -m tests.support.service_child serve|dead|dying|finish|crash

`serve` turns until signalled; `dead` reports its worker dead (so it must never pet the
watchdog); `dying` runs a supervised worker that fails on every run (the watchdog is fed
until the supervisor gives it up); `finish` ends by itself on its third turn; `crash`
fails on its third turn.
Prints "turning" on the first turn, then how it ended and whether the signal handlers it
found are back.
"""

from __future__ import annotations

import signal
import sys
import threading

from base.service_loop import run_until_signalled
from base.supervise import Restarts, Supervisor


def main(mode: str) -> None:
    turns = 0

    def turn(stop: threading.Event) -> None:
        nonlocal turns
        turns += 1
        if turns == 1:
            print("turning", flush=True)
        if turns == 3 and mode == "finish":
            stop.set()
        elif turns == 3 and mode == "crash":
            raise RuntimeError("the third turn failed")
        else:
            stop.wait(0.02)

    def dies(stop: threading.Event) -> None:
        raise RuntimeError("the worker failed again")

    supervisor = Supervisor(restarts=Restarts(first_s=0.05, give_up_after=4))
    if mode == "dying":
        supervisor.thread("dies", dies).start()
    before = [signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)]
    alive = supervisor.alive if mode == "dying" else lambda: mode != "dead"
    run_until_signalled(turn, status="serving", alive=alive)
    after = [signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)]
    print(f"stopped after {turns} turns; handlers restored: {after == before}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
