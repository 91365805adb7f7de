"""Reading straight from a workspace: cases from ``cases``, answers into ``votes`` (one row per case).

Tables used (their meaning is shared with analysis): ``readers`` (one row per reader name),
``sessions`` (one per study and reader; ``case_order`` is the JSON list of case codes in this reader's
order, practice cases first; ``finished_at`` set by finish), ``votes`` (one row per session and case;
``origin`` 'reader-window'). Votes are written only through
:class:`~dermstudy.workspace.votes.VoteRepository` (the study's rules checked; a changed answer is
upserted and the previous one goes to ``audit_log`` as ``vote.change`` in the same transaction).
"""

from __future__ import annotations

from pathlib import Path

from dermstudy.reading.answers import Answer, ReadingSettings
from dermstudy.reading.session import CaseRef, ReadingError, case_order_for
from dermstudy.workspace import Workspace, WorkspaceError, now_iso
from dermstudy.workspace.core import sha256_bytes
from dermstudy.workspace.studies import StudyRecord, StudyRepository, UnknownStudyError
from dermstudy.workspace.votes import (
    SessionRepository,
    StoredVote,
    VoteRepository,
    VoteRuleError,
)

ORIGIN_READER_WINDOW = "reader-window"


def load_study_row(ws: Workspace, study: str) -> StudyRecord:
    try:
        return StudyRepository(ws).find(study)
    except UnknownStudyError as exc:
        raise ReadingError(str(exc)) from None


def get_or_create_reader(ws: Workspace, name: str) -> int:
    """The id of reader ``name``, creating the row (and an audit line) on first use."""
    sessions = SessionRepository(ws)
    found = sessions.reader_id(name)
    if found is not None:
        return found
    try:
        return sessions.add_reader(name, now_iso())
    except VoteRuleError as exc:
        raise ReadingError(str(exc)) from None


def study_cases(ws: Workspace, study_id: int) -> tuple[list[CaseRef], dict[str, int]]:
    """The study's cases in base order, and a private map code -> cases.id."""
    cases = StudyRepository(ws).cases(study_id)
    refs = [CaseRef(c.code, c.practice, c.blinded_sha256) for c in cases]
    return refs, {c.code: c.id for c in cases}


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
    sessions = SessionRepository(ws)
    found = sessions.find(study_id, reader_id)
    if found is not None:
        return found.id, found.case_order
    reading = ReadingSettings.from_dict(study_settings.get("reading", {}))
    order = [
        c.code
        for c in case_order_for(cases, reading.order, study_settings.get("order_key", ""), reader)
    ]
    return sessions.add(study_id, reader_id, reader, order, started_at or now_iso()), order


def answer_from_vote(vote: StoredVote) -> Answer:
    return Answer(vote.entity, vote.ai_scale, vote.ai_vote, vote.entity_confidence, vote.seconds)


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
        record = load_study_row(self.ws, study)
        study_id, name, study_settings = record.id, record.name, record.settings
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
        votes = VoteRepository(self.ws).session_votes(self._session_id)
        return {code: answer_from_vote(vote) for code, vote in votes.items()}

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
        return SessionRepository(self.ws).finished_at(self._session_id)

    def mark_finished(self) -> None:
        VoteRepository(self.ws).finish_session(self._session_id, now_iso(), self.reader)

    def close(self) -> None:
        self.ws.close()
