"""Repository for studies and their cases: finding a study, the list, reader progress, the key.

``find_study`` and ``list_studies`` live here once; ``study``, ``reading``, ``analysis``, the
classifier and the UI call them instead of writing their own queries. A study that does not exist
raises :class:`UnknownStudyError` naming the studies the workspace has; a package that needs its own
error class (``ReadingError`` for the reader window) converts it at its boundary.

The key (``key_rows``) reveals ground truth: coordinator views only, never the reader window.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from dermstudy.errors import DermstudyError
from dermstudy.workspace.repository import Repository

if TYPE_CHECKING:
    from dermstudy.workspace.core import Workspace


class UnknownStudyError(DermstudyError, ValueError):
    """No study of that name (or id) in the workspace; the message lists the known ones."""


@dataclass(frozen=True)
class StudyRecord:
    """One row of ``studies`` with its settings parsed (``{"raw": text}`` if they are not JSON)."""

    id: int
    name: str
    seed: int
    settings: dict[str, Any]
    created_at: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StudyListing:
    """A study in the list: scored and practice cases, readers with a session, finished ones."""

    id: int
    name: str
    created_at: str
    cases: int
    practice_cases: int
    readers: int
    finished_readers: int


@dataclass(frozen=True)
class ReaderProgress:
    reader: str
    started_at: str
    finished_at: str | None
    answered: int
    practice_answered: int


@dataclass(frozen=True)
class KeyRow:
    """One case of a study joined with its source image (ground truth)."""

    code: str
    position: int
    practice: bool
    blinded_sha256: str
    image_id: int
    entity: str
    kind: str
    source: str
    source_id: str | None
    lesion_id: str | None
    image_sha256: str
    provenance: dict[str, Any]


@dataclass(frozen=True)
class BlindedCase:
    """A case as the reading side knows it: no image, no truth."""

    id: int
    code: str
    practice: bool
    blinded_sha256: str


def _parse_settings(text: str | None) -> dict[str, Any]:
    try:
        return json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {"raw": text}


class StudyRepository(Repository):
    # -- creating --------------------------------------------------------------------------------
    def add(
        self,
        name: str,
        seed: int,
        settings: dict[str, Any],
        secret_hex: str,
        cases: Sequence[tuple[int, bool, str]],
        new_code: Callable[[set[str]], str],
        created_at: str,
    ) -> int:
        """Store a study with its secret and frozen cases in one transaction; returns its id.

        ``cases`` are (image id, practice, blinded SHA-256) in base order; ``new_code(taken)`` makes
        a case code not in ``taken`` (every code of the workspace, updated by it). The audit line
        ``study.create`` is written in the same transaction.
        """
        with self.ws.transaction():
            cursor = self.conn.execute(
                "INSERT INTO studies (name, seed, settings, created_at) VALUES (?, ?, ?, ?)",
                (name, seed, json.dumps(settings, sort_keys=True), created_at),
            )
            study_id = int(cursor.lastrowid)
            # The dither secret lives only here: never in settings (which reports and packages show).
            self.conn.execute(
                "INSERT INTO study_secrets (study_id, dither_secret) VALUES (?, ?)",
                (study_id, secret_hex),
            )
            taken = set(self.column("SELECT code FROM cases"))
            self.conn.executemany(
                "INSERT INTO cases (study_id, code, position, image_id, practice, blinded_sha256) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (study_id, new_code(taken), pos, image_id, int(practice), sha)
                    for pos, (image_id, practice, sha) in enumerate(cases)
                ],
            )
            self.ws.audit(
                "study.create",
                name,
                {
                    "study_id": study_id,
                    "seed": seed,
                    "cases": len(cases),
                    "design": settings["design"],
                },
            )
        return study_id

    # -- finding ---------------------------------------------------------------------------------
    def names(self) -> list[str]:
        return self.column("SELECT name FROM studies ORDER BY name")

    def exists(self, name: str) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM studies WHERE name = ?", (name,)).fetchone()
            is not None
        )

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM studies").fetchone()[0])

    def find(self, study: str | int) -> StudyRecord:
        """The study named ``study`` (or, failing that, with that numeric id)."""
        columns = "SELECT id, name, seed, settings, created_at FROM studies"
        row = self.conn.execute(f"{columns} WHERE name = ?", (str(study),)).fetchone()
        if row is None and str(study).isdigit():
            row = self.conn.execute(f"{columns} WHERE id = ?", (int(study),)).fetchone()
        if row is None:
            names = self.names()
            known = f"(studies: {', '.join(names)})" if names else "(this workspace has no studies)"
            raise UnknownStudyError(f"no study named {str(study)!r} in {self.ws.root} {known}")
        return StudyRecord(row[0], row[1], row[2], _parse_settings(row[3]), row[4])

    def listing(self) -> list[StudyListing]:
        rows = self.conn.execute(
            """
            SELECT s.id, s.name, s.created_at,
               (SELECT COUNT(*) FROM cases c WHERE c.study_id = s.id AND c.practice = 0),
               (SELECT COUNT(*) FROM cases c WHERE c.study_id = s.id AND c.practice = 1),
               (SELECT COUNT(*) FROM sessions x WHERE x.study_id = s.id),
               (SELECT COUNT(*) FROM sessions x WHERE x.study_id = s.id AND x.finished_at IS NOT NULL)
            FROM studies s ORDER BY s.created_at, s.id
            """
        ).fetchall()
        return [StudyListing(*row) for row in rows]

    # -- readers ---------------------------------------------------------------------------------
    def reader_names(self, study_id: int) -> list[str]:
        """Names of the readers with a session in the study, in session order."""
        return self.column(
            "SELECT r.name FROM sessions se JOIN readers r ON r.id = se.reader_id "
            "WHERE se.study_id = ? ORDER BY se.id",
            (study_id,),
        )

    def reader_progress(self, study_id: int) -> list[ReaderProgress]:
        rows = self.conn.execute(
            """
            SELECT r.name, s.started_at, s.finished_at,
                   SUM(CASE WHEN c.practice = 0 THEN 1 ELSE 0 END),
                   SUM(CASE WHEN c.practice = 1 THEN 1 ELSE 0 END)
            FROM sessions s JOIN readers r ON r.id = s.reader_id
            LEFT JOIN votes v ON v.session_id = s.id LEFT JOIN cases c ON c.id = v.case_id
            WHERE s.study_id = ? GROUP BY s.id ORDER BY r.name
            """,
            (study_id,),
        ).fetchall()
        return [
            ReaderProgress(name, started, finished, int(scored or 0), int(practice or 0))
            for name, started, finished, scored, practice in rows
        ]

    # -- cases -----------------------------------------------------------------------------------
    def scored_counts(self, study_id: int) -> list[tuple[str, str, int]]:
        """(entity, kind, number of scored cases) for the study."""
        return [
            (entity, kind, int(n))
            for entity, kind, n in self.conn.execute(
                "SELECT i.entity, i.kind, COUNT(*) FROM cases c JOIN images i ON i.id = c.image_id "
                "WHERE c.study_id = ? AND c.practice = 0 GROUP BY i.entity, i.kind",
                (study_id,),
            )
        ]

    def cases(self, study_id: int) -> list[BlindedCase]:
        """The study's cases in base order: practice cases first, then by position."""
        rows = self.conn.execute(
            "SELECT id, code, practice, blinded_sha256 FROM cases WHERE study_id = ? "
            "ORDER BY practice DESC, position",
            (study_id,),
        ).fetchall()
        return [BlindedCase(int(i), code, bool(p), sha) for i, code, p, sha in rows]

    def scored_case_ids(self, study_id: int) -> dict[str, int]:
        """Case code -> cases.id of the study's scored (non-practice) cases."""
        return dict(
            self.conn.execute(
                "SELECT code, id FROM cases WHERE study_id = ? AND practice = 0", (study_id,)
            ).fetchall()
        )

    def case_codes(self, study_id: int) -> list[str]:
        return [
            r[0]
            for r in self.conn.execute("SELECT code FROM cases WHERE study_id = ?", (study_id,))
        ]

    def blinded_hashes(self, study_id: int) -> dict[str, str]:
        """Case code -> SHA-256 of the blinded case image."""
        return dict(
            self.conn.execute(
                "SELECT code, blinded_sha256 FROM cases WHERE study_id = ?", (study_id,)
            )
        )

    def key_rows(self, study_id: int) -> list[KeyRow]:
        """Every case in base order with its image: the answer key (ground truth)."""
        rows = self.conn.execute(
            """
            SELECT c.code, c.position, c.practice, c.blinded_sha256, i.id, i.entity, i.kind,
                   i.source, i.source_id, i.lesion_id, i.sha256, i.provenance
            FROM cases c JOIN images i ON i.id = c.image_id
            WHERE c.study_id = ? ORDER BY c.position
            """,
            (study_id,),
        ).fetchall()
        return [
            KeyRow(*row[:2], bool(row[2]), *row[3:11], json.loads(row[11] or "{}")) for row in rows
        ]

    # -- deleting --------------------------------------------------------------------------------
    def vote_count(self, study_id: int) -> int:
        return int(
            self.conn.execute(
                "SELECT COUNT(*) FROM votes JOIN sessions ON sessions.id = votes.session_id "
                "WHERE sessions.study_id = ?",
                (study_id,),
            ).fetchone()[0]
        )

    def exported_since(self, name: str, since: str) -> int:
        """How many times the study was exported as a reader package since ``since``."""
        return int(
            self.conn.execute(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'study.export-package' "
                "AND subject = ? AND at >= ?",
                (name, since),
            ).fetchone()[0]
        )

    def delete_rows(self, study_id: int) -> dict[str, int]:
        """Delete the study and everything hanging off it; call inside a transaction."""
        return {
            table: self.conn.execute(sql, (study_id,)).rowcount
            for table, sql in (
                (
                    "predictions",
                    "DELETE FROM predictions WHERE case_id IN "
                    "(SELECT id FROM cases WHERE study_id = ?)",
                ),
                ("sessions", "DELETE FROM sessions WHERE study_id = ?"),
                ("secrets", "DELETE FROM study_secrets WHERE study_id = ?"),
                ("cases", "DELETE FROM cases WHERE study_id = ?"),
                ("studies", "DELETE FROM studies WHERE id = ?"),
            )
        }


def find_study(ws: Workspace, study: str | int) -> dict[str, Any]:
    """The study named ``study`` (or with that numeric id) as a dict; UnknownStudyError if absent."""
    return StudyRepository(ws).find(study).as_dict()


def list_studies(ws: Workspace) -> list[dict[str, Any]]:
    """Every study with its scored and practice cases, readers and finished readers."""
    return [asdict(s) for s in StudyRepository(ws).listing()]
