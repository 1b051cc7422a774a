"""Camera sources for the station: V4L2 through OpenCV, picamera2, and a replay source.

Every source has the same small interface (`open`, `read`, `close`). `Camera` wraps
one and never lets a failure escape: a camera that disappears is reported through the
status callback, `read()` returns None while it is down, and it is reopened with
exponential backoff.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from base.errors import HallwatchError

log = logging.getLogger(__name__)

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


class CameraError(HallwatchError, RuntimeError):
    """The camera cannot deliver frames (unplugged, busy, missing driver...)."""


# What a failing camera may raise: ours, OpenCV's and the operating system's.
_FAILURES = (CameraError, cv2.error, OSError)


class FrameSource(Protocol):
    name: str

    def open(self) -> None: ...

    def read(self) -> np.ndarray:
        """The next BGR frame; raises CameraError when the source failed."""
        ...

    def close(self) -> None: ...


class V4L2Camera:
    """A USB / CSI camera exposed as /dev/videoN, read through OpenCV's V4L2 backend."""

    def __init__(self, device: int | str, width: int = 1280, height: int = 720) -> None:
        self.device = device
        self.name = f"v4l2:{device}"
        self._size = (width, height)
        self._capture: cv2.VideoCapture | None = None

    def open(self) -> None:
        capture = cv2.VideoCapture(self.device, cv2.CAP_V4L2)
        if not capture.isOpened():
            capture.release()
            raise CameraError(f"{self.name}: cannot open the camera (unplugged or busy?)")
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, self._size[0])
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self._size[1])
        self._capture = capture

    def read(self) -> np.ndarray:
        if self._capture is None:
            raise CameraError(f"{self.name}: not open")
        ok, frame = self._capture.read()
        if not ok or frame is None:
            raise CameraError(f"{self.name}: no frame (camera disconnected?)")
        return frame

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class PiCamera:
    """A Raspberry Pi camera through picamera2 (installed with the OS, not from PyPI)."""

    def __init__(self, width: int = 1280, height: int = 720) -> None:
        self.name = "picamera2"
        self._size = (width, height)
        self._camera = None

    def open(self) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError:
            raise CameraError(
                "picamera2 is not installed: on Raspberry Pi OS run "
                "'sudo apt install python3-picamera2' and create the venv with "
                "--system-site-packages, or use a V4L2 device"
            ) from None
        try:
            camera = Picamera2()
            # picamera2's "RGB888" is B, G, R in memory: OpenCV's order.
            camera.configure(
                camera.create_preview_configuration(main={"size": self._size, "format": "RGB888"})
            )
            camera.start()
        except Exception as exc:  # libcamera raises assorted types; all mean "no camera"
            raise CameraError(f"picamera2: cannot start the camera: {exc}") from None
        self._camera = camera

    def read(self) -> np.ndarray:
        if self._camera is None:
            raise CameraError("picamera2: not open")
        try:
            return self._camera.capture_array()
        except Exception as exc:
            raise CameraError(f"picamera2: capture failed: {exc}") from None

    def close(self) -> None:
        if self._camera is not None:
            self._camera.close()
            self._camera = None


class ReplaySource:
    """Frames from an image folder (sorted by name) or a video file, at a set frame rate.

    `fps=0` replays as fast as frames are asked for. At the end it loops or, with
    `loop=False`, raises CameraError like a camera that went away.
    """

    def __init__(self, path: str | Path, fps: float = 10.0, loop: bool = True) -> None:
        self.path = Path(path)
        self.name = f"replay:{self.path}"
        self.fps = fps
        self.loop = loop
        self._files: list[Path] = []
        self._index = 0
        self._video: cv2.VideoCapture | None = None
        self._next_due = 0.0

    def open(self) -> None:
        self._index = 0
        self._next_due = time.monotonic()
        if self.path.is_dir():
            self._files = sorted(
                p for p in self.path.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES
            )
            if not self._files:
                raise CameraError(f"{self.name}: no images in the folder")
        elif self.path.is_file():
            self._video = cv2.VideoCapture(str(self.path))
            if not self._video.isOpened():
                raise CameraError(f"{self.name}: not a readable video file")
        else:
            raise CameraError(f"{self.name}: no such folder or video file")

    def _pace(self) -> None:
        if self.fps <= 0:
            return
        delay = self._next_due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._next_due = max(self._next_due, time.monotonic() - 1.0) + 1.0 / self.fps

    def read(self) -> np.ndarray:
        self._pace()
        frame = self._read_video() if self._video is not None else self._read_file()
        if frame is None:
            raise CameraError(f"{self.name}: end of replay")
        return frame

    def _read_video(self) -> np.ndarray | None:
        assert self._video is not None
        ok, frame = self._video.read()
        if not ok and self.loop:
            self._video.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._video.read()
        return frame if ok else None

    def _read_file(self) -> np.ndarray | None:
        # A corrupt image is skipped like a dropped frame; a vanished folder is a
        # camera gone. At most one pass over the folder per read.
        for _ in range(len(self._files)):
            if self._index >= len(self._files):
                if not self.loop:
                    return None
                self._index = 0
            path = self._files[self._index]
            self._index += 1
            if not path.exists():
                raise CameraError(f"{self.name}: {path.name} is gone (folder removed?)")
            frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if frame is not None:
                return frame
            log.warning("replay %s: skipping unreadable image %s", self.path, path.name)
        raise CameraError(f"{self.name}: no readable image in the folder")

    def close(self) -> None:
        if self._video is not None:
            self._video.release()
            self._video = None


@dataclass(frozen=True)
class CameraStatus:
    source: str
    online: bool
    detail: str  # what happened, for logs and the device-status topic


class Camera:
    """A source that survives failures: reports them and reconnects with backoff."""

    def __init__(
        self,
        source: FrameSource,
        on_status: Callable[[CameraStatus], None] | None = None,
        *,
        backoff_start: float = 0.5,
        backoff_max: float = 30.0,
    ) -> None:
        self.source = source
        self._on_status = on_status
        self._backoff_start = backoff_start
        self._backoff_max = backoff_max
        self._backoff = backoff_start
        self._retry_at = 0.0
        self.online = False
        self.failures = 0

    def _report(self, online: bool, detail: str) -> None:
        self.online = online
        status = CameraStatus(self.source.name, online, detail)
        (log.info if online else log.warning)("camera %s: %s", status.source, detail)
        if self._on_status is not None:
            self._on_status(status)

    def _fail(self, error: Exception) -> None:
        self.failures += 1
        self.source.close()
        self._retry_at = time.monotonic() + self._backoff
        detail = f"{error}; retrying in {self._backoff:.1f} s"
        self._backoff = min(self._backoff * 2, self._backoff_max)
        self._report(False, detail)

    def read(self) -> np.ndarray | None:
        """The next frame, or None while the camera is down (never raises)."""
        if not self.online:
            if time.monotonic() < self._retry_at:
                return None
            try:
                self.source.open()
            except _FAILURES as exc:
                self._fail(exc)
                return None
            self._backoff = self._backoff_start
            self._report(True, "camera connected")
        try:
            return self.source.read()
        except _FAILURES as exc:
            self._fail(exc)
            return None

    def close(self) -> None:
        self.source.close()
        self.online = False


def source_for(spec: str, fps: float = 10.0) -> FrameSource:
    """A source from a command-line spec: 0, /dev/video0, picamera, a folder or a video."""
    if spec.isdigit():
        return V4L2Camera(int(spec))
    if spec.startswith("/dev/video"):
        return V4L2Camera(spec)
    if spec == "picamera":
        return PiCamera()
    return ReplaySource(spec, fps=fps)


@contextmanager
def open_camera(spec: str, fps: float = 10.0) -> Iterator[Camera]:
    camera = Camera(source_for(spec, fps))
    try:
        yield camera
    finally:
        camera.close()


def capture_frames(camera: Camera, limit: int) -> Iterator[np.ndarray | None]:
    """Up to `limit` reads from the camera (None for the reads while it is down)."""
    for _ in range(limit):
        frame = camera.read()
        if frame is None:
            time.sleep(0.05)
        yield frame
