"""A fingerprint sensor emulator behind a pseudo-terminal.

It speaks the R30x packet protocol on the master side of a pty, so the real pyfingerprint
code (and the real driver) run unchanged against it on the slave side. The module inside
(`emulated_module.py`) keeps a template store, two character buffers and an image buffer
and takes synthetic fingers (`place_finger`); this file adds the pty, the serving thread
and faults on demand: corrupted checksums, silence, late replies and unplugging (smudged
or light touches, a wrong password or address come from the module and its settings).

`port` is a stable symlink to the current pty, like /dev/serial/by-id: after `unplug()` and
`plug_in()` a driver reopens the same path.

    with SensorEmulator(capacity=200) as emulator:
        emulator.place_finger("alice-right-index")
        sensor = FingerprintSensor.open(emulator.port, registry=...)
"""

from __future__ import annotations

import contextlib
import enum
import os
import select
import shutil
import tempfile
import threading
import time
import tty
from pathlib import Path

from base.lifecycle import StartStop
from drivers.fingerprint.emulated_module import EmulatedModule
from drivers.fingerprint.protocol import DEFAULT_ADDRESS, Packet, PacketId, PacketReader, encode
from drivers.fingerprint.synthetic import TouchQuality

SEND_STALL_S = 1.0  # a UART never blocks: bytes nobody reads for this long are lost


class Fault(enum.Enum):
    """Link faults the emulator produces on demand."""

    SILENCE = "silence"  # the sensor hangs: commands get no answer
    CORRUPT_CHECKSUM = "corrupt-checksum"  # answers arrive with a wrong checksum
    LATE_REPLY = "late-reply"  # the sensor is busy: answers come `reply_delay_s` late


class SensorEmulator(StartStop):
    """An emulated ZFM-20 / R30x / AS608 module on a pseudo-terminal (runs in a thread)."""

    def __init__(
        self,
        *,
        capacity: int = 1000,
        password: int = 0,
        address: int = DEFAULT_ADDRESS,
        packet_size: int = 128,
        security_level: int = 3,
        seed: int | None = None,
        reply_delay_s: float = 1.0,
    ) -> None:
        self._module = EmulatedModule(
            capacity=capacity,
            password=password,
            address=address,
            packet_size=packet_size,
            security_level=security_level,
            seed=seed,
        )
        self._faults: dict[Fault, int | None] = {}
        self._lock = threading.RLock()
        self._busy = threading.Condition(self._lock)  # waiting on it frees the lock
        self._reader = PacketReader()
        self._master: int | None = None
        self._slave: int | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="hallwatch-finger-"))
        self._link = self._dir / "ttyFINGER0"
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.reply_delay_s = reply_delay_s

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def port(self) -> str:
        """The serial port path to give pyfingerprint or the driver."""
        return str(self._link)

    def start(self) -> SensorEmulator:
        self.plug_in()
        self._thread = threading.Thread(target=self._serve, name="finger-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping = True
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.unplug()
        os.close(self._wake_r)
        os.close(self._wake_w)
        shutil.rmtree(self._dir, ignore_errors=True)

    def plug_in(self) -> None:
        """Connect the sensor: a fresh pty behind `port` (the module powers up)."""
        with self._lock:
            if self._master is not None:
                return
            master, slave = os.openpty()
            # Raw and no echo from the start, or our own replies would come back as input.
            tty.setraw(slave)
            os.set_blocking(master, False)
            # Holding the slave open keeps the master readable while no client is attached.
            self._master, self._slave = master, slave
            staged = self._dir / "ttyFINGER0.new"
            staged.unlink(missing_ok=True)
            staged.symlink_to(os.ttyname(slave))
            staged.replace(self._link)
            self._module.power_cycle()
            self._reader.clear()
        self._wake()

    def unplug(self) -> None:
        """Pull the cable: the pty and `port` disappear; clients get I/O errors."""
        with self._lock:
            self._link.unlink(missing_ok=True)
            for fd in (self._master, self._slave):
                if fd is not None:
                    os.close(fd)
            self._master = self._slave = None
        self._wake()

    # -- the finger and faults ---------------------------------------------------------------

    def place_finger(
        self, finger: str, quality: TouchQuality = TouchQuality.GOOD, *, touches: int | None = None
    ) -> None:
        """Put a (synthetic) finger on the sensor; every capture is a new noisy touch of it.

        With `touches`, the person lifts the finger after each capture (the next image read
        finds no finger) and puts it back, `touches` times in all, then leaves.
        """
        with self._lock:
            self._module.place_finger(finger, quality, touches=touches)

    def lift_finger(self) -> None:
        with self._lock:
            self._module.lift_finger()

    def inject(self, fault: Fault, times: int | None = None) -> None:
        """Produce `fault` for the next `times` commands (None: until `clear_faults`)."""
        with self._lock:
            self._faults[fault] = times

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def plugged_in(self) -> bool:
        return self._master is not None

    @property
    def template_slots(self) -> list[int]:
        """Occupied slots of the template store (what the flash holds)."""
        with self._lock:
            return self._module.template_slots

    # -- serving -----------------------------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"!")

    def _serve(self) -> None:
        while not self._stopping:
            master = self._master
            watched = [self._wake_r] if master is None else [self._wake_r, master]
            try:
                readable, _, _ = select.select(watched, [], [])
            except (OSError, ValueError):
                continue  # the pty was closed under us by unplug(): look again
            if self._wake_r in readable:
                os.read(self._wake_r, 4096)
            with self._lock:
                if master is None or master != self._master or master not in readable:
                    continue
                try:
                    data = os.read(master, 4096)
                except (BlockingIOError, InterruptedError):
                    continue
                for packet in self._reader.feed(data):
                    self._receive(packet)

    def _fault_active(self, fault: Fault) -> bool:
        if fault not in self._faults:
            return False
        remaining = self._faults[fault]
        if remaining is not None:
            if remaining <= 1:
                del self._faults[fault]
            else:
                self._faults[fault] = remaining - 1
        return True

    def _send(self, packet: Packet) -> None:
        corrupt = packet.packet_id == PacketId.ACK and self._fault_active(Fault.CORRUPT_CHECKSUM)
        data = encode(packet.address, packet.packet_id, packet.payload, corrupt=corrupt)
        while data and self._master is not None and not self._stopping:
            _, writable, _ = select.select([], [self._master], [], SEND_STALL_S)
            if not writable:
                return
            try:
                data = data[os.write(self._master, data) :]
            except BlockingIOError:
                time.sleep(0.001)

    def _receive(self, packet: Packet | None) -> None:
        """Answer one packet from the host, through whatever fault is active."""
        is_command = packet is None or packet.packet_id == PacketId.COMMAND
        if is_command and self._fault_active(Fault.SILENCE):
            return
        if is_command and self._fault_active(Fault.LATE_REPLY):
            self._busy.wait(self.reply_delay_s)  # the finger and faults stay controllable
        replies = self._module.damaged() if packet is None else self._module.handle(packet)
        for reply in replies:
            self._send(reply)
