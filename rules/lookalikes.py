"""Lookalike pairs: people whose faces a search could confuse.

When a face is enrolled centrally (`hallwatch enrol --central`) or at a station (its
`Enrolment` reaches the rules service), its templates are compared with every other
person's face templates of the same recogniser, across every site. A person whose best
cosine reaches `[rules] lookalike_threshold` forms an open pair with the newcomer
(`GalleryQueries.add_templates(lookalikes=...)`): both are sent to their stations with
`second_factor` set, so a face match to either is confirmed by a finger or a staff number
however high it scores, until an administrator decides the pair
(`hallwatch gallery lookalikes decide`).

Pure Python over the stored float32 bytes: the rules service does not load the face stack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import mul

from rules.gallery_store import GalleryQueries

# 0.05 under the default pack's lower threshold (0.35): the templates of two people this
# close leave a probe of one a small step from the other's grey zone, or above it.
LOOKALIKE_THRESHOLD = 0.30


def face_scores(
    store: GalleryQueries, model: str, staff_id: str, embeddings: Sequence[bytes]
) -> dict[str, float]:
    """Each other person's best cosine between one of their face templates of `model`
    and one of `embeddings` (unit float32 vectors), across every site."""
    mine = [memoryview(e).cast("f") for e in embeddings]
    best: dict[str, float] = {}
    for template in store.templates():
        if template.kind != "face" or template.model != model or template.staff_id == staff_id:
            continue
        theirs = memoryview(template.data).cast("f")
        score = max((sum(map(mul, theirs, e)) for e in mine if len(e) == len(theirs)), default=None)
        if score is not None and score > best.get(template.staff_id, -2.0):
            best[template.staff_id] = score
    return best


def lookalikes_in(scores: Mapping[str, float], threshold: float) -> dict[str, float]:
    """The people of `scores` at or above the lookalike threshold."""
    return {staff_id: score for staff_id, score in scores.items() if score >= threshold}
