"""The inside of an emulated R30x module: settings, template store, buffers, the finger.

Pure logic without I/O: `handle(packet)` returns the packets the module answers with, so
the pty, threads and link faults stay in `emulator.py`. Not thread-safe: the emulator
serialises calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from drivers.fingerprint import synthetic
from drivers.fingerprint.protocol import (
    INDEX_PAGE_SLOTS,
    INDEX_PAGES,
    PACKET_SIZES,
    Confirmation,
    Instruction,
    Packet,
    PacketId,
    SystemParameter,
)
from drivers.fingerprint.synthetic import TouchQuality

MAX_CAPACITY = INDEX_PAGE_SLOTS * INDEX_PAGES  # what four template index pages can describe
C = Confirmation


@dataclass(frozen=True)
class _Touch:
    finger: str
    quality: TouchQuality


@dataclass
class _SensorState:
    """What the module keeps: flash (templates, settings) and RAM (buffers, session)."""

    capacity: int
    password: int
    address: int
    packet_size_code: int
    security_level: int
    baud_code: int = 6  # 57600 / 9600
    templates: dict[int, bytes] = field(default_factory=dict)
    buffers: dict[int, bytes] = field(default_factory=dict)
    image: _Touch | None = None
    password_verified: bool = False


def _u16(value: int) -> bytes:
    return value.to_bytes(2, "big")


class EmulatedModule:
    """A ZFM-20 / R30x / AS608 module as seen through its packet interface."""

    def __init__(
        self,
        *,
        capacity: int,
        password: int,
        address: int,
        packet_size: int,
        security_level: int,
        seed: int | None = None,
    ) -> None:
        if not 1 <= capacity <= MAX_CAPACITY:
            raise ValueError(f"capacity must be 1..{MAX_CAPACITY} templates, got {capacity}")
        if not 0 <= password <= 0xFFFFFFFF or not 0 <= address <= 0xFFFFFFFF:
            raise ValueError("password and address must be 32-bit unsigned integers")
        sizes = {size: code for code, size in PACKET_SIZES.items()}
        if packet_size not in sizes:
            raise ValueError(f"packet size must be one of {sorted(sizes)}, got {packet_size}")
        if security_level not in synthetic.SECURITY_THRESHOLDS:
            raise ValueError(f"security level must be 1..5, got {security_level}")
        self._state = _SensorState(capacity, password, address, sizes[packet_size], security_level)
        self._rng = np.random.default_rng(seed)
        self._finger: _Touch | None = None
        self._touches_left: int | None = None
        self._lifted = False  # between two touches of `place_finger(touches=...)`
        self._upload: tuple[int, bytearray] | None = None  # char buffer being received
        self._replies: list[Packet] = []

    # -- the outside world -------------------------------------------------------------------

    def place_finger(
        self, finger: str, quality: TouchQuality = TouchQuality.GOOD, *, touches: int | None = None
    ) -> None:
        self._finger = _Touch(finger, quality)
        self._touches_left = touches
        self._lifted = False

    def lift_finger(self) -> None:
        self._finger = None

    @property
    def template_slots(self) -> list[int]:
        return sorted(self._state.templates)

    def power_cycle(self) -> None:
        """Power loss: RAM (buffers, image, verified password, transfers) is lost, flash stays."""
        self._state.buffers.clear()
        self._state.image = None
        self._state.password_verified = False
        self._upload = None

    # -- the packet interface ----------------------------------------------------------------

    def damaged(self) -> list[Packet]:
        """The answer to a packet that arrived with a wrong checksum."""
        self._upload = None
        self._replies = []
        self._ack(C.RECEIVE_ERROR)
        return self._replies

    def handle(self, packet: Packet) -> list[Packet]:
        """Process one packet from the host; return the module's answer packets in order."""
        self._replies = []
        if packet.packet_id in (PacketId.DATA, PacketId.END_DATA) and self._upload is not None:
            buffer_id, received = self._upload
            received += packet.payload
            if packet.packet_id == PacketId.END_DATA:
                self._state.buffers[buffer_id] = bytes(received)
                self._upload = None
            return []
        self._upload = None
        if packet.packet_id != PacketId.COMMAND or not packet.payload:
            return []  # stray data: a real module ignores it
        if packet.address != self._state.address:
            self._ack(C.WRONG_ADDRESS)
            return self._replies
        instruction, args = packet.payload[0], packet.payload[1:]
        needs_password = self._state.password != 0 and not self._state.password_verified
        handler = self._HANDLERS.get(instruction)
        if needs_password and instruction != Instruction.VERIFY_PASSWORD:
            self._ack(C.PASSWORD_REQUIRED)
        elif handler is None:
            self._ack(C.RECEIVE_ERROR)
        else:
            try:
                handler(self, args)
            except IndexError:  # the command was too short for its instruction
                self._replies = []
                self._ack(C.RECEIVE_ERROR)
        return self._replies

    def _send(self, packet_id: PacketId, payload: bytes) -> None:
        self._replies.append(Packet(self._state.address, packet_id, payload))

    def _ack(self, confirmation: int, extra: bytes = b"") -> None:
        self._send(PacketId.ACK, bytes([confirmation]) + extra)

    def _send_data(self, data: bytes) -> None:
        size = PACKET_SIZES[self._state.packet_size_code]
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            self._send(PacketId.END_DATA if last else PacketId.DATA, chunk)

    # -- instructions ------------------------------------------------------------------------

    def _verify_password(self, args: bytes) -> None:
        ok = int.from_bytes(args[:4], "big") == self._state.password and len(args) >= 4
        self._state.password_verified = ok
        self._ack(C.OK if ok else C.WRONG_PASSWORD)

    def _set_password(self, args: bytes) -> None:
        self._state.password = int.from_bytes(args[:4], "big")
        self._ack(C.OK)

    def _set_address(self, args: bytes) -> None:
        new_address = int.from_bytes(args[:4], "big")
        self._ack(C.OK)
        self._state.address = new_address

    def _set_system_parameter(self, args: bytes) -> None:
        parameter, value = args[0], args[1]
        valid = {
            SystemParameter.BAUD_RATE: range(1, 13),
            SystemParameter.SECURITY_LEVEL: range(1, 6),
            SystemParameter.PACKET_SIZE: range(4),
        }
        if parameter not in valid or value not in valid[SystemParameter(parameter)]:
            self._ack(C.INVALID_REGISTER)
            return
        attribute = {
            SystemParameter.BAUD_RATE: "baud_code",
            SystemParameter.SECURITY_LEVEL: "security_level",
            SystemParameter.PACKET_SIZE: "packet_size_code",
        }[SystemParameter(parameter)]
        self._ack(C.OK)
        setattr(self._state, attribute, value)

    def _get_system_parameters(self, args: bytes) -> None:
        state = self._state
        status = (int(state.password_verified) << 2) | (int(state.image is not None) << 3)
        self._ack(
            C.OK,
            _u16(status)
            + _u16(0)  # system identifier
            + _u16(state.capacity)
            + _u16(state.security_level)
            + state.address.to_bytes(4, "big")
            + _u16(state.packet_size_code)
            + _u16(state.baud_code),
        )

    def _template_index(self, args: bytes) -> None:
        page = args[0]
        if page >= INDEX_PAGES:
            self._ack(C.INVALID_REGISTER)
            return
        bits = bytearray(INDEX_PAGE_SLOTS // 8)
        for slot in self._state.templates:
            offset = slot - page * INDEX_PAGE_SLOTS
            if 0 <= offset < INDEX_PAGE_SLOTS:
                bits[offset // 8] |= 1 << (offset % 8)
        self._ack(C.OK, bytes(bits))

    def _template_count(self, args: bytes) -> None:
        self._ack(C.OK, _u16(len(self._state.templates)))

    def _read_image(self, args: bytes) -> None:
        if self._finger is None or self._lifted:
            self._lifted = False
            self._ack(C.NO_FINGER)
            return
        self._state.image = self._finger
        if self._touches_left is not None:
            self._touches_left -= 1
            self._lifted = True
            if self._touches_left <= 0:
                self._finger = None
        self._ack(C.OK)

    def _download_image(self, args: bytes) -> None:
        if self._state.image is None:
            self._ack(C.IMAGE_UPLOAD_FAILED)
            return
        self._ack(C.OK)
        self._send_data(synthetic.image(self._state.image.finger, self._rng))

    def _buffer_id(self, value: int) -> int:
        if value not in (1, 2):
            raise IndexError(value)
        return value

    def _convert_image(self, args: bytes) -> None:
        buffer_id = self._buffer_id(args[0])
        touch = self._state.image
        if touch is None:
            self._ack(C.INVALID_IMAGE)
        elif touch.quality is TouchQuality.LIGHT:
            self._ack(C.FEW_FEATURE_POINTS)
        elif touch.quality is TouchQuality.SMUDGED:
            self._ack(C.MESSY_IMAGE)
        else:
            code = synthetic.touch_code(touch.finger, self._rng)
            self._state.buffers[buffer_id] = synthetic.char_file([code])
            self._ack(C.OK)

    def _threshold(self) -> int:
        return synthetic.SECURITY_THRESHOLDS[self._state.security_level]

    def _compare(self, args: bytes) -> None:
        buffers = self._state.buffers
        score = synthetic.score(buffers.get(1, b""), buffers.get(2, b""))
        self._ack(C.OK if score >= self._threshold() else C.NOT_MATCHING, _u16(score))

    def _create_template(self, args: bytes) -> None:
        first, second = self._state.buffers.get(1, b""), self._state.buffers.get(2, b"")
        if synthetic.score(first, second) < self._threshold():
            self._ack(C.MERGE_FAILED)
            return
        template = synthetic.merge(first, second)
        self._state.buffers[1] = self._state.buffers[2] = template
        self._ack(C.OK)

    def _store_template(self, args: bytes) -> None:
        buffer_id, slot = self._buffer_id(args[0]), int.from_bytes(args[1:3], "big")
        if slot >= self._state.capacity or buffer_id not in self._state.buffers or len(args) < 3:
            self._ack(C.INVALID_POSITION)
            return
        self._state.templates[slot] = self._state.buffers[buffer_id]
        self._ack(C.OK)

    def _load_template(self, args: bytes) -> None:
        buffer_id, slot = self._buffer_id(args[0]), int.from_bytes(args[1:3], "big")
        if slot >= self._state.capacity or len(args) < 3:
            self._ack(C.INVALID_POSITION)
        elif slot not in self._state.templates:
            self._ack(C.LOAD_TEMPLATE_FAILED)
        else:
            self._state.buffers[buffer_id] = self._state.templates[slot]
            self._ack(C.OK)

    def _delete_template(self, args: bytes) -> None:
        slot, count = int.from_bytes(args[0:2], "big"), int.from_bytes(args[2:4], "big")
        if len(args) < 4 or slot + count > self._state.capacity:
            self._ack(C.INVALID_POSITION)
            return
        for position in range(slot, slot + count):
            self._state.templates.pop(position, None)
        self._ack(C.OK)

    def _clear_database(self, args: bytes) -> None:
        self._state.templates.clear()
        self._ack(C.OK)

    def _search(self, args: bytes) -> None:
        buffer_id = self._buffer_id(args[0])
        start, count = int.from_bytes(args[1:3], "big"), int.from_bytes(args[3:5], "big")
        probe = self._state.buffers.get(buffer_id, b"")
        best_slot, best_score = -1, -1
        for slot, template in self._state.templates.items():
            if start <= slot < start + count:
                candidate = synthetic.score(probe, template)
                if candidate > best_score:
                    best_slot, best_score = slot, candidate
        if best_score < self._threshold():
            self._ack(C.NOT_FOUND, _u16(0) + _u16(0))
        else:
            self._ack(C.OK, _u16(best_slot) + _u16(best_score))

    def _random_number(self, args: bytes) -> None:
        self._ack(C.OK, self._rng.bytes(4))

    def _download_characteristics(self, args: bytes) -> None:
        data = self._state.buffers.get(self._buffer_id(args[0]))
        if data is None:
            self._ack(C.UPLOAD_FAILED)
            return
        self._ack(C.OK)
        self._send_data(data)

    def _upload_characteristics(self, args: bytes) -> None:
        self._upload = (self._buffer_id(args[0]), bytearray())
        self._ack(C.OK)

    _HANDLERS: ClassVar[dict[int, Callable[[EmulatedModule, bytes], None]]] = {
        Instruction.VERIFY_PASSWORD: _verify_password,
        Instruction.SET_PASSWORD: _set_password,
        Instruction.SET_ADDRESS: _set_address,
        Instruction.SET_SYSTEM_PARAMETER: _set_system_parameter,
        Instruction.GET_SYSTEM_PARAMETERS: _get_system_parameters,
        Instruction.TEMPLATE_INDEX: _template_index,
        Instruction.TEMPLATE_COUNT: _template_count,
        Instruction.READ_IMAGE: _read_image,
        Instruction.DOWNLOAD_IMAGE: _download_image,
        Instruction.CONVERT_IMAGE: _convert_image,
        Instruction.COMPARE: _compare,
        Instruction.CREATE_TEMPLATE: _create_template,
        Instruction.STORE_TEMPLATE: _store_template,
        Instruction.LOAD_TEMPLATE: _load_template,
        Instruction.DELETE_TEMPLATE: _delete_template,
        Instruction.CLEAR_DATABASE: _clear_database,
        Instruction.SEARCH: _search,
        Instruction.RANDOM_NUMBER: _random_number,
        Instruction.DOWNLOAD_CHARACTERISTICS: _download_characteristics,
        Instruction.UPLOAD_CHARACTERISTICS: _upload_characteristics,
    }
