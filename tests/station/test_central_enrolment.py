"""Enrol once, every station knows: two stations and the rules service over the production
broker setup (real Mosquitto, replay cameras, emulated sensors over ptys).

A person enrolled at station A by face and finger is identified at station B within
seconds; erased as a leaver, neither station identifies them and both confirm it; a
station offline during an update gets it when back; the stations keep working on their
last gallery without the centre; a corrupt, oversized or wrong config is refused with the
reason in the ack and the gallery unchanged.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from base.control_socket import ControlError, ask, control_socket
from drivers.fingerprint.emulator import SensorEmulator
from drivers.fingerprint.registry import FingerRegistry
from edge.station.station import Station
from models.packs import PackStore
from mqtt import schema
from mqtt.client import BrokerConfig
from rules.directory import Directory, StaffMember
from rules.gallery_status import gallery_status
from rules.service import RulesService, RulesSettings, ServiceConfig
from tests.command_helpers import HALLWATCH
from tests.conftest import REPO
from tests.mqtt_helpers import central_config
from tests.station.conftest import Central, RunningStation, Screen, make_config, replay_folder
from tests.station.test_station_timetable import WINTER, wait_until, write_policy

SITE = "hall-01"
PERSON = ("S007", "王芳")
PHOTOS = ["identities/deepface_p01/img1.jpg", "identities/deepface_p01/img10.jpg"]
SEEN_AT_B = "identities/deepface_p01/img2.jpg"  # another photo of the same person
FINGER = "finger-s007"


@pytest.fixture
def empty_data(tmp_path: Path, pack_store: PackStore):
    """A fresh station data folder: the face pack installed, no one enrolled."""

    def make(name: str) -> Path:
        data = tmp_path / name
        shutil.copytree(pack_store.path("permissive"), data / "models" / "permissive")
        return data

    return make


def station_config(broker, device: str, data: Path, emulator: SensorEmulator, camera: Path):
    account = f"{SITE}.{device}"
    return make_config(
        SITE,
        data,
        device=device,
        identify="face_or_finger",
        debounce_s=0.5,
        camera={"source": str(camera), "fps": 5},
        fingerprint={"port": emulator.port, "data_dir": str(data)},
        broker={"port": broker.port, "username": account, "password": broker.password(account)},
    )


def rules(broker, tmp_path: Path) -> RulesService:
    settings = RulesSettings(
        db=tmp_path / "rules.db",
        policy=write_policy(tmp_path / "policy.toml", SITE, WINTER),
        client_id=f"rules-{secrets.token_hex(4)}",
        sites=[SITE],
        recompute_every_s=0.5,
        gallery_retry_s=2.0,
    )
    account = BrokerConfig(
        port=broker.port, username="rules", password=broker.password("rules"),
        persistent_session=False,
    )  # fmt: skip
    return RulesService(ServiceConfig(broker=account, rules=settings))


def punches(central: Central, device: str, method: schema.Method) -> list[schema.Punch]:
    return [
        p
        for p in central.events(schema.Punch)
        if p.device == device and p.staff_id == PERSON[0] and p.method is method
    ]


def applied(service: RulesService, device: str, version: int) -> bool:
    known = service.store.device_gallery(SITE, device)
    return known.applied_version >= version and known.last_error is None


def touch_names(screen: Screen, sensor: SensorEmulator) -> str | None:
    """Who the station names when the finger touches it (None: an unknown finger)."""
    seen = len(screen.shown)
    sensor.place_finger(FINGER, touches=1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for notice in screen.shown[seen:]:
            if PERSON[1] in notice.title + notice.detail:
                return PERSON[1]
            if notice.kind == "fail":
                return None
        time.sleep(0.1)
    raise AssertionError(f"nothing shown for the finger:\n{screen.text()}")


def enrol_finger_at(data: Path, emulator: SensorEmulator) -> str:
    """`hallwatch finger enrol` as a person runs it next to the running station: it goes
    through the station's control socket, and the person touches when told to."""
    command = [*HALLWATCH, "finger", "enrol", PERSON[0], "--data-dir", str(data)]
    with subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stderr is not None and process.stdout is not None
        for line in process.stderr:
            if line.startswith("Place the finger"):
                emulator.place_finger(FINGER, touches=2)
        assert process.wait(60) == 0
        return process.stdout.read()


def test_enrol_once_every_station_knows(tmp_path, hardened_broker, empty_data, faces_dir):
    b = hardened_broker
    data_a, data_b = empty_data("a"), empty_data("b")
    watcher = dict(port=b.port, user="rules-2", password=b.password("rules-2"))
    camera_b = replay_folder(tmp_path, faces_dir, SEEN_AT_B)
    with (
        SensorEmulator(capacity=50, seed=1) as sensor_a,
        SensorEmulator(capacity=50, seed=2) as sensor_b,
        Central(SITE, **watcher) as central,
    ):
        config_a = station_config(b, "st-01", data_a, sensor_a, tmp_path / "no-camera")
        config_b = station_config(b, "st-02", data_b, sensor_b, camera_b)
        service = rules(b, tmp_path).start()
        try:
            screen = Screen()
            with (
                RunningStation(Station(config_a)) as a,
                RunningStation(Station(config_b, feedback=screen)) as b2,
            ):
                # Both announce themselves and get their timetable.
                assert wait_until(lambda: len(central.events(schema.Ack)) >= 2)
                # -- enrolment at station A: face from photos, then a finger --------------
                socket = control_socket(data_a)
                face = list(
                    ask(
                        socket,
                        {
                            "command": "enrol-face",
                            "staff_id": PERSON[0],
                            "name": PERSON[1],
                            "photos": [str(faces_dir / p) for p in PHOTOS],
                        },
                    )
                )[-1]
                assert face["ok"] and face["templates"] == 2, face
                finger = enrol_finger_at(data_a, sensor_a)
                assert f"enrolled {PERSON[0]} at the running station" in finger, finger
                sensor_a.lift_finger()
                # -- station B identifies them within seconds, by face and by finger -----
                started = time.monotonic()
                assert wait_until(lambda: applied(service, "st-02", 2), 20)
                assert wait_until(lambda: punches(central, "st-02", schema.Method.FACE), 20)
                face_s = time.monotonic() - started
                assert b2.names[PERSON[0]] == PERSON[1]
                for photo in camera_b.iterdir():  # they step away from the camera
                    photo.unlink()
                time.sleep(1.5)
                sensor_b.place_finger(FINGER, touches=1)
                assert wait_until(lambda: punches(central, "st-02", schema.Method.FINGER), 10)
                assert face_s < 20
                central_templates = service.store.templates(PERSON[0])
                assert sorted(t.kind for t in central_templates) == ["face", "face", "finger"]
                # -- a station without the centre keeps its last gallery ----------------
                service.stop()
                assert touch_names(screen, sensor_b) == PERSON[1]
                service = rules(b, tmp_path).start()
                # -- the person leaves: erased everywhere, confirmed per device ----------
                version = service.store.gallery_version(SITE)
                service.devices.directory = lambda: Directory(
                    staff=(StaffMember(PERSON[0], PERSON[1], active=False),)
                )
                assert wait_until(
                    lambda: all(applied(service, d, version + 1) for d in ("st-01", "st-02")),
                    30,
                )
                rows = {row.device: row for row in gallery_status(service.store, SITE)}
                assert {d: (r.erasures_pending, r.pending) for d, r in rows.items()} == {
                    "st-01": ([], 0),
                    "st-02": ([], 0),
                }
                assert service.store.templates(PERSON[0]) == []
                for station, data in ((a, data_a), (b2, data_b)):
                    assert PERSON[0] not in station.names
                    assert PERSON[0] not in {p.staff_id for p in station.gallery.people()}
                    assert FingerRegistry(data / "fingers.db").slots_of(PERSON[0]) == []
                assert sensor_a.template_slots == [] and sensor_b.template_slots == []
                assert touch_names(screen, sensor_b) is None
            # -- station B is off while someone is enrolled centrally; back, it has them -
            templates = [t for t in central_templates if t.kind == "finger"]
            from rules.gallery_store import NewTemplate

            service.store.add_templates(
                SITE, "S008", "李娜",
                [NewTemplate("finger", "r30x", templates[0].data)],
                source="central", at=templates[0].enrolled_at,
            )  # fmt: skip
            service.devices.changed(SITE)
            latest = service.store.gallery_version(SITE)
            time.sleep(1)
            assert not applied(service, "st-02", latest)
            with RunningStation(Station(config_b)) as b2:
                assert wait_until(lambda: applied(service, "st-02", latest), 30)
                assert b2.names.get("S008") == "李娜" and b2.staff.version == latest
                # -- a corrupt, oversized or wrong update: refused, the gallery unchanged -
                refusals = check_refusals(service, central, b2, latest)
            assert refusals
        finally:
            service.stop()


def acks_of(central: Central) -> list[schema.Ack]:
    """Station B's acks (the watcher also sees the garbage published on its config topic)."""
    ack_topic = f"hallwatch/v1/{SITE}/st-02/ack"
    return [
        schema.decode_as(schema.Ack, p, t) for t, p in list(central.seen.messages) if t == ack_topic
    ]


def check_refusals(
    service: RulesService, central: Central, station: Station, version: int
) -> list[str]:
    topic = f"hallwatch/v1/{SITE}/st-02/config"
    before = (station.staff.version, dict(station.names))
    wrong_face = schema.GalleryOp(
        op="reenrol", staff_id="S009", name="x", face_templates=[b"\x00" * 100]
    )
    bad_finger = schema.GalleryOp(
        op="reenrol", staff_id="S009", name="x", finger_templates=[b"HWF1" * 10]
    )
    gap = schema.GalleryOp(op="delete", staff_id="S009")
    payloads = [
        b"{not json",
        b'{"schema": "hallwatch.config/1", "padding": "' + b"x" * (64 * 1024) + b'"}',
        *(
            schema.encode(
                central_config(
                    SITE,
                    int(time.time() * 1000) + n,
                    gallery=[op],
                    gallery_base=version,
                    gallery_version=version + 1,
                )
            )
            for n, op in enumerate((wrong_face, bad_finger))
        ),
        schema.encode(
            central_config(
                SITE, int(time.time() * 1000) + 5, gallery=[gap], gallery_base=version + 3,
                gallery_version=version + 4,
            )
        ),
    ]  # fmt: skip
    for n, payload in enumerate(payloads):  # as the rules account (one connection each)
        expected = len(acks_of(central)) + 1
        service.client.publish(topic, payload, retain=True).wait_for_publish(5)
        assert wait_until(lambda e=expected: len(acks_of(central)) >= e, 10), n
    service.client.publish(topic, b"", retain=True).wait_for_publish(5)
    acks = acks_of(central)[-len(payloads) :]
    reasons = [a.error or "" for a in acks]
    assert not any(a.applied for a in acks), acks
    assert "not valid JSON" in reasons[0]
    assert "exceeds the 65536-byte limit" in reasons[1]
    assert "(25 values), this station's model makes 128" in reasons[2]
    assert "has 40 bytes" in reasons[3]
    assert f"gallery is at {version}, update starts at {version + 3}" in reasons[4]
    assert all(a.gallery_version == version for a in acks)
    assert (station.staff.version, dict(station.names)) == before
    return reasons


def test_a_station_control_socket_refuses_what_it_cannot_do(tmp_path, empty_data):
    """A face-only station asked to enrol a finger says why not; an unknown command too."""
    data = empty_data("c")
    config = make_config(
        f"t{secrets.token_hex(4)}", data, identify="face", camera={"source": str(tmp_path / "x")}
    )
    with RunningStation(Station(config)):
        socket = control_socket(data)
        assert socket.stat().st_mode & 0o777 == 0o600
        with pytest.raises(ControlError, match="no fingerprint sensor"):
            list(ask(socket, {"command": "enrol-finger", "staff_id": "S001"}))
        with pytest.raises(ControlError, match="unknown command 'x'"):
            list(ask(socket, {"command": "x"}))
        status = list(ask(socket, {"command": "status"}))[-1]
        assert status["gallery_version"] == 0 and status["face"] is True
