"""hallwatch: attendance and conduct monitoring for government service halls.

The roof: the `hallwatch` command, the demo and the console, wired over every layer below.
"""

from base import __version__

__all__ = ["__version__"]
