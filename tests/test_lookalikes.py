"""Lookalike pairs at enrolment, on both stores, with the two people of the shared photos
whose faces score closest (permissive pack, every pair of photos of different people
measured: deepface_p11 img33.jpg / deepface_p12 img35.jpg at 0.437, the highest of
5,273; the next pair of other people is 0.351). Enrolled centrally or at a station, the
pair is kept open with both people, the score and when; the stations are sent both with
`second_factor`; an administrator's decision is audited and lifts it; a leaver's pairs go
with them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import numpy as np
import pytest
from click.testing import CliRunner

from hallwatch.cli import main
from hallwatch.enrol import enrol_centrally
from models.enrolment import photo_templates
from models.packs import PackStore
from models.pipeline import FacePipeline
from mqtt import schema
from rules.acting import Actor, NotFound, Refused
from rules.device_config import DeviceConfigSender
from rules.directory import Directory
from rules.lookalikes import LOOKALIKE_THRESHOLD
from rules.manage import Management
from rules.policy import Policy

AT = datetime(2026, 11, 2, 9, tzinfo=UTC)
SITE = "hall-01"
PHOTOS = {
    "S011": "identities/deepface_p11/img33.jpg",
    "S012": "identities/deepface_p12/img35.jpg",
    "S020": "identities/fr_obama/obama.jpg",
}


@pytest.fixture(scope="module")
def faces(pack_store: PackStore, faces_dir) -> tuple[str, float, dict[str, np.ndarray]]:
    """(the recogniser's model id, its duplicate threshold, each person's embedding)."""
    pipeline = FacePipeline.from_pack(pack_store.path("permissive"))
    found = {}
    for staff_id, photo in PHOTOS.items():
        refused: dict[str, str] = {}
        [template] = photo_templates(pipeline, [faces_dir / photo], refused)
        found[staff_id] = template.embedding
    return pipeline.manifest.recognizer.sha256, pipeline.duplicate_threshold, found


def flags(store) -> dict[str, bool]:
    """What a new station would be sent: each person's `second_factor`."""
    sent: list[schema.Config] = []
    sender = DeviceConfigSender(
        store, Policy(), lambda config, _: sent.append(config), lambda: 1,
        stations=lambda site: [], directory=Directory, now=lambda: AT,
    )  # fmt: skip
    messages = sender.sync(SITE, f"new-{uuid.uuid4().hex[:6]}")
    return {op.staff_id: op.second_factor for m in messages for op in m.gallery}


def enrol(store, faces, staff_id: str) -> dict[str, float]:
    model, duplicate, embeddings = faces
    _, close = enrol_centrally(
        store, SITE, staff_id, staff_id, model, [embeddings[staff_id]], duplicate, by="li", at=AT
    )
    return close


def test_a_pair_found_at_central_enrolment_needs_a_second_factor_until_decided(store, faces):
    assert enrol(store, faces, "S011") == {}
    assert enrol(store, faces, "S020") == {}  # far from S011
    close = enrol(store, faces, "S012")
    assert list(close) == ["S011"] and close["S011"] == pytest.approx(0.437, abs=0.005)
    [pair] = store.lookalikes()
    assert (pair.staff_a, pair.staff_b, pair.state) == ("S011", "S012", "open")
    assert pair.score == pytest.approx(close["S011"]) and pair.found_at == AT
    assert LOOKALIKE_THRESHOLD < pair.score < faces[1]  # close, yet not the same person
    assert flags(store) == {"S011": True, "S012": True, "S020": False}

    manage = Management(store, Policy(), now=lambda: AT, language="en")
    with pytest.raises(NotFound, match="S020 and S011 are not a lookalike pair"):
        manage.decide_lookalike(Actor("wang", "cli"), "S020", "S011", "different people")
    line = manage.decide_lookalike(Actor("wang", "cli"), "S012", "S011", "twins, IDs checked")
    assert (line.state, line.decided_by, line.note) == ("decided", "wang", "twins, IDs checked")
    with pytest.raises(Refused, match="decided already by wang"):
        manage.decide_lookalike(Actor("li", "cli"), "S011", "S012", "again")
    [audit] = [a for a in store.actions() if a.action == "lookalike_decide"]
    assert (audit.by, audit.target, audit.reason) == ("wang", "S011+S012", "twins, IDs checked")
    assert flags(store) == {"S011": False, "S012": False, "S020": False}
    # Re-enrolled, still alike: the administrator's decision stands.
    enrol(store, faces, "S012")
    assert [p.state for p in store.lookalikes()] == ["decided"]


def test_a_station_enrolment_is_paired_and_a_leaver_takes_their_pairs(store, faces):
    model, _, embeddings = faces
    enrol(store, faces, "S011")
    sender = DeviceConfigSender(
        store, Policy(), lambda config, _: None, lambda: 1,
        stations=lambda site: [], directory=Directory, now=lambda: AT,
    )  # fmt: skip
    enrolment = schema.new_event(
        schema.Enrolment, SITE, "st-01", AT, seq=1, staff_id="S012", name="李娜",
        face_model=model, face_templates=[embeddings["S012"].astype(np.float32).tobytes()],
    )  # fmt: skip
    sender.take_enrolment(enrolment)
    assert [(p.staff_a, p.staff_b, p.state) for p in store.lookalikes()] == [
        ("S011", "S012", "open")
    ]
    assert flags(store) == {"S011": True, "S012": True}
    store.erase_person("S012")
    assert store.lookalikes() == [] and flags(store) == {"S011": False, "S012": False}


def test_the_lookalikes_command_lists_and_decides(tmp_path, faces):
    from rules.backend import open_store

    db = tmp_path / "rules.db"
    store = open_store(db)
    for staff_id in ("S011", "S012"):
        enrol(store, faces, staff_id)
    store.close()
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[sites.{SITE}]\ntimezone = "Asia/Shanghai"\n')
    where = ["--db", str(db), "--policy", str(policy)]
    runner = CliRunner()
    listed = runner.invoke(main, ["gallery", "lookalikes", *where])
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines() == [
        "S011 / S012：相似度 0.44，待裁定，发现于 2026-11-02 17:00 +08:00",
        "1 对相似人脸",
    ]
    refused = runner.invoke(main, ["gallery", "lookalikes", "decide", "S011", "S012",
                                   "--note", " ", *where])  # fmt: skip
    assert refused.exit_code == 1 and "say why" in refused.output
    decided = runner.invoke(
        main,
        ["gallery", "lookalikes", "decide", "S011", "S012", "--note", "双胞胎，已核对证件",
         "--by", "王主任", "--lang", "en", *where],
    )  # fmt: skip
    assert decided.exit_code == 0, decided.output
    assert "decided, found 2026-11-02 17:00 +08:00; decided by 王主任" in decided.output
    assert decided.output.rstrip().endswith(": 双胞胎，已核对证件")
    rows = runner.invoke(
        main, ["gallery", "lookalikes", "list", "--state", "open", "--json", *where]
    )
    assert rows.exit_code == 0 and rows.output.strip() == "[]"
