"""Reading straight from a workspace: cases from ``cases``, answers into ``votes`` (one row per case).

Tables used (their meaning is shared with analysis): ``readers`` (one row per reader name),
``sessions`` (one per study and reader; ``case_order`` is the JSON list of case codes in this reader's
order, practice cases first; ``finished_at`` set by finish), ``votes`` (one row per session and case;
``origin`` 'reader-window'). Votes are written only through
:class:`~dermstudy.workspace.votes.VoteRepository` (the study's rules checked; a changed answer is
upserted and the previous one goes to ``audit_log`` as ``vote.change`` in the same transaction).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from dermstudy.reading.answers import Answer, ReadingSettings
from dermstudy.reading.session import CaseRef, ReadingError, case_order_for
from dermstudy.workspace import Workspace, WorkspaceError, now_iso
from dermstudy.workspace.core import sha256_bytes
from dermstudy.workspace.votes import VoteRepository, VoteRuleError, check_reader_name

ORIGIN_READER_WINDOW = "reader-window"


def load_study_row(ws: Workspace, study: str) -> sqlite3.Row | tuple:
    row = ws.conn.execute(
        "SELECT id, name, settings FROM studies WHERE name = ?", (study,)
    ).fetchone()
    if row is None:
        names = [r[0] for r in ws.conn.execute("SELECT name FROM studies ORDER BY name")]
        known = f" (studies: {', '.join(names)})" if names else " (this workspace has no studies)"
        raise ReadingError(f"no study named {study!r} in {ws.root}{known}")
    return row


def get_or_create_reader(ws: Workspace, name: str) -> int:
    """The id of reader ``name``, creating the row (and an audit line) on first use."""
    row = ws.conn.execute("SELECT id FROM readers WHERE name = ?", (name,)).fetchone()
    if row:
        return int(row[0])
    try:
        check_reader_name(name)
    except VoteRuleError as exc:
        raise ReadingError(str(exc)) from None
    with ws.transaction():
        cursor = ws.conn.execute(
            "INSERT INTO readers (name, created_at) VALUES (?, ?)", (name, now_iso())
        )
        ws.audit("reader.create", name)
    return int(cursor.lastrowid)


def study_cases(ws: Workspace, study_id: int) -> tuple[list[CaseRef], dict[str, int]]:
    """The study's cases in base order, and a private map code -> cases.id."""
    rows = ws.conn.execute(
        "SELECT id, code, practice, blinded_sha256 FROM cases WHERE study_id = ? "
        "ORDER BY practice DESC, position",
        (study_id,),
    ).fetchall()
    refs = [CaseRef(code, bool(practice), sha) for _id, code, practice, sha in rows]
    return refs, {code: int(case_id) for case_id, code, _p, _s in rows}


def get_or_create_session(
    ws: Workspace,
    study_id: int,
    study_settings: dict,
    cases: list[CaseRef],
    reader: str,
    started_at: str | None = None,
) -> tuple[int, list[str]]:
    """The reader's session id and stored case order (creating the session on first open)."""
    reader_id = get_or_create_reader(ws, reader)
    row = ws.conn.execute(
        "SELECT id, case_order FROM sessions WHERE study_id = ? AND reader_id = ?",
        (study_id, reader_id),
    ).fetchone()
    if row:
        return int(row[0]), list(json.loads(row[1]))
    reading = ReadingSettings.from_dict(study_settings.get("reading", {}))
    order = [
        c.code
        for c in case_order_for(cases, reading.order, study_settings.get("order_key", ""), reader)
    ]
    with ws.transaction():
        cursor = ws.conn.execute(
            "INSERT INTO sessions (study_id, reader_id, case_order, started_at) VALUES (?, ?, ?, ?)",
            (study_id, reader_id, json.dumps(order), started_at or now_iso()),
        )
        ws.audit("session.start", reader, {"study_id": study_id})
    return int(cursor.lastrowid), order


def answer_from_row(row: tuple) -> Answer:
    entity, ai_scale, ai_vote, confidence, seconds = row
    return Answer(entity, ai_scale, ai_vote, confidence, seconds)


class WorkspaceStore:
    """A reader's session inside a workspace (opens its own connection; close it when done)."""

    def __init__(self, root: str | Path, study: str, reader: str) -> None:
        try:
            self.ws = Workspace.open(root, create=False)
        except WorkspaceError as exc:
            raise ReadingError(str(exc)) from None
        if self.ws.read_only:  # refuse before the first answer, not at it
            reason = self.ws.read_only_reason
            self.ws.close()
            raise ReadingError(f"{root}: answers cannot be saved here: {reason}")
        try:
            self._open(study, reader)
        except BaseException:
            self.ws.close()
            raise

    def _open(self, study: str, reader: str) -> None:
        study_id, name, settings_json = load_study_row(self.ws, study)
        study_settings = json.loads(settings_json)
        self.study_name = name
        self.reader = reader
        self.settings = ReadingSettings.from_dict(study_settings.get("reading", {}))
        base, self._case_ids = study_cases(self.ws, study_id)
        self._session_id, order = get_or_create_session(
            self.ws, study_id, study_settings, base, reader
        )
        by_code = {c.code: c for c in base}
        missing = [code for code in order if code not in by_code]
        if missing or len(order) != len(base):
            raise ReadingError(
                f"session of {reader!r} in study {name!r} does not match the study's cases"
            )
        self.cases = [by_code[code] for code in order]
        self.lock_path = self.ws.root / "locks" / f"session-{self._session_id}.lock"

    def read_image(self, case: CaseRef) -> bytes:
        relative = self.ws.relative_blob_path(case.sha256, ".png", "cases")
        path = self.ws.path_of(relative)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ReadingError(f"case image {relative} cannot be read: {exc.strerror}") from None
        if sha256_bytes(data) != case.sha256:
            raise ReadingError(f"case image {relative} is damaged (its SHA-256 does not match)")
        return data

    def load_answers(self) -> dict[str, Answer]:
        rows = self.ws.conn.execute(
            "SELECT c.code, v.entity, v.ai_scale, v.ai_vote, v.entity_confidence, v.seconds "
            "FROM votes v JOIN cases c ON c.id = v.case_id WHERE v.session_id = ?",
            (self._session_id,),
        ).fetchall()
        return {row[0]: answer_from_row(row[1:]) for row in rows}

    def save_answer(self, case: CaseRef, answer: Answer, previous: Answer | None) -> None:
        repo = VoteRepository(self.ws)
        case_id = self._case_ids[case.code]
        repo.write(
            self._session_id,
            case_id,
            case.code,
            answer,
            self.settings,
            origin=ORIGIN_READER_WINDOW,
            answered_at=now_iso(),
            actor=self.reader,
            previous=repo.session_vote(self._session_id, case_id),
        )

    def record_problem(self, case: CaseRef, message: str) -> None:
        with self.ws.transaction():
            self.ws.audit(
                "case.unreadable",
                case.code,
                {"session_id": self._session_id, "message": message},
                actor=self.reader,
            )

    def finished_at(self) -> str | None:
        row = self.ws.conn.execute(
            "SELECT finished_at FROM sessions WHERE id = ?", (self._session_id,)
        ).fetchone()
        return row[0] if row else None

    def mark_finished(self) -> None:
        VoteRepository(self.ws).finish_session(self._session_id, now_iso(), self.reader)

    def close(self) -> None:
        self.ws.close()
