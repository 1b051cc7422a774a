"""The error base: a problem a person can act on.

Its message says what is wrong and, where it can, what to do; commands show it as it is
(the `hallwatch` command converts it once, at its root), services log it. Programming
errors are not `HallwatchError`s: they keep their tracebacks.
"""

from __future__ import annotations


class HallwatchError(Exception):
    """An error whose message is written for the person who can fix it."""
