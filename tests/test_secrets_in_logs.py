"""No secret in logs: a rules service refused by the broker says why, never with what."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_a_refused_rules_service_names_the_problem_not_the_password(tmp_path, hardened_broker):
    b = hardened_broker
    wrong = "not-the-password-0f9e8d7c"
    (tmp_path / "policy.toml").write_text("")
    config = tmp_path / "rules.toml"
    config.write_text(
        f'[broker]\nport = {b.port}\nusername = "rules"\npassword = "{wrong}"\n'
        f'[rules]\ndb = "{tmp_path / "rules.db"}"\npolicy = "{tmp_path / "policy.toml"}"\n'
    )
    hallwatch = Path(sys.executable).with_name("hallwatch")
    result = subprocess.run(
        [str(hallwatch), "rules", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "cannot connect to the MQTT broker" in output and "ot authori" in output, output
    assert wrong not in output and b.password("rules") not in output
    broker_log = (b.workdir / "mosquitto.log").read_text()
    assert wrong not in broker_log and b.password("rules") not in broker_log
