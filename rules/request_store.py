"""Requests (punch corrections and appeals) in the rules store; SQLite and PostgreSQL share
this SQL (`SqlStore` mixes it in).

A request is written once when raised and once more when decided: the decision is an
update guarded by the status still being pending, so a request is never decided twice.

A request link (`RequestLink`) lets one person raise their own requests without an
account: the console gives a manager its random token once; the store keeps only the
token's sha256, when it expires, and who revoked it (hallwatch/console/request_links.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rules.filters import matching
from rules.requests import Request, RequestKind, RequestStatus
from rules.stamps import stamp, unstamp

REQUEST_COLUMNS = (
    "request_id", "kind", "site", "staff_id", "reason", "raised_by", "raised_at", "at",
    "action", "violation_id", "status", "decided_by", "decided_at", "decision",
)  # fmt: skip


def request_tables(text: str) -> list[str]:
    """The requests' table, in a backend's types; times are UTC stamps."""
    return [
        f"""CREATE TABLE IF NOT EXISTS requests ("request_id" {text} PRIMARY KEY,
            "kind" {text} NOT NULL, "site" {text} NOT NULL, "staff_id" {text} NOT NULL,
            "reason" {text} NOT NULL, "raised_by" {text} NOT NULL,
            "raised_at" {text} NOT NULL, "at" {text}, "action" {text},
            "violation_id" {text}, "status" {text} NOT NULL, "decided_by" {text},
            "decided_at" {text}, "decision" {text})""",
        'CREATE INDEX IF NOT EXISTS idx_requests_staff ON requests ("staff_id", "at")',
        f"""CREATE TABLE IF NOT EXISTS request_links ("link_id" {text} PRIMARY KEY,
            "token_hash" {text} NOT NULL UNIQUE, "staff_id" {text} NOT NULL,
            "site" {text} NOT NULL, "created_by" {text} NOT NULL,
            "created_at" {text} NOT NULL, "expires_at" {text} NOT NULL,
            "revoked_by" {text}, "revoked_at" {text})""",
    ]


@dataclass(frozen=True, slots=True)
class RequestLink:
    """A link through which one person raises their own requests, until it expires or
    is revoked; `token_hash` is the sha256 of the link's token (the token is not kept)."""

    link_id: str
    token_hash: str
    staff_id: str
    site: str
    created_by: str  # the account that made it
    created_at: datetime
    expires_at: datetime
    revoked_by: str | None = None
    revoked_at: datetime | None = None

    def live(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


LINK_COLUMNS = (
    "link_id", "token_hash", "staff_id", "site", "created_by", "created_at", "expires_at",
    "revoked_by", "revoked_at",
)  # fmt: skip


def _link_of(row: Sequence[Any]) -> RequestLink:
    lid, token_hash, staff, site, by, created, expires, rby, rat = row
    return RequestLink(
        lid, token_hash, staff, site, by, unstamp(created), unstamp(expires), rby,
        rat and unstamp(rat),
    )  # fmt: skip


def _request_of(row: Sequence[Any]) -> Request:
    rid, kind, site, staff, reason, by, raised, at, action, vid, status, dby, dat, why = row
    return Request(
        rid, kind, site, staff, reason, by, unstamp(raised), at and unstamp(at), action, vid,
        status, dby, dat and unstamp(dat), why,
    )  # fmt: skip


class RequestQueries:
    """The requests' queries over `SqlStore`'s connection and transactions."""

    def _execute(self, text: str, params: Sequence[Any] = ()) -> Any: ...  # SqlStore's
    def _rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple]: ...
    def _transaction(self) -> AbstractContextManager[None]: ...

    def add_request(self, request: Request) -> None:
        r = request
        names = ", ".join(f'"{c}"' for c in REQUEST_COLUMNS)
        with self._transaction():
            self._execute(
                f"INSERT INTO requests ({names}) "
                f"VALUES ({', '.join('?' * len(REQUEST_COLUMNS))})",
                (r.request_id, r.kind, r.site, r.staff_id, r.reason, r.raised_by,
                 stamp(r.raised_at), r.at and stamp(r.at), r.action, r.violation_id, r.status,
                 r.decided_by, r.decided_at and stamp(r.decided_at), r.decision),
            )  # fmt: skip

    def decide_request(
        self, request_id: str, status: RequestStatus, by: str, at: datetime, reason: str
    ) -> bool:
        """Record the decision of a pending request; False if it was not pending."""
        with self._transaction():
            cursor = self._execute(
                'UPDATE requests SET "status" = ?, "decided_by" = ?, "decided_at" = ?, '
                '"decision" = ? WHERE "request_id" = ? AND "status" = ?',
                (status, by, stamp(at), reason, request_id, "pending"),
            )
            return cursor.rowcount == 1

    def requests(
        self,
        *,
        kind: RequestKind | None = None,
        status: RequestStatus | None = None,
        staff: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Request]:
        """Requests, oldest raised first; `start`/`end` bound a punch correction's moment."""
        where, params = matching(
            (
                ('"kind" = ?', kind),
                ('"status" = ?', status),
                ('"staff_id" = ?', staff),
                ('"at" >= ?', start and stamp(start)),
                ('"at" < ?', end and stamp(end)),
            )
        )
        names = ", ".join(f'"{c}"' for c in REQUEST_COLUMNS)
        rows = self._rows(
            f'SELECT {names} FROM requests WHERE {where} ORDER BY "raised_at", "request_id"',
            params,
        )
        return [_request_of(row) for row in rows]

    def request(self, request_id: str) -> Request | None:
        names = ", ".join(f'"{c}"' for c in REQUEST_COLUMNS)
        rows = self._rows(f'SELECT {names} FROM requests WHERE "request_id" = ?', (request_id,))
        return _request_of(rows[0]) if rows else None

    # -- request links -----------------------------------------------------------------
    def add_request_link(self, link: RequestLink) -> None:
        names = ", ".join(f'"{c}"' for c in LINK_COLUMNS)
        with self._transaction():
            self._execute(
                f"INSERT INTO request_links ({names}) "
                f"VALUES ({', '.join('?' * len(LINK_COLUMNS))})",
                (link.link_id, link.token_hash, link.staff_id, link.site, link.created_by,
                 stamp(link.created_at), stamp(link.expires_at), link.revoked_by,
                 link.revoked_at and stamp(link.revoked_at)),
            )  # fmt: skip

    def request_link(
        self, *, token_hash: str | None = None, link_id: str | None = None
    ) -> RequestLink | None:
        """The link of that token's hash (or of that id), live or not."""
        column, value = ("token_hash", token_hash) if token_hash else ("link_id", link_id)
        names = ", ".join(f'"{c}"' for c in LINK_COLUMNS)
        rows = self._rows(f'SELECT {names} FROM request_links WHERE "{column}" = ?', (value,))
        return _link_of(rows[0]) if rows else None

    def live_request_links(self, now: datetime, site: str | None = None) -> list[RequestLink]:
        """The links neither revoked nor expired at `now` (of one site), oldest first."""
        names = ", ".join(f'"{c}"' for c in LINK_COLUMNS)
        given, params = matching([('"site" = ?', site)])
        where = f'"revoked_at" IS NULL AND "expires_at" > ? AND {given}'
        rows = self._rows(
            f'SELECT {names} FROM request_links WHERE {where} ORDER BY "created_at", "link_id"',
            [stamp(now), *params],
        )
        return [_link_of(row) for row in rows]

    def revoke_request_link(self, link_id: str, by: str, at: datetime) -> bool:
        """Revoke a link; False if it was revoked already (or does not exist)."""
        with self._transaction():
            cursor = self._execute(
                'UPDATE request_links SET "revoked_by" = ?, "revoked_at" = ? '
                'WHERE "link_id" = ? AND "revoked_at" IS NULL',
                (by, stamp(at), link_id),
            )
            return cursor.rowcount == 1
