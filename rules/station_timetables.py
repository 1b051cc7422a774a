"""Stations punch by the policy's office hours: the rules service pushes them.

Each station gets its site's timetable (seasonal schedules, calendar, time zone) in a
retained `hallwatch.config/1` message on its own `config` topic, and acknowledges it.

Which stations: every station whose status the service has stored (sent at start, so a
changed policy reaches them when the service restarts with it), and every station whose
status arrives while it runs (a new station announces itself by its retained status).
Each station is sent its timetable once per run: the broker keeps the retained copy for
a station that is offline, and the station keeps the applied one across restarts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime

from mqtt import schema
from mqtt.topics import CENTRAL
from rules.policy import Policy

log = logging.getLogger(__name__)

SendConfig = Callable[[schema.Config, str], object]  # (message, target device)


class StationTimetables:
    def __init__(
        self,
        policy: Policy,
        send: SendConfig,
        next_seq: Callable[[], int],
        *,
        sites: Iterable[str] = (),
        now: Callable[[], datetime],
    ) -> None:
        self.policy, self.send, self.next_seq, self.now = policy, send, next_seq, now
        self.sites = frozenset(sites)  # empty: every site
        self._sent: set[tuple[str, str]] = set()
        self._specs: dict[str, schema.TimetableSpec] = {}
        self._lock = threading.Lock()

    def send_to_known(self, statuses: Iterable[schema.Status]) -> None:
        for status in statuses:
            self.saw(status)

    def saw(self, status: schema.Status) -> None:
        """A device's status: a station of ours not sent its timetable yet is sent it now."""
        if status.role != "station" or (self.sites and status.site not in self.sites):
            return
        with self._lock:
            if (status.site, status.device) in self._sent:
                return
            self._sent.add((status.site, status.device))
            spec = self._specs.get(status.site)
            if spec is None:
                spec = self._specs[status.site] = schema.timetable_spec(
                    self.policy.timetable(status.site)
                )
        ts = self.now()
        config = schema.new_event(
            schema.Config,
            status.site,
            CENTRAL,
            ts,
            seq=self.next_seq(),
            # Grows across restarts and instances: the device applies each version once.
            version=int(ts.timestamp() * 1000),
            timetable=spec,
        )
        self.send(config, status.device)
        log.info("timetable sent to %s/%s (version %d)", status.site, status.device, config.version)
