import json

from dermstudy.datasets.synthetic import files_from_csv, files_from_folder, import_synthetic
from tests.foundation.conftest import jpeg_bytes


def test_folder_import_records_provenance_and_is_idempotent(workspace, tmp_path):
    folder = tmp_path / "gen"
    folder.mkdir()
    for i in range(3):
        (folder / f"img{i}.jpg").write_bytes(jpeg_bytes(100 + i))
    (folder / "broken.png").write_bytes(b"not an image")
    summary = import_synthetic(workspace, files_from_folder(folder, "Dermatofibroma"), "lab-B")
    assert summary.imported == {"df": 3}
    assert summary.skipped == [
        {"file": str(folder / "broken.png"), "reason": "not an image file (unrecognised format)"}
    ]
    kind, source, provenance = workspace.conn.execute(
        "SELECT kind, source, provenance FROM images LIMIT 1"
    ).fetchone()
    assert (kind, source) == ("synthetic", "imported")
    assert json.loads(provenance)["source"] == "lab-B"
    again = import_synthetic(workspace, files_from_folder(folder, "df"), "lab-B")
    assert again.already_present == 3 and not again.imported


def test_csv_import_maps_files_to_entities(workspace, tmp_path):
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(1))
    (tmp_path / "b.jpg").write_bytes(jpeg_bytes(2))
    (tmp_path / "map.csv").write_text("file,entity\na.jpg,mel\nb.jpg,Vascular lesions\nc.jpg,xyz\n")
    files, skipped = files_from_csv(tmp_path / "map.csv")
    summary = import_synthetic(workspace, files, skipped=skipped)
    assert summary.imported == {"mel": 1, "vasc": 1}
    assert (
        "line 4" in summary.skipped[0]["file"] and "unknown entity" in summary.skipped[0]["reason"]
    )
