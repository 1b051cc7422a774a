"""Why a frame did not identify anyone, worded for the person at the device."""

from __future__ import annotations

from enum import Enum


class Reason(Enum):
    NO_FACE = "no face found: look at the camera"
    CROWD = "one person at a time: others are too close behind you"
    TOO_SMALL = "move closer to the camera"
    POSE = "look straight at the camera"
    BLURRY = "hold still: the image is blurred"
    TOO_DARK = "too dark: face the light"
    TOO_BRIGHT = "too bright: step out of direct light"
    SPOOF = "liveness check failed: show your real face, not a photo or screen"
    UNKNOWN = "not recognised: ask an administrator to enrol you"
    AMBIGUOUS = "not recognised with certainty: look at the camera again"

    @property
    def code(self) -> str:
        return self.name.lower()

    @property
    def message(self) -> str:
        return self.value
