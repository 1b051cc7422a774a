"""Deciding over several frames: a person is identified only by a majority of votes.

One frame can be lucky (a stranger who scores just over the threshold once) or
unlucky (a blink). The station feeds every `FrameResult` to a `Decider`, which answers
once `votes_needed` of the last `vote_window` frames agree on the same accepted person.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from enum import Enum

from models.pipeline import FrameResult
from models.reasons import Reason


class FaceOutcome(Enum):
    PENDING = "pending"  # keep looking; `reason` says what the person should do
    IDENTIFIED = "identified"
    REJECTED = "rejected"  # the window is full of frames that cannot be accepted


@dataclass(frozen=True)
class Verdict:
    outcome: FaceOutcome
    staff_id: str | None = None
    score: float | None = None  # mean score over the agreeing frames
    reason: Reason | None = None
    # Whose face a rejected spoof or crowd looked like: evidence for a proxy-punch alert.
    suspected_staff_id: str | None = None


class Decider:
    """Votes over a sliding window of frames; call `reset()` when the person leaves."""

    def __init__(self, votes_needed: int = 3, vote_window: int = 5) -> None:
        if not 1 <= votes_needed <= vote_window:
            raise ValueError("need 1 <= votes_needed <= vote_window")
        self.votes_needed = votes_needed
        self._frames: deque[FrameResult] = deque(maxlen=vote_window)

    def reset(self) -> None:
        self._frames.clear()

    def add(self, result: FrameResult) -> Verdict:
        self._frames.append(result)
        accepted = Counter(f.match.staff_id for f in self._frames if f.accepted and f.match)
        if accepted:
            staff_id, votes = accepted.most_common(1)[0]
            if votes >= self.votes_needed:
                scores = [
                    f.match.score
                    for f in self._frames
                    if f.accepted and f.match and f.match.staff_id == staff_id
                ]
                self.reset()
                return Verdict(FaceOutcome.IDENTIFIED, staff_id, sum(scores) / len(scores))
        reasons = Counter(f.rejection for f in self._frames if f.rejection is not None)
        if not reasons:
            return Verdict(FaceOutcome.PENDING)
        reason, count = reasons.most_common(1)[0]
        # Once enough frames failed for the same reason that no majority can form, say so.
        window = self._frames.maxlen or len(self._frames)
        if count >= self.votes_needed and window - count < self.votes_needed:
            suspects = Counter(
                f.match.staff_id for f in self._frames if f.rejection is reason and f.match
            )
            suspect = suspects.most_common(1)[0][0] if suspects else None
            self.reset()
            return Verdict(FaceOutcome.REJECTED, reason=reason, suspected_staff_id=suspect)
        return Verdict(FaceOutcome.PENDING, reason=reason)
