"""Merging answers recorded elsewhere (reader packages, CSV/XLSX files) into a workspace's votes.

Merging is idempotent and never overwrites: an answer equal to the stored one (same entity, scale,
vote and confidence) is left alone; a different one is reported as a conflict and the stored answer
stays; a new one is inserted with the given ``origin``. All inserts of one merge run in a single
transaction
(callers may wrap several merges and their audit line in one outer transaction).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dermstudy.reading.answers import Answer
from dermstudy.reading.workspace_store import answer_from_row, get_or_create_session, study_cases
from dermstudy.workspace import Workspace, now_iso


@dataclass(frozen=True)
class IncomingAnswer:
    code: str
    answer: Answer
    answered_at: str | None = None
    source: str = ""  # where it came from, for messages (e.g. 'line 7')


@dataclass
class MergeResult:
    reader: str
    inserted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "reader": self.reader,
            "inserted": len(self.inserted),
            "unchanged": len(self.unchanged),
            "conflicts": self.conflicts,
        }


def merge_answers(
    ws: Workspace,
    study: dict[str, Any],
    reader: str,
    incoming: list[IncomingAnswer],
    origin: str,
    *,
    started_at: str | None = None,
    finished_at: str | None = None,
) -> MergeResult:
    """Merge one reader's answers into ``study`` (a dict from ``study.queries.find_study``).

    Case codes must belong to the study (callers check this first and report unknown codes).
    ``finished_at`` marks the session finished when given and there were no conflicts.
    """
    base, case_ids = study_cases(ws, study["id"])
    session_id, _order = get_or_create_session(
        ws, study["id"], study["settings"], base, reader, started_at
    )
    stored = {
        code: answer_from_row(rest)
        for code, *rest in ws.conn.execute(
            "SELECT c.code, v.entity, v.ai_scale, v.ai_vote, v.entity_confidence, v.seconds "
            "FROM votes v JOIN cases c ON c.id = v.case_id WHERE v.session_id = ?",
            (session_id,),
        )
    }
    result = MergeResult(reader)
    rows = []
    for item in incoming:
        existing = stored.get(item.code)
        if existing is None:
            rows.append(_vote_row(session_id, case_ids[item.code], item, origin))
            stored[item.code] = item.answer
            result.inserted.append(item.code)
        elif item.answer.same_choice(existing):
            result.unchanged.append(item.code)
        else:
            result.conflicts.append(
                {
                    "case": item.code,
                    "where": item.source,
                    "stored": existing.to_dict(),
                    "incoming": item.answer.to_dict(),
                }
            )
    with ws.transaction():
        ws.conn.executemany(
            "INSERT INTO votes (session_id, case_id, entity, ai_scale, ai_vote, entity_confidence, "
            "seconds, answered_at, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        if finished_at and not result.conflicts and len(stored) == len(base):
            ws.conn.execute(
                "UPDATE sessions SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
                (finished_at, session_id),
            )
    return result


def _vote_row(session_id: int, case_id: int, item: IncomingAnswer, origin: str) -> tuple:
    a = item.answer
    return (
        session_id,
        case_id,
        a.entity,
        a.ai_scale,
        a.ai_vote,
        a.entity_confidence,
        a.seconds,
        item.answered_at or now_iso(),
        origin,
    )
