"""The live feed: one readable line per message, for admins watching a hall.

Pure formatting, no I/O: `describe()` turns a received message into a `FeedLine`;
malformed payloads become lines that say so instead of exceptions. Every time on a line
is in one zone (the one chosen, base/times.py). A line is timed by its event, except a
device's last will: that was fixed when the device connected, so the line is timed by
its arrival, when the feed saw the device go.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

import msgspec

from base.printable import printable
from base.times import local_zone, time_of_day
from mqtt import schema, topics

SEVERITY_COLOURS = {
    "info": None,
    "minor": "yellow",
    "serious": "red",
    "offline": "red",
    "bad": "magenta",
}


@dataclass(frozen=True, slots=True)
class FeedFilter:
    sites: frozenset[str] = frozenset()
    devices: frozenset[str] = frozenset()
    staff: frozenset[str] = frozenset()
    kinds: frozenset[topics.Kind] = frozenset()

    def topic_filters(self) -> list[str]:
        """The narrowest subscriptions that cover this filter; with no kinds chosen, what a
        live view shows (all a `viewer` account may read)."""
        sites = sorted(self.sites) or [None]
        kinds = sorted(self.kinds or topics.LIVE_KINDS)
        return [topics.subscription(site, None, kind) for site in sites for kind in kinds]

    def admits(self, line: FeedLine) -> bool:
        if self.devices and line.source not in self.devices:
            return False
        return not self.staff or line.staff in self.staff


@dataclass(frozen=True, slots=True)
class FeedLine:
    received: datetime
    site: str
    source: str
    kind: str
    text: str
    staff: str | None = None
    level: str = "info"  # a key of SEVERITY_COLOURS
    event: schema.Event | None = field(default=None, compare=False)
    when: datetime | None = None  # the moment the line is about; None: when it was received
    zone: tzinfo | None = None  # the zone of every time on the line; None: this machine's

    def render(self) -> str:
        """One line; the event's own time (a device catching up shows when things happened)."""
        when = time_of_day(self.when or self.received, self.zone or local_zone(), seconds=True)
        # Escaped: the text quotes what a device sent (its alert, a rejected payload's key).
        return printable(f"{when}  {self.site}/{self.source:<12} {self.kind:<10} {self.text}")


def broker_line(connected: bool, at: datetime, zone: tzinfo | None) -> FeedLine:
    """The feed's own connection: the broker, not a device, went away (or came back)."""
    text = (
        "broker connection back: statuses that follow were kept while it was away"
        if connected
        else "broker connection LOST: devices are not heard until it is back"
    )
    level = "info" if connected else "offline"
    return FeedLine(at, "-", "broker", "broker", text, level=level, zone=zone)


def _who(staff_id: str, names: Mapping[str, str]) -> str:
    """A person as the feed shows them: their name beside the id, where it is known."""
    name = names.get(staff_id)
    return f"{name} {staff_id}" if name else staff_id


def _clock_text(e: schema.Punch, zone: tzinfo, names: Mapping[str, str]) -> str:
    score = f"{e.score:.0f}" if e.method is schema.Method.FINGER else f"{e.score:.2f}"
    parts = [_who(e.staff_id, names), e.action.value, e.method.value, f"score {score}"]
    if e.inferred:
        parts.append("(inferred)")
    if e.second_factor is not None:
        parts.append(f"(confirmed by {e.second_factor.value.replace('_', ' ')})")
    if e.leave is not None:
        back = time_of_day(e.leave.expected_return, zone)
        parts.append(f"[{e.leave.kind.value}: {e.leave.reason}, back by {back}]")
    return "  ".join(parts)


def _status_text(e: schema.Status, zone: tzinfo, retained: bool) -> str:
    text = f"{e.role} {e.state.upper()}"
    if schema.is_will(e):
        since = time_of_day(e.ts, zone, seconds=True)
        went = "went away earlier (kept by the broker; " if retained else "connection lost ("
        text += f"  {went}connected since {since})"
    if e.health is not None:
        shown = {k: v for k, v in msgspec.structs.asdict(e.health).items() if v is not None}
        text += "  " + " ".join(f"{k}={v}" for k, v in shown.items())
    return text


def _text_and_level(
    e: schema.Event, zone: tzinfo, retained: bool, names: Mapping[str, str]
) -> tuple[str, str]:
    match e:
        case schema.Punch():
            return _clock_text(e, zone, names), "info"
        case schema.Activity():
            mins = e.duration_s / 60
            return (
                f"{_who(e.staff_id, names) if e.staff_id else e.user}  {e.category}  {e.app}  {mins:.1f} min  idle {e.idle_s:.0f}s",
                ("info" if e.category == "work" else "minor"),
            )
        case schema.Alert():
            who = f" ({_who(e.staff_id, names)})" if e.staff_id else ""
            return f"{e.severity.value.upper()} {e.kind.value}{who}: {e.message}", e.severity.value
        case schema.Status():
            return _status_text(e, zone, retained), "offline" if e.state == "offline" else "info"
        case schema.Violation():
            corr = f" correction {e.correction_no}/3" if e.correction_no else ""
            flags = (" ESCALATED" if e.escalated else "") + (" VETO" if e.veto else "")
            return (
                f"{_who(e.staff_id, names)}  {e.rule}  {e.severity.value} -{e.deduction:g}{corr}{flags}  {e.detail}",
                e.severity.value,
            )
        case schema.Correction():
            return f"{e.action} {e.target} by {e.by}: {e.reason}", "info"
        case schema.Inspection():
            counts = " ".join(f"{k}={v}" for k, v in sorted(e.counts.items()))
            return f"{e.day}  {counts}", "info"
        case schema.DeadLetter():
            return f"rejected {e.topic}: {e.reason}", "bad"
        case schema.Config():
            timetable = f", timetable in {e.timetable.timezone}" if e.timetable else ""
            return (
                f"version {e.version}: {len(e.gallery)} gallery ops, {len(e.categories)} categories"
                f"{timetable}",
                "info",
            )
        case schema.Ack():
            outcome = "applied" if e.applied else f"FAILED: {e.error}"
            return f"config v{e.version} {outcome}", "info" if e.applied else "serious"
    return repr(e), "info"


def describe(
    topic: str,
    payload: bytes,
    received: datetime,
    *,
    zone: tzinfo | None = None,
    retained: bool = False,
    names: Mapping[str, str] | None = None,
) -> FeedLine:
    """Turn one message into a feed line, its times in `zone` (None: this machine's);
    `retained`: the broker kept it from before; `names`: staff id to name, shown beside
    the id. Never raises on bad input."""
    try:
        where = topics.parse(topic)
        site, source, kind = where.site, where.source, str(where.kind)
    except topics.TopicError:
        site, source, kind = "?", "?", "?"
    try:
        event = schema.decode(payload, topic)
    except schema.PayloadError as exc:
        text = f"MALFORMED: {exc.reason}"
        return FeedLine(received, site, source, kind, text, level="bad", zone=zone)
    text, level = _text_and_level(event, zone or local_zone(), retained, names or {})
    staff = getattr(event, "staff_id", None)
    will = isinstance(event, schema.Status) and schema.is_will(event)
    return FeedLine(
        received,
        site,
        source,
        kind,
        text,
        staff=staff,
        level=level,
        event=event,
        when=received if will else event.ts,
        zone=zone,
    )
