from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from explain.cli import main
from tests.fixtures import XSS as XSS_LABEL


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_info_on_a_folder(capsys: pytest.CaptureFixture[str], payload_model_dir: Path) -> None:
    out = _run(capsys, "--model", str(payload_model_dir), "info")
    assert out["family"] == "bert" and out["layers"] == 2 and out["heads"] == 4 and len(out["labels"]) == 2  # type: ignore[arg-type]


def test_attention_json(capsys: pytest.CaptureFixture[str], model_root: Path) -> None:
    from tests.conftest import tiny_dir

    folder = str(tiny_dir(model_root, "bert"))
    out = _run(capsys, "--model", folder, "attention", "--text", "a fine movie", "--text-b", "yes", "--words")
    weights = np.array(out["attention"])
    assert weights.shape == (2, 4, len(out["labels"]), len(out["labels"]))  # type: ignore[arg-type]
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-4)
    assert sum(out["rollout"]["relevance"]) == pytest.approx(1.0, abs=1e-4)  # type: ignore[index]
    one = _run(capsys, "--model", folder, "attention", "--text", "a fine movie", "--layer", "1", "--head", "3")
    assert np.array(one["attention"]).shape[:2] == (1, 1)


def test_errors_say_how_to_fix(capsys: pytest.CaptureFixture[str], model_root: Path) -> None:
    from tests.conftest import tiny_dir

    folder = str(tiny_dir(model_root, "bert"))
    assert main(["--model", folder, "attention", "--text", "x", "--layer", "7"]) == 2
    assert "layers 0 to 1" in capsys.readouterr().err
    assert main(["--model", str(Path(folder) / ".." / "nothing-here"), "info"]) == 2  # '..' resolved, then checked
    assert f"no folder at '{Path(folder).parent / 'nothing-here'}'" in capsys.readouterr().err
    assert main(["--model", folder, "attention", "--text", "   "]) == 2
    assert "at least one word" in capsys.readouterr().err


def test_predict_attribute_evaluate(
    capsys: pytest.CaptureFixture[str], payload_model_dir: Path, tmp_path: Path
) -> None:
    from tests.fixtures import XSS

    model = str(payload_model_dir)
    pred = _run(capsys, "--model", model, "predict", "--text", "a fine film")
    assert set(pred["probabilities"]) == {XSS, "positive"}  # type: ignore[arg-type]
    assert sum(pred["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)  # type: ignore[union-attr]
    out = _run(
        capsys, "--model", model, "attribute", "--text", "a fine film", "--json", "--baseline", "mask", "--words"
    )
    assert len(out["tokens"]) == len(out["scores"]) == 5  # type: ignore[arg-type]
    assert {"convergence_delta", "relative_delta", "steps", "settings"} <= set(out)
    assert out["settings"]["baseline"] == "mask"  # type: ignore[index]
    gap = out["f_input"] - out["f_baseline"]  # type: ignore[operator]
    assert sum(out["scores"]) - gap == pytest.approx(out["convergence_delta"], abs=1e-9)  # type: ignore[arg-type]
    tsv = tmp_path / "small.tsv"
    lines = ["sentence\tlabel", 'a "quoted" film\t1', "tab\tinside text\tpositive", "odd ünïcödé ✓\t0", "", f"x\t{XSS}"]
    tsv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = _run(capsys, "--model", model, "evaluate", "--tsv", str(tsv))
    assert result["total"] == 4 and 0.0 <= result["accuracy"] <= 1.0  # type: ignore[operator]
    assert result["per_label"]["positive"]["total"] == 2  # type: ignore[index]
    assert result["correct"] == round(result["accuracy"] * 4)  # type: ignore[operator]


def test_evaluate_rejects_bad_labels(
    capsys: pytest.CaptureFixture[str], payload_model_dir: Path, tmp_path: Path
) -> None:
    tsv = tmp_path / "bad.tsv"
    tsv.write_text("good film\t1\nbad film\tmaybe\n", encoding="utf-8")
    assert main(["--model", str(payload_model_dir), "evaluate", "--tsv", str(tsv)]) == 2
    assert "bad.tsv:2" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["attention", "--text", "x", "--residual", "5"],
        ["attention", "--text", "x", "--residual", "nan"],
        ["attention", "--text", "x", "--residual", "-0.5"],
        ["attention", "--text", "x", "--layer", "-1"],
        ["attention", "--text", "x", "--head", "99"],
        ["attribute", "--text", "x", "--tolerance", "nan"],
        ["attribute", "--text", "x", "--tolerance", "-1"],
        ["attribute", "--text", "x", "--tolerance", "0"],
        ["attribute", "--text", "x", "--steps", "-3"],
        ["attribute", "--text", "x", "--steps", "1"],
        ["attribute", "--text", "x", "--steps", "0"],
        ["attribute", "--text", "x", "--steps", "14"],
        ["attribute", "--text", "x", "--max-steps", "0"],
        ["attribute", "--text", "x", "--steps", "1000001", "--max-steps", "16"],
        ["attribute", "--text", "x", "--steps", "25", "--max-steps", "13"],
        ["attribute", "--text", "x", "--target", "-1"],
        ["attribute", "--text", "x", "--abs-floor", "0"],
        ["evaluate", "--tsv", "/nonexistent/file.tsv"],
        ["export", "--input", "/nonexistent/in.txt", "--out", "/tmp/out"],
    ],
)
def test_bad_arguments_exit_2_with_the_fix_and_no_traceback(
    capsys: pytest.CaptureFixture[str], payload_model_dir: Path, argv: list[str]
) -> None:
    assert main(["--model", str(payload_model_dir), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert any(word in err for word in ("must be", "does not exist", "below", "Cannot read", "odd", "layers 0"))


def test_export_out_must_not_be_a_file(
    capsys: pytest.CaptureFixture[str], payload_model_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "in.txt").write_text("a fine film\n", encoding="utf-8")
    (tmp_path / "taken").write_text("", encoding="utf-8")
    argv = [
        "--model",
        str(payload_model_dir),
        "export",
        "--input",
        str(tmp_path / "in.txt"),
        "--out",
        str(tmp_path / "taken"),
    ]
    assert main(argv) == 2
    assert "is a file" in capsys.readouterr().err


def test_argument_help_comes_from_the_declared_knobs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["attribute", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--tolerance TOLERANCE" in text and "a number from 1e-06 to 0.5" in text
    assert "--steps N_STEPS" in text and "a whole number from 5 to 1025" in text


def test_diagnose_prints_every_part(capsys: pytest.CaptureFixture[str], payload_model_dir: Path) -> None:
    out = _run(
        capsys, "--model", str(payload_model_dir), "diagnose", "--text", "a fine film with good actors", "--json"
    )
    layers, heads = 2, 4
    imp = out["head_importance"]
    assert np.array(imp["delta_probability"]).shape == (layers, heads)  # type: ignore[index]
    assert np.array(out["agreement"]["norm_based"]).shape == (layers, heads)  # type: ignore[index]
    assert set(out["faithfulness"]["aopc"]) >= {"integrated gradients", "random", "norm-based attention"}  # type: ignore[index]
    assert len(out["sanity"]["steps"]) == len(out["sanity"]["correlations"]["integrated gradients"])  # type: ignore[index]
    assert out["sanity"]["precision"] == "float32"  # type: ignore[index]  # the suite pins it (tests/conftest.py)
    assert out["target_label"] in ("positive", XSS_LABEL)


def test_compare_is_wired(capsys: pytest.CaptureFixture[str], payload_model_dir: Path) -> None:
    out = _run(capsys, "--model", str(payload_model_dir), "compare", "--text", "a good film", "--text-b",
               "a bad film", "--json")  # fmt: skip
    assert "divergence" in json.dumps(out)


#: Each verb with its required arguments: a new verb must be added here (the test checks the list is complete).
_VERBS = {
    "info": [], "predict": ["--text", "x"], "attribute": ["--text", "x"], "evaluate": ["--tsv", "f.tsv"],
    "export": ["--input", "f.txt", "--out", "o"], "attention": ["--text", "x"], "diagnose": ["--text", "x"],
    "compare": ["--text", "x"], "corpus": ["--input", "f.txt", "--out", "o"],
}  # fmt: skip


@pytest.mark.parametrize("verb", sorted(_VERBS))
def test_every_verb_takes_model_and_pretty_before_or_after_its_name(verb: str) -> None:
    from explain.cli import _parser

    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert sorted(sub.choices) == sorted(_VERBS)
    before = _parser().parse_args(["--model", "/m", "--pretty", verb, *_VERBS[verb]])
    after = _parser().parse_args([verb, *_VERBS[verb], "--model", "/m", "--pretty"])
    neither = _parser().parse_args([verb, *_VERBS[verb]])
    assert (before.model, before.pretty) == (after.model, after.pretty) == ("/m", True)
    assert (neither.model, neither.pretty) == ("", False)  # the verb's own options do not reset the defaults


def test_predict_with_model_after_the_verb(capsys: pytest.CaptureFixture[str], payload_model_dir: Path) -> None:
    out = _run(capsys, "predict", "--model", str(payload_model_dir), "--text", "a fine film", "--pretty")
    assert out["label"] in out["probabilities"] and len(out["probabilities"]) == 2  # type: ignore[operator,arg-type]
