"""The sensor's port is held by one process at a time; a second opener is told who holds it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.fingerprint.errors import PortInUseError
from drivers.fingerprint.sensor import FingerprintSensor
from tests.command_helpers import run_hallwatch
from tests.fingerprint_helpers import emulated_sensor, enrol


def test_a_second_process_is_refused_with_the_holder_named_and_the_holder_keeps_working(
    tmp_path,
):
    with emulated_sensor(tmp_path / "station") as (emu, sensor):
        enrol(emu, sensor, "S001", "s001-index")

        emu.place_finger("s001-index")
        second = run_hallwatch(
            "finger", "list", "--port", emu.port, "--data-dir", str(tmp_path / "cli")
        )
        assert second.returncode == 1, second.stdout + second.stderr
        message = second.stdout + second.stderr
        assert f"is in use by process {os.getpid()} (" in message
        holder = Path(f"/proc/{os.getpid()}/cmdline").read_bytes().split(b"\0")[0].decode()
        assert f"({holder}" in message  # the holder's command line
        assert "Traceback" not in message

        # The refused opener touched nothing: the finger placed before it is still read.
        match = sensor.identify(timeout_s=2.0)
        assert match is not None and match.staff_id == "S001"

    # Released with the holder: the next process opens the port.
    with emulated_sensor(tmp_path / "again") as (emu, sensor):
        sensor.close()
        after = run_hallwatch(
            "finger", "list", "--port", emu.port, "--data-dir", str(tmp_path / "cli")
        )
        assert after.returncode == 0, after.stdout + after.stderr


def test_a_second_opener_in_the_same_process_gets_the_typed_error(tmp_path):
    with (
        emulated_sensor(tmp_path / "a") as (emu, _sensor),
        pytest.raises(PortInUseError, match="is in use by another process"),
    ):
        FingerprintSensor.open(emu.port, registry=tmp_path / "b.db")


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root to switch users"
)
def test_programs_that_never_lock_are_kept_out_too_and_the_mark_goes_with_the_holder(tmp_path):
    # TIOCEXCL: an ordinary user's plain open() (a terminal program) is refused while the
    # port is held, and allowed once the holder closed (a pty would keep the mark otherwise).
    def plain_open(link: str) -> str:
        port = os.path.realpath(link)  # the emulator's link lies in a private directory
        os.chmod(port, 0o666)
        code = f"import os\ntry:\n os.close(os.open({port!r}, os.O_RDWR | os.O_NOCTTY))\n"
        code += " print('opened')\nexcept OSError as e:\n print(e.strerror)"
        user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        done = subprocess.run([*user, sys.executable, "-c", code], capture_output=True, text=True)
        return done.stdout.strip()

    with emulated_sensor(tmp_path) as (emu, sensor):
        assert plain_open(emu.port) == "Device or resource busy"
        sensor.close()
        assert plain_open(emu.port) == "opened"
