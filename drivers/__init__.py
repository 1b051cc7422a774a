"""Hardware drivers (camera, fingerprint sensor, feedback) and their emulators."""
