"""Things that are started and stopped: a client, a broker, a publisher, a service.

`with thing:` starts it and stops it whatever happens inside, as `thing.start()` and
`thing.stop()` around the block would if nothing raised.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Self


class StartStop(ABC):
    @abstractmethod
    def start(self) -> Self:
        """Begin working (connect, listen, spawn its threads); returns the thing itself."""

    @abstractmethod
    def stop(self) -> None:
        """Finish and release what `start` took."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
