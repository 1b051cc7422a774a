"""`hallwatch watch` (the live feed) and `hallwatch topics` (the contract)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import tzinfo
from functools import wraps
from pathlib import Path
from typing import Any

import click
import pydantic

from base.config import Section, TimeZoneName, load_toml, validate
from base.printable import printable_json
from base.times import UnknownZoneError, local_zone, zone_named, zone_text
from mqtt import feed, topics
from mqtt.client import BrokerConfig, MqttClient, Received
from mqtt.ids import new_event_id, utc_now


class _BrokerFile(Section):
    """A config file of which only the `[broker]` table (and a station's or agent's time
    zone, for showing times) matters here."""

    model_config = pydantic.ConfigDict(extra="ignore", frozen=True)
    broker: BrokerConfig = pydantic.Field(BrokerConfig(), description="The MQTT broker.")
    timezone: TimeZoneName | None = pydantic.Field(
        None, description="The device's time zone, for the times the feed shows."
    )


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
        return command(broker=broker, **kwargs)

    return wrapper


def run_feed(
    broker: BrokerConfig,
    selection: feed.FeedFilter,
    emit: Callable[[feed.FeedLine, bytes], None],
    *,
    stop: threading.Event,
    count: int | None = None,
    zone: tzinfo | None = None,
    names: Mapping[str, str] | None = None,
) -> int:
    """Subscribe and call `emit` for every admitted message until `stop` or `count` lines
    (times in `zone`; None: this machine's; `names`: staff id to name). The broker going away and coming back are
    lines too (with an empty payload), not counted."""
    shown = 0
    done = threading.Event()
    lost = False

    def on_received(message: Received) -> None:
        nonlocal shown
        if done.is_set():
            return
        line = feed.describe(
            message.topic,
            message.payload,
            utc_now(),
            zone=zone,
            retained=message.retained,
            names=names,
        )
        if not selection.admits(line):
            return
        emit(line, message.payload)
        shown += 1
        if count is not None and shown >= count:
            done.set()

    def on_connection(connected: bool) -> None:
        nonlocal lost
        news = lost if connected else not lost  # back after a loss, or newly lost
        if not news or done.is_set():
            return
        lost = not connected
        emit(feed.broker_line(connected, utc_now(), zone), b"")

    # A watcher is a passive viewer: clean session, so it leaves nothing queued behind.
    viewer = broker.model_copy(update={"persistent_session": False})
    client = MqttClient(
        viewer,
        f"hallwatch-watch-{new_event_id()[-12:]}",
        on_received=on_received,
        on_connection=on_connection,
    )
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


def print_line(as_json: bool) -> Callable[[feed.FeedLine, bytes], None]:
    def emit(line: feed.FeedLine, payload: bytes) -> None:
        if as_json and line.source == "broker":
            return  # records are payloads as received; the broker's own state is not one
        if as_json:
            click.echo(json_line(line, payload))
        else:
            click.secho(
                line.render(),
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
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One raw JSON record per line (payloads only: the broker's own comings and goings "
    "are shown in the human form).",
)
@click.option("--count", type=click.IntRange(min=1), help="Exit after this many lines.")
@click.option(
    "--tz",
    "zone_name",
    help="Show times in this IANA time zone, e.g. Asia/Shanghai [the --config file's "
    "timezone, else this machine's].",
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

    Every time shown is in one zone, named on standard error when the feed starts. A
    device that drops off shows OFFLINE when the feed saw it go; the broker itself going
    away is a line of its own.

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
        zone = _feed_zone(zone_name, click.get_current_context().params.get("config_file"))
    except UnknownZoneError as exc:
        raise click.BadParameter(str(exc), param_hint="--tz") from None
    if not as_json:
        click.echo(f"times in {zone_text(zone)}", err=True)
    selection = feed.FeedFilter(
        frozenset(sites),
        frozenset(devices),
        frozenset(staff),
        frozenset(topics.Kind(k) for k in kinds),
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a watch ends
        run_feed(
            broker, selection, print_line(as_json), stop=threading.Event(), count=count, zone=zone
        )


def _feed_zone(zone_name: str | None, config_file: Path | None) -> tzinfo:
    """--tz, else the time zone of the --config file (a station's or agent's), else local."""
    if zone_name:
        return zone_named(zone_name)
    configured = load_toml(_BrokerFile, config_file).timezone if config_file else None
    return zone_named(configured) if configured else local_zone()


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
    """The production Mosquitto setup: config, ACLs, per-device credentials.

    \b
    Example:
        hallwatch broker setup deployment.toml --out /etc/mosquitto/hallwatch
    """


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

    done = broker_setup.setup(
        broker_setup.load_deployment(deployment_file), out_dir, credentials_dir
    )
    for name, path in done.written.items():
        click.echo(f"{name:<12} {path}")
    for warning in done.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
