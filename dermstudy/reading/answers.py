"""What a reader answers for one case, the two AI-vs-real answer scales, and the reading settings.

The five-point scale (``five-point`` studies) is stored as ``votes.ai_scale`` 1..5:

    1 definitely real · 2 probably real · 3 unsure · 4 probably AI · 5 definitely AI

The binary vote ``votes.ai_vote`` ('ai' | 'real') is always stored as well, so the research's binary
analysis can run on any study. For five-point answers it is *derived* by one documented rule,
:data:`AI_THRESHOLD`: a case counts as an AI call only when the reader said at least "probably AI"
(scale >= 4). "Unsure" (3) therefore yields ``ai_vote = 'real'`` ("not called AI"). Because the scale
itself is stored, an analysis can always tell a derived vote (``ai_scale`` not null) from a vote the
reader gave directly on the binary form (``ai_scale`` null) and can treat "unsure" separately.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from dermstudy.entities import UnknownEntityError, parse_entity
from dermstudy.errors import DermstudyError

FIVE_POINT = "five-point"
BINARY = "binary"
ANSWER_SCALES: tuple[str, ...] = (FIVE_POINT, BINARY)

# Five-point AI-vs-real scale: value -> label shown to the reader (5 = definitely AI).
AI_SCALE_LABELS: dict[int, str] = {
    1: "definitely real",
    2: "probably real",
    3: "unsure",
    4: "probably AI",
    5: "definitely AI",
}
BINARY_LABELS: dict[str, str] = {"real": "real", "ai": "AI-generated"}
CONFIDENCE_LABELS: dict[int, str] = {
    1: "very unsure",
    2: "unsure",
    3: "moderately sure",
    4: "sure",
    5: "very sure",
}

# Scale values at or above this are AI calls in the derived binary vote (see the module docstring).
AI_THRESHOLD = 4

ORDER_SAME = "same"
ORDER_PER_READER = "per-reader"
ORDERS: tuple[str, ...] = (ORDER_SAME, ORDER_PER_READER)


class InvalidAnswerError(DermstudyError, ValueError):
    """An answer that does not fit the scale or the study's settings; the message says why."""


def derive_ai_vote(ai_scale: int) -> str:
    """The binary vote implied by a five-point answer: 'ai' for 4-5, 'real' for 1-3."""
    if ai_scale not in AI_SCALE_LABELS:
        raise InvalidAnswerError(f"AI-vs-real scale must be 1..5, got {ai_scale!r}")
    return "ai" if ai_scale >= AI_THRESHOLD else "real"


@dataclass(frozen=True)
class Answer:
    """One reader's answer for one case.

    ``entity``: an entity code (names are accepted and normalised to the code).
    ``ai_scale``: 1..5 on five-point studies (5 = definitely AI), else None.
    ``ai_vote``: 'ai' | 'real'; derived from ``ai_scale`` when that is given (see module docstring).
    ``entity_confidence``: 1..5 when the study collects it, else None.
    ``seconds``: time spent on the case; None lets :meth:`ReadingSession.submit` fill it from its timer.
    """

    entity: str
    ai_scale: int | None = None
    ai_vote: str | None = None
    entity_confidence: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "entity", parse_entity(self.entity))
        except UnknownEntityError as exc:
            raise InvalidAnswerError(str(exc)) from None
        if self.ai_scale is not None:
            scale = _as_int(self.ai_scale, "AI-vs-real scale")
            derived = derive_ai_vote(scale)
            if self.ai_vote is not None and self.ai_vote != derived:
                raise InvalidAnswerError(
                    f"ai_vote {self.ai_vote!r} contradicts scale {scale} (which means {derived!r})"
                )
            object.__setattr__(self, "ai_scale", scale)
            object.__setattr__(self, "ai_vote", derived)
        elif self.ai_vote not in ("ai", "real"):
            raise InvalidAnswerError(
                f"an answer needs the AI-vs-real scale (1..5) or ai_vote 'ai'/'real', got {self.ai_vote!r}"
            )
        if self.entity_confidence is not None:
            confidence = _as_int(self.entity_confidence, "entity confidence")
            if confidence not in CONFIDENCE_LABELS:
                raise InvalidAnswerError(f"entity confidence must be 1..5, got {confidence}")
            object.__setattr__(self, "entity_confidence", confidence)
        if self.seconds is not None:
            seconds = float(self.seconds)
            if not math.isfinite(seconds) or seconds < 0:
                raise InvalidAnswerError(
                    f"seconds must be a non-negative number, got {self.seconds!r}"
                )
            object.__setattr__(self, "seconds", seconds)

    def with_seconds(self, seconds: float | None) -> Answer:
        return replace(self, seconds=seconds)

    def same_choice(self, other: Answer | None) -> bool:
        """True when ``other`` gives the same entity, scale/vote and confidence (time ignored)."""
        return other is not None and (
            self.entity,
            self.ai_scale,
            self.ai_vote,
            self.entity_confidence,
        ) == (other.entity, other.ai_scale, other.ai_vote, other.entity_confidence)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _as_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise InvalidAnswerError(f"{what} must be a whole number, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class ReadingSettings:
    """The reader-facing settings of a study (safe to show to a reader: no truth in here).

    ``practice``: how many practice cases come first (answered like the others but not scored).
    ``display_size``: width = height of every blinded case image in pixels.
    Readers always choose among all seven entities in report order (keys 1-7), even when a study
    draws from fewer: narrowing the choices would itself tell the reader something.
    """

    answer_scale: str = FIVE_POINT
    allow_back: bool = True
    entity_confidence: bool = False
    display_size: int = 256
    practice: int = 0
    order: str = ORDER_SAME

    def __post_init__(self) -> None:
        if self.answer_scale not in ANSWER_SCALES:
            raise ValueError(f"answer scale must be one of {', '.join(ANSWER_SCALES)}")
        if self.order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}")
        if self.display_size < 16 or self.practice < 0:
            raise ValueError("display size must be >= 16 and practice cases >= 0")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReadingSettings:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def check(self, answer: Answer) -> None:
        """Raise InvalidAnswerError when ``answer`` does not fit these settings."""
        if self.answer_scale == FIVE_POINT and answer.ai_scale is None:
            raise InvalidAnswerError("this study uses the five-point AI-vs-real scale (1..5)")
        if self.answer_scale == BINARY and answer.ai_scale is not None:
            raise InvalidAnswerError("this study uses the binary AI/real answer, not the scale")
        if self.entity_confidence and answer.entity_confidence is None:
            raise InvalidAnswerError("this study asks for the entity confidence (1..5)")
        if not self.entity_confidence and answer.entity_confidence is not None:
            raise InvalidAnswerError("this study does not collect an entity confidence")
