"""The two kinds of id every layer shares, each defined once: node ids and staff ids.

A node id names a site, a device, a window or a category: lower-case, safe in topics,
file names and broker usernames. A staff id is the hall's own personnel number.

Checks match the whole value (`fullmatch`): a regular expression's `$` also matches
before a final newline, which would let "st-01\\n" through into a topic or a file name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated

import pydantic

from base.errors import HallwatchError


class IdError(HallwatchError, ValueError):
    """A value that is not a valid id of its kind."""


@dataclass(frozen=True)
class IdRule:
    chars: str  # a regular expression for the whole id, without anchors
    spelled: str  # the same rule in words, for the person who typed the id
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", re.compile(self.chars))

    @property
    def pattern(self) -> str:
        """The rule as an anchored pattern for schemas (msgspec, JSON Schema, AsyncAPI).

        `$(?!\\n)` is the end of the text both where `$` means that (JSON Schema's ECMA-262)
        and where `$` also matches before a final newline (Python's `re`, used by msgspec).
        """
        return rf"^{self.chars}$(?!\n)"

    def matches(self, value: str) -> bool:
        return self._compiled.fullmatch(value) is not None

    def check(self, value: str, what: str) -> str:
        """`value` if it is a valid id; else an IdError naming `what` and the rule."""
        if not self.matches(value):
            raise IdError(f"invalid {what} {value!r}: use {self.spelled}")
        return value


NODE_ID = IdRule(
    r"[a-z0-9][a-z0-9_-]{0,62}", "1-63 of a-z 0-9 _ -, starting with a letter or digit"
)
STAFF_ID = IdRule(
    r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}",
    "1-64 of A-Z a-z 0-9 _ . -, starting with a letter or digit",
)

# Windows are named as halls name them ("W01", "社保-1" is not: the display name carries
# that); the directory checks them by this rule and the contract carries them so.
WINDOW_ID = STAFF_ID


def _node_id(value: str) -> str:
    return NODE_ID.check(value, "id")


def check_staff_id(value: str) -> str:
    return STAFF_ID.check(value, "staff id")


# Configuration field types (pydantic). The contract's own types (mqtt/schema.py, msgspec)
# are built from the same rules.
NodeId = Annotated[
    str,
    pydantic.AfterValidator(_node_id),
    pydantic.WithJsonSchema({"type": "string", "pattern": NODE_ID.pattern}),
]
StaffId = Annotated[
    str,
    pydantic.AfterValidator(check_staff_id),
    pydantic.WithJsonSchema({"type": "string", "pattern": STAFF_ID.pattern}),
]
