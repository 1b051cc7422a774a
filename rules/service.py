"""The rules service process: configuration, MQTT wiring, start-up catch-up, shutdown."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import pydantic

from base.config import Section, load_toml
from base.lifecycle import StartStop
from mqtt import topics
from mqtt.client import BrokerConfig, MqttClient
from mqtt.ids import utc_now
from rules.backend import StoreLocation, open_store
from rules.delivery import GRACE
from rules.delivery_watch import DeliveryWatch
from rules.device_config import RETRY_S, DeviceConfigSender, device_config_subscriptions
from rules.directory import DirectorySource
from rules.directory_store import cached_directory, seed_from_policy
from rules.ingest import (
    DEAD_LETTER_BURST,
    DEAD_LETTERS_PER_S,
    DEVICE_BURST,
    DEVICE_EVENTS_PER_S,
    KEEP_MONTHS,
    Ingest,
    subscriptions,
)
from rules.lookalikes import LOOKALIKE_THRESHOLD
from rules.notify import OFFLINE_AFTER_MIN, NotifyChannel
from rules.notify_send import Notifier
from rules.policy import Policy, load_policy
from rules.publish import ResultPublisher
from rules.ratelimit import TokenBucket
from rules.recompute import month_of
from rules.store import DEAD_LETTER_CAP

log = logging.getLogger(__name__)


class RulesSettings(Section):
    """The rules service itself (`[rules]`): its store, its policy, its share of the load."""

    db: StoreLocation = pydantic.Field(
        description=(
            "The store: a SQLite file for one instance, or a postgresql://user@host:port/db "
            "URL shared by several. Keep the password out of the URL (libpq's PGPASSFILE)."
        )
    )
    policy: Path = pydantic.Field(description="The hall's policy file (policy.toml).")
    group: Annotated[str, pydantic.Field(pattern=r"^[A-Za-z0-9_-]{0,64}$")] | None = pydantic.Field(
        None,
        description=(
            "Instances in one group share the messages (`$share/<group>/...`), each with its "
            "own broker account (docs/security.md). Empty or unset (the default): plain "
            "subscriptions, right for a single instance because the broker keeps them across "
            "its restarts (Mosquitto 2.0 does not keep $share ones: what a group misses "
            "then, the centre asks the devices for again after `resend_after_s`)."
        ),
    )
    client_id: Annotated[str, pydantic.Field(min_length=1, max_length=64)] = pydantic.Field(
        "hallwatch-rules-1",
        description=(
            "The MQTT client id, unique per instance and stable across restarts: the broker "
            "redelivers to it what it had not yet stored. The broker `hallwatch broker setup` "
            "renders names each session after its account instead, so no other account can "
            "take the service's over."
        ),
    )
    sites: list[str] = pydantic.Field(
        [], description="The site ids this instance ingests. Empty: every site."
    )
    recompute_every_s: Annotated[float, pydantic.Field(gt=0, le=3600)] = pydantic.Field(
        2.0,
        description=(
            "Seconds between re-evaluations of the person-months that changed; results are "
            "published then."
        ),
    )
    stalled_after_s: Annotated[float, pydantic.Field(gt=0, le=3600)] = pydantic.Field(
        30.0,
        description=(
            "Ingestion stuck this long (messages waiting, none stored) stops feeding the "
            "systemd watchdog (WatchdogSec=60 in the unit: keep this below it)."
        ),
    )
    # Bounds on the dead-letter path (a flood of garbage must not grow without end).
    dead_letter_cap: Annotated[int, pydantic.Field(ge=1)] = pydantic.Field(
        DEAD_LETTER_CAP,
        description=(
            "Rejected payloads kept in the store, at most; beyond it the oldest go first "
            "and the number dropped is counted."
        ),
    )
    dead_letters_per_s: Annotated[float, pydantic.Field(gt=0)] = pydantic.Field(
        DEAD_LETTERS_PER_S,
        description=(
            "Rejected payloads announced on central/deadletter and logged per second, at "
            "most (after a burst); the rest are counted in one log line."
        ),
    )
    dead_letter_burst: Annotated[int, pydantic.Field(ge=1)] = pydantic.Field(
        DEAD_LETTER_BURST,
        description="Rejected payloads announced at once before the per-second rate applies.",
    )
    device_events_per_s: Annotated[float, pydantic.Field(gt=0)] = pydantic.Field(
        DEVICE_EVENTS_PER_S,
        description=(
            "Events one device may store per second after its burst; beyond, its events are "
            "dead letters (a device's credentials cannot fill the store)."
        ),
    )
    device_burst: Annotated[int, pydantic.Field(ge=1)] = pydantic.Field(
        DEVICE_BURST, description="Events one device may store at once before its rate applies."
    )
    resend_after_s: Annotated[float, pydantic.Field(gt=0, le=86400)] = pydantic.Field(
        GRACE.total_seconds(),
        description=(
            "Seconds a gap in what a device journaled may stay open (entries still on their "
            "way) before the device is asked to send it again on its command topic; an "
            "unanswered request is repeated, each time waiting twice as long (up to an hour)."
        ),
    )
    gallery_retry_s: Annotated[float, pydantic.Field(gt=0, le=86400)] = pydantic.Field(
        RETRY_S,
        description=(
            "Seconds before a gallery update a station has not acknowledged is sent again; "
            "each further attempt waits twice as long (up to an hour) until it answers."
        ),
    )
    lookalike_threshold: Annotated[float, pydantic.Field(ge=0.1, le=0.95)] = pydantic.Field(
        LOOKALIKE_THRESHOLD,
        description=(
            "When a face is enrolled (hallwatch enrol --central, or at a station), everyone "
            "whose face template comes within this cosine of it is paired with the person as "
            "a lookalike: both are asked for a second factor (finger or staff number) until "
            "an administrator decides (hallwatch gallery lookalikes). 0.30: 0.05 under the "
            "default pack's lower threshold (0.35); set it 0.05 under your pack's."
        ),
    )
    keep_months: Annotated[int, pydantic.Field(ge=1, le=1200)] = pydantic.Field(
        KEEP_MONTHS,
        description=(
            "Events of this month and this many before it are kept; older ones are deleted "
            "and their months' results are final."
        ),
    )
    notify_offline_after_min: Annotated[int, pydantic.Field(ge=1, le=10080)] = pydantic.Field(
        OFFLINE_AFTER_MIN,
        description="A device offline this many minutes is notified (the [[notify]] channels).",
    )


class ServiceConfig(Section):
    """The rules service's file (`hallwatch rules run --config FILE`; the manager commands
    read it too)."""

    broker: BrokerConfig = pydantic.Field(
        BrokerConfig(), description="The MQTT broker the service reads from and publishes to."
    )
    rules: RulesSettings = pydantic.Field(description="The service itself.")
    notify: list[NotifyChannel] = pydantic.Field(
        [],
        description=(
            "Where notifications go (`[[notify]]`, one table per channel): serious "
            "violations, devices offline, clocks not synchronised, full disks, duplicate "
            "device ids (docs/operations.md)."
        ),
    )

    @pydantic.field_validator("notify")
    @classmethod
    def _unique_channels(cls, channels: list[NotifyChannel]) -> list[NotifyChannel]:
        names = [c.name for c in channels]
        if len(set(names)) != len(names):
            raise ValueError(f"notification channels need distinct names: {names}")
        return channels


def load_config(path: str | Path) -> ServiceConfig:
    return load_toml(ServiceConfig, path)


class RulesService(StartStop):
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
        # A policy's deprecated [[windows]] seed a store that has no directory yet.
        seed_from_policy(self.store, self.policy)
        # Who works where: the store's directory, read again when an edit changed it.
        self.directory: DirectorySource = cached_directory(self.store)
        self.ingest = Ingest(
            self.store,
            self.policy,
            self.directory,
            recompute_every_s=settings.recompute_every_s,
            now=now,
            dead_letter_gate=TokenBucket(settings.dead_letters_per_s, settings.dead_letter_burst),
            device_quota=(settings.device_events_per_s, settings.device_burst),
            keep_months=settings.keep_months,
        )
        # Acknowledged to the broker only once stored: a SIGKILL loses nothing.
        self.client = MqttClient(
            config.broker,
            settings.client_id,
            on_delivery=self._deliver,
            on_connection=self.ingest.connection,
        )
        self.ingest.publisher = ResultPublisher(self.client.publish_event)
        self.devices = DeviceConfigSender(
            self.store,
            self.policy,
            lambda config, device: self.client.publish_event(config, device=device),
            self.ingest.publisher.next_seq,
            stations=self._stations,
            directory=self.directory,
            sites=settings.sites,
            now=now,
            retry_s=settings.gallery_retry_s,
            dead_letter=self.ingest.dead_letter,
            lookalike_threshold=settings.lookalike_threshold,
        )
        self.ingest.on_status = self.devices.saw
        self.delivery = DeliveryWatch(
            self.store,
            lambda request, device: self.client.publish_event(request, device=device),
            self.ingest.publisher.next_seq,
            now=now,
            grace=timedelta(seconds=settings.resend_after_s),
        )
        # Notifications: ingest queues them in the store, their own thread sends them.
        self.notifier = Notifier(
            self.store,  # type: ignore[arg-type]  # both stores are SqlStores
            config.notify,
            self.directory,
            offline_after=timedelta(minutes=settings.notify_offline_after_min),
            now=now,
        )
        self.ingest.on_events, self.ingest.on_results = self.notifier.events, self.notifier.results
        self.stop_event = threading.Event()
        self._worker: threading.Thread | None = None
        self._devices_worker: threading.Thread | None = None
        self._notify_worker: threading.Thread | None = None
        self._delivery_worker: threading.Thread | None = None

    def _deliver(self, topic: str, payload: bytes, ack: Callable[[], None] | None) -> None:
        """Acks and enrolments go to the device config sender, the rest to ingest."""
        try:
            kind = topics.parse(topic).kind
        except topics.TopicError:
            kind = None
        if kind in (topics.Kind.ACK, topics.Kind.ENROLMENT):
            self.devices.delivered(topic, payload, ack)
        else:
            self.ingest.handle(topic, payload, ack)

    def _stations(self, site: str) -> list[str]:
        """The stations of `site` the centre knows: by their status, or by their gallery."""
        known = {
            seen.status.device
            for seen in self.store.device_statuses()
            if seen.status.site == site and seen.status.role == "station"
        }
        known.update(device.device for device in self.store.device_galleries(site))
        return sorted(known)

    def start(self) -> RulesService:
        self.ingest.recompute_all(month_of(self.now().date()))
        group, sites = self.config.rules.group, self.config.rules.sites
        for topic_filter in subscriptions(group, sites) + device_config_subscriptions(group, sites):
            self.client.subscribe(topic_filter)
        self.client.start()
        for seen in self.store.device_statuses():
            self.devices.saw(seen.status)
        self._worker = threading.Thread(
            target=self.ingest.run, args=(self.stop_event,), name="rules-ingest", daemon=True
        )
        self._worker.start()
        self._devices_worker = threading.Thread(
            target=self.devices.run, args=(self.stop_event,), name="device-config", daemon=True
        )
        self._devices_worker.start()
        self._delivery_worker = threading.Thread(
            target=self.delivery.run, args=(self.stop_event,), name="delivery", daemon=True
        )
        self._delivery_worker.start()
        if self.config.notify:
            self._notify_worker = threading.Thread(
                target=self.notifier.run, args=(self.stop_event,), name="notify", daemon=True
            )
            self._notify_worker.start()
        log.info("rules service up: %s", ", ".join(subscriptions(self.config.rules.group)))
        return self

    def alive(self) -> bool:
        """The ingest worker runs and makes progress (the systemd watchdog is fed only then)."""
        worker = self._worker is not None and self._worker.is_alive()
        return worker and self.ingest.progressing(self.config.rules.stalled_after_s)

    def stop(self) -> None:
        """Finish what is queued and publish its results, then disconnect."""
        self.stop_event.set()
        workers = (self._worker, self._devices_worker, self._notify_worker, self._delivery_worker)
        for worker in workers:
            if worker is not None:
                worker.join()
        self.client.stop()
        self.store.close()
