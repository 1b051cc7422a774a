"""An accelerated clock: a working day in a minute, frozen while someone is at a device."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta


class SimulatedTime:
    def __init__(self, start: datetime, speed: float) -> None:
        if start.tzinfo is None:
            raise ValueError("the simulated clock needs a timezone-aware start")
        self._base = start
        self._real = time.monotonic()
        self.speed = speed
        self._frozen: datetime | None = None
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return self._base + timedelta(seconds=(time.monotonic() - self._real) * self.speed)

    def freeze(self) -> None:
        """Stop the hands (a punch in progress keeps its minute)."""
        now = self()
        with self._lock:
            self._frozen = now

    def resume(self) -> None:
        with self._lock:
            if self._frozen is not None:
                self._base, self._real, self._frozen = self._frozen, time.monotonic(), None

    def sleep_until(self, moment: datetime) -> None:
        while (left := (moment - self()).total_seconds()) > 0:
            time.sleep(min(left / self.speed, 0.05))
