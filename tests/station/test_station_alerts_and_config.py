"""Alerts for strangers, photos and proxy punches; central gallery updates; bad configs."""

from __future__ import annotations

import time

import numpy as np
import pytest

from edge.station.config import StationConfig
from edge.station.station import Station
from models.enrolment import enrol_photos
from models.gallery import Gallery
from models.pipeline import FacePipeline
from mqtt import schema
from tests.command_helpers import run_hallwatch
from tests.mqtt_helpers import central_config, client
from tests.station.conftest import (
    Central,
    RunningStation,
    enrol_fingers,
    face_config,
    make_config,
    replay_folder,
    sensor_table,
)


def test_a_stranger_raises_one_unknown_face_alert_and_no_punch(
    tmp_path, site, station_data, faces_dir
):
    folder = replay_folder(tmp_path, faces_dir, "unknown/carell.jpg", "unknown/adams.jpg")
    config = face_config(site, station_data, folder, fps=10, evidence={"keep_snapshots": True})
    with Central(site) as central, RunningStation(Station(config)):
        alerts = central.wait_for(schema.Alert, 1)
        time.sleep(1.5)
    alerts = central.events(schema.Alert)
    assert [a.kind for a in alerts] == [schema.AlertKind.UNKNOWN_FACE]  # rate-limited to one
    assert central.events(schema.Punch) == []
    snapshot = station_data / "evidence" / alerts[0].evidence
    assert snapshot.exists() and (snapshot.stat().st_mode & 0o777) == 0o600


def test_a_photo_held_up_raises_a_spoof_alert(tmp_path, site, station_data, faces_dir):
    # The live face of minivision's sample person is enrolled; a photo of them is presented.
    pipeline = FacePipeline.from_pack(station_data / "models" / "permissive")
    gallery = pipeline.open_gallery(station_data / "gallery.db")
    assert enrol_photos(
        pipeline, gallery, "S009", "赵敏", [faces_dir / "spoof/image_T1.jpg"]
    ).accepted
    gallery.close()
    folder = replay_folder(tmp_path, faces_dir, "spoof/image_F2.jpg")
    config = face_config(site, station_data, folder, fps=10)
    with Central(site) as central, RunningStation(Station(config)):
        alerts = central.wait_for(schema.Alert, 1)
    assert alerts[0].kind is schema.AlertKind.SPOOF_SUSPECTED
    assert alerts[0].severity is schema.Severity.SERIOUS
    assert alerts[0].staff_id == "S009"  # whose face the photo showed: proxy-punch evidence
    assert alerts[0].evidence is None  # no snapshot unless configured
    assert central.events(schema.Punch) == []


def test_face_and_finger_must_be_the_same_person(tmp_path, site, station_data, faces_dir, emulator):
    enrol_fingers(emulator, station_data, ["S001", "S002"])
    folder = replay_folder(tmp_path, faces_dir, "identities/deepface_p01/img2.jpg")
    config = make_config(
        site,
        station_data,
        identify="face_and_finger",
        debounce_s=0.5,
        second_factor_s=30,
        camera={"source": str(folder), "fps": 10},
        fingerprint=sensor_table(emulator, station_data),
    )
    with Central(site) as central, RunningStation(Station(config)):
        time.sleep(1.5)  # the face (S001) is identified and waits for a finger
        emulator.place_finger("finger-s002", touches=1)  # someone else's finger
        alert, face_alert = central.wait_for(schema.Alert, 2)[:2]
        emulator.place_finger("finger-s001", touches=1)
        punch = central.wait_for(schema.Punch, 1)[0]
    assert (
        alert.kind is schema.AlertKind.PROXY_PUNCH
        and "S001" in alert.message
        and alert.staff_id == "S002"
    )
    # The person whose face was presented is named too, in an alert of their own.
    assert (face_alert.kind, face_alert.staff_id) == (schema.AlertKind.PROXY_PUNCH, "S001")
    assert face_alert.message == alert.message
    assert (punch.staff_id, punch.method) == ("S001", schema.Method.FACE_FINGER)
    assert punch.finger_score is not None and -1 <= punch.score <= 1


def test_central_gallery_update_is_applied_atomically_and_acknowledged(
    tmp_path, site, station_data
):
    config = face_config(site, station_data, tmp_path / "no-camera")
    rng = np.random.default_rng(1)
    templates = [(rng.standard_normal(128).astype(np.float32)) for _ in range(2)]
    templates = [(t / np.linalg.norm(t)).tobytes() for t in templates]
    good = central_config(
        site,
        1,
        gallery=[
            schema.GalleryOp(op="enrol", staff_id="S100", name="王芳", face_templates=templates),
            schema.GalleryOp(op="delete", staff_id="S002"),
        ],
    )
    bad = central_config(
        site,
        2,
        gallery=[
            schema.GalleryOp(op="enrol", staff_id="S101", face_templates=[templates[0]]),
            schema.GalleryOp(op="reenrol", staff_id="S001", face_templates=[b"\x00" * 12]),
        ],
    )
    with (
        Central(site) as central,
        RunningStation(Station(config)),
        client(1883, f"rules-{site}") as rules,
    ):
        rules.publish_event(good, device="st-01").wait_for_publish(5)
        central.wait_for(schema.Ack, 1)
        rules.publish_event(bad, device="st-01").wait_for_publish(5)
        acks = central.wait_for(schema.Ack, 2)
        rules.publish(f"hallwatch/v1/{site}/st-01/config", b"", retain=True).wait_for_publish(5)
    assert [(a.version, a.applied) for a in acks] == [(1, True), (2, False)]
    assert acks[0].config_id == good.id and acks[0].gallery_size == 2
    assert "3 values" in acks[1].error
    gallery = Gallery(station_data / "gallery.db", _model(station_data), 128)
    people = {p.staff_id: (p.name, p.templates) for p in gallery.people()}
    # Version 2 failed as a whole: S101 was not added, S001 kept its template.
    assert people == {"S001": ("张伟", 1), "S100": ("王芳", 2)}


def test_a_gallery_update_too_big_for_one_message_arrives_split_and_whole(
    tmp_path, site, station_data
):
    """The broker refuses packets over a payload's size (issue 13): a gallery update of a
    whole hall goes out as consecutive versions, and the station applies every one."""
    config = face_config(site, station_data, tmp_path / "no")
    rng = np.random.default_rng(2)
    vectors = rng.standard_normal((300, 128)).astype(np.float32)
    ops = [
        schema.GalleryOp(
            op="enrol", staff_id=f"S{n:04d}", face_templates=[(v / np.linalg.norm(v)).tobytes()] * 3
        )
        for n, v in enumerate(vectors, start=200)
    ]
    whole = central_config(site, 1, gallery=ops)
    with pytest.raises(schema.PayloadError, match="split it with split_config"):
        schema.encode(whole)
    parts = schema.split_config(whole)
    assert [p.version for p in parts] == list(range(1, len(parts) + 1)) and len(parts) > 1
    assert [op for p in parts for op in p.gallery] == ops
    with (
        Central(site) as central,
        RunningStation(Station(config)),
        client(1883, f"rules-{site}") as rules,
    ):
        for part in parts:
            rules.publish_event(part, device="st-01").wait_for_publish(5)
        acks = central.wait_for(schema.Ack, len(parts))
        rules.publish(f"hallwatch/v1/{site}/st-01/config", b"", retain=True).wait_for_publish(5)
    assert [(a.version, a.applied) for a in acks] == [(p.version, True) for p in parts]
    assert acks[-1].gallery_size == 300 + 2


def _model(data) -> str:
    from models.packs import verify_pack

    return verify_pack(data / "models" / "permissive").recognizer.sha256


NAMED = 'site = "hall-01"\ndevice = "st-01"\n'  # the keys every station file needs


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('site = "hall-01"\n', "key 'device': missing (required)"),
        (NAMED + 'identify = "finger"\n', "needs a [fingerprint] table"),
        (NAMED + 'timezone = "Mars/Olympus"\n', "unknown time zone"),
        (NAMED + "[[sessions]]\nstart = 12:00:00\nend = 09:00:00\n", "ends"),
        (NAMED + "debounce = 5\n", "key 'debounce': unknown key"),
    ],
)
def test_a_bad_config_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / "station.toml"
    path.write_text(text)
    result = run_hallwatch("station", "--config", str(path))
    assert result.returncode == 1
    assert str(path) in result.stderr and message in result.stderr


def test_a_missing_model_pack_says_how_to_install_it(tmp_path):
    config = StationConfig(site="hall-01", device="st-01", data_dir=tmp_path, identify="face")
    from models.packs import PackError

    with pytest.raises(PackError, match="hallwatch models install"):
        Station(config)


def test_heartbeat_reports_health(tmp_path, site, station_data):
    config = face_config(site, station_data, tmp_path / "missing-camera", heartbeat_s=0.5)
    with Central(site) as central, RunningStation(Station(config)):
        statuses = central.wait_for(schema.Status, 3)
        alerts = central.wait_for(schema.Alert, 1)
    health = [s.health for s in statuses if s.health is not None][-1]
    assert health.model_pack == "permissive" and health.gallery_size == 2
    assert health.camera.startswith("offline") and health.backlog is not None
    assert health.clock_synced is not None and health.disk_free_mb > 0
    assert alerts[0].kind is schema.AlertKind.CAMERA_FAULT
