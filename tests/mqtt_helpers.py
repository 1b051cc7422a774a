"""Small helpers for tests that talk MQTT: collecting clients and sample events."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from mqtt import schema
from mqtt.client import BrokerConfig, MqttClient
from mqtt.ids import utc_now


class Collector:
    """Thread-safe list of (topic, payload) received by a client."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._cond = threading.Condition()

    def __call__(self, topic: str, payload: bytes) -> None:
        with self._cond:
            self.messages.append((topic, payload))
            self._cond.notify_all()

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[tuple[str, bytes]]:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return list(self.messages)


def client(
    port: int,
    client_id: str,
    user: str | None = None,
    password: str | None = None,
    on_message=None,
    **overrides,
) -> MqttClient:
    config = BrokerConfig(port=port, username=user, password=password, **overrides)
    return MqttClient(config, client_id, on_message=on_message)


def central_config(site: str, version: int, **fields) -> schema.Config:
    """The rules service's `config` message for a device of `site`, at `version`."""
    return schema.new_event(
        schema.Config, site, "central", utc_now(), seq=version, version=version, **fields
    )


def clock_event(site: str, device: str, seq: int, staff: str = "S001", **fields) -> schema.Punch:
    return schema.new_event(
        schema.Punch,
        site,
        device,
        utc_now(),
        seq=seq,
        staff_id=staff,
        action=fields.pop("action", schema.Action.CLOCK_IN),
        method=fields.pop("method", schema.Method.FACE),
        score=fields.pop("score", 0.8),
        **fields,
    )


def leave_event(site: str, device: str, seq: int, staff: str = "S001") -> schema.Punch:
    leave = schema.Leave(
        kind=schema.LeaveKind.OUTING, reason="bank", expected_return=utc_now() + timedelta(hours=1)
    )
    return clock_event(site, device, seq, staff, action=schema.Action.LEAVE_OUT, leave=leave)
