"""The serial link to the sensor: pyfingerprint with bounded waits, typed errors, reconnects.

pyfingerprint 1.5 reads replies byte by byte with a 2 s serial timeout and only notices
silence after 12 empty reads (24 s). Here the port it uses is a serial.Serial whose read
raises at the first byte that does not arrive within `reply_timeout_s`, so a dead, hung or
unplugged sensor is reported within that bound; the next call resynchronises (flush, then
password handshake) or reopens the port.

The port is opened exclusively: a second process (a `hallwatch finger` command beside a running
station) is refused before it touches the line, with the holder's pid and command line,
instead of flushing the holder's replies and wedging the sensor.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import serial
from pyfingerprint.pyfingerprint import PyFingerprint

from drivers.fingerprint.errors import (
    FingerprintError,
    NoSensorError,
    PoorImageError,
    PortInUseError,
    SensorCommunicationError,
    SensorDisconnected,
    SensorNotResponding,
    SensorOperationError,
    WrongAddressError,
    WrongPasswordError,
)
from drivers.fingerprint.port_holders import port_holders

T = TypeVar("T")

# What the port raises once the device behind it is gone: pyserial's errors, the operating
# system's, and termios's own (flushing a hung-up tty), which is no OSError.
_PORT_GONE = (serial.SerialException, OSError, termios.error)

# pyfingerprint raises bare Exceptions; these are its messages for damaged replies.
_DAMAGED_REPLY = (
    "The received packet is corrupted (the checksum is wrong)!",
    "The received packet do not begin with a valid header!",
    "The received packet is no ack packet!",
    "The received packet is no data packet!",
    "Communication error",
)
_POOR_IMAGE = {
    "The image is too messy": "the image is smudged: clean the sensor window, dry your "
    "finger and place it again",
    "The image contains too few feature points": "too little of the finger was read: press "
    "harder and cover the whole sensor window",
    "The image is invalid": "the image could not be used: lift your finger and place it again",
    "Could not read image": "the sensor could not read an image: lift your finger and place "
    "it again",
}


@dataclass(frozen=True)
class LinkSettings:
    port: str
    password: int = 0x00000000
    address: int = 0xFFFFFFFF
    baud: int = 57600
    reply_timeout_s: float = 2.0


class _ReplyTimeout(Exception):
    """A reply byte did not arrive in time (raised inside pyfingerprint's read loop)."""


class _BoundedSerial(serial.Serial):
    """The port, held exclusively, whose read gives up at the first late byte.

    Two locks, because each misses a case: flock (pyserial's `exclusive`) binds every process
    of any user and the kernel drops it when the holder dies; TIOCEXCL also refuses programs
    that never flock (a terminal program), but not root, and a pty keeps it after the last
    close, so it is cleared before closing.
    """

    def __init__(self, settings: LinkSettings) -> None:
        super().__init__(
            port=settings.port,
            baudrate=settings.baud,
            timeout=settings.reply_timeout_s,
            exclusive=True,
        )

    def open(self) -> None:
        super().open()
        fcntl.ioctl(self.fd, termios.TIOCEXCL)

    def close(self) -> None:
        if self.is_open:
            # The device may have gone away: then nothing is left to unmark.
            with contextlib.suppress(OSError):
                fcntl.ioctl(self.fd, termios.TIOCNXCL)
        super().close()

    def read(self, size: int = 1) -> bytes:
        data = super().read(size)
        if len(data) < size:
            raise _ReplyTimeout
        return data


class _BoundedPyFingerprint(PyFingerprint):
    """PyFingerprint talking through a `_BoundedSerial`.

    pyfingerprint 1.5 (pinned) opens its port in the constructor, without any lock, and
    keeps it in name-mangled attributes. Its constructor is not called: opening the port
    unlocked would reconfigure and flush it under a process that holds it. The attributes
    it sets are set here instead (the settings validate the ranges it checks).
    """

    def __init__(self, settings: LinkSettings) -> None:
        self.port_handle = _BoundedSerial(settings)
        self._PyFingerprint__address = settings.address
        self._PyFingerprint__password = settings.password
        self._PyFingerprint__serial = self.port_handle


class SensorLink:
    """One connection to one sensor; every call goes through `call` (thread-safe)."""

    def __init__(self, settings: LinkSettings) -> None:
        self.settings = settings
        self._device: _BoundedPyFingerprint | None = None
        self._resync_needed = False
        self._lock = threading.RLock()

    def connect(self) -> None:
        """Open the port and verify the password; raise a typed error if that fails."""
        with self._lock:
            self.close()
            self._device = self._open_port()
            self._resync_needed = False
            try:
                self._handshake(self._device)
            except FingerprintError:
                self.close()
                raise

    def close(self) -> None:
        with self._lock:
            if self._device is not None:
                self._device.port_handle.close()
            self._device = None

    def call(self, operation: Callable[[PyFingerprint], T], *, what: str, retry: bool = True) -> T:
        """Run one pyfingerprint operation; a damaged reply is retried once if `retry`."""
        with self._lock:
            attempts = 2 if retry else 1
            for attempt in range(1, attempts + 1):
                device = self._ready_device()
                try:
                    return operation(device)
                except _ReplyTimeout:
                    self._resync_needed = True
                    raise SensorNotResponding(
                        f"the fingerprint sensor on {self.settings.port} stopped answering "
                        f"while {what} (no reply within {self.settings.reply_timeout_s:g} s): "
                        "check its power and cable; the next attempt reconnects"
                    ) from None
                except _PORT_GONE:
                    self.close()
                    raise self._disconnected(what) from None
                except Exception as exc:
                    message = str(exc)
                    if message in _DAMAGED_REPLY:
                        self._resync_needed = True
                        if attempt < attempts:
                            continue
                        raise self._damaged(what, message) from None
                    raise self._refused(what, message) from None
            raise AssertionError("unreachable: the loop returns or raises")

    # -- internals ---------------------------------------------------------------------------

    def _open_port(self) -> _BoundedPyFingerprint:
        port = self.settings.port
        try:
            return _BoundedPyFingerprint(self.settings)
        except serial.SerialException as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EBUSY):
                raise self._in_use() from None
            if exc.errno == errno.EACCES:
                raise NoSensorError(
                    f"no permission to open {port}: add the service user to the 'dialout' group"
                ) from None
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise NoSensorError(
                f"no fingerprint sensor on {port} ({reason}): plug the sensor in or set the "
                "right port (ls /dev/ttyUSB* /dev/ttyAMA* /dev/serial/by-id)"
            ) from None

    def _handshake(self, device: _BoundedPyFingerprint) -> None:
        port = self.settings.port
        try:
            accepted = device.verifyPassword()
        except _ReplyTimeout:
            raise NoSensorError(
                f"no fingerprint sensor answered on {port} within "
                f"{self.settings.reply_timeout_s:g} s: check its power, that TX and RX are "
                f"crossed, and the baud rate ({self.settings.baud})"
            ) from None
        except _PORT_GONE:
            raise self._disconnected("connecting") from None
        except Exception as exc:
            if str(exc) in _DAMAGED_REPLY:
                raise self._damaged("connecting", str(exc)) from None
            raise self._refused("the password check", str(exc)) from None
        if not accepted:
            raise WrongPasswordError(
                f"the sensor on {port} refused the configured password: set the sensor's "
                "password in the configuration (the factory default is 0)"
            )

    def _ready_device(self) -> _BoundedPyFingerprint:
        if self._device is None:
            self.connect()
        elif self._resync_needed:
            # A late or damaged reply may still be arriving: drop it, then prove the link
            # works again with a handshake before trusting the next reply.
            try:
                self._drain(self._device.port_handle)
            except _PORT_GONE:  # unplugged meanwhile: reopen (or say it is not there)
                self.connect()
            else:
                self._handshake(self._device)
            self._resync_needed = False
        assert self._device is not None
        return self._device

    def _drain(self, handle: serial.Serial) -> None:
        """Discard input until the line has been quiet for one reply timeout.

        A reply that comes up to twice the bound late is swallowed here instead of being
        taken for the answer to the next command.
        """
        quiet_s = self.settings.reply_timeout_s
        handle.reset_input_buffer()
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < quiet_s:
            time.sleep(quiet_s / 20)
            if handle.in_waiting:
                handle.reset_input_buffer()
                quiet_since = time.monotonic()

    def _in_use(self) -> PortInUseError:
        port = self.settings.port
        holders = port_holders(port)
        who = ", ".join(map(str, holders)) or "another process (not visible to this user)"
        return PortInUseError(
            f"the fingerprint sensor on {port} is in use by {who}: one process at a time "
            "talks to the sensor; to enrol at a running station, enrol through the station, "
            "otherwise stop that process first"
        )

    def _disconnected(self, what: str) -> SensorDisconnected:
        return SensorDisconnected(
            f"the fingerprint sensor on {self.settings.port} was disconnected while {what}: "
            "check the cable; the next attempt reconnects"
        )

    def _damaged(self, what: str, message: str) -> SensorCommunicationError:
        return SensorCommunicationError(
            f"replies from the sensor on {self.settings.port} arrive damaged "
            f"({message.rstrip('!')}) while {what}: check the cable, its length and the "
            f"baud rate ({self.settings.baud})"
        )

    def _refused(self, what: str, message: str) -> FingerprintError:
        if message in _POOR_IMAGE:
            return PoorImageError(_POOR_IMAGE[message])
        if message == "The address is wrong":
            return WrongAddressError(
                f"the sensor on {self.settings.port} does not use module address "
                f"0x{self.settings.address:08X}: configure the address the sensor was given"
            )
        return SensorOperationError(f"the sensor refused {what}: {message}")
