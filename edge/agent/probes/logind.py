"""systemd-logind's idle hint: input idle time where no display probe can tell."""

from __future__ import annotations

import os
import subprocess
import time


class LogindIdle:
    """Idle time from systemd-logind's IdleHint for the session (the fallback probe)."""

    def __init__(self, session: str | None = None) -> None:
        self.session = session or os.environ.get("XDG_SESSION_ID") or "auto"

    def idle_s(self) -> float | None:
        try:
            out = subprocess.run(
                [
                    "loginctl",
                    "show-session",
                    self.session,
                    "--property=IdleHint",
                    "--property=IdleSinceHint",
                ],
                capture_output=True,
                text=True,
                timeout=2,
                check=True,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        if values.get("IdleHint") != "yes":
            return 0.0 if "IdleHint" in values else None
        since_us = int(values.get("IdleSinceHint", "0") or 0)
        return max(0.0, time.time() - since_us / 1e6) if since_us else None
