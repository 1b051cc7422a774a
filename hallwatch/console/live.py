"""Live events for every open browser: one MQTT connection per console process, fanned out.

The hub subscribes as the read-only `viewer` account to what a live view shows
(topics.LIVE_KINDS, for the sites it serves), decodes each message once (mqtt/schema.py)
on the network thread, and hands it to the event loop, which puts it into the queue of
every subscriber allowed to see its site (each browser's Server-Sent Events stream).
Queues are bounded: a subscriber that does not keep up loses its oldest events (counted
in `dropped`), never holding up the others or the broker connection. Each event says what
it changes on the live hall (`LiveEvent.change`): one person's row, or the whole site.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from mqtt import schema, topics
from mqtt.client import BrokerConfig, ConnectError, MqttClient, Received
from mqtt.ids import utc_now

log = logging.getLogger(__name__)

QUEUE_SIZE = 256  # events a subscriber may fall behind by before its oldest are dropped


def live_filters(sites: Iterable[str] = ()) -> list[str]:
    """What the hub subscribes to: each kind a live view shows, for each site (none: any),
    from exactly the source the `viewer` ACL names (the rules service for its results; a
    wider filter than the ACL's pattern is refused by the broker)."""
    return [
        topics.subscription(site, topics.CENTRAL if kind in topics.CENTRAL_KINDS else None, kind)
        for site in sorted(sites) or [None]
        for kind in topics.LIVE_KINDS
    ]


@dataclass(frozen=True, slots=True)
class Change:
    """What an event changes on a site's live hall: one person's row (`staff_id`), or
    everyone's (None: leave granted or cancelled names a leave, not a person)."""

    site: str
    staff_id: str | None


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """A decoded message as subscribers get it. `retained`: kept by the broker from
    before (a device's last status), not happening now; `received_ns`: when the hub got it
    (time.monotonic_ns), for measuring delivery."""

    site: str
    kind: topics.Kind
    event: schema.Event
    retained: bool
    received: datetime
    received_ns: int

    @property
    def change(self) -> Change | None:
        """What the presence rows must refresh for (None: nobody's state: a device status,
        an inspection)."""
        match self.event:
            case schema.Punch() | schema.Violation():
                return Change(self.site, self.event.staff_id)
            case schema.Alert(staff_id=staff) if staff is not None:
                return Change(self.site, staff)
            case schema.Correction(action="leave_add" | "leave_cancel"):
                return Change(self.site, None)
        return None


@dataclass(eq=False)
class Subscription:
    """One subscriber's view of the hub: the sites it may see, its bounded queue."""

    sites: frozenset[str]
    queue: asyncio.Queue[LiveEvent | None]
    dropped: int = 0  # events lost because the subscriber fell behind
    closed: bool = field(default=False)

    def sees(self, site: str) -> bool:
        return site in self.sites

    def offer(self, item: LiveEvent | None) -> None:
        """Queue `item`, dropping the oldest when full (`None` ends the stream)."""
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(item)

    async def get(self) -> LiveEvent | None:
        """The next event; None once the hub stopped or the subscription was closed."""
        if self.closed and self.queue.empty():
            return None
        return await self.queue.get()

    async def __aiter__(self) -> AsyncIterator[LiveEvent]:
        while (item := await self.get()) is not None:
            yield item


class LiveHub:
    """The console's one broker connection, fanned out to asyncio subscribers.

    `start()` and `stop()` run in the event loop the subscribers use (the web app's
    lifespan); `subscribe()`/`unsubscribe()` as browsers come and go."""

    def __init__(
        self,
        config: BrokerConfig,
        client_id: str,
        sites: Iterable[str] = (),
        *,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        """`sites`: the sites to subscribe to (none: every site the account may read).
        A live view wants no backlog kept while the console was away (the store has the
        day), so the session is never persistent."""
        self.sites = frozenset(sites)
        self.queue_size = queue_size
        self.rejected = 0  # messages that were not valid payloads
        self._subscribers: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._up = asyncio.Event()  # set once the broker accepted the connection
        self._client = MqttClient(
            config.model_copy(update={"persistent_session": False}),
            client_id,
            on_received=self._received,
            on_connection=self._connection,
        )
        for topic_filter in live_filters(self.sites):
            self._client.subscribe(topic_filter)

    @property
    def connected(self) -> bool:
        return self._client.connected.is_set()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def start(self, wait_s: float | None = 10.0) -> LiveHub:
        """Connect; with `wait_s`, wait (without blocking the loop) for the broker to
        accept the connection, or raise ConnectError."""
        self._loop = asyncio.get_running_loop()
        self._up.clear()
        self._client.start(wait_s=None)
        if wait_s is None:
            return self
        try:
            await asyncio.wait_for(self._up.wait(), wait_s)
        except TimeoutError:
            await self.stop()
            where = f"{self._client.config.host}:{self._client.config.port}"
            reason = self._client.last_error or "no answer"
            raise ConnectError(
                f"live view cannot connect to the broker at {where}: {reason}"
            ) from None
        return self

    async def stop(self) -> None:
        """Disconnect (the network thread is joined), then end every subscriber's stream."""
        self._client.stop()
        self._loop = None
        for subscription in list(self._subscribers):
            self.unsubscribe(subscription)

    def subscribe(self, sites: Iterable[str], *, queue_size: int | None = None) -> Subscription:
        """A new subscriber that sees the events of `sites` (those a signed-in person may);
        `queue_size`: how far it may fall behind (default: the hub's)."""
        subscription = Subscription(frozenset(sites), asyncio.Queue(queue_size or self.queue_size))
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a subscriber (its browser went away) and end its stream."""
        self._subscribers.discard(subscription)
        if not subscription.closed:
            subscription.closed = True
            subscription.offer(None)

    # -- the network thread hands over, the loop fans out ------------------------------
    def _call_in_loop(self, callback: Callable[..., object], *args: object) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(callback, *args)

    def _connection(self, connected: bool) -> None:
        if connected:
            self._call_in_loop(self._up.set)

    def _received(self, message: Received) -> None:
        received_ns = time.monotonic_ns()
        try:
            where = topics.parse(message.topic)
            event = schema.decode(message.payload, message.topic)
        except (topics.TopicError, schema.PayloadError) as exc:
            self.rejected += 1
            log.warning("live view ignores a message on %r: %s", message.topic, exc)
            return
        live = LiveEvent(where.site, where.kind, event, message.retained, utc_now(), received_ns)
        self._call_in_loop(self._fan_out, live)

    def _fan_out(self, live: LiveEvent) -> None:
        for subscription in self._subscribers:
            if subscription.sees(live.site):
                subscription.offer(live)
