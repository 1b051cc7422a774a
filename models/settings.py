"""Face pipeline settings, validated from the `[face]` TOML table (every field optional)."""

from __future__ import annotations

from pathlib import Path

import pydantic

from base.config import Section, load_toml


class QualityConfig(Section):
    """Quality gates on the chosen face, before it is compared with anyone."""

    min_eye_distance_px: float = pydantic.Field(
        20.0,
        ge=0,
        description=(
            "Fewest pixels between the eyes. Below about 20 the recogniser's 112 px crop is "
            "mostly upsampled blur."
        ),
    )
    min_sharpness: float = pydantic.Field(
        40.0,
        ge=0,
        description=(
            "Lowest variance of the Laplacian of the aligned grey face: half the lowest value "
            "among the 105 real identity photos measured (82, an LFW image)."
        ),
    )
    max_yaw: float = pydantic.Field(
        0.45,
        gt=0,
        description=(
            "Largest sideways turn: the nose's offset from the eyes' midline, in inter-ocular "
            "distances."
        ),
    )
    min_pitch: float = pydantic.Field(
        0.2,
        ge=0,
        description=(
            "Lowest nose height between the eye line (0) and the mouth line (1): below it "
            "the head is tilted back."
        ),
    )
    max_pitch: float = pydantic.Field(
        0.85,
        gt=0,
        description="Highest nose height on the same scale: above it the head is bowed.",
    )
    min_brightness: float = pydantic.Field(
        40.0, ge=0, le=255, description="Darkest mean grey level of the face (0-255)."
    )
    max_brightness: float = pydantic.Field(
        225.0, ge=0, le=255, description="Brightest mean grey level of the face (0-255)."
    )
    mask_max_skin: float = pydantic.Field(
        0.02,
        ge=0,
        le=1,
        description=(
            "A face not recognised is taken as masked when at most this share of its mouth "
            "and chin is the colour of the skin between its eyes ... "
        ),
    )
    mask_min_uniform: float = pydantic.Field(
        0.6,
        ge=0,
        le=1,
        description=(
            "... and at least this share of it is one colour. Measured (docs/face.md): no "
            "bare face of 112 flagged, 333 of 336 synthetic masks found."
        ),
    )


class FaceConfig(Section):
    """Face identification (`[face]`): the model pack, its thresholds, the vote, the gates."""

    pack: str = pydantic.Field(
        "permissive",
        description=(
            "The installed model pack to use. The default pack's files may all be used "
            "commercially (docs/face.md lists the packs and their licences)."
        ),
    )
    threshold: float | None = pydantic.Field(
        None,
        ge=0.2,
        le=0.95,
        description=(
            "Cosine similarity a face must reach to be accepted as a staff member. Unset: "
            "the threshold measured for the pack's recogniser (its manifest). Bounded like "
            "a pack's: below 0.2 strangers match, above 0.95 no one does."
        ),
    )
    lower_threshold: float | None = pydantic.Field(
        None,
        ge=0.2,
        le=0.95,
        description=(
            "The bottom of the grey zone: a face scoring from here up to `threshold` is "
            "confirmed by a second factor (the person's finger, or their staff number typed "
            "on the keypad); below it, not recognised. Unset: the pack's (its manifest); "
            "equal to `threshold`: no grey zone."
        ),
    )
    verify_threshold: float | None = pydantic.Field(
        None,
        ge=0.2,
        le=0.95,
        description=(
            "In the grey zone, the cosine the face must reach against the own templates of "
            "the person whose staff number was typed (1:1). Stricter than `lower_threshold`: "
            "a staff number is easily known. Unset: the pack's."
        ),
    )
    margin: float = pydantic.Field(
        0.08,
        ge=0,
        lt=1,
        description=(
            "How much the best person must beat the runner-up person by; closer is "
            '"not recognised with certainty".'
        ),
    )
    liveness_threshold: float = pydantic.Field(
        0.5,
        ge=0,
        le=1,
        description="Lowest probability of a real face (not a photo or screen) to accept.",
    )
    liveness: bool = pydantic.Field(
        True,
        description="Run the liveness check, when the pack has an anti_spoof model.",
    )
    crowd_ratio: float = pydantic.Field(
        0.45,
        gt=0,
        le=1,
        description=(
            "Another face at least this fraction of the subject's size means a crowd at the "
            "device: the face is not accepted."
        ),
    )
    duplicate_threshold: float | None = pydantic.Field(
        None,
        gt=-1,
        lt=1,
        description=(
            "Enrolment refuses a face whose best match to another person reaches this "
            "cosine. Unset: `threshold`."
        ),
    )
    combine_templates: bool = pydantic.Field(
        True,
        description=(
            "Search each person's enrolment photos combined into one template (the mean, "
            "a photo far off the others left out) rather than their best single photo. "
            "Measured on the shared photos (docs/face.md): higher genuine scores, lower "
            "impostor ones."
        ),
    )
    keep_face_images: bool = pydantic.Field(
        False,
        description=(
            "Keep the aligned 112x112 face crop (PNG) with each enrolled template. Off: "
            "embeddings only, no images."
        ),
    )
    votes_needed: int = pydantic.Field(
        3, ge=1, description="Frames that must accept the same person to decide, of `vote_window`."
    )
    vote_window: int = pydantic.Field(
        5, ge=1, description="The last this many frames are counted in the vote."
    )
    detect_size: int = pydantic.Field(
        320,
        ge=0,
        description=(
            "Longest side, in pixels, of the first whole-frame detection pass; the chosen "
            "face is then re-detected at full resolution. 0: the pack's detector size (slower)."
        ),
    )
    threads: int = pydantic.Field(
        1,
        ge=0,
        description=(
            "ONNX Runtime threads per model, and OpenCV's threads in the station process. "
            "0: every core."
        ),
    )
    quality: QualityConfig = pydantic.Field(
        QualityConfig(), description="Quality gates on the chosen face."
    )

    @pydantic.model_validator(mode="after")
    def _votes_fit_window(self) -> FaceConfig:
        if self.votes_needed > self.vote_window:
            raise ValueError("votes_needed cannot exceed vote_window")
        return self


class _FaceFile(Section):
    """A config file of which only the `[face]` table is read here."""

    model_config = pydantic.ConfigDict(extra="ignore", frozen=True)

    face: FaceConfig = pydantic.Field(FaceConfig(), description="Face identification.")


def load_face_config(path: str | Path | None) -> FaceConfig:
    """The `[face]` table of a TOML file (other tables belong to other components)."""
    if path is None:
        return FaceConfig()
    return load_toml(_FaceFile, path).face
