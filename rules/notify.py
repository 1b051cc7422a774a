"""Notifications: what is worth telling people at once, and to which channels.

Pure: from new results, new events and the devices' statuses to notices, and from a notice
to the words a channel sends. Each notice has a stable key (a condition decided again
makes the same key), so the outbox (rules/notify_store.py) keeps it once per channel
however often it is decided: the decision needs no memory of its own. Sending is
rules/notify_send.py's.

What is notified: serious violations (and escalated or vetoing ones), devices offline
longer than the configured minutes, clocks not synchronised, full disks, device ids that
two devices share.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

import pydantic

from base.config import Section
from mqtt import schema
from mqtt.schema import AlertKind
from rules.account_store import Role
from rules.detail_words import detail_words
from rules.directory import Directory
from rules.engine import ViolationRecord
from rules.stamps import stamp
from rules.store import DeviceSeen
from rules.words import (
    Language,
    alert_word,
    label,
    notice_word,
    role_word,
    rule_word,
    severity_word,
)

NoticeEvent = Literal[
    "serious_violation", "device_offline", "clock_unsynced", "disk_full", "duplicate_device"
]
# Who each notice is for, by the console's roles: what the channel's `roles` choose from.
AUDIENCE: dict[NoticeEvent, tuple[Role, ...]] = {
    "serious_violation": ("manager", "inspector"),
    "device_offline": ("admin",),
    "clock_unsynced": ("admin",),
    "disk_full": ("admin",),
    "duplicate_device": ("admin",),
}
ChannelKind = Literal["webhook-wecom", "webhook-dingtalk", "webhook-json", "smtp"]
# Violations of days this far back are notified; older ones (a month recomputed at start,
# a device catching up after weeks) are the monthly sheet's, not news.
VIOLATION_REACH = timedelta(days=2)
OFFLINE_AFTER_MIN = 15
SUMMARY_LINES = 30
ALERT_EVENTS: dict[AlertKind, NoticeEvent] = {
    AlertKind.DISK_FULL: "disk_full",
    AlertKind.CLOCK_FAULT: "clock_unsynced",
    AlertKind.DUPLICATE_DEVICE: "duplicate_device",
}


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing to tell: what happened (`event`), where, when, and its particulars
    (codes and ids; the words are chosen when it is sent, in the channel's language)."""

    key: str  # stable: the same condition decided again has the same key
    event: NoticeEvent
    site: str
    at: datetime
    device: str | None = None
    staff_id: str | None = None
    window: str | None = None
    rule: str | None = None
    day: str | None = None
    severity: str | None = None
    escalated: bool = False
    veto: bool = False
    detail: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict:
        values = asdict(self)
        values["at"] = self.at.isoformat()
        return values

    @classmethod
    def from_json(cls, values: dict) -> Notice:
        return cls(**{**values, "at": datetime.fromisoformat(values["at"])})


# -- the decision ------------------------------------------------------------------------
def violation_notices(records: Iterable[ViolationRecord], now: datetime) -> list[Notice]:
    """Serious, escalated or vetoing violations of the last days that stand (not voided);
    one becoming escalated or vetoing later is news again."""
    oldest = (now - VIOLATION_REACH).date()
    return [
        Notice(
            key=f"violation/{r.violation_id}/{r.severity}/{int(r.escalated)}/{int(r.veto)}",
            event="serious_violation",
            site=r.site,
            at=r.at,
            staff_id=r.staff_id,
            window=r.window,
            rule=r.rule,
            day=r.day.isoformat(),
            severity=r.severity,
            escalated=r.escalated,
            veto=r.veto,
            detail=r.detail[:500],
        )
        for r in records
        if (r.severity == "serious" or r.escalated or r.veto)
        and r.status != "voided"
        and r.day >= oldest
    ]


def device_notices(
    statuses: Iterable[DeviceSeen], now: datetime, offline_after: timedelta
) -> list[Notice]:
    """Devices offline longer than `offline_after` (once per time they went), online with
    a clock not synchronised (once per boot), or sharing their id with another process."""
    notices: list[Notice] = []
    for seen in statuses:
        status = seen.status
        if status.role == "rules":
            continue
        where = f"{status.site}/{status.device}"
        common = {"site": status.site, "device": status.device}
        role = {"role": status.role}
        if not seen.online and now - seen.seen >= offline_after:
            minutes = str(int((now - seen.seen).total_seconds() // 60))
            notices.append(
                Notice(
                    f"offline/{where}/{stamp(seen.seen)}",
                    "device_offline",
                    at=seen.seen,
                    extra={**role, "minutes": minutes},
                    **common,
                )
            )
        if seen.online and seen.clock_synced is False:
            notices.append(
                Notice(
                    f"clock/{where}/{seen.boot or stamp(seen.seen)}",
                    "clock_unsynced",
                    at=seen.seen,
                    extra=role,
                    **common,
                )
            )
        if seen.rival_boot is not None and seen.rival_seen is not None:
            notices.append(
                Notice(
                    f"duplicate/{where}/{seen.rival_boot}",
                    "duplicate_device",
                    at=seen.rival_seen,
                    extra=role,
                    **common,
                )
            )
    return notices


def alert_notices(events: Iterable[schema.Event]) -> list[Notice]:
    """Devices' own alerts of a full disk, a clock fault or a second device under their id."""
    return [
        Notice(
            f"alert/{e.id}",
            ALERT_EVENTS[e.kind],
            e.site,
            e.ts,
            device=e.device,
            detail=e.message[:500],
            extra={"alert": e.kind.value},
        )
        for e in events
        if isinstance(e, schema.Alert) and e.kind in ALERT_EVENTS
    ]


# -- channels ----------------------------------------------------------------------------
class NotifyChannel(Section):
    """One place notifications go (`[[notify]]`): a group bot's webhook, a JSON webhook or
    mail, for some sites and events, at a bounded rate."""

    name: Annotated[str, pydantic.Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = pydantic.Field(
        description="The channel's name, unique: how the outbox and `hallwatch rules "
        "notifications` name it."
    )
    kind: ChannelKind = pydantic.Field(
        description="webhook-wecom (WeCom group bot), webhook-dingtalk (DingTalk group bot), "
        "webhook-json (the notices as JSON, POSTed) or smtp (mail)."
    )
    url: Annotated[str, pydantic.Field(pattern=r"^https?://[^\s]+$", max_length=2000)] | None = (
        pydantic.Field(
            None, description="The webhook's URL (the group bot's, with its key or access token)."
        )
    )
    secret_file: Path | None = pydantic.Field(
        None,
        description="DingTalk: a file holding the bot's signing secret (SEC...); each request "
        "is then signed (timestamp and sign, HMAC-SHA256).",
    )
    smtp_host: str | None = pydantic.Field(None, description="Mail: the SMTP server.")
    smtp_port: Annotated[int, pydantic.Field(ge=1, le=65535)] = pydantic.Field(
        587, description="Mail: the SMTP server's port."
    )
    smtp_tls: Literal["starttls", "ssl", "none"] = pydantic.Field(
        "starttls",
        description="Mail: STARTTLS on a plain connection, TLS from the start (ssl, port "
        "465), or none (a relay on this host only).",
    )
    smtp_user: str | None = pydantic.Field(
        None, description="Mail: the account to log in with; unset, no login."
    )
    password_file: Path | None = pydantic.Field(
        None, description="Mail: a file holding the account's password (e.g. LoadCredential=)."
    )
    mail_from: str | None = pydantic.Field(None, description="Mail: the sender's address.")
    mail_to: list[str] = pydantic.Field([], description="Mail: the recipients' addresses.")
    sites: list[str] = pydantic.Field([], description="The sites it is told of. Empty: all.")
    events: list[NoticeEvent] = pydantic.Field(
        [],
        description="What it is told of: serious_violation, device_offline, clock_unsynced, "
        "disk_full, duplicate_device. Empty: all.",
    )
    roles: list[Role] = pydantic.Field(
        [],
        description="Whose channel it is, by the console's roles: manager and inspector are "
        "told of serious violations, admin of device faults (offline, clock, disk, duplicate "
        "ids). Empty: everyone's. Combined with `events` and `sites`.",
    )
    per_minute: Annotated[int, pydantic.Field(ge=1, le=1000)] = pydantic.Field(
        10,
        description="Messages sent per minute, at most (group bots refuse more than 20). "
        "Past it, the rest wait and go together as one summary; none is dropped.",
    )
    retry_s: Annotated[float, pydantic.Field(gt=0, le=3600)] = pydantic.Field(
        30.0,
        description="Seconds before a failed send is tried again; each further failure "
        "waits twice as long, up to an hour.",
    )
    language: Language = pydantic.Field("zh", description="The language of its messages.")

    @pydantic.model_validator(mode="after")
    def _complete(self) -> NotifyChannel:
        if self.kind == "smtp":
            if not (self.smtp_host and self.mail_from and self.mail_to):
                raise ValueError(f"channel {self.name}: smtp needs smtp_host, mail_from, mail_to")
        elif self.url is None:
            raise ValueError(f"channel {self.name}: {self.kind} needs a url")
        if self.secret_file is not None and self.kind != "webhook-dingtalk":
            raise ValueError(f"channel {self.name}: secret_file is for webhook-dingtalk only")
        return self

    def wants(self, notice: Notice) -> bool:
        return (
            (not self.sites or notice.site in self.sites)
            and (not self.events or notice.event in self.events)
            and (not self.roles or not set(self.roles).isdisjoint(AUDIENCE[notice.event]))
        )


def route(
    notices: Iterable[Notice], channels: Sequence[NotifyChannel]
) -> list[tuple[str, str, dict]]:
    """Each notice for each channel that wants it, as the outbox keeps it: (channel name,
    the notice's key, the notice as JSON)."""
    return [(c.name, n.key, n.as_json()) for n in notices for c in channels if c.wants(n)]


# -- words -------------------------------------------------------------------------------
def headline(notice: Notice, directory: Directory, language: Language = "zh") -> str:
    """One line: what happened, to whom or what, where."""
    what = notice_word(notice.event, language)
    if notice.event == "serious_violation":
        who = directory.label(notice.staff_id or "", language)
        window = f" ({directory.window_label(notice.window)})" if notice.window else ""
        marks = [label(m, language) for m in ("escalated", "veto") if getattr(notice, m)]
        return (
            f"{what}: {who}{window} {rule_word(notice.rule, language)} "
            f"{severity_word(notice.severity, language)} {notice.day}"
            + "".join(f" [{m}]" for m in marks)
        )
    role = role_word(notice.extra["role"], language) if "role" in notice.extra else ""
    device = f"{role} {notice.device}".strip()
    if notice.event == "device_offline":
        return (
            f"{what}: {notice.site} {device} {notice.extra['minutes']} {label('minutes', language)}"
        )
    if "alert" in notice.extra:
        return f"{what}: {notice.site} {device} ({alert_word(notice.extra['alert'], language)})"
    return f"{what}: {notice.site} {device}"


def message(
    notices: Sequence[Notice], directory: Directory, language: Language = "zh"
) -> tuple[str, list[str]]:
    """A message's title and lines: one notice's, or a summary of several."""
    lines = [headline(n, directory, language) for n in notices]
    if len(lines) > SUMMARY_LINES:  # a bot takes a few kilobytes; the outbox keeps them all
        more = "条未列出" if language == "zh" else "more not listed"
        lines = [*lines[:SUMMARY_LINES], f"… {len(lines) - SUMMARY_LINES} {more}"]
    if len(notices) == 1:
        detail = detail_words(notices[0].detail, language)
        return lines[0], [*lines, *([detail] if detail else [])]
    title = (
        f"hallwatch：{len(notices)} 条通知" if language == "zh"
        else f"hallwatch: {len(notices)} notifications"
    )  # fmt: skip
    return title, lines
