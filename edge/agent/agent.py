"""The workstation agent: sample, classify, merge into intervals, journal, publish.

Every few seconds it looks at the foreground app and the input idle time, classifies the
app with the central policy's categories (the retained `config` topic; a local default
until then), merges equal consecutive samples into intervals and journals each closed
interval, which the publisher sends when the broker acknowledges it: nothing is lost while
offline. Titles leave only for categories whose rule allows them; no keystrokes, no
screen contents are ever read.
"""

from __future__ import annotations

import getpass
import logging
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import datetime

from base.printable import without_controls
from base.supervise import Restarts, Supervisor, Worker
from edge.agent.classify import DEFAULT_RULES, CategoryError, Classification, Classifier
from edge.agent.config import AgentConfig
from edge.agent.desktop import Desktop, UnknownDesktop, open_desktop
from edge.agent.foreground import NO_WINDOW, UNKNOWN_APP
from edge.agent.heartbeats import Heartbeats, Interval, Sample
from edge.journal import Journal
from edge.publisher import JournalPublisher
from edge.resend import resend_handler
from mqtt import schema
from mqtt.client import MqttClient, twin_message
from mqtt.ids import utc_now
from mqtt.schema import CategoryRule, PayloadError
from mqtt.topics import Kind, device_topic

log = logging.getLogger(__name__)

TITLE_MAX = 512
USER_MAX = 64
# Apps that are not apps: they keep their own name as category, whatever the rules say.
SPECIAL_APPS = {UNKNOWN_APP: "unknown", NO_WINDOW: "none"}


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        *,
        desktop: Desktop | None = None,
        on_interval: Callable[[schema.Activity], None] | None = None,
        now: Callable[[], datetime] = utc_now,
        restarts: Restarts | None = None,
    ) -> None:
        self.config = config
        # The publisher's thread and the sampling (the desktop's probes) come back after
        # a failure; `alive` says whether they all could.
        self.supervisor = Supervisor(self._worker_failed, restarts)
        self.sampling = self.supervisor.turn("sampling")
        self.now = now  # sample times; the demo runs a day on an accelerated clock
        self.on_interval = on_interval
        local_rules = [CategoryRule(**rule.model_dump()) for rule in config.categories]
        self.classifier = Classifier(local_rules or DEFAULT_RULES, config.default_category)
        self.policy_version = 0
        self.heartbeats = Heartbeats(
            # One missed tick is tolerated; more means the machine slept.
            pulse_s=config.interval_s * 2 + 1,
            max_s=config.max_interval_s,
        )
        self.journal = Journal(
            config.journal,
            config.site,
            config.device,
            max_bytes=config.journal_max_mb * 1024 * 1024,
            retention=config.retention,
        )
        self.desktop = desktop or open_desktop(config.display)
        self.probe_fault: str | None = None  # what the desktop cannot tell, in words
        self.client = MqttClient(
            config.broker,
            f"hallwatch-{config.site}-{config.device}",
            will=self._status("offline"),  # fixed at connect, so outside the seq order: 0
            on_message=self._on_message,
            on_connection=self._on_connection,
            on_twin=self._on_twin,
        )
        self.client.subscribe(device_topic(config.site, config.device, Kind.CONFIG))
        self.client.subscribe(device_topic(config.site, config.device, Kind.COMMAND))
        self._resend = resend_handler(self.journal, config.site, config.device, self.now)
        self.publisher = JournalPublisher(self.journal, self.client, supervisor=self.supervisor)
        self._login = getpass.getuser()
        self.started = False

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> Agent:
        """Show the disclosure notice and begin publishing (the broker may be down)."""
        self.show_disclosure()
        self.client.start(wait_s=None)
        self.journal.append(self._status("online"))
        self.started = True  # from now on, every reconnection says online again
        self.publisher.start()
        log.info("workstation agent started on the %s desktop", self.desktop.name)
        return self

    def sampler(self, seconds: float | None = None) -> Callable[[threading.Event], None]:
        """One turn of the sampling loop per call: sample, then wait for the next tick.

        Ticks keep to a grid of `interval_s` from now (a slow sample does not push the
        next ones back); once `seconds` (if given) have passed, the turn sets `stop`.
        """
        began = time.monotonic()
        ticks = 0

        def turn(stop: threading.Event) -> None:
            nonlocal ticks
            was_down = self.sampling.down
            self.sampling.call(self.sample)
            if was_down is not None and self.sampling.down is None and self.started:
                self.journal.append(self._status("online"))  # back: its fault alert closes
            ticks += 1
            next_tick = began + ticks * self.config.interval_s
            if seconds is not None and next_tick - began > seconds:
                stop.set()
            else:
                stop.wait(max(0.0, next_tick - time.monotonic()))

        return turn

    def stop(self, drain_s: float = 3.0) -> int:
        """Close the open interval, say offline, give the backlog a moment to drain.

        Returns how many events still wait in the journal for the next run.
        """
        for interval in self.heartbeats.flush():
            self._record(interval)
        if not self.client.taken_over.is_set():  # else the twin's online status stays
            self.journal.append(self._status("offline"))
        self.publisher.stop(drain_s=drain_s)
        self.client.stop()
        waiting = self.journal.backlog()
        self.journal.close()
        self.desktop.close()
        return waiting

    def show_disclosure(self) -> None:
        log.warning("%s", self.config.disclosure)
        if self.config.disclosure_command:
            try:
                # A desktop dialog stays up as long as the user wants: do not wait for it.
                subprocess.Popen(
                    [*self.config.disclosure_command, self.config.disclosure],
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            except OSError as exc:
                log.error("cannot run the disclosure command: %s", exc)

    # -- sampling --------------------------------------------------------------------
    def sample(self) -> list[schema.Activity]:
        """Take one sample; journal and return the intervals it closes.

        Outside the configured recording hours nothing is sampled: the open interval ends.
        """
        now = self.now()
        recording = self.config.recording
        if recording is not None and not recording.contains(now):
            return [self._record(interval) for interval in self.heartbeats.flush()]
        idle = self.desktop.idle_s()
        self._note_probe_fault(idle)
        if self.desktop.name == UnknownDesktop.name and idle is None:
            # Nothing seen: no interval at all, rather than "unknown, idle 0" forever.
            return [self._record(interval) for interval in self.heartbeats.flush()]
        foreground = self.desktop.foreground()
        classification = self._classify(foreground.app)
        title = foreground.title if classification.titles_allowed else None
        # What the desktop reports may hold control characters (a title with a line
        # break): the contract refuses them in text, so they become spaces here.
        sample = Sample(
            at=now,
            app=without_controls(foreground.app),
            category=classification.category,
            user=without_controls(foreground.user or self._login)[:USER_MAX],
            idle_s=idle or 0.0,
            away=idle is not None and idle >= self.config.afk_after_s,
            title=without_controls(title)[:TITLE_MAX] if title else None,
        )
        return [self._record(interval) for interval in self.heartbeats.add(sample)]

    def _note_probe_fault(self, idle: float | None) -> None:
        """Say, once per change, what the desktop cannot tell: in the status (its health's
        `sensor`) and, when it starts, as a fault alert."""
        missing = []
        if self.desktop.name == UnknownDesktop.name:
            missing.append("no display: the foreground app cannot be seen")
        if idle is None:
            missing.append("no idle source: time away from the keyboard cannot be told")
        fault = "; ".join(missing) or None
        if fault == self.probe_fault:
            return
        self.probe_fault = fault
        if fault is not None:
            log.error("workstation probe fault: %s", fault)
            self._alert(fault)
        if self.started:
            self.journal.append(self._status("online"))

    def _worker_failed(self, worker: Worker, error: Exception) -> None:
        """A worker failed (it is retried): sampling's is a fault of the probes, in an
        alert and the status; the publisher's a fault of the program, in an alert."""
        if worker is not self.sampling:
            self._alert(f"{worker.name} failed, restarting: {worker.down}", software=True)
            return
        self._alert(f"sampling failed, retrying: {worker.down}")
        if self.started:
            self.journal.append(self._status("online"))

    def _alert(self, message: str, *, software: bool = False) -> None:
        kind = schema.AlertKind.SOFTWARE_FAULT if software else schema.AlertKind.PROBE_FAULT
        self.journal.append(
            schema.new_event(
                schema.Alert,
                self.config.site,
                self.config.device,
                self.now(),
                kind=kind,
                severity=schema.Severity.MINOR,
                message=message[:200],
            )
        )

    def _classify(self, app: str) -> Classification:
        if app in SPECIAL_APPS:
            return Classification(SPECIAL_APPS[app], False)
        return self.classifier.classify(app)

    def _record(self, interval: Interval) -> schema.Activity:
        sample = interval.sample
        event = schema.new_event(
            schema.Activity,
            self.config.site,
            self.config.device,
            interval.end,
            user=sample.user,
            start=interval.start,
            duration_s=interval.duration_s,
            app=sample.app,
            category=sample.category,
            idle_s=round(interval.idle_s, 3),
            staff_id=self.config.users.get(sample.user),
            title=sample.title,
        )
        stored = self.journal.append(event)
        if self.on_interval is not None:
            self.on_interval(stored)
        return stored

    # -- central policy --------------------------------------------------------------
    def _on_message(self, topic: str, payload: bytes) -> None:
        if topic.endswith(f"/{Kind.COMMAND}"):
            self._resend(topic, payload)
        else:
            self._on_config(topic, payload)

    def _on_config(self, topic: str, payload: bytes) -> None:
        """Apply a category policy from the retained config topic, and acknowledge it."""
        try:
            config = schema.decode_as(schema.Config, payload, topic)
        except PayloadError as exc:
            log.error("ignored an invalid config message on %s: %s", topic, exc.reason)
            return
        if config.version <= self.policy_version:
            return  # the retained copy of what is already applied
        error = None
        if config.categories:
            try:
                self.classifier = Classifier(config.categories, self.config.default_category)
            except CategoryError as exc:
                error = str(exc)
        if error is None:
            self.policy_version = config.version
            log.info("category policy version %d applied", config.version)
        else:
            log.error("category policy version %d rejected: %s", config.version, error)
        self.journal.append(schema.ack_for(config, self.config.device, self.now(), error))

    def _on_connection(self, connected: bool) -> None:
        """Back after a lost connection: the broker published our will (a broker that
        restarts publishes everyone's), so say at once that this agent is here."""
        if connected and self.started:
            self.journal.append(self._status("online"))

    def _on_twin(self, boot: str | None) -> None:
        c = self.config
        message = twin_message(c.site, c.device, boot)[:200]
        alert = schema.new_event(
            schema.Alert,
            c.site,
            c.device,
            self.now(),
            kind=schema.AlertKind.DUPLICATE_DEVICE,
            severity=schema.Severity.SERIOUS,
            message=message,
        )
        self.journal.append(alert)

    def _status(self, state: str) -> schema.Status:
        """A status event; the journal gives it its seq. Its health says what the desktop
        probes see ("ok", what they cannot, or that sampling failed)."""
        c = self.config
        seen = self.probe_fault or "ok"
        if self.sampling.down is not None:
            seen = f"fault: sampling failed ({self.sampling.down})"
        health = schema.Health(sensor=seen[:200]) if state == "online" else None
        return schema.status_for(c.site, c.device, "agent", state, self.now(), health)
