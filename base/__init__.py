"""The ground floor of hallwatch: what every layer above may use and nothing here imports
from above — configuration types, private SQLite files, systemd notification, the error
base and the version."""

__version__ = "0.1.0"
