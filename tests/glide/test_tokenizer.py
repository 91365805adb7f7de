"""Tokenizer: spec examples, padding/mask/truncation rules, the unconditional prompt."""

from __future__ import annotations

import pytest

from dermstudy.glide.tokenizer import (
    END_OF_TEXT,
    Tokenizer,
    TokenizerError,
    default_tokenizer,
    pretokenize,
)


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("an oil painting of a corgi", [272, 3056, 12036, 286, 257, 1162, 12397]),
        ("An Oil Painting of a Corgi", [272, 3056, 12036, 286, 257, 1162, 12397]),
        ("a dermoscopic image of melanoma", [64, 4587, 16785, 66, 16603, 2939, 286, 34963, 6086]),
        ("it's they're I'M", [270, 338, 484, 821, 1312, 1101]),
        ("  hello   world  ", [220, 23748, 220, 220, 995, 220, 220]),
        ("naïve café 北京 🙂", [2616, 38776, 40304, 10263, 234, 245, 12859, 105, 32485]),
        ("", []),
    ],
)
def test_spec_examples(text, ids) -> None:
    assert default_tokenizer().encode(text) == ids


def test_pretokenizer_gives_whitespace_to_the_next_word() -> None:
    assert pretokenize("a   b") == ["a", "  ", " b"]
    assert pretokenize("x\n\ny") == ["x", "\n", "\n", "y"]
    assert pretokenize("hi!!  ") == ["hi", "!!", "  "]


def test_information_separators_are_not_whitespace() -> None:
    # The reference's \s (Unicode White_Space) excludes U+001C-U+001F, which str.isspace() accepts:
    # they form "other" runs like punctuation, and a following space starts the next word.
    assert pretokenize("a \x1cb") == ["a", " \x1c", "b"]
    assert pretokenize("a\x1d ") == ["a", "\x1d", " "]
    assert pretokenize("x\x1e\x1f  y") == ["x", "\x1e\x1f", " ", " y"]


def test_padding_truncation_and_mask() -> None:
    tok = default_tokenizer()
    tokens, mask = tok.padded_tokens_and_mask([1, 2, 3], 5)
    assert tokens == [1, 2, 3, END_OF_TEXT, END_OF_TEXT]
    assert mask == [True, True, True, False, False]
    tokens, mask = tok.padded_tokens_and_mask(list(range(10)), 4)
    assert tokens == [0, 1, 2, 3] and all(mask)


def test_uncond_is_all_padding() -> None:
    tokens, mask = default_tokenizer().uncond(2, 128)
    assert tokens.shape == (2, 128) and (tokens == END_OF_TEXT).all() and not mask.any()


def test_decode_round_trips() -> None:
    tok = default_tokenizer()
    text = "a dermoscopic image of vascular lesions, 3 mm"
    assert tok.decode(tok.encode(text)) == text


def test_missing_vocabulary_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(TokenizerError, match="cannot read the BPE vocabulary"):
        Tokenizer(tmp_path)
