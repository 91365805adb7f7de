"""Errors shown in a panel speak of the panel's controls: command-line flags become field names.

The library and the child ``dermstudy`` processes word their errors for the command line
("pass --init FILE or --init scratch"); a panel passes such a message through :func:`in_gui_terms`
with its own map of flag → field label.
"""

from __future__ import annotations

import re


def in_gui_terms(message: str, labels: dict[str, str]) -> str:
    """``message`` with every flag in ``labels`` (longest first) replaced by “its field label”."""
    for flag in sorted(labels, key=len, reverse=True):
        message = re.sub(rf"{re.escape(flag)}(?![\w-])", f"“{labels[flag]}”", message)
    return message


GENERATOR_LABELS = {
    "--entity CODE": "Entity",
    "--prompt TEXT": "Custom prompt",
    "--entity": "Entity",
    "--prompt": "Custom prompt",
    "--count": "Images",
    "--seed": "First seed",
    "--guidance": "Guidance scale",
    "--sampler": "Sampler",
    "--batch-size": "Batch size",
    "--device": "Device",
    "--dtype": "Precision",
    "--base-steps": "Base steps",
    "--upsample-steps": "Upsampler steps",
    "--temperature": "Upsampler temperature",
    "--no-upsample": "Upsample to 256×256",
    "--base": "Base (64 px)",
    "--upsampler": "Upsampler",
}
READING_LABELS = {"--reader NAME": "Reader name", "--reader": "Reader name"}
STUDY_LABELS = {"--harmonise": "Harmonise images"}
