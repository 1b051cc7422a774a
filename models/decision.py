"""Deciding over several frames: a person is identified only by a majority of votes.

One frame can be lucky (a stranger who scores just over the threshold once) or
unlucky (a blink). The station feeds every `FrameResult` to a `Decider`, which answers
once `votes_needed` of the last `vote_window` frames agree on the same accepted person.
Frames in the grey zone (between the lower and the accept threshold) vote too: when so
many of them name one person that no accepting majority can form, the verdict is
SECOND_FACTOR: the station asks that person for their finger or their staff number.

Liveness runs only on the frame that would decide (`would_decide`): the earlier
agreeing frames vote on the face alone, and a presentation fails the deciding frame,
and the next, until the window is full of spoof rejections (two frames later than if
every frame were checked).
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from enum import Enum

import numpy as np

from models.pipeline import FrameResult
from models.reasons import Reason


class FaceOutcome(Enum):
    PENDING = "pending"  # keep looking; `reason` says what the person should do
    IDENTIFIED = "identified"
    SECOND_FACTOR = "second factor"  # the grey zone: confirm `staff_id` by a second factor
    REJECTED = "rejected"  # the window is full of frames that cannot be accepted


@dataclass(frozen=True)
class Verdict:
    outcome: FaceOutcome
    staff_id: str | None = None
    score: float | None = None  # mean score over the agreeing frames
    reason: Reason | None = None
    # Whose face a rejected spoof or crowd looked like: evidence for a proxy-punch alert.
    suspected_staff_id: str | None = None
    # SECOND_FACTOR: the best grey-zone frame's embedding, for a 1:1 check by staff number.
    embedding: np.ndarray | None = None


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
        verdict = self._verdict(self._frames)
        if verdict.outcome is not FaceOutcome.PENDING:
            self.reset()
        return verdict

    def would_decide(self, result: FrameResult) -> bool:
        """Whether adding `result` as it stands would identify someone or ask for a second
        factor: the frame that must pass liveness. Earlier agreeing frames only vote."""
        frames = deque(self._frames, maxlen=self._frames.maxlen)
        frames.append(result)
        outcome = self._verdict(frames).outcome
        return outcome in (FaceOutcome.IDENTIFIED, FaceOutcome.SECOND_FACTOR)

    def _verdict(self, frames: deque[FrameResult]) -> Verdict:
        accepted = Counter(f.match.staff_id for f in frames if f.accepted and f.match)
        if accepted:
            staff_id, votes = accepted.most_common(1)[0]
            if votes >= self.votes_needed:
                scores = [
                    f.match.score
                    for f in frames
                    if f.accepted and f.match and f.match.staff_id == staff_id
                ]
                return Verdict(FaceOutcome.IDENTIFIED, staff_id, sum(scores) / len(scores))
        if (grey := self._grey_majority(frames)) is not None:
            return grey
        reasons = Counter(f.rejection for f in frames if f.rejection is not None)
        if not reasons:
            return Verdict(FaceOutcome.PENDING)
        reason, count = reasons.most_common(1)[0]
        # Once enough frames failed for the same reason that no majority can form, say so.
        if self._no_other_majority(count):
            suspects = Counter(
                f.match.staff_id for f in frames if f.rejection is reason and f.match
            )
            suspect = suspects.most_common(1)[0][0] if suspects else None
            return Verdict(FaceOutcome.REJECTED, reason=reason, suspected_staff_id=suspect)
        return Verdict(FaceOutcome.PENDING, reason=reason)

    def _no_other_majority(self, count: int) -> bool:
        """`count` frames agree, and the rest of the window could not outvote them."""
        window = self._frames.maxlen or len(self._frames)
        return count >= self.votes_needed and window - count < self.votes_needed

    def _grey_majority(self, frames: deque[FrameResult]) -> Verdict | None:
        grey = [
            (f.candidate, f.embedding)
            for f in frames
            if f.second_factor and f.candidate is not None
        ]
        if not grey:
            return None
        staff_id, votes = Counter(c.staff_id for c, _ in grey).most_common(1)[0]
        if not self._no_other_majority(votes):
            return None
        best, embedding = max(
            ((c, e) for c, e in grey if c.staff_id == staff_id), key=lambda pair: pair[0].score
        )
        return Verdict(FaceOutcome.SECOND_FACTOR, staff_id, best.score, embedding=embedding)
