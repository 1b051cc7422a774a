"""Model pack manifests: what each file is, how to feed it, and under which licence.

A pack is a directory holding `manifest.toml` and the model files it names. The manifest
is the only source of truth for input conventions: the pipeline never guesses from file
names.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import pydantic

from base.config import Section, load_toml

MANIFEST_NAME = "manifest.toml"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ModelFile(Section):
    """One ONNX file of a pack, pinned by its sha256."""

    file: str = pydantic.Field(
        description="The ONNX file's path inside the pack directory (relative, no ..)."
    )
    sha256: str = pydantic.Field(
        description="The file's SHA-256 (64 lower-case hex digits): a different file is refused."
    )
    licence: str = pydantic.Field(description="The licence the file is used under.")
    source: str = pydantic.Field(description="Where the file comes from, to obtain it again.")

    @pydantic.field_validator("file")
    @classmethod
    def _relative_inside_pack(cls, value: str) -> str:
        parts = Path(value).parts
        if not parts or Path(value).is_absolute() or ".." in parts:
            raise ValueError("must be a relative path inside the pack")
        return value

    @pydantic.field_validator("sha256")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        if not _SHA256.match(value):
            raise ValueError("must be 64 lower-case hex digits")
        return value


class DetectorSpec(ModelFile):
    """A face detector that returns boxes and the 5 ArcFace-order landmarks."""

    kind: Literal["yunet", "scrfd"] = pydantic.Field(
        description="The detector family: yunet (OpenCV's) or scrfd (InsightFace's)."
    )
    input_size: int = pydantic.Field(
        640,
        ge=64,
        le=2048,
        description="Longest side, in pixels, the frame is scaled down to before detection.",
    )
    score_threshold: float = pydantic.Field(
        0.6,
        ge=0.3,
        lt=1,
        description=(
            "Lowest detection score kept as a face; bounded, so a pack cannot make "
            "detection a formality."
        ),
    )
    nms_threshold: float = pydantic.Field(
        0.3,
        gt=0,
        lt=1,
        description="Overlap (IoU) above which two boxes are one face (non-maximum suppression).",
    )


class RecognizerSpec(ModelFile):
    """An ArcFace-style recogniser: 5-point aligned crop in, one embedding out."""

    kind: Literal["arcface"] = pydantic.Field(
        "arcface", description="The recogniser family (ArcFace-style embeddings)."
    )
    input_size: int = pydantic.Field(
        112, ge=32, description="Side, in pixels, of the square aligned face crop it takes."
    )
    color: Literal["RGB", "BGR"] = pydantic.Field(description="The channel order it expects.")
    mean: float = pydantic.Field(
        description="Subtracted from each pixel value (0-255) before the model."
    )
    std: float = pydantic.Field(
        gt=0, description="Each pixel value is divided by this after the mean is subtracted."
    )
    embedding_size: int = pydantic.Field(
        gt=0, description="Length of the embedding it returns; another length is refused."
    )
    threshold: float = pydantic.Field(
        ge=0.2,
        le=0.95,
        description=(
            "The open-set cosine threshold measured for this recogniser (docs/face.md), used "
            "unless `[face] threshold` is set. Bounded: below 0.2 strangers match (a pack "
            "with -0.99 accepted anyone), above 0.95 no one does."
        ),
    )
    lower_threshold: float | None = pydantic.Field(
        None,
        ge=0.2,
        le=0.95,
        description=(
            "The bottom of the grey zone: a best score from here up to `threshold` is not "
            "accepted on the face alone; the station asks for a second factor (the person's "
            "finger, or their staff number for a 1:1 check). Below it: not recognised. "
            "Unset: no grey zone."
        ),
    )
    verify_threshold: float | None = pydantic.Field(
        None,
        ge=0.2,
        le=0.95,
        description=(
            "The cosine a face must reach against the templates of the person whose staff "
            "number was typed (a 1:1 check in the grey zone); at least `lower_threshold`, "
            "since a staff number is easily known. Unset: no staff-number check."
        ),
    )

    @pydantic.model_validator(mode="after")
    def _grey_zone_in_order(self) -> RecognizerSpec:
        check_grey_zone(self.threshold, self.lower_threshold, self.verify_threshold)
        return self


def check_grey_zone(accept: float, lower: float | None, verify: float | None) -> None:
    """The grey zone's thresholds in order: lower <= accept, lower <= verify; a 1:1
    check needs a grey zone to happen in."""
    if lower is not None and lower > accept:
        raise ValueError(f"lower_threshold {lower} is above the accept threshold {accept}")
    if verify is not None and lower is None:
        raise ValueError("verify_threshold needs a lower_threshold (a grey zone)")
    if verify is not None and lower is not None and verify < lower:
        raise ValueError(f"verify_threshold {verify} is below lower_threshold {lower}")


class AntiSpoofSpec(ModelFile):
    """A Silent-Face style passive liveness classifier."""

    kind: Literal["minifasnet"] = pydantic.Field(
        "minifasnet", description="The classifier family (Silent-Face MiniFASNet)."
    )
    input_size: int = pydantic.Field(
        80, ge=16, description="Side, in pixels, of the square crop it takes."
    )
    crop_scale: float = pydantic.Field(
        2.7,
        gt=0,
        description=(
            "The detector's box is scaled by this factor around its centre before the crop, "
            "so the model sees the face's surroundings (a phone's edge, a photo's border)."
        ),
    )
    real_index: int = pydantic.Field(1, ge=0, description='Which output class means "a real face".')


class PackManifest(Section):
    """A model pack's manifest.toml: its files, how to feed them, and under which licence."""

    name: str = pydantic.Field(
        pattern=r"^[a-z0-9][a-z0-9_.-]*$",
        description="The pack's name, as `[face] pack` and `hallwatch models` name it.",
    )
    description: str = pydantic.Field(description="What the pack holds, in one line.")
    licence: str = pydantic.Field(description="The licences of the pack's files, together.")
    commercial_use: bool = pydantic.Field(
        description="Whether every file of the pack may be used commercially."
    )
    detector: DetectorSpec = pydantic.Field(description="The face detector.")
    recognizer: RecognizerSpec = pydantic.Field(description="The face recogniser.")
    anti_spoof: AntiSpoofSpec | None = pydantic.Field(
        None, description="The liveness classifier. No table: no liveness check with this pack."
    )

    def files(self) -> list[ModelFile]:
        """Every model file the pack needs, detector first."""
        found: list[ModelFile] = [self.detector, self.recognizer]
        if self.anti_spoof is not None:
            found.append(self.anti_spoof)
        return found


def load_manifest(pack_dir: str | Path) -> PackManifest:
    """Read and validate `<pack_dir>/manifest.toml`."""
    return load_toml(PackManifest, Path(pack_dir) / MANIFEST_NAME)
