"""The seven HAM10000 diagnostic entities: codes, display names, prompts and report order.

This module is the one place that knows them; everything else asks it.
"""

from __future__ import annotations

from dataclasses import dataclass

from dermstudy.errors import DermstudyError


@dataclass(frozen=True)
class Entity:
    code: str
    name: str
    short_name: str
    prompt: str


# Report order of the research (mel, nv, akiec, bkl, bcc, df, vasc); keys 1-7 in the reader window.
ENTITIES: tuple[Entity, ...] = (
    Entity("mel", "melanoma", "Melanoma", "a dermoscopic image of melanoma"),
    Entity("nv", "melanocytic nevi", "Nevus", "a dermoscopic image of melanocytic nevi"),
    Entity(
        "akiec",
        "actinic keratoses and intraepithelial carcinoma / Bowen's disease",
        "AK / Bowen",
        "a dermoscopic image of actinic keratoses and intraepithelial carcinoma",
    ),
    Entity(
        "bkl",
        "benign keratosis-like lesions",
        "Benign keratosis",
        "a dermoscopic image of benign keratosis-like lesions",
    ),
    Entity("bcc", "basal cell carcinoma", "BCC", "a dermoscopic image of basal cell carcinoma"),
    Entity("df", "dermatofibroma", "Dermatofibroma", "a dermoscopic image of dermatofibroma"),
    Entity("vasc", "vascular lesions", "Vascular", "a dermoscopic image of vascular lesions"),
)

CODES: tuple[str, ...] = tuple(e.code for e in ENTITIES)
BY_CODE: dict[str, Entity] = {e.code: e for e in ENTITIES}

# Extra spellings that people type; matched after lower-casing and whitespace folding.
_ALIASES: dict[str, str] = {
    "melanocytic nevus": "nv",
    "nevus": "nv",
    "nevi": "nv",
    "actinic keratoses": "akiec",
    "actinic keratosis": "akiec",
    "bowen's disease": "akiec",
    "bowen": "akiec",
    "benign keratosis": "bkl",
    "benign keratosis-like lesion": "bkl",
    "basal cell carcinoma": "bcc",
    "vascular lesion": "vasc",
}


class UnknownEntityError(DermstudyError, ValueError):
    """Raised when text names none of the seven entities."""


def _fold(text: str) -> str:
    return " ".join(str(text).strip().lower().split())


def parse_entity(text: str) -> str:
    """Return the HAM10000 code for a code, display name, short name or alias (case-insensitive)."""
    key = _fold(text)
    if key in BY_CODE:
        return key
    for entity in ENTITIES:
        if key in (_fold(entity.name), _fold(entity.short_name)):
            return entity.code
    if key in _ALIASES:
        return _ALIASES[key]
    raise UnknownEntityError(
        f"unknown entity {text!r}; expected one of {', '.join(CODES)} or their names"
    )


def entity_index(code: str) -> int:
    """Position of an entity in report order (0-based)."""
    return CODES.index(parse_entity(code))
