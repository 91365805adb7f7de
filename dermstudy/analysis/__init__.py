"""Study analysis: answers as a tidy table, reports built on scikit-learn, ROC/AUC with intervals.

* :mod:`~dermstudy.analysis.data` — the only SQL: a study's answers (reader x case), key, predictions.
* :mod:`~dermstudy.analysis.metrics` — classification reports, confusion matrices, AUCs, kappas.
* :mod:`~dermstudy.analysis.roc` — DeLong, case bootstrap, Obuchowski-Rockette/Hillis multi-reader AUC.
* :mod:`~dermstudy.analysis.report` — the whole report as one dict (the ``--json`` contract).
* :mod:`~dermstudy.analysis.predictions` — importing classifier predictions for the reader-vs-model table.
"""
