"""Glimpse's core: load BERT-family models, extract attention, build figures. Never imports streamlit."""

from explain.errors import (
    AttributionError,
    ComputationError,
    GlimpseError,
    InputError,
    ModelLoadError,
    ModelSourceError,
)
from explain.inputs import MAX_CHARS, Encoding, prepare_input
from explain.methods.attention import (
    AttentionResult,
    AttentionView,
    HeadFusion,
    attention_view,
    head_average,
    merge_pieces,
    probabilities,
    renormalise,
    rollout,
    rollout_relevance,
    run_attention,
)
from explain.methods.attribution import (
    AttributionResult,
    Baseline,
    IGSettings,
    attribute,
    word_scores,
)
from explain.models.loading import ModelBundle, ModelInfo, load_bundle
from explain.models.sources import (
    ModelSource,
    SourceKind,
    SourcePolicy,
    default_source,
    policy_from_env,
    resolve_source,
)

__all__ = [
    "MAX_CHARS",
    "AttentionResult",
    "AttentionView",
    "AttributionError",
    "AttributionResult",
    "Baseline",
    "ComputationError",
    "Encoding",
    "GlimpseError",
    "HeadFusion",
    "IGSettings",
    "InputError",
    "ModelBundle",
    "ModelInfo",
    "ModelLoadError",
    "ModelSource",
    "ModelSourceError",
    "SourceKind",
    "SourcePolicy",
    "attention_view",
    "attribute",
    "default_source",
    "head_average",
    "load_bundle",
    "merge_pieces",
    "policy_from_env",
    "prepare_input",
    "probabilities",
    "renormalise",
    "resolve_source",
    "rollout",
    "rollout_relevance",
    "run_attention",
    "word_scores",
]
