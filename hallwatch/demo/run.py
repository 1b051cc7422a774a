"""The demo's hall, wired from the product's own parts, living through `hall.DAY_PLAN`."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

import click

from drivers.feedback import Notice
from hallwatch.demo import hall
from hallwatch.demo.relay import TcpProxy
from hallwatch.demo.simulated_time import SimulatedTime
from hallwatch.demo.stage import ScriptedDesktop, Stage, Use
from mqtt import feed
from mqtt.cli import print_line, run_feed
from mqtt.client import BrokerConfig
from mqtt.embedded import EmbeddedBroker

PACK = "permissive"
# Real seconds a person stands at a device before walking off (the vote needs a moment).
AT_DEVICE_S = 5.0


@dataclass(frozen=True)
class Report:
    text: str
    html: Path


class Screen:
    """A station's display, printed to the terminal and remembered for the scenario."""

    def __init__(self, device: str, quiet: bool) -> None:
        self.device, self.quiet = device, quiet
        self.shown: list[Notice] = []
        self.changed = threading.Event()

    def show(self, notice: Notice) -> None:
        self.shown.append(notice)
        self.changed.set()
        if not self.quiet and notice.kind != "info":
            colour = {"ok": "green", "fail": "red"}[notice.kind]
            click.secho(f"    [{self.device} screen] {notice.title}  {notice.detail}", fg=colour)


@dataclass(frozen=True)
class Kiosk:
    """A station as the scenario drives it: its camera's stage, its keypad, its screen."""

    station: Any  # edge.station.station.Station (imported lazily with the face stack)
    stage: Stage
    keypad: TextIO
    screen: Screen


class HallDay:
    def __init__(
        self,
        out: Path,
        sim_time: SimulatedTime,
        faces: Path | None,
        models_source: Path | None,
        *,
        quiet: bool = False,
    ) -> None:
        self.out, self.sim_time, self.faces, self.quiet = out, sim_time, faces, quiet
        self._stack = contextlib.ExitStack()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.models_dir = self._face_pack(models_source)
        if faces is None:
            click.secho(
                "No photos for the replay camera (--faces, or $HALLWATCH_SHARED/faces): "
                "the stations identify by finger only.",
                fg="yellow",
            )
        self.face = self.models_dir is not None and faces is not None

    # -- set-up ----------------------------------------------------------------------
    def _face_pack(self, models_source: Path | None) -> Path | None:
        from models.locations import default_models_dir
        from models.packs import PackError, PackStore

        for root in (default_models_dir(), self.out / "models"):
            with contextlib.suppress(PackError):
                PackStore(root).open(PACK)
                return root
            if models_source is not None and root == self.out / "models":
                try:
                    PackStore(root).install(str(models_source), PACK)
                    return root
                except PackError as exc:
                    click.secho(
                        f"cannot install the face pack from {models_source}: {exc}", fg="yellow"
                    )
        click.secho(
            "No face model pack is installed, so the stations identify by finger only.\n"
            "To see faces too, install the permissive pack (YuNet + MobileFaceNet + MiniFASNetV2):\n"
            "    hallwatch models install --from DIR --pack permissive\n"
            "where DIR holds face_detection_yunet_2023mar.onnx, mobilefacenet_foamliu_128d.onnx and\n"
            "anti_spoof/2.7_80x80_MiniFASNetV2.onnx (see docs/face.md), or run the demo with --models DIR.",
            fg="yellow",
        )
        return None

    def __enter__(self) -> HallDay:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)
        self._stack.close()

    def _start(self) -> None:
        from drivers.fingerprint.emulator import SensorEmulator
        from rules.service import RulesService, ServiceConfig

        broker = self._stack.enter_context(EmbeddedBroker())
        self.broker = BrokerConfig(port=broker.port, reconnect_min_s=0.2, reconnect_max_s=1.0)
        say = click.secho if not self.quiet else (lambda *a, **k: None)
        say(
            f"hallwatch demo: {hall.SITE}, {hall.DAY:%A %Y-%m-%d}, a day at {self.sim_time.speed:g}x;"
            f" embedded broker on 127.0.0.1:{broker.port}",
            bold=True,
        )
        self.emulator = self._stack.enter_context(SensorEmulator(capacity=200, seed=2026))
        self.relay = TcpProxy(broker.port)
        self._stack.callback(self.relay.close)
        policy = self.out / "policy.toml"
        policy.write_text(hall.policy_toml())
        config = ServiceConfig.model_validate(
            {
                "broker": self.broker.model_dump() | {"password": None},
                "rules": {
                    "db": self.out / "rules.db",
                    "policy": policy,
                    "group": None,
                    "recompute_every_s": 0.5,
                },
            }
        )
        self.rules = RulesService(config, now=self.sim_time).start()
        self._stack.callback(self.rules.stop)
        self._fill_directory()
        if not self.quiet:
            self._background(self._feed)
            time.sleep(0.5)
        faces = self._enrol_faces()
        for device in hall.STATIONS:
            (self.out / device).mkdir()
        self.kiosks = {device: self._station(device) for device in hall.STATIONS}
        self.agents = [self._agent(ws, staff) for ws, staff in hall.WORKSTATIONS.items()]
        fingers = self._enrol_fingers()
        self._until_every_station_knows_everyone()
        if not self.quiet:
            click.secho(
                f"enrolled {faces} faces centrally and {fingers} fingers at st-01 for "
                f"{len(hall.STAFF)} staff; every station has them\n",
                bold=True,
            )

    def _background(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _feed(self) -> None:
        selection = feed.FeedFilter(sites=frozenset({hall.SITE}))
        run_feed(
            self.broker.model_copy(update={"persistent_session": False}),
            selection,
            print_line(False),
            stop=self._stop,
            zone=hall.ZONE,
            names={m.staff_id: m.name for m in self.rules.directory().staff},
        )

    def _fill_directory(self) -> None:
        """What a hall manager does first: departments, windows, the staff (imported from
        the HR system's file) and the devices, through the management API."""
        from rules.acting import Actor
        from rules.backend import open_store
        from rules.directory import Department, Device, ServiceWindow
        from rules.manage import Management
        from rules.staff_file import read_rows

        staff_file = self.out / "staff.csv"
        staff_file.write_text(hall.staff_file(), encoding="utf-8")
        store = open_store(self.out / "rules.db")  # a manager's own connection
        try:
            manage = Management(store, self.rules.policy, now=self.sim_time)
            admin = Actor("demo-admin", "demo")
            for department, name in hall.DEPARTMENTS.items():
                manage.add_department(admin, Department(department, name))
            for window, (name, department) in hall.WINDOWS.items():
                manage.add_window(admin, ServiceWindow(window, hall.SITE, name, department))
            manage.import_staff(admin, read_rows(staff_file), staff_file.name)
            for device, name in hall.STATIONS.items():
                manage.register_device(admin, Device(hall.SITE, device, "station", name=name))
            for desk, staff_id in hall.WORKSTATIONS.items():
                manage.register_device(admin, Device(hall.SITE, desk, "agent", user=staff_id))
        finally:
            store.close()

    def _enrol_faces(self) -> int:
        """Faces enrolled centrally from photos (real pipeline, duplicate check across the
        directory); the rules service sends them to every station of the hall."""
        if not self.face:
            return 0
        from hallwatch.enrol import enrol_centrally
        from models.enrolment import photo_templates
        from models.packs import PackStore
        from models.pipeline import FacePipeline
        from rules.backend import open_store

        assert self.models_dir is not None and self.faces is not None
        pipeline = FacePipeline.from_pack(PackStore(self.models_dir).path(PACK))
        model = pipeline.manifest.recognizer.sha256
        store = open_store(self.out / "rules.db")
        try:
            people = [p for p in hall.STAFF if p.photo is not None]
            for person in people:
                refused: dict[str, str] = {}
                templates = photo_templates(pipeline, [self.faces / person.photo], refused)
                embeddings = [t.embedding for t in templates]
                enrol_centrally(
                    store, hall.SITE, person.staff_id, person.name, model, embeddings,
                    pipeline.duplicate_threshold, by="demo-admin", at=self.sim_time(),
                )  # fmt: skip
        finally:
            store.close()
        return len(people)

    def _enrol_fingers(self) -> int:
        """Fingers enrolled at st-01 through its control socket (its own finger worker
        reads the sensor); st-01 sends the templates up, the centre sends them on."""
        from base.control_socket import ask, control_socket
        from drivers.fingerprint.sensor import EnrolStep

        kiosk = self.kiosks["st-01"]
        assert kiosk is not None
        socket = control_socket(self.out / "st-01")
        fingers = [p for p in hall.STAFF if self._finger(p) is not None]
        for person in fingers:
            request = {"command": "enrol-finger", "staff_id": person.staff_id}
            for reply in ask(socket, request):
                if reply.get("prompt") == EnrolStep.PLACE.value:  # both touches at once
                    self.emulator.place_finger(self._finger(person), touches=2)
            self.emulator.lift_finger()
        return len(fingers)

    def _until_every_station_knows_everyone(self, timeout_s: float = 30.0) -> None:
        """Wait for each running station to apply the hall's whole gallery."""
        from rules.gallery_status import gallery_status

        running = {device for device, kiosk in self.kiosks.items() if kiosk is not None}
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            rows = gallery_status(self.rules.store, hall.SITE)
            current = {r.device for r in rows if r.applied_version == r.site_version}
            if rows and running <= current:
                return
            time.sleep(0.2)
        raise click.ClickException(f"the stations did not receive the hall's gallery: {rows}")

    def _finger(self, person: hall.Person) -> str | None:
        """The person's finger; with no faces to see, everyone has one (st-01 serves all)."""
        return person.finger or (None if self.face else f"finger-{person.staff_id.lower()}")

    def _station(self, device: str) -> Kiosk | None:
        from edge.station.config import StationConfig
        from edge.station.keypad import KeyReader
        from edge.station.station import Station

        finger = device == "st-01"
        face = self.face
        broker = (
            self.broker
            if device == "st-01"
            else self.broker.model_copy(update={"port": self.relay.port})
        )
        config = StationConfig.model_validate(
            {
                "site": hall.SITE,
                "device": device,
                "data_dir": self.out / device,
                "models_dir": self.models_dir,
                "language": "zh" if device == "st-01" else "en",
                "identify": ("face_or_finger" if face else "finger") if finger else "face",
                "debounce_s": 30.0,
                "heartbeat_s": 3600,
                "fingerprint": {"port": self.emulator.port, "data_dir": self.out / device}
                if finger
                else None,
                "broker": broker.model_dump() | {"password": None},
            }
        )
        if not face and not finger:
            return None
        read_end, write_end = os.pipe()
        stage, screen = Stage(), Screen(device, self.quiet)
        station = Station(
            config,
            keys=KeyReader(os.fdopen(read_end)),
            feedback=screen,
            now=self.sim_time,
            camera=stage if face else None,
        )
        keypad = os.fdopen(write_end, "w", buffering=1)
        self._stack.callback(keypad.close)
        station.start()
        self._stack.callback(station.stop)
        stop = threading.Event()
        self._stack.callback(stop.set)
        self._background(station.run, stop)
        return Kiosk(station, stage, keypad, screen)

    def _agent(self, device: str, staff_id: str):
        from edge.agent.agent import Agent
        from edge.agent.config import AgentConfig

        login = staff_id.lower()
        config = AgentConfig.model_validate(
            {
                "site": hall.SITE,
                "device": device,
                "journal": self.out / device / "activity.db",
                "interval_s": 60,
                "max_interval_s": 1800,
                "users": {login: staff_id},
                "broker": self.broker.model_dump() | {"password": None},
            }
        )
        uses = [Use(a, b, app) for a, b, app in hall.DESK_USE[device]]
        agent = Agent(
            config, desktop=ScriptedDesktop(self.sim_time, login, uses, "wps"), now=self.sim_time
        )
        agent.start()
        self._stack.callback(agent.stop)
        return agent

    # -- the day ---------------------------------------------------------------------
    def live(self) -> None:
        self.sim_time.resume()
        self._background(self._sample_desks)
        for step in hall.DAY_PLAN:
            self.sim_time.sleep_until(step.at)
            self._do(step)
        self.sim_time.sleep_until(hall.END)
        self._settle()

    def _sample_desks(self) -> None:
        """The agents' sampling, on the simulated clock (one sample a simulated minute)."""
        next_at = self.sim_time()
        while not self._stop.is_set():
            self.sim_time.sleep_until(next_at)
            for agent in self.agents:
                agent.sample()
            next_at += timedelta(minutes=1)

    def _do(self, step: hall.Step) -> None:
        person = hall.BY_ID.get(step.staff_id) if step.staff_id else None
        station_id = (
            person.station
            if self.face and person and step.kind in ("face", "finger", "key")
            else "st-01"
        )
        kiosk = self.kiosks.get(station_id)
        if step.note and not self.quiet:
            click.secho(f"  -- {step.at:%H:%M} {step.note}", fg="cyan")
        match step.kind:
            case "cut":
                self.relay.cut()
            case "restore":
                self.relay.restore()
            case "key":
                kiosk.keypad.write(step.keys + "\n")
                time.sleep(0.1)
            case "face" if self.face:
                self._at_device(kiosk, self.faces / person.probe)
            case "finger" | "face":
                self._at_device(kiosk, None, finger=self._finger(person))
            case "stranger" if self.face:
                self._at_device(kiosk, self.faces / hall.STRANGER)
            case "spoof" if self.face:
                self._at_device(kiosk, self.faces / hall.SPOOF_PHOTO)

    def _at_device(
        self, kiosk: Kiosk | None, photo: Path | None, finger: str | None = None
    ) -> None:
        """Someone stands at the device until it answers (the clock stops meanwhile)."""
        if kiosk is None or (photo is None and finger is None):
            return
        self.sim_time.freeze()
        screen = kiosk.screen
        seen = len(screen.shown)
        if photo is not None:
            kiosk.stage.show(photo)
        else:
            self.emulator.place_finger(finger, touches=1)
        deadline = time.monotonic() + AT_DEVICE_S
        while time.monotonic() < deadline and not any(
            n.kind != "info" for n in screen.shown[seen:]
        ):
            screen.changed.wait(0.1)
            screen.changed.clear()
        kiosk.stage.show(None)
        time.sleep(0.7)  # walk off: empty frames reset the vote
        self.sim_time.resume()

    def _settle(self) -> None:
        """Let every device drain and the rules service judge the settled sessions."""
        deadline = time.monotonic() + 20
        journals = [k.station.journal for k in self.kiosks.values() if k] + [
            a.journal for a in self.agents
        ]
        while time.monotonic() < deadline and any(j.backlog() for j in journals):
            time.sleep(0.2)
        time.sleep(2.0)  # the rules service's recompute tick

    # -- the reports -----------------------------------------------------------------
    def report(self) -> Report:
        from rules import render
        from rules.html_report import daily_page
        from rules.inspection import load_inspection
        from rules.scoring import load_sheet, veto_violations

        store, policy, directory = self.rules.store, self.rules.policy, self.rules.directory()
        inspection = load_inspection(store, policy, directory, hall.DAY, hall.SITE, self.sim_time())
        month = f"{hall.DAY:%Y-%m}"
        people, windows = load_sheet(store, policy, directory, month)
        scores = render.score_text(month, people, windows, directory, "zh")
        text = (
            f"\n== Daily inspection {hall.DAY} ==\n{render.inspection_text(inspection)}\n"
            f"== Month-to-date scores {month} ==\n{scores}"
        )
        html = self.out / "report.html"
        sheet = (month, people, windows, veto_violations(store, people))
        html.write_text(daily_page(inspection, sheet, directory), encoding="utf-8")
        return Report(text, html)
