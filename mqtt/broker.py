"""A hardened Mosquitto setup: configuration, per-device credentials and ACLs.

`hallwatch broker setup` renders, from one deployment file listing the devices:

    mosquitto.conf   listeners (local, TLS, websockets), persistence, raised queue limits
    acl              each device publishes only under its own topics, reads only its config
    passwd           hashed by mosquitto_passwd; anonymous clients are refused
    credentials/     one 0600 file per account, to provision the device with

Passwords already issued are kept on a re-run, so adding a device never locks out others.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Annotated, Literal

import pydantic

from base.config import ConfigError, Section, load_toml
from base.identifiers import NodeId
from base.private_files import create_private_file
from mqtt.topics import CENTRAL, ROOT, Kind, device_topic

Port = Annotated[int, pydantic.Field(ge=1, le=65535)]

# A default Mosquitto keeps only 1,000 queued QoS 1 messages per client and silently drops
# the rest for a subscriber that falls behind (BRIEF.md): a rules service restarting during
# a busy hour would lose punches. Queue generously instead, bounded by memory.
MAX_QUEUED_MESSAGES = 1_000_000


class DeviceAccount(Section):
    """A device's broker account (`[[devices]]`): its user name is site.id."""

    site: NodeId = pydantic.Field(description="The site the device belongs to.")
    id: NodeId = pydantic.Field(
        description="The device id, unique in its site, as in the device's own config file."
    )
    role: Literal["station", "agent"] = pydantic.Field(
        "station",
        description=(
            "What the device may publish under its own topics: a station status, punches, "
            "alerts and acks; an agent status, activity, alerts and acks."
        ),
    )

    @property
    def username(self) -> str:
        return f"{self.site}.{self.id}"


class ServiceAccount(Section):
    """A central service's broker account (`[[services]]`)."""

    name: NodeId = pydantic.Field(description="The account's user name.")
    role: Literal["rules", "viewer"] = pydantic.Field(
        description=(
            "rules: reads everything and publishes results and device config; viewer: reads "
            "everything (the live feed), publishes nothing."
        )
    )


class Listeners(Section):
    """Where the broker listens: locally for services, with TLS for devices and browsers."""

    local_address: str = pydantic.Field(
        "127.0.0.1",
        description="The address of the plain listener: keep it local, it has no TLS.",
    )
    local_port: Port = pydantic.Field(
        1883, description="The plain listener's port, for services on the broker host (rules)."
    )
    tls_port: Port = pydantic.Field(
        8883, description="The TLS listener's port, on every interface: devices over the network."
    )
    websockets_port: Port | None = pydantic.Field(
        9001,
        description=(
            "The secure-websockets listener's port, for browser live views (same "
            "certificate). Unset: no websockets listener."
        ),
    )
    ca_file: Path = pydantic.Field(
        Path("/etc/hallwatch/tls/ca.crt"),
        description="The CA certificate the devices trust (PEM), on the broker host.",
    )
    cert_file: Path = pydantic.Field(
        Path("/etc/hallwatch/tls/broker.crt"),
        description="The broker's certificate (PEM), signed by that CA.",
    )
    key_file: Path = pydantic.Field(
        Path("/etc/hallwatch/tls/broker.key"),
        description="The broker certificate's private key (PEM), readable by `run_as` only.",
    )


class Deployment(Section):
    """The deployment file (`hallwatch broker setup FILE --out DIR`): who may connect, and
    where the broker keeps its files."""

    conf_dir: Path = pydantic.Field(
        Path("/etc/mosquitto/hallwatch"),
        description=(
            "Where the rendered files will live on the broker host: mosquitto.conf names "
            "its passwd and acl there."
        ),
    )
    data_dir: Path = pydantic.Field(
        Path("/var/lib/mosquitto/"),
        description="Where Mosquitto keeps its persistence file (sessions and queued messages).",
    )
    run_as: str = pydantic.Field(
        "mosquitto", description="The system user Mosquitto drops to after start."
    )
    listeners: Listeners = pydantic.Field(Listeners(), description="The broker's listeners.")
    devices: list[DeviceAccount] = pydantic.Field(
        [], description="One account per station and workstation agent."
    )
    services: list[ServiceAccount] = pydantic.Field(
        [
            ServiceAccount(name="rules", role="rules"),
            ServiceAccount(name="viewer", role="viewer"),
        ],
        description="The central accounts: the rules service and the live-feed viewer.",
    )

    @pydantic.model_validator(mode="after")
    def _unique_accounts(self) -> Deployment:
        names = [d.username for d in self.devices] + [s.name for s in self.services]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate accounts: {', '.join(dupes)}")
        if any(d.id == CENTRAL for d in self.devices):
            raise ValueError(f"'{CENTRAL}' is reserved and cannot be a device id")
        return self


def render_conf(dep: Deployment) -> str:
    """mosquitto.conf for the deployment."""
    lst = dep.listeners
    tls = (
        f"cafile {lst.ca_file}\ncertfile {lst.cert_file}\nkeyfile {lst.key_file}\n"
        "tls_version tlsv1.2\n"
    )
    ws = ""
    if lst.websockets_port is not None:
        # Mosquitto 2.0's libwebsockets listener ignores a bind address: it listens on all
        # interfaces, and it only starts beside a normal listener (upstream #2284, #3045).
        ws = f"\n# Browser clients (MQTT over secure websockets).\nlistener {lst.websockets_port}\nprotocol websockets\n{tls}"
    return f"""# hallwatch broker configuration (generated by `hallwatch broker setup`; edit the deployment file instead).
user {dep.run_as}
per_listener_settings false
allow_anonymous false
password_file {dep.conf_dir / "passwd"}
acl_file {dep.conf_dir / "acl"}

persistence true
persistence_location {dep.data_dir}/
autosave_interval 30
persistent_client_expiration 30d

max_queued_messages {MAX_QUEUED_MESSAGES}
max_queued_bytes 0
max_inflight_messages 100
# Config messages carry face templates for a gallery update.
max_packet_size 9000000
set_tcp_nodelay true

# Services on the broker host.
listener {lst.local_port} {lst.local_address}

# Devices over the network: TLS only.
listener {lst.tls_port}
{tls}{ws}"""


# What each kind of device may publish; everything else is denied.
ROLE_PUBLISHES: dict[str, tuple[Kind, ...]] = {
    "station": (Kind.STATUS, Kind.CLOCK, Kind.ALERT, Kind.ACK),
    "agent": (Kind.STATUS, Kind.ACTIVITY, Kind.ALERT, Kind.ACK),
}


def _device_acl(device: DeviceAccount) -> list[str]:
    lines = [f"user {device.username}"]
    lines += [
        f"topic write {device_topic(device.site, device.id, k)}"
        for k in ROLE_PUBLISHES[device.role]
    ]
    lines.append(f"topic read {device_topic(device.site, device.id, Kind.CONFIG)}")
    return lines


def _service_acl(service: ServiceAccount) -> list[str]:
    lines = [f"user {service.name}", f"topic read {ROOT}/#"]
    if service.role == "rules":
        lines += [f"topic write {ROOT}/+/{CENTRAL}/#", f"topic write {ROOT}/+/+/{Kind.CONFIG}"]
    return lines


def render_acl(dep: Deployment) -> str:
    blocks = [_device_acl(d) for d in dep.devices] + [_service_acl(s) for s in dep.services]
    header = "# hallwatch ACL (generated). Anything not granted here is denied.\n"
    return header + "\n\n".join("\n".join(b) for b in blocks) + "\n"


def _read_credential(path: Path) -> str | None:
    try:
        return tomllib.loads(path.read_text())["broker"]["password"]
    except (FileNotFoundError, KeyError, tomllib.TOMLDecodeError):
        return None


def setup(dep: Deployment, out_dir: Path) -> dict[str, Path]:
    """Write conf, ACL, hashed password file and per-account credentials into `out_dir`."""
    mosquitto_passwd = shutil.which("mosquitto_passwd")
    if mosquitto_passwd is None:
        raise ConfigError("mosquitto_passwd not found: install Debian's mosquitto package")
    out_dir.mkdir(parents=True, exist_ok=True)
    creds_dir = out_dir / "credentials"
    creds_dir.mkdir(exist_ok=True, mode=0o700)
    accounts = [d.username for d in dep.devices] + [s.name for s in dep.services]
    passwords: dict[str, str] = {}
    for user in accounts:
        cred = creds_dir / f"{user}.toml"
        password = _read_credential(cred) or secrets.token_urlsafe(24)
        passwords[user] = password
        create_private_file(cred).write_text(
            f'[broker]\nusername = "{user}"\npassword = "{password}"\n'
        )
    passwd = create_private_file(out_dir / "passwd")
    passwd.write_text("".join(f"{u}:{p}\n" for u, p in passwords.items()))
    subprocess.run([mosquitto_passwd, "-U", str(passwd)], check=True, capture_output=True)
    conf = out_dir / "mosquitto.conf"
    conf.write_text(render_conf(dep))
    acl = out_dir / "acl"
    acl.write_text(render_acl(dep))
    return {"conf": conf, "acl": acl, "passwd": passwd, "credentials": creds_dir}


def load_deployment(path: Path) -> Deployment:
    return load_toml(Deployment, path)
