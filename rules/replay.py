"""Offline replay: contract payloads from a JSONL file -> store -> every affected month.

A line is either a payload, or a record of `hallwatch watch --json` (whose `topic` is then
checked too). Bad lines become dead letters naming the line; nothing stops the replay.
The directory snapshot given is the one every month is judged with: the same snapshot and
lines give the same results.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from mqtt import schema
from mqtt.ids import utc_now
from rules.directory import Directory
from rules.policy import Policy
from rules.recompute import affected, month_of, recompute_month
from rules.render import to_json
from rules.store import DeadLetterRow, Store

BATCH = 5000


@dataclass
class ReplaySummary:
    lines: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    months: dict[str, int] = field(default_factory=dict)  # month -> violations
    digest: str = ""


def _decode_line(line: bytes) -> schema.Event:
    if line.startswith(b'{"topic"'):
        try:
            record = json.loads(line)
            payload = json.dumps(record["payload"], ensure_ascii=False).encode()
            topic = record["topic"]
        except (ValueError, KeyError, TypeError) as exc:
            raise schema.PayloadError(f"not a `hallwatch watch --json` record: {exc}") from None
        return schema.decode(payload, topic)
    return schema.decode(line)


def results_digest(store: Store, months: Iterable[str]) -> str:
    """A fingerprint of every stored violation of `months`, to compare two runs."""
    digest = hashlib.sha256()
    for month in sorted(months):
        digest.update(to_json(store.violations(month=month)).encode())
    return digest.hexdigest()


def replay(
    lines: Iterable[bytes],
    policy: Policy,
    directory: Directory,
    store: Store,
    now: datetime | None = None,
) -> ReplaySummary:
    summary = ReplaySummary()
    touched: set[str] = set()
    batch: list[schema.Event] = []

    def flush() -> None:
        new = store.add_events(batch)
        summary.stored += len(new)
        summary.duplicates += len(batch) - len(new)
        # Every month the file touches, new events or not: a rerun reports the same results.
        touched.update(
            month_of(day) for event in batch for _, day in affected(event, policy, directory)
        )
        batch.clear()

    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        summary.lines += 1
        try:
            batch.append(_decode_line(line))
        except schema.PayloadError as exc:
            summary.dead_letters += 1
            store.add_dead_letter(
                DeadLetterRow.of(utc_now(), f"replay line {number}", exc.reason, line)
            )
        if len(batch) >= BATCH:
            flush()
    flush()
    for month in sorted(touched):
        recompute_month(store, policy, directory, month, now)
        summary.months[month] = len(store.violations(month=month))
    summary.digest = results_digest(store, touched)
    return summary
