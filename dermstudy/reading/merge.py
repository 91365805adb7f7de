"""Merging answers recorded elsewhere (reader packages, CSV/XLSX files) into a workspace's votes.

Every vote is written through :class:`~dermstudy.workspace.votes.VoteRepository`, which applies the
study's reading rules. Merging is idempotent:

* an answer equal to the stored one (same entity, scale, vote and confidence) is left alone;
* a new one is inserted with the given ``origin``;
* a *correction* — a different answer from the same reader, from the same kind of source (the same
  reader package's answers file), recorded later than the stored one, in a study that lets readers go
  back — replaces the stored answer; the old one stays in the audit log (``vote.change``);
* an older answer from that source than the stored one is *superseded* and left alone;
* anything else that differs (two different sources, e.g. the reader window and a package, or a
  typed-in file) is a *conflict*: reported, and the stored answer stays.

A finished remote session is marked finished once the workspace holds an answer for every case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dermstudy.reading.answers import Answer, ReadingSettings
from dermstudy.reading.workspace_store import get_or_create_session, study_cases
from dermstudy.workspace import Workspace, now_iso
from dermstudy.workspace.votes import CHANGED, INSERTED, UNCHANGED, VoteRepository

# Sources whose answers carry the reader's own answer time, so a later one is a correction.
TIMED_ORIGINS = ("package",)


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
    corrected: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    finished: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "reader": self.reader,
            "inserted": len(self.inserted),
            "unchanged": len(self.unchanged),
            "corrected": len(self.corrected),
            "superseded": len(self.superseded),
            "conflicts": self.conflicts,
            "finished": self.finished,
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
    ``finished_at`` marks the session finished when given and every case has an answer.
    Raises the rules' error (InvalidAnswerError) and writes nothing when an answer breaks them.
    """
    rules = ReadingSettings.from_dict(study["settings"].get("reading", {}))
    repo = VoteRepository(ws)
    result = MergeResult(reader)
    with ws.transaction():
        base, case_ids = study_cases(ws, study["id"])
        session_id, _order = get_or_create_session(
            ws, study["id"], study["settings"], base, reader, started_at
        )
        stored = repo.session_votes(session_id)
        for item in incoming:
            existing = stored.get(item.code)
            kind = _classify(existing, item, origin, rules)
            if kind == "conflict":
                result.conflicts.append(
                    {
                        "case": item.code,
                        "where": item.source,
                        "stored": existing.to_dict() if existing else {},
                        "incoming": item.answer.to_dict(),
                    }
                )
                continue
            if kind == "superseded":
                result.superseded.append(item.code)
                continue
            outcome = repo.write(
                session_id,
                case_ids[item.code],
                item.code,
                item.answer,
                rules,
                origin=origin,
                answered_at=item.answered_at or now_iso(),
                actor=reader,
                previous=existing,
                history={"merged_from": item.source} if existing else None,
            )
            {INSERTED: result.inserted, CHANGED: result.corrected}.get(
                outcome, result.unchanged
            ).append(item.code)
            if outcome != UNCHANGED:
                stored = repo.session_votes(session_id)
        if finished_at and len(stored) == len(base):
            result.finished = repo.finish_session(session_id, finished_at, reader)
    return result


def _classify(existing: Any, item: IncomingAnswer, origin: str, rules: ReadingSettings) -> str:
    """'write' (new, equal or a correction), 'superseded' or 'conflict' for one incoming answer."""
    if existing is None or existing.choice() == (
        item.answer.entity,
        item.answer.ai_scale,
        item.answer.ai_vote,
        item.answer.entity_confidence,
    ):
        return "write"
    same_source = existing.origin == origin and origin in TIMED_ORIGINS and item.answered_at
    if not same_source or not rules.allow_back:
        return "conflict"
    return "write" if item.answered_at > existing.answered_at else "superseded"
