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

    file: str
    sha256: str
    licence: str
    source: str

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

    kind: Literal["yunet", "scrfd"]
    # Longest side the frame is scaled down to before detection.
    input_size: int = pydantic.Field(640, ge=64, le=2048)
    # Bounded: a pack must not turn detection (or recognition, below) into a formality.
    score_threshold: float = pydantic.Field(0.6, ge=0.3, lt=1)
    nms_threshold: float = pydantic.Field(0.3, gt=0, lt=1)


class RecognizerSpec(ModelFile):
    """An ArcFace-style recogniser: 5-point aligned crop in, one embedding out."""

    kind: Literal["arcface"] = "arcface"
    input_size: int = pydantic.Field(112, ge=32)
    color: Literal["RGB", "BGR"]
    mean: float
    std: float = pydantic.Field(gt=0)
    embedding_size: int = pydantic.Field(gt=0)
    # Open-set cosine threshold measured for this recogniser (see docs/face.md); below 0.2
    # strangers match (a pack with -0.99 accepted anyone), above 0.95 no one does.
    threshold: float = pydantic.Field(ge=0.2, le=0.95)


class AntiSpoofSpec(ModelFile):
    """A Silent-Face style passive liveness classifier."""

    kind: Literal["minifasnet"] = "minifasnet"
    input_size: int = pydantic.Field(80, ge=16)
    # The detector box is scaled by this factor around its centre before the crop.
    crop_scale: float = pydantic.Field(2.7, gt=0)
    real_index: int = pydantic.Field(1, ge=0)


class PackManifest(Section):
    """The whole manifest of a model pack."""

    name: str = pydantic.Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    description: str
    licence: str
    commercial_use: bool
    detector: DetectorSpec
    recognizer: RecognizerSpec
    anti_spoof: AntiSpoofSpec | None = None

    def files(self) -> list[ModelFile]:
        """Every model file the pack needs, detector first."""
        found: list[ModelFile] = [self.detector, self.recognizer]
        if self.anti_spoof is not None:
            found.append(self.anti_spoof)
        return found


def load_manifest(pack_dir: str | Path) -> PackManifest:
    """Read and validate `<pack_dir>/manifest.toml`."""
    return load_toml(PackManifest, Path(pack_dir) / MANIFEST_NAME)
