"""The monthly sheet from the person-month tallies kept beside the violations equals the
sheet scored from the violations themselves: on random months, after managers' voids and
corrections, and after schema version 5 tallies a store that had none (both backends)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from rules.acting import Actor
from rules.backend import open_store
from rules.directory import Directory
from rules.manage import Management
from rules.replay import replay
from rules.scoring import load_sheet, score_month, sheet_basis
from rules.simulate import generate_month

MONTH = "2026-10"
AFTER = datetime(2026, 11, 2, tzinfo=UTC)
WANG = Actor("wang", "cli")


def from_violations(store, policy, directory):
    """The sheet as it was scored before tallies: from every violation of the month."""
    rows = store.violations(month=MONTH)
    return score_month(policy, directory, rows, *sheet_basis(store, policy, directory, MONTH))


@pytest.mark.parametrize("seed", [3, 11])
def test_the_tallied_sheet_is_the_sheet_of_the_violations(store, seed):
    sim = generate_month(MONTH, 12, seed=seed)
    policy, rng = sim.policy(), random.Random(seed)
    directory = Directory.from_policy(policy)
    replay(sim.payloads(), policy, directory, store, AFTER)
    assert store.violations(month=MONTH), "the month has violations to tally"
    assert load_sheet(store, policy, directory, MONTH) == from_violations(store, policy, directory)

    manage = Management(store, policy, now=lambda: AFTER)
    for violation in rng.sample(store.violations(month=MONTH), 6):
        if violation.severity == "minor" and rng.random() < 0.5:
            manage.correct(WANG, violation.violation_id, "notice given")
        else:
            manage.void(WANG, violation.violation_id, "appeal upheld")
    people, windows = load_sheet(store, policy, directory, MONTH)
    assert (people, windows) == from_violations(store, policy, directory)
    assert (
        sum(p.voided for p in people)
        == len([v for v in store.violations(month=MONTH) if v.status == "voided"])
        > 0
    )


def test_version_5_tallies_the_months_already_stored(store_at):
    sim = generate_month(MONTH, 8, seed=5)
    policy = sim.policy()
    directory = Directory.from_policy(policy)
    store = open_store(store_at())
    try:
        replay(sim.payloads(), policy, directory, store, AFTER)
        expected = from_violations(store, policy, directory)
        # As version 4 left it: no tallies, at version 4.
        with store._transaction():
            store._execute("DROP TABLE month_tallies")
            store._execute('DELETE FROM schema_version WHERE "version" = 5')
    finally:
        store.close()
    store = open_store(store_at())
    try:
        assert store.month_tallies(MONTH)
        assert load_sheet(store, policy, directory, MONTH) == expected
    finally:
        store.close()
