"""Text from outside (payloads, topics, file contents) made safe to show a person.

A control character in an alert or a payload key must not move an operator's cursor,
recolour their terminal or start a forged line in a service's log: every human output of
text that came from a device goes through `printable`.
"""

from __future__ import annotations

import json
import unicodedata


def _escaped(char: str) -> str:
    if char.isprintable():
        return char
    return char.encode("unicode_escape", "backslashreplace").decode("ascii")


def printable(text: str) -> str:
    """`text` with every character Python does not call printable (controls, format
    characters such as bidirectional overrides, separators other than the ASCII space,
    unassigned code points) written as its escape: `\\x1b`, `\\u202e`."""
    if text.isprintable():
        return text
    return "".join(map(_escaped, text))


def without_controls(text: str) -> str:
    """`text` with each control character (C0, DEL, C1) replaced by a space: for what a
    device reads from its surroundings (a window title) before it goes into a payload."""
    return "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)


def printable_json(value: object) -> str:
    """`value` as one line of JSON in which every unsafe character is a `\\u` escape
    (json.dumps leaves C1 controls, bidirectional overrides and line separators as they are)."""
    text = json.dumps(value, ensure_ascii=False)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else json.dumps(c)[1:-1] for c in text)
