"""The command surface: every command in the tree answers --help with a working example,
the root's summaries are the commands' own, and all of it works on a core-only install."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest

from hallwatch.cli import EXTRA_OF_MODULE, SUBCOMMANDS, load, main
from tests.command_helpers import run_hallwatch
from tests.conftest import REPO
from tests.support.command_tree import CommandPath, command_paths, help_of
from tests.support.core_only.sitecustomize import HIDDEN

CORE_ONLY = REPO / "tests" / "support" / "core_only"
NOT_INSTALLED = "needs a component that is not installed"


def core_only_env() -> dict[str, str]:
    """This checkout, with every optional component hidden (see core_only/sitecustomize)."""
    return os.environ | {"PYTHONPATH": f"{CORE_ONLY}{os.pathsep}{REPO}"}


def examples(help_text: str) -> list[str]:
    """The `hallwatch ...` lines of the Example(s) block, continuation lines joined."""
    lines = help_text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() in ("Example:", "Examples:")]
    found: list[str] = []
    for start in starts:
        block = []
        for line in lines[start + 1 :]:
            if not line.strip():
                break
            block.append(line.strip())
        text = "\n".join(block).replace("\\\n", " ")
        found += [line for line in text.splitlines() if line.startswith("hallwatch ")]
    return found


def resolve(example: str) -> CommandPath:
    """The command path an example runs; fails on a word that names no command."""
    words = example.split()[1:]
    path: CommandPath = ()
    command: click.Command = main
    while words and isinstance(command, click.Group):
        word = words.pop(0)
        if word.startswith("-"):
            break
        sub = command.get_command(click.Context(command), word)
        assert sub is not None, f"{example!r}: no command {' '.join((*path, word))!r}"
        path, command = (*path, word), sub
    return path


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "hallwatch")
def test_every_command_has_help_with_an_example_of_itself(path):
    status, text = help_of(path)
    assert status == 0, text
    shown = examples(text)
    assert shown, f"'hallwatch {' '.join(path)} --help' has no Example: block"
    ran = [resolve(example) for example in shown]
    # A command's examples show that command; a group's show it or its subcommands.
    assert any(run[: len(path)] == path for run in ran), (path, shown)


def test_the_roots_summaries_are_the_commands_own():
    listed = {name: SUBCOMMANDS[name].summary for name in SUBCOMMANDS}
    own = {name: load(name).get_short_help_str(limit=1000) for name in SUBCOMMANDS}
    assert listed == own
    assert set(main.list_commands(click.Context(main))) == set(SUBCOMMANDS)


def test_every_help_works_on_a_core_only_install():
    walked = subprocess.run(
        [sys.executable, "-m", "tests.support.command_tree"],
        env=core_only_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert walked.returncode == 0, walked.stderr
    helps = {tuple(path.split()): result for path, result in json.loads(walked.stdout).items()}
    assert set(helps) == set(command_paths())
    failed = {path: text for path, (status, text) in helps.items() if status != 0}
    assert failed == {}
    # The same help as with every extra installed.
    assert all(text == help_of(path)[1] for path, (_, text) in helps.items())


def test_the_hider_hides_what_the_extras_install():
    hidden = subprocess.run(
        [sys.executable, "-c", "import numpy"], env=core_only_env(), capture_output=True
    )
    assert hidden.returncode == 1 and b"No module named 'numpy'" in hidden.stderr
    # Every hidden module has an extra to name, and each named extra is a real one.
    assert set(EXTRA_OF_MODULE) >= HIDDEN
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert set(EXTRA_OF_MODULE.values()) <= set(extras)


def test_hallwatch_help_imports_no_optional_component():
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "hallwatch", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    imported = {
        line.rsplit("|", 1)[1].strip().partition(".")[0]
        for line in run.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "click" in imported  # the listing is real
    assert imported & set(EXTRA_OF_MODULE) == set()


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def real_runs(tmp_path) -> list[tuple[list[str], str]]:
    """Commands run for real, each as far as its first optional component, and its extra."""
    station = _write(
        tmp_path / "station.toml",
        f'site = "hall-01"\ndevice = "st-01"\ndata_dir = "{tmp_path / "station"}"\n',
    )
    agent = _write(
        tmp_path / "agent.toml",
        f'site = "hall-01"\ndevice = "ws-01"\njournal = "{tmp_path / "activity.db"}"\n',
    )
    policy = _write(tmp_path / "policy.toml", "")
    photo = _write(tmp_path / "photo.jpg", "not really a photo")
    faces = tmp_path / "faces"
    (faces / "identities").mkdir(parents=True)
    rules_db = ["--db", str(tmp_path / "rules.db"), "--policy", str(policy)]
    return [
        (["station", "--config", str(station), "--no-keys"], "station"),
        (["agent", "--config", str(agent), "--seconds", "0"], "agent"),
        (["enrol", "S017", str(photo), "--models-dir", str(tmp_path)], "station"),
        (["identify", str(photo)], "station"),
        (["models", "eval", "--faces", str(faces), "--models-dir", str(tmp_path)], "station"),
        (["finger", "list", "--port", "/dev/null"], "station"),
        (["finger", "emulate"], "station"),
        (["demo", "--out", str(tmp_path / "demo")], "station"),
        (["violations", "--db", "postgresql://127.0.0.1/test", "--policy", str(policy)], "rules"),
        (["score", "--month", "2026-11", "--xlsx", str(tmp_path / "s.xlsx"), *rules_db], "rules"),
    ]


def test_running_a_command_without_its_extra_names_the_extra(real_runs):
    for args, extra in real_runs:
        run = run_hallwatch(*args, env=core_only_env(), stdin=subprocess.DEVNULL)
        assert run.returncode == 1, (args, run.stdout, run.stderr)
        assert "Traceback" not in run.stderr, (args, run.stderr)
        assert NOT_INSTALLED in run.stderr, (args, run.stderr)
        assert re.search(rf"pip install 'hallwatch\[{extra}\]'", run.stderr), (args, run.stderr)
        assert f"'hallwatch {args[0]}'" in run.stderr
