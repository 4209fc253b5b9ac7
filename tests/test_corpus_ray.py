"""The Ray engine gives the local engine's rows, every row exactly once: on a Ray it starts itself, on a
two-node cluster (``ray.cluster_utils.Cluster``), and when a worker is killed in the middle of the run."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from explain import ModelBundle
from explain.corpus import BatchDone, CorpusSettings, read_results, run_corpus, storage
from explain.methods.attribution import IGSettings
from tests.conftest import bundle_from
from tests.fixtures import build_tiny

SETTINGS = CorpusSettings(ig=IGSettings(n_steps=5, max_steps=25, tolerance=0.05), batch_size=2)
SENTENCES = ["the movie was great and the actors were fine", "a terrible film with bad jokes", "hello world",
             "bad bad movie", "a great film , fine actors", "the jokes were bad !", "great", "a film"]  # fmt: skip


@pytest.fixture(scope="module")
def steep(model_root: Path) -> ModelBundle:
    folder = model_root / "bert-steep"
    if not folder.exists():
        build_tiny("bert", folder, classifier=True, head_scale=5.0)
    return bundle_from(folder)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "in.csv"
    lines = [f'"{s}",,{i % 2}' for i, s in enumerate(SENTENCES)]
    lines[3] = '"a premise","its hypothesis",1'  # a pair: token types through the padded batch
    path.write_bytes(("text_a,text_b,label\n" + "\n".join(lines) + "\n").encode() + b"bad \xff,,0\n")
    return path


@pytest.fixture(scope="module")
def local_table(steep: ModelBundle, corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    out = tmp_path_factory.mktemp("local")
    run_corpus(steep, str(corpus), str(out / "r"), SETTINGS)
    return read_results(str(out / "r")).table


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """Two nodes of one CPU each: a pool of two workers must use both."""
    import ray
    from ray.cluster_utils import Cluster

    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    nodes.add_node(num_cpus=1)
    nodes.wait_for_nodes()
    yield nodes
    ray.shutdown()
    nodes.shutdown()


def assert_same_rows(ray_table: pa.Table, local: pa.Table) -> None:
    """Every row once, the same ids, statuses and words; numbers equal to 1e-5 (one torch thread against
    the local engine's default: summation order differs in the last bits)."""
    ids = ray_table.column("row_id").to_pylist()
    assert len(ids) == len(set(ids)) and ids == local.column("row_id").to_pylist()
    for name in local.column_names:
        mine, theirs = ray_table.column(name).to_pylist(), local.column(name).to_pylist()
        kind = local.schema.field(name).type
        if pa.types.is_floating(kind) or (pa.types.is_list(kind) and pa.types.is_floating(kind.value_type)):
            for a, b in zip(mine, theirs, strict=True):
                assert (a is None) == (b is None), name
                if a is not None:
                    np.testing.assert_allclose(_floats(a), _floats(b), atol=1e-5, err_msg=name)
        else:
            assert mine == theirs, name


def _floats(value: Any) -> np.ndarray:
    values = value if isinstance(value, list) else [value]
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def test_ray_started_here_gives_the_local_rows(
    steep: ModelBundle, corpus: Path, local_table: pa.Table, tmp_path: Path
) -> None:
    import ray

    done: list[BatchDone] = []
    summary = run_corpus(steep, str(corpus), str(tmp_path / "r"), SETTINGS, "ray", workers=2, on_batch=done.append)
    assert not ray.is_initialized()  # the engine shut down the Ray it started
    assert sorted(d.index for d in done) == list(range(5))  # 9 rows in batches of 2: each batch reported once
    assert summary["manifest"]["engine"] | {"startup_seconds": 0} == {
        "name": "ray", "workers": 2, "threads_per_worker": 1, "startup_seconds": 0, "address": None}  # fmt: skip
    assert_same_rows(read_results(str(tmp_path / "r")).table, local_table)


def test_two_nodes_share_the_work(
    steep: ModelBundle, corpus: Path, local_table: pa.Table, cluster: Any, tmp_path: Path
) -> None:
    done: list[BatchDone] = []
    run_corpus(steep, str(corpus), str(tmp_path / "r"), SETTINGS, "ray", workers=2, address=cluster.address,
               on_batch=done.append)  # fmt: skip
    assert len({d.node for d in done}) == 2  # one worker per node: both computed batches
    assert_same_rows(read_results(str(tmp_path / "r")).table, local_table)


def signalled_worker(signals: Path, dies_every_time: bool = False) -> type:
    """The production worker, except on batch 2: the first time, it writes the batch's shard and then blocks
    until the test kills its process, before Ray hears that the batch is done (so the kill lands inside the
    task, and the retry writes the same batch a second time); or it dies every time (``dies_every_time``). It
    notes every batch it starts. Defined here, so Ray ships the class by value; it subclasses the shipped
    ``CorpusWorker``, so everything else is production code."""
    from explain.corpus.ray_engine import CorpusWorker

    class Signalled(CorpusWorker):  # type: ignore[misc]
        def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            index = int(batch["index"][0])
            with open(signals / "started", "a") as log:
                log.write(f"{index} {os.getpid()}\n")
            if index == 2 and dies_every_time:
                os._exit(1)  # as a worker killed for memory, on every try
            done: dict[str, np.ndarray] = super().__call__(batch)  # computes and writes the shard
            if index == 2 and (signals / "armed").exists():
                (signals / "armed").rename(signals / "taken")  # only the first try blocks
                # written whole, then renamed: the killer reads the pid as soon as the name exists, and a
                # half-written file (int('')) once left this worker unkilled, blocking for 300 s
                (signals / "pid.tmp").write_text(str(os.getpid()))
                (signals / "pid.tmp").rename(signals / "pid")
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline:  # the test kills this process meanwhile
                    time.sleep(0.05)
            return done

    return Signalled


def _kill_when_blocked(signals: Path) -> threading.Thread:
    def kill() -> None:
        deadline = time.monotonic() + 300
        while not (signals / "pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(int((signals / "pid").read_text()), signal.SIGKILL)  # a worker of this test's own cluster

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def test_a_worker_killed_mid_batch_loses_no_row_and_stores_none_twice(
    steep: ModelBundle, corpus: Path, local_table: pa.Table, cluster: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from explain.corpus import ray_engine

    signals = tmp_path / "signals"
    signals.mkdir()
    (signals / "armed").touch()
    monkeypatch.setattr(ray_engine, "CorpusWorker", signalled_worker(signals))
    killer = _kill_when_blocked(signals)
    done: list[BatchDone] = []
    run_corpus(steep, str(corpus), str(tmp_path / "r"), SETTINGS, "ray", workers=2, address=cluster.address,
               on_batch=done.append)  # fmt: skip
    killer.join(timeout=10)
    starts = [line.split() for line in (signals / "started").read_text().splitlines()]
    tries = [pid for index, pid in starts if index == "2"]
    assert len(tries) == 2 and tries[0] == (signals / "pid").read_text()  # killed mid-batch, then retried
    assert sorted(d.index for d in done) == list(range(5))  # every batch stored (and reported) once
    assert storage.finished(str(tmp_path / "r")) == set(range(5))
    shards = sorted((tmp_path / "r" / "rows").glob("*.parquet"))
    ids = [i for shard in shards for i in pq.read_table(shard, columns=["row_id"]).column("row_id").to_pylist()]
    assert len(ids) == len(set(ids)) == local_table.num_rows  # no row in two shard files, none lost
    assert_same_rows(read_results(str(tmp_path / "r")).table, local_table)


def test_a_batch_whose_worker_always_dies_stops_the_run_naming_it(
    steep: ModelBundle, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ray Data's default retries a batch forever; here it stops after MAX_RETRIES and names the batch (on a
    Ray of its own: the shared cluster keeps the previous test's worker class)."""
    from explain.corpus import ray_engine
    from explain.errors import ComputationError

    signals = tmp_path / "signals"
    signals.mkdir()
    monkeypatch.setattr(ray_engine, "CorpusWorker", signalled_worker(signals, dies_every_time=True))
    with pytest.raises(ComputationError, match=r"Not stored: batch(es)? (\d+, )*2\b.*dies 3 times on one batch"):
        run_corpus(steep, str(corpus), str(tmp_path / "r"), SETTINGS, "ray", workers=1)
    tries = [line for line in (signals / "started").read_text().splitlines() if line.startswith("2 ")]
    assert len(tries) == 1 + ray_engine.MAX_RETRIES  # bounded: not forever


def test_a_worker_with_another_model_refuses_with_the_fix(
    steep: ModelBundle, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from explain.errors import ComputationError

    monkeypatch.setitem(steep.__dict__, "weights_sha256", "0" * 64)  # the driver's model is not the workers'
    with pytest.raises(ComputationError, match=r"is not the driver's .*same model at the same path on every node"):
        run_corpus(steep, str(corpus), str(tmp_path / "r"), SETTINGS, "ray", workers=1)
