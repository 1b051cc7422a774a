"""The fingerprint driver: enrol, identify, delete and list staff fingers on an R30x sensor.

Templates live on the sensor; the device database maps each occupied slot to a staff id.
Capacity and security level are read from the sensor, never assumed.

    sensor = FingerprintSensor.open("/dev/ttyUSB0", registry="/var/lib/hallwatch/fingers.db")
    match = sensor.identify(timeout_s=5)   # FingerMatch | None, or a FingerprintError
"""

from __future__ import annotations

import enum
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from pyfingerprint.pyfingerprint import PyFingerprint

from base.identifiers import check_staff_id
from drivers.fingerprint.errors import (
    AlreadyEnrolledError,
    FingersDifferError,
    NoFingerError,
    RegistryError,
    RegistryMismatchError,
    SensorCommunicationError,
    SensorOperationError,
    TemplateStoreFullError,
    UnknownStaffError,
)
from drivers.fingerprint.link import LinkSettings, SensorLink
from drivers.fingerprint.protocol import DEFAULT_ADDRESS, INDEX_PAGE_SLOTS, PACKET_SIZES
from drivers.fingerprint.registry import FingerRegistry, SlotRecord

CHAR_BUFFER_1, CHAR_BUFFER_2 = 1, 2
# What an R30x module transfers for one template (its characteristics); the only size of
# template that can be installed on one.
TEMPLATE_BYTES = 512


class EnrolStep(enum.Enum):
    """What the person enrolling must do next; the value is the English prompt."""

    PLACE = "Place the finger on the sensor."
    LIFT = "Lift the finger."
    PLACE_AGAIN = "Place the same finger again."


Prompt = Callable[[EnrolStep], None]


def _no_prompt(step: EnrolStep) -> None:
    """Default prompt sink: the caller shows nothing."""


@dataclass(frozen=True)
class SensorInfo:
    capacity: int
    security_level: int
    packet_size: int
    address: int
    system_id: int


@dataclass(frozen=True)
class FingerMatch:
    staff_id: str
    slot: int
    score: int
    matched_at: datetime


@dataclass(frozen=True)
class EnrolledFinger:
    staff_id: str
    slot: int
    score: int  # how well the two enrolment touches agreed
    enrolled_at: datetime


@dataclass(frozen=True)
class SlotStatus:
    """One slot as the sensor and the database see it (they should agree)."""

    slot: int
    staff_id: str | None  # None: a template on the sensor that nobody is mapped to
    enrolled_at: datetime | None
    on_sensor: bool  # False: mapped in the database but the sensor has no template


class FingerprintSensor:
    """A connected sensor plus the slot -> staff map of this device."""

    def __init__(
        self,
        link: SensorLink,
        registry: FingerRegistry,
        *,
        min_score: int = 50,
        poll_interval_s: float = 0.05,
    ) -> None:
        self.link = link
        self.registry = registry
        self.min_score = min_score
        self.poll_interval_s = poll_interval_s

    @classmethod
    def open(
        cls,
        port: str,
        *,
        registry: FingerRegistry | str | Path,
        password: int = 0,
        address: int = DEFAULT_ADDRESS,
        timeout_s: float = 2.0,
        baud: int = 57600,
        min_score: int = 50,
    ) -> FingerprintSensor:
        """Connect and verify the password; `timeout_s` bounds every wait for a reply."""
        if not isinstance(registry, FingerRegistry):
            registry = FingerRegistry(registry)
        link = SensorLink(LinkSettings(port, password, address, baud, timeout_s))
        try:
            link.connect()
        except BaseException:
            registry.close()
            raise
        return cls(link, registry, min_score=min_score)

    def close(self) -> None:
        self.link.close()
        self.registry.close()

    def __enter__(self) -> FingerprintSensor:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- what the sensor says about itself ---------------------------------------------------

    def info(self) -> SensorInfo:
        params = self.link.call(PyFingerprint.getSystemParameters, what="reading its parameters")
        _, system_id, capacity, security_level, address, packet_code, _ = params
        return SensorInfo(capacity, security_level, PACKET_SIZES[packet_code], address, system_id)

    def count(self) -> tuple[int, int]:
        """(templates stored, capacity)."""
        used = self.link.call(PyFingerprint.getTemplateCount, what="counting templates")
        return used, self.info().capacity

    def occupied_slots(self) -> set[int]:
        return self._occupied(self.info().capacity)

    def free_slots(self) -> list[int]:
        capacity = self.info().capacity
        used = self._occupied(capacity)
        return [slot for slot in range(capacity) if slot not in used]

    def _occupied(self, capacity: int) -> set[int]:
        return {slot for slot, used in self._index(capacity) if used}

    def _index(self, capacity: int) -> Iterator[tuple[int, bool]]:
        """(slot, in use) for every slot, reading index pages from the sensor as needed."""
        for page in range(-(-capacity // INDEX_PAGE_SLOTS)):
            bits = self.link.call(
                lambda d, p=page: d.getTemplateIndex(p), what="reading the template index"
            )
            first = page * INDEX_PAGE_SLOTS
            yield from zip(range(first, min(first + len(bits), capacity)), bits, strict=False)

    def slots(self) -> list[SlotStatus]:
        """Every slot in use on the sensor or in the database, with its staff member."""
        on_sensor = self.occupied_slots()
        mapped = {record.slot: record for record in self.registry.all()}
        return [
            SlotStatus(
                slot,
                mapped[slot].staff_id if slot in mapped else None,
                mapped[slot].enrolled_at if slot in mapped else None,
                slot in on_sensor,
            )
            for slot in sorted(on_sensor | set(mapped))
        ]

    # -- the finger --------------------------------------------------------------------------

    def wait_for_finger(self, timeout_s: float) -> None:
        """Capture an image of a finger into the sensor's image buffer."""
        deadline = time.monotonic() + timeout_s
        while not self.link.call(PyFingerprint.readImage, what="reading the finger"):
            if time.monotonic() >= deadline:
                raise NoFingerError(
                    f"no finger on the sensor within {timeout_s:g} s: place a finger flat on "
                    "the sensor window"
                )
            time.sleep(self.poll_interval_s)

    def wait_for_lift(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self.link.call(PyFingerprint.readImage, what="waiting for the finger to lift"):
            if time.monotonic() >= deadline:
                raise NoFingerError(f"the finger stayed on the sensor for {timeout_s:g} s: lift it")
            time.sleep(self.poll_interval_s)

    def _capture(self, buffer: int, timeout_s: float) -> None:
        self.wait_for_finger(timeout_s)
        self.link.call(lambda d: d.convertImage(buffer), what="reading the finger's features")

    def _search(self) -> tuple[int, int] | None:
        slot, score = self.link.call(PyFingerprint.searchTemplate, what="searching templates")
        return None if slot < 0 else (slot, score)

    def identify(self, timeout_s: float = 5.0) -> FingerMatch | None:
        """Wait for a finger and name its owner; None if it matches no enrolled finger."""
        self._capture(CHAR_BUFFER_1, timeout_s)
        found = self._search()
        if found is None or found[1] < self.min_score:
            return None
        slot, score = found
        record = self.registry.staff_for(slot)
        if record is None:
            raise self._unmapped(slot)
        return FingerMatch(record.staff_id, slot, score, datetime.now(UTC))

    def verify(self, staff_id: str, timeout_s: float = 5.0) -> FingerMatch | None:
        """1:1: wait for a finger and compare it with `staff_id`'s own fingers only (each
        loaded beside it and compared on the sensor); None if none of them matches."""
        slots = [record.slot for record in self.registry.slots_of(staff_id)]
        self._capture(CHAR_BUFFER_1, timeout_s)
        best: tuple[int, int] | None = None
        for slot in slots:
            self.link.call(
                lambda d, s=slot: d.loadTemplate(s, CHAR_BUFFER_2), what=f"loading slot {slot}"
            )
            score = self.link.call(PyFingerprint.compareCharacteristics, what="comparing fingers")
            if best is None or score > best[1]:
                best = (slot, score)
        if best is None or best[1] < self.min_score:
            return None
        return FingerMatch(staff_id, best[0], best[1], datetime.now(UTC))

    def enrol(
        self, staff_id: str, *, timeout_s: float = 10.0, prompt: Prompt = _no_prompt
    ) -> EnrolledFinger:
        """Enrol one finger of `staff_id` from two touches; `prompt` tells the person what to do."""
        staff_id = check_staff_id(staff_id)
        slot = self._free_slot()
        prompt(EnrolStep.PLACE)
        self._capture(CHAR_BUFFER_1, timeout_s)
        found = self._search()
        if found is not None:
            record = self.registry.staff_for(found[0])
            if record is None:
                raise self._unmapped(found[0])
            raise AlreadyEnrolledError(
                f"this finger is already enrolled for staff {record.staff_id} (slot "
                f"{record.slot}); delete that enrolment first to enrol it again"
            )
        prompt(EnrolStep.LIFT)
        self.wait_for_lift(timeout_s)
        prompt(EnrolStep.PLACE_AGAIN)
        self._capture(CHAR_BUFFER_2, timeout_s)
        score = self.link.call(PyFingerprint.compareCharacteristics, what="comparing touches")
        merged = score > 0 and self.link.call(
            PyFingerprint.createTemplate, what="creating the template", retry=False
        )
        if not merged:
            raise FingersDifferError(
                "the two touches do not match: place the same finger, flat and still, both times"
            )
        record = self._store_for(slot, staff_id, datetime.now(UTC))
        return EnrolledFinger(staff_id, slot, score, record.enrolled_at)

    # -- removing ----------------------------------------------------------------------------

    def delete(self, staff_id: str) -> list[int]:
        """Delete every finger of `staff_id`; returns the slots freed."""
        slots = [record.slot for record in self.registry.slots_of(check_staff_id(staff_id))]
        if not slots:
            raise UnknownStaffError(f"no finger is enrolled for staff {staff_id} on this device")
        self._delete_slots(slots)
        return slots

    def delete_slot(self, slot: int) -> None:
        """Delete one slot, mapped or not (to clean up after a mismatch)."""
        capacity = self.info().capacity
        if not 0 <= slot < capacity:
            raise ValueError(f"slot must be 0..{capacity - 1} on this sensor, got {slot}")
        self._delete_slots([slot])

    def _delete_slots(self, slots: list[int]) -> None:
        for slot in slots:
            self._delete_template(slot)
            self.registry.remove([slot])

    def _delete_template(self, slot: int) -> None:
        deleted = self.link.call(lambda d: d.deleteTemplate(slot), what=f"deleting slot {slot}")
        if not deleted:
            raise SensorOperationError(
                f"the sensor could not delete the template in slot {slot}; its enrolment is "
                "kept: try again, and replace the sensor if it keeps failing"
            )

    # -- templates in and out (for export / import) ------------------------------------------

    def read_template(self, slot: int) -> bytes:
        self.link.call(lambda d: d.loadTemplate(slot, CHAR_BUFFER_1), what=f"loading slot {slot}")
        data = self.link.call(
            lambda d: d.downloadCharacteristics(CHAR_BUFFER_1), what=f"reading slot {slot}"
        )
        return bytes(data)

    def find_template(self, template: bytes) -> tuple[int, int] | None:
        """(slot, score) of a stored template matching `template`, if any."""
        self._upload(template)
        return self._search()

    def install_template(
        self, template: bytes, staff_id: str, slot: int, enrolled_at: datetime
    ) -> SlotRecord:
        """Store `template` in `slot` and map it to `staff_id`."""
        staff_id = check_staff_id(staff_id)
        check_template(template, staff_id)
        self._upload(template)
        return self._store_for(slot, staff_id, enrolled_at)

    def map_slot(self, slot: int, staff_id: str, enrolled_at: datetime) -> SlotRecord:
        """Record the owner of a template already on the sensor (restoring a lost database)."""
        return self.registry.add(slot, check_staff_id(staff_id), enrolled_at)

    def _upload(self, template: bytes) -> None:
        verified = self.link.call(
            lambda d: d.uploadCharacteristics(CHAR_BUFFER_1, list(template)),
            what="sending a template",
        )
        if not verified:
            raise SensorCommunicationError(
                "the sensor stored a different template than the one sent: check the cable "
                "and try again"
            )

    # -- helpers -----------------------------------------------------------------------------

    def _store_for(self, slot: int, staff_id: str, enrolled_at: datetime) -> SlotRecord:
        """Store char buffer 1 in `slot` and record its owner, or neither."""
        self.link.call(lambda d: d.storeTemplate(slot, CHAR_BUFFER_1), what=f"storing slot {slot}")
        try:
            return self.registry.add(slot, staff_id, enrolled_at)
        except sqlite3.Error as exc:
            self._delete_template(slot)  # no template on the sensor without its owner
            raise RegistryError(
                f"could not record the owner of slot {slot} in {self.registry.path} ({exc}); "
                "the template was removed again: free disk space or fix the file's "
                "permissions, then retry"
            ) from None

    def _free_slot(self) -> int:
        free = next((slot for slot, used in self._index(self.info().capacity) if not used), None)
        if free is None:
            raise self.store_full(needed=1, free=0)
        return free

    def store_full(self, *, needed: int, free: int) -> TemplateStoreFullError:
        capacity = self.info().capacity
        return TemplateStoreFullError(
            f"the sensor's template store is full ({capacity - free} of {capacity} slots used, "
            f"{needed} needed): delete the fingers of staff who left (hallwatch finger delete) "
            "or use a sensor with a larger store"
        )

    def _unmapped(self, slot: int) -> RegistryMismatchError:
        return RegistryMismatchError(
            f"slot {slot} on the sensor holds a template that no staff member is mapped to in "
            f"{self.registry.path}: import the backup made for this sensor, or delete the slot "
            f"(hallwatch finger delete --slot {slot})"
        )


def check_template(template: bytes, staff_id: str) -> None:
    """Refuse what cannot be a template of this sensor family, before anything is stored."""
    if len(template) != TEMPLATE_BYTES:
        raise SensorOperationError(
            f"a finger template of {staff_id} has {len(template)} bytes, this sensor's have "
            f"{TEMPLATE_BYTES}: it was made by another kind of sensor, or damaged"
        )
