"""The example configurations in docs/ are valid: what operators copy must work."""

from __future__ import annotations

import pytest

from base.config import load_toml
from edge.agent.config import AgentConfig
from edge.station.config import StationConfig
from hallwatch.console.config import ConsoleConfig
from mqtt.broker import Deployment
from rules.policy import Policy
from rules.service import ServiceConfig
from tests.conftest import REPO

EXAMPLES = {
    "docs/examples/station.toml": StationConfig,
    "docs/examples/agent.toml": AgentConfig,
    "docs/examples/rules.toml": ServiceConfig,
    "docs/examples/manager.toml": ServiceConfig,
    "docs/examples/policy.toml": Policy,
    "docs/examples/console.toml": ConsoleConfig,
    "systemd/mosquitto/deployment.example.toml": Deployment,
}


@pytest.mark.parametrize(("path", "model"), EXAMPLES.items())
def test_example_configuration_is_valid(path, model):
    assert isinstance(load_toml(model, REPO / path), model)


def test_every_example_is_checked():
    shipped = {str(p.relative_to(REPO)) for p in (REPO / "docs" / "examples").glob("*.toml")}
    assert shipped <= set(EXAMPLES)
