"""Entity spans and scores by seqeval's default (conlleval) rules, on cases worked out by hand, and CoNLL files."""

from __future__ import annotations

from pathlib import Path

import pytest

from explain.errors import InputError
from explain.tasks.spans import Span, decode_spans, entity_scores, read_conll

WNUT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "wnut17"

# seqeval's README example: the predicted MISC starts one word early, PER is right.
README_TRUE = [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
README_PRED = [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]


def test_bio_spans_end_exclusive() -> None:
    assert decode_spans(README_TRUE[0]) == [Span("MISC", 3, 6)]
    assert decode_spans(README_PRED[0]) == [Span("MISC", 2, 6)]
    assert decode_spans(["B-PER", "I-PER", "O", "B-LOC"]) == [Span("PER", 0, 2), Span("LOC", 3, 4)]


def test_b_after_b_of_the_same_type_is_a_new_entity() -> None:
    assert decode_spans(["B-PER", "B-PER", "I-PER"]) == [Span("PER", 0, 1), Span("PER", 1, 3)]


def test_i_after_o_starts_an_entity() -> None:
    assert decode_spans(["O", "I-PER", "I-PER", "O", "I-LOC"]) == [Span("PER", 1, 3), Span("LOC", 4, 5)]


def test_iob1_tags() -> None:
    # IOB1: I- everywhere, B- only between two adjacent entities of one type
    assert decode_spans(["I-PER", "I-PER", "B-PER", "O", "I-ORG"]) == [
        Span("PER", 0, 2),
        Span("PER", 2, 3),
        Span("ORG", 4, 5),
    ]


def test_a_type_change_inside_a_run_splits_it() -> None:
    assert decode_spans(["B-PER", "I-PER", "I-LOC", "I-LOC"]) == [Span("PER", 0, 2), Span("LOC", 2, 4)]
    assert decode_spans(["B-PER", "I-LOC", "O"]) == [Span("PER", 0, 1), Span("LOC", 1, 2)]


def test_bioes_tags() -> None:
    tags = ["S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC", "O", "E-ORG", "E-ORG", "S-PER", "I-PER"]
    assert decode_spans(tags) == [
        Span("PER", 0, 1),
        Span("LOC", 1, 4),
        Span("LOC", 4, 5),  # S- right after E- of the same type: a new entity
        Span("ORG", 6, 7),  # E- after O: an entity of one word
        Span("ORG", 7, 8),  # E- after E-: another
        Span("PER", 8, 9),
        Span("PER", 9, 10),  # I- after S- of the same type starts again
    ]


def test_tags_without_a_prefix_read_as_inside() -> None:
    assert decode_spans(["PER", "PER", "O", "ORG", "M-LOC"]) == [
        Span("PER", 0, 2),
        Span("ORG", 3, 4),
        Span("LOC", 4, 5),
    ]
    assert decode_spans(["B", "I", "O"]) == [Span("_", 0, 2)]  # a bare prefix has seqeval's type "_"
    assert decode_spans([]) == []
    assert decode_spans(["O", "O"]) == []


def test_readme_scores() -> None:
    scores = entity_scores(README_TRUE, README_PRED)
    assert (scores.support, scores.predicted, scores.correct) == (2, 2, 1)
    assert (scores.precision, scores.recall, scores.f1) == (0.5, 0.5, 0.5)
    assert scores.per_type == {
        "MISC": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1.0},
        "PER": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1.0},
    }


def test_micro_scores_count_entities_not_words() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]  # 3 entities
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "B-LOC"]]  # 4 entities, PER and the second ORG right
    scores = entity_scores(gold, pred)
    assert (scores.support, scores.predicted, scores.correct) == (3, 4, 2)
    # P = 1/2, R = 2/3, F1 = (2/3) / (7/6) = 4/7; each value is a few float64 roundings (2**-53 relative each)
    assert scores.precision == 0.5
    assert scores.recall == pytest.approx(2 / 3, rel=1e-14)
    assert scores.f1 == pytest.approx(4 / 7, rel=1e-14)
    # LOC: found in the wrong sentence; ORG: 1 of 2 predicted right, 1 of 1 true found
    assert scores.per_type["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1.0}
    assert scores.per_type["ORG"]["precision"] == 0.5
    assert scores.per_type["ORG"]["recall"] == 1.0


def test_a_type_only_predicted_is_reported_with_no_support() -> None:
    scores = entity_scores([["B-PER", "O"]], [["B-PER", "B-MISC"]])
    assert scores.per_type["MISC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0.0}  # 0/0 -> 0
    assert (scores.precision, scores.recall) == (0.5, 1.0)


def test_same_span_in_another_sentence_is_another_entity() -> None:
    scores = entity_scores([["B-PER"], ["O"]], [["O"], ["B-PER"]])
    assert (scores.correct, scores.f1) == (0, 0.0)


def test_nothing_to_find_and_nothing_found_scores_zero() -> None:
    scores = entity_scores([["O", "O"]], [["O", "O"]])
    assert (scores.precision, scores.recall, scores.f1, scores.support, scores.per_type) == (0.0, 0.0, 0.0, 0, {})


def test_mismatched_sentences_say_how_to_fix() -> None:
    with pytest.raises(InputError, match=r"2 gold sentences but 1 predicted.*one tag sequence per sentence"):
        entity_scores(README_TRUE, README_PRED[:1])
    with pytest.raises(InputError, match=r"Sentence 2 has 3 gold tags but 2 predicted.*one tag per word"):
        entity_scores(README_TRUE, [README_PRED[0], ["B-PER", "I-PER"]])


def test_conll_sentences_with_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "f.conll"
    text = "-DOCSTART-\tO\n\nJohn\tB-PER\nlives\tO\n\t\n\nParis B-LOC\r\n<b>=1\tO\n-DOCSTART- -X- O\n/etc/x\tO"
    path.write_bytes(text.encode())
    sentences = read_conll(path)
    assert [(s.tokens, s.tags, s.line) for s in sentences] == [
        (("John", "lives"), ("B-PER", "O"), 3),
        (("Paris", "<b>=1"), ("B-LOC", "O"), 7),  # a space separates when the line has no tab
        (("/etc/x",), ("O",), 10),  # contents are text, never a path or markup
    ]


def test_conll_bad_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "f.conll"
    path.write_text("a\tO\n\nEU NNP B-ORG\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"f\.conll:3 has 3 fields.*'token<TAB>tag'"):
        read_conll(path)
    path.write_bytes(b"a\tO\nb\xff\tO\n")
    with pytest.raises(InputError, match=r"f\.conll:2 is not UTF-8.*Save the file as UTF-8"):
        read_conll(path)
    path.write_text("\n-DOCSTART-\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="has no tagged tokens"):
        read_conll(path)


@pytest.mark.skipif(not WNUT.is_dir(), reason="the shared WNUT-17 data is not checked out beside the repo")
def test_wnut17_sentence_counts() -> None:
    # counts from the data's README (3,394 train and 1,009 dev sentences)
    assert len(read_conll(WNUT / "train.conll")) == 3394
    assert len(read_conll(WNUT / "dev.conll")) == 1009
