"""Every systemd unit verifies cleanly and is hardened to an exposure of "OK" or better."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.command_helpers import run_hallwatch
from tests.conftest import REPO

UNITS = sorted((REPO / "systemd").rglob("*.service"))
INSTALLED_BINARY = "/opt/hallwatch/venv/bin/hallwatch"
# systemd-analyze security levels, best first; "OK" means an exposure below 5.0.
ACCEPTABLE = ("PERFECT", "SAFE", "OK")


def _staged(unit: Path, tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this checkout's real command."""
    here = Path(sys.executable).parent / "hallwatch"
    staged = tmp_path / unit.name
    staged.write_text(unit.read_text().replace(INSTALLED_BINARY, str(here)))
    return staged


def _user_flag(unit: Path) -> list[str]:
    return ["--user"] if unit.parent.name == "user" else []


def _env(tmp_path: Path) -> dict[str, str]:
    # A user unit is analysed for a user manager, which needs a runtime directory.
    return os.environ | {"XDG_RUNTIME_DIR": str(tmp_path)}


def _exec_start(unit: Path) -> list[str]:
    line = next(x for x in unit.read_text().splitlines() if x.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def test_units_exist():
    names = {u.name for u in UNITS}
    assert names == {
        "hallwatch-station.service",
        "hallwatch-rules.service",
        "hallwatch-agent.service",
        "hallwatch-console.service",
    }


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_exec_start_is_a_real_hallwatch_command(unit):
    command = _exec_start(unit)
    assert command[0] == INSTALLED_BINARY
    words = [w for w in command[1:] if not w.startswith("-")][:2]
    subcommand = words[:1] if words[0] != "rules" else words  # `rules run` is a group's command
    result = run_hallwatch(*subcommand, "--help")
    assert result.returncode == 0, result.stderr
    assert all(option in result.stdout for option in command[1:] if option.startswith("--"))


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_verifies_without_warnings(unit, tmp_path):
    staged = _staged(unit, tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "verify", *_user_flag(unit), str(staged)],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        cwd=tmp_path,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_exposure_is_ok_or_better(unit, tmp_path):
    staged = _staged(unit, tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", *_user_flag(unit), str(staged)],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        cwd=tmp_path,
    )
    match = re.search(r"Overall exposure level for \S+: ([\d.]+) (\w+)", result.stdout)
    assert match, result.stdout + result.stderr
    score, level = float(match.group(1)), match.group(2)
    print(f"{unit.name}: exposure {score} {level}")
    assert level in ACCEPTABLE and score < 5.0


def _settings(name: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (REPO / "systemd" / name).read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            found.setdefault(key, []).append(value)
    return found


def test_the_station_reaches_only_its_own_serial_port_and_display():
    """Issue 13: not every serial port and framebuffer of the Pi, the configured ones."""
    allowed = _settings("hallwatch-station.service")["DeviceAllow"]
    assert allowed == [
        "char-video4linux rw", "/dev/serial0 rw", "/dev/fb1 rw", "char-alsa rw"
    ]  # fmt: skip
    example = (REPO / "docs" / "examples" / "station.toml").read_text()
    assert 'port = "/dev/serial0"' in example and 'display = "/dev/fb1"' in example


def test_the_rules_service_talks_to_this_host_only_unless_told():
    settings = _settings("hallwatch-rules.service")
    assert settings["IPAddressDeny"] == ["any"] and settings["IPAddressAllow"] == ["localhost"]


@pytest.mark.parametrize("unit", ["hallwatch-rules.service", "hallwatch-station.service"])
def test_the_broker_password_comes_as_a_systemd_credential(unit):
    [credential] = _settings(unit)["LoadCredential"]
    assert credential == "mqtt-password:/etc/hallwatch/mqtt-password"
    example = "rules.toml" if "rules" in unit else "station.toml"
    text = (REPO / "docs" / "examples" / example).read_text()
    assert f"/run/credentials/{unit}/mqtt-password" in text
