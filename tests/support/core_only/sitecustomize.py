"""A core-only install, simulated: on PYTHONPATH, this hides every optional component.

Python imports `sitecustomize` at start-up; the finder below then refuses the top-level
modules that only the extras install, exactly as if they were absent.
"""

from __future__ import annotations

import sys

# The top-level modules of the extras (station, rules, agent, demo, insightface, console).
HIDDEN = frozenset(
    {
        "numpy",
        "cv2",
        "onnx",
        "onnxruntime",
        "PIL",
        "psutil",
        "Xlib",
        "pyfingerprint",
        "serial",
        "psycopg",
        "openpyxl",
        "amqtt",
        "insightface",
        "skimage",
        "scipy",
        "starlette",
        "uvicorn",
        "jinja2",
        "multipart",
        "python_multipart",
        "argon2",
    }
)


class HideExtras:
    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


if __name__ == "sitecustomize":  # at start-up only: a test importing HIDDEN hides nothing
    sys.meta_path.insert(0, HideExtras())
