"""One rounding rule in every output, and intervals shown clipped to [0, 1] with the raw JSON kept."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from dermstudy.analysis.data import load_study
from dermstudy.analysis.report import build_report
from dermstudy.reports import display
from dermstudy.reports.bundle import report_json, write_outputs
from dermstudy.reports.figures import reader_roc_figure
from dermstudy.reports.tables import reader_averaged_table
from dermstudy.reports.text import format_value, render_text
from tests.analysis.tiny import make_tiny_study

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("value", "decimals", "shown"),
    [(29 / 40, 2, "0.73"), (0.125, 2, "0.13"), (2.675, 2, "2.68"), (0.7245, 3, "0.725"),
     (-0.125, 2, "-0.13"), (-0.001, 2, "0.00"), (0.5, 0, "1"), (1.0, 2, "1.00")],
)  # fmt: skip
def test_half_away_from_zero_on_the_decimal_value(value, decimals, shown):
    # Python's own formatting gives 0.72 and 2.67 for the first and third (binary doubles).
    assert display.fmt(value, decimals) == shown


def test_percent_and_interval_formats():
    assert display.fmt_pct(29 / 40) == "72.5%" and display.fmt_pct(0.0725) == "7.3%"
    assert display.fmt_pct(None) == "–" and display.fmt(None) == ""
    assert display.fmt_interval(-0.02, 1.59) == "[0.00–1.00]"
    assert display.fmt_interval(0.6251, 0.705) == "[0.63–0.71]"
    assert display.few_readers_warning(4) is None
    assert "1.0 degrees of freedom" in display.few_readers_warning(2, 1.0)


def test_no_output_formats_numbers_its_own_way():
    # Every number a coordinator sees goes through reports/display.py; a bare ":.2f" would round
    # 0.725 to 0.72 while the workbook shows 0.73.
    outputs = [
        "dermstudy/reports/text.py",
        "dermstudy/reports/figures.py",
        "dermstudy/reports/tables.py",
        "dermstudy/reports/excel.py",
        "dermstudy/ui/panels/results.py",
    ]
    pattern = re.compile(r"\{[^{}]*:\.\d+[f%]\}")
    offenders = [
        f"{name}:{number}: {line.strip()}"
        for name in outputs
        for number, line in enumerate((ROOT / name).read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert offenders == []


@pytest.fixture
def two_readers(workspace):
    make_tiny_study(workspace, readers="AB")
    data = load_study(workspace, "tiny")
    return data, build_report(data, n_resamples=50)


def test_text_panel_and_workbook_agree_on_a_half(two_readers, tmp_path):
    from dermstudy.ui.panels.results import format_cell

    data, report = two_readers
    report = copy.deepcopy(report)
    report["entity"]["per_class"]["mel"]["precision"] = 29 / 40
    text = render_text(report)
    mel_line = next(line for line in text.splitlines() if line.startswith("mel "))
    assert "0.73" in mel_line.split() and "0.72" not in mel_line.split()
    assert format_value(29 / 40, True) == format_cell(29 / 40, True) == "0.73"
    path = tmp_path / "r.xlsx"
    write_outputs(report, data, None, xlsx_path=path)
    cell = next(
        r for r in load_workbook(path)["Entity"].iter_rows(min_row=4) if r[0].value == "mel"
    )
    # The workbook keeps the full value under a "0.00" format; spreadsheets round that half up.
    assert cell[2].value == 29 / 40 and cell[2].number_format == "0.00"
    assert "rounded half away from zero" in report["methods"]["rounding"]


def test_out_of_range_interval_is_clipped_where_shown_and_raw_in_json(two_readers, tmp_path):
    data, report = two_readers
    averaged = report["reader_summary"]["reader_averaged_auc"]["ai_vs_real"]
    assert isinstance(averaged, dict) and len(averaged["reader_aucs"]) == 2
    report = copy.deepcopy(report)
    rr = report["reader_summary"]["reader_averaged_auc"]["ai_vs_real"]["random_readers"]
    rr.update(ci_low=-0.02, ci_high=1.59, df=1.0)  # what two readers gave in the field

    table = reader_averaged_table(report)
    row = table.rows[0]
    assert row[5:7] == [0.0, 1.0]
    assert any("shown as 0 or 1" in note for note in table.notes)
    assert any(note.startswith("Warning: AI vs real: Only 2 reader(s)") for note in table.notes)
    assert "Only 2 reader(s)" in render_text(report)

    raw = json.loads(report_json(report))
    raw_rr = raw["reader_summary"]["reader_averaged_auc"]["ai_vs_real"]["random_readers"]
    assert (raw_rr["ci_low"], raw_rr["ci_high"]) == (-0.02, 1.59)

    path = tmp_path / "r.xlsx"
    write_outputs(report, data, None, xlsx_path=path)
    sheet = load_workbook(path)["Reader-averaged AUC"]
    assert "Only 2 reader(s)" in sheet["A2"].value
    values = [c.value for c in next(sheet.iter_rows(min_row=4, max_row=4))]
    assert values[5:7] == [0.0, 1.0]

    title = reader_roc_figure(report).axes[0].get_title()
    assert "[0.00–1.00]" in title and "Caution: only 2 readers" in title
    assert "−0.02" not in title and "1.59" not in title
