"""Payload schemas: the one definition every publisher and consumer shares.

Every payload is a JSON object with a `schema` name and version (e.g. `hallwatch.clock/1`),
a time-ordered unique `id` (UUIDv7), a per-publisher monotonic `seq` (gaps are visible), the
`site` and `device` that produced it, and a timezone-aware `ts`.

Validation is strict (unknown fields, wrong types, naive timestamps are rejected) and fast
(msgspec validates while it parses); every rejection carries a precise reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import msgspec
from msgspec import Meta, Struct

from base import __version__
from base.config import validate
from base.errors import HallwatchError
from base.identifiers import NODE_ID, STAFF_ID, WINDOW_ID
from base.printable import printable, without_controls
from base.schedule import Timetable
from mqtt.ids import BOOT_ID, new_event_id
from mqtt.topics import CENTRAL, TO_DEVICE_KINDS, Kind, TopicError, parse

# Every payload, a config message's too: the broker refuses larger packets (a device
# could otherwise take its memory), so a big gallery update goes out split (split_config).
MAX_PAYLOAD_BYTES = 64 * 1024

EventId = Annotated[
    str, Meta(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
]
NodeId = Annotated[str, Meta(pattern=NODE_ID.pattern)]
StaffId = Annotated[str, Meta(pattern=STAFF_ID.pattern)]
WindowId = Annotated[str, Meta(pattern=WINDOW_ID.pattern)]
AwareDatetime = Annotated[datetime, Meta(tz=True)]
# Text a person will read: no control characters (a line break or an escape sequence in
# an alert would forge lines on an operator's terminal and in the logs).
# (`$(?!\n)`, not `$`: Python's `$` also matches before a final line break; no `\Z`,
# which the AsyncAPI document's readers, ECMAScript regexes, do not have.)
NO_CONTROLS = r"^[^\x00-\x1f\x7f-\x9f]*$(?!\n)"
BootId = Annotated[str, Meta(pattern=r"^[0-9a-f]{16}$")]
ShortText = Annotated[str, Meta(max_length=200, pattern=NO_CONTROLS)]
Text = Annotated[str, Meta(max_length=2000, pattern=NO_CONTROLS)]
Seconds = Annotated[float, Meta(ge=0, le=7 * 86400)]
Points = Annotated[float, Meta(ge=0, le=100)]
# Every time a payload carries lies in these years: the calendar's own ends (year 1 with
# +14:00, 9999-12-31 23:00Z) overflow once shifted to a site's zone or a month's end.
FIRST_YEAR, LAST_YEAR = 2000, 2099
_EARLIEST = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
_LATEST = datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC)


def _check_time(moment: datetime | date, where: str) -> None:
    """Refuse a time or date outside FIRST_YEAR..LAST_YEAR (compared without conversion,
    which is what overflows)."""
    inside = (
        _EARLIEST <= moment < _LATEST
        if isinstance(moment, datetime)
        else FIRST_YEAR <= moment.year <= LAST_YEAR
    )
    if not inside:
        raise ValueError(
            f"{moment.isoformat()} is outside {FIRST_YEAR}-{LAST_YEAR} - at `$.{where}`"
        )


class Action(StrEnum):
    CLOCK_IN = "clock_in"
    CLOCK_OUT = "clock_out"
    LEAVE_OUT = "leave_out"
    LEAVE_RETURN = "leave_return"


class Method(StrEnum):
    FACE = "face"
    FINGER = "finger"
    FACE_FINGER = "face+finger"


class SecondFactor(StrEnum):
    """What confirmed a face in the grey zone (between the lower and accept thresholds)."""

    FINGER = "finger"  # the candidate's own finger, 1:1
    STAFF_NUMBER = "staff_number"  # their staff number typed, and the face checked 1:1


class LeaveKind(StrEnum):
    OUTING = "outing"
    PERSONAL = "personal"
    SICK = "sick"
    OFFICIAL = "official"


class AlertKind(StrEnum):
    SPOOF_SUSPECTED = "spoof_suspected"
    PROXY_PUNCH = "proxy_punch"
    UNKNOWN_FACE = "unknown_face"
    SENSOR_FAULT = "sensor_fault"
    CAMERA_FAULT = "camera_fault"
    TAMPER = "tamper"
    DISK_FULL = "disk_full"
    CLOCK_FAULT = "clock_fault"
    DUPLICATE_DEVICE = "duplicate_device"  # another device runs under this one's id
    PROBE_FAULT = "probe_fault"  # a workstation agent cannot see the desktop (display, idle)
    SOFTWARE_FAULT = "software_fault"  # a part of the device's program failed, restarted


class Severity(StrEnum):
    INFO = "info"
    MINOR = "minor"
    SERIOUS = "serious"


class Event(
    Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True, tag_field="schema"
):
    """Fields every payload carries."""

    id: EventId
    seq: Annotated[int, Meta(ge=0)]
    site: NodeId
    device: NodeId
    ts: AwareDatetime

    rules: ClassVar[tuple[CrossFieldRule, ...]] = ()  # a payload type's cross-field rules

    def __post_init__(self) -> None:
        _check_time(self.ts, "ts")
        for rule in self.rules:
            if not rule.holds(self):
                raise ValueError(f"{rule.text} - at `{rule.at}`")


EventT = TypeVar("EventT", bound=Event)


def new_event(
    event_type: type[EventT],
    site: str,
    device: str,
    ts: datetime,
    /,
    *,
    seq: int = 0,
    event_id: str | None = None,
    **fields: Any,
) -> EventT:
    """A new `event_type` payload from `device` at `site`, at `ts`, with a fresh id.

    `seq` stays 0 for what a device journals (the journal numbers events as it stores them)
    and for a last will; a central publisher numbers its own. `event_id` is for an id needed
    before the event exists (an alert names its evidence snapshot after it).
    """
    return event_type(
        id=event_id or new_event_id(), seq=seq, site=site, device=device, ts=ts, **fields
    )


class Leave(Struct, frozen=True, forbid_unknown_fields=True):
    """A going-out registration (外出登记)."""

    kind: LeaveKind
    reason: ShortText
    expected_return: AwareDatetime

    def __post_init__(self) -> None:
        _check_time(self.expected_return, "leave.expected_return")


@dataclass(frozen=True)
class CrossFieldRule:
    """A rule between fields, beyond what each field's type says. The validator checks
    it (`holds`) and the contract document states it (mqtt/asyncapi.py) from this same
    object, in words and, where JSON Schema can say it, as a schema."""

    at: str  # the JSON path a rejection points at
    text: str  # the rule in words; also the rejection's reason
    holds: Callable[[Any], bool]
    json_schema: dict[str, Any] | None = None  # None: JSON Schema cannot compare fields


def _when(field: str, values: list[str]) -> dict[str, Any]:
    return {"properties": {field: {"enum": values}}, "required": [field]}


class Punch(Event, tag="hallwatch.clock/1"):
    """A punch at a station.

    `score` is the matcher's own score: the cosine similarity for `face` and `face+finger`,
    the sensor's match score for `finger` (`finger_score` repeats it for `face+finger`).
    `second_factor` is set when the face fell in the grey zone and something else confirmed
    it: `finger` (method `face+finger`) or `staff_number` (method `face`; `score` is then
    the 1:1 cosine against that person's own templates). Absent: the face alone, or the
    site's policy, decided.
    """

    staff_id: StaffId
    action: Action
    method: Method
    score: Annotated[float, Meta(ge=-1, le=100_000)]
    finger_score: Annotated[int, Meta(ge=0, le=100_000)] | None = None
    liveness: Annotated[float, Meta(ge=0, le=1)] | None = None
    inferred: bool = False
    leave: Leave | None = None
    second_factor: SecondFactor | None = None

    rules: ClassVar[tuple[CrossFieldRule, ...]] = (
        CrossFieldRule(
            "$.score",
            "a face or face+finger `score` must be a cosine similarity in [-1, 1]",
            lambda p: p.method is Method.FINGER or p.score <= 1,
            {
                "if": _when("method", [Method.FACE, Method.FACE_FINGER]),
                "then": {"properties": {"score": {"maximum": 1}}},
            },
        ),
        CrossFieldRule(
            "$.finger_score",
            "face+finger needs `finger_score`",
            lambda p: p.method is not Method.FACE_FINGER or p.finger_score is not None,
            {
                "if": _when("method", [Method.FACE_FINGER]),
                "then": {
                    "required": ["finger_score"],
                    "properties": {"finger_score": {"type": "integer"}},
                },
            },
        ),
        CrossFieldRule(
            "$.second_factor",
            "a `second_factor` of finger needs method face+finger, of staff_number method face",
            lambda p: (
                p.second_factor is None
                or (
                    (p.second_factor is SecondFactor.FINGER) == (p.method is Method.FACE_FINGER)
                    and p.method is not Method.FINGER
                )
            ),
            {
                "allOf": [
                    {
                        "if": _when("second_factor", [SecondFactor.FINGER]),
                        "then": {"properties": {"method": {"const": Method.FACE_FINGER}}},
                    },
                    {
                        "if": _when("second_factor", [SecondFactor.STAFF_NUMBER]),
                        "then": {"properties": {"method": {"const": Method.FACE}}},
                    },
                ]
            },
        ),
        CrossFieldRule(
            "$.leave",
            "`leave` is required for leave_out and only for it",
            lambda p: (p.action is Action.LEAVE_OUT) == (p.leave is not None),
            {
                "if": _when("action", [Action.LEAVE_OUT]),
                "then": {"required": ["leave"], "properties": {"leave": {"type": "object"}}},
                "else": {"properties": {"leave": {"type": "null"}}},
            },
        ),
        CrossFieldRule(
            "$.leave.expected_return",
            "the expected return (`leave.expected_return`) must be after the punch (`ts`)",
            lambda p: p.leave is None or p.leave.expected_return > p.ts,
        ),
    )


class Activity(Event, tag="hallwatch.activity/1"):
    """A workstation interval (ActivityWatch-style: equal consecutive samples merged).

    `idle_s` is the input idle time at the interval's end: no keyboard or mouse input in
    the last `idle_s` seconds before `start + duration_s`.
    """

    user: Annotated[str, Meta(max_length=64, pattern=NO_CONTROLS)]
    start: AwareDatetime
    duration_s: Seconds
    app: Annotated[str, Meta(max_length=128, pattern=NO_CONTROLS)]
    category: NodeId
    idle_s: Seconds
    staff_id: StaffId | None = None
    title: Annotated[str, Meta(max_length=512, pattern=NO_CONTROLS)] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_time(self.start, "start")


class Alert(Event, tag="hallwatch.alert/1"):
    kind: AlertKind
    severity: Severity
    message: ShortText
    staff_id: StaffId | None = None
    score: float | None = None
    evidence: ShortText | None = None  # a reference to a locally kept snapshot, never the image


class Health(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    camera: ShortText | None = None
    sensor: ShortText | None = None
    model_pack: ShortText | None = None
    gallery_size: Annotated[int, Meta(ge=0)] | None = None
    backlog: Annotated[int, Meta(ge=0)] | None = None
    clock_offset_s: float | None = None  # the kernel's NTP estimate, when synchronised
    clock_synced: bool | None = None
    disk_free_mb: Annotated[int, Meta(ge=0)] | None = None
    uptime_s: Seconds | None = None


class Status(Event, tag="hallwatch.status/1"):
    """Retained device state; the last will publishes `offline`."""

    state: Literal["online", "offline"]
    role: Literal["station", "agent", "rules"]
    health: Health | None = None
    # The sending process's start (random): one device id with two boots taking turns
    # is two devices configured alike. None: a device from before boots were sent.
    boot: BootId | None = None
    version: ShortText | None = None  # the hallwatch version the device runs


def status_for(
    site: str, device: str, role: str, state: str, ts: datetime, health: Health | None = None
) -> Status:
    """A status of this process; a journaled one gets its seq from the journal (0 for
    the will)."""
    return new_event(
        Status,
        site,
        device,
        ts,
        state=state,
        role=role,
        health=health,
        boot=BOOT_ID,
        version=__version__,
    )


def is_will(status: Status) -> bool:
    """The broker published this for the device when its connection was lost (or the
    broker itself went away). A will is fixed when the device connects, so its `ts` is
    that moment, not when the device went away: the receiver's clock says that."""
    return status.state == "offline" and status.seq == 0


class GalleryOp(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """One person's entry: `enrol` adds templates, `reenrol` replaces theirs (face and
    finger alike), `delete` erases the person from the gallery and the sensor.

    `face_model` names the embedding space of `face_templates` (the recogniser's sha256):
    a device refuses templates of another model, which it cannot compare.
    `second_factor`: the person has a lookalike not yet decided by an administrator; a
    face match to them is confirmed by a second factor however high it scores (sent only
    when true: a station that predates it reads every other entry as before)."""

    op: Literal["enrol", "reenrol", "delete"]
    staff_id: StaffId
    name: ShortText | None = None
    face_templates: list[bytes] = []  # float32 embeddings
    finger_templates: list[bytes] = []  # sensor characteristics
    face_model: ShortText | None = None
    second_factor: bool = False


class CategoryRule(Struct, frozen=True, forbid_unknown_fields=True):
    category: NodeId
    pattern: ShortText  # regex over the process / application name
    titles_allowed: bool = False


class SessionSpec(Struct, frozen=True, forbid_unknown_fields=True):
    start: time  # a local time of day in the timetable's zone, e.g. "09:00:00"
    end: time


class ScheduleSpec(Struct, frozen=True, forbid_unknown_fields=True):
    from_: Annotated[str, Meta(max_length=5)] = msgspec.field(name="from")  # MM-DD
    sessions: list[SessionSpec]


class CalendarSpec(Struct, frozen=True, forbid_unknown_fields=True):
    weekend: list[int]  # ISO weekdays off, 1 = Monday
    holidays: list[date]
    workdays: list[date]  # make-up working days (调休) falling on a weekend


class TimetableSpec(Struct, frozen=True, forbid_unknown_fields=True):
    """A site's office hours (base.schedule.Timetable): the policy's seasonal schedules and
    calendar, in the site's time zone. Its rules (sessions in order, a known zone, ...) are
    checked by the device, which refuses a timetable breaking them in its `Ack`."""

    timezone: Annotated[str, Meta(max_length=64)]
    schedules: list[ScheduleSpec]
    calendar: CalendarSpec


def timetable_spec(timetable: Timetable) -> TimetableSpec:
    return msgspec.convert(timetable.model_dump(by_alias=True), TimetableSpec)


def timetable_of(spec: TimetableSpec) -> Timetable:
    """The timetable a spec describes, or a ConfigError saying which rule it breaks."""
    return validate(Timetable, msgspec.to_builtins(spec), "timetable")


class Config(Event, tag="hallwatch.config/1"):
    """Central to device (retained): gallery, category and timetable updates.

    `version` grows with every config a device is sent; a device applies a version once
    and acknowledges it (`Ack`). The rules service sends them with the time of sending in
    milliseconds since 1970 as the version, so versions keep growing across its restarts
    and between its instances.

    A site's gallery has its own version, growing with every change of a person's entry.
    A versioned gallery update brings a device's gallery from `gallery_base` to
    `gallery_version`: a device whose gallery is at `gallery_base` applies it whole, one
    already at `gallery_version` or beyond has it, and one at another version refuses it
    and says its version in the `Ack` (the centre then sends what it lacks from there).
    The site's timetable rides in every message, so the retained one never hides it.
    """

    version: Annotated[int, Meta(ge=1)]
    gallery: list[GalleryOp] = []
    categories: list[CategoryRule] = []
    timetable: TimetableSpec | None = None  # None: keep the timetable the device has
    gallery_base: Annotated[int, Meta(ge=0)] | None = None
    gallery_version: Annotated[int, Meta(ge=0)] | None = None

    rules: ClassVar[tuple[CrossFieldRule, ...]] = (
        CrossFieldRule(
            "$.gallery_version",
            "`gallery_base` and `gallery_version` come together, the base not above the version",
            lambda c: (
                (c.gallery_base is None) == (c.gallery_version is None)
                and (c.gallery_base is None or c.gallery_base <= c.gallery_version)
            ),
        ),
    )


class Ack(Event, tag="hallwatch.ack/1"):
    """A device's answer to a config message. `config_id` and `version` are None when the
    device could not read the message at all (too large, not JSON, against the
    contract): `error` says why."""

    config_id: EventId | None
    version: Annotated[int, Meta(ge=1)] | None
    applied: bool
    error: ShortText | None = None
    gallery_size: Annotated[int, Meta(ge=0)] | None = None
    gallery_version: Annotated[int, Meta(ge=0)] | None = None  # what the device has applied

    rules: ClassVar[tuple[CrossFieldRule, ...]] = (
        CrossFieldRule(
            "$.config_id",
            "a message the device could not read (`config_id` None) has no `version`, is "
            "not `applied` and has its `error`",
            lambda a: (
                (a.config_id is None) == (a.version is None)
                and (a.config_id is not None or (not a.applied and a.error is not None))
            ),
        ),
    )


def ack_for(
    config: Config | None,
    device: str,
    ts: datetime,
    error: str | None,
    gallery_size: int | None = None,
    gallery_version: int | None = None,
    *,
    site: str = "",
) -> Ack:
    """A device's answer to `config`: applied, or the reason it was not (`config` None:
    a message the device could not read, from `site`)."""
    return new_event(
        Ack,
        site if config is None else config.site,
        device,
        ts,
        config_id=None if config is None else config.id,
        version=None if config is None else config.version,
        applied=error is None,
        error=without_controls(error)[:200] if error else None,
        gallery_size=gallery_size,
        gallery_version=gallery_version,
    )


class Enrolment(Event, tag="hallwatch.enrolment/1"):
    """A person enrolled at a device: their new templates, for the centre to keep and to
    send every station of the site (never an image). `replace`: these templates replace
    the person's of the same kind; otherwise they are added to them."""

    staff_id: StaffId
    name: ShortText | None = None
    face_templates: list[bytes] = []  # float32 embeddings of `face_model`
    face_model: ShortText | None = None
    finger_templates: list[bytes] = []  # sensor characteristics
    replace: bool = False

    rules: ClassVar[tuple[CrossFieldRule, ...]] = (
        CrossFieldRule(
            "$.face_templates",
            "an enrolment carries a template, and face templates need their `face_model`",
            lambda e: (
                bool(e.face_templates or e.finger_templates)
                and (not e.face_templates or e.face_model is not None)
            ),
        ),
    )


class Violation(Event, tag="hallwatch.violation/1"):
    violation_id: ShortText
    staff_id: StaffId
    rule: NodeId
    day: date
    severity: Severity
    deduction: Points
    window: WindowId | None = None
    correction_no: Annotated[int, Meta(ge=1)] | None = None
    escalated: bool = False
    veto: bool = False
    evidence: list[EventId] = []
    status: Literal["open", "corrected", "voided"] = "open"
    detail: Text = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_time(self.day, "day")


Seq = Annotated[int, Meta(ge=1)]
SeqRange = tuple[Seq, Seq]  # first and last, both included
MAX_RESEND = 10_000  # journal entries one resend request may name
MAX_MISSING_RANGES = 500  # gaps one answer names; a device with more names the first ones


class Resend(Event, tag="hallwatch.resend/1"):
    """Central to one device (its `command` topic, not retained): publish again what your
    journal holds of `first_seq`..`last_seq`. The centre has not got them although the
    device had its broker's acknowledgement (a broker that lost them, a store restored
    from a backup). Answered by `Resent`; the centre deduplicates by id as always."""

    first_seq: Seq
    last_seq: Seq

    rules: ClassVar[tuple[CrossFieldRule, ...]] = (
        CrossFieldRule(
            "$.last_seq",
            f"a range from `first_seq` to `last_seq`, at most {MAX_RESEND} entries",
            lambda r: r.first_seq <= r.last_seq < r.first_seq + MAX_RESEND,
        ),
    )


class Resent(Event, tag="hallwatch.resent/1"):
    """A device's answer to a `Resend` (`request_id`): how many entries of the range it
    published again, and the parts it no longer has (acknowledged ones pruned after its
    retention period, activity dropped when its disk was full): lost for good."""

    request_id: EventId
    first_seq: Seq
    last_seq: Seq
    resent: Annotated[int, Meta(ge=0, le=MAX_RESEND)]
    missing: Annotated[list[SeqRange], Meta(max_length=MAX_MISSING_RANGES)] = []

    rules: ClassVar[tuple[CrossFieldRule, ...]] = (
        CrossFieldRule(
            "$.missing",
            "each missing range lies inside `first_seq`..`last_seq`, in order, apart",
            lambda r: (
                all(r.first_seq <= a <= b <= r.last_seq for a, b in r.missing)
                and all(b1 < a2 for (_, b1), (a2, _) in zip(r.missing, r.missing[1:], strict=False))
            ),
        ),
    )


class Correction(Event, tag="hallwatch.correction/1"):
    """A manager's action, announced with the violations it changed."""

    # a violation id, a leave id, a patrol finding's id, or an approved request's id
    target: ShortText
    action: Literal[
        "correct", "void", "leave_add", "leave_cancel", "finding_add", "request_approve"
    ]
    by: ShortText
    reason: Text


class Inspection(Event, tag="hallwatch.inspection/1"):
    day: date
    counts: dict[str, Annotated[int, Meta(ge=0)]]
    summary: Text = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_time(self.day, "day")


class DeadLetter(Event, tag="hallwatch.deadletter/1"):
    topic: Annotated[str, Meta(max_length=512, pattern=NO_CONTROLS)]
    reason: Text
    payload: Annotated[str, Meta(max_length=4096, pattern=NO_CONTROLS)]  # escaped


AnyEvent = (
    Punch
    | Activity
    | Alert
    | Status
    | Config
    | Ack
    | Enrolment
    | Resent
    | Resend
    | Violation
    | Correction
    | Inspection
    | DeadLetter
)
EVENT_TYPES: tuple[type[Event], ...] = AnyEvent.__args__
KIND_OF: dict[type[Event], Kind] = {
    Punch: Kind.CLOCK,
    Activity: Kind.ACTIVITY,
    Alert: Kind.ALERT,
    Status: Kind.STATUS,
    Config: Kind.CONFIG,
    Ack: Kind.ACK,
    Enrolment: Kind.ENROLMENT,
    Resent: Kind.RESENT,
    Resend: Kind.COMMAND,
    Violation: Kind.VIOLATION,
    Correction: Kind.CORRECTION,
    Inspection: Kind.INSPECTION,
    DeadLetter: Kind.DEADLETTER,
}
SCHEMA_NAMES: dict[type[Event], str] = {t: t.__struct_config__.tag for t in EVENT_TYPES}
TYPE_OF_KIND: dict[Kind, type[Event]] = {k: t for t, k in KIND_OF.items()}


class PayloadError(HallwatchError, ValueError):
    """A payload that does not satisfy the contract; `reason` says precisely why."""

    def __init__(self, reason: str) -> None:
        reason = printable(reason)  # it may quote the payload: a key, a value
        super().__init__(reason)
        self.reason = reason


_decoder = msgspec.json.Decoder(AnyEvent)
_encoder = msgspec.json.Encoder()


def _explain(message: str) -> str:
    if f"matching regex {NO_CONTROLS!r}" in message:
        return "control characters are not allowed" + message[message.rfind(" - at `") :]
    if "at `$.schema`" in message:
        known = ", ".join(sorted(SCHEMA_NAMES.values()))
        return f"unknown schema (known: {known}) - {message}"
    if "Expected `datetime`" in message or ("tz" in message and "datetime" in message):
        return f"{message} (timestamps must be RFC 3339 with a time zone offset)"
    return message


def decode(data: bytes | str, topic: str | None = None) -> Event:
    """Validate one payload; with `topic`, also check it was published where it belongs."""
    if len(data) > MAX_PAYLOAD_BYTES:
        raise PayloadError(
            f"payload of {len(data)} bytes exceeds the {MAX_PAYLOAD_BYTES}-byte limit"
        )
    try:
        event = _decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise PayloadError(_explain(str(exc))) from None
    except msgspec.DecodeError as exc:
        raise PayloadError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise PayloadError("not a payload: values nested too deeply") from None
    except Exception as exc:  # whatever else the input provokes is the input's fault
        raise PayloadError(f"not a payload: {type(exc).__name__}: {exc}") from None
    if topic is not None:
        check_topic(event, topic)
    return event


def decode_as(expected: type[EventT], data: bytes | str, topic: str) -> EventT:
    """`decode`, insisting on one payload type: a subscriber to its own config topic must
    not act on anything else a broker hands it."""
    event = decode(data, topic)
    if not isinstance(event, expected):
        raise PayloadError(
            f"expected {SCHEMA_NAMES[expected]}, got {SCHEMA_NAMES[type(event)]} on {topic}"
        )
    return event


def check_topic(event: Event, topic: str) -> None:
    """A payload must match its topic: kind, site and publishing device (no impersonation)."""
    try:
        parsed = parse(topic)
    except TopicError as exc:
        raise PayloadError(str(exc)) from None
    expected = TYPE_OF_KIND[parsed.kind]
    if type(event) is not expected:
        raise PayloadError(
            f"{SCHEMA_NAMES[type(event)]} payload on the {parsed.kind} topic "
            f"(expected {SCHEMA_NAMES[expected]})"
        )
    if event.site != parsed.site:
        raise PayloadError(f"payload site {event.site!r} does not match topic site {parsed.site!r}")
    publisher = CENTRAL if parsed.kind in TO_DEVICE_KINDS else parsed.source
    if event.device != publisher:
        raise PayloadError(
            f"payload device {event.device!r} does not match the topic's publisher {publisher!r}"
        )


def encode(event: Event) -> bytes:
    """The payload of `event`; a PayloadError if it exceeds MAX_PAYLOAD_BYTES (the broker
    would drop the connection sending it, again at every reconnect)."""
    data = _encoder.encode(event)
    if len(data) > MAX_PAYLOAD_BYTES:
        hint = ": split it with split_config" if isinstance(event, Config) else ""
        raise PayloadError(
            f"{SCHEMA_NAMES[type(event)]} payload of {len(data)} bytes exceeds the "
            f"{MAX_PAYLOAD_BYTES}-byte limit{hint}"
        )
    return data


def split_config(config: Config) -> list[Config]:
    """`config` as consecutive versions from its own, each within MAX_PAYLOAD_BYTES: its
    gallery operations in order, its categories with the last. A device applies each in
    turn (its persistent session queues them while it is away)."""
    parts: list[list[GalleryOp]] = [[]]
    for op in config.gallery:
        candidate = msgspec.structs.replace(config, gallery=[*parts[-1], op])
        if len(_encoder.encode(candidate)) > MAX_PAYLOAD_BYTES and parts[-1]:
            parts.append([])
        parts[-1].append(op)
    versions = [
        msgspec.structs.replace(
            config,
            id=new_event_id(),
            version=config.version + n,
            gallery=ops,
            categories=config.categories if n == len(parts) - 1 else [],
        )
        for n, ops in enumerate(parts)
    ]
    for version in versions:
        encode(version)  # one operation alone may still be too large: say so now
    return versions


def kind_of(event: Event) -> Kind:
    return KIND_OF[type(event)]
