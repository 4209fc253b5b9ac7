"""AppTest of the Corpus page: a run with no good row, a run of another model, paging, the start panel."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import explain
from tests.test_app import _app, _corpus_folder, _ok


def _open(monkeypatch: pytest.MonkeyPatch, root: Path, model: Path) -> object:
    monkeypatch.setenv("GLIMPSE_CORPUS_ROOT", str(root))
    monkeypatch.setenv("GLIMPSE_DEFAULT_MODEL", str(model))
    at = _app("Corpus.")
    at.switch_page("app_pages/corpus.py").run()
    return at


def test_a_run_where_no_row_succeeded_is_shown(
    monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path, tmp_path: Path
) -> None:
    root = tmp_path / "runs"
    _corpus_folder(root, str(payload_model_dir), ["\t1", " \t0"], "failed")  # no words: every row fails
    at = _open(monkeypatch, root, payload_model_dir)
    _ok(at)  # the summary's δ, per-token change and steps are None: nothing to format
    metrics = {m.label: m for m in at.metric}
    assert metrics["Certified IG"].value == "0 / 0" and "nothing to certify" in metrics["Certified IG"].help
    assert list(at.dataframe[0].value["status"]) == ["error", "error"]


def test_labels_are_the_runs_own_not_the_loaded_models(
    monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path, model_root: Path, tmp_path: Path
) -> None:
    from tests.fixtures import build_tiny

    three = model_root / "three-classes"
    if not three.exists():
        build_tiny("bert", three, classifier=True, id2label={0: "sad", 1: "flat", 2: "glad"})
    root = tmp_path / "runs"
    _corpus_folder(root, str(three), ["a fine film\t2", "a dull film\t0", "a film\t1"], "three")
    at = _open(monkeypatch, root, payload_model_dir)  # the page runs under a 2-class model
    _ok(at)  # label id 2 of the run's model is no IndexError
    assert sorted(at.dataframe[0].value["label"]) == ["flat", "glad", "sad"]  # the run's names, not the model's


def test_the_table_pages_and_reads_only_its_columns(
    monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path, tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    import ui.corpus
    from explain.corpus import storage

    root = tmp_path / "runs"
    lines = [f"film number {i}\t{i % 2}" for i in range(5)]
    _corpus_folder(root, str(payload_model_dir), lines, "five")
    monkeypatch.setattr(ui.corpus, "PAGE_ROWS", 2)
    monkeypatch.setattr(storage, "read_results", None)  # the page must not read whole rows
    read: list[object] = []
    real = pq.read_table
    monkeypatch.setattr(pq, "read_table", lambda *a, **k: read.append(k.get("columns")) or real(*a, **k))
    at = _open(monkeypatch, root, payload_model_dir)
    _ok(at)
    assert read and all(c is not None and "scores" not in c and "entropy" not in c for c in read)
    assert list(at.dataframe[0].value["number"]) == [1, 2]  # one page of 2 rows, in file order
    at.number_input(key="corpus.page").set_value(3).run()
    _ok(at)
    assert list(at.dataframe[0].value["number"]) == [5]
    assert any("Rows 5–5 of the 5 kept" in c.value for c in at.caption)


@pytest.mark.parametrize("inside", [True, False])
def test_the_start_panel_stays_open_and_no_server_path_is_shown(
    monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path, tmp_path: Path, inside: bool
) -> None:
    from ui.state import md

    root = tmp_path / "server" / "corpus-runs"
    root.parent.mkdir()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(root.parent if inside else tmp_path / "elsewhere")  # the app runs beside, or away from, it
    at = _open(monkeypatch, root, payload_model_dir)
    _ok(at)
    assert at.button(key="corpus.start") is not None
    assert all(b.key != "corpus.start" for e in at.expander for b in e.button)  # never in a collapsing panel
    shown = " ".join(i.value for i in at.info) + " ".join(str(s.help) for s in at.selectbox)
    assert "No results yet" in shown and str(tmp_path) not in shown and "/server" not in shown, shown
    where = "--out corpus-runs/NAME" if inside else "--out $GLIMPSE_CORPUS_ROOT/NAME"  # relative to the app
    assert f"--out {md(where.split()[1][:-5])}/NAME" in shown, shown


def test_the_sst2_sample_runs_in_one_click(
    monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path, tmp_path: Path
) -> None:
    from ui import corpus_jobs

    at = _open(monkeypatch, tmp_path / "runs", payload_model_dir)
    at.button(key="corpus.sample").click().run()
    _ok(at)
    job = corpus_jobs.jobs()[0]
    deadline = time.monotonic() + 300
    while job.state in ("starting", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job.state == "finished" and job.rows == corpus_jobs.SAMPLE_ROWS == 200, job.message
    summary = json.loads((corpus_jobs.folder(job.name) / "summary.json").read_text())
    assert summary["accuracy"]["total"] == 200  # the sample's labels were read


def test_a_last_column_the_model_does_not_know_is_refused_in_the_app(
    monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path, tmp_path: Path
) -> None:
    from explain import ModelSource, SourceKind, load_bundle
    from explain.corpus import CorpusSettings
    from ui import corpus_jobs

    monkeypatch.setenv("GLIMPSE_CORPUS_ROOT", str(tmp_path / "runs"))
    bundle = load_bundle(ModelSource(SourceKind.FOLDER, str(payload_model_dir)))
    with pytest.raises(explain.InputError, match=r"'Last column' = sentence B"):
        corpus_jobs.start(bundle, "pairs.tsv", b"a great film\tpos\n", CorpusSettings())
    job = corpus_jobs.start(bundle, "pairs.tsv", b"a great film\tpos\n", CorpusSettings(), labelled=False)
    deadline = time.monotonic() + 120
    while job.state in ("starting", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job.state == "finished", job.message
