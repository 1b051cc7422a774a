"""The console's accounts, their sessions and their sign-in trail, in the rules store
(SQLite and PostgreSQL share this SQL; `SqlStore` mixes it in).

Passwords arrive here already hashed (hallwatch/console/accounts.py hashes them); a session
is kept by the sha256 of its cookie token, so the table cannot be replayed as cookies.
`console_audit` is every sign-in, sign-out, refused sign-in and account edit, with who
and from where: login throttling counts its refused sign-ins (and request links' throttling
the links refused, unknown or expired, when opened).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Role = Literal["viewer", "inspector", "manager", "admin"]
AuditKind = Literal[
    "sign_in",
    "sign_out",
    "sign_in_refused",
    "account_add",
    "account_edit",
    "account_disable",
    # request links (rules/request_store.py RequestLink): made, revoked, refused when opened
    "link_add",
    "link_revoke",
    "link_refused",
]
ALL_SITES = "*"  # an account's sites: every site


def account_tables(text: str, serial: str) -> list[str]:
    """The console's tables, in a backend's types."""
    return [
        # `sites`: site ids joined by "," or ALL_SITES.
        f"""CREATE TABLE IF NOT EXISTS console_accounts ("user" {text} PRIMARY KEY,
            "display_name" {text} NOT NULL, "password_hash" {text} NOT NULL,
            "role" {text} NOT NULL, "sites" {text} NOT NULL, "lang" {text},
            "disabled" INTEGER NOT NULL, "created" {text} NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS console_sessions ("token_hash" {text} PRIMARY KEY,
            "user" {text} NOT NULL, "csrf" {text} NOT NULL, "created" {text} NOT NULL,
            "expires" {text} NOT NULL, "address" {text})""",
        'CREATE INDEX IF NOT EXISTS idx_console_sessions_user ON console_sessions ("user")',
        f"""CREATE TABLE IF NOT EXISTS console_audit ("n" {serial}, "at" {text} NOT NULL,
            "who" {text} NOT NULL, "what" {text} NOT NULL, "target" {text},
            "address" {text}, "detail" {text})""",
        'CREATE INDEX IF NOT EXISTS idx_console_audit_what_at ON console_audit ("what", "at")',
    ]


@dataclass(frozen=True, slots=True)
class AccountRow:
    user: str
    display_name: str
    password_hash: str
    role: Role
    sites: tuple[str, ...]  # (ALL_SITES,) for every site
    lang: str | None
    disabled: bool
    created: datetime


@dataclass(frozen=True, slots=True)
class SessionRow:
    token_hash: str
    user: str
    csrf: str
    created: datetime
    expires: datetime
    address: str | None


@dataclass(frozen=True, slots=True)
class AuditRow:
    at: datetime
    who: str  # the account (or the name typed at a refused sign-in), or "<os user> via cli"
    what: AuditKind
    target: str | None = None  # the account an edit edits
    address: str | None = None  # the client's address, for what came through the console
    detail: str | None = None


ACCOUNT_COLUMNS = (
    "user",
    "display_name",
    "password_hash",
    "role",
    "sites",
    "lang",
    "disabled",
    "created",
)
SESSION_COLUMNS = ("token_hash", "user", "csrf", "created", "expires", "address")
AUDIT_COLUMNS = ("at", "who", "what", "target", "address", "detail")


def _names(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _account_of(row: Sequence[Any]) -> AccountRow:
    user, display_name, password_hash, role, sites, lang, disabled, created = row
    return AccountRow(
        user,
        display_name,
        password_hash,
        role,
        tuple(sites.split(",")) if sites else (),
        lang,
        bool(disabled),
        datetime.fromisoformat(created),
    )


class AccountQueries:
    """The console's queries; `rules.store.SqlStore` provides the plumbing named here."""

    def _execute(self, text: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def _rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple]:
        raise NotImplementedError

    def _transaction(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    # -- accounts ------------------------------------------------------------------------
    def console_account(self, user: str) -> AccountRow | None:
        sql = f'SELECT {_names(ACCOUNT_COLUMNS)} FROM console_accounts WHERE "user" = ?'
        rows = self._rows(sql, [user])
        return _account_of(rows[0]) if rows else None

    def console_accounts(self) -> list[AccountRow]:
        sql = f'SELECT {_names(ACCOUNT_COLUMNS)} FROM console_accounts ORDER BY "user"'
        return [_account_of(r) for r in self._rows(sql)]

    def save_console_account(self, account: AccountRow, audit: AuditRow) -> None:
        """Write (add or replace) an account with its audit row; a disabled account's
        sessions end in the same transaction."""
        values = [
            account.user,
            account.display_name,
            account.password_hash,
            account.role,
            ",".join(account.sites),
            account.lang,
            int(account.disabled),
            account.created.isoformat(),
        ]
        updates = ", ".join(f'"{c}" = excluded."{c}"' for c in ACCOUNT_COLUMNS[1:])
        with self._transaction():
            self._execute(
                f"INSERT INTO console_accounts ({_names(ACCOUNT_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(ACCOUNT_COLUMNS))}) "
                f'ON CONFLICT ("user") DO UPDATE SET {updates}',
                values,
            )
            if account.disabled:
                self._execute('DELETE FROM console_sessions WHERE "user" = ?', [account.user])
            self.add_console_audit(audit)

    # -- sessions ------------------------------------------------------------------------
    def add_console_session(self, session: SessionRow, audit: AuditRow) -> None:
        row = [
            session.token_hash,
            session.user,
            session.csrf,
            session.created.isoformat(),
            session.expires.isoformat(),
            session.address,
        ]
        with self._transaction():
            self._execute(
                f"INSERT INTO console_sessions ({_names(SESSION_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(SESSION_COLUMNS))})",
                row,
            )
            self.add_console_audit(audit)

    def console_session(self, token_hash: str, now: datetime) -> SessionRow | None:
        """The live session of that token (None once it expired or was ended)."""
        sql = (
            f"SELECT {_names(SESSION_COLUMNS)} FROM console_sessions "
            'WHERE "token_hash" = ? AND "expires" > ?'
        )
        rows = self._rows(sql, [token_hash, now.isoformat()])
        if not rows:
            return None
        token, user, csrf, created, expires, address = rows[0]
        return SessionRow(
            token,
            user,
            csrf,
            datetime.fromisoformat(created),
            datetime.fromisoformat(expires),
            address,
        )

    def end_console_session(self, token_hash: str, audit: AuditRow) -> None:
        with self._transaction():
            self._execute('DELETE FROM console_sessions WHERE "token_hash" = ?', [token_hash])
            self.add_console_audit(audit)

    # -- the trail -----------------------------------------------------------------------
    def add_console_audit(self, row: AuditRow) -> None:
        values = [
            row.at.isoformat(),
            row.who,
            row.what,
            row.target,
            row.address,
            row.detail,
        ]
        with self._transaction():
            self._execute(
                f"INSERT INTO console_audit ({_names(AUDIT_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)",
                values,
            )

    def console_audit(self, since: datetime | None = None) -> list[AuditRow]:
        """The trail in order (from `since` on)."""
        sql = f'SELECT {_names(AUDIT_COLUMNS)} FROM console_audit WHERE "at" >= ? ORDER BY "n"'
        rows = self._rows(sql, [since.isoformat() if since else ""])
        return [
            AuditRow(datetime.fromisoformat(at), who, what, target, address, detail)
            for at, who, what, target, address, detail in rows
        ]

    def refused_sign_ins(self, since: datetime, *, user: str | None, address: str | None) -> int:
        """Refused sign-ins since `since` of that account (after its last sign-in) or from
        that address."""
        if user is not None:
            sql = (
                "SELECT COUNT(*) FROM console_audit WHERE \"what\" = 'sign_in_refused' "
                'AND "who" = ? AND "at" >= ? AND "at" > COALESCE((SELECT MAX("at") FROM '
                "console_audit WHERE \"what\" = 'sign_in' AND \"who\" = ?), '')"
            )
            return int(self._rows(sql, [user, since.isoformat(), user])[0][0])
        return self._refused_from("sign_in_refused", since, address)

    def refused_links(self, since: datetime, address: str) -> int:
        """Request links refused (unknown, expired, revoked) since `since` from `address`."""
        return self._refused_from("link_refused", since, address)

    def _refused_from(self, what: AuditKind, since: datetime, address: str | None) -> int:
        sql = 'SELECT COUNT(*) FROM console_audit WHERE "what" = ? AND "address" = ? AND "at" >= ?'
        return int(self._rows(sql, [what, address, since.isoformat()])[0][0])
