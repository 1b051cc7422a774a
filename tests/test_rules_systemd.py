"""The rules service unit is valid for systemd and starts a command that exists."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from hallwatch.cli import main

UNIT = Path(__file__).resolve().parent.parent / "systemd" / "hallwatch-rules.service"


def exec_start() -> list[str]:
    line = next(x for x in UNIT.read_text().splitlines() if x.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def test_unit_verifies_without_warnings(tmp_path):
    # The installed path does not exist here: point ExecStart at this venv's command.
    here = Path(sys.executable).with_name("hallwatch")
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace(exec_start()[0], str(here)))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert UNIT.name not in result.stderr, result.stderr  # unknown keys only warn


def test_exec_start_is_a_real_command_line(tmp_path):
    args = exec_start()[1:]
    assert args[:3] == ["rules", "run", "--config"]
    result = CliRunner().invoke(main, [*args[:3], str(tmp_path / "rules.toml")])
    assert result.exit_code != 0 and "no such configuration file" in result.output
