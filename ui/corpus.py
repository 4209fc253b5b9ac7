"""The Corpus page's parts: start a small run, watch it, open a results folder and look at it from every side."""

from __future__ import annotations

import urllib.parse
from typing import Any

import streamlit as st

import explain
from explain.corpus import CorpusSettings
from explain.corpus.storage import finished, read_columns, read_overview
from explain.views import corpus as views
from explain.views.exports import ViewExports
from ui import cache, corpus_jobs, widgets
from ui.sidebar import set_texts
from ui.state import md

#: What the page sends for "Last tab column": does a text file's last tab column hold the label?
_LAST_COLUMN = {"auto": None, "label": True, "sentence B": False}


def run_panel(bundle: explain.ModelBundle) -> None:
    """Upload a small file and compute it in the background (the rest of the app stays usable). Not in an
    expander: choosing a file reruns the page, and a collapsing panel would hide the Start button."""
    with st.container(border=True):
        st.markdown(f"**Run a file (at most {corpus_jobs.MAX_APP_ROWS:,} rows) in the background**")
        upload = st.file_uploader(
            "Text, TSV or CSV",
            type=["txt", "tsv", "csv"],
            key="corpus.upload",
            help="One sentence per line, or 'sentence<TAB>label' (labels as ids or names; then accuracy is "
            "reported), or a CSV with a 'text' (or 'text_a,text_b') column and an optional 'label' column.",
        )
        c1, c2 = st.columns(2)
        last = c1.selectbox("Last tab column", list(_LAST_COLUMN), key="corpus.last_column",
                            help="Text files: is 'A<TAB>B' a sentence and its label, or a sentence pair? auto: a "
                            "label when line 1 ends in one of the model's labels or a header 'label'.")  # fmt: skip
        faithful = c2.toggle("Faithfulness (AOPC per method, slower)", key="corpus.faithfulness")
        settings = CorpusSettings(faithfulness=faithful)
        b1, b2 = st.columns(2)
        if b1.button("Start", key="corpus.start", disabled=upload is None, type="primary") and upload is not None:
            _start(bundle, upload.name, upload.getvalue(), settings, _LAST_COLUMN[last])
        sample = f"Run the SST-2 sample ({corpus_jobs.SAMPLE_ROWS} dev sentences)"
        if b2.button(sample, key="corpus.sample", help="Movie-review sentences labelled 0 = negative, "
                     "1 = positive (GLUE's SST-2 dev set)."):  # fmt: skip
            _start(bundle, corpus_jobs.SAMPLE.name, corpus_jobs.SAMPLE.read_bytes(), settings, None)
    progress()


def _start(
    bundle: explain.ModelBundle, name: str, data: bytes, settings: CorpusSettings, labelled: bool | None
) -> None:
    try:
        job = corpus_jobs.start(bundle, name, data, settings, labelled)
    except explain.GlimpseError as exc:
        st.error(md(str(exc)))
    else:
        widgets.put("corpus.folder", job.name)


@st.fragment(run_every=1.0)
def progress() -> None:
    """The runs of this server and how far they are; refreshes itself each second, nothing else reruns."""
    for job in corpus_jobs.jobs()[:3]:
        if job.state in ("starting", "running"):
            st.progress(
                job.fraction,
                text=f"{md(job.name)}: {job.done_rows:,} of {job.rows:,} rows "
                f"({job.done_batches} of {job.batches} batches, {job.errors} failed rows)",
            )
        elif job.state == "failed":
            st.error(f"{md(job.name)} failed: {md(job.message)}")
        else:
            st.caption(f"{md(job.name)}: finished, {job.rows:,} rows.")


#: Rows per page of the table: the browser gets one page, never the whole corpus.
PAGE_ROWS = 200


def results(name: str) -> ViewExports | None:
    """The run's summary and its rows table, a page at a time. Only the summary and the table's own columns
    are read (never the per-token scores and per-head statistics), and label ids are named with the run's own
    labels, not those of the model loaded now."""
    try:
        folder = str(corpus_jobs.folder(name))
        version = corpus_jobs.version(name)  # a running job adds shards: a new one is a new version
        plan, summary = cache.cached(("corpus", name, version), lambda: read_overview(folder))
        if summary is None:
            st.info(f"{len(finished(folder)):,} batches are done; the summary appears when the run finishes.")
            return None
        labels = tuple(plan.get("model", {}).get("labels", ()))
        index = cache.cached(("corpus-index", name, version), lambda: read_columns(folder, views.SOURCE_COLUMNS))
    except explain.GlimpseError as exc:
        st.error(md(str(exc)))
        return None
    _overview(summary)
    rows = cache.cached(("corpus-rows", name, version, labels), lambda: views.rows_table(index, labels))
    shown = _table(index, rows)
    _words(summary)
    _heads(summary)
    if summary.get("faithfulness"):
        st.plotly_chart(views.aopc_figure(summary["faithfulness"]), key="corpus.aopc")
    return views.corpus_exports(name, summary, plan, shown)


def _overview(s: dict[str, Any]) -> None:
    cols = st.columns(4)
    cols[0].metric("Rows", f"{s['rows']:,}", help=f"{s['errors']} could not be computed (see the table's status).")
    if s["ok"]:
        checks = (f"Both checks ≤ the tolerance: largest relative δ {s['max_relative_delta']:.2%}, largest "
                  f"per-token error {s['max_token_error']:.2%}; {s['mean_steps']:.0f} steps on average.")  # fmt: skip
    else:  # no row was computed: there is no δ to report (the table's error column says why)
        checks = "No row could be computed, so there is nothing to certify; see the table's error column."
    cols[1].metric("Certified IG", f"{s['certified']:,} / {s['ok']:,}", help=checks)
    if s.get("accuracy"):
        a = s["accuracy"]
        cols[2].metric("Accuracy", f"{a['accuracy']:.1%}", help=f"{a['correct']} of {a['total']} labelled rows.")
        with cols[3]:
            st.plotly_chart(views.confusion_figure(a), key="corpus.confusion")


def _table(index: Any, data: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Filters over every row, then one page of the rows they keep; returns every kept row (for the export)."""
    needle, only, low = _filters()
    keep = [i for i in range(len(data["number"])) if _kept(data, i, needle, only, low)]
    pages = max(1, -(-len(keep) // PAGE_ROWS))
    page = widgets.kept(st.number_input, "corpus.page", 1, valid=lambda v: 1 <= v <= pages,
                        label=f"Page (of {pages:,})", min_value=1, max_value=pages, step=1)  # fmt: skip
    on_page = keep[(page - 1) * PAGE_ROWS : page * PAGE_ROWS]
    event = st.dataframe(
        {c: [data[c][i] for i in on_page] for c in data},
        key="corpus.table", on_select="rerun", selection_mode="single-row", hide_index=True,
        column_config=_COLUMN_CONFIG,
    )  # fmt: skip
    first = (page - 1) * PAGE_ROWS + 1 if on_page else 0
    st.caption(f"Rows {first:,}–{first + len(on_page) - 1 if on_page else 0:,} of the {len(keep):,} kept "
               f"({len(data['number']):,} in all). Click a column to sort this page, a row to open it.")  # fmt: skip
    picked = getattr(getattr(event, "selection", None), "rows", None) or []
    if picked and picked[0] < len(on_page):
        _open_row(index.select(["number", "text", "text_b"]).slice(on_page[picked[0]], 1).to_pylist()[0])
    return {c: [data[c][i] for i in keep] for c in data}


def _filters() -> tuple[str, str, float]:
    c1, c2, c3 = st.columns([2, 1, 1])
    with c1:
        needle = widgets.kept(
            st.text_input, "corpus.filter", "", label="Rows containing", help="Case-insensitive text filter."
        )
    with c2:
        only = widgets.kept(st.selectbox, "corpus.only", "all", label="Show",
                            options=["all", "errors of the model", "not certified", "failed rows"])  # fmt: skip
    with c3:
        low = widgets.kept(st.slider, "corpus.low", 0.0, label="Confidence at most", min_value=0.0,
                           max_value=1.0, step=0.05,
                           help="0 = no limit; e.g. 0.7 shows the rows the model was least sure of.")  # fmt: skip
    return needle, only, low


_COLUMN_CONFIG = {
    "number": st.column_config.NumberColumn("row", help="Line (text file) or record (CSV) number."),
    "label": st.column_config.TextColumn(help="The true class, when the file has labels."),
    "predicted_label": st.column_config.TextColumn("predicted", help="The model's top class."),
    "confidence": st.column_config.NumberColumn(format="percent", help="Probability of the predicted class."),
    "correct": st.column_config.CheckboxColumn(help="Predicted = true class (empty without a label)."),
    "relative_delta": st.column_config.NumberColumn(
        "δ", format="percent", help="IG's completeness gap: |Σ attributions − (f(x) − f(baseline))|, "
        "relative to |f(x) − f(baseline)|."),
    "token_error": st.column_config.NumberColumn(
        "per-token", format="percent", help="Largest change of a token's IG score between the last two "
        "resolutions, relative to the largest score."),
    "certified": st.column_config.CheckboxColumn(help="Both δ and the per-token error within the tolerance."),
    "n_steps": st.column_config.NumberColumn("points", help="Gradient evaluations IG needed to certify."),
    "tokens": st.column_config.NumberColumn(help="Length after tokenising, [CLS] and [SEP] included."),
    "status": st.column_config.TextColumn(help="ok, or error when the row could not be computed."),
}  # fmt: skip


def _kept(data: dict[str, list[Any]], i: int, needle: str, only: str, low: float) -> bool:
    if needle and needle.casefold() not in str(data["text"][i]).casefold():
        return False
    if only == "errors of the model" and data["correct"][i] is not False:
        return False
    if only == "not certified" and data["certified"][i] is not False:
        return False
    if only == "failed rows" and data["status"][i] == "ok":
        return False
    return not (low > 0 and (data["confidence"][i] is None or data["confidence"][i] > low))


def _open_row(row: dict[str, Any]) -> None:
    params = {"text": row["text"], **({"text_b": row["text_b"]} if row["text_b"] else {})}
    st.markdown(f"**Row {row['number']}**: open it on")
    cols = st.columns(3)
    for col, page, title in zip(
        cols, ("attention", "attribution", "diagnose"), ("Attention", "Attribution", "Diagnose"), strict=True
    ):
        # a button, not a page link: the sidebar's boxes are filled once per session from the URL, so the row
        # goes into them by the callback (before they are drawn), then the page switches
        if col.button(title, key=f"corpus.open.{page}", on_click=set_texts, args=(row["text"], row["text_b"] or None),
                      help=f"Put row {row['number']}'s text in the sidebar and open the {title} page."):  # fmt: skip
            st.switch_page(f"app_pages/{page}.py")
    st.caption(f"Link: ?{md(urllib.parse.urlencode(params))}")


def _words(s: dict[str, Any]) -> None:
    words = s["top_words"]
    cols = st.columns(len(words["by_class"]) or 1)
    for col, label in zip(cols, words["by_class"], strict=False):
        col.plotly_chart(
            views.top_words_figure(words["by_class"], label, words["min_count"]), key=f"corpus.words.{label}"
        )
    st.caption(
        f"Mean IG of each word toward the class the model predicted, over the rows predicted as that class; "
        f"words seen fewer than {words['min_count']} times are left out, so one lucky sentence cannot top the "
        "list. Case and punctuation at a word's ends are ignored."
    )


def _heads(s: dict[str, Any]) -> None:
    means = s["head_statistics"]["mean"]
    stat = widgets.kept(
        st.selectbox,
        "corpus.stat",
        "to_sep",
        label="Head statistic",
        options=list(means),
        format_func=lambda n: f"{n}: {views.STAT_HELP[n]}",
        valid=lambda v: v in means,
    )
    st.plotly_chart(views.head_stat_figure(means, stat), key="corpus.heads")
    st.caption(
        "Mean over every row. Heads that put most of their attention on [SEP] on every input are the "
        "'no-op' heads of Clark et al. (2019)."
    )
