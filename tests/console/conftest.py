"""The console's tests run a real console in Debian's chromium (tests/support/browser.py)."""

import pytest

from mqtt.broker import Deployment, DeviceAccount, ServiceAccount
from tests.support.browser import (  # noqa: F401  (fixtures)
    browser,
    browser_page,
    console_server,
    screenshot,
    signed_in,
)
from tests.support.mosquitto import Mosquitto
from tests.support.mosquitto import free_port as broker_port


@pytest.fixture
def broker(tmp_path, test_ca):
    """A real Mosquitto with the production ACL: a station at each of two halls, and the
    central accounts the console meets (docs/console.md): `rules`, the read-only `console`
    it watches with, and `manager`, which it announces managers' actions with."""
    listeners = test_ca.model_copy(
        update={"local_port": broker_port(), "tls_port": broker_port(), "websockets_port": None}
    )
    deployment = Deployment(
        listeners=listeners,
        devices=[DeviceAccount(site=site, id="st-01") for site in ("hall-01", "hall-02")],
        services=[
            ServiceAccount(name="rules", role="rules"),
            ServiceAccount(name="console", role="viewer"),
            ServiceAccount(name="manager", role="manager"),
        ],
    )
    with Mosquitto(deployment, tmp_path / "broker") as running:
        yield running
