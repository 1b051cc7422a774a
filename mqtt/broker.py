"""A hardened Mosquitto setup: configuration, per-account credentials and access control.

`hallwatch broker setup` renders, from one deployment file listing the accounts:

    mosquitto.conf            listeners (local, TLS, websockets), persistence, bounded queues
    dynamic-security.json     accounts (hashed passwords) and what each may do, deny by default
    <credentials>/            one 0600 file per new account, to provision it with; outside
                              the broker's directory, and deleted once copied

Access is Mosquitto's dynamic-security plugin, not an ACL file: Mosquitto 2.0's ACL file
never checks subscriptions, so any account could join the rules service's `$share` group
and take a share of its messages. Every listener replaces the client id with the account
name, so no account can take over another's session. Hashes already issued are kept on a
re-run (also those of an earlier version's `passwd` file), so re-rendering never locks a
device out, even after its credentials file was deleted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pwd
import re
import secrets
import subprocess
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic

from base.config import ConfigError, Section, load_toml
from base.identifiers import NodeId
from base.private_files import write_private
from mqtt.schema import MAX_PAYLOAD_BYTES
from mqtt.topics import CENTRAL, CENTRAL_KINDS, LIVE_KINDS, ROOT, Kind, device_topic

Port = Annotated[int, pydantic.Field(ge=1, le=65535)]

DYNSEC_FILE = "dynamic-security.json"
# A default Mosquitto keeps only 1,000 queued QoS 1 messages per client and silently drops
# the rest for a subscriber that falls behind (BRIEF.md): a rules service restarting during
# a busy hour would lose punches. Queue generously instead, bounded in bytes as well, so a
# device flooding while the service is away cannot take the broker's memory.
MAX_QUEUED_MESSAGES = 1_000_000
MAX_QUEUED_BYTES = 256 * 1024 * 1024
# No message is larger than a payload the contract accepts (gallery updates are split to
# fit, mqtt/schema.py), plus the topic and the MQTT header.
MAX_PACKET_BYTES = MAX_PAYLOAD_BYTES + 1024
# Mosquitto's own PBKDF2-SHA512 iteration count: the passwords are 192 random bits, and
# every (re)connection of 2,000 devices pays the hash on the broker's single thread.
HASH_ITERATIONS = 101


def _default_plugin() -> Path:
    """Debian's path of the plugin for this machine's architecture."""
    triplet = sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu"
    return Path(f"/usr/lib/{triplet}/mosquitto_dynamic_security.so")


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
    """`rules`: one account per rules service instance; `manager`: the manager commands'
    announcements; `viewer`: one live view (each admin or browser its own: an account has
    one connection at a time)."""

    name: NodeId = pydantic.Field(description="The account's user name.")
    role: Literal["rules", "manager", "viewer"] = pydantic.Field(
        description=(
            "rules: reads what devices publish and publishes results and device config; "
            "manager: publishes the manager commands' announcements; viewer: reads what a live "
            "view needs, publishes nothing."
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
        8883, description="The TLS listener's port: devices over the network."
    )
    tls_address: str | None = pydantic.Field(
        None,
        description="The address the TLS listener binds (the hall network's interface). "
        "Unset: every interface.",
    )
    websockets_port: Port | None = pydantic.Field(
        9001,
        description=(
            "The secure-websockets listener's port, for browser live views (same "
            "certificate). Unset: no websockets listener."
        ),
    )
    websockets_address: str | None = pydantic.Field(
        None,
        description="The address the websockets listener binds. Unset: every interface. "
        "Mosquitto up to 2.0.11 (Debian 12's) ignores it and listens everywhere: "
        "`broker setup` warns then; firewall the port.",
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
    dynsec_plugin: Path = pydantic.Field(
        default_factory=_default_plugin,
        description=(
            "Mosquitto's dynamic-security plugin, which holds the accounts and their access "
            "(deny by default). Default: where Debian's mosquitto package puts it."
        ),
    )
    max_queued_bytes: Annotated[int, pydantic.Field(ge=1024 * 1024)] = pydantic.Field(
        MAX_QUEUED_BYTES,
        description=(
            "Bytes the broker queues for one client at most, so no account can exhaust its memory."
        ),
    )
    listeners: Listeners = pydantic.Field(Listeners(), description="The broker's listeners.")
    devices: list[DeviceAccount] = pydantic.Field(
        [], description="One account per station and workstation agent."
    )
    services: list[ServiceAccount] = pydantic.Field(
        [
            ServiceAccount(name="rules", role="rules"),
            ServiceAccount(name="manager", role="manager"),
            ServiceAccount(name="viewer", role="viewer"),
        ],
        description=(
            "The central accounts: one per rules service instance, the manager commands' "
            "account, and one per live view."
        ),
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

    @property
    def usernames(self) -> list[str]:
        return [d.username for d in self.devices] + [s.name for s in self.services]


def _address(address: str | None) -> str:
    return f" {address}" if address else ""


def render_conf(dep: Deployment, conf_dir: Path | None = None) -> str:
    """mosquitto.conf for the deployment, naming its access file in `conf_dir` (the
    deployment's by default)."""
    lst = dep.listeners
    tls = (
        f"cafile {lst.ca_file}\ncertfile {lst.cert_file}\nkeyfile {lst.key_file}\n"
        "tls_version tlsv1.2\n"
    )
    # Per listener: the client id is the account name, so no one takes over another's session.
    bound = "use_username_as_clientid true\n"
    ws = ""
    if lst.websockets_port is not None:
        # It only starts beside a normal listener (upstream #2284); up to 2.0.11 its
        # libwebsockets listener ignores the address (#3045): `setup` warns.
        ws = (
            "\n# Browser clients (MQTT over secure websockets).\n"
            f"listener {lst.websockets_port}{_address(lst.websockets_address)}\n"
            f"protocol websockets\n{bound}{tls}"
        )
    return f"""# hallwatch broker configuration (generated by `hallwatch broker setup`; edit the deployment file instead).
user {dep.run_as}
per_listener_settings false
allow_anonymous false
# Accounts and access (deny by default): {DYNSEC_FILE}.
plugin {dep.dynsec_plugin}
plugin_opt_config_file {(conf_dir or dep.conf_dir) / DYNSEC_FILE}

persistence true
persistence_location {dep.data_dir}/
autosave_interval 30
persistent_client_expiration 30d

max_queued_messages {MAX_QUEUED_MESSAGES}
max_queued_bytes {dep.max_queued_bytes}
max_inflight_messages 100
max_packet_size {MAX_PACKET_BYTES}
set_tcp_nodelay true

# Services on the broker host.
listener {lst.local_port} {lst.local_address}
{bound}
# Devices over the network: TLS only.
listener {lst.tls_port}{_address(lst.tls_address)}
{bound}{tls}{ws}"""


# What each kind of device may publish; everything else is denied.
ROLE_PUBLISHES: dict[str, tuple[Kind, ...]] = {
    "station": (Kind.STATUS, Kind.CLOCK, Kind.ALERT, Kind.ACK, Kind.ENROLMENT, Kind.RESENT),
    "agent": (Kind.STATUS, Kind.ACTIVITY, Kind.ALERT, Kind.ACK, Kind.RESENT),
}
# The results the manager commands announce.
MANAGER_PUBLISHES = (Kind.VIOLATION, Kind.CORRECTION, Kind.INSPECTION)


def _acl(kind: str, topic: str) -> dict[str, Any]:
    return {"acltype": kind, "topic": topic, "allow": True}


def _reads(topic_filter: str) -> list[dict[str, Any]]:
    """Subscribe to the filter (or inside it) and receive what it matches."""
    return [_acl("subscribePattern", topic_filter), _acl("publishClientReceive", topic_filter)]


def _any_source(kind: Kind) -> str:
    source = CENTRAL if kind in CENTRAL_KINDS else "+"
    return f"{ROOT}/+/{source}/{kind}"


def _device_role(device: DeviceAccount) -> dict[str, Any]:
    config = device_topic(device.site, device.id, Kind.CONFIG)
    command = device_topic(device.site, device.id, Kind.COMMAND)
    acls = [
        _acl("publishClientSend", device_topic(device.site, device.id, k))
        for k in ROLE_PUBLISHES[device.role]
    ]
    # Its own config, commands and status, literally: no wildcard, no `$share` group,
    # nothing of anyone else's. The status it reads back shows another device configured
    # with its id.
    status = device_topic(device.site, device.id, Kind.STATUS)
    acls += [
        acl
        for topic in (config, command, status)
        for acl in (_acl("subscribeLiteral", topic), _acl("publishClientReceive", topic))
    ]
    return {"rolename": f"device-{device.username}", "acls": acls}


SERVICE_ROLES: dict[str, list[dict[str, Any]]] = {
    # Everything devices send, alone or sharing the load in a `$share` group; it publishes
    # the results and the devices' config.
    "rules": [
        *_reads(f"{ROOT}/#"),
        _acl("subscribePattern", f"$share/+/{ROOT}/#"),
        _acl("publishClientSend", f"{ROOT}/+/{CENTRAL}/#"),
        _acl("publishClientSend", f"{ROOT}/+/+/{Kind.CONFIG}"),
        _acl("publishClientSend", f"{ROOT}/+/+/{Kind.COMMAND}"),
    ],
    "manager": [_acl("publishClientSend", _any_source(k)) for k in MANAGER_PUBLISHES],
    # A live view: punches, alerts, statuses and results; no face templates (config), no
    # computer activity, no rejected payloads.
    "viewer": [acl for kind in LIVE_KINDS for acl in _reads(_any_source(kind))],
}


@dataclass(frozen=True, slots=True)
class PasswordHash:
    """A password as the plugin keeps it: PBKDF2-SHA512, base64."""

    password: str
    salt: str
    iterations: int

    @classmethod
    def of(cls, plain: str) -> PasswordHash:
        salt = secrets.token_bytes(12)
        digest = hashlib.pbkdf2_hmac("sha512", plain.encode(), salt, HASH_ITERATIONS)
        return cls(_b64(digest), _b64(salt), HASH_ITERATIONS)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _role_name(dep: Deployment, user: str) -> str:
    for service in dep.services:
        if service.name == user:
            return f"service-{service.role}"
    return f"device-{user}"


def render_access(dep: Deployment, hashes: dict[str, PasswordHash]) -> str:
    """dynamic-security.json: accounts with `hashes` (those without cannot log in), roles."""
    clients = []
    for user in dep.usernames:
        entry: dict[str, Any] = {"username": user, "roles": [{"rolename": _role_name(dep, user)}]}
        if user in hashes:
            found = hashes[user]
            entry |= {"password": found.password, "salt": found.salt}
            entry["iterations"] = found.iterations
        clients.append(entry)
    roles = [_device_role(d) for d in dep.devices]
    used = sorted({s.role for s in dep.services})
    roles += [{"rolename": f"service-{role}", "acls": SERVICE_ROLES[role]} for role in used]
    document = {
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": False,
            "subscribe": False,
            "unsubscribe": True,
        },
        "clients": clients,
        "groups": [],
        "roles": roles,
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def existing_hashes(out_dir: Path) -> dict[str, PasswordHash]:
    """The hashes a previous run issued: from its dynamic-security.json, or (an earlier
    version's layout) its mosquitto_passwd file, whose `$7$` hashes are the same PBKDF2."""
    access = out_dir / DYNSEC_FILE
    if access.is_file():
        try:
            document = json.loads(access.read_text())
            return {
                c["username"]: PasswordHash(c["password"], c["salt"], int(c["iterations"]))
                for c in document["clients"]
                if "password" in c
            }
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"{access}: not a dynamic-security file this setup wrote ({exc})"
            ) from None
    hashes = {}
    legacy = out_dir / "passwd"
    if legacy.is_file():
        for line in legacy.read_text().splitlines():
            user, _, hashed = line.partition(":")
            parts = hashed.split("$")  # "", "7", iterations, salt, hash
            if len(parts) == 5 and parts[1] == "7":
                hashes[user] = PasswordHash(parts[4], parts[3], int(parts[2]))
    return hashes


def _inside(path: Path, directory: Path) -> bool:
    return path.resolve().is_relative_to(directory.resolve())


@dataclass(frozen=True, slots=True)
class SetupResult:
    """What `setup` wrote, and what the operator must know about it."""

    written: dict[str, Path]
    warnings: list[str]


def _data_dir_for(dep: Deployment) -> list[str]:
    """Make the broker's persistence directory, owned by the user it runs as: without it
    Mosquitto keeps no sessions or queued messages and says so only in its log."""
    data_dir = dep.data_dir
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        owner = pwd.getpwnam(dep.run_as)
    except KeyError:
        return [f"{data_dir}: no system user {dep.run_as!r} (run_as) to own it on this host"]
    found = data_dir.stat()
    if found.st_uid == owner.pw_uid:
        return []
    if os.geteuid() != 0:
        return [
            f"{data_dir} is not owned by {dep.run_as} (run_as): as root, run "
            f"`chown {dep.run_as}: {data_dir}`, or Mosquitto cannot save its persistence file"
        ]
    os.chown(data_dir, owner.pw_uid, owner.pw_gid)
    return []


def _websockets_binding(dep: Deployment) -> list[str]:
    """Mosquitto up to 2.0.11 listens for websockets on every interface, whatever address
    the configuration gives (upstream #3045): say so rather than promise a binding."""
    lst = dep.listeners
    if lst.websockets_port is None or not lst.websockets_address:
        return []
    try:
        answer = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    found = re.search(r"mosquitto version (\d+)\.(\d+)\.(\d+)", answer.stdout + answer.stderr)
    if found is None or tuple(map(int, found.groups())) > (2, 0, 11):
        return []
    return [
        f"Mosquitto {'.'.join(found.groups())} listens for websockets on every interface, "
        f"not only {lst.websockets_address}: firewall port {lst.websockets_port} or upgrade "
        "Mosquitto (2.0.12 and later bind the address)"
    ]


def setup(dep: Deployment, out_dir: Path, credentials_dir: Path) -> SetupResult:
    """Write mosquitto.conf and dynamic-security.json into `out_dir`, and a credentials
    file into `credentials_dir` for each account that has no password yet; make the
    broker's data directory. mosquitto.conf names the files where they were written."""
    if _inside(credentials_dir, out_dir):
        raise ConfigError(
            f"{credentials_dir}: keep the credentials outside the broker's directory {out_dir} "
            "(the broker needs only the hashes)"
        )
    if not dep.dynsec_plugin.is_file():
        raise ConfigError(
            f"{dep.dynsec_plugin}: Mosquitto's dynamic-security plugin is not there; install "
            "Debian's mosquitto package (2.0 or later) or set `dynsec_plugin` in the deployment"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    warnings = _data_dir_for(dep) + _websockets_binding(dep)
    if out_dir.resolve() != dep.conf_dir.resolve():
        warnings.append(
            f"the deployment's conf_dir is {dep.conf_dir}, the files were written to "
            f"{out_dir.resolve()}: mosquitto.conf names them there; move the directory whole "
            "or set conf_dir to where they will live"
        )
    hashes = existing_hashes(out_dir)
    written = {}
    for user in dep.usernames:
        if user in hashes:
            continue
        password = secrets.token_urlsafe(24)
        hashes[user] = PasswordHash.of(password)
        credentials_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        cred = credentials_dir / f"{user}.toml"
        write_private(cred, f'[broker]\nusername = "{user}"\npassword = "{password}"\n'.encode())
        written[f"new {user}"] = cred
    access = out_dir / DYNSEC_FILE
    write_private(access, render_access(dep, hashes).encode())
    conf = out_dir / "mosquitto.conf"
    conf.write_text(render_conf(dep, out_dir.resolve()))
    return SetupResult({"conf": conf, "access": access} | written, warnings)


def load_deployment(path: Path) -> Deployment:
    return load_toml(Deployment, path)
