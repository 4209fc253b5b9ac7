"""The Corpus page for a task other than classification: the task's metrics over a labelled file.

Each task names its file format (tagging reads CoNLL, the others tab-separated lines, see
:mod:`explain.tasks.evaluation`); the file is written to a private temporary file (its name is never a path
here), scored with a progress bar, and the last good result is kept (shown as such) when a file fails.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

import explain
from explain.models.heads import TaskKind
from explain.tasks.conll import evaluate_conll
from explain.tasks.evaluation import evaluate_file
from ui.state import md

SAMPLES = Path(explain.__file__).parent / "corpus" / "samples"


@dataclass(frozen=True)
class FileFormat:
    suffixes: tuple[str, ...]
    help: str
    metrics: str  # what is reported, for the panel's title
    sample: str | None = None  # a bundled sample file's name, offered in one click


FORMATS = {
    TaskKind.TOKEN_CLASSIFICATION: FileFormat(
        ("conll", "txt", "tsv"), "token<TAB>tag per line (BIO or BIOES tags), a blank line between sentences.",
        "entity-level precision, recall and F1 (seqeval's definition)", "wnut17-dev-200.conll"),
    TaskKind.QUESTION_ANSWERING: FileFormat(
        ("tsv", "txt"), "question<TAB>context<TAB>answer per line; several answers joined by ' || '.",
        "exact match and F1 (SQuAD v1.1)"),
    TaskKind.MULTI_LABEL: FileFormat(
        ("tsv", "txt"), "text<TAB>label,label per line (names or ids; an empty field = no label).",
        "micro and macro F1 at the sidebar's threshold"),
    TaskKind.REGRESSION: FileFormat(
        ("tsv", "txt"), "text<TAB>value, or text_a<TAB>text_b<TAB>value, per line.", "MSE and Pearson's r"),
    TaskKind.ZERO_SHOT: FileFormat(
        ("tsv", "txt"), "text<TAB>label per line; the candidates are the sidebar's labels, else the file's.",
        "accuracy"),
}  # fmt: skip


def metrics_panel(bundle: explain.ModelBundle, request: explain.tasks.TaskRequest) -> None:
    kind = TaskKind(bundle.info.task)
    spec = FORMATS.get(kind)
    if spec is None:
        st.info("This model makes no prediction (no task head), so there is nothing to score over a dataset.")
        return
    st.markdown(f"**{kind.value}: {spec.metrics} over a labelled file**")
    upload = st.file_uploader("Labelled file", type=list(spec.suffixes), key="corpus.task_upload", help=spec.help)
    left, right = st.columns(2)
    data = name = None
    if left.button("Score the file", key="corpus.task_run", disabled=upload is None, type="primary") and upload:
        data, name = upload.getvalue(), upload.name
    if spec.sample and right.button(f"Score the sample ({spec.sample})", key="corpus.task_sample",
                                    help="200 WNUT-17 dev sentences (CC-BY 4.0), bundled with Glimpse."):  # fmt: skip
        data, name = (SAMPLES / spec.sample).read_bytes(), spec.sample
    key = "corpus.task_result"
    if data is not None and name is not None:
        try:
            st.session_state[key] = (name, bundle.info.source, _score(bundle, kind, data, request))
        except explain.GlimpseError as exc:
            st.error(md(str(exc)))
            if key in st.session_state:
                st.caption("The last good result is kept below.")
    if key in st.session_state:
        shown_name, source, result = st.session_state[key]
        st.caption(f"{md(shown_name)} on {md(source)}")
        _show(result)


def _score(bundle: explain.ModelBundle, kind: TaskKind, data: bytes, request: explain.tasks.TaskRequest
           ) -> dict[str, Any]:  # fmt: skip
    bar = st.progress(0.0, text="Scoring…")
    lines = max(1, data.count(b"\n"))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{hashlib.sha256(data).hexdigest()[:16]}.txt"  # our name, never the upload's
        path.write_bytes(data)
        tick = lambda n: bar.progress(min(1.0, n / lines), text=f"Scoring: {n:,} done")  # noqa: E731
        if kind is TaskKind.TOKEN_CLASSIFICATION:
            r = evaluate_conll(bundle, path, on_sentence=tick)
            s = r.scores
            out = {"precision": s.precision, "recall": s.recall, "f1": s.f1, "gold entities": s.support,
                   "predicted entities": s.predicted, "sentences": r.sentences, "per_type": s.per_type}  # fmt: skip
        else:
            out = evaluate_file(bundle, path, request, on_row=tick)
    bar.empty()
    return out


def _show(result: dict[str, Any]) -> None:
    per_type = result.get("per_type") or {}
    scalars = {k: v for k, v in result.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    st.dataframe([{"metric": k, "value": v} for k, v in scalars.items()], hide_index=True)
    if per_type:
        st.dataframe([{"type": t, **v} for t, v in per_type.items()], hide_index=True)
    if "per_label_f1" in result:
        st.dataframe([{"label": k, "F1": v} for k, v in result["per_label_f1"].items()], hide_index=True)
