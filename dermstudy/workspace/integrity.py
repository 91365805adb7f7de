"""A tamper-evident record: a hash chain over audit-log rows and votes.

Every audit row (:meth:`Workspace.audit`) and every vote write (:class:`VoteRepository`) appends a
link to ``integrity_chain``: the SHA-256 of the row's content as stored, chained to the previous link
(``digest = sha256(previous digest | kind | row id | content hash)``). :func:`verify` recomputes the
chain and compares it with the rows as they are now; it finds rows changed, replaced, deleted or added
outside dermstudy (e.g. with the ``sqlite3`` shell), and says since when the record is altered.

What it cannot do: someone who edits the database *and* rebuilds the chain with this code defeats it.
The chain's head digest (printed by ``dermstudy study verify`` and in reports) is a short fingerprint
of the whole record: written down or sent to a third party, it makes that detectable too.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any

AUDIT = "audit"
VOTE = "vote"

_COLUMNS = {
    AUDIT: ("audit_log", "id, at, actor, action, subject, details"),
    VOTE: (
        "votes",
        "id, session_id, case_id, entity, ai_scale, ai_vote, entity_confidence, seconds, "
        "answered_at, origin",
    ),
}


def _content_hash(row: tuple) -> str:
    return hashlib.sha256(json.dumps(list(row), default=str).encode()).hexdigest()


def _link_digest(previous: str, kind: str, ref: int, content: str) -> str:
    return hashlib.sha256(f"{previous}|{kind}|{ref}|{content}".encode()).hexdigest()


def _row(conn: sqlite3.Connection, kind: str, ref: int) -> tuple | None:
    table, columns = _COLUMNS[kind]
    return conn.execute(f"SELECT {columns} FROM {table} WHERE id = ?", (ref,)).fetchone()


def append_link(conn: sqlite3.Connection, kind: str, ref: int, at: str) -> None:
    """Chain the row ``ref`` of ``kind`` as it is now (call inside the writer's transaction)."""
    row = _row(conn, kind, ref)
    if row is None:
        raise ValueError(f"no {kind} row {ref} to chain")
    last = conn.execute("SELECT digest FROM integrity_chain ORDER BY id DESC LIMIT 1").fetchone()
    content = _content_hash(row)
    digest = _link_digest(last[0] if last else "", kind, ref, content)
    conn.execute(
        "INSERT INTO integrity_chain (kind, ref, at, content, digest) VALUES (?, ?, ?, ?, ?)",
        (kind, ref, at, content, digest),
    )


def seal_existing(conn: sqlite3.Connection, at: str) -> None:
    """Chain every audit row and vote that exists now (the upgrade of an older workspace)."""
    for kind, (table, _columns) in _COLUMNS.items():
        for (ref,) in conn.execute(f"SELECT id FROM {table} ORDER BY id").fetchall():
            append_link(conn, kind, ref, at)


@dataclass
class IntegrityReport:
    ok: bool
    links: int
    head: str
    altered_since: str | None = None
    problems: list[str] = field(default_factory=list)

    def message(self) -> str:
        if self.ok:
            return f"record intact: {self.links} chained rows, head {self.head[:16]}"
        since = f" since {self.altered_since}" if self.altered_since else ""
        return (
            f"the record has been altered{since}: "
            + "; ".join(self.problems[:5])
            + (f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else "")
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def verify(conn: sqlite3.Connection) -> IntegrityReport:
    """Recompute the chain and compare it with the audit log and the votes as stored now."""
    problems: list[str] = []
    first_bad: list[str] = []
    previous = ""
    latest: dict[tuple[str, int], tuple[str, str]] = {}
    last_at = None
    links = conn.execute(
        "SELECT id, kind, ref, at, content, digest FROM integrity_chain ORDER BY id"
    ).fetchall()
    for link_id, kind, ref, at, content, digest in links:
        if _link_digest(previous, kind, ref, content) != digest:
            problems.append(f"chain link {link_id} does not follow from the one before")
            first_bad.append(at)
        previous = digest
        latest[(kind, ref)] = (content, at)
        last_at = at
    for (kind, ref), (content, at) in latest.items():
        row = _row(conn, kind, ref)
        if row is None:
            problems.append(f"{kind} row {ref} was deleted")
            first_bad.append(at)
        elif _content_hash(row) != content:
            problems.append(f"{kind} row {ref} was changed")
            first_bad.append(at)
    for kind, (table, _columns) in _COLUMNS.items():
        chained = {ref for (k, ref) in latest if k == kind}
        extra = [r for (r,) in conn.execute(f"SELECT id FROM {table}") if r not in chained]
        if extra:
            problems.append(
                f"{len(extra)} {kind} row(s) added outside dermstudy (e.g. id {extra[0]})"
            )
            if last_at:
                first_bad.append(last_at)
    return IntegrityReport(
        ok=not problems,
        links=len(links),
        head=previous,
        problems=problems,
        altered_since=min(first_bad) if first_bad else None,
    )


def check_for_report(ws: Any, study: str, source: str) -> IntegrityReport:
    """Verify the record before a report and log the report (reports reveal the answer key)."""
    report = verify(ws.conn)
    with ws.transaction():
        ws.audit(
            "study.report",
            study,
            {"source": source, "record_intact": report.ok, "head": report.head},
        )
    return report
