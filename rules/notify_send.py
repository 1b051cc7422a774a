"""Sending notifications: the outbox's rows to webhooks and mail, in a thread of its own.

The imperative shell around rules/notify.py. Ingest only queues rows (`Notifier.results`,
`Notifier.events`); this thread looks at the devices' statuses, then sends each channel's
due rows: at most `per_minute` messages a minute (past it the remaining rows go as one
summary), each failure retried with exponential backoff and recorded on its rows, a
channel failing again and again logged. Only the standard library: urllib and smtplib.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from mqtt import schema
from mqtt.ids import utc_now
from rules.directory import DirectorySource
from rules.engine import ViolationRecord
from rules.notify import (
    Notice,
    NotifyChannel,
    alert_notices,
    device_notices,
    message,
    route,
    violation_notices,
)
from rules.notify_store import OutboxRow
from rules.store import SqlStore

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)
LEASE = timedelta(minutes=5)  # a claimed row another instance may take after a crash
WINDOW_S = 60.0
TIMEOUT_S = 10.0
FAILING_AFTER = 3  # failed attempts of a row after which its channel is reported


class SendError(Exception):
    """A channel did not take a message; the text is what is recorded."""


def backoff(channel: NotifyChannel, attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: retry_s, doubling, at most an hour."""
    return min(timedelta(seconds=channel.retry_s * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


# -- payloads (pure) ---------------------------------------------------------------------
def webhook_body(
    channel: NotifyChannel, title: str, lines: list[str], notices: Sequence[Notice]
) -> dict:
    """The JSON a webhook of `channel`'s kind takes."""
    if channel.kind == "webhook-wecom":
        content = f"**{title}**\n" + "\n".join(f"> {line}" for line in lines[1:] or lines)
        return {"msgtype": "markdown", "markdown": {"content": content}}
    if channel.kind == "webhook-dingtalk":
        text = f"### {title}\n\n" + "\n".join(f"- {line}" for line in lines[1:] or lines)
        return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
    return {"title": title, "text": "\n".join(lines), "notices": [n.as_json() for n in notices]}


def dingtalk_signed(url: str, secret: str, now_ms: int) -> str:
    """The URL with DingTalk's `timestamp` and `sign` (HMAC-SHA256 of "timestamp\\nsecret")."""
    digest = hmac.new(secret.encode(), f"{now_ms}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest).decode())
    return f"{url}{'&' if '?' in url else '?'}timestamp={now_ms}&sign={sign}"


def mail(channel: NotifyChannel, title: str, lines: list[str]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = title
    msg["From"] = channel.mail_from
    msg["To"] = ", ".join(channel.mail_to)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="hallwatch")
    msg.set_content("\n".join(lines) + "\n", charset="utf-8")
    return msg


# -- sending (the network) ---------------------------------------------------------------
def _secret(path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SendError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None


def send(channel: NotifyChannel, title: str, lines: list[str], notices: Sequence[Notice]) -> None:
    """Deliver one message; SendError saying why not."""
    if channel.kind == "smtp":
        return _send_mail(channel, mail(channel, title, lines))
    url = str(channel.url)
    if channel.secret_file is not None:
        url = dingtalk_signed(url, _secret(channel.secret_file), int(time.time() * 1000))
    body = json.dumps(webhook_body(channel, title, lines, notices), ensure_ascii=False).encode()
    request = urllib.request.Request(
        url, body, {"Content-Type": "application/json; charset=utf-8"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            answer = response.read(65536)
    except urllib.error.HTTPError as exc:
        raise SendError(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise SendError(str(getattr(exc, "reason", exc))) from None
    # The group bots answer 200 with an error code of their own.
    try:
        code = json.loads(answer).get("errcode", 0)
    except (ValueError, AttributeError):
        code = 0
    if code:
        raise SendError(f"refused: {answer[:300].decode('utf-8', 'replace')}")


def _send_mail(channel: NotifyChannel, msg: EmailMessage) -> None:
    host, port = channel.smtp_host or "", channel.smtp_port
    try:
        if channel.smtp_tls == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=TIMEOUT_S, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(host, port, timeout=TIMEOUT_S)
        with smtp:
            if channel.smtp_tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if channel.smtp_user:
                password = _secret(channel.password_file) if channel.password_file else ""
                smtp.login(channel.smtp_user, password)
            smtp.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(f"SMTP {host}:{port}: {exc}") from None


# -- the sender --------------------------------------------------------------------------
class Notifier:
    """Decides and queues notices (from ingest's thread: store writes only) and sends the
    outbox (`run`, its own thread)."""

    def __init__(
        self,
        store: SqlStore,
        channels: Sequence[NotifyChannel],
        directory: DirectorySource,
        *,
        offline_after: timedelta,
        now: Callable[[], datetime] = utc_now,
        poll_s: float = 5.0,
        transmit: Callable[[NotifyChannel, str, list[str], Sequence[Notice]], None] = send,
    ) -> None:
        self.store, self.channels, self.directory = store, list(channels), directory
        self.offline_after, self.now, self.poll_s = offline_after, now, poll_s
        self.transmit = transmit
        self._sent: dict[str, collections.deque[float]] = {
            c.name: collections.deque() for c in self.channels
        }
        self._clock = time.monotonic

    # -- deciding (ingest's thread) -------------------------------------------------------
    def queue(self, notices: Sequence[Notice]) -> int:
        if not notices or not self.channels:
            return 0
        return self.store.queue_notices(route(notices, self.channels), self.now())

    def results(self, changed: Sequence[ViolationRecord]) -> None:
        self.queue(violation_notices(changed, self.now()))

    def events(self, new: Sequence[schema.Event]) -> None:
        self.queue(alert_notices(new))

    def devices(self) -> None:
        self.queue(device_notices(self.store.device_statuses(), self.now(), self.offline_after))

    # -- sending (its own thread) ---------------------------------------------------------
    def _allowance(self, channel: NotifyChannel) -> int:
        """Messages the channel may still send in the current minute."""
        sent, now = self._sent[channel.name], self._clock()
        while sent and now - sent[0] >= WINDOW_S:
            sent.popleft()
        return channel.per_minute - len(sent)

    def send_due(self, channel: NotifyChannel) -> int:
        """Send the channel's due rows within its rate; returns the messages sent."""
        allowance = self._allowance(channel)
        if allowance <= 0:
            return 0
        now = self.now()
        rows = self.store.claim_notices(channel.name, now, LEASE)
        # Within the rate one message per row; the last message allowed carries the rest.
        singles, rest = rows[: allowance - 1], rows[allowance - 1 :]
        batches = [[row] for row in singles] + ([rest] if rest else [])
        directory = self.directory()
        sent = 0
        for n, batch in enumerate(batches):
            notices = [Notice.from_json(row.notice) for row in batch]
            title, lines = message(notices, directory, channel.language)
            self._sent[channel.name].append(self._clock())
            try:
                self.transmit(channel, title, lines, notices)
            except SendError as exc:
                self._failed(channel, batch, str(exc))
                left = [row.id for b in batches[n + 1 :] for row in b]
                self.store.release_notices(left, self.now())
                break
            self.store.notices_sent([r.id for r in batch], self.now(), summarised=len(batch) > 1)
            sent += 1
        return sent

    def _failed(self, channel: NotifyChannel, batch: list[OutboxRow], error: str) -> None:
        now = self.now()
        retry = {row.id: now + backoff(channel, row.attempts + 1) for row in batch}
        self.store.notices_failed([row.id for row in batch], error, retry)
        attempts = max(row.attempts for row in batch) + 1
        level = logging.ERROR if attempts >= FAILING_AFTER else logging.WARNING
        log.log(level, "notification channel %s failed (%d attempts, %d waiting): %s",
                channel.name, attempts, len(batch), error)  # fmt: skip

    def cycle(self) -> None:
        """One round: decide the devices' notices, send what is due, prune old sends."""
        self.devices()
        for channel in self.channels:
            self.send_due(channel)

    def run(self, stop: threading.Event) -> None:
        last_prune = None
        while not stop.is_set():
            try:
                self.cycle()
                today = self.now().date()
                if last_prune != today:
                    self.store.prune_notices(self.now())
                    last_prune = today
            except Exception:  # the store failing: the rows wait, the next round retries
                log.exception("notifications: a round failed; will retry")
            stop.wait(self.poll_s)
