"""The workspace database schema as named, ordered migrations.

Each migration is applied once, in order, inside one transaction, and recorded in ``_migrations``.
To change the schema, append a new migration; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from dermstudy.entities import CODES

_ENTITY_CHECK = "entity IN (" + ", ".join(f"'{c}'" for c in CODES) + ")"


def run_script(conn: sqlite3.Connection, script: str) -> None:
    """Execute SQL statements one by one, inside the caller's transaction.

    ``executescript`` would commit first, which breaks the one-transaction-per-migration rule.
    """
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            conn.execute(pending)
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement in migration: {pending.strip()[:80]}")


def _initial(conn: sqlite3.Connection) -> None:
    run_script(
        conn,
        f"""
        CREATE TABLE images (
            id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL UNIQUE,
            file TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('real', 'synthetic')),
            entity TEXT NOT NULL CHECK ({_ENTITY_CHECK}),
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            format TEXT NOT NULL,
            source TEXT NOT NULL,
            source_id TEXT,
            lesion_id TEXT,
            provenance TEXT NOT NULL DEFAULT '{{}}',
            created_at TEXT NOT NULL
        );
        CREATE UNIQUE INDEX images_source_id ON images (source, source_id)
            WHERE source_id IS NOT NULL;
        CREATE INDEX images_entity ON images (kind, entity);
        CREATE INDEX images_lesion ON images (lesion_id);

        CREATE TABLE models (
            id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL UNIQUE,
            path TEXT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            options TEXT NOT NULL DEFAULT '{{}}',
            origin TEXT NOT NULL DEFAULT 'file',
            created_at TEXT NOT NULL
        );

        CREATE TABLE studies (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            seed INTEGER NOT NULL,
            settings TEXT NOT NULL,
            created_at TEXT NOT NULL
        );

        CREATE TABLE cases (
            id INTEGER PRIMARY KEY,
            study_id INTEGER NOT NULL REFERENCES studies (id),
            code TEXT NOT NULL UNIQUE,
            position INTEGER NOT NULL,
            image_id INTEGER NOT NULL REFERENCES images (id),
            practice INTEGER NOT NULL DEFAULT 0,
            blinded_sha256 TEXT NOT NULL,
            UNIQUE (study_id, position)
        );

        CREATE TABLE readers (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        );

        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            study_id INTEGER NOT NULL REFERENCES studies (id),
            reader_id INTEGER NOT NULL REFERENCES readers (id),
            case_order TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            UNIQUE (study_id, reader_id)
        );

        CREATE TABLE votes (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions (id),
            case_id INTEGER NOT NULL REFERENCES cases (id),
            entity TEXT NOT NULL CHECK ({_ENTITY_CHECK}),
            ai_scale INTEGER CHECK (ai_scale BETWEEN 1 AND 5),
            ai_vote TEXT NOT NULL CHECK (ai_vote IN ('ai', 'real')),
            entity_confidence INTEGER CHECK (entity_confidence BETWEEN 1 AND 5),
            seconds REAL,
            answered_at TEXT NOT NULL,
            origin TEXT NOT NULL DEFAULT 'reader-window',
            UNIQUE (session_id, case_id)
        );

        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT NOT NULL DEFAULT '',
            details TEXT NOT NULL DEFAULT '{{}}'
        );
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        """,
    )


def _image_sets_and_frozen_cases(conn: sqlite3.Connection) -> None:
    """Named image sets (e.g. images to keep out of studies) and frozen study cases.

    A study's cases never change once created, so updates to ``cases`` are refused outright.
    """
    run_script(
        conn,
        """
        CREATE TABLE image_sets (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            description TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        );
        CREATE TABLE image_set_members (
            set_id INTEGER NOT NULL REFERENCES image_sets (id),
            image_id INTEGER NOT NULL REFERENCES images (id),
            PRIMARY KEY (set_id, image_id)
        );
        CREATE TRIGGER cases_frozen BEFORE UPDATE ON cases
            BEGIN SELECT RAISE(ABORT, 'study cases are frozen once the study is created'); END;
        """,
    )


def _splits(conn: sqlite3.Connection) -> None:
    """Held-out splits of the real images, made by lesion so no lesion is on both sides.

    ``split_members`` lists every real image that existed when the split was made, with its side
    (``train`` or ``test``); studies and the classifier ablation read the same rows.
    """
    run_script(
        conn,
        """
        CREATE TABLE splits (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            seed INTEGER NOT NULL,
            test_fraction REAL NOT NULL,
            settings TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL
        );
        CREATE TABLE split_members (
            split_id INTEGER NOT NULL REFERENCES splits (id),
            image_id INTEGER NOT NULL REFERENCES images (id),
            side TEXT NOT NULL CHECK (side IN ('train', 'test')),
            PRIMARY KEY (split_id, image_id)
        );
        CREATE INDEX split_members_side ON split_members (split_id, side);
        CREATE TRIGGER split_members_frozen BEFORE UPDATE ON split_members
            BEGIN SELECT RAISE(ABORT, 'a split never changes once created'); END;
        """,
    )


def _training_runs(conn: sqlite3.Connection) -> None:
    """GLIDE fine-tuning runs: one row per run folder under ``runs/``."""
    run_script(
        conn,
        """
        CREATE TABLE training_runs (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('base', 'upsample')),
            folder TEXT NOT NULL,
            status TEXT NOT NULL
                CHECK (status IN ('running', 'stopped', 'failed', 'finished')),
            options TEXT NOT NULL,
            dataset_hash TEXT NOT NULL,
            image_count INTEGER NOT NULL,
            split_id INTEGER REFERENCES splits (id),
            init_model TEXT,
            version TEXT NOT NULL DEFAULT '{}',
            step INTEGER NOT NULL DEFAULT 0,
            total_steps INTEGER NOT NULL,
            last_checkpoint TEXT,
            message TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """,
    )


def _predictions(conn: sqlite3.Connection) -> None:
    """Classifier predictions for study cases, for the reader-versus-model comparison.

    One row per (model, case): the predicted entity and the per-class probabilities as JSON
    (entity code -> probability, may be ``{}``). Re-importing a model's predictions replaces them.
    """
    run_script(
        conn,
        f"""
        CREATE TABLE predictions (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL REFERENCES cases (id),
            model TEXT NOT NULL,
            entity TEXT NOT NULL CHECK ({_ENTITY_CHECK}),
            probabilities TEXT NOT NULL DEFAULT '{{}}',
            source_file TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            UNIQUE (model, case_id)
        );
        CREATE INDEX predictions_case ON predictions (case_id);
        """,
    )


def _study_secrets(conn: sqlite3.Connection) -> None:
    """Per-study blinding secrets (the dither key), kept apart from ``studies.settings``.

    Settings travel into reports, workbooks and (partly) reader packages; the secret must not, or a
    reader could re-create case files from the public images and match them by hash.
    """
    run_script(
        conn,
        """
        CREATE TABLE study_secrets (
            study_id INTEGER PRIMARY KEY REFERENCES studies (id),
            dither_secret TEXT NOT NULL
        );
        """,
    )


def _integrity_chain(conn: sqlite3.Connection) -> None:
    """The tamper-evident hash chain over audit rows and votes (:mod:`dermstudy.workspace.integrity`).

    The audit log also refuses an insert that reuses an id: ``INSERT OR REPLACE`` deletes the old row
    without firing the no-delete trigger, so it is stopped before its conflict resolution runs.
    Rows that exist at the upgrade are sealed into the chain as they are.
    """
    import datetime as dt

    from dermstudy.workspace.integrity import seal_existing

    run_script(
        conn,
        """
        CREATE TABLE integrity_chain (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('audit', 'vote')),
            ref INTEGER NOT NULL,
            at TEXT NOT NULL,
            content TEXT NOT NULL,
            digest TEXT NOT NULL
        );
        CREATE TRIGGER integrity_chain_no_update BEFORE UPDATE ON integrity_chain
            BEGIN SELECT RAISE(ABORT, 'integrity_chain is append-only'); END;
        CREATE TRIGGER integrity_chain_no_delete BEFORE DELETE ON integrity_chain
            BEGIN SELECT RAISE(ABORT, 'integrity_chain is append-only'); END;
        CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log
            WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id)
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        """,
    )
    seal_existing(conn, dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"))


Migration = tuple[str, Callable[[sqlite3.Connection], None]]

# Append only. The name is what is recorded in the database.
MIGRATIONS: list[Migration] = [
    ("0001_initial", _initial),
    ("0002_image_sets_frozen_cases", _image_sets_and_frozen_cases),
    ("0003_splits", _splits),
    ("0004_training_runs", _training_runs),
    ("0005_predictions", _predictions),
    ("0006_study_secrets", _study_secrets),
    ("0007_integrity_chain", _integrity_chain),
]
