"""Issue 12 items 8-9: package reads are capped by their known size; bad manifests give one line."""

from __future__ import annotations

import json
import zipfile

import pytest

from dermstudy.reading import ReadingError, open_reading
from dermstudy.study.package import export_package


@pytest.fixture
def package(library, new_study, tmp_path):
    new_study(real_per_entity=1, synthetic_per_entity=0, entities=["mel"])
    out = tmp_path / "p.zip"
    export_package(library, "s1", out)
    return out


def _rewrite(package, replace: dict[str, bytes]):
    with zipfile.ZipFile(package) as archive:
        entries = {n: archive.read(n) for n in archive.namelist()}
    entries.update(replace)
    with zipfile.ZipFile(package, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


def test_a_case_entry_that_inflates_beyond_its_size_is_refused(package):
    with zipfile.ZipFile(package) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    code = manifest["cases"][0]["code"]
    _rewrite(package, {f"cases/{code}.png": bytes(64 << 20)})  # 64 MiB of zeros, tiny deflated
    with open_reading(package, None, "r1") as session:
        index = [session.case_code(i) for i in range(session.total)].index(code)
        with pytest.raises(ReadingError, match="more than the"):
            session.image_bytes(index)


def test_a_huge_manifest_is_refused_before_it_is_read(package):
    _rewrite(package, {"manifest.json": b" " * (40 << 20)})
    with pytest.raises(ReadingError, match=r"unreadable package manifest.*more than"):
        open_reading(package, None, "r1")


@pytest.mark.parametrize(
    "manifest",
    [[], {"format": "dermstudy-reader-package", "version": "x"},
     {"format": "dermstudy-reader-package", "study": "s", "study_uid": "u", "cases": [{"c": 1}]}],
)  # fmt: skip
def test_malformed_manifests_give_one_line(package, manifest):
    _rewrite(package, {"manifest.json": json.dumps(manifest).encode()})
    with pytest.raises(ReadingError, match="package"):
        open_reading(package, None, "r1")
