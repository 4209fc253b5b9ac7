"""Export panels: every view to PNG/SVG/PDF/HTML, its data to CSV/JSON, or all of it as one zip.

Files are built only when a button is clicked (Streamlit runs the callable then), so an export panel
costs nothing on a page's normal reruns. What a view exports is defined once, in ``explain.views.exports``.
"""

from __future__ import annotations

import streamlit as st

from explain.export import files as export
from explain.views import exports as views
from ui.state import md


def export_panel(key: str, view: views.ViewExports) -> None:
    """The export expander of a page: one figure, one data set, or everything."""
    with st.expander("Export figures and data", icon=":material/download:"):
        c1, c2, c3 = st.columns([3, 1, 1])
        titles = [f.title for f in view.figures]
        title = c1.selectbox("Figure", titles, key=f"export.{key}.figure")
        item = view.figures[titles.index(title)] if title in titles else view.figures[0]
        fmt = c2.selectbox("Format", item.formats, key=f"export.{key}.format", format_func=str.upper)
        scale = c3.select_slider(
            "PNG scale", [1, 2, 3, 4], value=2, key=f"export.{key}.scale",
            help="Pixels per figure unit: 2 is sharp on screens, 4 suits print (about 300 dpi at 6 inches wide).",
        )  # fmt: skip
        caption = view.provenance.caption()
        st.download_button(
            f"Download {title} ({fmt.upper()})",
            data=lambda: views.figure_bytes(item, fmt, scale, caption),
            file_name=f"{item.name}.{fmt}",
            mime=export.MIME[fmt],
            key=f"export.{key}.download",
            on_click="ignore",
        )
        st.caption(f"Figures carry a caption line: {md(caption)}")
        cols = st.columns(len(view.data) + 1)
        for col, d in zip(cols, view.data, strict=False):
            for fmt_d in views.DATA_FORMATS:
                col.download_button(
                    f"{d.title} ({fmt_d.upper()})", data=lambda d=d, f=fmt_d: views.data_bytes(d, f),
                    file_name=f"{d.name}.{fmt_d}", mime=export.MIME[fmt_d], key=f"export.{key}.{d.name}.{fmt_d}",
                    on_click="ignore",
                )  # fmt: skip
        cols[-1].download_button(
            "Everything (zip)", data=lambda: views.bundle([view], scale), file_name=f"glimpse-{key}.zip",
            mime=export.MIME["zip"], key=f"export.{key}.zip", type="primary", on_click="ignore",
            help="All figures as SVG, PDF, PNG and HTML, the data as JSON and CSV, and manifest.json "
            "(model and weight hash, text, method, baseline, steps, δ, library versions, time).",
        )  # fmt: skip
