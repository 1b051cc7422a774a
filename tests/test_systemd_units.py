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
