"""The emulator speaks the sensor protocol: raw pyfingerprint calls and raw packets."""

from __future__ import annotations

import numpy as np
import pytest
import serial
from PIL import Image
from pyfingerprint.pyfingerprint import PyFingerprint

from drivers.fingerprint import synthetic
from drivers.fingerprint.emulator import SensorEmulator
from drivers.fingerprint.protocol import (
    Confirmation,
    Instruction,
    PacketId,
    PacketReader,
    encode,
)


@pytest.fixture
def emu():
    with SensorEmulator(capacity=300, password=0x0BADCAFE, seed=7) as emulator:
        yield emulator


@pytest.fixture
def raw(emu):
    device = PyFingerprint(emu.port, 57600, 0xFFFFFFFF, 0x0BADCAFE)
    assert device.verifyPassword()
    return device


def capture(emu, device, finger, buffer):
    emu.place_finger(finger)
    assert device.readImage()
    assert device.convertImage(buffer)


def test_password_is_required_before_anything_else(emu):
    device = PyFingerprint(emu.port, 57600, 0xFFFFFFFF, 0)
    with pytest.raises(Exception, match="Unknown error 0x21"):  # "verify the password first"
        device.getTemplateCount()
    assert device.verifyPassword() is False
    right = PyFingerprint(emu.port, 57600, 0xFFFFFFFF, 0x0BADCAFE)
    assert right.verifyPassword() is True
    assert right.getTemplateCount() == 0
    assert right.setPassword(0x12345678)
    assert PyFingerprint(emu.port, 57600, 0xFFFFFFFF, 0x0BADCAFE).verifyPassword() is False
    assert PyFingerprint(emu.port, 57600, 0xFFFFFFFF, 0x12345678).verifyPassword() is True


def test_system_parameters_and_settings(raw):
    status, _, capacity, level, address, packet_code, baud = raw.getSystemParameters()
    assert (capacity, level, address, packet_code, baud) == (300, 3, 0xFFFFFFFF, 2, 6)
    assert status & 0b100  # password verified
    raw.setSecurityLevel(5)
    raw.setMaxPacketSize(32)
    assert (raw.getSecurityLevel(), raw.getMaxPacketSize()) == (5, 32)
    assert raw.setAddress(0x00C0FFEE)
    assert raw.getSystemParameters()[4] == 0x00C0FFEE


def test_enrol_search_compare_delete_clear_with_raw_calls(emu, raw):
    assert raw.readImage() is False  # no finger
    capture(emu, raw, "alice", 1)
    capture(emu, raw, "alice", 2)
    assert raw.compareCharacteristics() >= 50
    assert raw.createTemplate()
    assert raw.storeTemplate() == 0
    capture(emu, raw, "bob", 1)
    capture(emu, raw, "carol", 2)
    assert raw.compareCharacteristics() == 0
    assert raw.createTemplate() is False
    assert raw.searchTemplate() == (-1, -1)  # bob
    capture(emu, raw, "alice", 1)
    slot, score = raw.searchTemplate()
    assert slot == 0 and score >= 50
    assert raw.getTemplateCount() == 1
    assert raw.getTemplateIndex(0)[:2] == [True, False]
    assert raw.deleteTemplate(0)
    assert raw.getTemplateCount() == 0
    with pytest.raises(Exception, match="The template could not be read"):
        raw.loadTemplate(0)
    capture(emu, raw, "dave", 1)
    raw.storeTemplate(299)
    assert raw.getTemplateIndex(1)[299 - 256]
    assert raw.clearDatabase()
    assert raw.getTemplateCount() == 0
    assert 0 <= raw.generateRandomNumber() <= 0xFFFFFFFF


def test_poor_images_fail_conversion(emu, raw):
    emu.place_finger("alice", synthetic.TouchQuality.SMUDGED)
    assert raw.readImage()
    with pytest.raises(Exception, match="too messy"):
        raw.convertImage(1)
    emu.place_finger("alice", synthetic.TouchQuality.LIGHT)
    assert raw.readImage()
    with pytest.raises(Exception, match="too few feature points"):
        raw.convertImage(1)


@pytest.mark.parametrize("packet_size", [32, 64, 128, 256])
def test_characteristics_round_trip_with_every_packet_size(packet_size):
    with SensorEmulator(packet_size=packet_size) as emu:
        device = PyFingerprint(emu.port, 57600, 0xFFFFFFFF, 0)
        assert device.verifyPassword()
        capture(emu, device, "alice", 1)
        characteristics = device.downloadCharacteristics(1)
        assert len(characteristics) == synthetic.CHAR_FILE_SIZE
        assert device.uploadCharacteristics(2, characteristics)  # pyfingerprint reads it back
        assert device.compareCharacteristics() == synthetic.MAX_SCORE  # identical buffers


def exchange(port: serial.Serial, reader: PacketReader, payload: bytes) -> list:
    """Send one command as raw bytes; collect the packets up to its last reply packet."""
    port.write(encode(0xFFFFFFFF, PacketId.COMMAND, payload))
    transfers = payload[0] == Instruction.DOWNLOAD_CHARACTERISTICS
    last = PacketId.END_DATA if transfers else PacketId.ACK
    packets: list = []
    while not packets or packets[-1] is None or packets[-1].packet_id != last:
        packets.extend(reader.feed(port.read(1)))
    return packets


@pytest.mark.parametrize("packet_size", [32, 256])
def test_data_packets_are_sized_by_the_configured_packet_size(packet_size):
    with SensorEmulator(packet_size=packet_size) as emu:
        emu.place_finger("alice")
        port = serial.Serial(emu.port, 57600, timeout=2)
        reader = PacketReader()
        for command in (b"\x13\x00\x00\x00\x00", b"\x01", b"\x02\x01"):
            assert exchange(port, reader, command)[-1].payload == b"\x00"
        replies = exchange(port, reader, b"\x08\x01")
        port.close()
        assert replies[0].packet_id == PacketId.ACK
        data = replies[1:]
        assert [len(p.payload) for p in data] == [packet_size] * (512 // packet_size)
        assert data[-1].packet_id == PacketId.END_DATA
        assert all(p.packet_id == PacketId.DATA for p in data[:-1])


def test_a_damaged_command_is_answered_with_a_receive_error(emu):
    port = serial.Serial(emu.port, 57600, timeout=2)
    damaged = bytearray(encode(0xFFFFFFFF, PacketId.COMMAND, b"\x13\x00\x00\x00\x00"))
    damaged[-1] ^= 0xFF
    port.write(b"\x00garbage" + bytes(damaged))
    reader = PacketReader()
    replies = []
    while not replies:
        replies.extend(reader.feed(port.read(1)))
    port.close()
    assert replies[0].packet_id == PacketId.ACK
    assert replies[0].payload == bytes([Confirmation.RECEIVE_ERROR])


def test_download_image_gives_the_sensor_image(emu, raw, tmp_path):
    pictures = []
    for finger in ("alice", "alice", "bob"):
        emu.place_finger(finger)
        assert raw.readImage()
        raw.downloadImage(str(tmp_path / "finger.png"))
        with Image.open(tmp_path / "finger.png") as picture:
            assert picture.size == (synthetic.IMAGE_WIDTH, synthetic.IMAGE_HEIGHT)
            pictures.append(np.asarray(picture, dtype=float))
    same = np.corrcoef(pictures[0].ravel(), pictures[1].ravel())[0, 1]
    other = np.corrcoef(pictures[0].ravel(), pictures[2].ravel())[0, 1]
    assert same > 0.5 > abs(other)
    assert not np.array_equal(pictures[0], pictures[1])  # each capture has its own noise


def test_synthetic_touches_separate_genuine_from_impostor():
    rng = np.random.default_rng(0)
    threshold = synthetic.SECURITY_THRESHOLDS[3]
    genuine, impostor = [], []
    for n in range(200):
        first = synthetic.char_file([synthetic.touch_code(f"f{n}", rng)])
        second = synthetic.char_file([synthetic.touch_code(f"f{n}", rng)])
        other = synthetic.char_file([synthetic.touch_code(f"g{n}", rng)])
        genuine.append(synthetic.score(first, second))
        impostor.append(synthetic.score(first, other))
    assert min(genuine) > threshold > max(impostor)
    assert synthetic.score(b"\x00" * 512, first) == 0  # garbage matches nothing


def test_packet_reader_resynchronises_after_garbage():
    good = encode(0xFFFFFFFF, PacketId.ACK, b"\x00")
    bad = bytearray(good)
    bad[-1] ^= 1
    reader = PacketReader()
    packets = reader.feed(b"\xef\x00\x12" + bytes(bad) + good[:5])
    packets += reader.feed(good[5:])
    assert packets[0] is None
    assert packets[1].payload == b"\x00"
    assert len(packets) == 2
