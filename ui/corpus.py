"""The Corpus page's parts: start a small run, watch it, open a results folder and look at it from every side."""

from __future__ import annotations

import urllib.parse
from typing import Any

import streamlit as st

import explain
from explain.corpus import CorpusSettings, read_results
from explain.views import corpus as views
from explain.views.exports import ViewExports
from ui import cache, corpus_jobs, widgets
from ui.sidebar import set_texts
from ui.state import md


def run_panel(bundle: explain.ModelBundle) -> None:
    """Upload a small file and compute it in the background (the rest of the app stays usable)."""
    with st.expander("Run a file (at most 2,000 rows) in the background", key="corpus.run_open", on_change="rerun"):
        upload = st.file_uploader(
            "Text, TSV or CSV",
            type=["txt", "tsv", "csv"],
            key="corpus.upload",
            help="One sentence per line, or 'sentence<TAB>label' (labels as ids or names; then accuracy is "
            "reported), or a CSV with a 'text' (or 'text_a,text_b') column and an optional 'label' column.",
        )
        faithful = st.toggle("Faithfulness (AOPC per method, slower)", key="corpus.faithfulness")
        if st.button("Start", key="corpus.start", disabled=upload is None) and upload is not None:
            try:
                job = corpus_jobs.start(bundle, upload.name, upload.getvalue(), CorpusSettings(faithfulness=faithful))
            except explain.GlimpseError as exc:
                st.error(md(str(exc)))
            else:
                widgets.put("corpus.folder", job.name)
    progress()


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


def results(name: str, labels: tuple[str, ...]) -> ViewExports | None:
    try:
        folder = corpus_jobs.folder(name)
        shards = folder / "rows"  # a running job adds shards there: a new one is a new version
        version = (folder.stat().st_mtime_ns, shards.stat().st_mtime_ns if shards.is_dir() else 0)
        r = cache.cached(("corpus", name, version), lambda: read_results(str(folder)))
    except explain.GlimpseError as exc:
        st.error(md(str(exc)))
        return None
    if r.summary is None:
        st.info(f"{r.table.num_rows:,} rows are done; the summary appears when the run finishes.")
        return None
    s = r.summary
    _overview(s)
    rows = cache.cached(("corpus-rows", name, version, labels), lambda: views.rows_table(r.table, labels))
    shown = _table(r, rows)
    _words(s)
    _heads(s)
    if s.get("faithfulness"):
        st.plotly_chart(views.aopc_figure(s["faithfulness"]), key="corpus.aopc")
    return views.corpus_exports(name, s, r.plan, shown)


def _overview(s: dict[str, Any]) -> None:
    cols = st.columns(4)
    cols[0].metric("Rows", f"{s['rows']:,}", help=f"{s['errors']} could not be computed (see the table's status).")
    cols[1].metric(
        "Certified IG",
        f"{s['certified']:,} / {s['ok']:,}",
        help=f"Both checks ≤ the tolerance: largest relative δ {s['max_relative_delta']:.2%}, largest "
        f"per-token change {s['max_token_error']:.2%}; {s['mean_steps']:.0f} steps on average.",
    )
    if s.get("accuracy"):
        a = s["accuracy"]
        cols[2].metric("Accuracy", f"{a['accuracy']:.1%}", help=f"{a['correct']} of {a['total']} labelled rows.")
        with cols[3]:
            st.plotly_chart(views.confusion_figure(a), key="corpus.confusion")


def _table(r: Any, data: dict[str, list[Any]]) -> dict[str, list[Any]]:
    c1, c2, c3 = st.columns([2, 1, 1])
    with c1:
        needle = widgets.kept(
            st.text_input, "corpus.filter", "", label="Rows containing", help="Case-insensitive text filter."
        )
    with c2:
        only = widgets.kept(
            st.selectbox,
            "corpus.only",
            "all",
            label="Show",
            options=["all", "errors of the model", "not certified", "failed rows"],
        )
    with c3:
        low = widgets.kept(
            st.slider,
            "corpus.low",
            0.0,
            label="Confidence at most",
            min_value=0.0,
            max_value=1.0,
            step=0.05,
            help="0 = no limit; e.g. 0.7 shows the rows the model was least sure of.",
        )
    keep = [i for i in range(len(data["number"])) if _kept(data, i, needle, only, low)]
    shown = {c: [data[c][i] for i in keep] for c in data}
    event = st.dataframe(
        shown,
        key="corpus.table",
        on_select="rerun",
        selection_mode="single-row",
        hide_index=True,
        column_config={
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
            "certified": st.column_config.CheckboxColumn(help="Both δ and the per-token change within the tolerance."),
            "n_steps": st.column_config.NumberColumn("points", help="Gradient evaluations IG needed to certify."),
            "tokens": st.column_config.NumberColumn(help="Length after tokenising, [CLS] and [SEP] included."),
            "status": st.column_config.TextColumn(help="ok, or error when the row could not be computed."),
        },
    )  # fmt: skip
    st.caption(f"{len(keep):,} of {len(data['number']):,} rows. Click a column to sort, a row to open it.")
    picked = getattr(getattr(event, "selection", None), "rows", None) or []
    if picked:
        _open_row(r.table.slice(keep[picked[0]], 1).to_pylist()[0])
    return shown


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
