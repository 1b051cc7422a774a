"""The chaos suite's hall: see tests/chaos/hall.py."""

from __future__ import annotations

import pytest

from tests.chaos.hall import Hall


@pytest.fixture
def hall(tmp_path, test_ca):
    built = Hall(tmp_path, test_ca)
    try:
        yield built
    finally:
        built.close()
