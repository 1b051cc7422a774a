"""Who works where: the staff directory as the engine sees it (a pure, dated snapshot).

The policy keeps the regime; the directory says who the staff are, their names, and at
which window each works on which days. The central store keeps it (edited by managers and
imported from HR files); the engine receives a `Directory` beside the events, policy and
actions, so a replay with the same snapshot gives the same results. A person who moves
windows mid-month has two postings, and each day is judged and scored at the window of
that day.

Policies written before the directory existed list `[[windows]]` with their staff:
`Directory.from_policy` reads those as seed data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from rules.policy import Policy


@dataclass(frozen=True, slots=True)
class Department:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class ServiceWindow:
    """A service window: its staff are judged, scored and vetoed together."""

    id: str
    site: str
    name: str
    department: str | None = None


@dataclass(frozen=True, slots=True)
class Posting:
    """The days (both inclusive; None: open-ended) a person works at one window."""

    window: str
    first_day: date | None = None
    last_day: date | None = None

    def covers(self, day: date) -> bool:
        return (self.first_day is None or self.first_day <= day) and (
            self.last_day is None or day <= self.last_day
        )


@dataclass(frozen=True, slots=True)
class StaffMember:
    """A person of the directory. `start_date`/`end_date` bound the days they are judged
    at all (a leaver's end date passed: erased from every device); `active` False: deleted
    from the directory (kept for the months they were judged, never judged again)."""

    staff_id: str
    name: str
    name_en: str | None = None
    department: str | None = None
    position: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    active: bool = True
    postings: tuple[Posting, ...] = ()

    def employed(self, day: date) -> bool:
        return (self.start_date is None or self.start_date <= day) and (
            self.end_date is None or day <= self.end_date
        )

    def display_name(self, language: str = "zh") -> str:
        return (self.name_en or self.name) if language == "en" else self.name


@dataclass(frozen=True, slots=True)
class Device:
    """A station or workstation agent known to the centre. An agent's `user` is the
    person who works at that workstation (activity it sends without a staff id is theirs)."""

    site: str
    device: str
    kind: Literal["station", "agent"]
    name: str = ""
    location: str = ""
    user: str | None = None
    registered: datetime | None = None
    retired: datetime | None = None


@dataclass(frozen=True)
class Directory:
    """A snapshot of the directory; lookups are by staff id, window id and day."""

    windows: tuple[ServiceWindow, ...] = ()
    staff: tuple[StaffMember, ...] = ()
    departments: tuple[Department, ...] = ()
    devices: tuple[Device, ...] = ()
    sites: tuple[str, ...] = field(default=())

    @cached_property
    def window(self) -> dict[str, ServiceWindow]:
        return {w.id: w for w in self.windows}

    @cached_property
    def member(self) -> dict[str, StaffMember]:
        return {m.staff_id: m for m in self.staff}

    @cached_property
    def department(self) -> dict[str, Department]:
        return {d.id: d for d in self.departments}

    @cached_property
    def judged_staff(self) -> list[str]:
        """Everyone with a posting, in id order: the people the engine judges."""
        return sorted(m.staff_id for m in self.staff if m.postings)

    @cached_property
    def staff_of_workstation(self) -> dict[tuple[str, str], str]:
        return {(d.site, d.device): d.user for d in self.devices if d.kind == "agent" and d.user}

    @cached_property
    def attribution_digest(self) -> str:
        """A digest of what decides whose events count (rules/attribution.py): every
        workstation and its user. Another digest: any event may count otherwise."""
        text = json.dumps(sorted(self.staff_of_workstation.items()))
        return hashlib.sha1(text.encode()).hexdigest()

    def posting_on(self, staff: str, day: date) -> ServiceWindow | None:
        """The window `staff` works at on `day`, None when not employed or not posted."""
        member = self.member.get(staff)
        if member is None or not member.employed(day):
            return None
        for posting in member.postings:
            if posting.covers(day):
                return self.window.get(posting.window)
        return None

    def window_shown(self, staff: str, day: date) -> ServiceWindow | None:
        """Where a list of `day` shows the person: the window of their posting that day
        (whether employed then or not), else their latest one."""
        member = self.member.get(staff)
        posting = next((p for p in member.postings if p.covers(day)), None) if member else None
        return self.window.get(posting.window) if posting else self.home_window(staff)

    def sites_of(self, staff: str) -> set[str]:
        """The sites of every window the person was ever posted to."""
        return {w.site for w in self.windows_of(staff)}

    def staff_at(self, site: str) -> list[str]:
        """Everyone ever posted to a window of `site`, in id order."""
        return [s for s in self.judged_staff if site in self.sites_of(s)]

    def workstations_of(self, staff: str) -> list[tuple[str, str]]:
        """The (site, device) of every workstation agent the person works at."""
        return sorted(key for key, user in self.staff_of_workstation.items() if user == staff)

    def home_window(self, staff: str) -> ServiceWindow | None:
        """The window of the person's latest posting (what a list shows by default)."""
        member = self.member.get(staff)
        if member is None or not member.postings:
            return None
        latest = max(member.postings, key=lambda p: p.first_day or date.min)
        return self.window.get(latest.window)

    def windows_of(self, staff: str) -> list[ServiceWindow]:
        """Every window the person was ever posted to, in posting order."""
        member = self.member.get(staff)
        ordered = sorted(member.postings, key=lambda p: p.first_day or date.min) if member else []
        return [self.window[p.window] for p in ordered if p.window in self.window]

    def name(self, staff: str, language: str = "zh") -> str:
        """What a person reads: the staff member's name, or the id when unknown."""
        member = self.member.get(staff)
        return member.display_name(language) if member else staff

    def window_name(self, window: str) -> str:
        known = self.window.get(window)
        return known.name if known else window

    def label(self, staff: str, language: str = "zh") -> str:
        """A person as a line of text shows them: the name, then the id ("张伟 S001"); the
        id alone when no name is known."""
        name = self.name(staff, language)
        return staff if name == staff else f"{name} {staff}"

    def window_label(self, window: str) -> str:
        """A window as a line of text shows it: its name, then its id; the id alone when
        it has no other name."""
        name = self.window_name(window)
        return window if name == window else f"{name} {window}"

    @classmethod
    def from_policy(cls, policy: Policy) -> Directory:
        """The seed a policy's deprecated `[[windows]]` list describes."""
        windows, staff, devices = [], [], []
        for w in policy.windows:
            windows.append(ServiceWindow(w.id, w.site, w.id))
            for person in w.staff:
                employment = w.employment.get(person)
                posting = Posting(
                    w.id,
                    employment.first_day if employment else None,
                    employment.last_day if employment else None,
                )
                staff.append(StaffMember(person, person, postings=(posting,)))
            devices += [Device(w.site, ws, "agent", user=who) for ws, who in w.workstations.items()]
        sites: Iterable[str] = sorted({w.site for w in policy.windows})
        return cls(tuple(windows), tuple(staff), (), tuple(devices), tuple(sites))


# What a long-lived component (ingest, recompute, the service) asks for the current
# directory each time it judges: managers edit it in another process.
DirectorySource = Callable[[], "Directory"]
