"""The central gallery on both stores: versions, changes since a version, erasure, device
acks; the sender's split into self-contained messages, its answers to acks and its
backoff; central enrolment's duplicate check against the whole directory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import numpy as np
import pytest

from hallwatch.enrol import DuplicateFace, enrol_centrally
from models.enrolment import photo_templates
from models.packs import PackStore
from models.pipeline import FacePipeline
from mqtt import schema
from rules.device_config import DeviceConfigSender, erase_leavers
from rules.directory import Directory, StaffMember
from rules.gallery_status import gallery_status
from rules.gallery_store import NewTemplate
from rules.policy import Policy

AT = datetime(2026, 11, 2, 9, tzinfo=UTC)
SITE = "hall-01"


def face(seed: int) -> NewTemplate:
    vector = np.random.default_rng(seed).standard_normal(512).astype(np.float32)
    return NewTemplate("face", "m" * 64, (vector / np.linalg.norm(vector)).tobytes())


def finger(seed: int) -> NewTemplate:
    return NewTemplate("finger", "r30x", np.random.default_rng(seed).bytes(512))


def test_versions_changes_erasure_and_acks(store):
    v1 = store.add_templates(SITE, "S001", "张伟", [face(1), finger(1)], source="st-01", at=AT)
    v2 = store.add_templates(SITE, "S002", "李娜", [face(2)], source="central:li", at=AT)
    v3 = store.add_templates(SITE, "S001", None, [face(3)], source="st-02", at=AT, replace=True)
    assert (v1, v2, v3) == (1, 2, 3) and store.gallery_version(SITE) == 3
    # S001 replaced their face (not their finger) and kept their name.
    assert [(t.kind, t.data) for t in store.templates("S001")] == [
        ("finger", finger(1).data),
        ("face", face(3).data),
    ]
    changes = store.gallery_changes(SITE, 1)
    assert [(e.staff_id, e.name, e.version) for e in changes] == [
        ("S002", "李娜", 2),
        ("S001", "张伟", 3),
    ]
    assert store.gallery_changes("hall-02") == [] and store.gallery_version("hall-02") == 0
    # Devices: one confirms everything, one is behind; then S002 is erased.
    store.gallery_sent(SITE, "st-01", 3, AT)
    store.gallery_acked(SITE, "st-01", 3, None, AT)
    store.gallery_acked(SITE, "st-02", 1, "gallery is at 1, update starts at 2", AT)
    assert store.erase_person("S002") == {SITE: 4}
    assert store.erase_person("S002") == {}  # erased already: nothing more to send
    assert store.templates("S002") == []
    rows = {row.device: row for row in gallery_status(store, SITE)}
    assert (rows["st-01"].applied_version, rows["st-01"].pending) == (3, 1)
    assert rows["st-01"].erasures_pending == ["S002"] and rows["st-01"].last_error is None
    assert rows["st-02"].last_error == "gallery is at 1, update starts at 2"
    store.gallery_acked(SITE, "st-01", 4, None, AT)
    assert gallery_status(store, SITE)[0].erasures_pending == []


class Sent:
    def __init__(self) -> None:
        self.messages: list[tuple[schema.Config, str]] = []
        self.seq = 0

    def __call__(self, config: schema.Config, device: str) -> None:
        schema.encode(config)  # within the limit, or this raises
        self.messages.append((config, device))

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


def sender(store, sent: Sent, clock: list[datetime]) -> DeviceConfigSender:
    return DeviceConfigSender(
        store, Policy(), sent, sent.next_seq,
        stations=lambda site: ["st-01"], directory=Directory, now=lambda: clock[0], retry_s=10,
    )  # fmt: skip


def test_a_hall_goes_out_in_self_contained_messages_and_acks_steer_the_resends(store):
    for n in range(60):  # 60 people with 5 face templates each: several messages
        store.add_templates(SITE, f"S{n:03d}", f"员工{n}", [face(n * 10 + k) for k in range(5)],
                            source="central", at=AT)  # fmt: skip
    sent, clock = Sent(), [AT]
    devices = sender(store, sent, clock)
    messages = devices.sync(SITE, "st-01")
    assert len(messages) > 1
    bases = [(m.gallery_base, m.gallery_version) for m in messages]
    assert bases[0][0] == 0 and bases[-1][1] == 60
    assert all(a[1] == b[0] for a, b in pairwise(bases))
    assert all(m.timetable is not None for m in messages)  # never hidden by the gallery
    assert {op.staff_id for m in messages for op in m.gallery} == {f"S{n:03d}" for n in range(60)}
    # Sent and not acknowledged: nothing more until the retry is due, then all again.
    assert devices.sync(SITE, "st-01") == []
    clock[0] += timedelta(seconds=11)
    assert len(devices.sync(SITE, "st-01")) == len(messages)
    # The first message applied: progress, no resend.
    first = messages[0]
    ack = schema.ack_for(first, "st-01", AT, None, 0, first.gallery_version)
    before = len(sent.messages)
    devices.take_ack(ack)
    assert len(sent.messages) == before
    # The device says it is at 7 (another base): it is sent what it lacks from 7, at once.
    refused = schema.ack_for(messages[-1], "st-01", AT, "gallery is at 7, update starts at 9", 7, 7)
    devices.take_ack(refused)
    resent = [m for m, _ in sent.messages[before:]]
    assert resent and resent[0].gallery_base == 7
    assert {op.staff_id for m in resent for op in m.gallery} == {f"S{n:03d}" for n in range(7, 60)}
    # A refusal of the update itself (same version): the timer's backoff, doubling.
    for m in resent:
        devices.take_ack(schema.ack_for(m, "st-01", AT, "fingerprint sensor: unplugged", 0, 7))
    assert devices.sync(SITE, "st-01") == []
    clock[0] += timedelta(seconds=11)
    assert devices.sync(SITE, "st-01")  # the retry, after 10 s
    clock[0] += timedelta(seconds=11)
    assert devices.sync(SITE, "st-01") == []  # the next one waits twice as long
    clock[0] += timedelta(seconds=10)
    assert devices.sync(SITE, "st-01")


def test_leavers_are_erased_and_the_deletion_sent(store):
    store.add_templates(SITE, "S001", "张伟", [face(1)], source="st-01", at=AT)
    store.add_templates(SITE, "S002", "李娜", [face(2)], source="st-01", at=AT)
    directory = Directory(
        staff=(
            StaffMember("S001", "张伟", end_date=AT.date() - timedelta(days=1)),
            StaffMember("S002", "李娜", end_date=AT.date()),  # their last day: kept
        )
    )
    assert erase_leavers(store, directory, AT) == [SITE]
    assert store.templates("S001") == [] and store.templates("S002") != []
    sent, clock = Sent(), [AT]
    [message] = sender(store, sent, clock).sync(SITE, "st-01")
    assert [(op.op, op.staff_id) for op in message.gallery] == [
        ("reenrol", "S002"),
        ("delete", "S001"),
    ]


@pytest.fixture(scope="module")
def pipeline(pack_store: PackStore) -> FacePipeline:
    return FacePipeline.from_pack(pack_store.path("permissive"))


def test_central_enrolment_refuses_a_face_someone_else_holds(store, pipeline, faces_dir):
    def embeddings(*photos: str) -> list[np.ndarray]:
        refused: dict[str, str] = {}
        found = photo_templates(pipeline, [faces_dir / p for p in photos], refused)
        assert not refused
        return [t.embedding for t in found]

    model = pipeline.manifest.recognizer.sha256
    threshold = pipeline.duplicate_threshold
    first = embeddings("identities/deepface_p01/img1.jpg")
    assert enrol_centrally(store, SITE, "S004", "张伟", model, first, threshold, by="li", at=AT)
    # Another site, the same face: the directory is one.
    same = embeddings("identities/deepface_p01/img2.jpg")
    with pytest.raises(DuplicateFace, match=r"already matches S004 \(张伟\) at 0\.\d\d"):
        enrol_centrally(store, "hall-02", "S005", "王芳", model, same, threshold, by="li", at=AT)
    other = embeddings("identities/fr_obama/obama.jpg")
    assert enrol_centrally(
        store, "hall-02", "S005", "王芳", model, other, threshold, by="li", at=AT
    )
    assert store.templates("S005")[0].source == "central:li"


def test_the_gallery_command_shows_each_station_in_words(tmp_path):
    from rules.backend import open_store
    from tests.command_helpers import run_hallwatch

    db = tmp_path / "rules.db"
    store = open_store(db)
    store.add_templates(SITE, "S001", "张伟", [face(1)], source="st-01", at=AT)
    store.erase_person("S001")
    store.gallery_acked(SITE, "st-01", 1, "fingerprint sensor: unplugged", AT)
    store.close()
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[sites.{SITE}]\ntimezone = "Asia/Shanghai"\n')
    done = run_hallwatch("rules", "gallery", "--db", str(db), "--policy", str(policy))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == (
        "hall-01 st-01：已应用版本 1/2，待更新 1 人，待删除：S001，最近错误：fingerprint sensor: unplugged"
    )
