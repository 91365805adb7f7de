"""``votes import``: CSV/XLSX answers, bad rows by line number, all-or-nothing, --skip-invalid."""

from __future__ import annotations

import openpyxl
import pytest

from dermstudy.reading.votes_import import VotesFileError, import_votes
from dermstudy.study.queries import answer_key, find_study


@pytest.fixture
def study(new_study, library):
    new_study(real_per_entity=1, synthetic_per_entity=1, entities=["mel", "nv", "df"])
    return library


def _codes(ws):
    return [k["case"] for k in answer_key(ws, "s1")]


def _stored(ws, reader="r1"):
    return ws.conn.execute(
        "SELECT c.code, v.entity, v.ai_scale, v.ai_vote, v.entity_confidence, v.seconds, v.origin "
        "FROM votes v JOIN sessions s ON s.id = v.session_id JOIN readers r ON r.id = s.reader_id "
        "JOIN cases c ON c.id = v.case_id WHERE r.name = ? ORDER BY c.code",
        (reader,),
    ).fetchall()


def test_valid_csv_imports_codes_names_scales_and_binary(study, tmp_path):
    a, b, c, *_ = _codes(study)
    path = tmp_path / "votes.csv"
    path.write_text(
        "\ufeffCase,Entity,AI_or_Real,entity_confidence,seconds\n"
        f"{a},melanoma,5,,12.5\n"
        f"{b.lower()},nv,1,,\n"
        f"\n"
        f"{c},Dermatofibroma,3,,\n",
        encoding="utf-8",
    )
    result = import_votes(study, find_study(study, "s1"), "r1", path)
    assert result.imported and result.inserted == 3 and not result.errors
    stored = {row[0]: row[1:] for row in _stored(study)}
    assert stored[a] == ("mel", 5, "ai", None, 12.5, "file-import")
    assert stored[b] == ("nv", 1, "real", None, None, "file-import")
    assert stored[c] == ("df", 3, "real", None, None, "file-import")
    again = import_votes(study, find_study(study, "s1"), "r1", path)  # same file twice is harmless
    assert again.imported and again.inserted == 0 and again.unchanged == 3


def test_bad_rows_reported_with_line_numbers_and_nothing_imported(study, tmp_path):
    a, b, c, d, *_ = _codes(study)
    path = tmp_path / "votes.csv"
    path.write_text(
        "case,entity,ai_or_real\n"
        f"{a},mel,5\n"  # line 2 fine
        "ZZZZ-ZZZZ,mel,ai\n"  # line 3 unknown case
        f"{b},psoriasis,ai\n"  # line 4 unknown entity
        f"{c},nv,maybe\n"  # line 5 bad ai_or_real
        f"{a},nv,real\n"  # line 6 duplicate case
        f"{d},nv,9\n",  # line 7 scale out of range
    )
    result = import_votes(study, find_study(study, "s1"), "r1", path)
    assert not result.imported
    assert [line for line, _msg in result.errors] == [3, 4, 5, 6, 7]
    messages = dict(result.errors)
    assert "not a case of this study" in messages[3]
    assert "psoriasis" in messages[4]
    assert "first on line 2" in messages[6]
    assert _stored(study) == []
    assert result.error_lines()[0].startswith(f"{path}:3: ")

    skipped = import_votes(study, find_study(study, "s1"), "r1", path, skip_invalid=True)
    assert skipped.imported and skipped.inserted == 1
    assert [row[0] for row in _stored(study)] == [a]


def test_existing_different_answer_is_a_bad_row(study, tmp_path):
    a = _codes(study)[0]
    first = tmp_path / "first.csv"
    first.write_text(f"case,entity,ai_or_real\n{a},mel,4\n")
    import_votes(study, find_study(study, "s1"), "r1", first)
    second = tmp_path / "second.csv"
    second.write_text(f"case,entity,ai_or_real\n{a},nv,4\n")
    result = import_votes(study, find_study(study, "s1"), "r1", second)
    assert not result.imported and "never overwritten" in result.errors[0][1]
    assert _stored(study)[0][1] == "mel"


def test_xlsx_with_numbers_as_cells(study, tmp_path):
    a, b, *_ = _codes(study)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["case", "entity", "ai_or_real", "seconds"])
    sheet.append([a, "bkl", 2, 3.25])
    sheet.append([b, "vasc", 5, None])
    path = tmp_path / "votes.xlsx"
    book.save(path)
    result = import_votes(study, find_study(study, "s1"), "r2", path)
    assert result.imported and result.inserted == 2
    stored = {row[0]: row[1:6] for row in _stored(study, "r2")}
    assert stored[a] == ("bkl", 2, "real", None, 3.25)
    assert stored[b] == ("vasc", 5, "ai", None, None)


def test_bad_header_and_file_type(study, tmp_path):
    path = tmp_path / "votes.csv"
    path.write_text("case,diagnosis,ai_or_real\nX,mel,ai\n")
    with pytest.raises(VotesFileError, match=r"votes.csv:1: .*missing column\(s\) entity"):
        import_votes(study, find_study(study, "s1"), "r1", path)
    other = tmp_path / "votes.txt"
    other.write_text("x")
    with pytest.raises(VotesFileError, match=r"csv or \.xlsx"):
        import_votes(study, find_study(study, "s1"), "r1", other)
