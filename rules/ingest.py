"""Ingest: MQTT messages -> validate -> store once -> recompute person-months -> publish.

The network thread only queues; one worker thread validates and stores in batches (one
transaction per batch, which also marks the changed person-days pending in the store),
acknowledges the batch's messages to the broker only then, and recomputes pending
person-months at a bounded rate so a burst of late events from a device that was offline
costs one recomputation per person-month, not one per event, and each re-judges only the
marked days (rules/recompute.py). Marks live in the store, so
instances sharing it judge what a killed one stored; a message it took but did not store
is redelivered by the broker, as it was never acknowledged. Who works where is asked of
the directory source once per batch and once per recomputation cycle, so edits managers make
in another process count from the next cycle on.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from base.printable import printable
from mqtt import schema, topics
from mqtt.ids import utc_now
from mqtt.topics import Kind
from rules.attribution import refusal
from rules.delivery import Received
from rules.directory import Directory, DirectorySource
from rules.engine import ViolationRecord, event_time
from rules.policy import Policy
from rules.publish import ResultPublisher
from rules.ratelimit import TokenBucket
from rules.recompute import affected, month_of, recompute_month, recompute_person_month
from rules.store import Arrival, DeadLetterRow, PersonDayKey, PersonMonth, Store

log = logging.getLogger(__name__)

INGESTED_KINDS = (Kind.CLOCK, Kind.ACTIVITY, Kind.ALERT, Kind.STATUS, Kind.RESENT)
MAX_BATCH = 1000
# Dead letters announced on MQTT (and logged) per second, and at once: a flood of garbage
# is stored (bounded) and counted, but does not flood the live feeds or the log.
DEAD_LETTERS_PER_S = 5.0
DEAD_LETTER_BURST = 20
# What one device may store: a burst (a station or agent catching up after days offline),
# then a steady rate well above a busy agent's; past it, its events are dead letters. A
# device's credentials then cannot fill the database or slow a person-month's judgement.
DEVICE_EVENTS_PER_S = 0.2
DEVICE_BURST = 10_000
# Events of the current month and this many before it are kept; older ones are pruned and
# their months' results stand as they are.
KEEP_MONTHS = 24
PRUNE_EVERY = timedelta(days=1)

Ack = Callable[[], None]  # tells the broker a message is safely stored
# A broker that stops publishes every client's will, just before the service's own
# connection drops, and hands over what it kept once the service is back: wills that
# arrive this shortly before the loss, or after the return, were the broker's going.
BROKER_BEFORE_S = 2.0
BROKER_BACK_S = 10.0


@dataclass(frozen=True, slots=True)
class BrokerLost:
    """In the inbox, in arrival order: the service's connection to the broker was lost."""

    at: datetime


Message = tuple[str, bytes, Ack | None, Arrival]
GO_LIVE_REACH_DAYS = 366


def subscriptions(group: str | None, sites: Iterable[str] = ()) -> list[str]:
    """Shared subscriptions to every ingested kind, for all sites or the given ones.

    With no group (None or ""), plain subscriptions, for one instance: Mosquitto 2.0 does
    not restore shared subscriptions from its persistence file, so after a broker restart
    a `$share` group gets nothing until its instances are back, while a plain subscription
    of a persistent session is queued for from the first second (tests/chaos).
    """
    chosen = sorted(sites) or [None]
    filters = [topics.subscription(site, None, kind) for site in chosen for kind in INGESTED_KINDS]
    return [topics.shared(group, f) if group else f for f in filters]


class Ingest:
    """The ingest pipeline; `handle` is the MQTT callback, `run` the worker loop."""

    def __init__(
        self,
        store: Store,
        policy: Policy,
        directory: DirectorySource,
        publisher: ResultPublisher | None = None,
        *,
        recompute_every_s: float = 2.0,
        now: Callable[[], datetime] = utc_now,
        dead_letter_gate: TokenBucket | None = None,
        device_quota: tuple[float, int] = (DEVICE_EVENTS_PER_S, DEVICE_BURST),
        keep_months: int = KEEP_MONTHS,
    ) -> None:
        self.store, self.policy, self.publisher, self.now = store, policy, publisher, now
        self.directory = directory
        self.on_status: Callable[[schema.Status], None] | None = None  # a device's status
        # Notifications: given the new events and the changed results; they only queue.
        self.on_events: Callable[[list[schema.Event]], None] | None = None
        self.on_results: Callable[[list[ViolationRecord]], None] | None = None
        self.recompute_every_s = recompute_every_s
        self.device_quota, self.keep_months = device_quota, keep_months
        self._quotas: dict[tuple[str, str], TokenBucket] = {}
        self._last_prune: datetime | None = None
        self.inbox: queue.Queue[Message | BrokerLost] = queue.Queue()
        # To recompute at the next flush: whole person-months, and person-days.
        self.dirty: set[PersonMonth] = set()
        self.dirty_days: set[PersonDayKey] = set()
        # Journal numbers stored since they were last noted (rules/delivery_store.py): noted
        # with each flush, not in every batch's transaction, which would cost ingest a row
        # per event. Lost with the process, they are only asked for again: no harm.
        self.received = Received()
        # Per device, the range the centre last asked it to send again (refreshed with each
        # flush): its answer does not count against the device's quota.
        self._asked: dict[tuple[str, str], tuple[int, int]] = {}
        self.stored = self.duplicates = self.rejected = self.failures = 0
        self.unannounced = 0  # dead letters stored but not announced (rate limit)
        self._unlogged = 0
        self.gate = dead_letter_gate or TokenBucket(DEAD_LETTERS_PER_S, DEAD_LETTER_BURST)
        self._last_tick: datetime | None = None
        self._broker_lost: datetime | None = None  # the connection is down since then
        self._broker_away: tuple[datetime, datetime] | None = None  # the last outage
        self._progressed = time.monotonic()  # a batch stored, or nothing waiting

    def progressing(self, within_s: float) -> bool:
        """Whether ingestion made progress in the last `within_s` seconds: the watchdog is
        fed only then, so a store failing for good ends in a restart, not a silent stall."""
        return time.monotonic() - self._progressed < within_s

    def handle(self, topic: str, payload: bytes, ack: Ack | None = None) -> None:
        self.inbox.put((topic, payload, ack, self._arrival()))

    def connection(self, connected: bool) -> None:
        """The service's own connection to the broker was made or lost."""
        now = self.now()
        if not connected:
            self._broker_lost = self._broker_lost or now
            self.inbox.put(BrokerLost(now))  # after the wills that came just before it
        elif self._broker_lost is not None:
            self._broker_away, self._broker_lost = (self._broker_lost, now), None

    def _arrival(self) -> Arrival:
        now = self.now()
        away = self._broker_away
        if away is not None and now - away[1] <= timedelta(seconds=BROKER_BACK_S):
            return Arrival(now, broker_lost=away[0])
        return Arrival(now)

    # -- one batch -------------------------------------------------------------------
    def process(self, batch: list[tuple[str, bytes, Arrival]]) -> None:
        """Validate, judge and store a batch. A message that cannot be taken is a dead
        letter on its own; only the store failing raises (and the batch is retried)."""
        marks: dict[str, list[PersonDayKey]] = {}
        valid: list[schema.Event] = []
        arrivals: dict[str, Arrival] = {}
        horizon = self.store.horizon()
        directory = self.directory()
        for topic, payload, arrival in batch:
            try:
                event = schema.decode(payload, topic)
                mark = self.admit(event, horizon, directory)
                marks.setdefault(event.id, mark)  # the store keeps the first of one id too
            except schema.PayloadError as exc:
                self.dead_letter(topic, payload, exc.reason)
            except Exception as exc:  # the event's own fault (its times, its person-month)
                log.exception("cannot judge a message from %s", printable(topic[:200]))
                self.dead_letter(topic, payload, f"cannot be judged: {type(exc).__name__}")
            else:
                valid.append(event)
                arrivals.setdefault(event.id, arrival)
        punches = any(isinstance(event, schema.Punch) for event in valid)
        before = self.store.first_punches() if punches else {}
        new = self.store.add_events(valid, lambda event: marks[event.id], arrivals=arrivals)
        # Duplicates too: a number stored before it was noted (an upgrade, a restart).
        self.received.add(valid)
        self.stored += len(new)
        self.duplicates += len(valid) - len(new)
        if punches:
            self.mark_new_go_live(before, self.store.first_punches(), directory)
        for answer in (e for e in new if isinstance(e, schema.Resent) and e.missing):
            lost = self.store.record_lost(
                answer.site, answer.device, answer.missing, self.now(), "no longer on the device"
            )
            log.warning("%s/%s no longer has %d entries", answer.site, answer.device, lost)
        if self.on_status is not None:
            for event in valid:
                if isinstance(event, schema.Status):
                    self.on_status(event)
        if self.on_events is not None and new:
            self._notify(self.on_events, new)

    @staticmethod
    def _notify(hook: Callable[[list], None], items: list) -> None:
        """Queue notifications; a failure to is logged, never a reason to store again."""
        try:
            hook(items)
        except Exception:
            log.exception("could not queue notifications for %d items", len(items))

    def mark_new_go_live(
        self, before: dict[str, datetime], after: dict[str, datetime], directory: Directory
    ) -> None:
        """A site's first punch came in, or one earlier than its first (from a device that
        was offline): its go-live day moved back, so every person there is judged again
        from that day's month to this one."""
        for site in sorted({w.site for w in directory.windows}):
            first, known = after.get(site), before.get(site)
            if first is None or first == known or self.policy.site(site).go_live:
                continue
            zone = self.policy.zone(site)
            today = self.now().astimezone(zone).date()
            # A year back at most: a punch from a device whose clock was far off must not
            # set off years of recomputation (the inspection shows that clock).
            day = max(first.astimezone(zone).date(), today - timedelta(days=GO_LIVE_REACH_DAYS))
            months = {month_of(day + timedelta(days=n)) for n in range((today - day).days + 1)}
            staff = directory.staff_at(site)
            self.dirty.update((person, month) for person in staff for month in months)

    def admit(
        self, event: schema.Event, horizon: str | None, directory: Directory
    ) -> list[PersonDayKey]:
        """The person-days `event` changes; a PayloadError saying why if it may not be
        stored: a claim its device may not make, a pruned month, its device over quota."""
        if reason := refusal(event, directory):
            raise schema.PayloadError(reason)
        mark = affected(event, self.policy, directory)
        month = max(
            (month_of(day) for _, day in mark),
            default=event_time(event).astimezone(UTC).strftime("%Y-%m"),
        )
        if horizon is not None and month < horizon:
            raise schema.PayloadError(
                f"an event of {month}, past the retention period (months before {horizon} "
                "are pruned and their results final)"
            )
        rate, burst = self.device_quota
        source = (event.site, event.device)
        if source not in self._quotas:
            self._quotas[source] = TokenBucket(rate, burst)
        asked = self._asked.get(source)
        if asked is not None and asked[0] <= event.seq <= asked[1]:
            return mark  # an answer to the centre's own request: it has asked for this much
        if not self._quotas[source].allow():
            raise schema.PayloadError(
                f"{event.site}/{event.device} is over its quota ({burst} events at once, "
                f"then {rate:g} a second)"
            )
        return mark

    def prune(self, now: datetime) -> int:
        """Delete events of the months past the retention period, and findings' photos
        past theirs; how many events went."""
        keep_photos = timedelta(days=self.policy.finding_photos.retention_days)
        self.store.prune_photos(now - keep_photos)
        today = now.astimezone(UTC).date()
        months = today.year * 12 + today.month - 1 - self.keep_months
        return self.store.prune_events(f"{months // 12:04d}-{months % 12 + 1:02d}")

    def dead_letter(self, topic: str, payload: bytes, reason: str) -> None:
        self.rejected += 1
        row = DeadLetterRow.of(utc_now(), topic, reason, payload)
        self.store.add_dead_letter(row)
        if not self.gate.allow():
            self.unannounced += 1
            self._unlogged += 1
            return
        log.warning("dead letter from %s: %s", row.topic[:200], row.reason[:500])
        try:
            site = topics.parse(topic).site
        except topics.TopicError:
            return  # no site to report it under; it is stored all the same
        if self.publisher is not None:
            self.publisher.dead_letter(site, row)

    # -- recomputation ---------------------------------------------------------------
    def mark_settled_sessions(self, now: datetime, directory: Directory) -> None:
        """Sessions that settled since the last tick can now show absences: recompute them
        (of the people posted at the site that day). Every day since the last tick is looked
        at, and the one before it (a session late in a day settles in the next); and the
        days whose kept judgement stopped holding meanwhile (a going-out's deadline passed)."""
        last, self._last_tick = self._last_tick, now
        if last is None:
            return
        self.dirty_days.update(self.store.expiring_days(last, now))
        settle = self.policy.settle()
        for site in sorted({w.site for w in directory.windows}):
            zone = self.policy.zone(site)
            first = last.astimezone(zone).date() - timedelta(days=1)
            span = (now.astimezone(zone).date() - first).days
            for day in (first + timedelta(days=n) for n in range(span + 1)):
                ends = [end + settle for _, end in self.policy.session_bounds(site, day)]
                if any(last < moment <= now for moment in ends):
                    self.dirty_days.update(
                        (staff, day)
                        for staff in directory.staff_at(site)
                        if (window := directory.posting_on(staff, day)) and window.site == site
                    )

    def flush(self) -> int:
        """Recompute every dirty or pending person-month; publish what changed.

        Returns the count. Pending ones were marked in the store by any instance sharing
        it (one killed before judging them included); they are skipped if another
        instance has judged them meanwhile. A failure leaves them marked, to retry.
        """
        if self._unlogged:
            log.warning("%d more dead letters stored, not announced (rate limit)", self._unlogged)
            self._unlogged = 0
        self.note_received()
        now = self.now()
        if self._last_prune is None or now - self._last_prune >= PRUNE_EVERY:
            self._last_prune = now
            try:
                self.prune(now)
            except Exception:
                log.exception("could not prune events past the retention period; will retry")
        try:
            directory = self.directory()
        except Exception:
            log.exception("could not read the directory; will retry")
            self.failures += 1
            return 0
        tick = self._last_tick
        try:
            self.mark_settled_sessions(now, directory)
        except Exception:
            log.exception("could not read the judgements that stopped holding; will retry")
            self._last_tick = tick
            self.failures += 1
            return 0
        dirty = self._take_dirty()
        try:
            pending = set(self.store.pending()) - set(dirty)
        except Exception:
            log.exception("could not read the pending person-months; will retry")
            self._put_back(dirty.items())
            self.failures += 1
            return 0
        known = [key for key in sorted(pending) if directory.sites_of(key[0])]
        work = [(key, False, dirty[key]) for key in sorted(dirty)]
        work += [(key, True, set()) for key in known]
        for n, ((staff, month), if_pending, days) in enumerate(work):
            try:
                change = recompute_person_month(
                    self.store,
                    self.policy,
                    directory,
                    staff,
                    month,
                    now,
                    if_pending=if_pending,
                    days=days,
                )
            except Exception:
                log.exception("could not recompute %s %s; will retry", staff, month)
                self._put_back((key, days) for key, marked, days in work[n:] if not marked)
                self.failures += 1
                return n
            self.announce(*change)
        return len(work)

    def note_received(self) -> None:
        """Note the journal numbers stored since the last time (kept for a retry if the
        store fails), and learn what the centre has asked devices for since."""
        runs = self.received.take()
        try:
            if runs:
                self.store.note_runs(runs)
            self._asked = self.store.outstanding_requests()
        except Exception:
            log.exception("could not note %d runs of journal numbers; will retry", len(runs))
            self.received.put_back(runs)

    def _take_dirty(self) -> dict[PersonMonth, set[date] | None]:
        """What is dirty, per person-month: the days to judge again (None: every day)."""
        work: dict[PersonMonth, set[date] | None] = dict.fromkeys(self.dirty)
        for staff, day in self.dirty_days:
            days = work.setdefault((staff, month_of(day)), set())
            if days is not None:
                days.add(day)
        self.dirty, self.dirty_days = set(), set()
        return work

    def _put_back(self, work: Iterable[tuple[PersonMonth, set[date] | None]]) -> None:
        for (staff, month), days in work:
            if days is None:
                self.dirty.add((staff, month))
            else:
                self.dirty_days.update((staff, day) for day in days)

    def recompute_all(self, month: str) -> None:
        """Start-up: bring a whole month up to date (events may have come in while down)."""
        now = self.now()
        self._last_tick = now
        self.announce(*recompute_month(self.store, self.policy, self.directory(), month, now))

    def announce(self, changed: list[ViolationRecord], withdrawn: list[ViolationRecord]) -> None:
        if self.on_results is not None and changed:
            self._notify(self.on_results, changed)
        if self.publisher is None:
            return
        for record in changed:
            self.publisher.violation(record)
        for record in withdrawn:
            self.publisher.violation(record, withdrawn=True)

    # -- worker loop -----------------------------------------------------------------
    def drain(self, timeout_s: float) -> int:
        """Process what is queued (waiting up to `timeout_s` for the first message)."""
        try:
            batch = [self.inbox.get(timeout=timeout_s)]
        except queue.Empty:
            self._progressed = time.monotonic()  # idle: nothing is waiting
            return 0
        while len(batch) < MAX_BATCH:
            try:
                batch.append(self.inbox.get_nowait())
            except queue.Empty:
                break
        messages = [item for item in batch if not isinstance(item, BrokerLost)]
        try:
            self.process([(topic, payload, arrival) for topic, payload, _, arrival in messages])
            for loss in (item for item in batch if isinstance(item, BrokerLost)):
                self.store.broker_went_away(loss.at, loss.at - timedelta(seconds=BROKER_BEFORE_S))
        except Exception:
            # The store failed (disk full, database down): keep the messages for a retry.
            # Putting them back at the end is safe because results do not depend on order.
            log.exception("could not store a batch of %d messages; will retry", len(batch))
            for item in batch:
                self.inbox.put(item)
            self.failures += 1
            return 0
        for _, _, ack, _ in messages:
            if ack is not None:
                ack()
        self._progressed = time.monotonic()
        return len(batch)

    def run(self, stop: threading.Event) -> None:
        next_flush = time.monotonic() + self.recompute_every_s
        while not stop.is_set():
            failures = self.failures
            self.drain(timeout_s=0.2)
            if self.failures > failures:
                stop.wait(1.0)  # give a failing store a moment before the retry
            if time.monotonic() >= next_flush:
                self.flush()
                next_flush = time.monotonic() + self.recompute_every_s
        failures = self.failures
        while self.drain(timeout_s=0) and self.failures == failures:
            pass
        self.flush()
