"""Qt-free view models: what each coordinator panel shows, as plain data built from core results.

A panel asks the core (``dataset_summary``, ``study_summary``, the analysis report, a
``QualityReport``, an ablation's ``result.json``…) for its data, turns it into one of these with a
pure function, and only copies the ready strings and numbers into its widgets; a panel that follows
a child process keeps the run's state in one (``classifier.AblationView``). Nothing here imports Qt
or opens a workspace, so each can be tested with plain dicts and dataclasses.
"""
