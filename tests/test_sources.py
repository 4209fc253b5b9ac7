"""Where a model may come from: what a stranger can learn about the server's disk, and what transformers sees."""

from __future__ import annotations

import builtins
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import huggingface_hub
import pytest

from explain import ModelLoadError, ModelSource, ModelSourceError, SourceKind, SourcePolicy, load_bundle, resolve_source

ALL = frozenset(SourceKind)
NO_FOLDERS = frozenset({SourceKind.EMBEDDED, SourceKind.HUB})


@contextmanager
def no_filesystem(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every way of asking the disk about a path fails the test (and is recorded, in case a caller swallows it)."""
    touched: list[str] = []

    def refuse(name: str) -> object:
        def call(*args: object, **kwargs: object) -> None:
            touched.append(f"{name}{args!r}")
            raise AssertionError(f"filesystem call {name}{args!r}")

        return call

    with monkeypatch.context() as m:
        for name in ("stat", "lstat", "listdir", "scandir", "access", "readlink"):
            m.setattr(os, name, refuse(f"os.{name}"))
        for name in ("exists", "isdir", "isfile", "islink", "realpath", "lexists"):
            m.setattr(os.path, name, refuse(f"os.path.{name}"))
        m.setattr(builtins, "open", refuse("open"))
        yield touched


def _model_folder(model_root: Path, folder: Path) -> Path:
    from tests.conftest import tiny_dir

    shutil.copytree(tiny_dir(model_root, "bert"), folder)
    return folder


def test_folders_off_decides_by_spelling_without_touching_the_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = SourcePolicy(NO_FOLDERS)
    with no_filesystem(monkeypatch) as touched:
        for ref in ("/etc/passwd", "./models/x", "~/models", "../../etc", "/nonexistent/model"):
            with pytest.raises(ModelSourceError, match="turned off"):
                resolve_source(ref, policy)
        hub = [resolve_source(ref, policy) for ref in ("bert-base-uncased", "org/name", "tests", "explain")]
    assert touched == []
    assert [s.kind for s in hub] == [SourceKind.HUB] * 4
    assert [s.ref for s in hub] == ["bert-base-uncased", "org/name", "tests", "explain"]


def test_a_hub_id_is_never_read_from_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model_root: Path
) -> None:
    """A folder named like the hub id sits in the working directory; the id still means the hub (here: the
    empty cache), with folders allowed or not."""
    work = tmp_path / "work"
    _model_folder(model_root, work / "org" / "name")
    monkeypatch.chdir(work)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for allowed in (ALL, NO_FOLDERS):
        source = resolve_source("org/name", SourcePolicy(allowed))
        assert source == ModelSource(SourceKind.HUB, "org/name")
        with pytest.raises(ModelLoadError, match="not in the local Hugging Face cache"):
            load_bundle(source)


def test_a_hub_id_loads_from_its_cached_snapshot(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model_root: Path
) -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "cache" / "models--org--tiny"
    _model_folder(model_root, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    bundle = load_bundle(resolve_source("org/tiny", SourcePolicy(NO_FOLDERS)))
    assert bundle.info.source == "org/tiny"
    assert (bundle.info.family, bundle.info.num_layers, bundle.info.num_heads) == ("bert", 2, 4)


def test_outside_the_roots_missing_and_forbidden_read_alike_without_touching_the_disk(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model_root: Path
) -> None:
    root = tmp_path / "root"
    _model_folder(model_root, root / "model")
    secret = _model_folder(model_root, tmp_path / "secret")  # a real model folder, outside the root
    policy = SourcePolicy(ALL, roots=(root,))
    messages = []
    with no_filesystem(monkeypatch) as touched:
        for ref in (str(secret), str(tmp_path / "missing"), "/etc", "/", "~/anything"):
            with pytest.raises(ModelSourceError) as caught:
                resolve_source(ref, policy)
            messages.append(str(caught.value))
    assert touched == []
    assert len(set(messages)) == 1, messages
    assert str(root) in messages[0] and "must lie under" in messages[0]
    assert resolve_source(str(root / "model"), policy).ref == str(root / "model")


def test_inside_the_roots_messages_say_what_is_missing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "empty").mkdir(parents=True)
    policy = SourcePolicy(ALL, roots=(root,))
    with pytest.raises(ModelSourceError, match="no folder"):
        resolve_source(str(root / "missing"), policy)
    with pytest.raises(ModelSourceError, match=r"no config\.json"):
        resolve_source(str(root / "empty"), policy)


def test_symlinks_out_of_a_root_are_refused_like_any_outside_path(tmp_path: Path, model_root: Path) -> None:
    root = tmp_path / "root"
    inside = _model_folder(model_root, root / "model")
    secret = _model_folder(model_root, tmp_path / "secret")
    (root / "escape").symlink_to(secret, target_is_directory=True)
    (root / "alias").symlink_to(inside, target_is_directory=True)
    (root / "dangling").symlink_to(tmp_path / "nothing-here")
    policy = SourcePolicy(ALL, roots=(root,))

    def refusal(ref: Path) -> str:
        with pytest.raises(ModelSourceError) as caught:
            resolve_source(str(ref), policy)
        return str(caught.value)

    outside = refusal(tmp_path / "nothing-here")
    assert refusal(root / "escape") == outside
    assert refusal(root / "dangling") == outside
    assert resolve_source(str(root / "alias"), policy) == ModelSource(SourceKind.FOLDER, str(inside))


def test_a_root_given_through_a_symlink_accepts_paths_under_it(tmp_path: Path, model_root: Path) -> None:
    real_root = tmp_path / "real-root"
    model = _model_folder(model_root, real_root / "model")
    link_root = tmp_path / "link-root"
    link_root.symlink_to(real_root, target_is_directory=True)
    policy = SourcePolicy(ALL, roots=(link_root,))
    assert resolve_source(str(link_root / "model"), policy).ref == str(model)


def test_dot_dot_paths_load_where_they_end_and_cannot_leave_the_roots(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model_root: Path
) -> None:
    """The README's '../' paths: resolved from the working directory, refused only when they end outside a root."""
    root = tmp_path / "root"
    model = _model_folder(model_root, root / "model")
    secret = _model_folder(model_root, tmp_path / "secret")
    (root / "work").mkdir()
    monkeypatch.chdir(root / "work")
    assert resolve_source("../model", SourcePolicy(ALL)) == ModelSource(SourceKind.FOLDER, str(model))
    policy = SourcePolicy(ALL, roots=(root,))
    assert resolve_source("../model", policy).ref == str(model)
    assert resolve_source(f"{root}/work/../model", policy).ref == str(model)
    outside = []
    with no_filesystem(monkeypatch) as touched:  # decided on the normalised text, before any file is looked at
        for ref in ("../../secret", f"{root}/../secret", "./../../secret", f"{root}/model/../../secret"):
            with pytest.raises(ModelSourceError, match="must lie under") as caught:
                resolve_source(ref, policy)
            outside.append(str(caught.value))
    assert touched == [] and len(set(outside)) == 1
    assert resolve_source("../../secret", SourcePolicy(ALL)).ref == str(secret)  # no roots: a trusted user


# --- a hub id: config.json first, checked, and only then the rest -----------------------------------------------


def _fake_hub(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model_root: Path, configs: dict[str, dict[str, object]]
) -> list[tuple[str, str]]:
    """A hub holding ``configs`` (every repo's weights are the tiny BERT's): nothing cached, every fetch recorded."""
    from explain.models import hub

    fetched: list[tuple[str, str]] = []

    def hf_hub_download(repo_id: str, filename: str, *, local_files_only: bool = False) -> str:
        if local_files_only:
            raise OSError("not cached")
        fetched.append((repo_id, filename))
        path = tmp_path / "hub" / repo_id / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(configs[repo_id]), encoding="utf-8")
        return str(path)

    def snapshot_download(repo_id: str, *, allow_patterns: list[str], local_files_only: bool = False) -> str:
        if local_files_only:
            raise OSError("not cached")
        fetched.append((repo_id, "snapshot"))
        return str(_model_folder(model_root, tmp_path / "snapshots" / repo_id))

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hf_hub_download)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    monkeypatch.setattr(hub, "hub_reachable", lambda: True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("GLIMPSE_MAX_PARAMS", raising=False)
    return fetched


_HUGE_BERT = {"model_type": "bert", "vocab_size": 30522, "hidden_size": 4096, "num_hidden_layers": 48,
              "intermediate_size": 16384, "max_position_embeddings": 512, "type_vocab_size": 2}  # fmt: skip


def test_a_hub_model_of_another_family_or_over_the_cap_is_refused_from_its_config_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model_root: Path
) -> None:
    from tests.conftest import tiny_dir

    tiny = json.loads((tiny_dir(model_root, "bert") / "config.json").read_text(encoding="utf-8"))
    hub = {"org/gpt": {"model_type": "gpt2", "n_layer": 48}, "org/huge": _HUGE_BERT, "org/tiny": tiny}
    fetched = _fake_hub(monkeypatch, tmp_path, model_root, hub)
    with pytest.raises(ModelLoadError, match=r"is a 'gpt2' model.*Nothing beyond its config\.json"):
        load_bundle(resolve_source("org/gpt", SourcePolicy(ALL)))
    with pytest.raises(ModelLoadError, match=r"about 9,8\d\d million parameters.*GLIMPSE_MAX_PARAMS, default 600"):
        load_bundle(resolve_source("org/huge", SourcePolicy(ALL)))
    assert fetched == [("org/gpt", "config.json"), ("org/huge", "config.json")]  # no weights were asked for
    bundle = load_bundle(resolve_source("org/tiny", SourcePolicy(ALL)))
    assert bundle.info.family == "bert" and fetched[2:] == [("org/tiny", "config.json"), ("org/tiny", "snapshot")]
    monkeypatch.setenv("GLIMPSE_MAX_PARAMS", "20000000000")  # the operator raised the cap: the check passes
    from explain.models.hub import hub_snapshot

    hub_snapshot("org/huge")
    assert fetched[-1] == ("org/huge", "snapshot")


def test_the_parameter_estimate_matches_real_models_built_from_their_configs() -> None:
    """Real-size configs, built on the meta device (no memory): the estimate the cap uses is within 1% (it leaves
    out only the classification head, and counts a pooler that DistilBERT and ELECTRA lack: < 1% of them)."""
    import torch
    import transformers as tf

    from explain.models.hub import estimate_parameters

    large = {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096}
    roberta = {"max_position_embeddings": 514, "type_vocab_size": 1}
    configs = [
        tf.BertConfig(), tf.BertConfig(**large), tf.DistilBertConfig(), tf.ElectraConfig(),
        tf.RobertaConfig(vocab_size=50265, **roberta), tf.XLMRobertaConfig(vocab_size=250002, **large, **roberta),
        tf.AlbertConfig(hidden_size=768, num_attention_heads=12, intermediate_size=3072), tf.AlbertConfig(),
        tf.DebertaV2Config(),  # DeBERTa-v2 xxlarge: separate position keys
        tf.DebertaV2Config(vocab_size=128100, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                           intermediate_size=3072, share_att_key=True, position_biased_input=False),
    ]  # fmt: skip
    for config in configs:
        with torch.device("meta"):
            model = tf.AutoModel.from_config(config)
        actual = sum(p.numel() for p in model.parameters())
        assert abs(estimate_parameters(config.to_dict()) / actual - 1) < 0.01, (config.model_type, actual)
