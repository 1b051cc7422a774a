"""The store's optional filters: a condition counts only when its value is given."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def matching(conditions: Iterable[tuple[str, Any]]) -> tuple[str, list[Any]]:
    """A WHERE clause of the conditions whose value is given (None: no condition), and its
    parameters: `('"site" = ?', site)` filters by site only when `site` is not None."""
    given = [(clause, value) for clause, value in conditions if value is not None]
    return " AND ".join(["1 = 1", *(clause for clause, _ in given)]), [v for _, v in given]
