"""Why a frame did not identify anyone, worded for whoever reads it: the person at the
device (`message`), or whoever gave a photo file (`photo_message`: at enrolment and
`hallwatch identify`, where "step closer" or "hold still" make no sense)."""

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
    MASKED = "please lower your mask or use your finger"
    SPOOF = "liveness check failed: show your real face, not a photo or screen"
    UNKNOWN = "not recognised: ask an administrator to enrol you"
    AMBIGUOUS = "not recognised with certainty: look at the camera again"

    @property
    def code(self) -> str:
        return self.name.lower()

    @property
    def message(self) -> str:
        """For the person in front of the camera: what to do."""
        return self.value

    @property
    def photo_message(self) -> str:
        """For a photo file: what is wrong with the photo."""
        return _PHOTO[self]


_PHOTO = {
    Reason.NO_FACE: "no face found in the photo",
    Reason.CROWD: "the photo shows more than one face: use a photo of the person alone",
    Reason.TOO_SMALL: "the face is too small in the photo: use a closer or larger one",
    Reason.POSE: "the face is turned away: use a photo looking straight at the camera",
    Reason.BLURRY: "the photo is blurred: use a sharp one",
    Reason.TOO_DARK: "the photo is too dark: use a well-lit one",
    Reason.TOO_BRIGHT: "the photo is overexposed: use one without glare on the face",
    Reason.MASKED: "the lower face is covered (a mask?): use a photo of the whole face",
    Reason.SPOOF: "liveness check failed: the photo looks like a photo of a photo or a screen",
    Reason.UNKNOWN: "not recognised: nobody in the gallery matches",
    Reason.AMBIGUOUS: "not recognised with certainty: close to more than one person",
}
