"""Structure-aware mutation for the fuzzers: take a valid document (a payload, a config)
and replace, delete or add values anywhere in it, nested tables and lists included."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any

from hypothesis import strategies as st

Path_ = tuple[str | int, ...]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["", "2026-11-24T09:00:00", "2026-11-24T09:00:00+08:00", "../..", "\x00"])
)
# What TOML adds to JSON: dates, times and date-times, with and without a zone.
toml_scalars = (
    scalars | st.dates() | st.times() | st.datetimes() | st.datetimes(timezones=st.just(UTC))
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
toml_values = st.recursive(
    toml_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def paths(node: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    """Every position in a nested document (the root excluded)."""
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in items:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


def _parent(document: Any, path: Path_) -> Any:
    for key in path[:-1]:
        document = document[key]
    return document


@st.composite
def mutated(draw: st.DrawFn, base: dict, values: st.SearchStrategy = json_values) -> dict:
    """`base` with one to three values replaced, removed, or added beside them."""
    document = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        where = list(paths(document))
        if not where:
            break
        path = draw(st.sampled_from(where))
        parent = _parent(document, path)
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(values)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = draw(values)
        else:
            parent.append(draw(values))
    return document


def jsonable(value: Any) -> Any:
    """TOML-only values as the strings a JSON document would carry."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value
