"""A study's ratings in the file formats of the field's MRMC tools, and readers for those formats.

Owns ``dermstudy study export-ratings``: the AI-vs-real task of a study as an ROC ratings table
(truth 1 = synthetic image, rating = the reader's five-point AI scale, 5 = surely AI; a binary
study's vote counts 2 for "real" and 4 for "AI"), written as

- ``mrmcaov-csv``: long CSV ``reader, case, modality, truth, rating`` (MRMCaov, RJafroc, and
  ``dermstudy mrmc``);
- ``imrmc``: iMRMC's text format (header, ``BEGIN DATA:``, ``-1,case,truth,0|1`` rows, then
  ``reader,case,modality,score`` rows);
- ``lrc``: the Iowa OR-DBM MRMC / LABMRMC ``.lrc`` layout (per reader: normal cases, ``*``,
  abnormal cases, ``*``; ``#`` at the end), which RJafroc also reads;
- ``jafroc``: RJafroc's JAFROC ROC workbook (sheets ``TRUTH``, ``FP``, ``TP``).

The readers (``read_*``) turn each format back into :class:`~dermstudy.analysis.mrmc.Ratings`;
the tests read both our files and the upstream examples with them.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dermstudy.analysis.metrics import ai_rating
from dermstudy.analysis.mrmc import MrmcInputError, Ratings, ratings_from_rows

FORMATS = {"mrmcaov-csv": ".csv", "imrmc": ".imrmc", "lrc": ".lrc", "jafroc": ".xlsx"}
RATING_RULE = (
    "truth 1 = synthetic image; rating = the reader's AI scale 1-5 (5 = surely AI), "
    "or 2 (real) / 4 (AI) where the study asked for a binary vote"
)


@dataclass(frozen=True)
class StudyRatings:
    """The ratings of one study plus what was left out and why."""

    ratings: Ratings
    left_out: list[str]
    note: str = RATING_RULE


def study_ratings(answers: pd.DataFrame, modality: str = "0") -> StudyRatings:
    """The AI-vs-real ratings of the readers who answered every scored case.

    ``answers`` is the answer frame of :func:`dermstudy.analysis.data.load_answers`. Readers with
    a missing answer are left out (named in ``left_out``): the MRMC formats want a fully crossed
    design.
    """
    left_out = []
    keep = []
    for reader, rows in answers.groupby("reader", sort=False):
        missing = int(rows["missing"].sum())
        if missing:
            left_out.append(f"{reader} ({missing} of {len(rows)} cases unanswered)")
        else:
            keep.append(reader)
    if len(keep) < 2:
        raise MrmcInputError(
            f"only {len(keep)} reader(s) answered every case; MRMC exports need at least 2"
            + (f" (left out: {'; '.join(left_out)})" if left_out else "")
        )
    rows = answers[answers["reader"].isin(keep)]
    rating = ai_rating(rows)  # a binary answer sits at 4 (ai) or 2 (real), as in the report
    table = [
        {
            "reader": r,
            "case": c,
            "modality": modality,
            "truth": "1" if s == "synthetic" else "0",
            "rating": repr(float(v)),
        }
        for r, c, s, v in zip(
            rows["reader"], rows["case"], rows["true_source"], rating, strict=True
        )
    ]
    return StudyRatings(ratings_from_rows(table, "study"), left_out)


def _rating_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _long_rows(ratings: Ratings):
    for t, modality in enumerate(ratings.modalities):
        for r, reader in enumerate(ratings.readers):
            for c, case in enumerate(ratings.cases):
                yield reader, case, modality, int(ratings.truth[c]), ratings.scores[t, r, c]


def write(ratings: Ratings, fmt: str, path: Path, title: str = "dermstudy ratings") -> Path:
    """Write ``ratings`` in format ``fmt`` (a key of :data:`FORMATS`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "mrmcaov-csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle, lineterminator="\n")
            out.writerow(["reader", "case", "modality", "truth", "rating"])
            for reader, case, modality, truth, score in _long_rows(ratings):
                out.writerow([reader, case, modality, truth, _rating_text(score)])
    elif fmt == "imrmc":
        path.write_text(_imrmc_text(ratings, title), encoding="utf-8")
    elif fmt == "lrc":
        path.write_text(_lrc_text(ratings, title), encoding="utf-8")
    elif fmt == "jafroc":
        _write_jafroc(ratings, path)
    else:
        raise MrmcInputError(f"unknown format {fmt!r}; use {', '.join(FORMATS)}")
    return path


def _safe(label: str, what: str) -> str:
    if re.search(r"[\s,\"*#]", label):
        raise MrmcInputError(f"{what} {label!r} has a space, comma, quote, * or #; rename it")
    return label


def _imrmc_text(ratings: Ratings, title: str) -> str:
    y = ratings.truth
    lines = [
        title,
        f"N0:{int((~y).sum())}",
        f"N1:{int(y.sum())}",
        f"NR:{len(ratings.readers)}",
        f"NM:{len(ratings.modalities)}",
        "BEGIN DATA:",
    ]
    lines += [
        f"-1,{_safe(c, 'case')},truth,{int(t)}" for c, t in zip(ratings.cases, y, strict=True)
    ]
    for reader, case, modality, _, score in _long_rows(ratings):
        lines.append(f"{_safe(reader, 'reader')},{case},{_safe(modality, 'modality')},{score:f}")
    return "\n".join(lines) + "\n"


def _lrc_text(ratings: Ratings, title: str) -> str:
    y = ratings.truth
    normal, abnormal = np.flatnonzero(~y), np.flatnonzero(y)
    lines = [title]
    for r, reader in enumerate(ratings.readers):
        lines.append(_safe(reader, "reader"))
        if r == 0:
            lines.append("".join(f'   "{_safe(m, "modality")}"' for m in ratings.modalities))
            lines.append("".join("       L" for _ in ratings.modalities))
        for label, group in (("Normal", normal), ("Abnormal", abnormal)):
            for n, c in enumerate(group, start=1):
                values = "".join(
                    f"{ratings.scores[t, r, c]:11.6f}" for t in range(len(ratings.modalities))
                )
                lines.append(f"{values}   {label} Case {n}")
            lines.append("*")
    lines.append("#")
    return "\n".join(lines) + "\n"


def _write_jafroc(ratings: Ratings, path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    truth = wb.active
    truth.title = "TRUTH"
    truth.append(["CaseID", "LesionID", "Weight"])
    for case, t in zip(ratings.cases, ratings.truth, strict=True):
        truth.append([_cell(case), int(t), int(t)])
    fp, tp = wb.create_sheet("FP"), wb.create_sheet("TP")
    fp.append(["ReaderID", "ModalityID", "CaseID", "FP_Rating"])
    tp.append(["ReaderID", "ModalityID", "CaseID", "LesionID", "TP_Rating"])
    for reader, case, modality, t, score in _long_rows(ratings):
        row = [_cell(reader), _cell(modality), _cell(case)]
        if t:
            tp.append([*row, 1, _cell(score)])
        else:
            fp.append([*row, _cell(score)])
    wb.save(path)


def _cell(value: object) -> object:
    """Numbers as numbers (RJafroc reads numeric IDs), everything else as text."""
    if isinstance(value, (float, np.floating)):
        return int(value) if float(value).is_integer() else float(value)
    text = str(value)
    return int(text) if text.isdigit() else text


# --- reading the formats back ----------------------------------------------------------------


def _from_rows(rows: list[dict[str, str]], source: str) -> Ratings:
    return ratings_from_rows(rows, source)


def read_imrmc(path: str | Path) -> Ratings:
    """Read an iMRMC file (the truth rows and the reader,case,modality,score rows)."""
    lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip().upper() == "BEGIN DATA:")
    except StopIteration:
        raise MrmcInputError(f"{path}: no 'BEGIN DATA:' line (not an iMRMC file)") from None
    truth: dict[str, str] = {}
    scores = []
    for line in lines[start + 1 :]:
        if not line.strip():
            continue
        reader, case, modality, value = (part.strip() for part in line.split(","))
        if reader == "-1" and modality.lower() == "truth":
            truth[case] = str(int(float(value)))
        else:
            scores.append((reader, case, modality, value))
    rows = [
        {"reader": r, "case": c, "modality": m, "truth": truth.get(c, "?"), "rating": v}
        for r, c, m, v in scores
    ]
    return _from_rows(rows, str(path))


def read_lrc(path: str | Path) -> Ratings:
    """Read an ``.lrc`` file; cases are named ``N00001..`` (normal) and ``A00001..`` (abnormal) as the
    format keeps only their order."""
    lines = [line.rstrip() for line in Path(path).read_text(encoding="latin-1").splitlines()]
    modalities = re.findall(r'"([^"]*)"', lines[2])
    rows = []
    i = 1
    while i < len(lines) and lines[i].strip() != "#":
        reader = lines[i].strip()
        i += 1
        if lines[i].lstrip().startswith('"'):
            i += 2  # modality names and the L/H direction line (first reader only)
        for prefix, truth in (("N", "0"), ("A", "1")):
            n = 0
            while lines[i].strip() != "*":
                n += 1
                values = lines[i].split()[: len(modalities)]
                for modality, value in zip(modalities, values, strict=True):
                    rows.append(
                        {
                            "reader": reader,
                            "case": f"{prefix}{n:05d}",
                            "modality": modality,
                            "truth": truth,
                            "rating": value,
                        }
                    )
                i += 1
            i += 1
    return _from_rows(rows, str(path))


def read_jafroc(path: str | Path) -> Ratings:
    """Read a JAFROC ROC workbook (TRUTH, FP, TP sheets). An absent rating counts as lower than
    every given one, as in RJafroc (which stores it as -Inf)."""
    sheets = pd.read_excel(path, sheet_name=None)
    names = {name.upper(): frame for name, frame in sheets.items()}
    if not {"TRUTH", "FP", "TP"} <= set(names):
        raise MrmcInputError(f"{path}: needs sheets TRUTH, FP and TP")
    truth = names["TRUTH"]
    truth_of = {
        str(c): "1" if int(w) > 0 else "0"
        for c, w in zip(truth["CaseID"], truth["LesionID"], strict=True)
    }
    given = {}
    for sheet, col in (("FP", "FP_Rating"), ("TP", "TP_Rating")):
        frame = names[sheet]
        for r, m, c, v in zip(
            frame["ReaderID"], frame["ModalityID"], frame["CaseID"], frame[col], strict=True
        ):
            given[(str(r), str(m), str(c))] = float(v)
    readers = sorted({k[0] for k in given})
    modalities = sorted({k[1] for k in given})
    floor = min(given.values()) - 1.0
    rows = [
        {
            "reader": r,
            "case": c,
            "modality": m,
            "truth": truth_of[c],
            "rating": repr(given.get((r, m, c), floor)),
        }
        for m in modalities
        for r in readers
        for c in truth_of
    ]
    return _from_rows(rows, str(path))


READERS = {"mrmcaov-csv": None, "imrmc": read_imrmc, "lrc": read_lrc, "jafroc": read_jafroc}


def read(path: str | Path, fmt: str) -> Ratings:
    """Read a ratings file of format ``fmt`` back."""
    if fmt == "mrmcaov-csv":
        from dermstudy.analysis.mrmc import read_ratings_csv

        return read_ratings_csv(path)
    return READERS[fmt](path)
