"""The console's accounts: who may sign in, in what role, for which sites; sign-in with
throttling, sessions, and the trail of both. One API for the web app and for
`hallwatch console user ...` (hallwatch/console/cli.py is a thin layer over it).

Roles are ordered: viewer (reads) < inspector (records findings) < manager (every action
for their sites) < admin (accounts, devices, directory). Each account sees one or more
sites, or all of them (`ALL_SITES`). Passwords are hashed with argon2id (argon2-cffi's
defaults); a session is a random token whose sha256 the store keeps, so signing out or
disabling an account ends it at once.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from base.errors import HallwatchError
from base.identifiers import NODE_ID, STAFF_ID, IdError
from base.printable import printable
from mqtt.ids import utc_now
from rules.account_store import ALL_SITES, AccountRow, AuditRow, Role, SessionRow
from rules.acting import Actor, InvalidInput, NotFound, Refused
from rules.store import Store

ROLES: tuple[Role, ...] = ("viewer", "inspector", "manager", "admin")
MIN_PASSWORD = 8
_HASHER = PasswordHasher()
# Verified against when the account does not exist, so a wrong name costs as long as a
# wrong password (the time does not tell which names exist).
_ABSENT_HASH = _HASHER.hash(secrets.token_hex(16))


@dataclass(frozen=True, slots=True)
class Account:
    """A person who may sign in (never with their password hash)."""

    user: str
    display_name: str
    role: Role
    sites: tuple[str, ...]  # (ALL_SITES,) for every site
    lang: str | None
    disabled: bool

    @classmethod
    def of(cls, row: AccountRow) -> Account:
        return cls(row.user, row.display_name, row.role, row.sites, row.lang, row.disabled)

    @property
    def all_sites(self) -> bool:
        return ALL_SITES in self.sites

    def at_least(self, role: Role) -> bool:
        """Whether this account's role is `role` or above it."""
        return ROLES.index(self.role) >= ROLES.index(role)

    def sees(self, site: str) -> bool:
        """Whether `site` is one of this account's sites."""
        return self.all_sites or site in self.sites

    @property
    def actor(self) -> Actor:
        """Who the management API records as acting when this person acts in the console."""
        return Actor(self.user, "console")


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in person: their account as it is now, and the session's CSRF token."""

    account: Account
    token_hash: str
    csrf: str
    address: str | None

    @property
    def actor(self) -> Actor:
        """Who the management API records as acting (through="console")."""
        return self.account.actor


class SignInRefused(HallwatchError):
    """A sign-in that did not succeed; `throttled` when it was not even tried (too many
    refused sign-ins lately), then `minutes` says how long to wait."""

    def __init__(self, message: str, *, throttled: bool = False, minutes: int = 0) -> None:
        super().__init__(message)
        self.throttled = throttled
        self.minutes = minutes


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user_name(user: str) -> str:
    try:
        return STAFF_ID.check(user.strip(), "account name")
    except IdError as exc:
        raise InvalidInput(str(exc)) from None


def _role(role: str) -> Role:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    return role  # type: ignore[return-value]


def _sites(sites: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(s.strip() for s in sites if s.strip()))
    if not chosen:
        raise InvalidInput(f"give the account's sites (site ids, or {ALL_SITES} for every site)")
    if ALL_SITES in chosen:
        return (ALL_SITES,)
    for site in chosen:
        try:
            NODE_ID.check(site, "site id")
        except IdError as exc:
            raise InvalidInput(str(exc)) from None
    return tuple(sorted(chosen))


def _password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters")
    return password


class Accounts:
    """The accounts in a store, and signing in and out of the console."""

    def __init__(
        self,
        store: Store,
        *,
        now: Callable[[], datetime] = utc_now,
        session_hours: float = 12.0,
        throttle_failures: int = 5,
        throttle_minutes: float = 15.0,
    ) -> None:
        self.store = store
        self.now = now
        self.session_length = timedelta(hours=session_hours)
        self.throttle_failures = throttle_failures
        self.throttle_window = timedelta(minutes=throttle_minutes)

    # -- managing accounts (admins in the console, operators at the command line) --------
    def list(self) -> list[Account]:
        return [Account.of(row) for row in self.store.console_accounts()]

    def get(self, user: str) -> Account:
        row = self.store.console_account(user)
        if row is None:
            raise NotFound(f"no console account {user!r} (see `hallwatch console user list`)")
        return Account.of(row)

    def add(
        self,
        by: Actor,
        user: str,
        password: str,
        role: str,
        sites: Iterable[str],
        display_name: str = "",
        lang: str | None = None,
    ) -> Account:
        user = _user_name(user)
        if self.store.console_account(user) is not None:
            raise Refused(f"console account {user!r} exists (change it with `passwd`)")
        row = AccountRow(
            user,
            display_name.strip() or user,
            _HASHER.hash(_password(password)),
            _role(role),
            _sites(sites),
            lang,
            False,
            self.now(),
        )
        detail = f"role={row.role} sites={','.join(row.sites)}"
        self.store.save_console_account(row, self._audit(by, "account_add", user, detail))
        return Account.of(row)

    def passwd(self, by: Actor, user: str, password: str) -> Account:
        """Set a new password (and enable the account again if it was disabled)."""
        row = self._row(user)
        changed = replace(row, password_hash=_HASHER.hash(_password(password)), disabled=False)
        audit = self._audit(by, "account_edit", row.user, "password set")
        self.store.save_console_account(changed, audit)
        return Account.of(changed)

    def disable(self, by: Actor, user: str) -> Account:
        """The account cannot sign in any more; its open sessions end now."""
        row = self._row(user)
        changed = replace(row, disabled=True)
        self.store.save_console_account(changed, self._audit(by, "account_disable", row.user))
        return Account.of(changed)

    def set_lang(self, user: str, lang: str) -> None:
        """A person's own choice of language (no audit row: it changes nothing of record)."""
        row = self._row(user)
        audit = AuditRow(self.now(), user, "account_edit", user, None, f"lang={lang}")
        self.store.save_console_account(replace(row, lang=lang), audit)

    def _row(self, user: str) -> AccountRow:
        row = self.store.console_account(user.strip())
        if row is None:
            raise NotFound(f"no console account {user!r} (see `hallwatch console user list`)")
        return row

    def _audit(self, by: Actor, what, target: str, detail: str | None = None) -> AuditRow:
        return AuditRow(self.now(), by.entered_by, what, target, None, detail)

    # -- signing in and out --------------------------------------------------------------
    def sign_in(self, user: str, password: str, address: str | None) -> tuple[Session, str]:
        """A new session and its cookie token, or SignInRefused (audited either way)."""
        typed = printable(user.strip())[:64] or "?"
        now = self.now()
        since = now - self.throttle_window
        minutes = max(1, round(self.throttle_window.total_seconds() / 60))
        too_many = self.store.refused_sign_ins(
            since, user=typed, address=None
        ) >= self.throttle_failures or (
            address is not None
            and self.store.refused_sign_ins(since, user=None, address=address)
            >= 4 * self.throttle_failures
        )
        if too_many:
            self._refused(typed, address, "throttled")
            raise SignInRefused("too many failed sign-ins", throttled=True, minutes=minutes)
        row = self.store.console_account(typed)
        try:
            _HASHER.verify(row.password_hash if row else _ABSENT_HASH, password)
            valid = row is not None
        except (VerificationError, InvalidHashError):
            valid = False
        if not valid or row is None:
            self._refused(typed, address, "unknown account" if row is None else "wrong password")
            raise SignInRefused("wrong account name or password")
        if row.disabled:
            self._refused(typed, address, "account disabled")
            raise SignInRefused("wrong account name or password")
        token = secrets.token_urlsafe(32)
        session = SessionRow(
            token_hash(token),
            row.user,
            secrets.token_urlsafe(32),
            now,
            now + self.session_length,
            address,
        )
        self.store.add_console_session(session, AuditRow(now, row.user, "sign_in", None, address))
        return Session(Account.of(row), session.token_hash, session.csrf, address), token

    def _refused(self, typed: str, address: str | None, why: str) -> None:
        self.store.add_console_audit(
            AuditRow(self.now(), typed, "sign_in_refused", None, address, why)
        )

    def session(self, token: str) -> Session | None:
        """The session of a cookie's token, with its account as it is now (None if it
        expired, was ended, or its account is disabled)."""
        found = self.store.console_session(token_hash(token), self.now())
        if found is None:
            return None
        row = self.store.console_account(found.user)
        if row is None or row.disabled:
            return None
        return Session(Account.of(row), found.token_hash, found.csrf, found.address)

    def sign_out(self, session: Session, address: str | None) -> None:
        audit = AuditRow(self.now(), session.account.user, "sign_out", None, address)
        self.store.end_console_session(session.token_hash, audit)
