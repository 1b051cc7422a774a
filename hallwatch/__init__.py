"""hallwatch: attendance and conduct monitoring for government service halls."""

__version__ = "0.1.0"
