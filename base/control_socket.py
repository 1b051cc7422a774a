"""A device's local control interface: JSON lines over a Unix socket only its user may open.

A request is one JSON object with a `command`; the answer is zero or more progress lines
(`{"prompt": "..."}`, what the person at the device must do) and one final line, either
`{"ok": true, ...}` or `{"ok": false, "error": "..."}`. The socket is 0600 in the device's
private data directory: the file system is the access control.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import socketserver
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from base.errors import HallwatchError
from base.supervise import Supervisor

log = logging.getLogger(__name__)

Reply = dict[str, Any]
Prompt = Callable[[str], None]
Handler = Callable[[Reply, Prompt], Reply]  # (request, prompt) -> final answer
MAX_REQUEST_BYTES = 64 * 1024
SOCKET_NAME = "control.sock"


def control_socket(data_dir: Path) -> Path:
    """Where a device whose files are in `data_dir` listens."""
    return data_dir / SOCKET_NAME


class ControlError(HallwatchError):
    """The device did not answer, or refused the request (the message says why)."""


def answers(path: Path) -> bool:
    """Whether a device is listening on `path` (a socket left by a stopped one is not)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(1.0)
            probe.connect(str(path))
        return True
    except OSError:
        return False


def ask(path: Path, request: Reply, timeout_s: float = 120.0) -> Iterator[Reply]:
    """Send `request`; yield the device's lines, the final answer last. A ControlError if
    the device cannot be reached or refuses."""
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(timeout_s)
        conn.connect(str(path))
    except OSError as exc:
        raise ControlError(f"no device answers on {path}: {exc.strerror or exc}") from None
    with conn, conn.makefile("rwb") as stream:
        stream.write(json.dumps(request).encode() + b"\n")
        stream.flush()
        try:
            for line in stream:
                reply = json.loads(line)
                yield reply
                if "ok" in reply:
                    if not reply["ok"]:
                        raise ControlError(str(reply.get("error", "refused")))
                    return
        except (OSError, ValueError) as exc:
            raise ControlError(f"the device on {path} stopped answering: {exc}") from None
    raise ControlError(f"the device on {path} closed the connection without an answer")


class ControlServer:
    """Serves `handler` on a 0600 socket at `path`, one thread per connection; the
    listening thread is one of `supervisor`'s."""

    def __init__(self, path: Path, handler: Handler, supervisor: Supervisor) -> None:
        self.path = path
        handle = handler

        class _Connection(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                def send(reply: Reply) -> None:
                    self.wfile.write(json.dumps(reply, ensure_ascii=False).encode() + b"\n")
                    self.wfile.flush()

                line = self.rfile.readline(MAX_REQUEST_BYTES)
                if not line.strip():
                    return  # a probe (`answers`), or a client gone before asking
                try:
                    request = json.loads(line)
                    if not isinstance(request, dict):
                        raise ValueError("a request is a JSON object")
                    answer = handle(request, lambda text: send({"prompt": text}))
                    send({"ok": True, **answer})
                except HallwatchError as exc:
                    refusal = str(exc)
                except ValueError as exc:
                    refusal = f"bad request: {exc}"
                except OSError:
                    return  # the client went away
                except Exception as exc:
                    log.exception("control request failed")
                    refusal = f"{type(exc).__name__}: {exc}"
                else:
                    return
                with contextlib.suppress(OSError):  # the client may be gone meanwhile
                    send({"ok": False, "error": refusal})

        self.path.unlink(missing_ok=True)  # a socket left by a device that was killed
        self._server = socketserver.ThreadingUnixStreamServer(str(path), _Connection)
        os.chmod(path, 0o600)
        self._server.daemon_threads = True
        self._thread = supervisor.thread("control", lambda _stop: self._server.serve_forever())

    def start(self) -> ControlServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._thread.stopping.set()  # serve_forever returns on shutdown: not run again
        self._server.shutdown()
        self._server.server_close()
        self.path.unlink(missing_ok=True)
