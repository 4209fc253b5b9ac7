"""Token classification (NER, POS): a tag per token, a word's tag from its first token, entity spans merged
from BIO/BIOES tags (seqeval's rules, :mod:`explain.tasks.spans`).

Explaining a tag explains that token's tag logit, the position fixed along the IG path. Every entity of a
sentence can be explained in one batched run (:func:`entity_choices` + ``attribute_many`` on the flattened
view), the rows of an entity × token matrix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from explain.errors import SettingsError
from explain.inputs import Encoding, prepare_input
from explain.methods.attribution import AttributionResult, IGSettings, attribute_many
from explain.methods.target import Target
from explain.models.heads import TaskKind
from explain.models.loading import ModelBundle
from explain.tasks.base import (
    Choice,
    Highlight,
    Selects,
    TargetSpec,
    TaskPrediction,
    TaskRequest,
    forward,
    numpy,
    softmax,
)
from explain.tasks.spans import Span, decode_spans


class Tagging(Selects):
    kind = TaskKind.TOKEN_CLASSIFICATION

    def predict(self, bundle: ModelBundle, request: TaskRequest) -> TaskPrediction:
        encoding = prepare_input(bundle, request.text, request.text_b)
        probs = softmax(numpy(forward(bundle, encoding).logits[0]))  # (seq, tags)
        tags = bundle.info.labels
        predicted = probs.argmax(-1)  # (seq,)
        firsts = first_tokens(encoding)  # the token that tags each typed word
        word_tags = [tags[int(predicted[t])] for t in firsts]
        spans = decode_spans(word_tags)
        entities = [_entity(encoding, firsts, span, probs, predicted) for span in spans]
        choices = (
            *entity_choices(bundle, encoding, firsts, spans, predicted),
            *(token_choice(bundle, encoding, int(t), int(predicted[t])) for t in np.flatnonzero(~encoding.special)),
        )
        return TaskPrediction(
            task=self.kind,
            encoding=encoding,
            headline=f"{len(spans)} entit{'y' if len(spans) == 1 else 'ies'}"
            + (": " + ", ".join(f"{e['text']} ({e['label']})" for e in entities[:4]) if entities else "")
            + (", …" if len(entities) > 4 else ""),
            output={
                "entities": entities,
                "words": [
                    {
                        "word": encoding.words[int(encoding.word_index[t])],
                        "tag": tag,
                        "probability": round(float(probs[t, predicted[t]]), 6),
                    }
                    for t, tag in zip(firsts, word_tags, strict=True)
                ],
                "tokens": [
                    {
                        "token": encoding.tokens[t],
                        "tag": tags[int(predicted[t])],
                        "probability": round(float(probs[t, predicted[t]]), 6),
                    }
                    for t in range(encoding.n_tokens)
                    if not encoding.special[t]
                ],
            },
            rows=tuple(
                {
                    "word": encoding.words[int(encoding.word_index[t])],
                    "tag": tag,
                    "probability": float(probs[t, predicted[t]]),
                }
                for t, tag in zip(firsts, word_tags, strict=True)
            ),
            choices=choices,
            highlights=tuple(_highlight(encoding, firsts, s) for s in spans),
            notices=encoding.notices,
            extra={"predicted": predicted, "first_tokens": firsts},
        )

    def select(self, bundle: ModelBundle, prediction: TaskPrediction, spec: TargetSpec) -> tuple[Choice, ...]:
        """A token's tag (``--token N [--label TAG]``), every entity (``--every``), or the first entity."""
        if spec.token is not None:
            return (token_choice(bundle, prediction.encoding, spec.token, spec.label),)
        if spec.label is not None:
            raise SettingsError("Name the token whose tag to explain (--token N, as in 'predict'), with --label.")
        entities = tuple(c for c in prediction.choices if c.group == "entities")
        if spec.every:
            if not entities:
                raise SettingsError("No entity was found in this text. Explain a token's tag with --token N.")
            return entities
        return prediction.choices[:1]


def first_tokens(encoding: Encoding) -> list[int]:
    """The first token of every typed word, in order (a word's tag is its first token's, as in CoNLL)."""
    seen: set[int] = set()
    out = []
    for t in np.flatnonzero(~encoding.special).tolist():
        w = int(encoding.word_index[t])
        if w not in seen:
            seen.add(w)
            out.append(t)
    return out


def entity_choices(
    bundle: ModelBundle, encoding: Encoding, firsts: Sequence[int], spans: Sequence[Span], predicted: np.ndarray
) -> list[Choice]:
    """Each entity explained by its first token's tag logit (the B- tag that opens it)."""
    out: list[Choice] = []
    for span in spans:
        t = firsts[span.start]
        text = " ".join(encoding.words[int(encoding.word_index[firsts[w]])] for w in range(span.start, span.end))
        name = f"{span.label} entity '{text}' ({bundle.info.labels[int(predicted[t])]} at token {t})"
        out.append(
            Choice(
                Target(position=t, index=int(predicted[t]), name=name),
                encoding,
                bundle.info.labels,
                "entities",
                f"entity {len(out)}",
            )
        )
    return out


def token_choice(bundle: ModelBundle, encoding: Encoding, position: int, label: int | str | None = None) -> Choice:
    """Token ``position``'s tag ``label`` (an id or a name; None = the predicted tag). Refusals list the choices."""
    tags = bundle.info.labels
    if not 0 <= position < encoding.n_tokens or encoding.special[position]:
        readable = np.flatnonzero(~encoding.special)
        raise SettingsError(
            f"Token {position} is not a word piece of this text; pick one of tokens {int(readable[0])} to "
            f"{int(readable[-1])} (0 is the leading special token)."
        )
    if label is None:
        label = int(np.argmax(numpy(forward(bundle, encoding).logits[0, position])))
    index = tags.index(label) if isinstance(label, str) and label in tags else label
    if not isinstance(index, int) or not 0 <= index < len(tags):
        raise SettingsError(f"Unknown tag '{label}'. This model's tags: {', '.join(tags)}.")
    name = f"{tags[index]} at '{encoding.tokens[position]}' (token {position})"
    return Choice(
        Target(position=position, index=index, name=name), encoding, tags, "tokens", f"{position}:{tags[index]}"
    )


def flat_target(choice: Choice, n_tags: int) -> int:
    """The choice's column in the flattened view ``logits.reshape(batch, seq * tags)``: what lets every
    entity of a sentence share one batched IG run."""
    assert choice.target.position is not None and choice.target.index is not None
    return choice.target.position * n_tags + choice.target.index


def _entity(
    encoding: Encoding, firsts: Sequence[int], span: Span, probs: np.ndarray, predicted: np.ndarray
) -> dict[str, object]:
    tokens = [firsts[w] for w in range(span.start, span.end)]
    return {
        "text": " ".join(encoding.words[int(encoding.word_index[t])] for t in tokens),
        "label": span.label,
        "start_word": span.start,
        "end_word": span.end,
        "first_token": tokens[0],
        "probability": round(float(np.mean([probs[t, predicted[t]] for t in tokens])), 6),
    }


def _highlight(encoding: Encoding, firsts: Sequence[int], span: Span) -> Highlight:
    assert encoding.offsets is not None
    first = firsts[span.start]
    last_word = int(encoding.word_index[firsts[span.end - 1]])
    last = int(np.flatnonzero(encoding.word_index == last_word)[-1])
    return Highlight(
        int(encoding.segment[first]), int(encoding.offsets[first, 0]), int(encoding.offsets[last, 1]), span.label
    )


def entity_matrix(
    bundle: ModelBundle, choices: Sequence[Choice], settings: IGSettings
) -> tuple[list[AttributionResult], np.ndarray]:
    """Certified IG of every chosen tag in ONE batched run, and the [choices, tokens] matrix of their scores.

    All choices are on the same encoding; on the flattened view (``logits.reshape(batch, seq * tags)``) each
    is one column, so their paths share padded batches (:func:`attribute_many` with one target per row)."""
    if not choices:
        raise SettingsError("No tag to explain. Pick an entity or a token.")
    encoding = choices[0].encoding
    tags = bundle.info.labels
    names = tuple(f"{t}:{tag}" for t in range(encoding.n_tokens) for tag in tags)
    flat = Choice(Target(name="every chosen tag"), encoding, names, "entities")
    columns = [flat_target(c, len(tags)) for c in choices]
    results = attribute_many(flat.view(bundle), [encoding] * len(choices), settings, targets=columns)
    return results, np.stack([r.scores for r in results])  # (choices, tokens)
