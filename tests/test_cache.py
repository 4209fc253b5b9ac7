"""The shared caches: results bounded by bytes, models by count, one load per model."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import explain
from ui.cache import ByteCache, ModelRegistry, nbytes

ROOT = Path(__file__).resolve().parent.parent
#: What scripts/run.sh sets for the server: large arrays go back to the system when freed.
SERVER_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_ARENA_MAX": "2"}
MB = 1024 * 1024


def test_nbytes_counts_arrays_once_and_views_as_their_base() -> None:
    a = np.zeros(1000, dtype=np.float64)  # 8,000 bytes
    assert nbytes(a) == 8000
    assert nbytes((a, a)) == 8000  # the same array twice
    assert nbytes((a, a[:10])) == 8000  # a view holds its base's memory, counted once
    assert nbytes("x" * 100) == 100


def test_byte_cache_evicts_least_recently_used_to_stay_under_budget() -> None:
    cache = ByteCache(budget=3 * MB)
    for i in range(3):
        cache.put(i, np.zeros(MB // 8))  # 1 MB each
    assert len(cache) == 3 and cache.used == 3 * MB
    cache.get(0)  # 0 is now the most recent
    cache.put(3, np.zeros(MB // 8))
    assert cache.get(1) is None and cache.get(0) is not None and cache.get(3) is not None
    assert cache.used <= 3 * MB
    cache.put("huge", np.zeros(4 * MB // 8))  # larger than the budget: returned, never kept
    assert cache.get("huge") is None and cache.used <= 3 * MB


def test_registry_keeps_at_most_its_limit_and_loads_each_model_once(
    monkeypatch: pytest.MonkeyPatch, model_root: Path
) -> None:
    from tests.conftest import tiny_dir

    loads: list[str] = []
    real = explain.load_bundle

    def slow_load(source: explain.ModelSource) -> explain.ModelBundle:
        loads.append(source.ref)
        time.sleep(0.2)  # sessions arrive while the first load runs
        return real(source)

    monkeypatch.setattr(explain, "load_bundle", slow_load)
    registry = ModelRegistry(limit=2)
    folders = [tiny_dir(model_root, f) for f in ("bert", "electra")]
    sources = [explain.ModelSource(explain.SourceKind.FOLDER, str(f)) for f in folders]
    threads = [threading.Thread(target=registry.get, args=(sources[0],)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert loads == [sources[0].ref]  # four sessions, one load
    registry.get(sources[1])
    third = explain.ModelSource(explain.SourceKind.FOLDER, str(tiny_dir(model_root, "albert")))
    registry.get(third)
    assert registry.loaded() == [sources[1], third]  # the least recently used left


@pytest.mark.slow
@pytest.mark.parametrize(("budget_mb", "fits"), [(200, True), (5000, False)])
def test_thirty_long_texts_stay_within_the_cache_budget(tmp_path: Path, budget_mb: int, fits: bool) -> None:
    """Paste 30 distinct long texts into one session: memory grows by at most the budget (the model and the
    libraries were resident before). With a budget too large to bind, the same pastes grow past it."""
    script = tmp_path / "paste.py"
    script.write_text(_PASTE_THIRTY, encoding="utf-8")
    env = {**os.environ, **SERVER_ENV, "HF_HUB_OFFLINE": "1", "GLIMPSE_CACHE_MB": str(budget_mb),
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    out = subprocess.run([sys.executable, str(script)], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=600, check=True)  # fmt: skip
    baseline_mb, final_mb, used_mb = (float(v) for v in out.stdout.split()[-3:])
    assert (final_mb - baseline_mb <= 200) is fits, (baseline_mb, final_mb, used_mb)
    assert (used_mb <= 200) is fits


_PASTE_THIRTY = """
import os
from streamlit.testing.v1 import AppTest
from ui import cache

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

at = AppTest.from_file(os.path.join(os.getcwd(), "app.py"), default_timeout=120)
at.session_state["glimpse.text"] = "warm up"
at.run()
at.text_area(key="glimpse.text").set_value(" ".join(f"w-1x{j}" for j in range(400))).run()  # one long page
baseline = rss_mb()
for i in range(30):  # ~500 tokens each, distinct
    at.text_area(key="glimpse.text").set_value(" ".join(f"w{i}x{j}" for j in range(400))).run()
    assert not at.exception, at.exception
print(baseline, rss_mb(), cache.results().used / 2**20)
"""


def _copy_over(src: Path, folder: Path) -> None:
    """Another model's files into ``folder``, each written whole and renamed into place, as a re-save does."""
    for f in src.iterdir():
        tmp = folder / (f.name + ".new")
        tmp.write_bytes(f.read_bytes())
        tmp.replace(folder / f.name)


def test_a_model_resaved_into_its_folder_is_loaded_again_and_its_results_are_its_own(
    tmp_path: Path,
) -> None:
    from tests.fixtures import build_tiny
    from ui.state import InputKey, _attention

    folder = build_tiny("bert", tmp_path / "model", classifier=True)
    source = explain.ModelSource(explain.SourceKind.FOLDER, str(folder))
    registry = ModelRegistry(limit=2)
    first = registry.get(source)
    old = _attention(InputKey.of(first, "a fine film", None), first)
    build_tiny("bert", tmp_path / "other", classifier=True, head_scale=4.0)  # other weights, same shapes
    _copy_over(tmp_path / "other", folder)
    second = registry.get(source)
    new = _attention(InputKey.of(second, "a fine film", None), second)
    alone = explain.load_bundle(source)  # what a fresh process would load from the folder now
    expected = explain.run_attention(alone, explain.prepare_input(alone, "a fine film"))
    assert second is not first and second.weights_sha256 == alone.weights_sha256 != first.weights_sha256
    assert new.logits is not None and expected.logits is not None and old.logits is not None
    assert np.array_equal(new.logits, expected.logits) and not np.array_equal(new.logits, old.logits)
    assert registry.loaded() == [source]


def test_a_load_never_evicts_a_model_another_session_is_computing_with(
    monkeypatch: pytest.MonkeyPatch, model_root: Path
) -> None:
    """Two sessions, one model slot: B's load waits for no one, but A's model stays until A's run ends."""
    from tests.conftest import tiny_dir

    loads: list[str] = []
    real = explain.load_bundle
    monkeypatch.setattr(explain, "load_bundle", lambda s: loads.append(s.ref) or real(s))
    registry = ModelRegistry(limit=1)
    a, b = (explain.ModelSource(explain.SourceKind.FOLDER, str(tiny_dir(model_root, f))) for f in ("bert", "electra"))
    computing, loaded_b = threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def session_a() -> None:
        with registry.pinning():  # one script run
            first = registry.get(a)
            computing.set()
            loaded_b.wait(30)  # session B loads its model while A's analysis runs
            seen["after b"] = registry.loaded()
            seen["same"] = registry.get(a) is first  # A's next step in the same run: no reload

    def session_b() -> None:
        computing.wait(30)
        with registry.pinning():
            registry.get(b)
            seen["during b"] = registry.loaded()  # over the limit rather than evict A
        loaded_b.set()

    threads = [threading.Thread(target=session_a), threading.Thread(target=session_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert seen == {"during b": [a, b], "after b": [a], "same": True} and loads == [a.ref, b.ref]
    assert len(registry.loaded()) == 1  # both runs ended: within the limit again


def test_the_app_pins_its_model_while_a_page_computes(monkeypatch: pytest.MonkeyPatch) -> None:
    """app.py wraps every script run in the registry's pinning: the model is pinned during the computation,
    and released when the run ends."""
    from streamlit.testing.v1 import AppTest

    from ui import cache

    pinned: list[bool] = []
    real = explain.run_attention

    def watched(bundle: explain.ModelBundle, *args: object, **kwargs: object) -> explain.AttentionResult:
        pinned.append(cache.models()._pins[id(bundle)] > 0)
        return real(bundle, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(explain, "run_attention", watched)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["glimpse.text"] = "a sentence no other test has run: pinned while it runs"
    at.run()
    assert not at.exception and pinned and all(pinned)
    assert not +cache.models()._pins  # every pin released at the end of the run
