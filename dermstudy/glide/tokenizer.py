"""GPT-2 byte-level BPE as GLIDE uses it (spec §5), from the shipped vocabulary files.

``Tokenizer.encode`` lower-cases, splits with the GPT-2 pre-tokenisation rules (written out as a
small scanner over Unicode categories, so no third-party regex module is needed), maps bytes to
symbols and applies the merges. ``padded_tokens_and_mask`` truncates/pads to the text context
exactly as the reference; ``Tokenizer.uncond`` is the empty prompt of classifier-free guidance.
"""

from __future__ import annotations

import functools
import gzip
import json
import unicodedata
from pathlib import Path

import torch

from dermstudy.errors import DermstudyError
from dermstudy.paths import RESOURCES_DIR

TOKENIZER_DIR = RESOURCES_DIR / "tokenizer"
END_OF_TEXT = 50256
_CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")


class TokenizerError(DermstudyError, RuntimeError):
    """The vocabulary files are missing or damaged."""


@functools.cache
def bytes_to_unicode() -> dict[int, str]:
    """The 256-entry byte → symbol table (spec §5.2)."""
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L")


def _is_number(ch: str) -> bool:
    return unicodedata.category(ch).startswith("N")


# str.isspace() also accepts the information separators U+001C-U+001F; the reference's pattern
# (the `regex` module's \s, Unicode White_Space) does not: they are "other" characters there.
_NOT_WHITE_SPACE = frozenset("\x1c\x1d\x1e\x1f")


def _is_space(ch: str) -> bool:
    return ch.isspace() and ch not in _NOT_WHITE_SPACE


def pretokenize(text: str) -> list[str]:
    """Split ``text`` with the GPT-2 pattern's alternatives, tried in order at each position."""
    pieces: list[str] = []
    i, n = 0, len(text)
    while i < n:
        end = _match_at(text, i)
        pieces.append(text[i:end])
        i = end
    return pieces


def _match_at(text: str, i: int) -> int:
    n = len(text)
    for contraction in _CONTRACTIONS:
        if text.startswith(contraction, i):
            return i + len(contraction)
    start = i + 1 if text[i] == " " and i + 1 < n else i
    for accepts in (_is_letter, _is_number, _is_other):
        j = start
        while j < n and accepts(text[j]):
            j += 1
        if j > start:
            return j
    # Whitespace: a run not followed by non-whitespace, i.e. it leaves its last character to the
    # next word; otherwise (at the end of the text) the whole run.
    j = i
    while j < n and _is_space(text[j]):
        j += 1
    if j > i:
        if j < n and j - i > 1:
            return j - 1
        return j
    return i + 1  # unreachable for valid text: every character is covered above


def _is_other(ch: str) -> bool:
    return not (_is_space(ch) or _is_letter(ch) or _is_number(ch))


class Tokenizer:
    """Byte-level BPE with the GLIDE vocabulary (50,257 ids; 50,256 = end of text, used as padding)."""

    def __init__(self, directory: Path | None = None) -> None:
        directory = Path(directory or TOKENIZER_DIR)
        try:
            with gzip.open(directory / "encoder.json.gz", "rt", encoding="utf-8") as handle:
                self.encoder: dict[str, int] = json.load(handle)
            with gzip.open(directory / "vocab.bpe.gz", "rt", encoding="utf-8") as handle:
                lines = handle.read().split("\n")[1:-1]
        except (OSError, ValueError, EOFError) as exc:
            raise TokenizerError(f"{directory}: cannot read the BPE vocabulary ({exc})") from exc
        merges = [tuple(line.split()) for line in lines]
        self.ranks: dict[tuple[str, str], int] = {pair: rank for rank, pair in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()
        self.decoder = {v: k for k, v in self.encoder.items()}
        self.byte_decoder = {v: k for k, v in self.byte_encoder.items()}
        self._cache: dict[str, list[str]] = {}

    @property
    def n_vocab(self) -> int:
        return len(self.encoder)

    def bpe(self, token: str) -> list[str]:
        """Merge the symbols of one pre-token by rank until no known pair remains."""
        if token in self._cache:
            return self._cache[token]
        word = list(token)
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged: list[str] = []
            i = 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        self._cache[token] = word
        return word

    def encode(self, text: str) -> list[int]:
        """BPE ids of ``text`` (lower-cased; no begin/end tokens)."""
        ids: list[int] = []
        for piece in pretokenize(text.lower()):
            symbols = "".join(self.byte_encoder[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[s] for s in self.bpe(symbols))
        return ids

    def decode(self, ids: list[int]) -> str:
        text = "".join(self.decoder[i] for i in ids)
        return bytes(self.byte_decoder[c] for c in text).decode("utf-8", errors="replace")

    def padded_tokens_and_mask(self, ids: list[int], text_ctx: int) -> tuple[list[int], list[bool]]:
        """Keep the first ``text_ctx`` ids, right-pad with 50,256; mask true for real tokens."""
        ids = list(ids)[:text_ctx]
        padding = text_ctx - len(ids)
        return ids + [END_OF_TEXT] * padding, [True] * len(ids) + [False] * padding

    def batch(self, prompts: list[str], text_ctx: int) -> tuple[torch.Tensor, torch.Tensor]:
        """int64 tokens and bool mask [len(prompts), text_ctx]."""
        rows = [self.padded_tokens_and_mask(self.encode(p), text_ctx) for p in prompts]
        tokens = torch.tensor([r[0] for r in rows], dtype=torch.long)
        mask = torch.tensor([r[1] for r in rows], dtype=torch.bool)
        return tokens, mask

    def uncond(self, batch: int, text_ctx: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The empty prompt: all padding, all-false mask."""
        return self.batch([""] * batch, text_ctx)


@functools.cache
def default_tokenizer() -> Tokenizer:
    """The shipped tokenizer, loaded once (read-only after loading)."""
    return Tokenizer()
