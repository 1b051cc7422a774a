"""The dead-letter path cannot be flooded: rows are capped, announcements rate-limited."""

from __future__ import annotations

import logging

from mqtt import schema
from mqtt.client import topic_for
from rules.backend import open_store
from rules.ingest import Ingest
from rules.publish import ResultPublisher
from rules.ratelimit import TokenBucket
from rules.store import DEAD_LETTER_PAYLOAD_CHARS
from tests.rules_helpers import clock, policy, source_of


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_a_burst_then_the_rate():
    clock_ = FakeClock()
    bucket = TokenBucket(rate_per_s=2.0, burst=3, clock=clock_)
    assert [bucket.allow() for _ in range(5)] == [True, True, True, False, False]
    clock_.now += 1.0  # two tokens back
    assert [bucket.allow() for _ in range(3)] == [True, True, False]
    clock_.now += 100.0  # never more than the burst
    assert sum(bucket.allow() for _ in range(10)) == 3


def test_a_flood_of_garbage_is_capped_counted_and_announced_at_a_bounded_rate(store_at, caplog):
    store = open_store(store_at())
    store.dead_letter_cap = 50
    announced: list[schema.Event] = []
    gate = TokenBucket(rate_per_s=1e-9, burst=5)  # no refill within the test
    ingest = Ingest(
        store, policy(), source_of(), ResultPublisher(announced.append), dead_letter_gate=gate
    )
    good = clock("09:20")
    topic = topic_for(good)
    acked: list[int] = []
    huge = b'{"schema": "' + b"x" * 200_000 + b'"}'
    with caplog.at_level(logging.WARNING, logger="rules.ingest"):
        for n in range(300):
            ingest.handle(
                topic, huge if n == 0 else b"{garbage %d" % n, lambda n=n: acked.append(n)
            )
        ingest.handle(topic, schema.encode(good), lambda: acked.append(-1))
        while ingest.drain(timeout_s=0):
            pass
        ingest.flush()
    kept, dropped = store.dead_letter_counts()
    assert (kept, dropped) == (50, 250)
    assert ingest.rejected == 300 and ingest.stored == 1  # the good event got through
    # The newest are kept; every message was acknowledged once stored (a dead letter too).
    assert store.dead_letters(limit=1)[0].payload == "{garbage 299"
    assert sorted(acked) == [-1, *range(300)]
    assert all(len(row.payload) <= DEAD_LETTER_PAYLOAD_CHARS for row in store.dead_letters(100))
    # Five announced (the burst), the rest counted and summed up in one log line.
    letters = [e for e in announced if isinstance(e, schema.DeadLetter)]
    assert len(letters) == 5 and ingest.unannounced == 295
    assert all(letter.reason for letter in letters)
    logged = [r.getMessage() for r in caplog.records]
    assert sum("dead letter from" in m for m in logged) == 5
    assert any(m.startswith("295 more dead letters stored") for m in logged)
    # The cap holds across a restart: the drop count is derived from the rows themselves.
    store.close()
    reopened = open_store(store_at())
    assert reopened.dead_letter_counts() == (50, 250)
    reopened.close()
