"""The timetable the centre pushed last, kept on the device.

A station restarted while the broker is unreachable must keep punching by the site's
office hours, not fall back to its configuration file's: the pushed timetable is written
here (atomically) when applied, and read back at start.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import msgspec

from base.config import ConfigError
from base.schedule import Timetable
from mqtt import schema

log = logging.getLogger(__name__)


class TimetableFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Timetable | None:
        """The stored timetable; None if none was pushed yet (or the file is unusable)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return schema.timetable_of(msgspec.json.decode(data, type=schema.TimetableSpec))
        except (msgspec.DecodeError, ConfigError) as exc:
            log.error("%s is unusable, the configuration file's sessions apply: %s", self.path, exc)
            return None

    def save(self, timetable: Timetable) -> None:
        """Replace the stored timetable: a power cut leaves the old one or the new one."""
        partial = self.path.with_name(self.path.name + ".partial")
        with partial.open("wb") as handle:
            handle.write(msgspec.json.encode(schema.timetable_spec(timetable)))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, self.path)
