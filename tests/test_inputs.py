from __future__ import annotations

import time

import numpy as np
import pytest

from explain import MAX_CHARS, InputError, ModelBundle, prepare_input
from explain.inputs import clean_text


def test_truncation_says_how_many_tokens_were_dropped(bert_bundle: ModelBundle) -> None:
    enc = prepare_input(bert_bundle, " ".join(["movie"] * 100))
    assert enc.n_tokens == 64 and enc.n_original == 102 and enc.n_dropped == 38
    assert any("38 token(s) were dropped" in n for n in enc.notices)


def test_short_text_has_no_notice(bert_bundle: ModelBundle) -> None:
    enc = prepare_input(bert_bundle, "a good movie")
    assert enc.n_dropped == 0 and enc.notices == ()


def test_pair_truncation_and_segments(bert_bundle: ModelBundle) -> None:
    enc = prepare_input(bert_bundle, " ".join(["good"] * 50), " ".join(["bad"] * 50))
    assert enc.n_tokens == 64 and enc.n_dropped == 39
    assert enc.sentence_b_start is not None
    assert enc.token_type_ids is not None
    assert (enc.token_type_ids[enc.sentence_b_start :] == 1).all()
    assert (enc.token_type_ids[: enc.sentence_b_start] == 0).all()


def test_roberta_gets_no_token_type_ids(family_bundle: ModelBundle) -> None:
    enc = prepare_input(family_bundle, "hello world", "the movie")
    if family_bundle.info.family in ("roberta", "distilbert", "deberta-v2"):
        assert enc.token_type_ids is None  # never invent segment ids a model cannot take
    assert enc.sentence_b_start is not None and enc.segment[-1] == 1


def test_long_paste_rejected_fast(bert_bundle: ModelBundle) -> None:
    start = time.perf_counter()
    with pytest.raises(InputError, match="at most"):
        prepare_input(bert_bundle, "x" * 100_000)
    assert time.perf_counter() - start < 0.1
    prepare_input(bert_bundle, "word " * (MAX_CHARS // 5 - 1))  # just under the limit: truncated, not refused


@pytest.mark.parametrize("text", ["", "   \t\n", "\u200b\u200c\u200d\ufeff", "\x00\x07"])
def test_empty_inputs_rejected(bert_bundle: ModelBundle, text: str) -> None:
    with pytest.raises(InputError, match="at least one word"):
        prepare_input(bert_bundle, text)


def test_empty_sentence_b_rejected(bert_bundle: ModelBundle) -> None:
    with pytest.raises(InputError, match="Sentence B"):
        prepare_input(bert_bundle, "fine", "  ")


def test_typed_special_tokens_stay_text(bert_bundle: ModelBundle) -> None:
    enc = prepare_input(bert_bundle, "good [SEP] bad [CLS]")
    assert enc.tokens.count("[SEP]") == 1 and enc.tokens.count("[CLS]") == 1  # only the real ones
    assert enc.sentence_b_start is None and (enc.segment == 0).all()
    notice = " ".join(enc.notices)
    assert "'[SEP]' → [ sep ]" in notice and "'[CLS]' → [ cl ##s ]" in notice


def test_control_and_bidi_characters_removed() -> None:
    cleaned, removed = clean_text("a\x00b\x07c\u202eevil\r\nline")
    assert cleaned == "abcevil\nline" and removed == 3
    assert clean_text("\ud800x")[0] == "\ufffdx"  # lone surrogate no longer crashes the tokenizer


def test_words_are_what_the_user_typed(bert_bundle: ModelBundle) -> None:
    enc = prepare_input(bert_bundle, "Unbelievably good, isn't it?")
    assert enc.words == ("[CLS]", "Unbelievably", "good,", "isn't", "it?", "[SEP]")
    # every token maps to a word, in order, and specials are words of their own
    assert list(np.unique(enc.word_index)) == list(range(len(enc.words)))
    assert (np.diff(enc.word_index) >= 0).all()


def test_words_for_byte_level_bpe(family_bundle: ModelBundle) -> None:
    enc = prepare_input(family_bundle, "the movie was great")
    assert [w for w, s in zip(enc.words, _word_special(enc), strict=True) if not s] == ["the", "movie", "was", "great"]


def _word_special(enc: object) -> list[bool]:
    e = enc  # type: ignore[assignment]
    return [bool(e.special[e.word_index == w].all()) for w in range(len(e.words))]  # type: ignore[attr-defined]


def test_byte_level_tokens_show_characters_not_bytes(family_bundle: ModelBundle) -> None:
    enc = prepare_input(family_bundle, "café 😀 日本 movie")
    shown = "".join(enc.tokens)
    for mojibake in ("Ã", "ð", "æ", "Ġ"):
        assert mojibake not in shown
    if family_bundle.info.family == "roberta":
        assert "é" in enc.tokens and "😀" in enc.tokens and "movie" in enc.tokens


@pytest.mark.parametrize("text_b", ["  ", "\u200b\u200c", "\ufeff \u200d"])
def test_sentence_b_of_dropped_characters_is_empty(bert_bundle: ModelBundle, text_b: str) -> None:
    with pytest.raises(InputError) as blank:
        prepare_input(bert_bundle, "fine", "")
    with pytest.raises(InputError) as invisible:
        prepare_input(bert_bundle, "fine", text_b)  # zero-width characters: the tokenizer drops every one
    assert str(invisible.value) == str(blank.value) and "Sentence B" in str(blank.value)


@pytest.mark.parametrize("text", ["", "\u200b\u200c"])
def test_sentence_a_of_dropped_characters_is_empty(bert_bundle: ModelBundle, text: str) -> None:
    with pytest.raises(InputError, match="Sentence A is empty"):
        prepare_input(bert_bundle, text, "sentence b has words")


def test_unknown_words_are_named(bert_bundle: ModelBundle) -> None:
    enc = prepare_input(bert_bundle, "a ᚠ b ᚠ hello😀")  # runes and emoji are not in the tiny WordPiece vocab
    assert enc.tokens == ("[CLS]", "a", "[UNK]", "b", "[UNK]", "[UNK]", "[SEP]")
    (notice,) = enc.notices
    assert "[UNK]" in notice and "2 distinct word(s) ('ᚠ', 'hello😀')" in notice  # the whole word the [UNK] covers


def test_unknown_words_are_capped(bert_bundle: ModelBundle) -> None:
    runes = [chr(c) for c in range(0x16A0, 0x16A0 + 13)]  # 13 distinct [UNK] words
    (notice,) = prepare_input(bert_bundle, " ".join(runes)).notices
    assert "13 distinct word(s)" in notice and "and 3 more" in notice
    assert all(f"'{r}'" in notice for r in runes[:10]) and f"'{runes[10]}'" not in notice


def test_dropped_characters_are_named(bert_bundle: ModelBundle) -> None:
    # the normaliser removes a zero-width space inside "abcd" and the accent of a decomposed "é"
    enc = prepare_input(bert_bundle, "ab\u200bcd e\u0301 ab\u200bcd")
    assert enc.tokens == ("[CLS]", "abc", "##d", "e", "abc", "##d", "[SEP]")
    (notice,) = enc.notices
    assert "2 distinct character(s) (U+200B ZERO WIDTH SPACE, U+0301 COMBINING ACUTE ACCENT)" in notice


def test_characters_no_token_covers_are_named(bert_bundle: ModelBundle) -> None:
    """A pre-tokenizer that removes "-" leaves it outside every token's offsets (the normaliser keeps it)."""
    import copy
    import dataclasses

    from tokenizers import pre_tokenizers

    tok = copy.deepcopy(bert_bundle.tokenizer)
    tok.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split("-", behavior="removed"), pre_tokenizers.BertPreTokenizer()]
    )
    enc = prepare_input(dataclasses.replace(bert_bundle, tokenizer=tok), "well-made")
    assert enc.tokens == ("[CLS]", "well", "made", "[SEP]")
    assert enc.notices == ("The tokenizer drops 1 distinct character(s) ('-'): the model never sees them.",)


def test_readable_text_has_no_unreadable_notice(family_bundle: ModelBundle) -> None:
    enc = prepare_input(family_bundle, "  Unbelievably, the film's ending\twasn't terrible  ", "second\npart")
    assert enc.notices == ()


def test_encodings_are_read_only(bert_bundle: ModelBundle) -> None:
    enc = prepare_input(bert_bundle, "shared between sessions", "and pairs")
    for name in ("input_ids", "token_type_ids", "special", "segment", "word_index"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(enc, name)[0] = 0
