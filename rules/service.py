"""The rules service process: configuration, MQTT wiring, start-up catch-up, shutdown."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated

import pydantic

from base.config import Section, load_toml
from mqtt.client import BrokerConfig, MqttClient
from mqtt.ids import utc_now
from rules.backend import StoreLocation, open_store
from rules.ingest import (
    DEAD_LETTER_BURST,
    DEAD_LETTERS_PER_S,
    DEVICE_BURST,
    DEVICE_EVENTS_PER_S,
    KEEP_MONTHS,
    Ingest,
    subscriptions,
)
from rules.policy import Policy, load_policy
from rules.publish import ResultPublisher
from rules.ratelimit import TokenBucket
from rules.recompute import month_of
from rules.store import DEAD_LETTER_CAP

log = logging.getLogger(__name__)


class RulesSettings(Section):
    db: StoreLocation  # a SQLite file, or a postgresql:// URL shared by several instances
    policy: Path
    # None or "" (the default): plain subscriptions, for one instance: Mosquitto 2.0 keeps
    # those across its restarts, not $share (ingest.py). Instances in one group share the
    # load ($share/<group>/...), each with its own broker account (docs/security.md).
    group: Annotated[str, pydantic.Field(pattern=r"^[A-Za-z0-9_-]{0,64}$")] | None = None
    # The broker `hallwatch broker setup` renders names each session after its account
    # instead (use_username_as_clientid), so no other account can take the service's over.
    client_id: Annotated[str, pydantic.Field(min_length=1, max_length=64)] = "hallwatch-rules-1"
    sites: list[str] = []  # empty: every site
    recompute_every_s: Annotated[float, pydantic.Field(gt=0, le=3600)] = 2.0
    # Ingestion stuck this long (messages waiting, none stored) stops feeding the systemd
    # watchdog (WatchdogSec=60 in the unit: keep this below it).
    stalled_after_s: Annotated[float, pydantic.Field(gt=0, le=3600)] = 30.0
    # Bounds on the dead-letter path (a flood of garbage must not grow without end).
    dead_letter_cap: Annotated[int, pydantic.Field(ge=1)] = DEAD_LETTER_CAP
    dead_letters_per_s: Annotated[float, pydantic.Field(gt=0)] = DEAD_LETTERS_PER_S
    dead_letter_burst: Annotated[int, pydantic.Field(ge=1)] = DEAD_LETTER_BURST
    # What one device may store: `device_burst` events at once, then this many a second;
    # beyond, its events are dead letters (a device's credentials cannot fill the store).
    device_events_per_s: Annotated[float, pydantic.Field(gt=0)] = DEVICE_EVENTS_PER_S
    device_burst: Annotated[int, pydantic.Field(ge=1)] = DEVICE_BURST
    # Events of this month and this many before it are kept; older ones are deleted and
    # their months' results are final.
    keep_months: Annotated[int, pydantic.Field(ge=1, le=1200)] = KEEP_MONTHS


class ServiceConfig(Section):
    broker: BrokerConfig = BrokerConfig()
    rules: RulesSettings


def load_config(path: str | Path) -> ServiceConfig:
    return load_toml(ServiceConfig, path)


class RulesService:
    """Shared-subscription consumer; several instances split the load between them."""

    def __init__(
        self,
        config: ServiceConfig,
        policy: Policy | None = None,
        *,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.config = config
        self.now = now
        self.policy = policy or load_policy(config.rules.policy)
        settings = config.rules
        self.store = open_store(settings.db)
        self.store.dead_letter_cap = settings.dead_letter_cap
        self.ingest = Ingest(
            self.store,
            self.policy,
            recompute_every_s=settings.recompute_every_s,
            now=now,
            dead_letter_gate=TokenBucket(settings.dead_letters_per_s, settings.dead_letter_burst),
            device_quota=(settings.device_events_per_s, settings.device_burst),
            keep_months=settings.keep_months,
        )
        # Acknowledged to the broker only once stored: a SIGKILL loses nothing.
        self.client = MqttClient(config.broker, settings.client_id, on_delivery=self.ingest.handle)
        self.ingest.publisher = ResultPublisher(self.client.publish_event)
        self.stop_event = threading.Event()
        self._worker: threading.Thread | None = None

    def start(self) -> RulesService:
        self.ingest.recompute_all(month_of(self.now().date()))
        for topic_filter in subscriptions(self.config.rules.group, self.config.rules.sites):
            self.client.subscribe(topic_filter)
        self.client.start()
        self._worker = threading.Thread(
            target=self.ingest.run, args=(self.stop_event,), name="rules-ingest", daemon=True
        )
        self._worker.start()
        log.info("rules service up: %s", ", ".join(subscriptions(self.config.rules.group)))
        return self

    def alive(self) -> bool:
        """The ingest worker runs and makes progress (the systemd watchdog is fed only then)."""
        worker = self._worker is not None and self._worker.is_alive()
        return worker and self.ingest.progressing(self.config.rules.stalled_after_s)

    def stop(self) -> None:
        """Finish what is queued and publish its results, then disconnect."""
        self.stop_event.set()
        if self._worker is not None:
            self._worker.join()
        self.client.stop()
        self.store.close()

    def __enter__(self) -> RulesService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
