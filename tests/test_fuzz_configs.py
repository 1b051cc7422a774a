"""Every config loader, fuzzed: any mutation of a valid file loads or fails with a
ConfigError naming the file and each bad key; nothing else escapes."""

from __future__ import annotations

import tomllib

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from base.config import ConfigError, load_toml, validate
from edge.agent.config import AgentConfig
from edge.station.config import StationConfig
from mqtt.broker import Deployment
from rules.policy import Policy
from rules.service import ServiceConfig
from tests.conftest import REPO
from tests.fuzz_helpers import mutated, toml_values


def example(relative: str) -> dict:
    return tomllib.loads((REPO / relative).read_text())


BASES: dict[str, tuple[type[pydantic.BaseModel], dict]] = {
    "station": (
        StationConfig,
        {
            "site": "hall-01",
            "device": "st-01",
            "identify": "face",
            "sessions": [{"start": "09:00", "end": "12:00"}],
            "broker": {"port": 8883, "username": "hall-01.st-01", "password": "pw"},
        },
    ),
    "agent": (
        AgentConfig,
        {"site": "hall-01", "device": "ws-01", "users": {"clerk": "S001"}, "categories": []},
    ),
    "policy": (Policy, example("docs/examples/policy.toml")),
    "rules service": (ServiceConfig, example("docs/examples/rules.toml")),
    "broker deployment": (Deployment, example("systemd/mosquitto/deployment.example.toml")),
}


def loads_or_explains(model: type[pydantic.BaseModel], data: dict) -> None:
    try:
        validate(model, data, "fuzzed.toml")
    except ConfigError as exc:
        head, *problems = str(exc).split("\n")
        assert head == "fuzzed.toml: invalid configuration"
        assert problems and all(line.startswith("  key '") for line in problems), str(exc)
        assert all(line.isprintable() for line in problems), str(exc)  # nothing garbled


@pytest.mark.parametrize("name", list(BASES))
def test_the_seeds_are_valid(name):
    model, base = BASES[name]
    validate(model, base, name)


@pytest.mark.parametrize("name", list(BASES))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_mutation_of_a_config_loads_or_is_explained(name, data):
    model, base = BASES[name]
    loads_or_explains(model, data.draw(mutated(base, toml_values)))


@pytest.mark.parametrize("name", list(BASES))
@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=200))
def test_any_file_text_loads_or_is_explained(tmp_path_factory, name, text):
    path = tmp_path_factory.mktemp("cfg") / "fuzzed.toml"
    path.write_text(text, encoding="utf-8")
    model, _ = BASES[name]
    try:
        load_toml(model, path)  # an empty policy is valid: every default
    except ConfigError as exc:
        assert str(exc).startswith(f"{path}: ")
        assert all(line.isprintable() for line in str(exc).split("\n")), str(exc)


@pytest.mark.parametrize("name", ["station", "rules service"])
@settings(max_examples=40, deadline=None)
@given(secret=st.text(max_size=20).filter(str.isprintable).map(lambda t: f"s3cr3t-{t}"))
def test_a_mistyped_password_is_never_echoed(name, secret):
    model, base = BASES[name]
    broker = {**base.get("broker", {}), "password": [secret]}  # a list, not a string
    with pytest.raises(ConfigError) as err:
        validate(model, {**base, "broker": broker}, "fuzzed.toml")
    assert "key 'broker.password'" in str(err.value)
    assert secret not in str(err.value)
