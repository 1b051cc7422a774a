"""Configuration files fail loudly and precisely: file, key, expectation."""

from __future__ import annotations

import pytest

from base.config import ConfigError, load_toml
from mqtt.broker import Deployment


def _load(tmp_path, text: str):
    path = tmp_path / "deploy.toml"
    path.write_text(text)
    return load_toml(Deployment, path), path


def test_valid_file_becomes_typed_objects(tmp_path):
    dep, _ = _load(
        tmp_path, '[listeners]\ntls_port = 8884\n[[devices]]\nsite = "hall-01"\nid = "st-01"\n'
    )
    assert dep.listeners.tls_port == 8884
    assert dep.devices[0].username == "hall-01.st-01"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[listeners]\ntls_prot = 8884\n", "key 'listeners.tls_prot': unknown key"),
        (
            '[listeners]\ntls_port = "high"\n',
            "key 'listeners.tls_port': input should be a valid integer",
        ),
        ("[listeners]\ntls_port = 70000\n", "key 'listeners.tls_port'"),
        ('[[devices]]\nsite = "hall-01"\n', "key 'devices.0.id': missing (required)"),
        ('[[devices]]\nsite = "Hall 1"\nid = "a"\n', "key 'devices.0.site'"),
        (
            '[[devices]]\nsite = "h"\nid = "a"\n[[devices]]\nsite = "h"\nid = "a"\n',
            "duplicate accounts: h.a",
        ),
        ("listeners = [", "not valid TOML"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path, text, expected):
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, text)
    assert str(tmp_path / "deploy.toml") in str(err.value)
    assert expected in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_toml(Deployment, tmp_path / "nope.toml")


def test_errors_never_echo_secrets(tmp_path):
    from rules.service import ServiceConfig

    path = tmp_path / "rules.toml"
    path.write_text(
        '[broker]\npassword = 12\n[rules]\ndb = "mysql://hall:s3cr3t@db/x"\npolicy = "p.toml"\n'
    )
    with pytest.raises(ConfigError) as err:
        load_toml(ServiceConfig, path)
    text = str(err.value)
    assert "s3cr3t" not in text and "12" not in text.split("password")[1][:40]
    assert "key 'rules.db'" in text and "hall:***@db" in text


def test_session_times_are_local_times_of_day():
    from base.config import validate
    from base.schedule import Session

    with pytest.raises(ConfigError, match="local time of day"):
        validate(Session, {"start": 0, "end": "12:00"}, "policy.toml")
    assert validate(Session, {"start": "09:00", "end": "12:00"}, "policy.toml").end.hour == 12
