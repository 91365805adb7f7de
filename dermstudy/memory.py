"""Peak memory of this process, where the platform can tell.

The ``resource`` module exists only on POSIX systems; it is imported here, inside the function and
only where it exists, so that importing the training loop or the benches works on Windows too.
"""

from __future__ import annotations

import sys


def peak_rss_mb() -> float | None:
    """The process's peak resident set size in MiB; None where the platform does not report it."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024
