"""Corpus page: a whole dataset explained (a results folder from `python -m explain corpus`, or a small run)."""

import streamlit as st

import ui
import ui.corpus
import ui.export
import ui.task_metrics
import ui.tasks
from explain.models.heads import TaskKind
from ui import corpus_jobs, widgets
from ui.state import md

st.title("Corpus")
source = ui.active_source()
bundle = ui.state.bundle_or_none()
if bundle is None:
    st.stop()
if not bundle.info.has_classifier:  # another task: its metrics over a labelled file
    ui.task_metrics.metrics_panel(bundle, ui.tasks.request(TaskKind(bundle.info.task)))
    ui.footer()
    st.stop()
ui.corpus.run_panel(bundle)
names = corpus_jobs.result_folders()
if not names:
    st.info(
        "No results yet. Run the SST-2 sample or a file above, or run one from the command line into the corpus "
        f"folder: python -m explain corpus --input FILE --out {md(corpus_jobs.shown_root())}/NAME"
    )
    st.stop()
name = widgets.kept(
    st.selectbox,
    "corpus.folder",
    names[0],
    label="Results",
    options=names,
    valid=lambda v: v in names,
    help=f"Results folders in the corpus folder ({corpus_jobs.shown_root()}).",
)
exports = ui.corpus.results(name)
if exports is not None:
    ui.export.export_panel("corpus", exports)
ui.footer()
