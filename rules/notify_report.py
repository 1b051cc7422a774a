"""What `hallwatch rules notifications` shows: each channel's sends and failures, then the
latest notifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from rules.notify_store import ChannelState, OutboxRow
from rules.render import moment
from rules.words import Language, label, notice_word


@dataclass(frozen=True, slots=True)
class NotificationReport:
    channels: list[ChannelState]
    recent: list[OutboxRow]

    def text(self, zone: tzinfo, language: Language) -> str:
        lines = [
            f"{c.channel}: {label('sent', language)} {c.sent}, {label('waiting', language)} "
            f"{c.waiting}, {label('failing', language)} {c.failing}"
            + (
                f", {label('last sent', language)} {moment(c.last_sent, zone)}"
                if c.last_sent
                else ""
            )
            + (f" — {c.last_error}" if c.last_error else "")
            for c in self.channels
        ]
        for row in self.recent:
            when = (
                f"{label('sent', language)} {moment(row.sent_at, zone)}"
                if row.sent_at
                else f"{label('waiting', language)}, {label('next attempt', language)} "
                f"{moment(row.next_attempt, zone)}"
            )
            summary = f" ({label('in a summary', language)})" if row.summarised else ""
            error = f" — {row.last_error}" if row.last_error and not row.sent_at else ""
            lines.append(
                f"  {row.channel} #{row.id} {notice_word(row.notice['event'], language)} "
                f"{row.notice['site']}: {when}{summary}, {row.attempts} "
                f"{label('attempts', language)}{error}"
            )
        return "\n".join(lines or [label("none", language)])
