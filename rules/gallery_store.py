"""Central templates and each site's versioned gallery, in the rules store (SQLite and
PostgreSQL share this SQL; `SqlStore` mixes it in).

Templates are embeddings and sensor characteristics only, never images. Each site's
gallery has a version that grows with every change of a person's entry; a person's entry
keeps the version of its last change, so what a device at version B lacks is every entry
changed after B (`gallery_changes`). Per device the store keeps what it has applied (from
its acks), what was last sent to it and the last error: a deleted person is erased from a
device once it has applied the version of their deletion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

TemplateKind = Literal["face", "finger"]


def gallery_tables(text: str, blob: str, serial: str) -> list[str]:
    """The gallery's tables, in a backend's types (schema version 1)."""
    return [
        # `model`: the recogniser's sha256 for a face, the sensor family for a finger.
        f"""CREATE TABLE IF NOT EXISTS templates ("n" {serial}, "staff_id" {text} NOT NULL,
            "kind" {text} NOT NULL, "model" {text} NOT NULL, "template" {blob} NOT NULL,
            "enrolled_at" {text} NOT NULL, "source" {text} NOT NULL)""",
        'CREATE INDEX IF NOT EXISTS idx_templates_staff_id ON templates ("staff_id")',
        f"""CREATE TABLE IF NOT EXISTS gallery_sites ("site" {text} PRIMARY KEY,
            "version" INTEGER NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS gallery_changes ("site" {text}, "staff_id" {text},
            "name" {text}, "version" INTEGER NOT NULL, "deleted" INTEGER NOT NULL,
            PRIMARY KEY ("site", "staff_id"))""",
        'CREATE INDEX IF NOT EXISTS idx_gallery_changes_version ON gallery_changes ("site", "version")',
        f"""CREATE TABLE IF NOT EXISTS device_gallery ("site" {text}, "device" {text},
            "applied_version" INTEGER NOT NULL, "sent_version" INTEGER NOT NULL,
            "sent_at" {text}, "attempts" INTEGER NOT NULL, "last_error" {text},
            "acked_at" {text}, PRIMARY KEY ("site", "device"))""",
    ]


def lookalike_tables(text: str, real: str) -> list[str]:
    """Two people whose face templates came within `lookalike_threshold` at an enrolment
    (staff_a < staff_b): open until an administrator decides (schema version 2)."""
    return [
        f"""CREATE TABLE IF NOT EXISTS lookalikes ("staff_a" {text}, "staff_b" {text},
            "score" {real} NOT NULL, "found_at" {text} NOT NULL, "state" {text} NOT NULL,
            "decided_by" {text}, "decided_at" {text}, "note" {text},
            PRIMARY KEY ("staff_a", "staff_b"))""",
    ]


@dataclass(frozen=True, slots=True)
class NewTemplate:
    kind: TemplateKind
    model: str
    data: bytes


@dataclass(frozen=True, slots=True)
class StoredTemplate:
    staff_id: str
    kind: TemplateKind
    model: str
    data: bytes
    enrolled_at: datetime
    source: str  # the device that enrolled it, or "central"


@dataclass(frozen=True, slots=True)
class GalleryEntry:
    """A person's entry in a site's gallery, as of its last change."""

    site: str
    staff_id: str
    name: str | None
    version: int
    deleted: bool


LookalikeState = Literal["open", "decided"]


@dataclass(frozen=True, slots=True)
class LookalikePair:
    """Two people whose faces a search could confuse; both need a second factor while
    the pair is open."""

    staff_a: str  # the lower staff id
    staff_b: str
    score: float  # the best cosine between a template of each
    found_at: datetime
    state: LookalikeState
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None


_PAIR_COLUMNS = (
    "staff_a", "staff_b", "score", "found_at", "state", "decided_by", "decided_at", "note",
)  # fmt: skip


def _pair(row: tuple) -> LookalikePair:
    a, b, score, found, state, by, decided, note = row
    return LookalikePair(
        a, b, float(score), datetime.fromisoformat(found), state, by, _time(decided), note
    )


@dataclass(frozen=True, slots=True)
class DeviceGallery:
    """What the centre knows of one device's gallery."""

    site: str
    device: str
    applied_version: int = 0  # from its last ack
    sent_version: int = 0  # the version the last update sent brings it to
    sent_at: datetime | None = None
    attempts: int = 0  # sends since its last ack
    last_error: str | None = None  # its last ack's refusal; None once it applies
    acked_at: datetime | None = None


_DEVICE_COLUMNS = (
    "site", "device", "applied_version", "sent_version", "sent_at", "attempts", "last_error",
    "acked_at",
)  # fmt: skip


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class GalleryQueries:
    """The gallery's queries over `SqlStore`'s connection and transactions."""

    def _execute(self, text: str, params: Sequence[Any] = ()) -> Any: ...  # SqlStore's
    def _rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple]: ...
    def _transaction(self) -> AbstractContextManager[None]: ...

    # -- templates and changes -------------------------------------------------------
    def add_templates(
        self,
        site: str,
        staff_id: str,
        name: str | None,
        templates: Sequence[NewTemplate],
        *,
        source: str,
        at: datetime,
        replace: bool = False,
        lookalikes: Mapping[str, float] | None = None,
    ) -> int:
        """Keep `templates` of `staff_id` (with `replace`, instead of theirs of the same
        kinds) and change their entry in `site`'s gallery; returns the new version.

        `lookalikes` ({staff id: score}): other people whose faces came within the
        lookalike threshold of these templates (`rules.lookalikes.close_faces`)."""
        with self._transaction():
            if replace:
                for kind in sorted({t.kind for t in templates}):
                    self._execute(
                        'DELETE FROM templates WHERE "staff_id" = ? AND "kind" = ?',
                        [staff_id, kind],
                    )
            for t in templates:
                self._execute(
                    'INSERT INTO templates ("staff_id", "kind", "model", "template", '
                    '"enrolled_at", "source") VALUES (?, ?, ?, ?, ?, ?)',
                    [staff_id, t.kind, t.model, t.data, at.isoformat(), source],
                )
            version = self._change(site, staff_id, name, deleted=False)
            if lookalikes:
                self._flag(staff_id, lookalikes, at)
                version = self.gallery_version(site)
            return version

    def erase_person(self, staff_id: str) -> dict[str, int]:
        """Delete every template of `staff_id` and their entry in every site's gallery;
        returns {site: the version that deletes them there} (empty: nothing to erase).
        Their lookalike pairs go too: a partner no longer needs a second factor for them."""
        with self._transaction():
            self._execute('DELETE FROM templates WHERE "staff_id" = ?', [staff_id])
            partners = self._partners(staff_id)
            self._execute(
                'DELETE FROM lookalikes WHERE "staff_a" = ? OR "staff_b" = ?', [staff_id, staff_id]
            )
            for partner in partners:
                self._touch(partner)
            sites = self._execute(
                'SELECT "site" FROM gallery_changes WHERE "staff_id" = ? AND "deleted" = 0 '
                'ORDER BY "site"',
                [staff_id],
            ).fetchall()
            return {site: self._change(site, staff_id, None, deleted=True) for (site,) in sites}

    # -- lookalike pairs ---------------------------------------------------------------
    def _flag(self, staff_id: str, close: Mapping[str, float], at: datetime) -> None:
        """Pair `staff_id` with each person of `close` ({staff id: score}): a new pair is
        open; an open one takes the new score; a decided one stays decided (an
        administrator judged these two people). Everyone in an open pair of theirs gets a
        new gallery entry: their stations must ask them for a second factor."""
        for other, score in close.items():
            a, b = sorted((staff_id, other))
            self._execute(
                'INSERT INTO lookalikes ("staff_a", "staff_b", "score", "found_at", "state") '
                'VALUES (?, ?, ?, ?, ?) ON CONFLICT ("staff_a", "staff_b") DO UPDATE SET '
                '"score" = excluded."score", "found_at" = excluded."found_at" '
                'WHERE lookalikes."state" = ?',
                [a, b, float(score), at.isoformat(), "open", "open"],
            )
        for person in {staff_id, *self._partners(staff_id)}:
            self._touch(person)

    def lookalikes(self, state: LookalikeState | None = None) -> list[LookalikePair]:
        """Lookalike pairs, closest first."""
        where, params = ('WHERE "state" = ?', [state]) if state else ("", [])
        rows = self._rows(
            f"SELECT {', '.join(_PAIR_COLUMNS)} FROM lookalikes {where} "
            'ORDER BY "score" DESC, "staff_a", "staff_b"',
            params,
        )
        return [_pair(row) for row in rows]

    def second_factor_required(self) -> set[str]:
        """Everyone in an open lookalike pair."""
        return {who for p in self.lookalikes("open") for who in (p.staff_a, p.staff_b)}

    def decide_lookalike(
        self, staff_a: str, staff_b: str, by: str, note: str, at: datetime
    ) -> LookalikePair | None:
        """Close the open pair of these two (in either order); None if there is none. Both
        get a new gallery entry: their stations stop asking for a second factor, unless
        another open pair still needs it."""
        a, b = sorted((staff_a, staff_b))
        with self._transaction():
            decided = self._execute(
                'UPDATE lookalikes SET "state" = ?, "decided_by" = ?, "decided_at" = ?, '
                '"note" = ? WHERE "staff_a" = ? AND "staff_b" = ? AND "state" = ?',
                ["decided", by, at.isoformat(), note, a, b, "open"],
            ).rowcount
            if not decided:
                return None
            self._touch(a)
            self._touch(b)
        rows = self._rows(
            f"SELECT {', '.join(_PAIR_COLUMNS)} FROM lookalikes "
            'WHERE "staff_a" = ? AND "staff_b" = ?',
            [a, b],
        )
        return _pair(rows[0])

    def _partners(self, staff_id: str) -> list[str]:
        return sorted(
            {p.staff_a if p.staff_b == staff_id else p.staff_b for p in self.lookalikes("open")
             if staff_id in (p.staff_a, p.staff_b)}
        )  # fmt: skip

    def _touch(self, staff_id: str) -> None:
        """A new version of `staff_id`'s entry in every site's gallery that has them."""
        sites = self._execute(
            'SELECT "site" FROM gallery_changes WHERE "staff_id" = ? AND "deleted" = 0 '
            'ORDER BY "site"',
            [staff_id],
        ).fetchall()
        for (site,) in sites:
            self._change(site, staff_id, None, deleted=False)

    def _change(self, site: str, staff_id: str, name: str | None, *, deleted: bool) -> int:
        self._execute(
            'INSERT INTO gallery_sites ("site", "version") VALUES (?, 0) '
            'ON CONFLICT ("site") DO NOTHING',
            [site],
        )
        # The row lock serialises instances changing one site: versions never repeat.
        (version,) = self._execute(
            'UPDATE gallery_sites SET "version" = "version" + 1 WHERE "site" = ? '
            'RETURNING "version"',
            [site],
        ).fetchone()
        self._execute(
            'INSERT INTO gallery_changes ("site", "staff_id", "name", "version", "deleted") '
            'VALUES (?, ?, ?, ?, ?) ON CONFLICT ("site", "staff_id") DO UPDATE SET '
            '"name" = COALESCE(excluded."name", gallery_changes."name"), '
            '"version" = excluded."version", "deleted" = excluded."deleted"',
            [site, staff_id, name, version, int(deleted)],
        )
        return int(version)

    def templates(self, staff_id: str | None = None) -> list[StoredTemplate]:
        where, params = ('WHERE "staff_id" = ?', [staff_id]) if staff_id else ("", [])
        rows = self._rows(
            'SELECT "staff_id", "kind", "model", "template", "enrolled_at", "source" '
            f'FROM templates {where} ORDER BY "staff_id", "n"',
            params,
        )
        return [StoredTemplate(s, k, m, bytes(d), datetime.fromisoformat(e), src)
                for s, k, m, d, e, src in rows]  # fmt: skip

    def gallery_version(self, site: str) -> int:
        found = self._rows('SELECT "version" FROM gallery_sites WHERE "site" = ?', [site])
        return int(found[0][0]) if found else 0

    def gallery_changes(self, site: str, since: int = 0) -> list[GalleryEntry]:
        """The entries of `site` changed after version `since`, in version order."""
        rows = self._rows(
            'SELECT "staff_id", "name", "version", "deleted" FROM gallery_changes '
            'WHERE "site" = ? AND "version" > ? ORDER BY "version"',
            [site, since],
        )
        return [GalleryEntry(site, s, n, int(v), bool(d)) for s, n, v, d in rows]

    def gallery_sites(self) -> list[str]:
        return [site for (site,) in self._rows('SELECT "site" FROM gallery_sites ORDER BY "site"')]

    # -- devices -----------------------------------------------------------------------
    def device_galleries(self, site: str | None = None) -> list[DeviceGallery]:
        where, params = ('WHERE "site" = ?', [site]) if site else ("", [])
        rows = self._rows(
            f"SELECT {', '.join(_DEVICE_COLUMNS)} FROM device_gallery {where} "
            'ORDER BY "site", "device"',
            params,
        )
        return [_device_gallery(row) for row in rows]

    def device_gallery(self, site: str, device: str) -> DeviceGallery:
        rows = self._rows(
            f"SELECT {', '.join(_DEVICE_COLUMNS)} FROM device_gallery "
            'WHERE "site" = ? AND "device" = ?',
            [site, device],
        )
        return _device_gallery(rows[0]) if rows else DeviceGallery(site, device)

    def gallery_sent(self, site: str, device: str, version: int, at: datetime) -> None:
        """An update bringing the device to `version` was sent (or the timetable alone)."""
        with self._transaction():
            self._execute(
                'INSERT INTO device_gallery ("site", "device", "applied_version", '
                '"sent_version", "sent_at", "attempts") VALUES (?, ?, 0, ?, ?, 1) '
                'ON CONFLICT ("site", "device") DO UPDATE SET '
                '"sent_version" = excluded."sent_version", "sent_at" = excluded."sent_at", '
                '"attempts" = device_gallery."attempts" + 1',
                [site, device, version, at.isoformat()],
            )

    def gallery_acked(
        self, site: str, device: str, applied: int, error: str | None, at: datetime
    ) -> None:
        """The device's ack: its gallery is at `applied`; `error`, why it refused."""
        with self._transaction():
            self._execute(
                'INSERT INTO device_gallery ("site", "device", "applied_version", '
                '"sent_version", "attempts", "last_error", "acked_at") '
                "VALUES (?, ?, ?, 0, 0, ?, ?) "
                'ON CONFLICT ("site", "device") DO UPDATE SET '
                '"applied_version" = excluded."applied_version", '
                '"attempts" = CASE WHEN excluded."last_error" IS NULL THEN 0 '
                'ELSE device_gallery."attempts" END, '
                '"last_error" = excluded."last_error", "acked_at" = excluded."acked_at"',
                [site, device, applied, error, at.isoformat()],
            )


def _device_gallery(row: tuple) -> DeviceGallery:
    values = dict(zip(_DEVICE_COLUMNS, row, strict=True))
    values["sent_at"], values["acked_at"] = _time(values["sent_at"]), _time(values["acked_at"])
    return DeviceGallery(**values)


def erasures_pending(entries: Sequence[GalleryEntry], applied: int) -> list[str]:
    """Who is deleted centrally but not yet on a device whose gallery is at `applied`."""
    return sorted(e.staff_id for e in entries if e.deleted and e.version > applied)
