"""The staff gallery: templates in a private SQLite file, searched as one in-memory matrix.

Each person has several templates (one per enrolment image or capture). A search scores
every template with one matrix-vector product and keeps each person's best template,
so the runner-up is the second *person*, not a second photo of the same one. With
`combine` (the pipeline's `[face] combine_templates`, on by default), each person's
templates are first combined into one (`combine_templates`): the rows stay as enrolled,
only the in-memory matrix changes, so photos added later join the mean.
"""

from __future__ import annotations

import bisect
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from base.errors import HallwatchError
from base.migrations import Migration, migrate, sqlite_database
from base.private_files import connect_private
from models.manifest import RecognizerSpec

# Version 1: the gallery as the first versioned release made it (and any before).
MIGRATIONS = (
    Migration(
        1,
        "staff and their face templates, one recogniser model",
        [
            """CREATE TABLE IF NOT EXISTS staff (
                staff_id   TEXT PRIMARY KEY,
                name       TEXT NOT NULL,
                enrolled_at TEXT NOT NULL
            )""",
            """CREATE TABLE IF NOT EXISTS templates (
                id         INTEGER PRIMARY KEY,
                staff_id   TEXT NOT NULL REFERENCES staff(staff_id) ON DELETE CASCADE,
                model      TEXT NOT NULL,
                embedding  BLOB NOT NULL,
                source     TEXT NOT NULL,
                face_image BLOB,
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS templates_staff ON templates(staff_id)",
        ],
    ),
    Migration(
        2,
        "people who need a second factor (a lookalike pair the centre flagged)",
        [
            """CREATE TABLE IF NOT EXISTS second_factor (
                staff_id   TEXT PRIMARY KEY REFERENCES staff(staff_id) ON DELETE CASCADE
            )""",
        ],
    ),
)


# A template whose cosine to the median direction of its person's templates is below
# this is not averaged in (outlier rejection). Shared photos, people with 3 or more:
# no own photo scores under 0.62; another person's photo slipped into them at most 0.50.
OUTLIER_COSINE = 0.55


def combine_templates(vectors: np.ndarray) -> np.ndarray:
    """One unit template from a person's unit rows: the mean of those that agree with
    the median direction (at least `OUTLIER_COSINE`), renormalised. Two rows cannot
    outvote each other, so only three or more are filtered; never all are dropped.
    Measured in docs/face.md (`models eval --embeddings`)."""
    if len(vectors) >= 3:
        median = np.median(vectors, axis=0)
        agree = vectors @ (median / max(float(np.linalg.norm(median)), 1e-12))
        if (agree >= OUTLIER_COSINE).any():
            vectors = vectors[agree >= OUTLIER_COSINE]
    mean = vectors.mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


class GalleryError(HallwatchError, ValueError):
    """A gallery operation refused, with the reason."""


@dataclass(frozen=True)
class Template:
    embedding: np.ndarray  # unit-length float32
    source: str  # photo path or "camera"; never the image itself
    face_image: bytes | None = None  # an encoded aligned crop, only when configured


@dataclass(frozen=True)
class SearchResult:
    staff_id: str | None
    score: float  # best template cosine of the best person (-1 when the gallery is empty)
    runner_up_id: str | None
    runner_up_score: float

    @property
    def margin(self) -> float:
        return self.score - self.runner_up_score


@dataclass(frozen=True)
class GalleryChange:
    """One operation of a central gallery update (the device `config` topic)."""

    op: str  # "enrol" | "reenrol" | "delete"
    staff_id: str
    name: str | None = None
    embeddings: tuple[np.ndarray, ...] = ()
    second_factor: bool = False  # a lookalike not yet decided: confirm every face match


@dataclass(frozen=True)
class Person:
    staff_id: str
    name: str
    templates: int
    enrolled_at: datetime


@dataclass(frozen=True)
class _Index:
    """The in-memory gallery: one matrix, rows grouped by person."""

    matrix: np.ndarray  # (templates, dimensions) float32, unit rows; one a person combined
    stored: int  # templates in the file
    people: list[str]  # sorted staff ids
    starts: np.ndarray | None  # first row of each person; None when empty
    second_factor: frozenset[str] = frozenset()  # people whose face match needs a factor

    def scores(self, embedding: np.ndarray) -> np.ndarray | None:
        """Each person's best template cosine, in `people` order."""
        if self.starts is None:
            return None
        # einsum, not `@`: OpenBLAS spreads this gemv over threads, and on a busy device
        # waiting for a preempted thread made it 5-10x slower (bench/bench_face.py).
        scores = np.einsum("ij,j->i", self.matrix, embedding.astype(np.float32))
        return np.maximum.reduceat(scores, self.starts)


class Gallery:
    """Enrol, re-enrol, delete and search staff, for one recogniser model."""

    def __init__(
        self, path: str | Path, model: str, dimensions: int, *, combine: bool = False
    ) -> None:
        self.path = Path(path)
        self.model = model
        self.dimensions = dimensions
        self.combine = combine
        try:
            self._db = connect_private(self.path)
            self._db.execute("PRAGMA foreign_keys=ON")
            migrate(sqlite_database(self._db, f"the face gallery {self.path}"), MIGRATIONS)
        except (sqlite3.Error, OSError) as exc:
            raise GalleryError(f"cannot open the gallery {self.path}: {exc}") from None
        foreign = self._db.execute(
            "SELECT count(*) FROM templates WHERE model != ?", (model,)
        ).fetchone()[0]
        if foreign:
            raise GalleryError(
                f"{self.path}: {foreign} templates were made by another recogniser model; "
                "embeddings of different models cannot be compared. Re-enrol everyone with "
                "the current pack, or switch back to the pack the gallery was made with."
            )
        self._load()

    @classmethod
    def for_recognizer(
        cls, path: str | Path, recognizer: RecognizerSpec, *, combine: bool = False
    ) -> Gallery:
        """A gallery tied to a recogniser: its sha256 names the embedding space."""
        return cls(path, recognizer.sha256, recognizer.embedding_size, combine=combine)

    def close(self) -> None:
        self._db.close()

    def _load(self) -> None:
        rows = self._db.execute(
            "SELECT staff_id, embedding FROM templates ORDER BY staff_id, id"
        ).fetchall()
        blobs = b"".join(blob for _, blob in rows)
        if len(blobs) != len(rows) * self.dimensions * 4:
            raise GalleryError(
                f"{self.path}: stored templates are not {self.dimensions}-value float32 "
                "vectors (damaged file?); restore a backup or re-enrol"
            )
        matrix = np.frombuffer(blobs, dtype=np.float32).reshape(len(rows), self.dimensions)
        owners = np.array([staff_id for staff_id, _ in rows])
        # Templates are sorted by owner: each person is one contiguous run of rows.
        people = sorted(set(owners.tolist()))
        starts = np.searchsorted(owners, people) if rows else None
        if self.combine and starts is not None:
            matrix = np.stack([combine_templates(rows) for rows in np.split(matrix, starts[1:])])
            starts = np.arange(len(people))
        flagged = frozenset(r[0] for r in self._db.execute("SELECT staff_id FROM second_factor"))
        # One assignment: a search running in another thread sees the old or the new
        # gallery, never half of each.
        self._index = _Index(matrix, len(rows), people, starts, flagged)

    def __len__(self) -> int:
        return len(self._index.people)

    def needs_second_factor(self, staff_id: str) -> bool:
        """A lookalike pair of theirs is open centrally: a face match to them, however
        high, is confirmed by a second factor."""
        return staff_id in self._index.second_factor

    @property
    def template_count(self) -> int:
        return self._index.stored

    def search(self, embedding: np.ndarray) -> SearchResult:
        """The best and second-best person for a unit-length embedding."""
        index = self._index
        per_person = index.scores(embedding)
        if per_person is None:
            return SearchResult(None, -1.0, None, -1.0)
        if len(per_person) == 1:
            return SearchResult(index.people[0], float(per_person[0]), None, -1.0)
        runner, best = np.argpartition(per_person, -2)[-2:]
        return SearchResult(
            index.people[best],
            float(per_person[best]),
            index.people[runner],
            float(per_person[runner]),
        )

    def score_for(self, staff_id: str, embedding: np.ndarray) -> float | None:
        """1:1: the best cosine of `embedding` against `staff_id`'s own templates; None
        if they have none here."""
        index = self._index
        row = bisect.bisect_left(index.people, staff_id)
        if row == len(index.people) or index.people[row] != staff_id:
            return None
        per_person = index.scores(embedding)
        assert per_person is not None
        return float(per_person[row])

    def pair_scores(self) -> tuple[list[tuple[str, str]], np.ndarray]:
        """Every pair of different people (in staff id order) and the best cosine between
        a template of one and a template of the other: how a search would score one of
        them against the other (the gallery's impostor distribution)."""
        index = self._index
        if index.starts is None or len(index.people) < 2:
            return [], np.zeros(0, np.float32)
        scores = index.matrix @ index.matrix.T
        best = np.maximum.reduceat(
            np.maximum.reduceat(scores, index.starts, axis=0), index.starts, axis=1
        )
        rows, cols = np.triu_indices(len(index.people), k=1)
        pairs = [(index.people[r], index.people[c]) for r, c in zip(rows, cols, strict=True)]
        return pairs, best[rows, cols]

    def people(self) -> list[Person]:
        rows = self._db.execute(
            "SELECT s.staff_id, s.name, count(t.id), s.enrolled_at FROM staff s "
            "LEFT JOIN templates t USING (staff_id) GROUP BY s.staff_id ORDER BY s.staff_id"
        ).fetchall()
        return [Person(r[0], r[1], r[2], datetime.fromisoformat(r[3])) for r in rows]

    def enrol(
        self,
        staff_id: str,
        name: str,
        templates: list[Template],
        duplicate_threshold: float,
        *,
        replace: bool = False,
    ) -> int:
        """Add templates for a person (replacing theirs if `replace`); returns their count.

        Refuses, changing nothing, a face that already matches *another* person at
        `duplicate_threshold` or more: one face, one staff record.
        """
        if not staff_id.strip():
            raise GalleryError("a staff id is required")
        if not templates:
            raise GalleryError(f"no usable face for {staff_id}: nothing enrolled")
        for template in templates:
            if template.embedding.shape != (self.dimensions,):
                raise GalleryError(
                    f"template has {template.embedding.shape} values, "
                    f"the gallery model makes {self.dimensions}"
                )
            clash = self._best_other(template.embedding, staff_id)
            if clash is not None and clash[1] >= duplicate_threshold:
                raise GalleryError(
                    f"refused: the face from {template.source} already matches {clash[0]} "
                    f"(score {clash[1]:.2f}); one person cannot hold two staff records. "
                    f"If {clash[0]} was enrolled by mistake, delete that record first."
                )
        now = datetime.now(UTC).isoformat()
        with _transaction(self._db):
            self._db.execute(
                "INSERT INTO staff(staff_id, name, enrolled_at) VALUES (?, ?, ?) "
                "ON CONFLICT(staff_id) DO UPDATE SET name = excluded.name",
                (staff_id, name, now),
            )
            if replace:
                self._db.execute("DELETE FROM templates WHERE staff_id = ?", (staff_id,))
            self._db.executemany(
                "INSERT INTO templates(staff_id, model, embedding, source, face_image, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        staff_id,
                        self.model,
                        t.embedding.astype(np.float32).tobytes(),
                        t.source,
                        t.face_image,
                        now,
                    )
                    for t in templates
                ],
            )
        self._load()
        return self._db.execute(
            "SELECT count(*) FROM templates WHERE staff_id = ?", (staff_id,)
        ).fetchone()[0]

    def import_templates(self, rows: Iterable[tuple[str, str, np.ndarray, str]]) -> None:
        """Bulk-load trusted (staff_id, name, embedding, source) rows in one transaction.

        For galleries built elsewhere (another device, a central sync): no duplicate
        check, which would cost a search per row.
        """
        now = datetime.now(UTC).isoformat()
        with _transaction(self._db):
            for staff_id, name, embedding, source in rows:
                if embedding.shape != (self.dimensions,):
                    raise GalleryError(
                        f"{staff_id}: embedding has {embedding.shape} values, "
                        f"the gallery model makes {self.dimensions}"
                    )
                self._db.execute(
                    "INSERT INTO staff(staff_id, name, enrolled_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(staff_id) DO NOTHING",
                    (staff_id, name, now),
                )
                self._db.execute(
                    "INSERT INTO templates(staff_id, model, embedding, source, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (staff_id, self.model, embedding.astype(np.float32).tobytes(), source, now),
                )
        self._load()

    def apply_sync(self, changes: Iterable[GalleryChange]) -> None:
        """Apply a central gallery update all at once: every change, or none of them.

        Centrally managed templates are trusted (no duplicate check); a delete of someone
        not here is already done.
        """
        now = datetime.now(UTC).isoformat()
        with _transaction(self._db):
            for change in changes:
                if change.op == "delete":
                    self._db.execute("DELETE FROM staff WHERE staff_id = ?", (change.staff_id,))
                    continue
                for embedding in change.embeddings:
                    if embedding.shape != (self.dimensions,):
                        raise GalleryError(
                            f"{change.staff_id}: a template has {embedding.size} values, "
                            f"the gallery model makes {self.dimensions}"
                        )
                self._db.execute(
                    "INSERT INTO staff(staff_id, name, enrolled_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(staff_id) DO UPDATE SET name = excluded.name",
                    (change.staff_id, change.name or change.staff_id, now),
                )
                if change.op == "reenrol":
                    self._db.execute("DELETE FROM templates WHERE staff_id = ?", (change.staff_id,))
                if change.second_factor:
                    self._db.execute(
                        "INSERT OR IGNORE INTO second_factor(staff_id) VALUES (?)",
                        (change.staff_id,),
                    )
                elif change.op == "reenrol":
                    self._db.execute(
                        "DELETE FROM second_factor WHERE staff_id = ?", (change.staff_id,)
                    )
                self._db.executemany(
                    "INSERT INTO templates(staff_id, model, embedding, source, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [
                        (
                            change.staff_id,
                            self.model,
                            e.astype(np.float32).tobytes(),
                            "central",
                            now,
                        )
                        for e in change.embeddings
                    ],
                )
        self._load()

    def delete(self, staff_id: str) -> None:
        """Remove a person and every template (and stored image) of theirs."""
        with _transaction(self._db):
            deleted = self._db.execute("DELETE FROM staff WHERE staff_id = ?", (staff_id,))
            if deleted.rowcount == 0:
                raise GalleryError(f"no staff member '{staff_id}' in {self.path}")
        self._load()

    def _best_other(self, embedding: np.ndarray, staff_id: str) -> tuple[str, float] | None:
        index = self._index
        per_person = index.scores(embedding)
        if per_person is None:
            return None
        others = [
            (p, float(s)) for p, s in zip(index.people, per_person, strict=True) if p != staff_id
        ]
        return max(others, key=lambda pair: pair[1]) if others else None


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (the connection is autocommit)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")
