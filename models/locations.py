"""Where the face stack keeps its files on a device."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """`$HALLWATCH_DATA`, else `$XDG_DATA_HOME/hallwatch` (~/.local/share/hallwatch)."""
    if "HALLWATCH_DATA" in os.environ:
        return Path(os.environ["HALLWATCH_DATA"])
    data_home = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return data_home / "hallwatch"


def default_models_dir() -> Path:
    """Installed model packs: `$HALLWATCH_MODELS`, else `<data dir>/models`."""
    if "HALLWATCH_MODELS" in os.environ:
        return Path(os.environ["HALLWATCH_MODELS"])
    return data_dir() / "models"


def default_gallery_path() -> Path:
    return data_dir() / "gallery.db"
