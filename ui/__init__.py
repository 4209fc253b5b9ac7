"""The Streamlit layer shared by the pages (pages -> ui -> explain).

- ``ui.state``: cached models and results, the last good result, timing;
- ``ui.sidebar``: the model picker, text inputs and examples;
- ``ui.panels``: prediction, bertviz, attribution evidence and other shared panels;
- ``ui.export``: the export panels.
"""

from ui.panels import (
    attribution_summary,
    bertviz_section,
    footer,
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
    keep_page_state,
    load_bundle,
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
    "current",
    "footer",
    "head_grid",
    "keep_page_state",
    "load_bundle",
    "model_info",
    "model_info_download",
    "notices",
    "prediction_panel",
    "rollout",
    "rollout_tokens",
    "sidebar",
    "start_timer",
]
