"""Read the figures out of the Iowa OR-DBM MRMC 2.51 and JAFROC 4.2.1 printed outputs.

The expected values of the MRMC tests are the strings these programs printed (kept verbatim in
tests/data/mrmc/, see PROVENANCE.md); a test formats our number with the same count of decimals
and compares the strings, i.e. agreement "to every printed digit".
"""

from __future__ import annotations

import re
from pathlib import Path

NUM = r"-?\d+\.\d+|-?\d+"


def _section(text: str, start: str, end: str | None = None) -> str:
    begin = text.index(start)
    stop = text.index(end, begin) if end else len(text)
    return text[begin:stop]


def _rows(block: str, pattern: str) -> list[tuple[str, ...]]:
    return re.findall(pattern, block, flags=re.M)


def _split(rows: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    return [(*head.split(), *tail) for head, *tail in rows]


def decimals(printed: str) -> int:
    return len(printed.split(".")[1]) if "." in printed else 0


def iowa(path: Path) -> dict:
    """The OR analysis figures of an Iowa OR-DBM MRMC 2.51 output, as printed strings."""
    text = path.read_text(encoding="latin-1")
    out: dict = {}
    est = _section(text, "TREATMENT x READER AUC ESTIMATES", "TREATMENT AUC MEANS")
    out["reader_aucs"] = [row[1].split() for row in _rows(est, r"^\s+(\d+)\s+((?:\d\.\d{8}\s*)+)$")]
    means = _section(text, "TREATMENT AUC MEANS", "TREATMENT AUC MEAN DIFFERENCES")
    out["means"] = [m for _, m in _rows(means, r"^\s+(\d+)\s+(\d\.\d{8})\s*$")]
    anova = _section(text, "TREATMENT X READER ANOVA", "READER ANOVAs")
    out["anova"] = {
        s: (ss, df, ms)
        for s, ss, df, ms in _rows(anova, r"^\s+(T|R|T\*R)\s+(\S+)\s+(\d+)\s+(\S+)\s*$")
    }
    per_t = _section(text, "READER ANOVAs", "Variance component")
    out["ms_r_each"] = _rows(per_t, r"^\s+R\s+\d+\s+(.*)$")[0].split()
    orc = _section(text, "Obuchowski-Rockette variance", "Corresponding DBM")
    out["or_components"] = {
        name: rest.split()
        for name, rest in _rows(orc, r"^ (Var\(R\)|Var\(T\*R\)|COV\d|Var\(Error\))\s+(.*)$")
    }
    dbm = _section(text, "Corresponding DBM", "Analysis 1")
    out["dbm_components"] = {
        name.strip(): value
        for name, value in _rows(dbm, r"^ (Var\(.*?\)(?: \+ Var\(Error\))?)\s+(-?\d\.\d{8})\s*$")
    }
    a1 = _section(text, "Analysis 1 (OR", "Analysis 2 (OR")
    a2 = _section(text, "Analysis 2 (OR", "Analysis 3 (OR")
    a3 = _section(text, "Analysis 3 (OR", "REFERENCES")
    diff = r"^\s+\d+ - \d+\s+(.*?)\s+\(\s*(\S+) ,\s+(\S+)\)\s*$"
    out["rrrc"] = {
        "treatment": _rows(a1, r"^ Treatment\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$")[0],
        "error": _rows(a1, r"^ Error term\s+(\S+)\s+(\S+)\s*$")[0],
        "diff": _split(_rows(a1, diff)),
        "single": _rows(
            a1, r"^\s+(\d+)\s+(\d\.\d{8})\s+(\S+)\s+(\S+)\s+\((\S+) , (\S+)\)\s+(\S+)\s*$"
        ),
    }
    out["frrc"] = {
        "chi2": _rows(a2, r"^\s+(\d+\.\d{5})\s+(\d+)\s+(\d\.\d{4})\s*$")[0],
        "diff": _rows(
            a2, r"^\s+\d+ - \d+\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+\(\s*(\S+) ,\s+(\S+)\)\s*$"
        ),
        "single": _rows(a2, r"^\s+(\d+)\s+(\d\.\d{8})\s+(\S+)\s+\((\S+) , (\S+)\)\s*$"),
        "var_cov2": _rows(
            _section(a2, "Treatment  Var(Error)", "StdErr"), r"^\s+(\d+)\s+(\S+)\s+(\S+)\s*$"
        ),
        "per_reader": _rows(
            a2,
            r"^\s+(\d+)\s+\d+ - \d+\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+\(\s*(\S+) ,\s+(\S+)\)\s*$",
        ),
        "var_cov1": _rows(
            _section(a2, "Reader  Var(Error)", "StdErr"), r"^\s+(\d+)\s+(\S+)\s+(\S+)\s*$"
        ),
    }
    out["rrfc"] = {
        "treatment": _rows(a3, r"^ Treatment\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$")[0],
        "tr": _rows(a3, r"^ T\*R\s+(\d+)\s+(\S+)\s*$")[0],
        "diff": _split(_rows(a3, diff)),
        "single": _rows(
            a3, r"^\s+(\d+)\s+(\d\.\d{8})\s+(\S+)\s+(\S+)\s+(\d+)\s+\((\S+) , (\S+)\)\s*$"
        ),
    }
    return out


def jafroc(path: Path) -> dict:
    """The DBM test figures (parts a and b of analyses 1-3) of the JAFROC 4.2.1 output."""
    text = path.read_text(encoding="latin-1")
    out = {}
    for key, start, end in (
        ("rrrc", "Analysis 1: Random", "Analysis 2: Fixed"),
        ("frrc", "Analysis 2: Fixed", "Analysis 3: Random"),
        ("rrfc", "Analysis 3: Random", "REFERENCES"),
    ):
        block = _section(text, start, end)
        out[key] = {
            "treatment": _rows(block, r"^ Treatment\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$")[0],
            "error": _rows(block, r"^ Error\s+(\S+)\s+(\S+)\s*$")[0],
            "diff": _rows(
                block,
                r"^\d+\s+- \d+\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+) ,\s+(\S+)\s*$",
            )[0],
        }
    d = _section(text, "d) Treatment-by-case", "Analysis 3: Random")
    out["frrc"]["per_reader"] = _rows(
        d, r"^\d+\s+\d+\s+-\d+\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+) ,\s+(\S+)\s*$"
    )
    return out
