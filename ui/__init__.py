"""The Streamlit layer shared by the pages (pages -> ui -> explain).

- ``ui.cache``: the process-wide caches (models by count, results by bytes);
- ``ui.widgets``: controls whose values survive page switches, built from declared knobs;
- ``ui.state``: the current result, the last good one, timing, derived views;
- ``ui.sidebar``: the model picker, text inputs and examples;
- ``ui.panels``: prediction, bertviz, attribution evidence and other shared panels;
- ``ui.export``: the export panels;
- ``ui.tasks``: the Task select, each task's inputs, the cached prediction and the target picker;
- ``ui.task_views``: a task's prediction panel and the top of every explaining page (the target's view);
- ``ui.entity_matrix``: a tagger's every entity in one batched IG run, as an entity × token matrix.

The names below are imported on first use, not with the package: ``serve.py`` imports ``ui.server`` before
the server starts, and an eager import here would make every launch wait for torch and transformers
(about 4 s) before answering its first request; the warm-up thread imports them meanwhile instead.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ui.panels import (
        attribution_summary,
        bertviz_section,
        class_settings,
        explained_input,
        footer,
        lazy_bertviz,
        model_info_download,
        notices,
        prediction_panel,
        rollout_tokens,
    )
    from ui.sidebar import EXAMPLE_PAIR, EXAMPLES, model_info
    from ui.state import (
        Current,
        active_source,
        attention_view,
        attribution,
        current,
        head_grid,
        load_bundle,
        norm_view,
        rollout,
        start_timer,
    )

#: Where each public name lives. ``sidebar`` is not one: ``ui.sidebar`` is the module (the import system
#: binds it on the package once anything imports it), so the frame imports the function from there.
_HOME = {
    **dict.fromkeys(
        ("attribution_summary", "bertviz_section", "class_settings", "explained_input", "footer", "lazy_bertviz",
         "model_info_download", "notices", "prediction_panel", "rollout_tokens"),
        "ui.panels",
    ),
    **dict.fromkeys(("EXAMPLE_PAIR", "EXAMPLES", "model_info"), "ui.sidebar"),
    **dict.fromkeys(
        ("Current", "active_source", "attention_view", "attribution", "current", "head_grid", "load_bundle",
         "norm_view", "rollout", "start_timer"),
        "ui.state",
    ),
}  # fmt: skip

__all__ = [
    "EXAMPLES",
    "EXAMPLE_PAIR",
    "Current",
    "active_source",
    "attention_view",
    "attribution",
    "attribution_summary",
    "bertviz_section",
    "class_settings",
    "current",
    "explained_input",
    "footer",
    "head_grid",
    "lazy_bertviz",
    "load_bundle",
    "model_info",
    "model_info_download",
    "norm_view",
    "notices",
    "prediction_panel",
    "rollout",
    "rollout_tokens",
    "start_timer",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'ui' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value
