"""The clock-in station: camera, fingerprint sensor, keys and feedback around one loop.

A person walks up and is identified by face and/or finger (per site policy); the punch is
journaled (edge/journal.py) before anything else, confirmed on screen, and published by
the journal's publisher whenever the broker can be reached.
"""

from __future__ import annotations

import logging
import queue
import shutil
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from base.config import ConfigError
from base.control_socket import ControlServer, control_socket
from base.private_files import write_private
from base.schedule import Timetable
from base.supervise import Restarts, Supervisor, Worker
from base.times import time_of_day
from drivers.camera import Camera, CameraStatus, FrameSource, source_for
from drivers.feedback import (
    ConsoleFeedback,
    DisplayFeedback,
    Feedback,
    MultiFeedback,
    Notice,
    ToneSound,
)
from drivers.fingerprint.registry import FingerRegistry
from edge.journal import Journal, JournalError
from edge.publisher import JournalPublisher
from edge.resend import resend_handler
from edge.station.config import StationConfig
from edge.station.control import StationControl
from edge.station.finger_worker import FingerReading, FingerWorker
from edge.station.gallery_sync import StationGallery, UpdateRefused, open_station_gallery
from edge.station.grey_zone import Confirming
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
from edge.station.keypad import (
    ActionRequest,
    InputError,
    KeyPress,
    KeyReader,
    parse,
    reason_list,
    staff_number,
)
from edge.station.messages import say
from edge.station.punches import Refusal, plan_punch
from edge.station.timesync import ClockWatch, TimeSync, time_sync
from edge.station.timetable_file import TimetableFile
from edge.station.turn import RefusedKey, Turn
from models.decision import Decider, FaceOutcome, Verdict
from models.gallery import GalleryError
from models.packs import PackError, PackStore
from models.pipeline import FacePipeline
from models.reasons import Reason
from mqtt import schema
from mqtt.client import MqttClient, twin_message
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
        sync_probe: Callable[[], TimeSync | None] = time_sync,
        restarts: Restarts | None = None,
    ) -> None:
        self.config = config
        # Every thread of the station, and its camera, come back after a failure.
        self.supervisor = Supervisor(self._worker_failed, restarts)
        self.now = now  # event times; the demo runs a day on an accelerated clock
        self.sync_probe = sync_probe  # the kernel's view of this clock (a platform probe)
        self.clock_watch = ClockWatch(config.clock_max_offset_s, config.clock_grace_s)
        self.started = time.monotonic()
        # The journal comes first: opening it creates the data folder (or says why not).
        self.journal = Journal(
            config.data_dir / "journal.db",
            config.site,
            config.device,
            max_bytes=config.journal.max_mb * 1024 * 1024,
            retention=timedelta(days=config.journal.retention_days),
        )
        # Office hours: the centre's last push, else the configuration file's sessions.
        self.timetable_file = TimetableFile(config.data_dir / "timetable.json")
        self.timetable = self.timetable_file.load() or config.local_timetable
        self.client = MqttClient(
            config.broker,
            f"hallwatch-{config.site}-{config.device}",
            will=self._status("offline"),
            on_message=self._on_message,
            on_connection=self._on_connection,
            on_twin=self._on_twin,
        )
        self.client.subscribe(device_topic(config.site, config.device, Kind.CONFIG))
        self.client.subscribe(device_topic(config.site, config.device, Kind.COMMAND))
        self._resend = resend_handler(self.journal, config.site, config.device, self.now)
        self.publisher = JournalPublisher(self.journal, self.client, supervisor=self.supervisor)
        self.feedback = feedback or self._default_feedback()
        self.keys = keys
        self.combiner = Combiner(config.identify, config.second_factor_s)
        self.last_punch: dict[str, LastPunch] = self._punches_from_journal()
        self.pending_request: ActionRequest | RefusedKey | None = None
        self.confirming: Confirming | None = None  # a grey-zone face awaiting its second factor
        self.turn = Turn(config.key_timeout_s, HINT_EVERY_S)
        self.camera_status = "off"
        self.pipeline: FacePipeline | None = None
        self.camera: Camera | None = None
        self.camera_turn = self.supervisor.turn("camera")  # reading and judging a frame
        self.face_unavailable: str | None = None  # why a face_or_finger station runs on fingers
        self.decider = Decider(config.face.votes_needed, config.face.vote_window)
        if config.uses_face:
            try:
                self._open_face(camera)
            except (PackError, GalleryError) as exc:
                if config.identify != "face_or_finger":
                    raise
                # Fingers still identify everyone: run on them rather than not at all.
                self.face_unavailable = str(exc)
                self.camera_status = f"off: {exc}"[:200]
                log.error("face recognition unavailable, identifying by finger only: %s", exc)
        self.fingers = (
            FingerWorker(config.fingerprint.open_sensor, self.supervisor)
            if config.fingerprint
            else None
        )
        self.staff: StationGallery = open_station_gallery(
            config.data_dir, self.gallery if self.pipeline is not None else None, self.fingers
        )
        self.names = self.staff.names()
        # Config messages are applied in their own thread: installing fingers takes time
        # the network thread must not spend.
        self._configs: queue.Queue[tuple[str, bytes] | None] = queue.Queue()
        self._config_thread = self.supervisor.thread(
            "station-config", lambda _stop: self._take_configs()
        )
        # Who has a finger here: face_and_finger tells a person without one at once, and a
        # face in the grey zone is offered the finger only if its candidate has one.
        self.finger_registry = (
            FingerRegistry(config.fingerprint.database)
            if config.fingerprint is not None and config.uses_face
            else None
        )
        self.config_lock = threading.Lock()  # one gallery change at a time
        self.control: ControlServer | None = None  # the local control socket, once started
        self._empty_frames = 0
        self._last_hint = 0.0
        self._last_unknown_alert = float("-inf")
        self._last_heartbeat = float("-inf")

    # -- lifecycle -------------------------------------------------------------------
    def _open_face(self, camera: FrameSource | None) -> None:
        config = self.config
        pack_dir, _ = PackStore(config.packs_dir).open(config.face.pack)
        self.pipeline = FacePipeline.from_pack(pack_dir, config.face)
        self.gallery = self.pipeline.open_gallery(config.data_dir / "gallery.db")
        source = camera or source_for(config.camera.source, config.camera.fps)
        self.camera = Camera(source, on_status=self._on_camera)

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
        self._config_thread.start()
        self.control = ControlServer(
            control_socket(self.config.data_dir), StationControl(self), self.supervisor
        ).start()
        if self.keys is not None:
            self.supervisor.thread("keys", self.keys.run).start()
        self._evidence_dir.mkdir(mode=0o700, exist_ok=True)
        self._prune_evidence()
        if self.face_unavailable is not None:
            self._alert(
                schema.AlertKind.CAMERA_FAULT,
                schema.Severity.MINOR,
                f"no face recognition, identifying by finger only: {self.face_unavailable}"[:200],
            )
        self._warn_missing_second_factor()
        self.feedback.show(Notice("info", self._prompt()))
        return self

    def _prompt(self) -> str:
        """What to do, for this station's way of identifying."""
        key = {
            "face": "ready_face",
            "finger": "ready_finger",
            "face_or_finger": "ready" if self.pipeline is not None else "ready_no_face",
            "face_and_finger": "ready_both",
        }[self.config.identify]
        return say(self.config.language, key)

    def _warn_missing_second_factor(self) -> None:
        """face_and_finger: staff enrolled with one factor only cannot punch here."""
        if self.finger_registry is None or self.config.identify != "face_and_finger":
            return
        fingered = {record.staff_id for record in self.finger_registry.all()}
        for staff_ids, factor, command in (
            (sorted(self._faces() - fingered), "finger", "hallwatch finger enrol"),
            (sorted(fingered - self._faces()), "face", "hallwatch enrol"),
        ):
            if staff_ids:
                log.warning(
                    "identify = face_and_finger, but these staff have no %s enrolled on this "
                    "station and cannot punch until one is (%s): %s",
                    factor,
                    command,
                    ", ".join(staff_ids),
                )

    def run(self, stop: threading.Event) -> None:
        """Turn the loop until `stop` is set, in a thread (the demo, the tests).

        `hallwatch station` turns `step` itself, under `base.service_loop`.
        """
        while not stop.is_set():
            self.step()

    def stop(self, drain_s: float = 3.0) -> None:
        if self.control is not None:
            self.control.stop()
        if not self.client.taken_over.is_set():  # else the twin's online status stays
            self.journal.append(self._status("offline"))
        self.publisher.stop(drain_s=drain_s)
        self.client.stop()
        self._configs.put(None)
        self._config_thread.stop(10)
        if self.fingers is not None:
            self.fingers.stop()
        if self.camera is not None:
            self.camera.close()
        if self.finger_registry is not None:
            self.finger_registry.close()
        self.staff.close()
        self.journal.close()

    # -- the loop --------------------------------------------------------------------
    def step(self) -> None:
        """One turn: keys, the sensor, one camera frame, the heartbeat."""
        now = time.monotonic()
        if self.keys is not None:
            self._take_key(self.keys.poll(), now)
        if self.confirming is not None and now > self.confirming.until:
            self._second_factor_failed(
                "confirm_timeout", seconds=f"{self.config.second_factor_s:g}"
            )
        if self.fingers is not None:
            while (reading := self.fingers.poll()) is not None:
                self._take_finger(reading, now)
        if self.camera is None or not self.camera_turn.call(lambda: self._look(now)):
            time.sleep(0.05)
        if now - self._last_heartbeat >= self.config.heartbeat_s:
            self._last_heartbeat = now
            self.journal.append(self._status("online", self._health()))
            self._prune_evidence()

    def alive(self) -> bool:
        """Every worker runs or is coming back (the systemd watchdog is fed only then)."""
        return self.supervisor.alive()

    def _look(self, now: float) -> bool:
        """Read one camera frame and take it; whether there was one."""
        assert self.camera is not None
        frame = self.camera.read()
        if frame is None:
            return False
        self._take_frame(frame, now)
        return True

    def _take_key(self, press: KeyPress | None, now: float) -> None:
        """Show what the key chose (nobody is identified yet), or what is wrong with it."""
        if press is None:
            return
        confirming = self.confirming
        number = staff_number(press)
        if confirming is not None and confirming.by_number and number is not None:
            self._confirm_by_number(confirming, number, now)
            return
        lang, reasons = self.config.language, self.config.leave.reasons
        try:
            request = parse(press, reasons)
        except InputError as exc:
            notice = Notice("fail", say(lang, exc.message_key, **exc.values), self._prompt())
            self.pending_request = RefusedKey(notice, press.at)
            self.feedback.show(notice)
            return
        self.pending_request = request
        if request.action is schema.Action.LEAVE_OUT:
            title = say(
                lang,
                "chosen_leave",
                kind=say(lang, f"kind_{request.leave_kind.value}"),
                reason=reasons[request.reason_index],
            )
            detail = say(lang, "reasons", reasons=reason_list(reasons)) + "  " + self._prompt()
        else:
            title = say(lang, "chosen", choice=say(lang, f"choice_{request.action.value}"))
            detail = self._prompt()
        self.feedback.show(Notice("info", title, detail))

    def _take_finger(self, reading: FingerReading, now: float) -> None:
        lang = self.config.language
        confirming = self.confirming
        if confirming is not None and confirming.by_finger and reading.kind in ("match", "unknown"):
            self._confirm_by_finger(confirming, reading, now)
            return
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
                self._last_heartbeat = float("-inf")  # the centre hears of it at once
            case "online":
                self._last_heartbeat = float("-inf")  # and that it is back: the alert closes

    def _take_frame(self, frame: np.ndarray, now: float) -> None:
        assert self.pipeline is not None
        result = self.pipeline.analyse(frame, self.gallery, check_liveness=False)
        if result.face_count == 0:
            self._empty_frames += 1
            if self._empty_frames == EMPTY_FRAMES_RESET:
                self.decider.reset()
                self.turn.face_gone()
            return
        self._empty_frames = 0
        if self.decider.would_decide(result):
            self.pipeline.check_live(frame, result)
        verdict = self.decider.add(result)
        if verdict.outcome is FaceOutcome.IDENTIFIED:
            assert verdict.staff_id is not None and verdict.score is not None
            self._end_confirming()  # the face alone decided
            self._resolve(
                self.combiner.face(FaceId(verdict.staff_id, verdict.score, result.liveness), now),
                now,
            )
        elif verdict.outcome is FaceOutcome.SECOND_FACTOR:
            self._ask_second_factor(verdict, result.liveness, frame, now)
        elif verdict.outcome is FaceOutcome.REJECTED:
            self._face_rejected(verdict, frame, now)
        elif verdict.reason is not None and now - self._last_hint >= HINT_EVERY_S:
            self._last_hint = now
            self.feedback.show(Notice("info", self._face_words(verdict.reason)))

    def _face_words(self, reason: Reason) -> str:
        """What to do about a face not (yet) accepted; a mask offers the finger only
        where there is a sensor."""
        key = reason.code
        if reason is Reason.MASKED and self.fingers is None:
            key = "masked_no_finger"
        return say(self.config.language, key)

    def _face_rejected(self, verdict: Verdict, frame: np.ndarray, now: float) -> None:
        assert verdict.reason is not None
        self.feedback.show(Notice("fail", self._face_words(verdict.reason)))
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

    # -- the grey zone: a second factor confirms the face ------------------------------
    def _ask_second_factor(
        self, verdict: Verdict, liveness: float | None, frame: np.ndarray, now: float
    ) -> None:
        assert verdict.staff_id is not None and verdict.score is not None
        if self.confirming is not None and self.confirming.staff_id == verdict.staff_id:
            return  # already asked; the deadline stands
        self._end_confirming()  # someone else now: their own factors, their own deadline
        assert self.pipeline is not None
        by_finger = (
            self.fingers is not None
            and self.finger_registry is not None
            and bool(self.finger_registry.slots_of(verdict.staff_id))
        )
        by_number = (
            self.keys is not None
            and self.pipeline.verify_threshold is not None
            and self.config.identify != "face_and_finger"  # the policy wants the finger
        )
        if not (by_finger or by_number):  # nothing can confirm it here
            self._face_rejected(Verdict(FaceOutcome.REJECTED, reason=Reason.UNKNOWN), frame, now)
            return
        self.confirming = Confirming(
            verdict.staff_id,
            verdict.score,
            liveness,
            verdict.embedding,
            now + self.config.second_factor_s,
            by_finger,
            by_number,
        )
        if by_finger and self.fingers is not None:
            self.fingers.expect(verdict.staff_id)
        lang = self.config.language
        seconds = f"{self.config.second_factor_s:g}"
        self.feedback.show(
            Notice(
                "info",
                say(lang, self.confirming.prompt_key),
                say(lang, "confirm_within", seconds=seconds),
            )
        )

    def _confirm_by_finger(
        self, confirming: Confirming, reading: FingerReading, now: float
    ) -> None:
        if reading.kind != "match" or reading.staff_id != confirming.staff_id:
            self._second_factor_failed("confirm_finger_wrong")
            return
        self._end_confirming()
        confirmed = Identified(
            confirming.staff_id,
            schema.Method.FACE_FINGER,
            confirming.score,
            reading.score,
            confirming.liveness,
            schema.SecondFactor.FINGER,
        )
        self._punch(confirmed, now)

    def _confirm_by_number(self, confirming: Confirming, number: str, now: float) -> None:
        """The typed staff number's own templates against the grey-zone face, 1:1."""
        assert self.pipeline is not None
        embedding = confirming.embedding
        if embedding is None or self.gallery.score_for(number, embedding) is None:
            self._second_factor_failed("confirm_number_unknown", number=number)
            return
        score = self.pipeline.verify(self.gallery, number, embedding)
        if score is None:
            self._second_factor_failed("confirm_number_wrong", number=number)
            return
        self._end_confirming()
        confirmed = Identified(
            number,
            schema.Method.FACE,
            score,
            liveness=confirming.liveness,
            second_factor=schema.SecondFactor.STAFF_NUMBER,
        )
        self._punch(confirmed, now)

    def _second_factor_failed(self, message_key: str, **values: str) -> None:
        """Nothing is recorded; the screen says why."""
        self._end_confirming()
        self.feedback.show(Notice("fail", say(self.config.language, message_key, **values)))

    def _end_confirming(self) -> None:
        if self.confirming is not None and self.confirming.by_finger and self.fingers is not None:
            self.fingers.expect(None)
        self.confirming = None

    def _resolve(self, outcome: Identification, now: float) -> None:
        lang = self.config.language
        match outcome:
            case Identified():
                self._punch(outcome, now)
            case NeedSecond(staff_id=staff_id, factor=factor):
                name = self.names.get(staff_id, staff_id)
                new_choice = isinstance(self.pending_request, ActionRequest)
                if self.turn.holds(staff_id, now) and not new_choice:
                    self._show_refusal_again(now)
                elif not self._has_enrolled(staff_id, factor):
                    # Told at once, not asked for a finger (or face) that can never match.
                    notice = Notice("fail", say(lang, f"no_{factor}_enrolled", name=name))
                    self.feedback.show(notice)
                    self.turn.hold(staff_id, notice, now, by_face=factor == "finger")
                else:
                    key = "finger_for" if factor == "finger" else "face_for"
                    self.feedback.show(Notice("info", say(lang, key, name=name)))
            case Mismatch(face_staff_id=face_id, finger_staff_id=finger_id):
                self.feedback.show(Notice("fail", say(lang, "mismatch")))
                # One alert for each person concerned: the finger's owner and the person
                # whose face was presented (the centre judges each of them).
                for staff_id in (finger_id, face_id):
                    self._alert(
                        schema.AlertKind.PROXY_PUNCH,
                        schema.Severity.SERIOUS,
                        f"face of {face_id} presented with the finger of {finger_id}",
                        staff_id=staff_id,
                    )

    def _has_enrolled(self, staff_id: str, factor: str) -> bool:
        if factor == "face":
            return staff_id in self._faces()
        return self.finger_registry is None or bool(self.finger_registry.slots_of(staff_id))

    def _faces(self) -> set[str]:
        """Who has a face enrolled here (`names` also holds finger-only staff)."""
        if self.pipeline is None:
            return set()
        return {person.staff_id for person in self.gallery.people()}

    def _show_refusal_again(self, now: float) -> None:
        notice = self.turn.repeat(now)
        if notice is not None:
            self.feedback.show(notice)

    # -- punching --------------------------------------------------------------------
    def _punch(self, who: Identified, now: float) -> None:
        request = self.pending_request
        if request is not None and now - request.at > self.config.key_timeout_s:
            request = None
        self.pending_request = None
        held = self.turn.holds(who.staff_id, now)
        by_face = who.method is not schema.Method.FINGER
        lang, name = self.config.language, self.names.get(who.staff_id, who.staff_id)
        if isinstance(request, RefusedKey):
            self.feedback.show(request.notice)
            self.turn.hold(who.staff_id, request.notice, now, by_face=by_face)
            return
        if request is None and held:
            self._show_refusal_again(now)  # nothing is inferred for a refused person
            return
        ts = self.now()
        timetable = self.timetable  # one timetable for the whole punch, even if one arrives
        local = ts.astimezone(timetable.zone)
        sessions = timetable.sessions(local.date())
        plan = plan_punch(self.config, sessions, self.last_punch.get(who.staff_id), request, local)
        if isinstance(plan, Refusal):
            self._refuse(plan, who.staff_id, name, now, by_face=by_face)
            return
        self.turn.end()
        event = schema.new_event(
            schema.Punch,
            self.config.site,
            self.config.device,
            ts,
            staff_id=who.staff_id,
            action=plan.action,
            method=who.method,
            score=round(who.score, 4),
            finger_score=who.finger_score,
            liveness=None if who.liveness is None else round(who.liveness, 4),
            inferred=plan.inferred,
            leave=plan.leave,
            second_factor=who.second_factor,
        )
        try:
            self.journal.append(event)
        except JournalError as exc:
            log.error("punch of %s not recorded: %s", who.staff_id, exc)
            self.feedback.show(Notice("fail", "NOT RECORDED", str(exc)[:80]))
            return
        self.last_punch[who.staff_id] = LastPunch(plan.action, local)
        detail = f"{name}  {time_of_day(local)}"
        if plan.leave is not None:
            detail += "  " + say(
                lang, "back_by", time=time_of_day(plan.leave.expected_return, timetable.zone)
            )
        if plan.inferred:
            detail += "  " + say(lang, "inferred")
        if who.second_factor is not None:
            confirmed_by = (
                "by_finger" if who.second_factor is schema.SecondFactor.FINGER else "by_number"
            )
            detail += "  " + say(lang, confirmed_by)
        self.feedback.show(Notice("ok", say(lang, plan.action.value), detail))

    def _refuse(
        self, plan: Refusal, staff_id: str, name: str, now: float, *, by_face: bool
    ) -> None:
        lang = self.config.language
        why = say(lang, plan.message_key, time=plan.time)
        if plan.hint_key is None:
            self.feedback.show(Notice("info", why, name))
            return
        notice = Notice("fail", why, f"{name}  {say(lang, plan.hint_key)}")
        self.feedback.show(notice)
        self.turn.hold(staff_id, notice, now, by_face=by_face)

    def _punches_from_journal(self) -> dict[str, LastPunch]:
        last: dict[str, LastPunch] = {}
        for event in self.journal.events():
            if isinstance(event, schema.Punch):
                last[event.staff_id] = LastPunch(
                    event.action, event.ts.astimezone(self.timetable.zone)
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
        event = schema.new_event(
            schema.Alert,
            self.config.site,
            self.config.device,
            self.now(),
            event_id=event_id,
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

    def _worker_failed(self, worker: Worker, error: Exception) -> None:
        """A worker failed (it is being restarted): the sensor's or the camera's is a fault
        of that part, and the next status says so; the others' a fault of the program."""
        kind = {
            "fingerprint": schema.AlertKind.SENSOR_FAULT,
            "camera": schema.AlertKind.CAMERA_FAULT,
        }.get(worker.name, schema.AlertKind.SOFTWARE_FAULT)
        self._alert(
            kind, schema.Severity.MINOR, f"{worker.name} failed, restarting: {worker.down}"[:200]
        )
        self._last_heartbeat = float("-inf")

    def _on_camera(self, status: CameraStatus) -> None:
        self.camera_status = "ok" if status.online else f"offline: {status.detail}"[:200]
        if not status.online:
            self._alert(schema.AlertKind.CAMERA_FAULT, schema.Severity.MINOR, status.detail[:200])

    def _on_connection(self, connected: bool) -> None:
        """(Re)connected: the broker may have published our will meanwhile (a broker that
        restarts publishes everyone's), so the loop's next turn reports health at once."""
        if connected:
            self._last_heartbeat = float("-inf")

    def _on_twin(self, boot: str | None) -> None:
        self._alert(
            schema.AlertKind.DUPLICATE_DEVICE,
            schema.Severity.SERIOUS,
            twin_message(self.config.site, self.config.device, boot)[:200],
        )

    def _status(self, state: str, health: schema.Health | None = None) -> schema.Status:
        c = self.config
        return schema.status_for(c.site, c.device, "station", state, self.now(), health)

    def _health(self) -> schema.Health:
        disk = shutil.disk_usage(self.config.data_dir)
        sync = self.sync_probe()
        uptime_s = time.monotonic() - self.started
        if (fault := self.clock_watch.news(sync, uptime_s)) is not None:
            self._alert(schema.AlertKind.CLOCK_FAULT, schema.Severity.MINOR, fault)
        camera = self.camera_status
        if self.camera_turn.down is not None:
            camera = f"fault: reading the camera failed ({self.camera_turn.down})"
        return schema.Health(
            camera=camera[:200] if self.config.uses_face else None,
            sensor=self.fingers.status[:200] if self.fingers is not None else None,
            model_pack=self.config.face.pack if self.pipeline is not None else None,
            gallery_size=len(self.names),
            backlog=self.journal.backlog(),
            disk_free_mb=disk.free // (1024 * 1024),
            clock_synced=sync.synchronised if sync else None,
            clock_offset_s=round(sync.offset_s, 6) if sync and sync.synchronised else None,
            uptime_s=round(uptime_s, 1),
        )

    # -- central updates: gallery and timetable --------------------------------------
    def _on_message(self, topic: str, payload: bytes) -> None:
        if topic.endswith(f"/{Kind.COMMAND}"):
            self._resend(topic, payload)
        elif payload:  # an empty one clears the retained message: nothing to apply
            self._configs.put((topic, payload))

    def _take_configs(self) -> None:
        while (message := self._configs.get()) is not None:
            try:
                self._apply_config(*message)
            except Exception:  # the next message must still be taken
                log.exception("config message not applied")

    def _apply_config(self, topic: str, payload: bytes) -> None:
        """A (retained) config message: apply all of it or none of it, then ack."""
        try:
            config = schema.decode_as(schema.Config, payload, topic)
        except schema.PayloadError as exc:
            log.error("config on %s refused: %s", topic, exc.reason)
            self._ack(None, f"config refused: {exc.reason}")
            return
        with self.config_lock:
            if config.version <= self._applied_version():
                return  # the retained copy of an update already applied
            timetable, error = self._check_timetable(config)
            if error is None:
                error = self._apply_gallery(config)
            if error is None and timetable is not None:
                error = self._keep_timetable(timetable)
            if error is None:
                (self.config.data_dir / "config.version").write_text(str(config.version))
            self._ack(config, error)

    def _ack(self, config: schema.Config | None, error: str | None) -> None:
        self.journal.append(
            schema.ack_for(
                config,
                self.config.device,
                self.now(),
                error,
                len(self.names),
                self.staff.version,
                site=self.config.site,
            )
        )

    def _check_timetable(self, config: schema.Config) -> tuple[Timetable | None, str | None]:
        """The pushed timetable, or the reason it is refused (before anything is applied)."""
        if config.timetable is None:
            return None, None
        try:
            return schema.timetable_of(config.timetable), None
        except ConfigError as exc:
            return None, " ".join(str(exc).split())

    def _keep_timetable(self, timetable: Timetable) -> str | None:
        """Use `timetable` from now on, and after a restart; or the reason it cannot be kept."""
        try:
            self.timetable_file.save(timetable)
        except OSError as exc:
            return f"cannot keep the timetable: {exc}"
        self.timetable = timetable
        log.info("timetable applied (%s)", timetable.timezone)
        return None

    def _applied_version(self) -> int:
        try:
            return int((self.config.data_dir / "config.version").read_text())
        except (FileNotFoundError, ValueError):
            return 0

    def _apply_gallery(self, config: schema.Config) -> str | None:
        try:
            applied = self.staff.apply(config)
        except UpdateRefused as exc:
            return str(exc)
        if applied is not None:
            self.names = self.staff.names()
            log.info("gallery version %d applied: %d staff", applied.version, len(self.names))
        return None
