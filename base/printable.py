"""Text from outside (payloads, topics, file contents) made safe to show a person.

A control character in an alert or a payload key must not move an operator's cursor,
recolour their terminal or start a forged line in a service's log: every human output of
text that came from a device goes through `printable`.
"""

from __future__ import annotations

import unicodedata

# Controls, format characters (bidirectional overrides included), line and paragraph
# separators, lone surrogates. Spaces stay: a full-width space is part of a Chinese name.
_UNSAFE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _escaped(char: str) -> str:
    if unicodedata.category(char) not in _UNSAFE:
        return char
    return char.encode("unicode_escape", "backslashreplace").decode("ascii")


def printable(text: str) -> str:
    """`text` with every unsafe character written as its escape (`\\x1b`, `\\u202e`)."""
    if text.isprintable():
        return text
    return "".join(map(_escaped, text))
