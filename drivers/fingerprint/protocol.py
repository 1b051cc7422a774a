"""The ZFM-20 / R30x / AS608 serial packet protocol, as the sensor side speaks it.

A packet is: start code `EF01`, module address (4 bytes), packet id (1), length (2) =
payload + 2, payload, checksum (2) = low 16 bits of the sum of id, length bytes and payload.
Values follow the vendors' datasheets (the same ones pyfingerprint implements).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

START_CODE = b"\xef\x01"
HEADER_SIZE = 9  # start code, address, packet id, length
CHECKSUM_SIZE = 2
DEFAULT_ADDRESS = 0xFFFFFFFF

# Data packet sizes by the code the sensor reports in its system parameters.
PACKET_SIZES: dict[int, int] = {0: 32, 1: 64, 2: 128, 3: 256}
INDEX_PAGE_SLOTS = 256  # one template index page: 32 bytes of usage bits
INDEX_PAGES = 4


class PacketId(enum.IntEnum):
    COMMAND = 0x01
    DATA = 0x02
    ACK = 0x07
    END_DATA = 0x08


class Instruction(enum.IntEnum):
    READ_IMAGE = 0x01
    CONVERT_IMAGE = 0x02
    COMPARE = 0x03
    SEARCH = 0x04
    CREATE_TEMPLATE = 0x05
    STORE_TEMPLATE = 0x06
    LOAD_TEMPLATE = 0x07
    DOWNLOAD_CHARACTERISTICS = 0x08  # sensor -> host ("UpChar" in the datasheet)
    UPLOAD_CHARACTERISTICS = 0x09  # host -> sensor ("DownChar")
    DOWNLOAD_IMAGE = 0x0A  # sensor -> host ("UpImage")
    DELETE_TEMPLATE = 0x0C
    CLEAR_DATABASE = 0x0D
    SET_SYSTEM_PARAMETER = 0x0E
    GET_SYSTEM_PARAMETERS = 0x0F
    SET_PASSWORD = 0x12
    VERIFY_PASSWORD = 0x13
    RANDOM_NUMBER = 0x14
    SET_ADDRESS = 0x15
    TEMPLATE_COUNT = 0x1D
    TEMPLATE_INDEX = 0x1F


class Confirmation(enum.IntEnum):
    OK = 0x00
    RECEIVE_ERROR = 0x01
    NO_FINGER = 0x02
    READ_IMAGE_FAILED = 0x03
    MESSY_IMAGE = 0x06
    FEW_FEATURE_POINTS = 0x07
    NOT_MATCHING = 0x08
    NOT_FOUND = 0x09
    MERGE_FAILED = 0x0A
    INVALID_POSITION = 0x0B
    LOAD_TEMPLATE_FAILED = 0x0C
    UPLOAD_FAILED = 0x0D
    DATA_RECEIVE_FAILED = 0x0E
    IMAGE_UPLOAD_FAILED = 0x0F
    DELETE_FAILED = 0x10
    CLEAR_FAILED = 0x11
    WRONG_PASSWORD = 0x13
    INVALID_IMAGE = 0x15
    FLASH_ERROR = 0x18
    INVALID_REGISTER = 0x1A
    WRONG_ADDRESS = 0x20
    PASSWORD_REQUIRED = 0x21


class SystemParameter(enum.IntEnum):
    BAUD_RATE = 4
    SECURITY_LEVEL = 5
    PACKET_SIZE = 6


@dataclass(frozen=True)
class Packet:
    address: int
    packet_id: int
    payload: bytes


def checksum(packet_id: int, payload: bytes) -> int:
    length = len(payload) + CHECKSUM_SIZE
    return (packet_id + (length >> 8) + (length & 0xFF) + sum(payload)) & 0xFFFF


def encode(address: int, packet_id: int, payload: bytes, *, corrupt: bool = False) -> bytes:
    """Frame one packet; `corrupt` flips the checksum, as line noise would."""
    length = len(payload) + CHECKSUM_SIZE
    check = checksum(packet_id, payload) ^ (0xFFFF if corrupt else 0)
    return (
        START_CODE
        + address.to_bytes(4, "big")
        + bytes([packet_id])
        + length.to_bytes(2, "big")
        + payload
        + check.to_bytes(2, "big")
    )


class PacketReader:
    """Reassembles packets from a byte stream, resynchronising on the start code."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Packet | None]:
        """Add bytes; return complete packets in order, None for one with a bad checksum."""
        self._buffer += data
        packets: list[Packet | None] = []
        while True:
            start = self._buffer.find(START_CODE)
            if start < 0:
                # Keep a trailing 0xEF: it may be the first half of the next start code.
                del self._buffer[: max(0, len(self._buffer) - 1)]
                return packets
            del self._buffer[:start]
            if len(self._buffer) < HEADER_SIZE:
                return packets
            length = int.from_bytes(self._buffer[7:9], "big")
            total = HEADER_SIZE + length
            if length < CHECKSUM_SIZE:
                del self._buffer[:2]  # not a real packet: skip this start code
                continue
            if len(self._buffer) < total:
                return packets
            raw = bytes(self._buffer[:total])
            del self._buffer[:total]
            packet_id = raw[6]
            payload = raw[HEADER_SIZE : total - CHECKSUM_SIZE]
            received = int.from_bytes(raw[total - CHECKSUM_SIZE :], "big")
            if received != checksum(packet_id, payload):
                packets.append(None)
                continue
            packets.append(Packet(int.from_bytes(raw[2:6], "big"), packet_id, payload))

    def clear(self) -> None:
        self._buffer.clear()
