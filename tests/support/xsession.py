"""A real X session for tests: Xvfb on a free display, the openbox window manager (which
maintains `_NET_ACTIVE_WINDOW`), X clients, and xdotool for focus and input."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path


class XSession:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.processes: list[subprocess.Popen] = []
        self.display = ""

    def start(self) -> XSession:
        read_fd, write_fd = os.pipe()
        # -displayfd: Xvfb picks a free display number itself and writes it when ready.
        xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "800x600x24", "-nolisten", "tcp"],
            pass_fds=(write_fd,),
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(xvfb)
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number:
            self.stop()
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"
        try:
            self._start_window_manager()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_window_manager(self) -> None:
        log = self.workdir / "openbox.log"
        for _ in range(3):  # openbox occasionally exits at once; a new one then works
            with log.open("ab") as err:
                wm = subprocess.Popen(
                    ["openbox", "--sm-disable"], env=self.env, stdout=err, stderr=err
                )
            self.processes.append(wm)
            deadline = time.monotonic() + 10
            while wm.poll() is None and time.monotonic() < deadline:
                if self.xprop_root("_NET_SUPPORTING_WM_CHECK"):
                    return
                time.sleep(0.05)
            if wm.poll() is None:
                raise RuntimeError(f"openbox is not managing {self.display}: {log.read_text()}")
        raise RuntimeError(f"openbox keeps exiting (status {wm.returncode}): {log.read_text()}")

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DISPLAY": self.display}

    def spawn(self, argv: list[str]) -> subprocess.Popen:
        process = subprocess.Popen(
            argv, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.processes.append(process)
        return process

    def app(self, name: str, title: str | None = None) -> tuple[subprocess.Popen, str]:
        """Run xlogo under the executable name `name`; return it and its window id."""
        binary = self.workdir / name
        if not binary.exists():
            shutil.copy("/usr/bin/xlogo", binary)
        process = self.spawn([str(binary), "-title", title or name])
        window = self.xdotool("search", "--sync", "--classname", f"^{name}$").split()[0]
        return process, window

    def activate(self, window: str) -> None:
        self.xdotool("windowactivate", "--sync", window)
        self._wait(
            lambda: int(self.xprop_root("_NET_ACTIVE_WINDOW").split()[-1], 16) == int(window),
            "focus",
        )

    def xdotool(self, *args: str) -> str:
        return subprocess.run(
            ["xdotool", *args], env=self.env, capture_output=True, text=True, check=True, timeout=10
        ).stdout

    def xprop_root(self, prop: str) -> str:
        out = subprocess.run(
            ["xprop", "-root", prop], env=self.env, capture_output=True, text=True, timeout=10
        ).stdout
        return "" if "not found" in out or "no such atom" in out else out

    def _wait(self, ready, what: str, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if ready():
                    return
            except (ValueError, IndexError, subprocess.SubprocessError):
                pass
            time.sleep(0.05)
        raise TimeoutError(f"X session: {what} not ready after {timeout_s}s")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
        self.processes.clear()

    def __enter__(self) -> XSession:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
