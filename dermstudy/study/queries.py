"""Reading studies back for coordinators: the list, one study's summary, and the answer key.

These functions reveal ground truth (the key) and are for coordinator views only; the reader window
never calls them.
"""

from __future__ import annotations

import json
from typing import Any

from dermstudy.entities import CODES
from dermstudy.study.builder import StudyError, blinding_warnings
from dermstudy.workspace import Workspace


def find_study(ws: Workspace, name: str) -> dict[str, Any]:
    """The study row as a dict (settings parsed); StudyError naming the known studies if absent."""
    row = ws.conn.execute(
        "SELECT id, name, seed, settings, created_at FROM studies WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        names = [r[0] for r in ws.conn.execute("SELECT name FROM studies ORDER BY name")]
        known = (
            f"; studies here: {', '.join(names)}" if names else "; this workspace has no studies"
        )
        raise StudyError(f"no study named {name!r} in {ws.root}{known}")
    study_id, study_name, seed, settings, created = row
    return {
        "id": study_id,
        "name": study_name,
        "seed": seed,
        "settings": json.loads(settings),
        "created_at": created,
    }


def reader_progress(ws: Workspace, study_id: int) -> list[dict[str, Any]]:
    """Per reader: answered scored cases, answered practice cases, started/finished times."""
    rows = ws.conn.execute(
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
        {
            "reader": name,
            "answered": int(scored or 0),
            "practice_answered": int(practice or 0),
            "started_at": started,
            "finished_at": finished,
        }
        for name, started, finished, scored, practice in rows
    ]


def list_studies(ws: Workspace) -> list[dict[str, Any]]:
    rows = ws.conn.execute(
        """
        SELECT s.name, s.created_at,
               (SELECT COUNT(*) FROM cases c WHERE c.study_id = s.id AND c.practice = 0),
               (SELECT COUNT(*) FROM cases c WHERE c.study_id = s.id AND c.practice = 1),
               (SELECT COUNT(*) FROM sessions x WHERE x.study_id = s.id),
               (SELECT COUNT(*) FROM sessions x WHERE x.study_id = s.id AND x.finished_at IS NOT NULL)
        FROM studies s ORDER BY s.created_at, s.name
        """
    ).fetchall()
    return [
        {
            "name": name,
            "created_at": created,
            "cases": cases,
            "practice_cases": practice,
            "readers": readers,
            "finished_readers": finished,
        }
        for name, created, cases, practice, readers, finished in rows
    ]


def study_summary(ws: Workspace, name: str) -> dict[str, Any]:
    """Design, settings, case counts per entity and source, and reader progress."""
    study = find_study(ws, name)
    counts = {code: {"real": 0, "synthetic": 0} for code in CODES}
    for entity, kind, n in ws.conn.execute(
        "SELECT i.entity, i.kind, COUNT(*) FROM cases c JOIN images i ON i.id = c.image_id "
        "WHERE c.study_id = ? AND c.practice = 0 GROUP BY i.entity, i.kind",
        (study["id"],),
    ):
        counts[entity][kind] = n
    settings = study["settings"]
    return {
        "name": study["name"],
        "created_at": study["created_at"],
        "seed": study["seed"],
        "uid": settings.get("uid"),
        "reading": settings.get("reading", {}),
        "design": settings.get("design", {}),
        "blinding": settings.get("blinding", {}),
        "cases": sum(c["real"] + c["synthetic"] for c in counts.values()),
        "practice_cases": settings.get("design", {}).get("practice_cases", 0),
        "counts": {code: c for code, c in counts.items() if c["real"] or c["synthetic"]},
        "readers": reader_progress(ws, study["id"]),
        "warnings": blinding_warnings(settings),
    }


def answer_key(ws: Workspace, name: str) -> list[dict[str, Any]]:
    """One entry per case in base order: case code, entity, source (real|synthetic), provenance."""
    study = find_study(ws, name)
    rows = ws.conn.execute(
        """
        SELECT c.code, c.position, c.practice, c.blinded_sha256, i.id, i.entity, i.kind,
               i.source, i.source_id, i.lesion_id, i.sha256, i.provenance
        FROM cases c JOIN images i ON i.id = c.image_id
        WHERE c.study_id = ? ORDER BY c.position
        """,
        (study["id"],),
    ).fetchall()
    return [
        {
            "case": code,
            "position": position,
            "practice": bool(practice),
            "entity": entity,
            "source": kind,
            "image_id": image_id,
            "image_source": source,
            "source_id": source_id,
            "lesion_id": lesion_id,
            "image_sha256": image_sha,
            "blinded_sha256": blinded,
            "provenance": json.loads(provenance or "{}"),
        }
        for (
            code,
            position,
            practice,
            blinded,
            image_id,
            entity,
            kind,
            source,
            source_id,
            lesion_id,
            image_sha,
            provenance,
        ) in rows
    ]


def delete_study(ws: Workspace, name: str) -> dict[str, Any]:
    """Remove a study that nobody has answered yet (a mistake in the design); returns what went.

    A study with any answer is kept: answers are research data and the audit trail needs their cases.
    Blinded case files stay in the content-addressed store; they are harmless and may be shared.
    """
    study = find_study(ws, name)
    votes = ws.conn.execute(
        "SELECT COUNT(*) FROM votes JOIN sessions ON sessions.id = votes.session_id "
        "WHERE sessions.study_id = ?",
        (study["id"],),
    ).fetchone()[0]
    if votes:
        raise StudyError(f"study {name!r} has {votes} answer(s) and cannot be deleted")
    exported = ws.conn.execute(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'study.export-package' AND subject = ? "
        "AND at >= ?",
        (name, study["created_at"]),
    ).fetchone()[0]
    if exported:
        # Answers from a package already handed out could never be merged into a new study.
        raise StudyError(
            f"study {name!r} has been exported as a reader package and cannot be deleted"
        )
    with ws.transaction():
        counts = {
            table: ws.conn.execute(sql, (study["id"],)).rowcount
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
        ws.audit("study.delete", name, {"study_id": study["id"], "seed": study["seed"], **counts})
    return {"study": name, **counts}
