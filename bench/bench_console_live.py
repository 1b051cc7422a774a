"""Console live hall benchmark: what a person at the live hall waits for, and what it costs.

1. Publish -> DOM update latency, measured in the browser (Debian's chromium): a station
   publishes punches to a real Mosquitto, the console (its own process, its live hub
   subscribed) pushes each over Server-Sent Events, and a MutationObserver in the page
   notes when the punch's line appears (wall clock of the same host). Median and p95,
   against a bare MqttClient callback receiving the same punches from the same broker.
2. Server time to render the live hall (`GET /hall`) of a hall of N staff with a day of
   punches, against computing its presence alone (rules/presence_store.load_presence).
3. Memory (RSS) of the console process with 50 open live pages (plain HTTP SSE clients,
   each having received its first message), against the same process with none.

Run: .venv/bin/python bench/bench_console_live.py [--full]   (--full: 200 staff, 300 punches)
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SITE = "hall-01"
POLICY = """
[default_site]
timezone = "Asia/Shanghai"

[[schedules]]
from = "01-01"
sessions = [{ start = "00:00", end = "23:59" }]

[calendar]
weekend = []
"""
PASSWORD = "bench horse battery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def quantiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def console_settings(work: Path, port: int, broker_port: int) -> dict:
    return {
        "broker": {"host": "127.0.0.1", "port": broker_port},
        "console": {
            "db": str(work / "rules.db"),
            "policy": str(work / "policy.toml"),
            "port": port,
            "session_secret_file": str(work / "secret"),
            "cookie_secure": False,
        },
    }


def serve(settings_json: str) -> None:
    """The console process: the app with its live hub, under uvicorn (as `hallwatch console`)."""
    import uvicorn

    from hallwatch.console.app import create_app
    from hallwatch.console.config import ConsoleConfig
    from hallwatch.console.live import LiveHub

    config = ConsoleConfig.model_validate(json.loads(settings_json))
    hub = LiveHub(config.broker, "console")
    app = create_app(config, services=[("live", hub)])
    uvicorn.run(app, host="127.0.0.1", port=config.console.port, log_level="warning")


def seed(work: Path, staff: int) -> str:
    """The store: N staff in windows of 10, a station, a punch each this morning; an
    account signed in. Returns its session cookie."""
    from hallwatch.console.accounts import Accounts
    from hallwatch.console.config import session_secret
    from mqtt.ids import utc_now
    from rules.acting import Actor
    from rules.backend import open_store
    from rules.directory import Device, ServiceWindow, StaffMember
    from rules.manage import Management
    from rules.policy import load_policy
    from tests.mqtt_helpers import clock_event

    (work / "policy.toml").write_text(POLICY)
    store = open_store(work / "rules.db")
    manage = Management(store, load_policy(work / "policy.toml"))
    admin = Actor("bench", "cli")
    for w in range((staff + 9) // 10):
        manage.add_window(admin, ServiceWindow(f"w{w:02d}", SITE, f"第{w + 1}号窗口"))
    for n in range(staff):
        manage.add_staff(admin, StaffMember(f"S{n:03d}", f"员工{n:03d}"), f"w{n // 10:02d}")
    manage.register_device(admin, Device(SITE, "st-01", "station", "入口考勤机"))
    morning = utc_now() - timedelta(hours=2)
    punches = [clock_event(SITE, "st-01", n + 1, staff=f"S{n:03d}") for n in range(0, staff, 2)]
    store.add_events([msgspec.structs.replace(p, ts=morning) for p in punches])
    accounts = Accounts(store)
    accounts.add(admin, "bench", PASSWORD, "viewer", (SITE,), "测试")
    _, token = accounts.sign_in("bench", PASSWORD, "127.0.0.1")
    store.close()
    secret = session_secret(work / "secret")
    return f"{token}.{hmac.new(secret, token.encode(), hashlib.sha256).hexdigest()}"


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def get(port: int, path: str, cookie: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"Cookie": f"hw_session={cookie}"})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def bench_render(port: int, cookie: str, work: Path, staff: int, repeat: int) -> None:
    from mqtt.ids import utc_now
    from rules.backend import open_store
    from rules.policy import load_policy
    from rules.presence_store import load_presence

    status, _ = get(port, f"/hall?site={SITE}", cookie)
    assert status == 200, status
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        get(port, f"/hall?site={SITE}", cookie)
        times.append(time.perf_counter() - began)
    store = open_store(work / "rules.db")
    policy = load_policy(work / "policy.toml")
    directory = store.directory()
    presence = []
    for _ in range(repeat):
        began = time.perf_counter()
        load_presence(store, policy, directory, SITE, utc_now())
        presence.append(time.perf_counter() - began)
    store.close()
    page, alone = statistics.median(times), statistics.median(presence)
    print(
        f"live hall of {staff} staff: GET /hall median {page * 1000:.1f} ms "
        f"(max {max(times) * 1000:.1f}); presence alone {alone * 1000:.1f} ms   "
        f"ratio {page / alone:.2f}"
    )


OBSERVE = """() => {
    window.seen = {};
    new MutationObserver(records => {
        const at = performance.timeOrigin + performance.now();
        for (const r of records) for (const n of r.addedNodes)
            if (n.id && n.id.startsWith('e-') && !(n.id in window.seen)) window.seen[n.id] = at;
    }).observe(document.body, {childList: true, subtree: true});
}"""


def bench_latency(port: int, broker_port: int, cookie: str, count: int, interval_s: float) -> None:
    from playwright.sync_api import sync_playwright

    from mqtt import schema
    from mqtt.client import BrokerConfig, MqttClient
    from tests.mqtt_helpers import clock_event
    from tests.support.browser import CHROMIUM, CHROMIUM_FLAGS

    bare: dict[str, float] = {}

    def on_message(topic: str, payload: bytes) -> None:
        bare[schema.decode(payload, topic).id] = time.time() * 1000

    receiver = MqttClient(
        BrokerConfig(port=broker_port, persistent_session=False), "bare", on_message=on_message
    )
    receiver.subscribe(f"hallwatch/v1/{SITE}/+/clock")
    receiver.start()
    publisher = MqttClient(BrokerConfig(port=broker_port), "st-01").start()
    sent: dict[str, float] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        context = browser.new_context(viewport={"width": 1920, "height": 1080})
        context.add_cookies(
            [{"name": "hw_session", "value": cookie, "url": f"http://127.0.0.1:{port}"}]
        )
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/hall?site={SITE}")
        page.wait_for_selector("#hall-board[data-live]", state="attached")
        page.evaluate(OBSERVE)
        for n in range(count):
            punch = clock_event(SITE, "st-01", 10_000 + n, staff=f"S{n % 10:03d}")
            sent[f"e-{punch.id}"] = time.time() * 1000
            publisher.publish_event(punch).wait_for_publish(5)
            time.sleep(interval_s)
        page.wait_for_function(f"() => Object.keys(window.seen).length >= {count}", timeout=30_000)
        seen = page.evaluate("() => window.seen")
        browser.close()
    publisher.stop()
    receiver.stop()
    dom = [seen[key] - at for key, at in sent.items() if key in seen]
    raw = [bare[key[2:]] - at for key, at in sent.items() if key[2:] in bare]
    dom_median, dom_p95 = quantiles(dom)
    raw_median, raw_p95 = quantiles(raw)
    print(
        f"publish -> DOM update, {len(dom)} punches every {interval_s * 1000:.0f} ms: "
        f"median {dom_median:.1f} ms p95 {dom_p95:.1f} ms (target p95 < 500 ms); "
        f"bare MqttClient callback median {raw_median:.2f} ms p95 {raw_p95:.2f} ms   "
        f"ratio {dom_median / raw_median:.0f} / {dom_p95 / raw_p95:.0f}"
    )


def bench_memory(pid: int, port: int, cookie: str, pages: int) -> None:
    idle = rss_kb(pid)
    streams = []
    for _ in range(pages):
        conn = socket.create_connection(("127.0.0.1", port))
        conn.sendall(
            f"GET /hall/events?site={SITE} HTTP/1.1\r\nHost: x\r\n"
            f"Cookie: hw_session={cookie}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        streams.append(conn)
    for conn in streams:  # each has its first message (the board)
        conn.settimeout(60)
        got = b""
        while b"event: hall" not in got:
            got += conn.recv(65536)
    time.sleep(0.5)
    busy = rss_kb(pid)
    for conn in streams:
        conn.close()
    print(
        f"console RSS: {idle / 1024:.1f} MiB with no live page, {busy / 1024:.1f} MiB with "
        f"{pages} open live pages (SSE streams): {(busy - idle) / pages:.0f} KiB per page   "
        f"ratio {busy / idle:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="200 staff, 300 punches")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # the console child process
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    staff, punches = (200, 300) if args.full else (40, 100)
    from tests.support.mosquitto import anonymous_broker

    with tempfile.TemporaryDirectory() as tmp, anonymous_broker(Path(tmp) / "broker") as bport:
        work = Path(tmp)
        cookie = seed(work, staff)
        port = free_port()
        settings = json.dumps(console_settings(work, port, bport))
        child = subprocess.Popen([sys.executable, __file__, "--serve", settings])
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or child.poll() is not None:
                        raise RuntimeError("the console did not start") from None
                    time.sleep(0.1)
            bench_render(port, cookie, work, staff, repeat=20)
            bench_latency(port, bport, cookie, punches, interval_s=0.05)
            bench_memory(child.pid, port, cookie, pages=50)
        finally:
            child.terminate()
            child.wait(15)


if __name__ == "__main__":
    main()
