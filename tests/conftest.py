"""Shared test fixtures: where the real test data lives, and private brokers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("HALLWATCH_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """`../shared` (or $HALLWATCH_SHARED): real models and photos, test-only data."""
    if not SHARED.is_dir():
        pytest.fail(f"test data not found at {SHARED}; set HALLWATCH_SHARED")
    return SHARED
