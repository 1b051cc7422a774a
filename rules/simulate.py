"""A generated hall-month: a policy and contract payloads, reproducible from a seed.

Staff mostly keep the regime; a seeded few arrive late or very late, leave early, miss a
punch, skip a session, overstay an outing, idle at the workstation, play games, or trigger
a spoof alert. Used by the replay tests, the benchmark and the demo.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import msgspec

from mqtt import schema
from mqtt.schema import Action, LeaveKind, Method
from rules.engine import month_days
from rules.policy import Policy

PER_WINDOW = 5
PER_STATION = 50


def _event_id(rng: random.Random, moment: datetime) -> str:
    """A UUIDv7 for `moment`, its random bits drawn from the seeded generator."""
    ms = int(moment.timestamp() * 1000)
    value = (ms << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64) | (0b10 << 62)
    return str(uuid.UUID(int=value | rng.getrandbits(62)))


@dataclass
class Simulation:
    site: str
    month: str
    windows: dict[str, list[str]]  # window id -> staff ids
    events: list[schema.Event] = field(default_factory=list)

    def policy_toml(self) -> str:
        lines = [f"[sites.{self.site}]", 'timezone = "Asia/Shanghai"', ""]
        for window, staff in self.windows.items():
            stations = ", ".join(f'"ws-{s.lower()}" = "{s}"' for s in staff)
            lines += [
                "[[windows]]",
                f'id = "{window}"',
                f'site = "{self.site}"',
                f"staff = {json.dumps(staff)}",
                f"workstations = {{ {stations} }}",
                "",
            ]
        return "\n".join(lines)

    def policy(self) -> Policy:
        import tomllib

        return Policy.model_validate(tomllib.loads(self.policy_toml()))

    def payloads(self) -> list[bytes]:
        return [schema.encode(e) for e in self.events]

    def write(self, directory: Path) -> tuple[Path, Path]:
        """Write policy.toml and events.jsonl (one payload per line) into `directory`."""
        directory.mkdir(parents=True, exist_ok=True)
        policy, events = directory / "policy.toml", directory / "events.jsonl"
        policy.write_text(self.policy_toml(), encoding="utf-8")
        events.write_bytes(b"".join(p + b"\n" for p in self.payloads()))
        return policy, events


class _Month:
    def __init__(self, sim: Simulation, policy: Policy, seed: int) -> None:
        self.sim, self.policy = sim, policy
        self.rng = random.Random(seed)
        self.zone = policy.zone(sim.site)

    def emit(self, device: str, cls: type[schema.Event], ts: datetime, **fields) -> None:
        self.sim.events.append(
            cls(
                id=_event_id(self.rng, ts),
                seq=0,  # numbered per device in time order once the month is complete
                site=self.sim.site,
                device=device,
                ts=ts,
                **fields,
            )
        )

    def punch(self, station: str, staff: str, ts: datetime, action: Action, **fields) -> None:
        score = round(self.rng.uniform(0.5, 0.9), 3)
        self.emit(
            station,
            schema.Punch,
            ts,
            staff_id=staff,
            action=action,
            method=Method.FACE,
            score=score,
            **fields,
        )

    def use(
        self,
        staff: str,
        start: datetime,
        minutes: float,
        app: str,
        category: str,
        idle: bool = False,
    ) -> None:
        duration = minutes * 60
        self.emit(
            f"ws-{staff.lower()}",
            schema.Activity,
            start + timedelta(seconds=duration),
            user=staff.lower(),
            start=start,
            duration_s=duration,
            app=app,
            category=category,
            idle_s=duration if idle else 0.0,
        )

    def person_day(self, staff: str, station: str, day: date) -> None:
        r = self.rng.random
        m = timedelta(minutes=1)
        for start, end in self.policy.session_bounds(self.sim.site, day):
            if r() < 0.003:
                continue  # absent for the session
            arrive = start - self.rng.uniform(1, 20) * m
            if r() < 0.02:
                arrive = start + self.rng.uniform(6, 40) * m
            elif r() < 0.003:
                arrive = start + self.rng.uniform(61, 90) * m
            self.punch(station, staff, arrive, Action.CLOCK_IN)
            leave = end + self.rng.uniform(0, 15) * m
            if r() < 0.01:
                leave = end - self.rng.uniform(10, 40) * m
            middle = start + (end - start) / 2
            if r() < 0.03:
                back = middle + self.rng.uniform(20, 55) * m
                self.punch(
                    station,
                    staff,
                    middle,
                    Action.LEAVE_OUT,
                    leave=schema.Leave(
                        kind=LeaveKind.OUTING, reason="errand", expected_return=middle + 30 * m
                    ),
                )
                self.punch(station, staff, back, Action.LEAVE_RETURN)
            self.use(staff, max(arrive, start), 50, "gov-portal", "work")
            if r() < 0.015:
                self.use(staff, start + 50 * m, 12, "steam", "other")
            elif r() < 0.01:
                self.use(staff, start + 50 * m, 35, "gov-portal", "work", idle=True)
            self.use(staff, start + 90 * m, 60, "office", "work")
            if r() > 0.005:
                self.punch(station, staff, leave, Action.CLOCK_OUT)
            if r() < 0.001:
                self.emit(
                    station,
                    schema.Alert,
                    middle + 5 * m,
                    kind=schema.AlertKind.PROXY_PUNCH,
                    severity=schema.Severity.SERIOUS,
                    message="second face in frame",
                    staff_id=staff,
                )


def _hall(month: str, staff_count: int, site: str) -> Simulation:
    """A hall of `staff_count` staff in windows of five (no events yet)."""
    staff = [f"S{n:05d}" for n in range(1, staff_count + 1)]
    windows = {
        f"w{n // PER_WINDOW + 1:04d}": staff[n : n + PER_WINDOW]
        for n in range(0, staff_count, PER_WINDOW)
    }
    return Simulation(site, month, windows)


def station_of(index: int) -> str:
    """The clock station of the `index`th staff member (one per PER_STATION staff)."""
    return f"st-{index // PER_STATION + 1:02d}"


def generate_month(
    month: str, staff_count: int, *, seed: int = 1, site: str = "hall-01"
) -> Simulation:
    """A month (YYYY-MM) of a hall with `staff_count` staff, windows of five."""
    sim = _hall(month, staff_count, site)
    staff = [s for members in sim.windows.values() for s in members]
    run = _Month(sim, sim.policy(), seed)
    first = datetime.combine(month_days(month)[0], time(7), run.zone)
    devices = {station_of(n): "station" for n in range(staff_count)}
    devices |= {f"ws-{s.lower()}": "agent" for s in staff}
    for device, role in devices.items():
        run.emit(device, schema.Status, first, state="online", role=role)
    for day in month_days(month):
        for index, person in enumerate(staff):
            run.person_day(person, station_of(index), day)
    sim.events.sort(key=lambda e: (e.ts, e.id))
    seq: dict[str, int] = {}
    for n, event in enumerate(sim.events):
        seq[event.device] = seq.get(event.device, 0) + 1
        sim.events[n] = msgspec.structs.replace(event, seq=seq[event.device])
    return sim


def generate_day(
    day: date, staff_count: int, *, seed: int = 1, site: str = "hall-01"
) -> Simulation:
    """One office day of the same hall, in time order, unnumbered (a device's journal
    numbers what it records): punches and the workstations' activity as in a month."""
    sim = _hall(day.strftime("%Y-%m"), staff_count, site)
    run = _Month(sim, sim.policy(), seed)
    for index, person in enumerate(s for members in sim.windows.values() for s in members):
        run.person_day(person, station_of(index), day)
    sim.events.sort(key=lambda e: (e.ts, e.id))
    return sim
