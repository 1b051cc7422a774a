"""Whom an event may count for, decided on the server from who sent it.

A staff id in a payload is a claim by the device that sent it, and a device's password is
only as safe as the device: an agent's sits in the monitored worker's own home directory.
So the directory, not the payload, says who a device speaks for:

- activity counts for the staff member the directory maps to that workstation, and only them;
- punches and spoof/proxy alerts count from stations of the person's own site, never
  from a workstation agent.

An event that claims otherwise is refused (a dead letter with this reason); an event
about someone the directory does not know is kept as a fact that judges no one.
"""

from __future__ import annotations

from mqtt import schema
from mqtt.schema import AlertKind
from rules.directory import Directory

SPOOF_ALERTS = (AlertKind.SPOOF_SUSPECTED, AlertKind.PROXY_PUNCH)


def workstation_staff(event: schema.Event, directory: Directory) -> str | None:
    """The staff member the directory maps to the device that sent `event` (an agent's)."""
    return directory.staff_of_workstation.get((event.site, event.device))


def refusal(event: schema.Event, directory: Directory) -> str | None:
    """Why `event` may not count for the person it names; None if it may."""
    where = f"{event.site}/{event.device}"
    if isinstance(event, schema.Activity) and event.staff_id is not None:
        owner = workstation_staff(event, directory)
        if event.staff_id != owner:
            mapped = f"{owner}'s" if owner else "nobody's"
            return f"activity names {event.staff_id}, but workstation {where} is {mapped}"
    elif isinstance(event, schema.Punch | schema.Alert) and counts_against(event):
        what = "a punch" if isinstance(event, schema.Punch) else f"a {event.kind} alert"
        if (event.site, event.device) in directory.staff_of_workstation:
            return f"{what} from workstation {where}: only stations may record it"
        sites = directory.sites_of(event.staff_id) if event.staff_id else set()
        if sites and event.site not in sites:
            return (
                f"{what} for {event.staff_id} from a station of {event.site}, "
                f"but {event.staff_id} works at {', '.join(sorted(sites))}"
            )
    return None


def counts_against(event: schema.Punch | schema.Alert) -> bool:
    """A punch, or an alert that is itself a violation (spoofing, a proxy punch)."""
    return isinstance(event, schema.Punch) or event.kind in SPOOF_ALERTS
