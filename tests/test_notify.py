"""Notifications: the decision (pure), the outbox (SQLite and PostgreSQL), and the sending
to real local receivers: an HTTP server and an SMTP server (aiosmtpd) started here."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.parse
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mqtt import schema
from rules.directory import Directory, Posting, ServiceWindow, StaffMember
from rules.engine import ViolationRecord
from rules.notify import NotifyChannel, alert_notices, device_notices, violation_notices
from rules.notify_send import Notifier, backoff
from rules.store import DeviceSeen

NOW = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
DIRECTORY = Directory(
    windows=(ServiceWindow("W01", "hq", "社保窗口"),),
    staff=(StaffMember("S001", "张伟", postings=(Posting("W01"),)),),
    sites=("hq",),
)


def violation(n: int = 1, **changes) -> ViolationRecord:
    values = dict(
        violation_id=f"v-{n:03d}", staff_id="S001", site="hq", window="W01",
        day=NOW.date(), at=NOW, rule="absence", severity="serious", deduction=5.0,
        correction_no=None, escalated=False, veto=True, evidence=(), status="open",
        detail="no punch all day",
    )  # fmt: skip
    return ViolationRecord(**{**values, **changes})


def seen(device="st-1", state="online", at=NOW, *, synced=True, rival=None) -> DeviceSeen:
    status = schema.status_for(
        "hq", device, "station", state, at, schema.Health(clock_synced=synced)
    )
    return DeviceSeen(status, at, rival_boot=rival, rival_seen=at if rival else None)


# -- the decision ----------------------------------------------------------------------
def test_serious_escalated_and_vetoing_violations_are_notified_minor_and_voided_not():
    records = [
        violation(1),
        violation(2, severity="minor", veto=False),
        violation(3, severity="minor", veto=False, escalated=True),
        violation(4, status="voided"),
        violation(5, day=date(2025, 2, 1)),  # a recomputed old month is not news
    ]
    notices = violation_notices(records, NOW)
    assert [n.key for n in notices] == ["violation/v-001/serious/0/1", "violation/v-003/minor/1/0"]
    # Deciding again gives the same keys (the outbox keeps each once).
    assert violation_notices(records, NOW) == notices


def test_devices_offline_past_the_threshold_unsynced_clocks_and_duplicate_ids():
    statuses = [
        seen("st-1", "offline", NOW - timedelta(minutes=20)),
        seen("st-2", "offline", NOW - timedelta(minutes=5)),  # not yet
        seen("st-3", synced=False),
        seen("st-4", rival="b" * 16),
    ]
    notices = device_notices(statuses, NOW, timedelta(minutes=15))
    assert [(n.event, n.device) for n in notices] == [
        ("device_offline", "st-1"),
        ("clock_unsynced", "st-3"),
        ("duplicate_device", "st-4"),
    ]
    assert notices[0].extra["minutes"] == "20"
    # A later look at the same outage is the same notice.
    later = device_notices(statuses[:1], NOW + timedelta(hours=1), timedelta(minutes=15))
    assert later[0].key == notices[0].key


def test_devices_alerts_of_disk_full_clock_and_duplicate_ids_are_notified():
    def alert(kind):
        return schema.new_event(schema.Alert, "hq", "st-1", NOW, seq=1, kind=kind,
                                severity=schema.Severity.SERIOUS, message="x")  # fmt: skip

    kinds = [schema.AlertKind.DISK_FULL, schema.AlertKind.UNKNOWN_FACE,
             schema.AlertKind.DUPLICATE_DEVICE, schema.AlertKind.CLOCK_FAULT]  # fmt: skip
    events = [n.event for n in alert_notices([alert(k) for k in kinds])]
    assert events == ["disk_full", "duplicate_device", "clock_unsynced"]


# -- local receivers -------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """An HTTP server on 127.0.0.1 keeping what it is POSTed; `status` is what it answers."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.requests: list[tuple[str, dict]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.path, json.loads(body)))
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"errcode": 0, "errmsg": "ok"}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    started = Receiver()
    yield started
    started.close()


class Clock:
    def __init__(self) -> None:
        self.at = NOW

    def __call__(self) -> datetime:
        return self.at


def notifier(store, *channels: NotifyChannel, clock=None) -> Notifier:
    return Notifier(store, channels, lambda: DIRECTORY, offline_after=timedelta(minutes=15),
                    now=clock or Clock())  # fmt: skip


def channel(kind: str, url: str, **more) -> NotifyChannel:
    return NotifyChannel(name=kind.split("-")[-1], kind=kind, url=url, **more)


# -- formats -----------------------------------------------------------------------------
def test_wecom_markdown_names_the_person_the_window_and_the_rule(store, receiver):
    sender = notifier(store, channel("webhook-wecom", receiver.url("/cgi-bin/webhook/send?key=k")))
    sender.results([violation(1)])
    sender.cycle()
    [(path, body)] = receiver.requests
    assert path == "/cgi-bin/webhook/send?key=k"
    assert body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert "严重违规" in content and "张伟 S001" in content and "社保窗口 W01" in content
    assert "旷工" in content and "一票否决" in content


def test_dingtalk_markdown_is_signed_with_the_secret(store, receiver, tmp_path):
    secret = tmp_path / "dingtalk-secret"
    secret.write_text("SECabc123\n")
    hook = channel("webhook-dingtalk", receiver.url("/robot/send?access_token=t"),
                   secret_file=secret)  # fmt: skip
    sender = notifier(store, hook)
    sender.results([violation(1)])
    sender.cycle()
    [(path, body)] = receiver.requests
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    timestamp, sign = query["timestamp"][0], query["sign"][0]
    expected = hmac.new(b"SECabc123", f"{timestamp}\nSECabc123".encode(), hashlib.sha256)
    assert sign == base64.b64encode(expected.digest()).decode()
    assert query["access_token"] == ["t"]
    assert abs(int(timestamp) / 1000 - time.time()) < 60
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"].startswith("严重违规")
    assert "张伟" in body["markdown"]["text"]


def test_generic_json_carries_the_notice_itself(store, receiver):
    sender = notifier(store, channel("webhook-json", receiver.url(), language="en"))
    sender.queue(device_notices([seen("st-9", "offline", NOW - timedelta(hours=1))], NOW,
                                timedelta(minutes=15)))  # fmt: skip
    sender.cycle()
    [(_, body)] = receiver.requests
    [notice] = body["notices"]
    assert notice["event"] == "device_offline" and notice["device"] == "st-9"
    assert notice["site"] == "hq" and notice["extra"]["minutes"] == "60"
    assert body["title"] == "device offline: hq station st-9 60 min"


def test_mail_with_a_chinese_subject_arrives(store):
    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope)
            return "250 OK"

    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        mail = NotifyChannel(name="mail", kind="smtp", smtp_host="127.0.0.1", smtp_port=port,
                             smtp_tls="none", mail_from="hallwatch@example.org",
                             mail_to=["leader@example.org"])  # fmt: skip
        sender = notifier(store, mail)
        sender.results([violation(1)])
        sender.cycle()
    finally:
        controller.stop()
    [envelope] = handler.messages
    assert envelope.rcpt_tos == ["leader@example.org"]
    parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert parsed["Subject"].startswith("严重违规: 张伟 S001 (社保窗口 W01) 旷工")
    assert "no punch all day" in parsed.get_content()
    [row] = store.notifications("mail")
    assert row.sent_at is not None and row.attempts == 1


# -- rate limit, failures, ingest ----------------------------------------------------------
def test_a_burst_is_sent_within_the_rate_the_rest_in_one_summary(store, receiver):
    sender = notifier(store, channel("webhook-json", receiver.url(), per_minute=5))
    sender.results([violation(n) for n in range(20)])
    sender.cycle()
    sender.cycle()  # the minute's allowance is spent: nothing more goes
    assert len(receiver.requests) == 5
    counts = [len(body["notices"]) for _, body in receiver.requests]
    assert counts == [1, 1, 1, 1, 16]
    assert receiver.requests[-1][1]["title"] == "hallwatch：16 条通知"
    rows = store.notifications("json")
    assert len(rows) == 20 and all(r.sent_at is not None for r in rows)
    assert sum(r.summarised for r in rows) == 16
    # Deciding the same violations again sends nothing more.
    sender.results([violation(n) for n in range(20)])
    assert len(store.notifications("json", limit=100)) == 20
    [state] = store.notification_channels()
    assert (state.sent, state.waiting, state.failing) == (20, 0, 0)


def test_a_receiver_down_for_a_while_gets_it_once_back_after_backoff(store):
    port = free_port()  # nothing listens yet: connection refused
    clock = Clock()
    sender = notifier(store, channel("webhook-json", f"http://127.0.0.1:{port}/hook",
                                     retry_s=10), clock=clock)  # fmt: skip
    sender.results([violation(1)])
    sender.cycle()
    [row] = store.notifications()
    assert row.sent_at is None and row.attempts == 1 and "refused" in row.last_error.lower()
    assert row.next_attempt == NOW + timedelta(seconds=10)
    [state] = store.notification_channels()
    assert (state.waiting, state.failing) == (1, 1) and state.last_error == row.last_error

    receiver = Receiver(port)  # back, but failing
    receiver.status = 500
    try:
        sender.cycle()  # not due yet
        assert receiver.requests == []
        clock.at += timedelta(seconds=10)
        sender.cycle()
        [row] = store.notifications()
        assert len(receiver.requests) == 1 and row.attempts == 2
        assert row.last_error == "HTTP 500 Internal Server Error"
        assert row.next_attempt == clock.at + timedelta(seconds=20)  # twice as long
        receiver.status = 200
        clock.at += timedelta(seconds=20)
        sender.cycle()
        [row] = store.notifications()
        assert len(receiver.requests) == 2
        assert row.sent_at == clock.at and row.attempts == 3 and row.last_error is None
    finally:
        receiver.close()
    assert backoff(sender.channels[0], 20) == timedelta(hours=1)  # capped


def test_ingest_only_queues_a_receiver_that_hangs_never_holds_it(store):
    # A server that accepts and never answers: a send would wait for its timeout.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
        sender = notifier(store, channel("webhook-json", url))
        started = time.monotonic()
        sender.results([violation(n) for n in range(50)])
        assert time.monotonic() - started < 2.0
        rows = store.notifications(limit=100)
        assert len(rows) == 50 and all(r.attempts == 0 and r.sent_at is None for r in rows)
    finally:
        listener.close()


def test_channels_take_only_their_sites_and_events(store, receiver):
    only_devices = channel("webhook-json", receiver.url(), events=["device_offline"])
    elsewhere = NotifyChannel(name="other", kind="webhook-json", url=receiver.url(),
                              sites=["branch"])  # fmt: skip
    sender = notifier(store, only_devices, elsewhere)
    sender.results([violation(1)])
    assert store.notifications() == []


def test_a_channel_is_told_what_its_roles_are_for(store, receiver):
    managers = channel("webhook-wecom", receiver.url(), roles=["manager"])
    admins = NotifyChannel(name="admins", kind="webhook-json", url=receiver.url(),
                           roles=["admin"])  # fmt: skip
    sender = notifier(store, managers, admins)
    sender.results([violation(1)])
    sender.queue(device_notices([seen("st-9", "offline", NOW - timedelta(hours=1))], NOW,
                                timedelta(minutes=15)))  # fmt: skip
    told = {(n.channel, n.notice["event"]) for n in store.notifications()}
    assert told == {(managers.name, "serious_violation"), ("admins", "device_offline")}
    with pytest.raises(ValueError, match="roles"):
        NotifyChannel(name="x", kind="webhook-json", url=receiver.url(), roles=["boss"])


def test_a_channel_missing_what_it_needs_is_refused():
    with pytest.raises(ValueError, match="smtp needs"):
        NotifyChannel(name="m", kind="smtp", smtp_host="mail")
    with pytest.raises(ValueError, match="needs a url"):
        NotifyChannel(name="w", kind="webhook-wecom")


def test_hallwatch_rules_notifications_shows_sends_and_failures(store_at, tmp_path, receiver):
    from rules.backend import open_store
    from tests.command_helpers import run_hallwatch

    store = open_store(store_at())
    try:
        failing = channel("webhook-wecom", "http://127.0.0.1:1/hook")
        sender = notifier(store, channel("webhook-json", receiver.url()), failing)
        sender.results([violation(1)])
        sender.cycle()
    finally:
        store.close()
    policy = tmp_path / "policy.toml"
    policy.write_text("")
    db = str(store_at())
    shown = run_hallwatch("rules", "notifications", "--db", db, "--policy", str(policy))
    assert shown.returncode == 0, shown.stderr
    assert "json: 已发送 1, 待发送 0, 发送失败 0" in shown.stdout
    assert "wecom: 已发送 0, 待发送 1, 发送失败 1" in shown.stdout
    assert "严重违规" in shown.stdout and "refused" in shown.stdout.lower()
    as_json = run_hallwatch("rules", "notifications", "--db", db, "--policy", str(policy),
                            "--channel", "wecom", "--json")  # fmt: skip
    report = json.loads(as_json.stdout)
    assert [c["channel"] for c in report["channels"]] == ["wecom"]
    assert report["recent"][0]["attempts"] == 1
