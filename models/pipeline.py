"""From one camera frame to "this is S017, score 0.81, live", or the reason it is not.

detect -> pick the subject -> refine it -> align -> quality gates -> embed -> 1:N search
-> liveness (for a face that could be accepted).

A best score at or above the accept threshold is accepted; from the lower threshold up
to it is the grey zone, where the station asks for a second factor; below it, not
recognised (`Zone`). A person with an undecided lookalike (`Gallery.needs_second_factor`)
is in the grey zone from the lower threshold up, however high the score.
The station calls `FacePipeline.analyse` once per frame and feeds the results to a
`Decider` (models/decision.py), which votes over several frames.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import cv2
import numpy as np

from base.config import ConfigError
from models.alignment import align_face
from models.detection import DetectedFace, detect_faces, make_detector, needs_refinement, refine
from models.gallery import Gallery, SearchResult
from models.images import to_bgr
from models.liveness import LivenessChecker
from models.manifest import PackManifest, check_grey_zone
from models.packs import verify_pack
from models.quality import QualityReport, assess
from models.reasons import Reason
from models.recognition import Embedder
from models.runtime import limit_opencv_threads
from models.settings import FaceConfig
from models.subject import pick_subject


class Zone(Enum):
    """Where a best score falls between the two thresholds."""

    ACCEPT = "accept"
    SECOND_FACTOR = "second factor"
    NOT_RECOGNISED = "not recognised"


@dataclass(frozen=True)
class Match:
    staff_id: str
    score: float
    margin: float  # over the runner-up person


@dataclass
class FrameResult:
    """Everything the pipeline learnt from one frame."""

    face_count: int
    subject: DetectedFace | None = None
    crowded: bool = False  # another face nearly as prominent: not accepted, but identified
    quality: QualityReport | None = None
    liveness: float | None = None  # P(real), None when not checked
    live: bool | None = None
    search: SearchResult | None = None  # the best candidates, even when rejected
    match: Match | None = None  # set only when above threshold with margin
    candidate: Match | None = None  # set only in the grey zone: ask for a second factor
    rejection: Reason | None = None
    embedding: np.ndarray | None = None
    aligned: np.ndarray | None = None  # the 112x112 crop, for enrolment only
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.rejection is None and self.match is not None

    @property
    def second_factor(self) -> bool:
        """In the grey zone and passing every other gate: a second factor can confirm it."""
        return self.rejection is None and self.candidate is not None

    @property
    def reason(self) -> str | None:
        """Why not, for the person at the camera."""
        return self.rejection.message if self.rejection else None

    @property
    def photo_reason(self) -> str | None:
        """Why not, for whoever gave this frame as a photo file."""
        return self.rejection.photo_message if self.rejection else None


class _Stopwatch:
    def __init__(self, timings: dict[str, float]) -> None:
        self._timings = timings

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self._timings[name] = self._timings.get(name, 0.0) + (time.perf_counter() - start) * 1e3


class FacePipeline:
    """The loaded models of one pack plus the gates and thresholds of a `FaceConfig`."""

    def __init__(self, pack_dir: Path, manifest: PackManifest, config: FaceConfig) -> None:
        self.manifest = manifest
        self.config = config
        recognizer = manifest.recognizer
        self.threshold = config.threshold if config.threshold is not None else recognizer.threshold
        # The pack's grey zone, never above an accept threshold the site lowered.
        pack_lower = min(recognizer.lower_threshold or self.threshold, self.threshold)
        self.lower_threshold = (
            config.lower_threshold if config.lower_threshold is not None else pack_lower
        )
        self.verify_threshold = (
            config.verify_threshold
            if config.verify_threshold is not None
            else recognizer.verify_threshold
        )
        try:
            check_grey_zone(self.threshold, self.lower_threshold, self.verify_threshold)
        except ValueError as exc:
            raise ConfigError(f"[face] thresholds with pack '{manifest.name}': {exc}") from None
        threads = config.threads
        limit_opencv_threads(threads)
        self.detector = make_detector(pack_dir / manifest.detector.file, manifest.detector, threads)
        self.embedder = Embedder(pack_dir / manifest.recognizer.file, manifest.recognizer, threads)
        spoof = manifest.anti_spoof
        self.liveness = (
            LivenessChecker(pack_dir / spoof.file, spoof, threads)
            if spoof and config.liveness
            else None
        )
        self.full_size = manifest.detector.input_size
        self.coarse_size = min(config.detect_size or self.full_size, self.full_size)
        self.duplicate_threshold = (
            config.duplicate_threshold if config.duplicate_threshold is not None else self.threshold
        )

    @classmethod
    def from_pack(cls, pack_dir: str | Path, config: FaceConfig | None = None) -> FacePipeline:
        """Verify the pack's files against their sha256, then load its models."""
        pack_dir = Path(pack_dir)
        return cls(pack_dir, verify_pack(pack_dir), config or FaceConfig())

    def open_gallery(self, path: str | Path, *, combine: bool | None = None) -> Gallery:
        """The gallery file, its templates combined per `[face] combine_templates` unless
        `combine` says otherwise (the evaluation compares both)."""
        if combine is None:
            combine = self.config.combine_templates
        return Gallery.for_recognizer(path, self.manifest.recognizer, combine=combine)

    def detect(self, frame: np.ndarray) -> list[DetectedFace]:
        """Every face in the frame, at the pack's full detection size (for counting)."""
        return detect_faces(self.detector, to_bgr(frame), self.full_size)

    def _find_faces(self, frame: np.ndarray) -> list[DetectedFace]:
        """The quick coarse pass; the full-size pass only when it finds nothing."""
        if self.coarse_size < self.full_size:
            faces = self.detector.detect(frame, self.coarse_size)
            if faces:
                return faces
        return detect_faces(self.detector, frame, self.full_size)

    def analyse(
        self, frame: np.ndarray, gallery: Gallery | None = None, *, check_liveness: bool = True
    ) -> FrameResult:
        """Run every stage on one BGR frame; stop at the first gate that fails.

        A subject that fails liveness, or stands in a crowd, is still embedded and
        searched, so a proxy-punch attempt is reported with whose face was presented;
        `rejection` then says why it is not accepted.
        """
        timings: dict[str, float] = {}
        clock = _Stopwatch(timings)
        frame = to_bgr(frame)
        with clock.stage("detect"):
            faces = self._find_faces(frame)
            subject = pick_subject(faces, frame.shape[1], frame.shape[0], self.config.crowd_ratio)
            face = subject.face if subject else None
            if face is not None and needs_refinement(face, frame, self.coarse_size):
                face = refine(self.detector, frame, face)
        result = FrameResult(face_count=len(faces), timings_ms=timings)
        if subject is None or face is None:
            result.rejection = Reason.NO_FACE
            return result
        result.subject = face
        result.crowded = subject.crowded
        with clock.stage("align"):
            aligned = align_face(frame, face.landmarks, self.manifest.recognizer.input_size)
            result.quality = assess(face, aligned, self.config.quality)
        result.aligned = aligned
        if not result.quality.ok:
            result.rejection = result.quality.problems[0]
            return result
        with clock.stage("embed"):
            result.embedding = self.embedder.embed(aligned)
        if gallery is not None:
            with clock.stage("search"):
                result.search = gallery.search(result.embedding)
            self.decide(result, gallery)
        # Liveness only matters for a face that could be accepted: a stranger is "not
        # recognised" either way, so the station saves the model run on such frames.
        could_match = result.search is None or result.search.score >= self.lower_threshold
        if check_liveness and could_match:
            self.check_live(frame, result)
        if result.crowded:
            result.rejection = Reason.CROWD
        return result

    def check_live(self, frame: np.ndarray, result: FrameResult) -> None:
        """Run liveness on the frame's subject (once): a presentation is rejected as a
        spoof, unless the frame is already rejected as a crowd.

        The station calls it after `analyse(..., check_liveness=False)` only for a frame
        that would decide the vote (`Decider.would_decide`).
        """
        if self.liveness is None or result.subject is None or result.liveness is not None:
            return
        with _Stopwatch(result.timings_ms).stage("liveness"):
            result.liveness = self.liveness.real_probability(to_bgr(frame), result.subject)
        result.live = result.liveness >= self.config.liveness_threshold
        if not result.live and not result.crowded:
            result.rejection = Reason.SPOOF

    def zone(self, score: float) -> Zone:
        if score >= self.threshold:
            return Zone.ACCEPT
        if score >= self.lower_threshold:
            return Zone.SECOND_FACTOR
        return Zone.NOT_RECOGNISED

    def verify(self, gallery: Gallery, staff_id: str, embedding: np.ndarray) -> float | None:
        """1:1 in the grey zone: the face's best score against `staff_id`'s own templates,
        if it reaches `verify_threshold`; None otherwise (or with no 1:1 check)."""
        score = gallery.score_for(staff_id, embedding)
        if score is None or self.verify_threshold is None or score < self.verify_threshold:
            return None
        return score

    def decide(self, result: FrameResult, gallery: Gallery) -> None:
        """Accept, ask for a second factor, or reject `result.search`'s best person."""
        found = result.search
        assert found is not None
        zone = self.zone(found.score) if found.staff_id is not None else Zone.NOT_RECOGNISED
        if zone is Zone.ACCEPT and gallery.needs_second_factor(found.staff_id or ""):
            zone = Zone.SECOND_FACTOR  # an undecided lookalike: the face alone never decides
        if zone is Zone.NOT_RECOGNISED:
            # A covered lower face is no stranger's: it says what to do, and raises no
            # unknown-face alert. A masked face that still scores high enough is accepted.
            masked = result.quality is not None and result.quality.masked
            result.rejection = Reason.MASKED if masked else Reason.UNKNOWN
        elif zone is Zone.SECOND_FACTOR:
            assert found.staff_id is not None
            result.candidate = Match(found.staff_id, found.score, found.margin)
        elif found.margin < self.config.margin:
            result.rejection = Reason.AMBIGUOUS
        else:
            result.match = Match(found.staff_id, found.score, found.margin)

    def encode_face(self, aligned: np.ndarray) -> bytes:
        """The aligned crop as PNG, for galleries configured to keep face images."""
        ok, data = cv2.imencode(".png", aligned)
        if not ok:
            raise ValueError("cannot encode the face crop")
        return data.tobytes()
