"""Synthetic fingers for the sensor emulator: an identity plus per-touch noise.

A finger's identity is a fixed random code of `CODE_BITS` bits derived from its name; each
touch flips a few percent of those bits, as a real capture differs from the last one. A
sensor "character file" holds one or two such codes (two after merging into a template),
and the match score falls linearly with the Hamming distance: two touches of one finger
score far above the sensor threshold, unrelated fingers score near zero.
"""

from __future__ import annotations

import enum
import hashlib

import numpy as np

CODE_BITS = 1024
CODE_BYTES = CODE_BITS // 8
CHAR_FILE_SIZE = 512  # what the sensor transfers for one char buffer or template
MAGIC = b"HWF1"
MAX_SCORE = 300  # the order of magnitude R30x sensors report for a clean match

# Scores a sensor accepts as a match, by security level 1 (lenient) .. 5 (strict).
SECURITY_THRESHOLDS: dict[int, int] = {1: 30, 2: 40, 3: 50, 4: 65, 5: 80}

IMAGE_WIDTH = 256
IMAGE_HEIGHT = 288


class TouchQuality(enum.Enum):
    """How a finger is pressed: decides whether the sensor can extract features."""

    GOOD = "good"
    LIGHT = "light"  # too little contact: too few feature points
    SMUDGED = "smudged"  # dirty sensor or wet finger: the image is too messy


def identity_code(finger: str) -> np.ndarray:
    """The stable bit code of a named finger (same name, same finger, on any sensor)."""
    seed = int.from_bytes(hashlib.sha256(finger.encode("utf-8")).digest()[:8], "big")
    return np.random.default_rng(seed).integers(0, 2, CODE_BITS, dtype=np.uint8)


def touch_code(finger: str, rng: np.random.Generator) -> np.ndarray:
    """The code one new touch of `finger` yields: its identity with 2-10 % of bits flipped."""
    flip_rate = rng.uniform(0.02, 0.10)
    flips = (rng.random(CODE_BITS) < flip_rate).astype(np.uint8)
    return identity_code(finger) ^ flips


def char_file(codes: list[np.ndarray]) -> bytes:
    """A 512-byte character file (one code) or template (two codes)."""
    body = MAGIC + bytes([len(codes)]) + b"".join(np.packbits(c).tobytes() for c in codes)
    return body.ljust(CHAR_FILE_SIZE, b"\x00")


def codes_of(data: bytes) -> list[np.ndarray]:
    """The codes in a character file; none if it is not one (garbage matches nothing)."""
    count = data[len(MAGIC)] if len(data) > len(MAGIC) else 0
    end = len(MAGIC) + 1 + count * CODE_BYTES
    if not data.startswith(MAGIC) or count not in (1, 2) or len(data) < end:
        return []
    return [
        np.unpackbits(np.frombuffer(data, np.uint8, CODE_BYTES, len(MAGIC) + 1 + i * CODE_BYTES))
        for i in range(count)
    ]


def score(a: bytes, b: bytes) -> int:
    """Match score of two character files: mean over code pairs of 1 - 2 x Hamming rate."""
    codes_a, codes_b = codes_of(a), codes_of(b)
    if not codes_a or not codes_b:
        return 0
    similarities = [
        1.0 - 2.0 * float(np.count_nonzero(x != y)) / CODE_BITS for x in codes_a for y in codes_b
    ]
    return max(0, round(MAX_SCORE * sum(similarities) / len(similarities)))


def merge(a: bytes, b: bytes) -> bytes:
    """The template made of two single-touch character files."""
    return char_file([*codes_of(a)[:1], *codes_of(b)[:1]])


def image(finger: str, rng: np.random.Generator) -> bytes:
    """A 256 x 288 ridge image at 4 bits per pixel, two pixels per byte, as sensors send it."""
    params = np.random.default_rng(identity_code(finger)[:64]).uniform(0.0, 1.0, 4)
    cy, cx = IMAGE_HEIGHT * (0.35 + 0.3 * params[0]), IMAGE_WIDTH * (0.35 + 0.3 * params[1])
    y, x = np.mgrid[0:IMAGE_HEIGHT, 0:IMAGE_WIDTH]
    radius = np.hypot((y - cy) * (0.8 + 0.4 * params[2]), x - cx)
    ridges = 0.5 + 0.5 * np.sin(radius / (2.5 + params[3]))
    noisy = np.clip(ridges + rng.normal(0.0, 0.15, ridges.shape), 0.0, 1.0)
    pixels = (noisy * 15).astype(np.uint8)
    return (pixels[:, 0::2] << 4 | pixels[:, 1::2]).tobytes()
