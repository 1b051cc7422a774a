"""Request links: a manager makes, for one person, a link (`/r/<token>`) to send them;
opening it without an account, that person (and only they) raises their own punch
corrections (补卡) and appeals (申诉), audited as raised by them through the link
(`Actor(staff, "link")`).

The token is random (32 bytes) and shown once; the store keeps its sha256 (as it keeps a
session's), when it expires and who revoked it. Making and revoking a link, and every
link refused when opened (unknown, expired, revoked), are in the console's trail; an
address that opened too many refused links lately is refused even a good one for a
while, as sign-in throttles (hallwatch/console/accounts.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from base.errors import HallwatchError
from hallwatch.console.accounts import token_hash
from mqtt.ids import new_event_id, utc_now
from rules.account_store import AuditRow
from rules.acting import Actor, NotFound, Refused
from rules.request_store import RequestLink
from rules.store import Store

LINK_PATH = "/r/"
Why = Literal["unknown", "expired", "revoked", "throttled"]


class LinkRefused(HallwatchError):
    """A link that does not open: `why` says which way (the page says it in words)."""

    def __init__(self, why: Why, minutes: int = 0) -> None:
        super().__init__(why)
        self.why = why
        self.minutes = minutes


class RequestLinks:
    """The request links in a store: made, listed, revoked, opened."""

    def __init__(
        self,
        store: Store,
        *,
        days: float,
        throttle_failures: int,
        throttle_minutes: float,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.length = timedelta(days=days)
        self.throttle_refused = 4 * throttle_failures  # as an address's refused sign-ins
        self.throttle_window = timedelta(minutes=throttle_minutes)
        self.now = now

    def issue(
        self, by: Actor, staff: str, site: str, address: str | None
    ) -> tuple[str, RequestLink]:
        """A new link for `staff` (of `site`) and its token, which is not kept."""
        token = secrets.token_urlsafe(32)
        now = self.now()
        link = RequestLink(
            f"ln-{new_event_id()[-12:]}", token_hash(token), staff, site, by.user, now,
            now + self.length,
        )  # fmt: skip
        self.store.add_request_link(link)
        self._audit(by.user, "link_add", link.link_id, address, f"staff={staff} site={site}")
        return token, link

    def live(self, site: str) -> list[RequestLink]:
        return self.store.live_request_links(self.now(), site)

    def get(self, link_id: str) -> RequestLink:
        found = self.store.request_link(link_id=link_id)
        if found is None:
            raise NotFound(f"没有编号为 {link_id} 的申请链接")
        return found

    def revoke(self, by: Actor, link: RequestLink, address: str | None) -> None:
        if not self.store.revoke_request_link(link.link_id, by.user, self.now()):
            raise Refused(f"申请链接 {link.link_id} 已撤销")
        self._audit(by.user, "link_revoke", link.link_id, address, f"staff={link.staff_id}")

    def open(self, token: str, address: str | None) -> RequestLink:
        """The live link of `token`, or LinkRefused (each refusal is in the trail)."""
        now = self.now()
        if address is not None and (
            self.store.refused_links(now - self.throttle_window, address) >= self.throttle_refused
        ):
            self._audit("?", "link_refused", None, address, "throttled")
            minutes = max(1, round(self.throttle_window.total_seconds() / 60))
            raise LinkRefused("throttled", minutes)
        link = self.store.request_link(token_hash=token_hash(token)) if token else None
        why: Why | None = None
        if link is None:
            why = "unknown"
        elif link.revoked_at is not None:
            why = "revoked"
        elif now >= link.expires_at:
            why = "expired"
        if why is not None:
            self._audit(
                link.staff_id if link else "?", "link_refused", link and link.link_id, address, why
            )
            raise LinkRefused(why)
        assert link is not None
        return link

    def _audit(self, who: str, what, target: str | None, address: str | None, detail: str) -> None:
        self.store.add_console_audit(AuditRow(self.now(), who, what, target, address, detail))
