"""Credentials stay secret (issue 13, finding 9): no password in plaintext to another host
unless the configuration says so, none on a command line, none in an error message."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from base.config import ConfigError, validate
from mqtt.client import BrokerConfig, ConnectError, MqttClient
from rules.service import ServiceConfig
from tests.conftest import REPO
from tests.mqtt_helpers import client, clock_event


def _non_loopback_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.254", 9))  # no packet is sent: it picks the outgoing address
        address = probe.getsockname()[0]
    if address.startswith("127."):
        pytest.skip("this machine has no address but the loopback")
    return address


class Eavesdropper:
    """A TCP listener on the network address that keeps whatever a client sends it."""

    def __init__(self, address: str) -> None:
        self.server = socket.create_server((address, 0))
        self.port = self.server.getsockname()[1]
        self.received = b""
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            conn.settimeout(2)
            try:
                while chunk := conn.recv(4096):
                    self.received += chunk
            except OSError:
                pass


def test_a_password_is_never_sent_in_plaintext_to_another_host():
    address = _non_loopback_address()
    spy = Eavesdropper(address)
    broker = {"host": address, "port": spy.port, "username": "rules", "password": "s3cret-pw"}
    with pytest.raises(ConfigError, match=r"tls = false") as err:
        validate(ServiceConfig, {"broker": broker, "rules": {"db": "r.db", "policy": "p"}}, "f")
    assert "s3cret-pw" not in str(err.value)
    time.sleep(0.2)
    assert spy.received == b""
    # Said explicitly (a trusted network, a tunnel): the operator's choice, and it connects.
    explicit = BrokerConfig.model_validate({**broker, "tls": False})
    MqttClient(explicit, "plain").start(wait_s=None)
    deadline = time.monotonic() + 5
    while b"s3cret-pw" not in spy.received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert b"s3cret-pw" in spy.received


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.1.1"])
def test_the_loopback_needs_no_tls(host):
    assert BrokerConfig(host=host, username="rules", password="pw").tls is None


def test_the_watch_command_takes_passwords_from_the_environment_or_a_file(
    hardened_broker, tmp_path
):
    b = hardened_broker
    command = [sys.executable, "-m", "hallwatch", "watch", "--port", str(b.port)]
    command += ["--username", "viewer", "--count", "1"]
    refused = subprocess.run(
        [*command, "--password", b.password("viewer")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
    )
    assert refused.returncode == 2 and "No such option '--password'" in refused.stderr
    secret = tmp_path / "mqtt-password"
    secret.write_text(b.password("viewer") + "\n")
    ways = {
        "file": (["--password-file", str(secret)], {}),
        "environment": ([], {"HALLWATCH_MQTT_PASSWORD": b.password("viewer")}),
    }
    for extra, env in ways.values():
        watcher = subprocess.Popen(
            [*command, *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env={**os.environ, **env},
        )
        try:
            time.sleep(1.5)
            user = "hall-01.st-01"
            with client(b.port, "st-01", user, b.password(user)) as st01:
                st01.publish_event(clock_event("hall-01", "st-01", 1)).wait_for_publish(5)
            out, err = watcher.communicate(timeout=20)
        finally:
            watcher.kill()
        assert watcher.returncode == 0, err
        assert "clock_in" in out


def test_a_service_reads_its_password_from_a_credentials_file(hardened_broker, tmp_path):
    """What systemd's LoadCredential= gives a unit: a file only it can read."""
    b = hardened_broker
    secret = tmp_path / "mqtt-password"
    secret.write_text(b.password("rules") + "\n")
    config = BrokerConfig(port=b.port, username="rules", password_file=secret)
    with MqttClient(config, "rules") as rules:
        assert rules.connected.is_set()
    absent = config.model_copy(update={"password_file": tmp_path / "absent"})
    with pytest.raises(ConnectError, match="cannot read the MQTT password file"):
        MqttClient(absent, "rules")
    with pytest.raises(ConfigError, match="password or password_file, not both"):
        validate(BrokerConfig, {"password": "x", "password_file": str(secret)}, "f")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://hallwatch:s3cr/et@db.example/hallwatch",
        "postgresql://hallwatch:s3c@ret@db.example/hallwatch",
        "postgres://hallwatch:s3cret@db.example:5432/hallwatch?sslmode=require",
    ],
)
def test_no_database_password_in_a_configuration_error(url):
    with pytest.raises(ConfigError) as err:
        validate(ServiceConfig, {"rules": {"db": [url], "policy": "p.toml"}}, "rules.toml")
    assert "s3c" not in str(err.value) and "et@" not in str(err.value)
    assert "db.example" in str(err.value)  # still says which database
