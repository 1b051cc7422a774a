"""Camera sources: replay at a set frame rate, and survival when a camera disappears."""

from __future__ import annotations

import shutil
import time

import cv2
import numpy as np
import pytest

from drivers.camera import Camera, CameraError, CameraStatus, PiCamera, ReplaySource, V4L2Camera


def _frames(folder, count: int) -> list[np.ndarray]:
    folder.mkdir()
    images = []
    for index in range(count):
        image = np.full((48, 64, 3), index * 20, np.uint8)
        cv2.imwrite(str(folder / f"{index:03d}.png"), image)
        images.append(image)
    return images


def test_replay_folder_in_order_at_the_set_rate(tmp_path):
    images = _frames(tmp_path / "frames", 5)
    source = ReplaySource(tmp_path / "frames", fps=20, loop=False)
    source.open()
    start = time.monotonic()
    got = [source.read() for _ in range(5)]
    elapsed = time.monotonic() - start
    assert all(np.array_equal(a, b) for a, b in zip(got, images, strict=True))
    assert elapsed >= 4 / 20 * 0.9  # five frames at 20 fps span four intervals
    with pytest.raises(CameraError, match="end of replay"):
        source.read()


def test_replay_skips_a_corrupt_image(tmp_path):
    images = _frames(tmp_path / "frames", 3)
    (tmp_path / "frames" / "001.png").write_bytes(b"broken")
    source = ReplaySource(tmp_path / "frames", fps=0, loop=False)
    source.open()
    got = [source.read(), source.read()]
    assert np.array_equal(got[0], images[0]) and np.array_equal(got[1], images[2])
    with pytest.raises(CameraError, match="end of replay"):
        source.read()


def test_replay_video_file_loops(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for level in (0, 120, 240):
        writer.write(np.full((48, 64, 3), level, np.uint8))
    writer.release()
    source = ReplaySource(path, fps=0, loop=True)
    source.open()
    levels = [int(source.read().mean()) for _ in range(6)]
    source.close()
    assert [round(v, -1) for v in levels[:3]] == [0, 120, 240]
    assert levels[3:] == levels[:3]


def test_a_camera_that_disappears_is_reported_and_reconnected(tmp_path):
    _frames(tmp_path / "frames", 3)
    statuses: list[CameraStatus] = []
    camera = Camera(
        ReplaySource(tmp_path / "frames", fps=0),
        statuses.append,
        backoff_start=0.05,
        backoff_max=0.2,
    )
    assert camera.read() is not None and camera.online
    shutil.move(tmp_path / "frames", tmp_path / "unplugged")
    assert all(camera.read() is None for _ in range(5))  # no exception, just no frames
    assert not camera.online and camera.failures >= 1
    offline = [s for s in statuses if not s.online]
    assert offline and "retrying in" in offline[0].detail
    shutil.move(tmp_path / "unplugged", tmp_path / "frames")
    deadline = time.monotonic() + 3
    frame = None
    while frame is None and time.monotonic() < deadline:
        frame = camera.read()
        time.sleep(0.02)
    assert frame is not None and camera.online
    assert statuses[-1].online and statuses[-1].detail == "camera connected"


def test_backoff_grows_and_is_capped(tmp_path):
    statuses: list[CameraStatus] = []
    camera = Camera(
        ReplaySource(tmp_path / "never"), statuses.append, backoff_start=0.1, backoff_max=0.4
    )
    deadline = time.monotonic() + 3
    while len(statuses) < 4 and time.monotonic() < deadline:
        assert camera.read() is None
        time.sleep(0.02)
    delays = [s.detail.rsplit("retrying in ", 1)[1] for s in statuses]
    assert delays == ["0.1 s", "0.2 s", "0.4 s", "0.4 s"]
    assert "no such folder" in statuses[0].detail


def test_missing_v4l2_device_is_reported_not_raised():
    statuses: list[CameraStatus] = []
    camera = Camera(V4L2Camera("/dev/video99"), statuses.append)
    assert camera.read() is None
    assert statuses and not statuses[0].online and "cannot open" in statuses[0].detail


def test_picamera_without_picamera2_says_how_to_install_it():
    try:
        import picamera2  # noqa: F401
    except ImportError:
        with pytest.raises(CameraError, match="apt install python3-picamera2"):
            PiCamera().open()
    else:
        pytest.skip("picamera2 is installed here")
