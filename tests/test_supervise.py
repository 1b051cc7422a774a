"""base.supervise: failed workers come back with backoff, are reported once per run of
failures, and one that keeps failing makes the program not alive (real threads, real time;
the watchdog end of it: tests/test_service_loop.py)."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from base.supervise import Restarts, Supervisor, Worker


class Faults:
    """What a supervisor reported: (worker, error) in order."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, worker: Worker, error: Exception) -> None:
        self.seen.append((worker.name, str(error)))


def wait_until(condition, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.01)


def test_a_failed_thread_is_restarted_with_doubling_backoff_and_reported_once():
    faults = Faults()
    supervisor = Supervisor(faults, Restarts(first_s=0.2, max_s=0.3))
    started: list[float] = []

    def body(stop: threading.Event) -> None:
        started.append(time.monotonic())
        if len(started) <= 3:
            raise OSError(f"run {len(started)} failed")
        stop.wait()

    worker = supervisor.thread("reader", body).start()
    wait_until(lambda: len(started) == 4)
    gaps = [later - earlier for earlier, later in itertools.pairwise(started)]
    assert 0.2 <= gaps[0] < 0.3 and 0.3 <= gaps[1] < 0.4 and 0.3 <= gaps[2] < 0.4  # capped
    assert faults.seen == [("reader", "run 1 failed")]  # one alert for the run of failures
    assert worker.down is None and supervisor.alive()
    worker.stop(1.0)
    assert not worker._thread.is_alive()


def test_the_worker_says_why_it_is_down_while_it_waits():
    supervisor = Supervisor(restarts=Restarts(first_s=0.5))
    runs = []

    def body(stop: threading.Event) -> None:
        runs.append(1)
        if len(runs) == 1:
            raise ValueError("bad row")
        stop.wait()

    worker = supervisor.thread("reader", body).start()
    wait_until(lambda: worker.down is not None)
    assert worker.down == "ValueError: bad row"
    wait_until(lambda: worker.down is None)
    worker.stop(1.0)


def test_after_a_healthy_run_a_failure_starts_afresh():
    faults = Faults()
    supervisor = Supervisor(faults, Restarts(first_s=0.15, healthy_s=0.3))
    started: list[float] = []

    def body(stop: threading.Event) -> None:
        started.append(time.monotonic())
        if len(started) == 2:
            stop.wait(0.4)  # runs healthily for longer than healthy_s, then fails
        if len(started) <= 2:
            raise RuntimeError(f"run {len(started)} failed")
        stop.wait()

    worker = supervisor.thread("reader", body).start()
    wait_until(lambda: len(started) == 3)
    worker.stop(1.0)
    assert started[2] - started[1] - 0.4 < 0.25  # backoff back at 0.15 s, not doubled to 0.3
    assert faults.seen == [("reader", "run 1 failed"), ("reader", "run 2 failed")]


def test_a_body_that_returns_has_finished_and_is_not_run_again():
    supervisor = Supervisor()
    runs = []
    worker = supervisor.thread("keys", lambda stop: runs.append(1)).start()
    wait_until(lambda: not worker._thread.is_alive())
    assert runs == [1] and worker.down is None and supervisor.alive()


def test_a_failed_turn_is_skipped_while_it_backs_off_then_tried_again():
    faults = Faults()
    supervisor = Supervisor(faults, Restarts(first_s=0.2))
    camera = supervisor.turn("camera")
    calls = []

    def frame() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("decoder crashed")
        return "frame"

    assert camera.call(frame) is None
    assert camera.down == "RuntimeError: decoder crashed"
    assert faults.seen == [("camera", "decoder crashed")]
    assert camera.call(frame) is None and calls == [1]  # backing off: not called
    time.sleep(0.25)
    assert camera.call(frame) == "frame" and camera.down is None


def test_too_many_failures_within_the_window_is_not_alive_until_they_age():
    supervisor = Supervisor(restarts=Restarts(first_s=0.01, give_up_after=3, window_s=0.6))
    steady = supervisor.turn("steady")
    failing = supervisor.turn("failing")

    def fail() -> None:
        raise RuntimeError("again")

    for _ in range(2):
        failing.call(fail)
        time.sleep(0.03)
    assert steady.call(lambda: 1) == 1
    assert supervisor.alive()  # two failures: still brought back here
    failing.call(fail)
    assert failing.given_up and not supervisor.alive()
    time.sleep(0.6)
    assert supervisor.alive()  # the failures aged out of the window


@pytest.mark.parametrize("error", [KeyError("slot"), OSError(5, "Input/output error")])
def test_any_exception_is_caught_and_logged_with_its_traceback(caplog, error):
    supervisor = Supervisor(restarts=Restarts(first_s=0.01))
    turn = supervisor.turn("fingerprint")

    def part() -> None:
        raise error

    assert turn.call(part) is None
    [record] = [r for r in caplog.records if r.name == "base.supervise"]
    assert record.levelname == "ERROR" and record.exc_info[1] is error
    assert "fingerprint failed (1 in a row); restarting it in 0.01 s" in record.getMessage()
