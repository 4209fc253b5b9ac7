"""Export panels: every view to PNG/SVG/PDF/HTML, its data to CSV/JSON, or all of it as one zip.

A file is prepared first (a button, with a spinner while it builds) and only then offered for download,
so a failure (no Chromium, a renderer that does not answer) shows its message and the fix instead of a
download that never finishes, and the page stays as it was. A panel keeps one prepared file, keyed by
exactly what was asked, so a changed choice never serves a stale file. What a view exports is defined
once, in ``explain.views.exports``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

import explain
from explain.export import files as export
from explain.views import exports as views
from explain.views.print_style import PX_PER_INCH, FigureStyle
from ui.state import md


@dataclass(frozen=True)
class _Ask:
    """One file the panel can prepare."""

    key: tuple[object, ...]  # (view identity, what, name, format, style): equal asks give equal files
    label: str  # as on its button
    file_name: str
    build: Callable[[], bytes]


@dataclass(frozen=True)
class _Prepared:
    key: tuple[object, ...]
    label: str
    file_name: str
    data: bytes


def export_panel(key: str, view: views.ViewExports) -> None:
    """The export expander of a page: one figure, one data set, or everything.

    The expander has a key, so it keeps its own identity (and stays open) when elements above it come and
    go between reruns, and it opens itself while a prepared file waits: the download is where the user
    clicked, not inside a panel that folded up during the run."""
    asked = f"export.{key}.prepare."  # a button pressed in this run: it is in session state before it is drawn
    waiting = f"export.{key}.prepared" in st.session_state or any(
        str(k).startswith(asked) and st.session_state[k] is True for k in st.session_state
    )
    box = st.expander("Export figures and data", expanded=waiting, icon=":material/download:", key=f"export.{key}.open")
    with box:
        if not view.figures:
            st.caption("Nothing to export here yet: what this page computes appears in this panel once it is shown.")
            return
        _panel(key, view)


def _panel(key: str, view: views.ViewExports) -> None:
    c1, c2, c3, c4 = st.columns([3, 1, 1.4, 1.4])
    titles = [f.title for f in view.figures]
    title = c1.selectbox("Figure", titles, key=f"export.{key}.figure")
    item = view.figures[titles.index(title)] if title in titles else view.figures[0]
    fmt = c2.selectbox("Format", item.formats, key=f"export.{key}.format", format_func=str.upper)
    size = c3.selectbox(
        "Figure size", ["column", "page"], key=f"export.{key}.size", format_func=_SIZES.__getitem__,
        help="PNG, SVG and PDF are laid out for a paper: one column wide or the full text width.",
    )  # fmt: skip
    dpi = c4.select_slider("PNG dpi", [150, 300, 600], value=300, key=f"export.{key}.dpi",
                           help="Pixels per inch of a PNG; SVG and PDF are vector.")  # fmt: skip
    style = FigureStyle(size, dpi / PX_PER_INCH)
    caption = view.provenance.caption()
    figure = _Ask(
        (view.identity, "figure", item.name, fmt, style if fmt in _LAID_OUT else None), f"{title} ({fmt.upper()})",
        f"{item.name}.{fmt}", lambda: views.figure_bytes(item, fmt, style, caption),
    )  # fmt: skip
    asks = {f"export.{key}.prepare.figure": figure}
    clicked = _pressed(st.container(), f"export.{key}.prepare.figure", f"Prepare {figure.label}", figure)
    st.caption(f"Figures carry a caption line: {md(caption)}")
    cols = st.columns(len(view.data) + 1)
    for col, d in zip(cols, view.data, strict=False):
        for f in views.DATA_FORMATS:
            ask = _Ask((view.identity, "data", d.name, f), f"{d.title} ({f.upper()})", f"{d.name}.{f}",
                       lambda d=d, f=f: views.data_bytes(d, f))  # type: ignore[misc]  # fmt: skip
            clicked = _pressed(col, f"export.{key}.prepare.{d.name}.{f}", ask.label, ask) or clicked
            asks[f"export.{key}.prepare.{d.name}.{f}"] = ask
    everything = _Ask((view.identity, "zip", style), "Everything (zip)", f"glimpse-{key}.zip",
                      lambda: views.bundle([view], style))  # fmt: skip
    asks[f"export.{key}.prepare.zip"] = everything
    clicked = _pressed(cols[-1], f"export.{key}.prepare.zip", everything.label, everything, _ZIP_HELP) or clicked
    if clicked is not None:
        _prepare(key, clicked)
    _offer(key, {a.key for a in asks.values()})


_SIZES = {"column": "One column (3.3 in)", "page": "Page width (7 in)"}
_LAID_OUT = ("png", "svg", "pdf")  # HTML is the figure as on screen
_ZIP_HELP = (
    "All figures as SVG, PDF, PNG and HTML, the data as JSON and CSV, and manifest.json (model and weight hash, "
    "text, method, baseline, steps, δ, figure size and dpi, library versions, time)."
)


def _pressed(where: DeltaGenerator, widget: str, label: str, ask: _Ask, help_: str | None = None) -> _Ask | None:
    primary = ask.key[1] == "zip"
    return ask if where.button(label, key=widget, type="primary" if primary else "secondary", help=help_) else None


def _prepare(key: str, ask: _Ask) -> None:
    """Build the file now; on a GlimpseError show the fix and keep whatever was prepared before."""
    with st.spinner(f"Preparing {ask.label}…"):
        try:
            data = ask.build()
        except explain.GlimpseError as exc:
            st.error(md(str(exc)))
            return
    st.session_state[f"export.{key}.prepared"] = _Prepared(ask.key, ask.label, ask.file_name, data)


def _offer(key: str, current: set[tuple[object, ...]]) -> None:
    """The download of the prepared file if the panel would build the same file now; else it is dropped."""
    prepared: _Prepared | None = st.session_state.get(f"export.{key}.prepared")
    if prepared is None:
        return
    if prepared.key not in current:
        del st.session_state[f"export.{key}.prepared"]  # a stale file is never served, nor kept in memory
        return
    suffix = prepared.file_name.rsplit(".", 1)[-1]
    st.download_button(
        f"Download {prepared.label}: {prepared.file_name} ({len(prepared.data) / 1e6:.2f} MB)",
        data=prepared.data, file_name=prepared.file_name, mime=export.MIME[suffix], key=f"export.{key}.download",
        type="primary", on_click="ignore", icon=":material/download:",
    )  # fmt: skip
