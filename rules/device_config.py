"""What the centre sends each station on its retained `config` topic: the site's timetable
and its gallery, versioned, acknowledged and retried.

A station is sent what it lacks since the gallery version it last acknowledged: every
person whose entry changed after it (their current templates and name, or a delete),
in version order, cut into messages within the payload limit, each bringing the gallery
from one version to the next (so each message stands on its own). Every message carries
the site's timetable too: the retained one is the station's whole configuration.

When: a station's status (`saw`: it came online, or it is new), a change of a site's
gallery (`changed`), a station's ack (its gallery is at another version than the centre
thought: it is sent what it lacks from there) and a timer (`tick`) that resends an
update not acknowledged in time, with a backoff doubling from `retry_s`. Each station is
also sent its timetable once per run (the broker keeps the retained copy meanwhile).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec

from base.printable import printable
from mqtt import schema, topics
from mqtt.topics import CENTRAL, Kind
from rules.delivery import Received
from rules.directory import Directory, DirectorySource, StaffMember
from rules.gallery_store import (
    GalleryEntry,
    GalleryQueries,
    NewTemplate,
)
from rules.lookalikes import LOOKALIKE_THRESHOLD, face_scores, lookalikes_in
from rules.policy import Policy
from rules.store import SqlStore

log = logging.getLogger(__name__)

SendConfig = Callable[[schema.Config, str], object]  # (message, target device)
RETRY_S = 60.0
MAX_BACKOFF_S = 3600.0
# Room kept in every message for what a split cannot see (the envelope's own growth).
MARGIN_BYTES = 1024


def device_config_subscriptions(group: str | None, sites: Iterable[str] = ()) -> list[str]:
    """The devices' acks and enrolments, for all sites or the given ones (shared by a
    group's instances like the ingested kinds, rules.ingest.subscriptions)."""
    chosen = sorted(sites) or [None]
    filters = [
        topics.subscription(site, None, kind)
        for site in chosen
        for kind in (Kind.ACK, Kind.ENROLMENT)
    ]
    return [topics.shared(group, f) if group else f for f in filters]


@dataclass(frozen=True, slots=True)
class _Work:
    """One item for the worker: a station to bring up to date, a site whose gallery
    changed, or a message from a device (its ack or an enrolment) with its MQTT ack."""

    site: str | None = None
    device: str | None = None
    message: tuple[str, bytes, Callable[[], None] | None] | None = None


class DeviceConfigSender:
    def __init__(
        self,
        store: SqlStore,
        policy: Policy,
        send: SendConfig,
        next_seq: Callable[[], int],
        *,
        stations: Callable[[str], Iterable[str]],
        directory: DirectorySource,
        sites: Iterable[str] = (),
        now: Callable[[], datetime],
        retry_s: float = RETRY_S,
        dead_letter: Callable[[str, bytes, str], None] | None = None,
        lookalike_threshold: float = LOOKALIKE_THRESHOLD,
    ) -> None:
        self.lookalike_threshold = lookalike_threshold
        self.store, self.policy, self.send, self.next_seq = store, policy, send, next_seq
        self.stations, self.now, self.retry_s = stations, now, retry_s
        self.directory = directory
        self.sites = frozenset(sites)  # empty: every site
        self.dead_letter = dead_letter or (lambda topic, _, reason: log.warning(
            "rejected %s: %s", printable(topic[:200]), reason))  # fmt: skip
        self._specs: dict[str, schema.TimetableSpec] = {}
        self._timetable_sent: set[tuple[str, str]] = set()
        self._last_version = 0
        self._lock = threading.RLock()  # one sync at a time: versions and records agree
        self.inbox: queue.Queue[_Work] = queue.Queue()

    # -- entry points from other threads: queued for the worker ------------------------
    def saw(self, status: schema.Status) -> None:
        # Offline too: the retained message waits for it (a store's statuses at start).
        if status.role == "station" and self._ours(status.site):
            self.inbox.put(_Work(status.site, status.device))

    def delivered(self, topic: str, payload: bytes, ack: Callable[[], None] | None) -> None:
        """A message on a device's ack or enrolment topic (the MQTT callback); `ack` tells
        the broker it is taken, once it is stored."""
        self.inbox.put(_Work(message=(topic, payload, ack)))

    def changed(self, site: str) -> None:
        if self._ours(site):
            self.inbox.put(_Work(site))

    def run(self, stop: threading.Event) -> None:
        """Take the queued work; resend what is due every few seconds."""
        tick_every = min(self.retry_s, 5.0)
        next_tick = 0.0
        while not stop.is_set():
            try:
                work = self.inbox.get(timeout=0.2)
            except queue.Empty:
                work = None
            try:
                if work is not None:
                    self.process(work)
                if (now := self.now().timestamp()) >= next_tick:
                    next_tick = now + tick_every
                    self.tick()
            except Exception:
                # The store failed: the timer brings everyone up to date once it is back.
                log.exception("device config: could not take %s; will retry", work)
                stop.wait(1.0)

    def process(self, work: _Work) -> None:
        if work.message is not None:
            self.take_message(*work.message)
        elif work.site is not None and work.device is not None:
            self.sync(work.site, work.device)
        elif work.site is not None:
            for device in self.stations(work.site):
                self.sync(work.site, device)

    def take_message(self, topic: str, payload: bytes, ack: Callable[[], None] | None) -> None:
        try:
            event = schema.decode(payload, topic)
        except schema.PayloadError as exc:
            self.dead_letter(topic, payload, exc.reason)
        else:
            self.store.note_runs(Received.of([event]))
            if isinstance(event, schema.Ack) and self._ours(event.site):
                self.take_ack(event)
            elif isinstance(event, schema.Enrolment) and self._ours(event.site):
                self.take_enrolment(event)
        if ack is not None:
            ack()

    def _ours(self, site: str) -> bool:
        return not self.sites or site in self.sites

    # -- from devices ------------------------------------------------------------------
    def take_ack(self, ack: schema.Ack) -> None:
        if ack.gallery_version is None:
            return  # a device that keeps no versioned gallery (an agent)
        with self._lock:
            known = self.store.device_gallery(ack.site, ack.device)
            self.store.gallery_acked(
                ack.site, ack.device, ack.gallery_version, ack.error, self.now()
            )
            if ack.error is not None:
                log.warning("%s/%s refused its config: %s", ack.site, ack.device, ack.error)
            # At another version than the centre thought (a refused base, a reinstalled
            # device): what it lacks from there, now. A refusal of the update itself
            # (corrupt, wrong model) waits for the timer's backoff instead.
            progress = known.applied_version < ack.gallery_version <= known.sent_version
            moved = ack.gallery_version != known.applied_version
            if moved and (ack.error is not None or not progress):
                self.sync(ack.site, ack.device, force=True)

    def take_enrolment(self, enrolment: schema.Enrolment) -> None:
        """Templates enrolled at a station: kept, and sent to every station of the site."""
        templates = [NewTemplate("finger", "r30x", t) for t in enrolment.finger_templates]
        close: dict[str, float] = {}
        if enrolment.face_model is not None:
            templates += [
                NewTemplate("face", enrolment.face_model, t) for t in enrolment.face_templates
            ]
            scores = face_scores(
                self.store, enrolment.face_model, enrolment.staff_id, enrolment.face_templates
            )
            close = lookalikes_in(scores, self.lookalike_threshold)
        version = self.store.add_templates(
            enrolment.site,
            enrolment.staff_id,
            enrolment.name,
            templates,
            source=enrolment.device,
            at=enrolment.ts,
            replace=enrolment.replace,
            lookalikes=close,
        )
        log.info(
            "%s enrolled at %s/%s: site gallery version %d%s",
            enrolment.staff_id,
            enrolment.site,
            enrolment.device,
            version,
            "".join(f"; lookalike of {other} ({score:.2f})" for other, score in close.items()),
        )
        for device in self.stations(enrolment.site):
            self.sync(enrolment.site, device)

    # -- the timer ---------------------------------------------------------------------
    def tick(self) -> None:
        """Erase leavers; resend updates that are due (not acknowledged in time)."""
        erase_leavers(self.store, self.directory(), self.now())
        for site in self.store.gallery_sites():
            if self._ours(site):
                for device in self.stations(site):
                    self.sync(site, device)

    def _due(self, sent_at: datetime | None, attempts: int) -> bool:
        if sent_at is None:
            return True
        backoff = min(self.retry_s * 2 ** max(attempts - 1, 0), MAX_BACKOFF_S)
        return self.now() - sent_at >= timedelta(seconds=backoff)

    # -- sending -----------------------------------------------------------------------
    def sync(self, site: str, device: str, *, force: bool = False) -> list[schema.Config]:
        """Send `device` what it lacks (and its timetable, once per run); the messages sent."""
        with self._lock:
            known = self.store.device_gallery(site, device)
            version = self.store.gallery_version(site)
            lacking = version > known.applied_version
            timetable_due = (site, device) not in self._timetable_sent
            in_flight = known.sent_version >= version and known.sent_version > 0
            if lacking and in_flight and not force:
                lacking = self._due(known.sent_at, known.attempts)
            if not lacking and not timetable_due:
                return []
            spec = self._timetable(site)
            if lacking:
                messages = self._updates(site, known.applied_version, spec)
            else:
                messages = [self._config(site, spec)]
            for message in messages:
                self.send(message, device)
            self._timetable_sent.add((site, device))
            if lacking:
                self.store.gallery_sent(site, device, version, self.now())
                log.info(
                    "gallery %d -> %d sent to %s/%s in %d messages",
                    known.applied_version,
                    version,
                    site,
                    device,
                    len(messages),
                )
            return messages

    def _timetable(self, site: str) -> schema.TimetableSpec:
        if site not in self._specs:
            self._specs[site] = schema.timetable_spec(self.policy.timetable(site))
        return self._specs[site]

    def _config(self, site: str, spec: schema.TimetableSpec, **gallery: object) -> schema.Config:
        ts = self.now()
        # Grows across restarts and instances (the time in ms), and within one millisecond.
        self._last_version = max(int(ts.timestamp() * 1000), self._last_version + 1)
        return schema.new_event(
            schema.Config,
            site,
            CENTRAL,
            ts,
            seq=self.next_seq(),
            version=self._last_version,
            timetable=spec,
            **gallery,
        )

    def _updates(self, site: str, base: int, spec: schema.TimetableSpec) -> list[schema.Config]:
        """What a device at `base` lacks, as messages within the payload limit."""
        entries = self.store.gallery_changes(site, base)
        names = self.directory().member
        flagged = self.store.second_factor_required()
        ops = [self._op(entry, names, entry.staff_id in flagged) for entry in entries]
        envelope = len(schema.encode(self._config(site, spec, gallery_base=base,
                                                  gallery_version=base)))  # fmt: skip
        room = schema.MAX_PAYLOAD_BYTES - envelope - MARGIN_BYTES
        messages: list[schema.Config] = []
        start, size = 0, 0
        for n, op in enumerate(ops):
            op_size = len(msgspec.json.encode(op)) + 1
            if size + op_size > room and n > start:
                messages.append(self._chunk(site, spec, base, entries, ops, start, n))
                base, start, size = entries[n - 1].version, n, 0
            size += op_size
        messages.append(self._chunk(site, spec, base, entries, ops, start, len(ops)))
        for message in messages:
            schema.encode(message)  # one person alone too large: say so, send nothing
        return messages

    def _chunk(
        self,
        site: str,
        spec: schema.TimetableSpec,
        base: int,
        entries: list[GalleryEntry],
        ops: list[schema.GalleryOp],
        start: int,
        end: int,
    ) -> schema.Config:
        version = entries[end - 1].version if end > start else base
        return self._config(
            site, spec, gallery=ops[start:end], gallery_base=base, gallery_version=version
        )

    def _op(
        self, entry: GalleryEntry, names: Mapping[str, StaffMember], second_factor: bool
    ) -> schema.GalleryOp:
        if entry.deleted:
            return schema.GalleryOp(op="delete", staff_id=entry.staff_id)
        templates = self.store.templates(entry.staff_id)
        faces = [t for t in templates if t.kind == "face"]
        # Only the latest model's: embeddings of two models cannot share a gallery.
        model = faces[-1].model if faces else None
        faces = [t for t in faces if t.model == model]
        return schema.GalleryOp(
            op="reenrol",  # the person's whole entry: it replaces what the device has
            staff_id=entry.staff_id,
            # The directory's name where it knows the person (a station may only have the id).
            name=names[entry.staff_id].name if entry.staff_id in names else entry.name,
            face_templates=[t.data for t in faces],
            finger_templates=[t.data for t in templates if t.kind == "finger"],
            face_model=model,
            second_factor=second_factor,  # a lookalike pair open (rules/lookalikes.py)
        )


def erase_leavers(store: GalleryQueries, directory: Directory, now: datetime) -> list[str]:
    """Erase the templates of everyone who left (end date passed) or was deleted from the
    directory, and their entry in every site's gallery; returns the sites changed."""
    today = now.date()
    gone = {
        member.staff_id
        for member in directory.staff
        if not member.active or (member.end_date is not None and member.end_date < today)
    }
    present = {
        entry.staff_id
        for site in store.gallery_sites()
        for entry in store.gallery_changes(site)
        if not entry.deleted
    }
    changed: set[str] = set()
    for staff_id in sorted(gone & present):
        sites = store.erase_person(staff_id)
        log.info("erased %s (left): %s", printable(staff_id), ", ".join(sorted(sites)))
        changed.update(sites)
    return sorted(changed)
