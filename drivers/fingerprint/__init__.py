"""Fingerprint sensor (ZFM-20 / R30x / AS608) driver over pyfingerprint, and its emulator.

Driver: `sensor` (FingerprintSensor: enrol, identify, delete, list), `link` (bounded serial
link, typed errors, reconnects), `registry` (slot -> staff map), `backup` (template export
and import), `settings` ([fingerprint] configuration), `errors`, `cli` (`hallwatch finger`).
Emulator: `emulator` (SensorEmulator on a pty, link faults), `emulated_module` (what the
module does with each packet), `synthetic` (synthetic fingers), `protocol` (packet framing),
`emulator_console` (`hallwatch finger emulate`).
"""
