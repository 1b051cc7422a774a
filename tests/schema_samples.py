"""One valid payload of every schema: the seeds of the schema tests and the fuzzers."""

from __future__ import annotations

from datetime import timedelta

from mqtt import schema
from mqtt.ids import new_event_id, utc_now
from mqtt.topics import CENTRAL
from rules.policy import Policy
from tests.mqtt_helpers import clock_event, leave_event


def schema_samples() -> list[schema.Event]:
    """One valid payload of every schema."""
    now = utc_now()
    base = {"id": new_event_id(), "seq": 3, "site": "hall-01", "ts": now}
    return [
        clock_event("hall-01", "st-01", 1),
        leave_event("hall-01", "st-01", 2),
        schema.Activity(
            **base,
            device="ws-01",
            user="zhang",
            start=now - timedelta(minutes=5),
            duration_s=300,
            app="firefox",
            category="video",
            idle_s=2,
        ),
        schema.Alert(
            **base,
            device="st-01",
            kind=schema.AlertKind.SPOOF_SUSPECTED,
            severity=schema.Severity.SERIOUS,
            message="photo held to the camera",
            score=0.93,
        ),
        schema.Status(
            **base,
            device="st-01",
            state="online",
            role="station",
            health=schema.Health(camera="ok", gallery_size=40, backlog=0),
        ),
        schema.Config(
            **base,
            device="central",
            version=2,
            gallery=[
                schema.GalleryOp(op="enrol", staff_id="S001", face_templates=[b"\x00\x01" * 256])
            ],
            timetable=schema.timetable_spec(Policy().timetable("hall-01")),
        ),
        schema.Ack(
            **base,
            device="st-01",
            config_id=new_event_id(),
            version=2,
            applied=True,
            gallery_version=7,
        ),
        schema.Resend(**base, device=CENTRAL, first_seq=40, last_seq=52),
        schema.Resent(
            **base,
            device="st-01",
            request_id=new_event_id(),
            first_seq=40,
            last_seq=52,
            resent=10,
            missing=[(41, 42), (50, 50)],
        ),
        schema.Enrolment(
            **base,
            device="st-01",
            staff_id="S001",
            name="张伟",
            face_templates=[b"\x00\x01" * 256],
            face_model="0" * 64,
            finger_templates=[b"HWF1" + b"\x00" * 508],
        ),
        schema.Violation(
            **base,
            device="central",
            violation_id="v1",
            staff_id="S001",
            rule="late",
            day=now.date(),
            severity=schema.Severity.MINOR,
            deduction=1,
            correction_no=1,
        ),
        schema.Correction(
            **base, device="central", target="v1", action="void", by="mgr", reason="appeal"
        ),
        schema.Inspection(**base, device="central", day=now.date(), counts={"late": 2}),
        schema.DeadLetter(**base, device="central", topic="x", reason="bad", payload="{}"),
    ]
