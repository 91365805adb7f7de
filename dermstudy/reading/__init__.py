"""Reading sessions: the Qt-free state machine a reader window drives, and where answers are stored.

Public API (what the reader window and the Reading panel use)::

    from dermstudy.reading import Answer, ReadingSession, open_reading
"""

from dermstudy.reading.answers import (
    AI_SCALE_LABELS,
    AI_THRESHOLD,
    BINARY,
    BINARY_LABELS,
    CONFIDENCE_LABELS,
    FIVE_POINT,
    Answer,
    InvalidAnswerError,
    ReadingSettings,
    derive_ai_vote,
)
from dermstudy.reading.session import (
    CaseRef,
    NavigationError,
    ReadingError,
    ReadingSession,
    SessionFinishedError,
    open_reading,
)

__all__ = [
    "AI_SCALE_LABELS",
    "AI_THRESHOLD",
    "BINARY",
    "BINARY_LABELS",
    "CONFIDENCE_LABELS",
    "FIVE_POINT",
    "Answer",
    "CaseRef",
    "InvalidAnswerError",
    "NavigationError",
    "ReadingError",
    "ReadingSession",
    "ReadingSettings",
    "SessionFinishedError",
    "derive_ai_vote",
    "open_reading",
]
