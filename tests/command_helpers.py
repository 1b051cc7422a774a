"""The `hallwatch` command run as a person runs it: a child process in the checkout."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from tests.conftest import REPO

HALLWATCH = [sys.executable, "-m", "hallwatch"]


def run_hallwatch(
    *args: str, timeout: float = 60, **options: Any
) -> subprocess.CompletedProcess[str]:
    """`hallwatch ARGS` run to its end, its output captured as text."""
    return subprocess.run(
        [*HALLWATCH, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, **options
    )
