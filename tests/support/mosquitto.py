"""Private Mosquitto brokers for tests that need their own configuration."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mqtt.broker import Deployment, Listeners, setup


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port} after {timeout_s}s")


def make_ca(directory: Path) -> Listeners:
    """A throw-away CA and a broker certificate for 127.0.0.1 / localhost (openssl)."""
    directory.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=hallwatch test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "broker.key",
        "-out",
        "broker.csr",
    )
    (directory / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl(
        "x509",
        "-req",
        "-in",
        "broker.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "broker.crt",
    )
    return Listeners(
        local_port=free_port(),
        tls_port=free_port(),
        websockets_port=free_port(),
        ca_file=directory / "ca.crt",
        cert_file=directory / "broker.crt",
        key_file=directory / "broker.key",
    )


class Mosquitto:
    """A real mosquitto process with a hallwatch deployment's generated configuration."""

    def __init__(self, deployment: Deployment, workdir: Path) -> None:
        self.workdir = workdir
        self.deployment = deployment.model_copy(
            update={
                "conf_dir": workdir / "conf",
                "data_dir": workdir / "data",
                "run_as": getpass.getuser(),
            }
        )
        self.credentials = workdir / "credentials"
        self.files = setup(self.deployment, self.deployment.conf_dir, self.credentials).written
        self.process: subprocess.Popen | None = None

    @property
    def port(self) -> int:
        return self.deployment.listeners.local_port

    def password(self, user: str) -> str:
        import tomllib

        cred = self.credentials / f"{user}.toml"
        return tomllib.loads(cred.read_text())["broker"]["password"]

    def start(self) -> Mosquitto:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        log = (self.workdir / "mosquitto.log").open("ab")
        self.process = subprocess.Popen(
            [binary, "-c", str(self.files["conf"])], stdout=log, stderr=log
        )
        try:
            wait_for_port(self.port)
            wait_for_port(self.deployment.listeners.tls_port)
        except TimeoutError:
            self.stop()
            raise RuntimeError((self.workdir / "mosquitto.log").read_text()) from None
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def anonymous_broker(
    workdir: Path, port: int | None = None, *, persistence: bool = False
) -> Iterator[int]:
    """A private Mosquitto without accounts (queues raised as in production); its port.

    With `persistence`, retained messages and sessions live in `workdir` (as in
    production): a broker started again there with the same port is a restart."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "mosquitto.conf"
    kept = (
        f"persistence true\npersistence_location {workdir}/\nuser {getpass.getuser()}\n"
        if persistence
        else "persistence false\n"
    )
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\n{kept}"
        "max_queued_messages 1000000\nmax_inflight_messages 1000\n"
    )
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    with (workdir / "mosquitto.log").open("ab") as log:
        process = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=log)
    try:
        wait_for_port(port)
        yield port
    finally:
        process.terminate()
        process.wait(10)
