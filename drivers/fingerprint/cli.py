"""`hallwatch finger ...`: enrol, identify, list, delete, export and import fingers.

The sensor driver (pyfingerprint, pyserial, numpy) is imported when a command runs, never
to show its help.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from base.config import validate
from base.control_socket import answers, ask, control_socket
from base.times import date_time, local_zone, zone_named

if TYPE_CHECKING:
    from drivers.fingerprint.sensor import EnrolStep, FingerprintSensor


PASSWORD_VARIABLE = "HALLWATCH_FINGER_PASSWORD"


def _u32(text: str, where: str | None = None) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an integer (decimal or 0x hex)", param_hint=where
        ) from None


def _json_value(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def sensor_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options every sensor command takes; they override the `[fingerprint]` config section.
    The sensor's password comes from that section or from $HALLWATCH_FINGER_PASSWORD."""

    @click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Device TOML file with a [fingerprint] section.",
    )
    @click.option("--port", help="Serial port of the sensor (default /dev/ttyUSB0).")
    @click.option("--address", type=_u32, help="Sensor module address (default 0xFFFFFFFF).")
    @click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Where fingers.db (slot -> staff map) lives.",
    )
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @functools.wraps(command)
    def wrapper(config_path: Path | None, as_json: bool, **kwargs: Any) -> Any:
        from drivers.fingerprint.settings import FingerprintSettings, load_settings

        given = {name: kwargs.pop(name) for name in ("port", "address", "data_dir")}
        # The sensor's password never goes on a command line (where `ps` shows it): the
        # config file's [fingerprint] password, or the environment.
        if (secret := os.environ.get(PASSWORD_VARIABLE)) is not None:
            given["password"] = _u32(secret, PASSWORD_VARIABLE)
        overrides = {name: value for name, value in given.items() if value is not None}
        base = load_settings(config_path) if config_path else FingerprintSettings()
        settings = validate(FingerprintSettings, {**base.model_dump(), **overrides}, "command line")
        through_station = getattr(command, "through_station", None)
        socket = control_socket(settings.data_dir)
        if through_station is not None and answers(socket):
            # A running station owns the sensor: the job goes through it, never a second
            # process on the serial port.
            human, machine = through_station(socket, **kwargs)
            click.echo(json.dumps(machine, default=_json_value) if as_json else human)
            return
        with settings.open_sensor() as sensor:
            try:
                result = command(sensor, **kwargs)
            except ValueError as exc:  # a staff id or slot this sensor cannot take
                raise click.UsageError(str(exc)) from None
        human, machine = result
        click.echo(json.dumps(machine, default=_json_value) if as_json else human)

    return wrapper


@click.group()
def finger() -> None:
    """Fingerprint sensor: enrol and identify staff fingers, back templates up.

    \b
    Example:
        hallwatch finger enrol S1024 --port /dev/ttyUSB0
    """


def _enrol_at_station(socket: Path, staff_id: str, timeout: float) -> tuple[str, dict]:
    """`finger enrol` on a running station: its finger worker runs the enrolment, and the
    station sends the template to the centre."""
    request = {"command": "enrol-finger", "staff_id": staff_id, "timeout_s": timeout}
    answer: dict = {}
    for answer in ask(socket, request, timeout_s=timeout * 3 + 30):
        if "prompt" in answer:
            click.echo(answer["prompt"], err=True)
    return (
        f"enrolled {staff_id} at the running station in slot {answer['slot']} (touches "
        f"agreed: {answer['score']}); it sends the template to the centre",
        {k: v for k, v in answer.items() if k != "ok"},
    )


def through_station(
    job: Callable[..., tuple[str, dict]],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A sensor command that, when a station runs on the sensor, is `job` (given the
    station's control socket) instead."""

    def mark(command: Callable[..., Any]) -> Callable[..., Any]:
        command.through_station = job  # type: ignore[attr-defined]
        return command

    return mark


@finger.command()
@click.argument("staff_id")
@click.option("--timeout", default=15.0, show_default=True, help="Seconds to wait for each touch.")
@sensor_options
@through_station(_enrol_at_station)
def enrol(sensor: FingerprintSensor, staff_id: str, timeout: float) -> tuple[str, dict]:
    """Enrol one finger of STAFF_ID (two touches of the same finger).

    On a running station (its control socket answers in the data directory) the station
    enrols it and sends the template to the centre.

    \b
    Example:
        hallwatch finger enrol S1024 --data-dir /var/lib/hallwatch
    """

    def show(step: EnrolStep) -> None:
        click.echo(step.value, err=True)

    enrolled = sensor.enrol(staff_id, timeout_s=timeout, prompt=show)
    return (
        f"enrolled {enrolled.staff_id} in slot {enrolled.slot} (touches agreed: {enrolled.score})",
        asdict(enrolled),
    )


@finger.command()
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for a finger.")
@sensor_options
def identify(sensor: FingerprintSensor, timeout: float) -> tuple[str, dict]:
    """Wait for a finger and say whose it is.

    \b
    Example:
        hallwatch finger identify --timeout 5 --json
    """
    match = sensor.identify(timeout_s=timeout)
    if match is None:
        return "no match: this finger is not enrolled on this device", {"match": None}
    return (
        f"{match.staff_id} (slot {match.slot}, score {match.score})",
        {"match": asdict(match)},
    )


@finger.command(name="list")
@click.option(
    "--tz",
    "zone_name",
    help="Show enrolment times in this IANA time zone, e.g. Asia/Shanghai [the --config "
    "file's timezone, else this machine's].",
)
@sensor_options
def list_fingers(sensor: FingerprintSensor, zone_name: str | None) -> tuple[str, dict]:
    """List enrolled fingers: slot, staff, enrolment time, and any sensor/database mismatch.

    \b
    Example:
        hallwatch finger list --json
        hallwatch finger list --config /etc/hallwatch/station.toml
    """
    zone = _zone(zone_name, click.get_current_context().params.get("config_path"))
    used, capacity = sensor.count()
    slots = sensor.slots()
    lines = [f"{used} of {capacity} template slots used"]
    for status in slots:
        owner = status.staff_id or "(no staff mapped: delete with --slot)"
        where = "" if status.on_sensor else "  (missing on the sensor: re-enrol)"
        when = date_time(status.enrolled_at, zone) if status.enrolled_at else "-"
        lines.append(f"slot {status.slot:4d}  {owner}  {when}{where}")
    return "\n".join(lines), {
        "used": used,
        "capacity": capacity,
        "slots": [asdict(status) for status in slots],
    }


def _zone(zone_name: str | None, config_path: Path | None) -> tzinfo:
    """--tz, else the time zone of the --config file, else this machine's."""
    from drivers.fingerprint.settings import device_timezone

    named = zone_name or (device_timezone(config_path) if config_path else None)
    return zone_named(named) if named else local_zone()


@finger.command()
@click.argument("staff_id", required=False)
@click.option("--slot", type=int, help="Delete this slot instead (mapped or not).")
@sensor_options
def delete(sensor: FingerprintSensor, staff_id: str | None, slot: int | None) -> tuple[str, dict]:
    """Delete every finger of STAFF_ID (or one --slot) from the sensor and the database.

    \b
    Example:
        hallwatch finger delete S1024
    """
    if (staff_id is None) == (slot is None):
        raise click.UsageError("give either a STAFF_ID or --slot, not both or neither")
    if slot is not None:
        sensor.delete_slot(slot)
        return f"deleted slot {slot}", {"deleted_slots": [slot]}
    assert staff_id is not None
    slots = sensor.delete(staff_id)
    return f"deleted {staff_id}: slots {', '.join(map(str, slots))}", {"deleted_slots": slots}


@finger.command(name="export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@sensor_options
def export_command(sensor: FingerprintSensor, file: Path) -> tuple[str, dict]:
    """Export every enrolled template with its staff id to FILE (0600: biometric data).

    \b
    Example:
        hallwatch finger export /root/fingers-hall01.json
    """
    from drivers.fingerprint.backup import export_templates

    count = export_templates(sensor, file)
    return f"exported {count} templates to {file}", {"exported": count, "file": str(file)}


@finger.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@sensor_options
def import_command(sensor: FingerprintSensor, file: Path) -> tuple[str, dict]:
    """Install the templates of an export FILE on this sensor (skips fingers it already has).

    \b
    Example:
        hallwatch finger import /root/fingers-hall01.json --port /dev/ttyAMA0
    """
    from drivers.fingerprint.backup import import_templates

    report = import_templates(sensor, file)
    lines = [
        f"installed {len(report.installed)}, restored mapping of {len(report.remapped)}, "
        f"skipped {len(report.skipped)}",
        *(f"  skipped {reason}" for reason in report.skipped),
    ]
    return "\n".join(lines), asdict(report)


@finger.command()
@click.option("--capacity", default=1000, show_default=True, help="Template slots (1..1024).")
@click.option("--password", type=_u32, default="0", help="Password the sensor expects.")
@click.option("--address", type=_u32, default="0xFFFFFFFF", help="Module address.")
@click.option(
    "--packet-size",
    type=click.Choice(["32", "64", "128", "256"]),
    default="128",
    show_default=True,
    help="Data packet size in bytes.",
)
@click.option("--security-level", type=click.IntRange(1, 5), default=3, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def emulate(
    capacity: int, password: int, address: int, packet_size: str, security_level: int, as_json: bool
) -> None:
    """Run an emulated sensor on a pseudo-terminal for manual trials.

    Prints the port, then takes commands on stdin (type `help`); with --json every line
    out is a JSON object ({"port": ...} first, then {"reply": ...} or {"error": ...}).

    \b
    Example:
        hallwatch finger emulate --capacity 200
        # in another terminal, with the printed port:
        hallwatch finger identify --port /tmp/hallwatch-finger-x/ttyFINGER0
    """
    from drivers.fingerprint.emulator import SensorEmulator
    from drivers.fingerprint.emulator_console import ConsoleError, emulator_status, execute

    try:
        emulator = SensorEmulator(
            capacity=capacity,
            password=password,
            address=address,
            packet_size=int(packet_size),
            security_level=security_level,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    with emulator:
        if as_json:
            click.echo(json.dumps(emulator_status(emulator)))
        else:
            click.echo(f"emulated fingerprint sensor on {emulator.port} (type help; quit to stop)")
        for line in sys.stdin:
            if line.strip().lower() in ("quit", "exit"):
                break
            try:
                answer = {"reply": execute(emulator, line)}
            except ConsoleError as exc:
                answer = {"error": str(exc)}
            if as_json:
                click.echo(json.dumps(answer))
            elif "error" in answer:
                click.echo(f"error: {answer['error']}")
            elif answer["reply"]:
                click.echo(answer["reply"])
