"""Face pipeline settings, validated from the `[face]` TOML table (every field optional)."""

from __future__ import annotations

from pathlib import Path

import pydantic

from base.config import Section, load_toml


class QualityConfig(Section):
    # Below ~20 px between the eyes MobileFaceNet's 112 px crop is mostly upsampled blur.
    min_eye_distance_px: float = pydantic.Field(20.0, ge=0)
    # Half the lowest value among the 105 real identity photos (82, an LFW image).
    min_sharpness: float = pydantic.Field(40.0, ge=0)
    max_yaw: float = pydantic.Field(0.45, gt=0)
    min_pitch: float = pydantic.Field(0.2, ge=0)
    max_pitch: float = pydantic.Field(0.85, gt=0)
    min_brightness: float = pydantic.Field(40.0, ge=0, le=255)
    max_brightness: float = pydantic.Field(225.0, ge=0, le=255)


class FaceConfig(Section):
    pack: str = "permissive"
    # Open-set cosine threshold; None uses the one measured for the pack's recogniser.
    threshold: float | None = pydantic.Field(None, gt=-1, lt=1)
    # The best person must beat the runner-up person by this much.
    margin: float = pydantic.Field(0.08, ge=0, lt=1)
    liveness_threshold: float = pydantic.Field(0.5, ge=0, le=1)
    liveness: bool = True
    # Another face at least this fraction of the subject's size means a crowd at the device.
    crowd_ratio: float = pydantic.Field(0.45, gt=0, le=1)
    # Enrolment refuses a face whose best match to another person reaches this cosine.
    duplicate_threshold: float | None = pydantic.Field(None, gt=-1, lt=1)
    # Keep the aligned 112x112 face crop with each template (off: templates only).
    keep_face_images: bool = False
    votes_needed: int = pydantic.Field(3, ge=1)
    vote_window: int = pydantic.Field(5, ge=1)
    # Longest side of the first, whole-frame detection pass; the chosen face is then
    # re-detected at full resolution. 0 uses the pack's detector size (slower).
    detect_size: int = pydantic.Field(320, ge=0)
    # ONNX Runtime threads per model (0: every core).
    threads: int = pydantic.Field(1, ge=0)
    quality: QualityConfig = QualityConfig()

    @pydantic.model_validator(mode="after")
    def _votes_fit_window(self) -> FaceConfig:
        if self.votes_needed > self.vote_window:
            raise ValueError("votes_needed cannot exceed vote_window")
        return self


class _FaceFile(Section):
    model_config = pydantic.ConfigDict(extra="ignore", frozen=True)

    face: FaceConfig = FaceConfig()


def load_face_config(path: str | Path | None) -> FaceConfig:
    """The `[face]` table of a TOML file (other tables belong to other components)."""
    if path is None:
        return FaceConfig()
    return load_toml(_FaceFile, path).face
