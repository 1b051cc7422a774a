"""Embeddings from aligned faces, L2-normalised so a dot product is the cosine."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.manifest import RecognizerSpec
from models.runtime import open_session


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class Embedder:
    """An ArcFace-style recogniser; one face per call (some exports fix the batch at 1)."""

    def __init__(self, path: Path, spec: RecognizerSpec, threads: int = 1) -> None:
        self.spec = spec
        self._session = open_session(path, threads)
        self._input = self._session.get_inputs()[0].name

    @property
    def size(self) -> int:
        return self.spec.embedding_size

    def embed(self, aligned_bgr: np.ndarray) -> np.ndarray:
        """The unit-length embedding of one aligned BGR face crop."""
        pixels = aligned_bgr[:, :, ::-1] if self.spec.color == "RGB" else aligned_bgr
        blob = (pixels.astype(np.float32) - self.spec.mean) / self.spec.std
        blob = np.ascontiguousarray(blob.transpose(2, 0, 1)[None])
        (output,) = self._session.run(None, {self._input: blob})
        embedding = output.reshape(-1)
        if embedding.shape[0] != self.spec.embedding_size:
            raise ValueError(
                f"recogniser {self.spec.file} gave {embedding.shape[0]} values, its manifest "
                f"says {self.spec.embedding_size}; fix the pack manifest"
            )
        return l2_normalise(embedding)

    def embed_mirror_averaged(self, aligned_bgr: np.ndarray) -> np.ndarray:
        """The mean of the crop's and its mirror image's embeddings, renormalised: a
        second recogniser pass. Measured by `models eval --embeddings` (docs/face.md);
        the pipeline does not use it, the gain did not pay for the pass."""
        mirrored = np.ascontiguousarray(aligned_bgr[:, ::-1])
        return l2_normalise(self.embed(aligned_bgr) + self.embed(mirrored))
