"""Reader studies: from the workspace's image library to a frozen, blinded set of cases.

* :mod:`~dermstudy.study.pools` — the real and synthetic image pools a study draws from (filters,
  excluded sets and splits, one image per lesion) and seeded drawing from them;
* :mod:`~dermstudy.study.builder` — ``StudyDesign`` and ``create_study``: draw, blind and freeze the
  cases, with the reading settings the reader window and the analysis follow;
* :mod:`~dermstudy.study.blinding` — one image format and size for every case, opaque case codes;
* :mod:`~dermstudy.study.audit` — can simple image features tell real cases from synthetic ones?
* :mod:`~dermstudy.study.image_sets` — named lists of images a study can keep out of its pools;
* :mod:`~dermstudy.study.package` — the reader-package format: export for offline workstations,
  reading from a package there, and merging its answers back;
* :mod:`~dermstudy.study.queries` — the coordinator's view: study list, summary, answer key, delete.

Reading the cases and recording answers is :mod:`dermstudy.reading`; analysing them is
:mod:`dermstudy.analysis`.
"""
