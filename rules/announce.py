"""Announcing what managers did on the central MQTT topics, as a collaborator to inject.

What is announced is already stored: the service and the reports read the store, so a
broker that cannot be reached costs only the live notification. An announcer therefore
never raises for that; it returns the reason, and the caller shows it as a warning.

- `OverConnection`: on a connection the caller keeps open (the console's, long-lived).
- `Connecting`: opens a connection for each announcement and closes it (a CLI command).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

import paho.mqtt.client as paho

from mqtt import schema
from mqtt.client import BrokerConfig, ConnectError, MqttClient
from mqtt.ids import new_event_id
from rules.publish import ResultPublisher

Fill = Callable[[ResultPublisher], None]  # gives the publisher what to announce
DELIVERY_WAIT_S = 5.0


class Announcer(Protocol):
    def announce(self, fill: Fill) -> str | None:
        """Publish what `fill` gives the publisher; None when the broker has it all, else
        why not (the caller warns: what was announced is stored regardless)."""
        ...


class OverConnection:
    """Announces on a client the caller started and stops; one publisher for all its
    announcements, so its sequence numbers run on across them."""

    def __init__(self, client: MqttClient, wait_s: float = DELIVERY_WAIT_S) -> None:
        self.client = client
        self.wait_s = wait_s
        self._sent: list[paho.MQTTMessageInfo] = []
        self._lock = threading.Lock()  # one announcement at a time: `_sent` is its own
        self.publisher = ResultPublisher(self._send)

    def _send(self, event: schema.Event) -> None:
        self._sent.append(self.client.publish_event(event))

    def announce(self, fill: Fill) -> str | None:
        with self._lock:
            self._sent = []
            fill(self.publisher)
            deadline = time.monotonic() + self.wait_s
            for info in self._sent:
                if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_AGAIN):
                    return f"the MQTT client refused it ({paho.error_string(info.rc)})"
                info.wait_for_publish(max(0.0, deadline - time.monotonic()))
            if all(info.is_published() for info in self._sent):
                return None
            # paho keeps QoS 1 messages and sends them when the connection is back.
            reason = self.client.last_error or "no answer"
            return f"the broker has not confirmed it within {self.wait_s:g} s ({reason})"


class Connecting:
    """Connects for each announcement (as a manager's command does), then disconnects."""

    def __init__(self, broker: BrokerConfig, wait_s: float = DELIVERY_WAIT_S) -> None:
        # A clean session: a command that exits must leave no session behind on the broker.
        self.broker = broker.model_copy(update={"persistent_session": False})
        self.wait_s = wait_s

    def announce(self, fill: Fill) -> str | None:
        client = MqttClient(self.broker, f"hallwatch-manager-{new_event_id()[-12:]}")
        try:
            client.start(wait_s=self.wait_s)
        except ConnectError as exc:
            return str(exc)
        try:
            return OverConnection(client, self.wait_s).announce(fill)
        finally:
            client.stop()
