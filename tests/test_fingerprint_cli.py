"""`hallwatch finger ...` against an emulated sensor, as an operator would use it."""

from __future__ import annotations

import json
import stat
from datetime import datetime
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from drivers.fingerprint.emulator import SensorEmulator
from drivers.fingerprint.synthetic import TouchQuality
from hallwatch.cli import main


def run(*args: str, input: str | None = None, password: str | None = None) -> tuple[int, str]:
    # The sensor's password comes from the environment (never the command line).
    env = {"HALLWATCH_FINGER_PASSWORD": password}
    result = CliRunner().invoke(main, ["finger", *args], input=input, env=env)
    return result.exit_code, result.output


def test_enroll_identify_list_export_import_delete(tmp_path):
    with SensorEmulator(password=0xBEEF) as first, SensorEmulator(capacity=20) as second:
        opts = ["--port", first.port, "--data-dir", str(tmp_path / "a")]
        first.place_finger("alice-index", touches=2)
        code, out = run("enrol", "alice", *opts, password="0xBEEF")
        assert code == 0, out
        assert "Place the same finger again." in out and "enrolled alice in slot 0" in out

        first.place_finger("alice-index")
        code, out = run("identify", "--json", *opts, password="0xBEEF")
        assert code == 0 and json.loads(out)["match"]["staff_id"] == "alice"
        first.place_finger("bob-index")
        code, out = run("identify", *opts, password="0xBEEF")
        assert code == 0 and "no match" in out

        code, out = run("list", "--json", *opts, password="0xBEEF")
        listing = json.loads(out)
        assert (listing["used"], listing["capacity"]) == (1, 1000)
        assert listing["slots"][0]["staff_id"] == "alice"

        backup = tmp_path / "backup.json"
        code, out = run("export", str(backup), *opts, password="0xBEEF")
        assert code == 0 and "exported 1 templates" in out
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600

        other = ["--port", second.port, "--data-dir", str(tmp_path / "b")]
        code, out = run("import", str(backup), "--json", *other)
        assert code == 0 and json.loads(out)["installed"] == [["alice", 0]]
        second.place_finger("alice-index")
        code, out = run("identify", *other)
        assert "alice (slot 0" in out

        code, out = run("delete", "alice", *opts, password="0xBEEF")
        assert code == 0 and "deleted alice: slots 0" in out
        assert first.template_slots == []


def test_errors_are_one_clear_line_and_a_failure_code(tmp_path):
    with SensorEmulator(password=5) as emu:
        opts = ["--port", emu.port, "--data-dir", str(tmp_path)]
        code, out = run("list", *opts)
        assert code == 1 and "refused the configured password" in out
        assert "Traceback" not in out

        emu.place_finger("x", TouchQuality.SMUDGED)
        code, out = run("identify", *opts, password="5")
        assert code == 1 and "clean the sensor window" in out

        code, out = run("delete", "nobody", *opts, password="5")
        assert code == 1 and "no finger is enrolled for staff nobody" in out
        code, out = run("delete", *opts, password="5")
        assert code == 2 and "either a STAFF_ID or --slot" in out
        code, out = run("list", *opts, password="zero")
        assert code == 2 and "not an integer" in out

    code, out = run("list", "--port", str(tmp_path / "ttyNONE"), "--data-dir", str(tmp_path))
    assert code == 1 and "no fingerprint sensor on" in out


def test_config_file_supplies_settings_and_bad_config_is_explained(tmp_path):
    with SensorEmulator(password=0x10) as emu:
        config = tmp_path / "station.toml"
        config.write_text(
            f'[fingerprint]\nport = "{emu.port}"\npassword = 0x10\ndata_dir = "{tmp_path}"\n'
            "[camera]\nindex = 0\n"
        )
        code, out = run("list", "--config", str(config))
        assert code == 0 and "0 of 1000 template slots used" in out

        config.write_text('[fingerprint]\npassword = -1\nportt = "x"\n')
        code, out = run("list", "--config", str(config))
        assert code == 1
        assert "fingerprint.password" in out and "fingerprint.portt': unknown key" in out


def test_enrolment_times_are_listed_in_the_halls_zone(tmp_path):
    with SensorEmulator() as emu:
        config = tmp_path / "station.toml"
        config.write_text(
            f'timezone = "Asia/Kolkata"\n[fingerprint]\nport = "{emu.port}"\n'
            f'data_dir = "{tmp_path}"\n'
        )
        emu.place_finger("alice-index", touches=2)
        assert run("enrol", "alice", "--config", str(config))[0] == 0
        _, out = run("list", "--json", "--config", str(config))
        enrolled = datetime.fromisoformat(json.loads(out)["slots"][0]["enrolled_at"])
        assert enrolled.utcoffset() is not None  # machines: ISO 8601 with the offset
        _, out = run("list", "--config", str(config))
        assert (
            enrolled.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%Y-%m-%d %H:%M +05:30") in out
        )
        _, out = run("list", "--config", str(config), "--tz", "Asia/Shanghai")
        assert (
            enrolled.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M +08:00") in out
        )
        code, out = run("list", "--config", str(config), "--tz", "Mars/Olympus")
        assert code == 2 and "unknown time zone 'Mars/Olympus'" in out


def test_emulate_console(tmp_path):
    code, out = run(
        "emulate",
        "--capacity",
        "50",
        input="status\nplace alice light 2\nfault silence 3\nfault nope\nunplug\nstatus\nquit\n",
    )
    assert code == 0, out
    assert "plugged_in=True templates=0" in out
    assert "finger alice placed (light)" in out
    assert "fault silence on for 3 commands" in out
    assert "error: fault must be silence|corrupt-checksum" in out
    assert "plugged_in=False" in out

    code, out = run("emulate", "--json", input="place bob\nfault\nquit\n")
    first, placed, refused = (json.loads(line) for line in out.splitlines())
    assert first["plugged_in"] is True and first["port"].endswith("ttyFINGER0")
    assert placed == {"reply": "finger bob placed (good)"}
    assert "cannot understand 'fault'" in refused["error"]


def test_every_command_has_help_with_an_example():
    for command in ("enrol", "identify", "list", "delete", "export", "import", "emulate"):
        code, out = run(command, "--help")
        assert code == 0 and "Example:" in out and "hallwatch finger" in out
