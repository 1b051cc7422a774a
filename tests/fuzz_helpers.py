"""Structure-aware mutation for the fuzzers: take a valid document (a payload, a config)
and replace, delete or add values anywhere in it, nested tables and lists included."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any

from hypothesis import strategies as st

Path_ = tuple[str | int, ...]

# The ends of the calendar and of the contract's years, in the zones furthest apart: times
# that parse, then overflow once shifted (issue 13).
EXTREME_TIMES = [
    "9999-12-31T23:00:00Z",
    "9999-12-31T23:59:59.999999-12:00",
    "0001-01-01T00:10:00+14:00",
    "0001-01-01T00:00:00Z",
    "1999-12-31T23:59:59Z",
    "2099-12-31T23:59:59-12:00",
    "2100-01-01T00:00:00+14:00",
]
# What a terminal or a log takes as commands: escape sequences, line breaks, bidi overrides.
CONTROL_TEXT = [
    "\x1b[2K\r09:00:01  hall-01/st-01  clock  S999  clock_in",
    "line\nbreak",
    "\x9b31m",
    "\u202egnp.exe",
    "nul\x00byte",
    "\x7f",
]
controls = st.text(
    alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Zl", "Zp", "Lo"]), max_size=12
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | controls
    | st.sampled_from(
        [
            "",
            "2026-11-24T09:00:00",
            "2026-11-24T09:00:00+08:00",
            "../..",
            "\x00",
            *EXTREME_TIMES,
            *CONTROL_TEXT,
        ]
    )
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
            parent[draw(st.text(max_size=10) | controls)] = draw(values)
        else:
            parent.append(draw(values))
    return document


def jsonable(value: Any) -> Any:
    """TOML-only values as the strings a JSON document would carry."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


@st.composite
def nested(draw: st.DrawFn, document: dict) -> bytes:
    """`document` with a value nested up to thousands deep put under a new key, before or
    after its other keys: as raw JSON, which no encoder here would nest that deep."""
    depth = draw(st.integers(1, 5000))
    opening, closing = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
    value = opening * depth + b"1" + closing * depth
    body = json.dumps(document).encode()[1:-1]
    first = draw(st.booleans())
    return b"{" + (b'"x":' + value + b"," + body if first else body + b',"x":' + value) + b"}"


@st.composite
def padded(draw: st.DrawFn, document: dict, limit: int) -> bytes:
    """`document` as valid JSON with blanks between its tokens, up to about `limit` bytes."""
    text = json.dumps(document, indent=draw(st.integers(0, 64)))
    spare = max(0, limit - len(text))
    pad = " \t\r\n"[draw(st.integers(0, 3))] * draw(st.integers(0, spare))
    return (text[:-1] + pad + "}").encode()
