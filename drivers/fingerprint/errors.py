"""Errors of the fingerprint driver: each says what happened and what a person can do."""

from __future__ import annotations

from base.errors import HallwatchError


class FingerprintError(HallwatchError):
    """Base class: `str(error)` is a message fit for the operator or the staff member."""


class SensorUnavailable(FingerprintError):
    """The sensor cannot be reached (no port, nothing answering, unplugged)."""


class NoSensorError(SensorUnavailable):
    """No sensor on the port: the port is missing or nothing answers there."""


class PortInUseError(SensorUnavailable):
    """Another process holds the sensor's serial port; the message names it."""


class SensorNotResponding(SensorUnavailable):
    """The sensor stopped answering in the middle of a session."""


class SensorDisconnected(SensorUnavailable):
    """The serial port went away (cable pulled, USB adapter reset)."""


class SensorCommunicationError(FingerprintError):
    """Replies arrived damaged (bad checksum, garbage): wiring, baud rate or noise."""


class WrongPasswordError(FingerprintError):
    """The sensor refused the configured password."""


class WrongAddressError(FingerprintError):
    """The sensor is configured with another module address."""


class NoFingerError(FingerprintError):
    """No finger was placed before the timeout."""


class PoorImageError(FingerprintError):
    """The capture was unusable: the message says whether to press harder or clean up."""


class FingersDifferError(FingerprintError):
    """The two enrolment touches did not come from the same finger."""


class AlreadyEnrolledError(FingerprintError):
    """The finger presented for enrolment is already enrolled."""


class TemplateStoreFullError(FingerprintError):
    """Every slot of the sensor's template store is in use."""


class UnknownStaffError(FingerprintError):
    """No finger is enrolled for that staff member."""


class RegistryMismatchError(FingerprintError):
    """The sensor and the device database disagree about a slot."""


class RegistryError(FingerprintError):
    """The device database of slot owners cannot be opened or written."""


class BackupFileError(FingerprintError):
    """A template export file that cannot be read or trusted."""


class SensorOperationError(FingerprintError):
    """The sensor refused an operation for a reason not covered above."""
