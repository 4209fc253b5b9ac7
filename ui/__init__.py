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
"""

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
from ui.sidebar import EXAMPLE_PAIR, EXAMPLES, model_info, sidebar
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
    "sidebar",
    "start_timer",
]
