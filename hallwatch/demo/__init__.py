"""`hallwatch demo`: a whole hall day in a minute, on embedded defaults."""

from hallwatch.demo.command import demo

__all__ = ["demo"]
