"""The one base of every error whose message is meant for the user.

Each package keeps its own named error class (``StudyError``, ``GenerationError``, ...), and each
of them subclasses :class:`DermstudyError` (besides ``ValueError`` or ``RuntimeError`` where callers
catch those). ``dermstudy.cli.main`` turns any ``DermstudyError`` into the one-line message
``dermstudy: error: ...`` and exit code 2, so command handlers let them through instead of
re-raising each one; the GUI shows the same message in a dialog. Cancelling a job is not an error
(``dermstudy.jobs.Cancelled``).
"""

from __future__ import annotations


class DermstudyError(Exception):
    """Bad input, settings or files the user can fix; the message names what and why in one line."""
