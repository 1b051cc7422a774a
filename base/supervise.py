"""Workers that come back: the station's and the agent's threads, and parts of their loops.

A worker that raises is logged (with its traceback), reported once per run of failures
(`on_fault`: the device journals an alert) and run again after a backoff that doubles from
`Restarts.first_s` to `Restarts.max_s`; a worker that then runs `healthy_s` without failing
starts afresh. One that fails `give_up_after` times within `window_s` cannot be brought
back here: `Supervisor.alive()` turns false, `base.service_loop` stops feeding systemd's
watchdog, and systemd restarts the whole program.

    supervisor = Supervisor(on_fault=alert)
    publisher = supervisor.thread("publisher", publish)    # publish(stop) until stop is set
    camera = supervisor.turn("camera")                     # a part of the main loop
    frame = camera.call(read_frame)                        # None while it backs off
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
Body = Callable[[threading.Event], object]  # runs until the event is set, or raises


@dataclass(frozen=True, slots=True)
class Restarts:
    """How a failed worker is brought back, and when to stop trying."""

    first_s: float = 1.0
    max_s: float = 60.0
    healthy_s: float = 300.0  # running this long without failing: the next failure is a new one
    give_up_after: int = 5  # failures within `window_s` after which the program is restarted
    window_s: float = 600.0


class Worker:
    """One supervised piece of work: its failures, its backoff, and why it is down."""

    def __init__(self, name: str, supervisor: Supervisor) -> None:
        self.name = name
        self.down: str | None = None  # the error it failed with, while it is not running
        self._supervisor = supervisor
        self._failures: deque[float] = deque()
        self._streak = 0  # failures since it last ran healthily
        self._since = time.monotonic()  # when its current run began

    @property
    def given_up(self) -> bool:
        """Failed too often, too recently, to be brought back without restarting the program."""
        restarts = self._supervisor.restarts
        horizon = time.monotonic() - restarts.window_s
        return sum(1 for at in list(self._failures) if at > horizon) >= restarts.give_up_after

    def _failed(self, error: Exception) -> float:
        """Record a failure: log it, report a new run of failures; the delay before retrying."""
        restarts = self._supervisor.restarts
        now = time.monotonic()
        if now - self._since >= restarts.healthy_s:
            self._streak = 0
        self._streak += 1
        self._failures.append(now)
        while self._failures and self._failures[0] <= now - restarts.window_s:
            self._failures.popleft()
        delay = min(restarts.first_s * 2 ** (self._streak - 1), restarts.max_s)
        self.down = f"{type(error).__name__}: {error}"[:200]
        log.error(
            "%s failed (%d in a row); restarting it in %g s",
            self.name,
            self._streak,
            delay,
            exc_info=error,
        )
        if self._streak == 1:
            self._supervisor.on_fault(self, error)
        return delay


class SupervisedThread(Worker):
    """`body(stop)` in a daemon thread, run again after a backoff whenever it raises.

    `body` returning is the worker finishing on purpose (input at its end, `stop` set):
    it is not run again.
    """

    def __init__(self, name: str, body: Body, supervisor: Supervisor) -> None:
        super().__init__(name, supervisor)
        self._body = body
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> SupervisedThread:
        self._thread.start()
        return self

    def stop(self, timeout_s: float | None = None) -> None:
        """Set `stopping` and wait up to `timeout_s` for the body to return."""
        self.stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self.stopping.is_set():
            self._since = time.monotonic()
            self.down = None
            try:
                self._body(self.stopping)
                return
            except Exception as exc:  # whatever it was, the worker is needed: run it again
                delay = self._failed(exc)
            self.stopping.wait(delay)


class SupervisedTurn(Worker):
    """A part of a loop another thread turns: `call` runs it, or skips it while it backs off."""

    def __init__(self, name: str, supervisor: Supervisor) -> None:
        super().__init__(name, supervisor)
        self._retry_at = float("-inf")

    def call(self, part: Callable[[], T]) -> T | None:
        """`part()`'s result; None if it raised (now, or recently enough to wait still)."""
        now = time.monotonic()
        if now < self._retry_at:
            return None
        if self.down is not None:
            self._since = now  # a new run after a failure
        try:
            result = part()
        except Exception as exc:
            self._retry_at = now + self._failed(exc)
            return None
        self.down = None
        return result


def _log_only(worker: Worker, error: Exception) -> None:
    """The default report of a failure: the log line `Worker._failed` writes is all."""


class Supervisor:
    """The workers of one program, restarted per `restarts`; `alive()` for the watchdog."""

    def __init__(
        self,
        on_fault: Callable[[Worker, Exception], None] = _log_only,
        restarts: Restarts | None = None,
    ) -> None:
        self.on_fault = on_fault
        self.restarts = restarts or Restarts()
        self.workers: list[Worker] = []

    def thread(self, name: str, body: Body) -> SupervisedThread:
        """A thread running `body(stop)`, not yet started."""
        worker = SupervisedThread(name, body, self)
        self.workers.append(worker)
        return worker

    def turn(self, name: str) -> SupervisedTurn:
        worker = SupervisedTurn(name, self)
        self.workers.append(worker)
        return worker

    def alive(self) -> bool:
        """No worker has failed beyond bringing back (feed the watchdog only then)."""
        return not any(worker.given_up for worker in self.workers)
