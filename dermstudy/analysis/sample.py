"""Small synthetic studies for benchmarks, tests and screenshots of the analysis.

:func:`synthetic_answers` makes a tidy answer frame directly (no database); :func:`insert_study`
writes a study with its images, cases, readers, sessions and votes into a workspace by plain SQL,
the same rows the study builder and reader window write.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dermstudy.analysis.data import StudyData, tidy_answers
from dermstudy.entities import CODES
from dermstudy.workspace import Workspace
from dermstudy.workspace.core import now_iso


@dataclass(frozen=True)
class CaseSpec:
    code: str
    entity: str
    kind: str  # "real" | "synthetic"
    practice: bool = False


@dataclass(frozen=True)
class VoteSpec:
    reader: str
    case: str
    entity: str
    ai_vote: str  # "ai" | "real"
    ai_scale: int | None = None
    confidence: int | None = None
    seconds: float | None = None


def insert_study(
    ws: Workspace,
    name: str,
    cases: Sequence[CaseSpec],
    votes: Sequence[VoteSpec],
    readers: Sequence[str] = (),
    seed: int = 1,
) -> int:
    """Write a study and its answers; every reader named in ``readers`` or ``votes`` gets a session.

    Returns the study id.
    """
    created = now_iso()
    with ws.transaction():
        study_id = ws.conn.execute(
            "INSERT INTO studies (name, seed, settings, created_at) VALUES (?, ?, ?, ?)",
            (name, seed, json.dumps({"design": "sample"}), created),
        ).lastrowid
        case_ids = {}
        for position, case in enumerate(cases):
            digest = hashlib.sha256(f"{name}/{case.code}".encode()).hexdigest()
            image_id = ws.conn.execute(
                "INSERT INTO images (sha256, file, kind, entity, width, height, format, source, "
                "source_id, created_at) VALUES (?, ?, ?, ?, 64, 64, 'png', 'sample', ?, ?)",
                (digest, f"images/{digest}.png", case.kind, case.entity, digest[:12], created),
            ).lastrowid
            case_ids[case.code] = ws.conn.execute(
                "INSERT INTO cases (study_id, code, position, image_id, practice, blinded_sha256) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (study_id, case.code, position, image_id, int(case.practice), digest),
            ).lastrowid
        names = list(dict.fromkeys([*readers, *(v.reader for v in votes)]))
        sessions = {}
        for reader in names:
            row = ws.conn.execute("SELECT id FROM readers WHERE name = ?", (reader,)).fetchone()
            reader_id = (
                row[0]
                if row
                else ws.conn.execute(
                    "INSERT INTO readers (name, created_at) VALUES (?, ?)", (reader, created)
                ).lastrowid
            )
            sessions[reader] = ws.conn.execute(
                "INSERT INTO sessions (study_id, reader_id, case_order, started_at) "
                "VALUES (?, ?, ?, ?)",
                (study_id, reader_id, json.dumps([c.code for c in cases]), created),
            ).lastrowid
        ws.conn.executemany(
            "INSERT INTO votes (session_id, case_id, entity, ai_scale, ai_vote, entity_confidence, "
            "seconds, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    sessions[v.reader],
                    case_ids[v.case],
                    v.entity,
                    v.ai_scale,
                    v.ai_vote,
                    v.confidence,
                    v.seconds,
                    created,
                )
                for v in votes
            ],
        )
    return int(study_id)


def synthetic_answers(
    n_readers: int, n_cases: int, seed: int = 0, missing_rate: float = 0.01
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cases, answers) of a simulated study: half real, half synthetic, all seven entities.

    Readers name the right entity about 60% of the time and lean towards the right source on the
    five-point scale; a small share of answers is missing.
    """
    rng = np.random.default_rng(seed)
    cases = pd.DataFrame(
        {
            "case": [f"C{i:05d}" for i in range(n_cases)],
            "position": np.arange(n_cases),
            "true_entity": rng.choice(CODES, n_cases),
            "true_source": np.where(np.arange(n_cases) % 2 == 0, "real", "synthetic"),
        }
    )
    synthetic = (cases["true_source"] == "synthetic").to_numpy()
    frames = []
    for r in range(n_readers):
        right = rng.random(n_cases) < 0.6
        pred = np.where(right, cases["true_entity"], rng.choice(CODES, n_cases))
        shift = np.where(synthetic, 0.8, -0.8)
        scale = np.clip(np.round(3 + shift + rng.normal(0, 1.3, n_cases)), 1, 5).astype(int)
        frame = cases.assign(
            reader=f"reader{r + 1:02d}",
            pred_entity=pred,
            ai_scale=scale,
            ai_vote=np.where(scale >= 4, "ai", "real"),  # the reading window's rule
            confidence=np.where(right, rng.integers(3, 6, n_cases), rng.integers(1, 5, n_cases)),
            seconds=rng.gamma(4, 2.5, n_cases),
        ).astype({"pred_entity": object, "ai_vote": object})
        gone = rng.random(n_cases) < missing_rate
        frame.loc[gone, ["pred_entity", "ai_scale", "ai_vote", "confidence", "seconds"]] = None
        frames.append(frame)
    return cases, tidy_answers(pd.concat(frames, ignore_index=True))


def synthetic_study(n_readers: int, n_cases: int, seed: int = 0) -> StudyData:
    """A :class:`StudyData` built from :func:`synthetic_answers` (no workspace needed)."""
    cases, answers = synthetic_answers(n_readers, n_cases, seed)
    study = {
        "id": 1,
        "name": f"simulated-{n_readers}x{n_cases}",
        "seed": seed,
        "settings": {"design": "simulated"},
        "created_at": "2026-01-01T00:00:00+00:00",
    }
    return StudyData(study=study, answers=answers, cases=cases)


def insert_synthetic_study(
    ws: Workspace, name: str, n_readers: int, n_cases: int, seed: int = 0
) -> int:
    """:func:`synthetic_answers` written into a workspace as a study (for demos and screenshots)."""
    cases, answers = synthetic_answers(n_readers, n_cases, seed)
    case_specs = [
        CaseSpec(f"{name}-{row.case}", row.true_entity, row.true_source)
        for row in cases.itertuples()
    ]
    votes = [
        VoteSpec(
            row.reader,
            f"{name}-{row.case}",
            row.pred_entity,
            row.ai_vote,
            int(row.ai_scale),
            int(row.confidence),
            float(row.seconds),
        )
        for row in answers[~answers["missing"]].itertuples()
    ]
    readers = list(dict.fromkeys(answers["reader"]))
    return insert_study(ws, name, case_specs, votes, readers=readers, seed=seed)
