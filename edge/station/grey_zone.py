"""A face in the grey zone, waiting for its second factor.

Between the lower and the accept threshold the face alone records nothing: the station
asks for the candidate's finger (compared 1:1 with that person's own fingers) or a staff
number typed on the keypad (the face compared 1:1 with that person's own templates at the
stricter `verify_threshold`). A factor that fails, or none within `second_factor_s`,
records nothing and says why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Confirming:
    staff_id: str  # the face's best candidate
    score: float  # its grey-zone score
    liveness: float | None
    embedding: np.ndarray | None  # for the 1:1 check by staff number
    until: float  # time.monotonic() deadline
    by_finger: bool
    by_number: bool

    @property
    def prompt_key(self) -> str:
        """What the screen asks for (edge/station/messages.py)."""
        if self.by_finger and self.by_number:
            return "confirm_both"
        return "confirm_finger" if self.by_finger else "confirm_number"
