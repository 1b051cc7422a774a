"""The demo's props: a camera looking at whoever stands before it, and desktops in use.

Both are real implementations of the driver protocols (`drivers.camera.FrameSource`,
`edge.agent.desktop.Desktop`), scripted by the scenario instead of a person.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from edge.agent.foreground import Foreground
from models.images import read_image


class Stage:
    """A camera source showing a photo of the person at the device, or an empty hall."""

    name = "demo-stage"

    def __init__(self, fps: float = 10.0) -> None:
        self.period = 1 / fps
        self.empty = np.full((480, 640, 3), 96, dtype=np.uint8)
        self.frame = self.empty
        self._next = 0.0

    def show(self, photo: Path | None) -> None:
        self.frame = self.empty if photo is None else read_image(photo)

    def open(self) -> None:
        self._next = time.monotonic()

    def read(self) -> np.ndarray:
        self._next += self.period
        time.sleep(max(0.0, self._next - time.monotonic()))
        return self.frame

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class Use:
    start: datetime
    end: datetime
    app: str


class ScriptedDesktop:
    """A window workstation: who is at it (input) and which app is in front, by the clock."""

    name = "demo"

    def __init__(
        self, now: Callable[[], datetime], user: str, uses: list[Use], work_app: str
    ) -> None:
        self.now, self.user, self.uses, self.work_app = now, user, uses, work_app

    def _current(self) -> Use | None:
        now = self.now()
        return next((u for u in self.uses if u.start <= now < u.end), None)

    def foreground(self) -> Foreground:
        use = self._current()
        return Foreground(app=use.app if use else self.work_app, user=self.user)

    def idle_s(self) -> float:
        """Input stops when the person leaves the desk: at the end of their last use."""
        if self._current() is not None:
            return 0.0
        now = self.now()
        ended = [u.end for u in self.uses if u.end <= now]
        return (now - max(ended)).total_seconds() if ended else 3600.0

    def close(self) -> None:
        pass
