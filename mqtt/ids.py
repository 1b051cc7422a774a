"""Event identity: time-ordered unique ids (UUIDv7, RFC 9562) and aware timestamps."""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime

# This process's start, in the device's statuses: two processes sending under one device id
# at once are two devices configured alike (a restart shows a new id, never an old one again).
BOOT_ID = os.urandom(8).hex()

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_event_id() -> str:
    """A UUIDv7: 48-bit Unix milliseconds, then a 12-bit counter and 62 random bits.

    Ids sort by creation time, and ids made in the same millisecond by one process still
    sort in creation order (the counter), which keeps a device journal's ids monotonic.
    """
    global _last_ms, _counter
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms, _counter = now_ms, int.from_bytes(os.urandom(2)) & 0x1FF
        else:
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms, _counter = _last_ms + 1, 0
        ms, counter = _last_ms, _counter
    rand = int.from_bytes(os.urandom(8)) & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand
    return str(uuid.UUID(int=value))


def utc_now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)
