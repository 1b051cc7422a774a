"""A person with an undecided lookalike at the real station: the centre's update flags
them (`GalleryOp.second_factor`), and their face, however far above the accept
threshold, is confirmed by their staff number; someone not flagged is still accepted on
the face alone. Default thresholds of the permissive pack (accept 0.455)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

from edge.station.gallery_sync import open_station_gallery
from edge.station.station import Station
from hallwatch.demo.stage import Stage
from models.enrolment import photo_templates
from models.pipeline import FacePipeline
from mqtt import schema
from mqtt.topics import Kind, device_topic
from tests.station.conftest import Central, Keypad, RunningStation, Screen, make_config

# The closest pair of the shared photos (0.437, tests/test_lookalikes.py), and 李娜.
ENROLLED = {
    "S011": ("王芳", "identities/deepface_p11/img33.jpg", True),
    "S012": ("王芬", "identities/deepface_p12/img35.jpg", True),
    "S002": ("李娜", "identities/fr_obama/obama.jpg", False),
}


def flagged_gallery(data, pack_store, faces_dir, site) -> None:
    """The station's gallery as the centre's update leaves it."""
    shutil.copytree(pack_store.path("permissive"), data / "models" / "permissive")
    pipeline = FacePipeline.from_pack(data / "models" / "permissive")
    ops = []
    for staff_id, (name, photo, flagged) in ENROLLED.items():
        [template] = photo_templates(pipeline, [faces_dir / photo], {})
        ops.append(
            schema.GalleryOp(
                op="reenrol", staff_id=staff_id, name=name, second_factor=flagged,
                face_templates=[template.embedding.tobytes()],
                face_model=pipeline.manifest.recognizer.sha256,
            )
        )  # fmt: skip
    update = schema.new_event(
        schema.Config, site, "central", datetime.now(UTC), seq=1, version=1, gallery=ops,
        gallery_base=0, gallery_version=3,
    )  # fmt: skip
    gallery = pipeline.open_gallery(data / "gallery.db")
    staff = open_station_gallery(data, gallery, None)
    topic = device_topic(site, "st-01", Kind.CONFIG)  # the wire, as the station reads it
    staff.apply(schema.decode_as(schema.Config, schema.encode(update), topic))
    staff.close()
    gallery.close()


def test_a_flagged_lookalike_confirms_a_strong_face_by_staff_number(
    site, tmp_path, pack_store, faces_dir
):
    data = tmp_path / "data"
    flagged_gallery(data, pack_store, faces_dir, site)
    screen, stage, keypad = Screen(), Stage(), Keypad()
    config = make_config(site, data, identify="face", language="en", debounce_s=0.5)
    station = Station(config, keys=keypad.reader, feedback=screen, camera=stage)
    with Central(site) as central, RunningStation(station):
        stage.show(faces_dir / "identities/deepface_p11/img29.jpg")  # 王芳, another photo
        asked = screen.wait_for("Not sure it is you")
        assert central.events(schema.Punch) == []
        keypad.press("S011")
        [confirmed] = central.wait_for(schema.Punch, 1)
        stage.show(faces_dir / "identities/fr_obama/obama2.jpg")  # 李娜: not flagged
        punches = central.wait_for(schema.Punch, 2)
    keypad.close()
    assert asked.title == "Not sure it is you: type your staff number"
    assert (confirmed.staff_id, confirmed.second_factor) == (
        "S011",
        schema.SecondFactor.STAFF_NUMBER,
    )
    assert confirmed.score > 0.455  # above the accept threshold: the flag asked, not the score
    face_alone = punches[1]
    assert (face_alone.staff_id, face_alone.second_factor) == ("S002", None)
    assert face_alone.method is schema.Method.FACE and face_alone.score > 0.455
