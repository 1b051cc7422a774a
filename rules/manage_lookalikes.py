"""Lookalike pairs in the management API: the pairs with names, and an administrator's
decision, audited (rules/lookalikes.py explains how pairs are found).

`LookalikeManagement` is a part of `rules.manage.Management` (its store, clock and
language)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from rules.acting import Actor, NotFound, Refused, audit_row, stated_reason
from rules.gallery_store import LookalikePair, LookalikeState
from rules.manager_actions import Language
from rules.store import Store


@dataclass(frozen=True, slots=True)
class LookalikeLine:
    """A pair as a list shows it: names beside the ids."""

    staff_a: str
    name_a: str
    staff_b: str
    name_b: str
    score: float
    found_at: datetime
    state: LookalikeState
    decided_by: str | None
    decided_at: datetime | None
    note: str | None


class LookalikeManagement:
    store: Store
    now: Callable[[], datetime]
    language: Language

    def lookalikes(self, *, state: LookalikeState | None = None) -> list[LookalikeLine]:
        """The pairs, closest first (only those in `state`, if given)."""
        return [self._line(p) for p in self.store.lookalikes(state)]

    def decide_lookalike(
        self, actor: Actor, staff_a: str, staff_b: str, note: str
    ) -> LookalikeLine:
        """Close an open pair: both stop being asked for a second factor (unless another
        open pair of theirs still needs it). The note says what was decided."""
        note = stated_reason(note)
        at = self.now()
        pair = self.store.decide_lookalike(staff_a, staff_b, actor.decided_by, note, at)
        if pair is None:
            known = [
                p for p in self.store.lookalikes() if {p.staff_a, p.staff_b} == {staff_a, staff_b}
            ]
            if known:
                done = known[0]
                raise Refused(
                    f"{self._who(staff_a)} and {self._who(staff_b)}: decided already by "
                    f"{done.decided_by} ({done.note})"
                )
            raise NotFound(
                f"{self._who(staff_a)} and {self._who(staff_b)} are not a lookalike pair "
                "(hallwatch gallery lookalikes lists them)"
            )
        target = f"{pair.staff_a}+{pair.staff_b}"
        self.store.add_action(audit_row(actor, "lookalike_decide", target, note, at))
        return self._line(pair)

    def _who(self, staff_id: str) -> str:
        return self.store.directory().label(staff_id, self.language)

    def _line(self, pair: LookalikePair) -> LookalikeLine:
        directory = self.store.directory()
        return LookalikeLine(
            pair.staff_a,
            directory.name(pair.staff_a, self.language),
            pair.staff_b,
            directory.name(pair.staff_b, self.language),
            pair.score,
            pair.found_at,
            pair.state,
            pair.decided_by,
            pair.decided_at,
            pair.note,
        )
