"""Workbook read back with openpyxl, figure files, and the ``dermstudy report`` command."""

from __future__ import annotations

import json

import pytest
from openpyxl import load_workbook

from dermstudy.analysis.data import load_study
from dermstudy.analysis.report import build_report
from dermstudy.cli import main
from dermstudy.reports.bundle import write_outputs
from tests.analysis.tiny import make_tiny_study


@pytest.fixture
def tiny(workspace):
    make_tiny_study(workspace, readers="AB")
    data = load_study(workspace, "tiny")
    return data, build_report(data, n_resamples=200)


def test_workbook_contents_read_back(tiny, workspace, tmp_path):
    data, report = tiny
    path = tmp_path / "out" / "report.xlsx"
    write_outputs(report, data, None, xlsx_path=path)
    wb = load_workbook(path)
    for name in (
        "Study",
        "Answers",
        "Entity",
        "AI vs real",
        "Subsets",
        "Readers",
        "Reader summary",
        "Agreement",
        "Missing",
        "Confusion matrices",
        "Figures",
    ):
        assert name in wb.sheetnames
    entity = wb["Entity"]
    assert entity.freeze_panes == "A4"
    assert entity.auto_filter.ref.startswith("A3:")
    assert [c.value for c in entity[3]][:6] == [
        "class",
        "name",
        "precision",
        "recall",
        "f1",
        "support",
    ]
    mel = next(row for row in entity.iter_rows(min_row=4) if row[0].value == "mel")
    assert mel[2].value == report["entity"]["per_class"]["mel"]["precision"]  # full precision
    assert mel[2].number_format == "0.00"
    answers = wb["Answers"]
    assert answers.max_row == 3 + len(data.answers)
    header = [c.value for c in answers[3]]
    rows = [
        dict(zip(header, (c.value for c in row), strict=True))
        for row in answers.iter_rows(min_row=4)
    ]
    c7 = next(r for r in rows if r["reader"] == "A" and r["case"] == "c7")
    assert c7["missing"] is True and c7["answered entity"] is None
    c4 = next(r for r in rows if r["reader"] == "A" and r["case"] == "c4")
    assert (c4["true entity"], c4["answered entity"], c4["seconds"]) == ("nv", "mel", 20.0)
    image_id = workspace.conn.execute(
        "SELECT i.source || ':' || i.source_id FROM cases c JOIN images i ON i.id = c.image_id "
        "WHERE c.code = 'c4'"
    ).fetchone()[0]
    assert c4["image"] == image_id
    assert wb["Missing"]["A4"].value == "A" and wb["Missing"]["B4"].value == "c7"
    assert len(wb["Figures"]._images) >= 5
    kappa_rows = [r for r in wb["Agreement"].iter_rows(min_row=4, values_only=True)]
    assert kappa_rows[0][:3] == ("entity", "A", "B")
    assert kappa_rows[0][3] == pytest.approx(report["agreement"]["entity"]["pairs"][0]["kappa"])


def test_figures_written_in_every_format(tiny, tmp_path):
    data, report = tiny
    folder = tmp_path / "figs"
    write_outputs(report, data, folder, formats=("png", "svg", "pdf"))
    for stem in (
        "confusion_entity",
        "confusion_ai_vs_real",
        "roc_entity",
        "roc_ai_vs_real",
        "readers",
        "roc_ai_vs_real_readers",  # two readers in the tiny study
    ):
        png = (folder / f"{stem}.png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 5000
        assert (folder / f"{stem}.svg").read_text().lstrip().startswith("<?xml")
        assert (folder / f"{stem}.pdf").read_bytes().startswith(b"%PDF")


def test_cli_json_and_files(tiny, workspace, tmp_path, capsys):
    code = main(
        [
            "--workspace",
            str(workspace.root),
            "report",
            "tiny",
            "--json",
            "--resamples",
            "200",
            "--out",
            str(tmp_path / "out"),
            "--format",
            "png,svg",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["entity"]["accuracy"] == pytest.approx((5 + 7) / 15)
    assert (tmp_path / "out" / "report.xlsx").stat().st_size > 10_000
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["entity"] == out["entity"]
    assert (tmp_path / "out" / "figures" / "roc_entity.svg").exists()


def test_cli_text_and_reader_filter(tiny, workspace, capsys):
    assert main(["--workspace", str(workspace.root), "report", "tiny", "--reader", "B"]) == 0
    text = capsys.readouterr().out
    assert "Entity classification, all readers pooled" in text
    assert "8 answers scored of 8 expected; 0 missing" in text


def test_cli_errors_are_one_line(tiny, workspace, capsys, tmp_path):
    assert main(["--workspace", str(workspace.root), "report", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"dermstudy: error: no study named 'nope' in {workspace.root} (studies: tiny)"]
    assert main(["--workspace", str(workspace.root), "report", "tiny", "--format", "bmp"]) == 2
    assert "unknown format bmp" in capsys.readouterr().err
    bad = tmp_path / "p.csv"
    bad.write_text("case,entity\nc1,melanoma\nc2,???\n")
    args = [
        "--workspace",
        str(workspace.root),
        "predictions",
        "import",
        "tiny",
        str(bad),
        "--model",
        "cnn",
    ]
    assert main(args) == 2
    assert "row 3: unknown entity '???'" in capsys.readouterr().err
    bad.write_text("case,entity\nc1,melanoma\nc2,bcc\n")
    assert main(args) == 0
    assert "2 prediction(s) of cnn imported" in capsys.readouterr().out
