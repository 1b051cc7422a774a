"""A line-based console to drive a running SensorEmulator by hand (`hallwatch finger emulate`)."""

from __future__ import annotations

from base.errors import HallwatchError
from drivers.fingerprint.emulator import Fault, SensorEmulator
from drivers.fingerprint.synthetic import TouchQuality

_QUALITIES = "|".join(q.value for q in TouchQuality)
_FAULTS = "|".join(f.value for f in Fault)
HELP = f"""commands:
  place FINGER [{_QUALITIES}] [TOUCHES]   put a synthetic finger on the sensor
  lift                                  take it away
  fault {_FAULTS} [TIMES]
                                        misbehave for TIMES commands (or until clear)
  clear                                 stop misbehaving
  unplug | plug                         pull or reconnect the cable
  status                                what the sensor holds
  quit"""


class ConsoleError(HallwatchError, ValueError):
    """A console line that cannot be carried out; the message says what is expected."""


def _count(text: str, what: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ConsoleError(f"{what} must be a positive whole number, got {text!r}")
    return int(text)


def emulator_status(emulator: SensorEmulator) -> dict[str, object]:
    return {
        "port": emulator.port,
        "plugged_in": emulator.plugged_in,
        "templates": len(emulator.template_slots),
    }


def execute(emulator: SensorEmulator, line: str) -> str:
    """Carry out one console line; returns the reply to show."""
    words = line.split()
    if not words:
        return ""
    command, args = words[0].lower(), words[1:]
    if command == "place" and 1 <= len(args) <= 3:
        try:
            quality = TouchQuality(args[1]) if len(args) > 1 else TouchQuality.GOOD
        except ValueError:
            raise ConsoleError(f"touch quality must be {_QUALITIES}, got {args[1]!r}") from None
        touches = _count(args[2], "TOUCHES") if len(args) > 2 else None
        emulator.place_finger(args[0], quality, touches=touches)
        return f"finger {args[0]} placed ({quality.value})"
    if command == "lift" and not args:
        emulator.lift_finger()
        return "finger lifted"
    if command == "fault" and 1 <= len(args) <= 2:
        try:
            fault = Fault(args[0])
        except ValueError:
            raise ConsoleError(f"fault must be {_FAULTS}, got {args[0]!r}") from None
        times = _count(args[1], "TIMES") if len(args) > 1 else None
        emulator.inject(fault, times)
        return f"fault {fault.value} on" + (f" for {times} commands" if times else "")
    if command == "clear" and not args:
        emulator.clear_faults()
        return "faults cleared"
    if command == "unplug" and not args:
        emulator.unplug()
        return "unplugged"
    if command == "plug" and not args:
        emulator.plug_in()
        return f"plugged in at {emulator.port}"
    if command == "status" and not args:
        return " ".join(f"{key}={value}" for key, value in emulator_status(emulator).items())
    if command in ("help", "?"):
        return HELP
    raise ConsoleError(f"cannot understand {line.strip()!r}\n{HELP}")
