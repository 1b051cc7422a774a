"""The rules service's side of delivery that does not depend on the broker: every few
seconds, fold what came in and ask devices for what did not (rules/delivery.py)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from mqtt import schema
from mqtt.topics import CENTRAL
from rules.delivery import GRACE
from rules.store import SqlStore

log = logging.getLogger(__name__)

EVERY_S = 5.0
SendCommand = Callable[[schema.Resend, str], object]  # (request, target device)


class DeliveryWatch:
    def __init__(
        self,
        store: SqlStore,
        send: SendCommand,
        next_seq: Callable[[], int],
        *,
        now: Callable[[], datetime],
        grace: timedelta = GRACE,
        every_s: float = EVERY_S,
    ) -> None:
        self.store, self.send, self.next_seq, self.now = store, send, next_seq, now
        self.grace, self.every_s = grace, every_s
        self.asked = 0  # requests sent by this instance

    def tick(self) -> int:
        """Fold and ask; how many requests went out (none if another instance folds)."""
        now = self.now()
        requests = self.store.fold_deliveries(now, self.grace) or []
        for site, device, first, last in requests:
            request = schema.new_event(
                schema.Resend, site, CENTRAL, now, seq=self.next_seq(),
                first_seq=first, last_seq=last,
            )  # fmt: skip
            log.warning("asking %s/%s to send %d-%d again", site, device, first, last)
            self.send(request, device)
        self.asked += len(requests)
        return len(requests)

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.every_s):
            try:
                self.tick()
            except Exception:
                log.exception("could not check what the devices delivered; will retry")
