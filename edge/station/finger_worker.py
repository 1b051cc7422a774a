"""The fingerprint sensor, watched in its own thread so the camera never waits for it.

The driver blocks while it waits for a finger; this worker turns its calls into a queue
of readings the station loop takes at its own pace, and keeps a sensor that disappeared
under reconnection with backoff. The thread is supervised (base/supervise.py): should it
fail with anything else, it is reported, restarted with a fresh connection, and its
`status` says it is down meanwhile.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from base.supervise import Supervisor
from drivers.fingerprint.errors import (
    FingerprintError,
    NoFingerError,
    PoorImageError,
)
from drivers.fingerprint.sensor import FingerprintSensor

log = logging.getLogger(__name__)

WAIT_S = 1.0  # one identify call waits this long for a finger, then checks for stop
BACKOFF_MAX_S = 30.0
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FingerReading:
    kind: Literal["match", "unknown", "poor", "fault", "online"]
    staff_id: str | None = None
    score: int = 0
    detail: str = ""


class FingerWorker:
    def __init__(
        self, open_sensor: Callable[[], FingerprintSensor], supervisor: Supervisor
    ) -> None:
        self._open = open_sensor
        self.readings: queue.Queue[FingerReading] = queue.Queue()
        self._status = "starting"
        self._sensor: FingerprintSensor | None = None
        self._jobs: queue.Queue[tuple[Callable[[FingerprintSensor], Any], Future[Any]]]
        self._jobs = queue.Queue()
        self._thread = supervisor.thread("fingerprint", self._run)
        self._expected: str | None = None

    @property
    def status(self) -> str:
        """ "ok", or what is wrong: the sensor's fault, or the worker's own failure."""
        if self._thread.down is not None:
            return f"fault: the fingerprint worker failed ({self._thread.down}); restarting"
        return self._status

    def expect(self, staff_id: str | None) -> None:
        """From the next touch on, compare fingers 1:1 with `staff_id`'s only (a face in
        the grey zone awaits them); None: identify among everyone again."""
        self._expected = staff_id

    def run(self, job: Callable[[FingerprintSensor], T], timeout_s: float) -> T:
        """Run `job` on the sensor in the worker's thread, between two identifications (the
        worker alone talks to the sensor); its result, or what it raised. A FingerprintError
        if the sensor is not there within `timeout_s`."""
        future: Future[T] = Future()
        self._jobs.put((job, future))
        try:
            return future.result(timeout_s)
        except TimeoutError:
            if future.cancel():
                raise FingerprintError(
                    f"the fingerprint sensor did not take the job within {timeout_s:g} s "
                    f"({self.status})"
                ) from None
            return future.result()  # it started meanwhile: it finishes

    def _run_jobs(self, sensor: FingerprintSensor) -> None:
        while True:
            try:
                job, future = self._jobs.get_nowait()
            except queue.Empty:
                return
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(job(sensor))
                except BaseException as exc:  # the caller's to judge
                    future.set_exception(exc)

    def start(self) -> FingerWorker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._thread.stop(WAIT_S * 5)
        self._close()

    def _close(self) -> None:
        if self._sensor is not None:
            self._sensor.close()
            self._sensor = None

    def poll(self) -> FingerReading | None:
        try:
            return self.readings.get_nowait()
        except queue.Empty:
            return None

    def _connect(self, stop: threading.Event) -> None:
        backoff = 0.5
        while self._sensor is None and not stop.is_set():
            try:
                self._sensor = self._open()
                self._status = "ok"
                self.readings.put(FingerReading("online"))
            except FingerprintError as exc:
                self._fault(str(exc))
                stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)

    def _fault(self, detail: str) -> None:
        if self._status != f"fault: {detail}":
            log.warning("fingerprint sensor: %s", detail)
            self._status = f"fault: {detail}"
            self.readings.put(FingerReading("fault", detail=detail))

    def _healthy(self) -> None:
        if self._status != "ok":
            self._status = "ok"
            self.readings.put(FingerReading("online"))

    def _run(self, stop: threading.Event) -> None:
        self._close()  # after a failure, nothing of the old connection is trusted
        while not stop.is_set():
            self._connect(stop)
            sensor = self._sensor
            if sensor is None:
                return
            self._run_jobs(sensor)
            expected = self._expected
            try:
                if expected is None:
                    match = sensor.identify(timeout_s=WAIT_S)
                else:
                    match = sensor.verify(expected, timeout_s=WAIT_S)
            except NoFingerError:
                self._healthy()  # the sensor answered: nobody touched it
                continue
            except PoorImageError as exc:
                self._healthy()
                self.readings.put(FingerReading("poor", detail=str(exc)))
                continue
            except FingerprintError as exc:
                # Unplugged, silent or garbled: the driver recovers on a later call.
                self._fault(str(exc))
                stop.wait(1.0)
                continue
            self._healthy()
            if match is None:
                self.readings.put(FingerReading("unknown"))
            else:
                self.readings.put(FingerReading("match", match.staff_id, match.score))
            try:
                sensor.wait_for_lift(timeout_s=10.0)
            except FingerprintError as exc:
                log.info("fingerprint: %s", exc)
