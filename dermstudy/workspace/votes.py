"""The one vote writer: every answer that reaches ``votes`` goes through :class:`VoteRepository`.

The reader window, ``dermstudy votes import`` and the merge of a reader package's answers all call
:meth:`VoteRepository.write`, which first applies the study's reading rules (``rules.check(answer)``,
i.e. :meth:`dermstudy.reading.answers.ReadingSettings.check`: the answer scale, a required or
forbidden entity confidence) and then inserts, leaves alone, or replaces the stored vote. A replaced
vote is never lost: the old answer goes to the audit log (``vote.change``) in the same transaction.

Reader names are checked here too (:func:`check_reader_name`), for every path that creates a reader.

This module knows answers only by their fields (duck typing), so the workspace layer does not depend on
``dermstudy.reading``.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from dermstudy.errors import DermstudyError
from dermstudy.workspace.integrity import VOTE, append_link
from dermstudy.workspace.repository import Repository

READER_NAME_MAX = 64
# Letters and digits of any script, and these separators inside a name (e.g. "Dr. A. O'Neil-Smith").
READER_NAME_PUNCTUATION = " .-_'"

INSERTED = "inserted"
UNCHANGED = "unchanged"
CHANGED = "changed"


class VoteRuleError(DermstudyError, ValueError):
    """An answer or reader name that the study's rules refuse; the message says why."""


class AnswerLike(Protocol):
    entity: str
    ai_scale: int | None
    ai_vote: str | None
    entity_confidence: int | None
    seconds: float | None

    def to_dict(self) -> dict[str, Any]: ...


class AnswerRules(Protocol):
    def check(self, answer: Any) -> None: ...


@dataclass(frozen=True)
class StoredVote:
    """One row of ``votes`` with its case code."""

    code: str
    entity: str
    ai_scale: int | None
    ai_vote: str
    entity_confidence: int | None
    seconds: float | None
    answered_at: str
    origin: str

    def choice(self) -> tuple:
        return (self.entity, self.ai_scale, self.ai_vote, self.entity_confidence)

    def to_dict(self) -> dict[str, Any]:
        """The answer as stored, without the case code (the caller knows the case)."""
        return {name: value for name, value in asdict(self).items() if name != "code"}


def check_reader_name(name: object) -> str:
    """The name itself when it is a valid reader name, else VoteRuleError saying what is wrong.

    1-64 characters; letters and digits of any script plus space . - _ '; it starts with a letter or
    digit (so never with = + - @, which spreadsheets read as a formula) and has no surrounding,
    doubled or invisible spaces, control or bidirectional-override characters.
    """
    if not isinstance(name, str) or not name:
        raise VoteRuleError("a reader name cannot be empty")
    shown = name if len(name) <= 40 else name[:40] + "…"
    if len(name) > READER_NAME_MAX:
        raise VoteRuleError(f"reader name {shown!r} is longer than {READER_NAME_MAX} characters")
    if name != name.strip() or "  " in name:
        raise VoteRuleError(f"reader name {shown!r} has surrounding or doubled spaces")
    if unicodedata.normalize("NFC", name) != name:
        raise VoteRuleError(f"reader name {shown!r} is not in Unicode normal form (NFC)")
    if not name[0].isalnum():
        raise VoteRuleError(f"reader name {shown!r} must start with a letter or digit")
    for char in name:
        if not (char.isalnum() or char in READER_NAME_PUNCTUATION):
            raise VoteRuleError(
                f"reader name {shown!r} contains {unicodedata.name(char, repr(char))!s} "
                "(allowed: letters, digits, space . - _ ')"
            )
    return name


class VoteRepository(Repository):
    """Votes of a workspace: read per session, and the single checked writer."""

    def session_votes(self, session_id: int) -> dict[str, StoredVote]:
        rows = self.ws.conn.execute(
            "SELECT c.code, v.entity, v.ai_scale, v.ai_vote, v.entity_confidence, v.seconds, "
            "v.answered_at, v.origin FROM votes v JOIN cases c ON c.id = v.case_id "
            "WHERE v.session_id = ?",
            (session_id,),
        ).fetchall()
        return {row[0]: StoredVote(*row) for row in rows}

    def session_vote(self, session_id: int, case_id: int) -> StoredVote | None:
        row = self.ws.conn.execute(
            "SELECT c.code, v.entity, v.ai_scale, v.ai_vote, v.entity_confidence, v.seconds, "
            "v.answered_at, v.origin FROM votes v JOIN cases c ON c.id = v.case_id "
            "WHERE v.session_id = ? AND v.case_id = ?",
            (session_id, case_id),
        ).fetchone()
        return StoredVote(*row) if row else None

    def write(
        self,
        session_id: int,
        case_id: int,
        code: str,
        answer: AnswerLike,
        rules: AnswerRules,
        *,
        origin: str,
        answered_at: str,
        actor: str,
        previous: StoredVote | None = None,
        history: dict[str, Any] | None = None,
    ) -> str:
        """Check ``answer`` against ``rules`` and store it; returns INSERTED, UNCHANGED or CHANGED.

        ``previous`` is the stored vote the caller saw (None: none). A changed answer replaces it and
        the old one goes to the audit log with ``history`` (e.g. where the correction came from).
        Raises VoteRuleError (or the rules' own error) and writes nothing when the answer breaks them.
        """
        rules.check(answer)
        new_choice = (answer.entity, answer.ai_scale, answer.ai_vote, answer.entity_confidence)
        if previous is not None and previous.choice() == new_choice:
            return UNCHANGED
        values = (
            session_id,
            case_id,
            answer.entity,
            answer.ai_scale,
            answer.ai_vote,
            answer.entity_confidence,
            answer.seconds,
            answered_at,
            origin,
        )
        with self.ws.transaction():
            self.ws.conn.execute(
                "INSERT INTO votes (session_id, case_id, entity, ai_scale, ai_vote, "
                "entity_confidence, seconds, answered_at, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (session_id, case_id) DO UPDATE SET entity = excluded.entity, "
                "ai_scale = excluded.ai_scale, ai_vote = excluded.ai_vote, "
                "entity_confidence = excluded.entity_confidence, seconds = excluded.seconds, "
                "answered_at = excluded.answered_at, origin = excluded.origin",
                values,
            )
            vote_id = self.ws.conn.execute(
                "SELECT id FROM votes WHERE session_id = ? AND case_id = ?", (session_id, case_id)
            ).fetchone()[0]
            append_link(self.ws.conn, VOTE, int(vote_id), answered_at)
            if previous is not None:
                self.ws.audit(
                    "vote.change",
                    code,
                    {
                        "session_id": session_id,
                        "reader": actor,
                        "old": previous.to_dict(),
                        "new": answer.to_dict(),
                        "origin": origin,
                        **(history or {}),
                    },
                    actor=actor,
                )
        return INSERTED if previous is None else CHANGED

    def finish_session(self, session_id: int, finished_at: str, actor: str) -> bool:
        """Mark a session finished (once); True when this call did it."""
        with self.ws.transaction():
            done = self.ws.conn.execute(
                "UPDATE sessions SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
                (finished_at, session_id),
            ).rowcount
            if done:
                self.ws.audit("session.finish", actor, {"session_id": session_id})
        return bool(done)

    def study_reader_votes(self, study_id: int, reader: str) -> dict[str, StoredVote]:
        """Case code -> the stored vote of ``reader`` in the study (empty without a session)."""
        rows = self.ws.conn.execute(
            "SELECT c.code, v.entity, v.ai_scale, v.ai_vote, v.entity_confidence, v.seconds, "
            "v.answered_at, v.origin FROM votes v JOIN sessions s ON s.id = v.session_id "
            "JOIN readers r ON r.id = s.reader_id JOIN cases c ON c.id = v.case_id "
            "WHERE s.study_id = ? AND r.name = ?",
            (study_id, reader),
        ).fetchall()
        return {row[0]: StoredVote(*row) for row in rows}


@dataclass(frozen=True)
class StoredSession:
    """One row of ``sessions``: a reader's pass through a study in a fixed case order."""

    id: int
    case_order: list[str]
    finished_at: str | None


class SessionRepository(Repository):
    """Readers and their sessions; creating either writes an audit line in the same transaction."""

    def reader_id(self, name: str) -> int | None:
        row = self.ws.conn.execute("SELECT id FROM readers WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else None

    def add_reader(self, name: str, created_at: str) -> int:
        """Create reader ``name`` (checked by :func:`check_reader_name`); returns its id."""
        check_reader_name(name)
        with self.ws.transaction():
            cursor = self.ws.conn.execute(
                "INSERT INTO readers (name, created_at) VALUES (?, ?)", (name, created_at)
            )
            self.ws.audit("reader.create", name)
        return int(cursor.lastrowid)

    def find(self, study_id: int, reader_id: int) -> StoredSession | None:
        row = self.ws.conn.execute(
            "SELECT id, case_order, finished_at FROM sessions WHERE study_id = ? AND reader_id = ?",
            (study_id, reader_id),
        ).fetchone()
        return StoredSession(int(row[0]), list(json.loads(row[1])), row[2]) if row else None

    def add(
        self, study_id: int, reader_id: int, reader: str, order: list[str], started_at: str
    ) -> int:
        """Start ``reader``'s session with its case order; returns the session id."""
        with self.ws.transaction():
            cursor = self.ws.conn.execute(
                "INSERT INTO sessions (study_id, reader_id, case_order, started_at) "
                "VALUES (?, ?, ?, ?)",
                (study_id, reader_id, json.dumps(order), started_at),
            )
            self.ws.audit("session.start", reader, {"study_id": study_id})
        return int(cursor.lastrowid)

    def finished_at(self, session_id: int) -> str | None:
        row = self.ws.conn.execute(
            "SELECT finished_at FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        return row[0] if row else None
