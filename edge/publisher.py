"""Drain a device journal to the broker: QoS 1, in order, marked sent only on PUBACK.

A bounded window of events is in flight at once; each is marked sent when paho reports
the broker's acknowledgement. Anything not acknowledged stays unsent in the journal and is
published again (with the same id and seq) after a reconnect or a restart, so consumers
dedupe by id and nothing is lost. The publishing thread is supervised (base/supervise.py):
a failure is logged and publishing resumes after a backoff.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import paho.mqtt.client as paho

from base.lifecycle import StartStop
from base.supervise import SupervisedThread, Supervisor
from edge.journal import Journal
from mqtt.client import MqttClient
from mqtt.topics import RETAINED_KINDS, device_topic

log = logging.getLogger(__name__)

# How often acknowledgements are collected while messages are in flight.
ACK_POLL_S = 0.02
# How often a publisher with nothing to do re-checks the connection and prunes.
IDLE_WAIT_S = 1.0
PRUNE_EVERY = timedelta(hours=1)
# An event connected-and-unacknowledged this long is offered again (same id and seq):
# paho may have dropped it, and the journal must not wait for a restart to resend it.
RESEND_AFTER_S = 60.0


class JournalPublisher(StartStop):
    """A background thread publishing `journal`'s unsent events through `client`.

    The client must be started by the caller (it also carries subscriptions and the
    last will); the publisher only publishes. Its thread is one of `supervisor`'s (the
    device's), or of its own.
    """

    def __init__(
        self,
        journal: Journal,
        client: MqttClient,
        *,
        window: int | None = None,
        supervisor: Supervisor | None = None,
    ) -> None:
        self.journal = journal
        self.client = client
        self.window = window or client.config.max_inflight
        self._inflight: dict[int, tuple[paho.MQTTMessageInfo, float]] = {}
        self._supervisor = supervisor or Supervisor()
        self._thread: SupervisedThread | None = None
        self._last_prune = 0.0
        self._connected_since: float | None = None
        self.sent = 0  # acknowledged by the broker, this process

    def start(self) -> JournalPublisher:
        self._thread = self._supervisor.thread("journal-publisher", self._run).start()
        return self

    def stop(self, drain_s: float = 0.0) -> None:
        """Stop publishing; with `drain_s`, first wait up to that long for the backlog to go."""
        deadline = time.monotonic() + drain_s
        while drain_s and time.monotonic() < deadline and self.journal.backlog():
            time.sleep(ACK_POLL_S)
        if self._thread is not None:
            self._thread.stop()
            self._thread = None

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self._step(stop)

    def _step(self, stop: threading.Event) -> None:
        self._collect_acks()
        if self.client.connected.is_set():
            self._fill_window()
        if time.monotonic() - self._last_prune > PRUNE_EVERY.total_seconds():
            self._last_prune = time.monotonic()
            pruned = self.journal.prune()
            if pruned:
                log.info("pruned %d acknowledged events past retention", pruned)
        if self._inflight:
            stop.wait(ACK_POLL_S)
        else:
            self.journal.wait_for_append(IDLE_WAIT_S)

    def _fill_window(self) -> None:
        room = self.window - len(self._inflight)
        if room <= 0:
            return
        for entry in self.journal.pending(room, exclude=set(self._inflight)):
            topic = device_topic(self.journal.site, self.journal.device, entry.kind)
            info = self.client.publish(topic, entry.payload, retain=entry.kind in RETAINED_KINDS)
            if info.rc != paho.MQTT_ERR_SUCCESS and info.rc != paho.MQTT_ERR_NO_CONN:
                log.warning("publish of seq %d refused (rc %s); will retry", entry.seq, info.rc)
                return
            self._inflight[entry.seq] = (info, time.monotonic())

    def _collect_acks(self) -> None:
        acked = [seq for seq, (info, _) in self._inflight.items() if info.is_published()]
        if acked:
            self.journal.mark_sent(acked)
            for seq in acked:
                del self._inflight[seq]
            self.sent += len(acked)
        if not self.client.connected.is_set():
            # Not a lost message: paho resends its in-flight window after reconnecting.
            self._connected_since = None
            return
        if self._connected_since is None:
            self._connected_since = time.monotonic()
        horizon = time.monotonic() - RESEND_AFTER_S
        stale = [
            seq
            for seq, (_, sent_at) in self._inflight.items()
            if max(sent_at, self._connected_since) < horizon
        ]
        for seq in stale:
            log.warning("seq %d unacknowledged for %.0f s; offering it again", seq, RESEND_AFTER_S)
            del self._inflight[seq]
