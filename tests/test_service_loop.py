"""`base.service_loop`: a real child process, real signals, a real systemd notify socket."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO


class Child:
    """`tests.support.service_child MODE`, notifying a socket of ours as systemd would."""

    def __init__(self, tmp_path, mode: str) -> None:
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(tmp_path / "notify.sock"))
        env = os.environ | {
            "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
            "WATCHDOG_USEC": "40000",  # pet every 20 ms
            "PYTHONPATH": str(REPO),
        }
        env.pop("WATCHDOG_PID", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.service_child", mode],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.messages: list[str] = []

    def wait_for(self, message: str, timeout_s: float = 20.0) -> None:
        """Read notifications until `message` arrives."""
        deadline = time.monotonic() + timeout_s
        while message not in self.messages:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {message!r}; got {self.messages}"
            self.notify.settimeout(remaining)
            self.messages += self.notify.recv(1000).decode().split("\n")

    def listen(self, seconds: float) -> None:
        """Collect what arrives in the next `seconds`."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            self.notify.settimeout(remaining)
            try:
                self.messages += self.notify.recv(1000).decode().split("\n")
            except TimeoutError:
                break

    def finish(self) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=20)
        self.notify.close()
        return self.process.returncode, out, err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_a_signal_stops_the_loop_after_ready_and_watchdog(tmp_path, signum):
    child = Child(tmp_path, "serve")
    child.wait_for("READY=1")
    assert "STATUS=serving" in child.messages
    child.wait_for("WATCHDOG=1")
    assert "STOPPING=1" not in child.messages
    child.process.send_signal(signum)
    child.wait_for("STOPPING=1")
    status, out, err = child.finish()
    assert status == 0, err
    assert "turning" in out and "handlers restored: True" in out
    assert child.messages.index("READY=1") < child.messages.index("STOPPING=1")


def test_a_dead_worker_stops_the_watchdog(tmp_path):
    child = Child(tmp_path, "dead")
    child.wait_for("READY=1")
    assert child.process.stdout.readline() == "turning\n"
    child.listen(0.5)  # some 25 pet periods go by while it turns
    assert "WATCHDOG=1" not in child.messages
    child.process.send_signal(signal.SIGTERM)
    child.wait_for("STOPPING=1")
    status, _, err = child.finish()
    assert status == 0, err


def test_a_turn_may_end_the_loop_itself(tmp_path):
    child = Child(tmp_path, "finish")
    child.wait_for("STOPPING=1")
    status, out, err = child.finish()
    assert status == 0, err
    assert "stopped after 3 turns; handlers restored: True" in out


def test_a_failing_turn_still_says_stopping_and_keeps_its_traceback(tmp_path):
    child = Child(tmp_path, "crash")
    child.wait_for("STOPPING=1")
    status, out, err = child.finish()
    assert status == 1
    assert "RuntimeError: the third turn failed" in err and "stopped after" not in out


def test_a_worker_that_keeps_failing_stops_the_watchdog(tmp_path):
    """Restarted at 0.05, 0.1 and 0.2 s, it fails a fourth time: systemd must take over."""
    child = Child(tmp_path, "dying")
    child.wait_for("WATCHDOG=1")  # fed while the supervisor still brings the worker back
    child.listen(0.6)  # the four failures are over within 0.35 s
    child.messages.clear()
    child.listen(0.5)  # some 25 pet periods
    assert "WATCHDOG=1" not in child.messages
    child.process.send_signal(signal.SIGTERM)
    child.wait_for("STOPPING=1")
    status, _, err = child.finish()
    assert status == 0, err
    assert "dies failed (4 in a row); restarting it in 0.4 s" in err
    assert "RuntimeError: the worker failed again" in err  # the traceback, in the log
