"""A program run by `base.service_loop`, for the tests of it: a real process, real signals.

    python -m tests.support.service_child serve|dead|finish|crash

`serve` turns until signalled; `dead` reports its worker dead (so it must never pet the
watchdog); `finish` ends by itself on its third turn; `crash` fails on its third turn.
Prints "turning" on the first turn, then how it ended and whether the signal handlers it
found are back.
"""

from __future__ import annotations

import signal
import sys
import threading

from base.service_loop import run_until_signalled


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

    before = [signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)]
    run_until_signalled(turn, status="serving", alive=lambda: mode != "dead")
    after = [signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)]
    print(f"stopped after {turns} turns; handlers restored: {after == before}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
