"""`hallwatch watch` (the live feed) and `hallwatch topics` (the contract)."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from datetime import tzinfo
from functools import wraps
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
import pydantic

from base.config import ConfigError, Section, load_toml, validate
from base.printable import printable_json
from mqtt import feed, topics
from mqtt.client import BrokerConfig, ConnectError, MqttClient
from mqtt.ids import new_event_id, utc_now


class _BrokerFile(Section):
    """A config file of which only the `[broker]` table matters here."""

    model_config = pydantic.ConfigDict(extra="ignore", frozen=True)
    broker: BrokerConfig = BrokerConfig()


def broker_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add broker flags; the command receives a validated `broker: BrokerConfig`."""

    @click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="TOML file whose [broker] table to use.",
    )
    @click.option("--host", help="Broker host [127.0.0.1].")
    @click.option("--port", type=int, help="Broker port [1883].")
    @click.option("--username", envvar="HALLWATCH_MQTT_USERNAME", help="MQTT user name.")
    # No --password: a command line is visible to every user of the machine (ps).
    @click.option(
        "--password-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="File holding the MQTT password [or $HALLWATCH_MQTT_PASSWORD].",
    )
    @click.option(
        "--tls-ca",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="CA certificate: connect with TLS.",
    )
    @wraps(command)
    def wrapper(config_file, host, port, username, password_file, tls_ca, **kwargs):
        try:
            base = load_toml(_BrokerFile, config_file).broker if config_file else BrokerConfig()
            flags = {
                "host": host,
                "port": port,
                "username": username,
                "password": os.environ.get("HALLWATCH_MQTT_PASSWORD"),
                "password_file": password_file,
                "tls": {"ca_file": tls_ca} if tls_ca else None,
            }
            merged = base.model_dump()
            if base.password is not None:
                merged["password"] = base.password.get_secret_value()
            given = {k: v for k, v in flags.items() if v is not None}
            if "password" in given or "password_file" in given:
                merged |= {"password": None, "password_file": None}  # one source: this one
            merged |= given
            broker = validate(BrokerConfig, merged, "command line")
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
        return command(broker=broker, **kwargs)

    return wrapper


def run_feed(
    broker: BrokerConfig,
    selection: feed.FeedFilter,
    emit: Callable[[feed.FeedLine, bytes], None],
    *,
    stop: threading.Event,
    count: int | None = None,
) -> int:
    """Subscribe and call `emit` for every admitted message until `stop` or `count` lines."""
    shown = 0
    done = threading.Event()

    def on_message(topic: str, payload: bytes) -> None:
        nonlocal shown
        if done.is_set():
            return
        line = feed.describe(topic, payload, utc_now())
        if not selection.admits(line):
            return
        emit(line, payload)
        shown += 1
        if count is not None and shown >= count:
            done.set()

    # A watcher is a passive viewer: clean session, so it leaves nothing queued behind.
    viewer = broker.model_copy(update={"persistent_session": False})
    client = MqttClient(viewer, f"hallwatch-watch-{new_event_id()[-12:]}", on_message=on_message)
    for topic_filter in selection.topic_filters():
        client.subscribe(topic_filter)
    client.start()
    try:
        while not (stop.is_set() or done.is_set()):
            stop.wait(0.2)
    finally:
        client.stop()
    return shown


def json_line(line: feed.FeedLine, payload: bytes) -> str:
    """One `--json` record: the payload as sent, every unsafe character escaped."""
    record = {
        "topic": f"{topics.ROOT}/{line.site}/{line.source}/{line.kind}",
        "received": line.received.isoformat(),
        "valid": line.event is not None,
    }
    try:
        record["payload"] = json.loads(payload)
    except ValueError:
        record["payload"] = payload.decode("utf-8", "replace")
    if line.event is None:
        record["error"] = line.text
    return printable_json(record)


def print_line(as_json: bool, zone: tzinfo | None = None) -> Callable[[feed.FeedLine, bytes], None]:
    def emit(line: feed.FeedLine, payload: bytes) -> None:
        if as_json:
            click.echo(json_line(line, payload))
        else:
            click.secho(
                line.render(zone),
                fg=feed.SEVERITY_COLOURS[line.level],
                bold=line.level in ("serious", "offline"),
            )
        sys.stdout.flush()

    return emit


@click.command()
@broker_options
@click.option("--site", "sites", multiple=True, help="Only this site (repeatable).")
@click.option("--device", "devices", multiple=True, help="Only this device (repeatable).")
@click.option("--staff", multiple=True, help="Only this staff id (repeatable).")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice([k.value for k in topics.Kind]),
    help="Only this kind of message (repeatable) [status, clock, alert and the results].",
)
@click.option("--json", "as_json", is_flag=True, help="One raw JSON record per line.")
@click.option("--count", type=click.IntRange(min=1), help="Exit after this many lines.")
@click.option(
    "--tz", "zone_name", help="Show times in this IANA time zone, e.g. Asia/Shanghai [local]."
)
def watch(
    broker: BrokerConfig,
    sites,
    devices,
    staff,
    kinds,
    as_json: bool,
    count: int | None,
    zone_name: str | None,
) -> None:
    """Live feed: every punch, alert, status and violation as it happens.

    \b
    Examples:
        hallwatch watch                       # everything, all sites
        hallwatch watch --site hall-01 --kind clock --kind alert
        hallwatch watch --staff S017 --json | jq .payload
        hallwatch watch --tz Asia/Shanghai
    """
    try:
        for site in sites:
            topics.check_id(site, "site")
    except topics.TopicError as exc:
        raise click.BadParameter(str(exc), param_hint="--site") from None
    try:
        zone = ZoneInfo(zone_name) if zone_name else None
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown time zone {zone_name!r}", param_hint="--tz") from None
    selection = feed.FeedFilter(
        frozenset(sites),
        frozenset(devices),
        frozenset(staff),
        frozenset(topics.Kind(k) for k in kinds),
    )
    try:
        run_feed(broker, selection, print_line(as_json, zone), stop=threading.Event(), count=count)
    except ConnectError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        pass


@click.command(name="topics")
@click.option("--asyncapi", is_flag=True, help="Print the AsyncAPI 3 document instead.")
def topics_command(asyncapi: bool) -> None:
    """The topic tree and payload schemas of the MQTT contract.

    \b
    Examples:
        hallwatch topics
        hallwatch topics --asyncapi > docs/asyncapi.json
    """
    from mqtt import asyncapi as asyncapi_doc

    if asyncapi:
        click.echo(asyncapi_doc.render(), nl=False)
        return
    for row in asyncapi_doc.topic_table():
        click.echo(f"{row.address:<40} {row.schema:<26} {row.direction:<18} {row.note}")


@click.group()
def broker() -> None:
    """The production Mosquitto setup: config, ACLs, per-device credentials."""


@broker.command()
@click.argument("deployment_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The broker's directory: mosquitto.conf and dynamic-security.json go here.",
)
@click.option(
    "--credentials",
    "credentials_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Where to write new accounts' passwords (outside --out; copy, then delete them).",
)
def setup(deployment_file: Path, out_dir: Path, credentials_dir: Path) -> None:
    """Render the broker files for every account in DEPLOYMENT_FILE.

    Passwords already issued are kept (their hashes, in OUT); only new accounts get a
    password, written to CREDENTIALS/<account>.toml.

    \b
    Example:
        hallwatch broker setup /etc/hallwatch/deployment.toml --out /etc/mosquitto/hallwatch \\
            --credentials /root/hallwatch-credentials
    """
    from mqtt import broker as broker_setup

    try:
        deployment = broker_setup.load_deployment(deployment_file)
        written = broker_setup.setup(deployment, out_dir, credentials_dir)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    for name, path in written.items():
        click.echo(f"{name:<12} {path}")
