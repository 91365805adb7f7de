"""Views of a study report: tables, text, matplotlib figures and the openpyxl workbook.

* :mod:`~dermstudy.reports.tables` — the report as titled tables (shared by every view).
* :mod:`~dermstudy.reports.text` — the terminal rendering.
* :mod:`~dermstudy.reports.figures` — confusion matrices, ROC curves, per-reader bars (no pyplot).
* :mod:`~dermstudy.reports.excel` — the coordinator's workbook.
* :mod:`~dermstudy.reports.bundle` — writing JSON, figures and workbook in one call.
"""
