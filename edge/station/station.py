"""The clock-in station: camera, fingerprint sensor, keys and feedback around one loop.

A person walks up and is identified by face and/or finger (per site policy); the punch is
journaled (edge/journal.py) before anything else, confirmed on screen, and published by
the journal's publisher whenever the broker can be reached.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from base import sdnotify
from base.private_files import write_private
from drivers.camera import Camera, CameraStatus, FrameSource, source_for
from drivers.feedback import (
    ConsoleFeedback,
    DisplayFeedback,
    Feedback,
    MultiFeedback,
    Notice,
    ToneSound,
)
from edge.journal import Journal, JournalError
from edge.publisher import JournalPublisher
from edge.station.config import StationConfig
from edge.station.finger_worker import FingerReading, FingerWorker
from edge.station.identity import (
    Combiner,
    FaceId,
    FingerId,
    Identification,
    Identified,
    Mismatch,
    NeedSecond,
)
from edge.station.inference import LastPunch
from edge.station.keypad import ActionRequest, InputError, KeyReader
from edge.station.messages import say
from edge.station.punches import PlannedPunch, plan_punch
from edge.station.timesync import time_sync
from models.decision import Decider, FaceOutcome, Verdict
from models.gallery import GalleryChange, GalleryError
from models.packs import PackStore
from models.pipeline import FacePipeline
from models.reasons import Reason
from mqtt import schema
from mqtt.client import MqttClient
from mqtt.ids import new_event_id, utc_now
from mqtt.topics import Kind, device_topic

log = logging.getLogger(__name__)

# Frames in a row with no face before the vote starts afresh (the person walked away).
EMPTY_FRAMES_RESET = 5
# A pending "hold still" / "move closer" hint is shown at most this often.
HINT_EVERY_S = 2.0


class Station:
    def __init__(
        self,
        config: StationConfig,
        *,
        keys: KeyReader | None = None,
        feedback: Feedback | None = None,
        now: Callable[[], datetime] = utc_now,
        camera: FrameSource | None = None,
    ) -> None:
        self.config = config
        self.now = now  # event times; the demo runs a day on an accelerated clock
        self.started = time.monotonic()
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(
            config.data_dir / "journal.db",
            config.site,
            config.device,
            max_bytes=config.journal.max_mb * 1024 * 1024,
            retention=timedelta(days=config.journal.retention_days),
        )
        self.client = MqttClient(
            config.broker,
            f"hallwatch-{config.site}-{config.device}",
            will=self._status("offline"),
            on_message=self._on_message,
        )
        self.client.subscribe(device_topic(config.site, config.device, Kind.CONFIG))
        self.publisher = JournalPublisher(self.journal, self.client)
        self.feedback = feedback or self._default_feedback()
        self.keys = keys
        self.combiner = Combiner(config.identify, config.second_factor_s)
        self.last_punch: dict[str, LastPunch] = self._punches_from_journal()
        self.pending_request: ActionRequest | None = None
        self.camera_status = "off"
        self.pipeline: FacePipeline | None = None
        self.camera: Camera | None = None
        self.decider = Decider(config.face.votes_needed, config.face.vote_window)
        if config.uses_face:
            pack_dir, _ = PackStore(config.packs_dir).open(config.face.pack)
            self.pipeline = FacePipeline.from_pack(pack_dir, config.face)
            self.gallery = self.pipeline.open_gallery(config.data_dir / "gallery.db")
            source = camera or source_for(config.camera.source, config.camera.fps)
            self.camera = Camera(source, on_status=self._on_camera)
        self.names = self._load_names()
        self.fingers = FingerWorker(config.fingerprint.open_sensor) if config.fingerprint else None
        self._config_lock = threading.Lock()
        self._empty_frames = 0
        self._last_hint = 0.0
        self._last_unknown_alert = float("-inf")
        self._last_heartbeat = float("-inf")
        self._watchdog = sdnotify.Watchdog()

    # -- lifecycle -------------------------------------------------------------------
    def _default_feedback(self) -> Feedback:
        fb = self.config.feedback
        outputs: list[Feedback] = []
        if fb.console:
            outputs.append(ConsoleFeedback())
        if fb.display is not None:
            outputs.append(DisplayFeedback(fb.display, fb.display_size))
        if fb.sound:
            outputs.append(ToneSound())
        return MultiFeedback(*outputs)

    def start(self) -> Station:
        self.client.start(wait_s=None)  # offline-first: the broker may be down for hours
        self.journal.append(self._status("online"))
        self.publisher.start()
        if self.fingers is not None:
            self.fingers.start()
        if self.keys is not None:
            self.keys.start()
        self._evidence_dir.mkdir(mode=0o700, exist_ok=True)
        self._prune_evidence()
        self.feedback.show(Notice("info", say(self.config.language, "ready")))
        sdnotify.ready(f"{len(self.names)} staff enrolled")
        return self

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.step()

    def stop(self, drain_s: float = 3.0) -> None:
        sdnotify.stopping()
        self.journal.append(self._status("offline"))
        self.publisher.stop(drain_s=drain_s)
        self.client.stop()
        if self.fingers is not None:
            self.fingers.stop()
        if self.camera is not None:
            self.camera.close()
        self.journal.close()

    # -- the loop --------------------------------------------------------------------
    def step(self) -> None:
        """One turn: keys, the sensor, one camera frame, the heartbeat."""
        now = time.monotonic()
        if self.keys is not None:
            self._take_key(self.keys.poll(), now)
        if self.fingers is not None:
            while (reading := self.fingers.poll()) is not None:
                self._take_finger(reading, now)
        if self.camera is not None:
            frame = self.camera.read()
            if frame is not None:
                self._take_frame(frame, now)
            else:
                time.sleep(0.05)
        else:
            time.sleep(0.05)
        if now - self._last_heartbeat >= self.config.heartbeat_s:
            self._last_heartbeat = now
            self.journal.append(self._status("online", self._health()))
            self._prune_evidence()
        self._watchdog.pet()  # a loop that stops turning gets the station restarted

    def _take_key(self, key: ActionRequest | InputError | None, now: float) -> None:
        if isinstance(key, InputError):
            self.feedback.show(Notice("fail", str(key)))
        elif key is not None:
            self.pending_request = key
            self.feedback.show(Notice("info", say(self.config.language, key.action.value), "…"))

    def _take_finger(self, reading: FingerReading, now: float) -> None:
        lang = self.config.language
        match reading.kind:
            case "match":
                assert reading.staff_id is not None
                self._resolve(
                    self.combiner.finger(FingerId(reading.staff_id, reading.score), now), now
                )
            case "unknown":
                self.feedback.show(Notice("fail", say(lang, "finger_unknown")))
            case "poor":
                self.feedback.show(Notice("fail", say(lang, "finger_poor"), reading.detail))
            case "fault":
                self._alert(
                    schema.AlertKind.SENSOR_FAULT, schema.Severity.MINOR, reading.detail[:200]
                )

    def _take_frame(self, frame: np.ndarray, now: float) -> None:
        assert self.pipeline is not None
        result = self.pipeline.analyse(frame, self.gallery)
        if result.face_count == 0:
            self._empty_frames += 1
            if self._empty_frames == EMPTY_FRAMES_RESET:
                self.decider.reset()
            return
        self._empty_frames = 0
        verdict = self.decider.add(result)
        if verdict.outcome is FaceOutcome.IDENTIFIED:
            assert verdict.staff_id is not None and verdict.score is not None
            self._resolve(
                self.combiner.face(FaceId(verdict.staff_id, verdict.score, result.liveness), now),
                now,
            )
        elif verdict.outcome is FaceOutcome.REJECTED:
            self._face_rejected(verdict, frame, now)
        elif verdict.reason is not None and now - self._last_hint >= HINT_EVERY_S:
            self._last_hint = now
            self.feedback.show(Notice("info", say(self.config.language, verdict.reason.code)))

    def _face_rejected(self, verdict: Verdict, frame: np.ndarray, now: float) -> None:
        assert verdict.reason is not None
        self.feedback.show(Notice("fail", say(self.config.language, verdict.reason.code)))
        if verdict.reason is Reason.SPOOF:
            who = verdict.suspected_staff_id
            self._alert(
                schema.AlertKind.SPOOF_SUSPECTED,
                schema.Severity.SERIOUS,
                f"liveness check failed{f' for a face matching {who}' if who else ''}",
                staff_id=who,
                frame=frame,
            )
        elif (
            verdict.reason is Reason.UNKNOWN
            and now - self._last_unknown_alert >= self.config.unknown_alert_s
        ):
            self._last_unknown_alert = now
            self._alert(
                schema.AlertKind.UNKNOWN_FACE,
                schema.Severity.INFO,
                "a face not in the gallery",
                frame=frame,
            )

    def _resolve(self, outcome: Identification, now: float) -> None:
        lang = self.config.language
        match outcome:
            case Identified():
                self._punch(outcome, now)
            case NeedSecond(staff_id=staff_id, factor=factor):
                key = "finger_for" if factor == "finger" else "face_for"
                self.feedback.show(
                    Notice("info", say(lang, key, name=self.names.get(staff_id, staff_id)))
                )
            case Mismatch(face_staff_id=face_id, finger_staff_id=finger_id):
                self.feedback.show(Notice("fail", say(lang, "mismatch")))
                self._alert(
                    schema.AlertKind.PROXY_PUNCH,
                    schema.Severity.SERIOUS,
                    f"face of {face_id} presented with the finger of {finger_id}",
                    staff_id=finger_id,
                )

    # -- punching --------------------------------------------------------------------
    def _punch(self, who: Identified, now: float) -> None:
        request = self.pending_request
        if request is not None and now - request.at > self.config.key_timeout_s:
            request = None
        self.pending_request = None
        ts = self.now()
        local = ts.astimezone(self.config.zone)
        plan = plan_punch(self.config, self.last_punch.get(who.staff_id), request, local)
        lang, name = self.config.language, self.names.get(who.staff_id, who.staff_id)
        if not isinstance(plan, PlannedPunch):
            self.feedback.show(Notice("info", say(lang, plan.message_key, time=plan.time), name))
            return
        event = schema.Punch(
            id=new_event_id(),
            seq=0,
            site=self.config.site,
            device=self.config.device,
            ts=ts,
            staff_id=who.staff_id,
            action=plan.action,
            method=who.method,
            score=round(who.score, 4),
            finger_score=who.finger_score,
            liveness=None if who.liveness is None else round(who.liveness, 4),
            inferred=plan.inferred,
            leave=plan.leave,
        )
        try:
            self.journal.append(event)
        except JournalError as exc:
            log.error("punch of %s not recorded: %s", who.staff_id, exc)
            self.feedback.show(Notice("fail", "NOT RECORDED", str(exc)[:80]))
            return
        self.last_punch[who.staff_id] = LastPunch(plan.action, local)
        detail = f"{name}  {local:%H:%M}"
        if plan.leave is not None:
            detail += "  " + say(
                lang,
                "back_by",
                time=f"{plan.leave.expected_return.astimezone(self.config.zone):%H:%M}",
            )
        if plan.inferred:
            detail += "  " + say(lang, "inferred")
        self.feedback.show(Notice("ok", say(lang, plan.action.value), detail))

    def _punches_from_journal(self) -> dict[str, LastPunch]:
        last: dict[str, LastPunch] = {}
        for event in self.journal.events():
            if isinstance(event, schema.Punch):
                last[event.staff_id] = LastPunch(
                    event.action, event.ts.astimezone(self.config.zone)
                )
        return last

    # -- alerts, evidence, status ----------------------------------------------------
    @property
    def _evidence_dir(self) -> Path:
        return self.config.data_dir / "evidence"

    def _alert(
        self,
        kind: schema.AlertKind,
        severity: schema.Severity,
        message: str,
        *,
        staff_id: str | None = None,
        frame: np.ndarray | None = None,
    ) -> None:
        event_id = new_event_id()
        evidence = None
        if frame is not None and self.config.evidence.keep_snapshots:
            evidence = self._keep_snapshot(event_id, frame)
        event = schema.Alert(
            id=event_id,
            seq=0,
            site=self.config.site,
            device=self.config.device,
            ts=self.now(),
            kind=kind,
            severity=severity,
            message=message,
            staff_id=staff_id,
            evidence=evidence,
        )
        try:
            self.journal.append(event)
        except JournalError as exc:
            log.error("alert %s not recorded: %s", kind, exc)

    def _keep_snapshot(self, event_id: str, frame: np.ndarray) -> str | None:
        """A JPEG of the frame, 0600, named after the alert; only the name leaves the device."""
        path = self._evidence_dir / f"{event_id}.jpg"
        ok, data = cv2.imencode(".jpg", frame)
        if not ok:
            return None
        write_private(path, data.tobytes())
        return path.name

    def _prune_evidence(self) -> None:
        horizon = time.time() - self.config.evidence.retention_days * 86400
        for snapshot in self._evidence_dir.glob("*.jpg"):
            if snapshot.stat().st_mtime < horizon:
                snapshot.unlink(missing_ok=True)

    def _on_camera(self, status: CameraStatus) -> None:
        self.camera_status = "ok" if status.online else f"offline: {status.detail}"[:200]
        if not status.online:
            self._alert(schema.AlertKind.CAMERA_FAULT, schema.Severity.MINOR, status.detail[:200])

    def _status(self, state: str, health: schema.Health | None = None) -> schema.Status:
        c = self.config
        return schema.status_for(c.site, c.device, "station", state, self.now(), health)

    def _health(self) -> schema.Health:
        disk = shutil.disk_usage(self.config.data_dir)
        sync = time_sync()
        return schema.Health(
            camera=self.camera_status if self.camera is not None else None,
            sensor=self.fingers.status[:200] if self.fingers is not None else None,
            model_pack=self.config.face.pack if self.pipeline is not None else None,
            gallery_size=len(self.names),
            backlog=self.journal.backlog(),
            disk_free_mb=disk.free // (1024 * 1024),
            clock_synced=sync.synchronised if sync else None,
            clock_offset_s=round(sync.offset_s, 6) if sync and sync.synchronised else None,
            uptime_s=round(time.monotonic() - self.started, 1),
        )

    # -- central gallery updates -----------------------------------------------------
    def _load_names(self) -> dict[str, str]:
        if self.pipeline is None:
            return {}
        return {p.staff_id: p.name for p in self.gallery.people()}

    def _on_message(self, topic: str, payload: bytes) -> None:
        """A (retained) config message: apply its gallery changes atomically, then ack."""
        try:
            config = schema.decode_as(schema.Config, payload, topic)
        except schema.PayloadError as exc:
            log.error("config on %s rejected: %s", topic, exc.reason)
            return
        with self._config_lock:
            if config.version <= self._applied_version():
                return  # the retained copy of an update already applied
            error = self._apply_gallery(config)
            if error is None:
                (self.config.data_dir / "config.version").write_text(str(config.version))
            self.journal.append(
                schema.ack_for(config, self.config.device, self.now(), error, len(self.names))
            )

    def _applied_version(self) -> int:
        try:
            return int((self.config.data_dir / "config.version").read_text())
        except (FileNotFoundError, ValueError):
            return 0

    def _apply_gallery(self, config: schema.Config) -> str | None:
        if not config.gallery:
            return None
        if self.pipeline is None:
            return "this station identifies by finger only: face templates cannot be applied"
        try:
            changes = [
                GalleryChange(
                    op.op,
                    op.staff_id,
                    op.name,
                    tuple(np.frombuffer(t, dtype=np.float32) for t in op.face_templates),
                )
                for op in config.gallery
            ]
            self.gallery.apply_sync(changes)
        except (GalleryError, ValueError) as exc:
            return str(exc)
        self.names = self._load_names()
        log.info("gallery update version %d applied: %d staff", config.version, len(self.names))
        return None
