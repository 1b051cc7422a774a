"""The directory's tables in the central store: sites, departments, windows, staff with their
dated postings, and devices.

`DirectoryTables` is a part of `rules.store.SqlStore` (its SQL is as portable as the rest:
SQLite and PostgreSQL share it). Every edit is one transaction that writes the rows, the
audit rows of who made it, marks the person-months it re-judges pending and bumps the
directory's version: a long-running service compares `directory_version()` (one row read)
and reloads `directory()` only when it changed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from rules.directory import (
    Department,
    Device,
    Directory,
    DirectorySource,
    Posting,
    ServiceWindow,
    StaffMember,
)
from rules.manager_actions import ManagerAction

if TYPE_CHECKING:
    from rules.policy import Policy

log = logging.getLogger(__name__)

PersonMonth = tuple[str, str]  # (staff id, YYYY-MM)

STAFF_COLUMNS = (
    "staff_id",
    "name",
    "name_en",
    "department",
    "position",
    "start_date",
    "end_date",
    "active",
)
DEVICE_COLUMNS = (
    "site",
    "device",
    "kind",
    "name",
    "location",
    "user",
    "registered",
    "retired",
)


def directory_tables(text: str) -> list[str]:
    """The directory's schema, in the text type a backend names."""
    return [
        f"""CREATE TABLE IF NOT EXISTS sites ("site" {text} PRIMARY KEY, "name" {text})""",
        f"""CREATE TABLE IF NOT EXISTS departments ("id" {text} PRIMARY KEY, "name" {text})""",
        f"""CREATE TABLE IF NOT EXISTS windows ("id" {text} PRIMARY KEY, "site" {text},
            "name" {text}, "department" {text})""",
        f"""CREATE TABLE IF NOT EXISTS staff ("staff_id" {text} PRIMARY KEY, "name" {text},
            "name_en" {text}, "department" {text}, "position" {text}, "start_date" {text},
            "end_date" {text}, "active" INTEGER NOT NULL)""",
        # A person's postings in date order (`n`); an edit replaces them all.
        f"""CREATE TABLE IF NOT EXISTS postings ("staff_id" {text}, "n" INTEGER,
            "window" {text}, "first_day" {text}, "last_day" {text},
            PRIMARY KEY ("staff_id", "n"))""",
        f"""CREATE TABLE IF NOT EXISTS devices ("site" {text}, "device" {text}, "kind" {text},
            "name" {text}, "location" {text}, "user" {text}, "registered" {text},
            "retired" {text}, PRIMARY KEY ("site", "device"))""",
        # One row, made by the first edit (or the seed): no row means no directory yet.
        f"""CREATE TABLE IF NOT EXISTS directory_version ("what" {text} PRIMARY KEY,
            "version" INTEGER NOT NULL)""",
    ]


@dataclass(frozen=True, slots=True)
class DirectoryEdit:
    """Rows to write: each replaces the row of the same key (a staff member's postings
    with theirs)."""

    sites: tuple[str, ...] = ()
    departments: tuple[Department, ...] = ()
    windows: tuple[ServiceWindow, ...] = ()
    staff: tuple[StaffMember, ...] = ()
    devices: tuple[Device, ...] = ()

    def __bool__(self) -> bool:
        return any((self.sites, self.departments, self.windows, self.staff, self.devices))


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _undate(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _unmoment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _upsert(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in key)
    conflict = ", ".join(f'"{c}"' for c in key)
    return (
        f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
    )


class DirectoryTables:
    """The directory's queries; `rules.store.SqlStore` provides the plumbing named here."""

    def _execute(self, text: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def _rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple]:
        raise NotImplementedError

    def _execute_many(self, text: str, rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    def _transaction(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _mark_pending(self, marks: Iterable[PersonMonth]) -> None:
        raise NotImplementedError

    def _add_actions(self, actions: Sequence[ManagerAction]) -> None:
        raise NotImplementedError

    def directory_version(self) -> int:
        """0 while the store has no directory; grows with every edit."""
        found = self._rows('SELECT "version" FROM directory_version WHERE "what" = ?', ["d"])
        return found[0][0] if found else 0

    def directory(self) -> Directory:
        """The directory as it is now, in one consistent read."""
        with self._transaction():
            postings: dict[str, list[Posting]] = {}
            for staff_id, window, first, last in self._rows(
                'SELECT "staff_id", "window", "first_day", "last_day" FROM postings '
                'ORDER BY "staff_id", "n"'
            ):
                postings.setdefault(staff_id, []).append(
                    Posting(window, _undate(first), _undate(last))
                )
            staff = tuple(
                StaffMember(
                    sid,
                    name,
                    name_en,
                    dept,
                    position,
                    _undate(start),
                    _undate(end),
                    bool(active),
                    tuple(postings.get(sid, ())),
                )
                for sid, name, name_en, dept, position, start, end, active in self._rows(
                    f'SELECT {_names(STAFF_COLUMNS)} FROM staff ORDER BY "staff_id"'
                )
            )
            windows = tuple(
                ServiceWindow(*row)
                for row in self._rows(
                    'SELECT "id", "site", "name", "department" FROM windows ORDER BY "id"'
                )
            )
            departments = tuple(
                Department(*row)
                for row in self._rows('SELECT "id", "name" FROM departments ORDER BY "id"')
            )
            devices = tuple(
                Device(
                    site,
                    device,
                    kind,
                    name or "",
                    location or "",
                    user,
                    _unmoment(registered),
                    _unmoment(retired),
                )
                for site, device, kind, name, location, user, registered, retired in self._rows(
                    f'SELECT {_names(DEVICE_COLUMNS)} FROM devices ORDER BY "site", "device"'
                )
            )
            sites = tuple(s for (s,) in self._rows('SELECT "site" FROM sites ORDER BY "site"'))
        return Directory(windows, staff, departments, devices, sites)

    def save_directory(
        self,
        edit: DirectoryEdit,
        actions: Sequence[ManagerAction] = (),
        pending: Iterable[PersonMonth] = (),
    ) -> int:
        """Write `edit`, its audit rows and the person-months it re-judges, and bump the
        version, all in one transaction; returns the new version."""
        with self._transaction():
            self._write(edit)
            self._add_actions(actions)
            self._mark_pending(sorted(set(pending)))
            return self._bump()

    def seed_directory(self, seed: Directory) -> bool:
        """Write `seed` as the whole directory if the store has none yet; whether it did.

        The version row is the guard: of instances seeding at once, the first to insert it
        writes the seed, the others wait for its commit and find a directory."""
        with self._transaction():
            made = self._execute(
                'INSERT INTO directory_version ("what", "version") VALUES (?, 0) '
                'ON CONFLICT ("what") DO NOTHING RETURNING "version"',
                ["d"],
            ).fetchall()
            if not made:
                return False
            self._write(
                DirectoryEdit(seed.sites, seed.departments, seed.windows, seed.staff, seed.devices)
            )
            self._bump()
            return True

    def _bump(self) -> int:
        [(version,)] = self._execute(
            'INSERT INTO directory_version ("what", "version") VALUES (?, 1) '
            'ON CONFLICT ("what") DO UPDATE SET "version" = directory_version."version" + 1 '
            'RETURNING "version"',
            ["d"],
        ).fetchall()
        return version

    def _write(self, edit: DirectoryEdit) -> None:
        sites = {*edit.sites, *(w.site for w in edit.windows), *(d.site for d in edit.devices)}
        self._execute_many(
            'INSERT INTO sites ("site", "name") VALUES (?, ?) ON CONFLICT ("site") DO NOTHING',
            [[site, site] for site in sorted(sites)],
        )
        self._execute_many(
            _upsert("departments", ("id", "name"), ("id",)),
            [[d.id, d.name] for d in edit.departments],
        )
        self._execute_many(
            _upsert("windows", ("id", "site", "name", "department"), ("id",)),
            [[w.id, w.site, w.name, w.department] for w in edit.windows],
        )
        self._execute_many(
            _upsert("staff", STAFF_COLUMNS, ("staff_id",)),
            [
                [
                    m.staff_id,
                    m.name,
                    m.name_en,
                    m.department,
                    m.position,
                    _day(m.start_date),
                    _day(m.end_date),
                    int(m.active),
                ]
                for m in edit.staff
            ],
        )
        self._execute_many(
            'DELETE FROM postings WHERE "staff_id" = ?', [[m.staff_id] for m in edit.staff]
        )
        self._execute_many(
            'INSERT INTO postings ("staff_id", "n", "window", "first_day", "last_day") '
            "VALUES (?, ?, ?, ?, ?)",
            [
                [m.staff_id, n, p.window, _day(p.first_day), _day(p.last_day)]
                for m in edit.staff
                for n, p in enumerate(m.postings)
            ],
        )
        self._execute_many(
            _upsert("devices", DEVICE_COLUMNS, ("site", "device")),
            [
                [
                    d.site,
                    d.device,
                    d.kind,
                    d.name,
                    d.location,
                    d.user,
                    _moment(d.registered),
                    _moment(d.retired),
                ]
                for d in edit.devices
            ],
        )


def _names(columns: Iterable[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


class Seedable(Protocol):
    """What seeding needs of a store (`rules.store.Store` has it)."""

    def directory_version(self) -> int: ...

    def seed_directory(self, seed: Directory) -> bool: ...


class Readable(Protocol):
    """What reading the directory needs of a store (`rules.store.Store` has it)."""

    def directory_version(self) -> int: ...

    def directory(self) -> Directory: ...


def cached_directory(store: Readable) -> DirectorySource:
    """The store's directory as a source for long-lived readers: each call costs one small
    read of the version, and the whole snapshot is read again only after an edit (by a
    manager in another process, say) changed it."""
    held: tuple[int, Directory] | None = None

    def current() -> Directory:
        nonlocal held
        version = store.directory_version()
        if held is None or held[0] != version:
            held = (version, store.directory())
        return held[1]

    return current


def seed_from_policy(store: Seedable, policy: Policy) -> bool:
    """Copy a policy's deprecated `[[windows]]` into a store that has no directory yet
    (whether it did). Once the store has a directory, the policy's windows are ignored."""
    if not policy.windows:
        return False
    if store.directory_version() == 0 and store.seed_directory(Directory.from_policy(policy)):
        log.warning(
            "copied the policy's [[windows]] (%d windows, %d staff) into the directory; "
            "[[windows]] in the policy is deprecated: keep windows and staff in the directory "
            "(hallwatch staff import / hallwatch staff add) and remove [[windows]] from the "
            "policy",
            len(policy.windows),
            len(policy.window_of),
        )
        return True
    log.info(
        "the policy's [[windows]] are ignored: the directory in the store says who works "
        "where (hallwatch staff list); remove [[windows]] from the policy"
    )
    return False
