"""`python -m explain` for every task: JSON shaped by the task, targets picked by option, and metrics over
labelled files, on tiny models (heads set by hand where a value is checked)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from explain.cli import main
from tests.conftest import bundle_from
from tests.fixtures import build_task, constant_head
from tests.tolerances import reorder_atol


@pytest.fixture(scope="module")
def task_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("task-cli")
    return {
        t: build_task("bert", t, root / t)
        for t in ("token-classification", "question-answering", "fill-mask", "multi-label", "regression", "zero-shot")
    }


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert main(list(argv)) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def _fails(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 2
    return capsys.readouterr().err


def test_predict_is_shaped_by_the_task(capsys: pytest.CaptureFixture[str], task_dirs: dict[str, Path]) -> None:
    m = lambda t: ("--model", str(task_dirs[t]))  # noqa: E731
    tags = _run(capsys, *m("token-classification"), "predict", "--text", "Alice went to Paris")
    assert tags["task"] == "token-classification" and [w["word"] for w in tags["words"]] == [
        "Alice",
        "went",
        "to",
        "Paris",
    ]
    qa = _run(capsys, *m("question-answering"), "predict", "--text", "Where?", "--context", "Alice went to Paris.")
    assert qa["answer"] == "Alice went to Paris."[qa["start"] : qa["end"]]
    fill = _run(capsys, *m("fill-mask"), "predict", "--text", "Alice went to [MASK].", "--top-k", "3")
    assert len(fill["masks"]) == 1 and len(fill["masks"][0]["candidates"]) == 3
    shot = _run(
        capsys, *m("zero-shot"), "predict", "--text", "the match", "--candidate-labels", "sport, politics,sport"
    )
    assert sorted(shot["labels"]) == ["politics", "sport"] and sum(shot["scores"]) == pytest.approx(1.0, abs=1e-5)
    assert "[MASK]" in _fails(capsys, *m("fill-mask"), "predict", "--text", "no mask here")
    assert "candidate labels" in _fails(capsys, *m("zero-shot"), "predict", "--text", "the match")
    err = _fails(capsys, *m("question-answering"), "--task", "classification", "predict", "--text", "x")
    assert "It can run as: question-answering, encoder" in err


def test_constant_heads_give_the_hand_worked_values(
    capsys: pytest.CaptureFixture[str], task_dirs: dict[str, Path], tmp_path: Path
) -> None:
    multi = constant_head(task_dirs["multi-label"], [0.0, float(np.log(3)), -float(np.log(3))])
    out = _run(capsys, "--model", str(multi), "predict", "--text", "whatever", "--threshold", "0.5")
    # independent sigmoids: 1/2, 3/4, 1/4 (a softmax would give 1/3 : 1/1 : 1/9 shares summing to 1)
    assert out["probabilities"] == pytest.approx({"toxic": 0.5, "insult": 0.75, "threat": 0.25}, abs=1e-6)
    assert out["labels"] == ["insult", "toxic"]  # at or above the threshold, likeliest first
    reg = constant_head(task_dirs["regression"], [2.5])
    assert _run(capsys, "--model", str(reg), "predict", "--text", "a", "--text-b", "b")["value"] == pytest.approx(2.5)
    (tmp_path / "reg.tsv").write_text("text_a\ttext_b\tscore\na cat\ta dog\t2.5\nx\ty\t3.5\n")
    ev = _run(capsys, "--model", str(reg), "evaluate", "--tsv", str(tmp_path / "reg.tsv"))
    assert ev["examples"] == 2 and ev["mse"] == pytest.approx(0.5) and ev["pearson"] is None  # (0 + 1) / 2


def test_conll_scores_entities_as_seqeval(
    capsys: pytest.CaptureFixture[str], task_dirs: dict[str, Path], tmp_path: Path
) -> None:
    tagger = constant_head(task_dirs["token-classification"], [0.0, 5.0, 0.0, 0.0, 0.0])  # B-person everywhere
    (tmp_path / "gold.conll").write_text("Alice\tB-person\nmet\tO\nBob\tB-person\n\nin\tO\nParis\tB-location\n")
    out = _run(capsys, "--model", str(tagger), "evaluate", "--conll", str(tmp_path / "gold.conll"))
    # predicted: 5 one-word person entities; gold: Alice, Bob (person) and Paris (location); 2 correct
    assert (out["predicted_entities"], out["gold_entities"], out["correct_entities"]) == (5, 3, 2)
    assert out["precision"] == pytest.approx(2 / 5) and out["recall"] == pytest.approx(2 / 3)
    assert out["f1"] == pytest.approx(2 * (2 / 5) * (2 / 3) / (2 / 5 + 2 / 3))
    assert out["per_type"]["location"]["recall"] == 0.0
    head = _run(capsys, "--model", str(tagger), "predict", "--text", "a b c d e")["headline"]
    assert head == "5 entities: a (person), b (person), c (person), d (person), …"  # four named, the rest elided


def test_every_entity_in_one_run_equals_each_alone(
    capsys: pytest.CaptureFixture[str], task_dirs: dict[str, Path]
) -> None:
    model = ("--model", str(task_dirs["token-classification"]))
    bundle = bundle_from(task_dirs["token-classification"])
    text = ("--text", "Alice went to Paris with Bob")
    every = _run(capsys, *model, "attribute", *text, "--every-entity")
    entities = _run(capsys, *model, "predict", *text)["entities"]
    assert len(every["targets"]) == len(entities) >= 2 and len(every["matrix"]["scores"]) == len(entities)
    for row, entity, target in zip(every["matrix"]["scores"], entities, every["targets"], strict=True):
        alone = _run(capsys, *model, "attribute", *text, "--token", str(entity["first_token"]))
        assert (alone["target"], alone["target_label"]) == (target["target"], target["target_label"])
        scores = np.array(alone["scores"])
        scale = max(abs(alone["f_input"]), abs(alone["f_baseline"]), float(np.abs(scores).sum()))
        atol = reorder_atol(bundle, scale, seq=len(scores), gradient=True)  # the same sums, grouped by another batch
        np.testing.assert_allclose(row, scores, rtol=0, atol=atol)


def test_qa_explains_start_and_end_at_the_predicted_positions(
    capsys: pytest.CaptureFixture[str], task_dirs: dict[str, Path]
) -> None:
    model = ("--model", str(task_dirs["question-answering"]))
    text = ("--text", "Where did Alice go?", "--context", "Alice went to Paris on Monday.")
    span = _run(capsys, *model, "predict", *text)["top_spans"][0]
    both = _run(capsys, *model, "attribute", *text)["targets"]
    assert [t["target_key"] for t in both] == ["start", "end"]
    assert [t["target"] for t in both] == [span["start_token"], span["end_token"]]
    end = _run(capsys, *model, "attribute", *text, "--label", "end")
    assert end["target"] == span["end_token"] and end["f_input"] == pytest.approx(both[1]["f_input"], abs=1e-5)


def test_fill_mask_explains_the_chosen_candidate(
    capsys: pytest.CaptureFixture[str], task_dirs: dict[str, Path]
) -> None:
    model = ("--model", str(task_dirs["fill-mask"]))
    text = ("--text", "Alice went to [MASK] and [MASK].")
    second = _run(capsys, *model, "predict", *text)["masks"][1]
    pick = second["candidates"][1]
    out = _run(capsys, *model, "attribute", *text, "--mask-index", "1", "--candidate", str(pick["token_id"]))
    assert (out["target"], out["target_position"]) == (pick["token_id"], second["position"])
    assert "masks 0 to 1" in _fails(capsys, *model, "attribute", *text, "--mask-index", "2")


def test_zero_shot_accuracy_over_the_files_labels(
    capsys: pytest.CaptureFixture[str], task_dirs: dict[str, Path], tmp_path: Path
) -> None:
    nli = constant_head(task_dirs["zero-shot"], [0.0, 0.0, 0.0])  # every label ties: the first asked wins
    (tmp_path / "zs.tsv").write_text("text\tlabel\nthe match\tsport\nthe vote\tpolitics\nthe goal\tsport\n")
    out = _run(capsys, "--model", str(nli), "evaluate", "--tsv", str(tmp_path / "zs.tsv"))
    # candidates from the file, in order (sport, politics); a tie ranks "sport" first: 2 of 3 right
    assert out["candidate_labels"] == ["sport", "politics"] and out["accuracy"] == pytest.approx(2 / 3)
    asked = _run(capsys, "--model", str(nli), "evaluate", "--tsv", str(tmp_path / "zs.tsv"),
                 "--candidate-labels", "politics,sport")  # fmt: skip
    assert asked["accuracy"] == pytest.approx(1 / 3)
