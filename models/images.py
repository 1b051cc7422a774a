"""Reading photos for enrolment and identification, with errors a person can act on."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from base.errors import HallwatchError


class ImageError(HallwatchError, ValueError):
    """A file that is not a usable photo."""


def to_bgr(image: np.ndarray) -> np.ndarray:
    """Any decoded image (grey, BGR, BGRA; 8 or 16 bit) as 8-bit BGR."""
    if (
        not isinstance(image, np.ndarray)
        or image.ndim not in (2, 3)
        or image.size == 0
        or (image.ndim == 3 and image.shape[2] not in (1, 3, 4))
    ):
        shape = getattr(image, "shape", type(image).__name__)
        raise ImageError(f"not an image frame (shape {shape}); expected HxW or HxWx3 pixels")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(float(image.max()), 1.0))
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


def read_image(path: str | Path) -> np.ndarray:
    """Decode a photo file as BGR (EXIF orientation applied, as a camera would see it)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{path}: is a directory, not a photo") from None
    except OSError as exc:
        raise ImageError(f"{path}: cannot read: {exc.strerror}") from None
    if not data:
        raise ImageError(f"{path}: the file is empty")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ImageError(f"{path}: not a readable image (JPEG, PNG, BMP, WebP...), or corrupt")
    return image
