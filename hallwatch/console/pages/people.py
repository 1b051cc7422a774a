"""People and devices (人员与设备): a site's staff by window and department, by name, and
every device with its state and sync state (gallery applied of the site's, erasures not
yet confirmed, the last error), last seen, version, backlog, clock. Read-only: the CLI
edits the directory and the devices (`hallwatch staff ...`, `hallwatch devices ...`)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hallwatch.console.accounts import Session
from hallwatch.console.config import Language
from hallwatch.console.hall_view import DeviceLine, HallReader
from hallwatch.console.pages.hall import chosen_site, sites_of
from hallwatch.console.web import console_of, language, render, requires
from rules.gallery_status import gallery_status
from rules.manage import Management
from rules.manage_directory import StaffLine


@dataclass(frozen=True, slots=True)
class DeviceEntry:
    line: DeviceLine
    location: str
    last_error: str | None


@dataclass(frozen=True, slots=True)
class People:
    staff: list[StaffLine]  # by department, window, name
    devices: list[DeviceEntry]


def people_of(management: Management, site: str, lang: Language) -> People:
    windows = {w.id for w in management.directory().windows if w.site == site}
    staff = sorted(
        (s for s in management.staff_list() if s.window in windows),
        key=lambda s: (s.department or "", s.window_name or "", s.name),
    )
    reader = HallReader(management, site, lang)
    errors = {g.device: g.last_error for g in gallery_status(management.store, site)}
    devices = [
        DeviceEntry(reader.device_line(d), d.location, errors.get(d.device))
        for d in management.devices()
        if d.site == site
    ]
    return People(staff, devices)


@requires("viewer")
async def people(request: Request, who: Session) -> Response:
    site = chosen_site(request, who)
    lang = language(request, who)
    found = await run_in_threadpool(people_of, console_of(request).management, site, lang)
    return render(
        request, "people.html", who, site=site, sites=sites_of(request, who), people=found
    )


routes = [Route("/people", people, methods=["GET"])]
