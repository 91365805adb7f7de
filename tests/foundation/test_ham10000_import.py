import json

import pytest

from dermstudy.datasets.ham10000 import HamImportError, import_ham10000
from dermstudy.datasets.summary import dataset_summary
from dermstudy.jobs import CancelToken
from tests.conftest import DATA, SHARED
from tests.foundation.conftest import HEADER, jpeg_bytes, make_row, write_ham_folder


def count_images(ws) -> int:
    return ws.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]


def test_import_finds_images_in_part_folders_and_keeps_metadata(workspace, ham_folder):
    summary = import_ham10000(workspace, ham_folder)
    assert summary.imported_total == 14 and not summary.skipped
    assert summary.imported == {c: 2 for c in ("mel", "nv", "akiec", "bkl", "bcc", "df", "vasc")}
    row = workspace.conn.execute(
        "SELECT kind, entity, lesion_id, provenance, file FROM images WHERE source_id = 'ISIC_0000007'"
    ).fetchone()
    assert row[0:3] == ("real", "mel", "HAM_SHARED")
    provenance = json.loads(row[3])
    assert provenance["dx_type"] == "histo" and provenance["age"] == 50.0
    assert workspace.path_of(row[4]).read_bytes() == jpeg_bytes(7)
    lesion_images = workspace.conn.execute(
        "SELECT COUNT(*) FROM images WHERE lesion_id = 'HAM_SHARED'"
    ).fetchone()[0]
    assert lesion_images == 2


def test_reimport_is_idempotent(workspace, ham_folder):
    import_ham10000(workspace, ham_folder)
    again = import_ham10000(workspace, ham_folder)
    assert again.imported_total == 0 and again.already_present == 14
    assert count_images(workspace) == 14


def test_missing_columns_refuse_the_whole_import(workspace, tmp_path):
    folder = write_ham_folder(
        tmp_path / "bad", [make_row(1, "mel")], header=[h for h in HEADER if h != "dx"]
    )
    with pytest.raises(HamImportError, match=r"HAM10000_metadata.csv: missing column\(s\) dx"):
        import_ham10000(workspace, folder)
    assert count_images(workspace) == 0


def test_no_metadata_file_is_a_clear_error(workspace, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(HamImportError, match=r"no HAM10000_metadata\.csv"):
        import_ham10000(workspace, tmp_path / "empty")


def test_bad_rows_are_reported_and_valid_rows_imported(workspace, tmp_path):
    rows = [
        make_row(1, "mel"),
        make_row(2, "psoriasis"),
        make_row(3, "nv"),
        make_row(4, "bcc"),
        make_row(1, "mel"),
        make_row(5, "df"),
        {**make_row(6, "vasc"), "lesion_id": ""},
    ]
    folder = write_ham_folder(tmp_path / "mixed", rows)
    (folder / "images").mkdir()
    for index in (1, 2, 5, 6):
        (folder / "images" / f"ISIC_{index:07d}.jpg").write_bytes(jpeg_bytes(index))
    # 3 is missing; 4 is truncated (a JPEG cut in half)
    (folder / "images" / "ISIC_0000004.jpg").write_bytes(jpeg_bytes(4)[:300])
    summary = import_ham10000(workspace, folder)
    reasons = {s.line: s.reason for s in summary.skipped}
    assert reasons[3].startswith("unknown dx code: 'psoriasis'")
    assert reasons[4].startswith("missing image file")
    assert reasons[5].startswith("corrupt image")
    assert reasons[6] == "duplicate image_id: first seen on line 2"
    assert reasons[8] == "empty lesion_id"
    assert summary.imported == {"mel": 1, "df": 1}
    assert count_images(workspace) == 2
    assert "line 5 (ISIC_0000004): corrupt image" in summary.to_text()


def test_cancelled_import_leaves_the_workspace_unchanged(workspace, ham_folder):
    token = CancelToken()
    token.cancel()
    summary = import_ham10000(workspace, ham_folder, cancel=token)
    assert summary.cancelled and summary.imported_total == 0
    assert count_images(workspace) == 0
    assert not list(workspace.images_dir.rglob("*.jpg"))


def test_failed_commit_leaves_nothing_half_imported(workspace, ham_folder, monkeypatch):
    def full_disk(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("dermstudy.datasets.ham10000._commit", full_disk)
    with pytest.raises(OSError, match="No space left"):
        import_ham10000(workspace, ham_folder)
    assert count_images(workspace) == 0
    assert not list(workspace.images_dir.rglob("*.jpg"))


@pytest.mark.skipif(not (SHARED / "ham10000-sample").is_dir(), reason="needs ../shared")
def test_shared_sample_imports_with_correct_counts(workspace):
    summary = import_ham10000(workspace, SHARED / "ham10000-sample")
    expected = {"akiec": 21, "bcc": 28, "bkl": 30, "df": 20, "mel": 26, "nv": 60, "vasc": 24}
    assert summary.imported == expected and not summary.skipped
    counts = dataset_summary(workspace)
    assert {c: v["real"] for c, v in counts["by_entity"].items()} == expected
    assert counts["lesions"] == 207


MINI = DATA / "ham10000-mini"


def test_real_ham10000_files_import_byte_for_byte(workspace):
    """Eight original HAM10000 JPEGs (tests/data, with provenance): counts, lesions, unchanged bytes."""
    import csv
    import hashlib
    from collections import Counter

    with open(MINI / "HAM10000_metadata.csv", newline="") as handle:
        metadata = list(csv.DictReader(handle))
    with open(MINI / "SOURCES.csv", newline="") as handle:
        sources = {row["image_id"]: row["sha256"] for row in csv.DictReader(handle)}
    summary = import_ham10000(workspace, MINI)
    assert summary.imported == dict(Counter(row["dx"] for row in metadata)) and not summary.skipped
    counts = dataset_summary(workspace)
    assert counts["lesions"] == len({row["lesion_id"] for row in metadata}) == 7
    stored = dict(workspace.conn.execute("SELECT source_id, sha256 FROM images"))
    assert stored == sources  # the files are stored as they are, never re-encoded
    for image_id, sha in stored.items():
        (relative,) = workspace.conn.execute(
            "SELECT file FROM images WHERE source_id = ?", (image_id,)
        ).fetchone()
        assert hashlib.sha256((workspace.root / relative).read_bytes()).hexdigest() == sha
