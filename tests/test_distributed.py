"""Distributed execution (engine.runner: dask): partitioning, the GPU placement rule, and the nightly flow on
real Dask worker processes giving what the local runner gives (numbers to their last stored digit: see
SCORE_TOL)."""
import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from conftest import REPO

pytestmark = pytest.mark.filterwarnings("ignore")

N_ROWS = 60  # small: every text is tagged twice (local and dask) on a shared CPU
# 24 rows per partition -> 3 partitions; the local reference tags in the flow's process (local_processes 1)
ENGINE = {"batch_size": 8, "partition_size": 20, "local_processes": 1}


# ------------------------------------------------------------------------------------------ helpers
def make_project(root: Path, **engine) -> Path:
    """A project with the shipped model and taxonomy, and one JSON-lines source of N_ROWS generated rows."""
    from cxnlp.samplegen import iter_records

    (root / "configs").mkdir(parents=True)
    (root / "data").mkdir()
    settings = yaml.safe_load((REPO / "configs" / "settings.yaml").read_text(encoding="utf-8"))
    settings["engine"] = {**settings["engine"], **ENGINE, **engine}
    settings["ingest"]["parallel_min_bytes"] = 0  # map even this small file in parallel (on the Dask workers)
    (root / "configs" / "settings.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    for name in ("taxonomy.yaml", "models.yaml"):
        shutil.copy(REPO / "configs" / name, root / "configs" / name)
    (root / "models").symlink_to(REPO / "models")
    with (root / "data" / "feedback.jsonl").open("w", encoding="utf-8") as f:
        for rec in iter_records(N_ROWS, seed=11):
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    (root / "configs" / "sources.yaml").write_text(yaml.safe_dump({"sources": {"feedback": {
        "path": "data/feedback.jsonl", "source": "review", "format": "jsonl",
        "columns": {"id": "id", "text": "text", "created_at": "created_at", "channel": "channel", "author": "author",
                    "rating_stars": "rating_stars", "likes": "likes", "shares": "shares", "replies": "replies"}}}}),
        encoding="utf-8")
    return root


def stored(root: Path, volume: bool = True) -> dict:
    """What a run leaves in the store that must not depend on the runner."""
    from cxnlp.config import load_settings
    from cxnlp.store import open_store

    with open_store(load_settings(root), read_only=True) as store:
        return {
            "tags": store.query("SELECT feedback_id, task, label, score, CAST(evidence AS VARCHAR), model, model_version "
                                "FROM tags ORDER BY ALL"),
            "state": store.query("SELECT feedback_id, model, model_version, CAST(result AS VARCHAR), retag "
                                 "FROM tag_state ORDER BY ALL"),
            "counts": {t: store.count(t) for t in ("feedback", "duplicates", "quarantine", "tags", "tag_state")},
            "volume": store.query("SELECT * FROM daily_volume ORDER BY ALL") if volume else None,
            "vectors": store.query("SELECT feedback_id, encoder, vec FROM text_vectors ORDER BY ALL"),
        }


# Scores are stored rounded to 4 places. A process with another number of torch threads (a Dask worker has one,
# the flow's process one per core) can sum a float product in another order: on CPUs with AVX-512 the
# encoder's output then moves by about 1e-7 (measured), which now and then carries a rounded score over to
# the next 0.0001, or a stored vector's int8 code to the next step. Labels, tasks and evidence must be
# identical; numbers may differ by that much, no more.
SCORE_TOL = 2e-4
VECTOR_TOL = 5e-3  # one int8 step of a unit vector's largest component (about 0.2 / 127), with room


def _close(a, b) -> bool:
    """Equal, except that numbers may differ by SCORE_TOL; JSON text is compared as its value."""
    if isinstance(a, str) and isinstance(b, str) and a[:1] in "[{" and b[:1] in "[{":
        try:
            a, b = json.loads(a), json.loads(b)
        except ValueError:
            return a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= SCORE_TOL
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    return a == b


def assert_same_results(got: dict, ref: dict, keys=("tags", "state", "vectors")) -> None:
    """``stored()`` of two runs: the same rows, labels and evidence; scores and vectors as close as a process
    with another thread count can make them (see SCORE_TOL)."""
    import numpy as np

    from cxnlp.classify.docvec import unpack

    for key in keys:
        a, b = got[key], ref[key]
        assert a and len(a) == len(b), key
        if key == "vectors":
            assert [r[:2] for r in a] == [r[:2] for r in b]
            diff = np.abs(unpack([r[2] for r in a]) - unpack([r[2] for r in b])).max()
            assert diff <= VECTOR_TOL, diff
            continue
        bad = [(x, y) for x, y in zip(a, b) if not _close(x, y)]
        assert not bad, (key, len(bad), bad[:3])


@pytest.fixture(scope="module")
def prefect_home():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="module")
def local_result(tmp_path_factory, prefect_home):
    """The reference: the nightly flow with the local runner."""
    from flows.nightly import nightly

    root = make_project(tmp_path_factory.mktemp("local"))
    res = nightly(str(root))
    assert res["engine"] == {"runner": "local"} and res["tag"]["tagged"] > 0
    # the tag process stored every text's document vector: the topic stage encoded nothing again
    vec = res["topics"]["vectors"]
    assert vec["computed"] == 0 and vec["stored"] == res["topics"]["scopes"]["all"]["texts"] > 0
    return res, stored(root)


# ------------------------------------------------------------------------------------- settings, GPU
def test_engine_settings_defaults_validation_and_env(tmp_path, monkeypatch):
    from cxnlp.config import load_settings
    from cxnlp.engine import EngineError, EngineSettings

    eng = EngineSettings.from_settings(load_settings(REPO))
    assert (eng.runner, eng.address, eng.n_workers, eng.threads_per_worker, eng.partition_size) == \
        ("local", None, 2, 1, 20000)
    assert eng.partition_rows == 20480 and eng.partition_rows % eng.batch_size == 0
    monkeypatch.setenv("CXNLP_ENGINE_RUNNER", "dask")
    monkeypatch.setenv("CXNLP_ENGINE_ADDRESS", "tcp://10.0.0.5:8786")
    eng = EngineSettings.from_settings(load_settings(REPO))
    assert (eng.runner, eng.address) == ("dask", "tcp://10.0.0.5:8786")
    monkeypatch.setenv("CXNLP_ENGINE_RUNNER", "spark")
    with pytest.raises(EngineError, match="engine.runner"):
        EngineSettings.from_settings(load_settings(REPO))
    monkeypatch.setenv("CXNLP_ENGINE_RUNNER", "dask")
    monkeypatch.setenv("CXNLP_ENGINE_N_WORKERS", "0")
    with pytest.raises(EngineError, match="n_workers"):
        EngineSettings.from_settings(load_settings(REPO))


@pytest.mark.parametrize("backend, configured, cuda, expected", [
    ("embedded", True, True, ("embedded", None)),
    ("auto", False, True, ("embedded", None)),
    ("auto", True, False, ("embedded", None)),
    ("auto", True, True, ("transformers", {"GPU": 1})),
    ("transformers", True, True, ("transformers", {"GPU": 1})),
    ("transformers", True, False, ("transformers", None)),
])
def test_gpu_worker_only_for_transformers_with_cuda(backend, configured, cuda, expected):
    from cxnlp.engine import choose_tagging

    plan = choose_tagging(backend, configured, cuda)
    assert (plan.backend, plan.resources) == expected


def test_tag_plan_reads_models_yaml_and_detects_cuda(tmp_path, monkeypatch):
    from cxnlp import engine

    (tmp_path / "configs").mkdir()
    models = tmp_path / "configs" / "models.yaml"
    models.write_text("backend: auto\ntransformers:\n  model: some/local-folder\n", encoding="utf-8")
    monkeypatch.setattr(engine, "cuda_available", lambda: True)
    assert engine.tag_plan(tmp_path) == engine.TagPlan("transformers", {"GPU": 1})
    monkeypatch.setattr(engine, "cuda_available", lambda: False)
    assert engine.tag_plan(tmp_path) == engine.TagPlan("embedded", None)
    models.write_text("backend: transformers\ntransformers:\n  model: some/local-folder\n", encoding="utf-8")
    assert engine.tag_plan(tmp_path) == engine.TagPlan("transformers", None)  # CPU, any worker


# ------------------------------------------------------------------------------------------ partitions
def _feedback(i: int, when: datetime):
    from cxnlp.schema import Feedback

    return Feedback(id=f"fb-{i:03d}", source="review", source_name="s", created_at=when, text=f"Text {i}",
                    content_hash=f"h{i}", near_key=f"k{i}")


def test_partitions_cover_every_untagged_id_exactly_once(tmp_path):
    from cxnlp.engine import partition_frame, plan_partitions
    from cxnlp.store import open_store

    t0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
    # many rows share a timestamp, so ranges must split inside equal created_at values (tie-break by id)
    rows = [_feedback(i, t0 + timedelta(minutes=i // 7)) for i in range(83)]
    with open_store(path=tmp_path / "s.duckdb") as store:
        store.write_ingest_batch(run_id="r", feedback=rows[::-1], duplicates=[], quarantine=[], source_name="s",
                                 fingerprint="f", file="f", rows_done=len(rows), file_status="done")
        tagged = [f"fb-{i:03d}" for i in range(0, 83, 5)]
        result = {"sentiment": {"label": "neutral", "scores": {"neutral": 1.0}}}
        store.write_tags([(t, result) for t in tagged], [], "m", "1", "r")
        store.write_tags([("fb-010", result)], [], "old-model", "0", "r")  # other model: untagged for m/1
        store.request_retag(["fb-020"])  # marked for re-tagging: untagged
        untagged = {r.id for r in rows} - set(tagged) | {"fb-010", "fb-020"}
        assert store.count_untagged("m", "1") == len(untagged)

        parts = plan_partitions(store, "m", "1", rows=9)
        seen: list[str] = []
        for k, part in enumerate(parts):
            ids = partition_frame(store, "m", "1", part).column("id").to_pylist()
            assert part.index == k and len(ids) == part.rows <= 9
            seen += ids
        assert len(seen) == len(set(seen)) == len(untagged) and set(seen) == untagged
        # tagging order (created_at, id) across partitions: the order the local runner takes batches in
        order = {r.id: (r.created_at, r.id) for r in rows}
        assert seen == sorted(seen, key=order.__getitem__)
        assert [r[0] for r in store.untagged("m", "1", 1000)] == seen
        assert plan_partitions(store, "other", "9", rows=9)[-1].rows == 83 - 9 * 9
        store.write_tags([(i, result) for i in untagged], [], "m", "1", "r")
        assert plan_partitions(store, "m", "1", rows=9) == []


def test_partitions_are_balanced_over_the_workers():
    from cxnlp.engine import balanced_partition_rows

    # 99,520 texts on 2 workers: 6 partitions of 16,896 (3 each) instead of 5 of 20,480 (3 against 2)
    assert balanced_partition_rows(99_520, 20_480, 2, 512) == 16_896
    assert balanced_partition_rows(30_000, 20_480, 2, 512) == 15_360  # 2 halves, not 20,480 + 9,520
    assert balanced_partition_rows(99_520, 20_480, 1, 512) == 20_480  # one worker: the configured size
    assert balanced_partition_rows(15_000, 20_480, 2, 512) == 20_480  # one partition's worth: unchanged
    for slots in (2, 3, 4):
        for total in range(20_481, 400_000, 7_919):
            rows = balanced_partition_rows(total, 20_480, slots, 512)
            assert rows <= 20_480 and rows % 512 == 0
            sizes = [min(rows, total - s) for s in range(0, total, rows)]
            loads = [sum(sizes[w::slots]) for w in range(slots)]  # partitions dealt out in rounds
            # at most one batch per partition apart (the rounding to whole batches), never a partition's worth
            assert max(loads) - min(loads) < len(sizes) * 512, (total, slots, loads)


# ------------------------------------------------------------------------------------------ the flow
def test_dask_runner_matches_local_and_reruns_tag_nothing(tmp_path, local_result):
    from flows.nightly import nightly

    reference, ref_stored = local_result
    root = make_project(tmp_path / "dask", runner="dask", n_workers=2)
    first = nightly(str(root))
    assert first["engine"]["runner"] == "dask" and first["engine"]["workers"] == 2
    assert first["engine"]["gpu_workers"] == [] and first["engine"]["tag_resources"] is None
    assert first["ingest"] == {k: {**v, "seconds": first["ingest"][k]["seconds"]} for k, v in reference["ingest"].items()}
    tag = first["tag"]
    assert tag["tagged"] == reference["tag"]["tagged"] == ref_stored["counts"]["feedback"]
    from cxnlp.engine import balanced_partition_rows

    # equal partitions, as many for each of the 2 workers (24 rows at most, in batches of 8)
    assert tag["partition_rows"] == balanced_partition_rows(tag["tagged"], 24, 2, 8) < 24
    assert tag["partitions"] == -(-tag["tagged"] // tag["partition_rows"]) >= 2
    assert len(tag["workers"]) == 2  # both worker processes tagged
    got = stored(root)
    assert got["counts"] == ref_stored["counts"]
    assert_same_results(got, ref_stored)  # same labels, scores, evidence, full results and document vectors
    assert got["volume"] == ref_stored["volume"]
    assert not any((root / "var" / "engine").iterdir())  # partition files are removed

    second = nightly(str(root))
    assert second["tag"]["tagged"] == 0 and second["tag"]["partitions"] == 0
    assert all(s["files_skipped"] == 1 and s["rows_read"] == 0 for s in second["ingest"].values())
    assert_same_results(stored(root), ref_stored, ("tags",))


def test_local_runner_tags_big_backlogs_of_the_cpu_model_in_processes():
    from cxnlp.engine import EngineSettings, local_tag_processes

    eng = EngineSettings()  # 20,480 rows per partition
    assert local_tag_processes(eng, "embedded", 100_000, cores=2) == 2
    assert local_tag_processes(eng, "embedded", 100_000, cores=16) == 5  # no more processes than partitions
    assert local_tag_processes(eng, "embedded", 30_000, cores=2) == 0  # under two partitions: in the flow's process
    assert local_tag_processes(eng, "transformers", 100_000, cores=2) == 0  # one GPU (or torch's threads)
    assert local_tag_processes(eng, "embedded", 0, cores=2) == 0
    assert local_tag_processes(EngineSettings(local_processes=1), "embedded", 10**6, cores=2) == 0
    assert local_tag_processes(EngineSettings(local_processes=3), "embedded", 30_000, cores=2) == 2


def test_local_runner_with_tag_processes_matches_tagging_in_the_flow_process(tmp_path, local_result):
    import os

    from flows.nightly import nightly

    reference, ref_stored = local_result
    root = make_project(tmp_path / "procs", local_processes=2)
    res = nightly(str(root))
    assert res["engine"] == {"runner": "local"}
    tag = res["tag"]
    # 60 texts in 4 partitions of 16 (2 for each process) rather than 3 of 24
    assert tag["processes"] == 2 and tag["tagged"] == reference["tag"]["tagged"] == 60 and tag["partitions"] == 4
    assert 1 <= len(tag["workers"]) <= 2 and f"pid-{os.getpid()}" not in tag["workers"]  # other processes tagged
    got = stored(root)
    assert got["counts"] == ref_stored["counts"]
    assert_same_results(got, ref_stored)
    assert not any((root / "var" / "engine").iterdir())


class _Done:
    def __init__(self, value=None, error=None):
        self.value, self.error = value, error

    def result(self):
        if self.error:
            raise self.error
        return self.value


def test_killed_tagging_resumes_without_tagging_twice(tmp_path, local_result):
    """A partition lost half-way (worker killed): what was written stays, the next run tags only the rest, and
    the end state equals the local runner's."""
    from cxnlp import engine, runs
    from cxnlp.config import load_settings, load_sources
    from cxnlp.store import open_store

    _, ref_stored = local_result
    root = make_project(tmp_path / "resume")
    settings = load_settings(root)
    calls = []

    def flaky(params):
        calls.append(params)
        if len(calls) == 2:
            return _Done(error=RuntimeError("worker lost"))
        return _Done(engine.tag_partition(**params))  # in this process: the same code a worker runs

    with open_store(settings) as store:
        runs.ingest_stage(store, settings, load_sources(root), "r1")
        with pytest.raises(RuntimeError, match="worker lost"):
            engine.tag_in_partitions(store, settings, "r1", flaky, slots=1)
        assert store.count("tag_state") == 24  # the first partition was written before the failure
        assert not (root / "var" / "engine" / "r1").exists()
        res = engine.tag_in_partitions(store, settings, "r2", lambda p: _Done(engine.tag_partition(**p)), slots=1)
    assert res["tagged"] == ref_stored["counts"]["feedback"] - 24 == 36 and res["partitions"] == 2
    got = stored(root, volume=False)
    assert got["tags"] == ref_stored["tags"] and got["state"] == ref_stored["state"]


@pytest.fixture
def gpu_cluster():
    """One CPU worker and one worker that offers the GPU resource (no GPU needed: it is a label)."""
    from cxnlp.engine import local_cluster

    with local_cluster(n_workers=1, threads_per_worker=1, gpu_workers=1) as cluster:
        yield cluster


@pytest.mark.slow
def test_address_connects_to_running_scheduler_and_gpu_tasks_go_to_gpu_worker(tmp_path, local_result, gpu_cluster,
                                                                               monkeypatch):
    from distributed import Client, get_task_stream

    from cxnlp import engine
    from flows.nightly import nightly

    _, ref_stored = local_result
    # as if the tagger were a transformers model on a machine with CUDA (the workers still run the embedded model)
    monkeypatch.setattr(engine, "tag_plan", lambda root, cuda=None: engine.TagPlan("embedded", {"GPU": 1}))
    root = make_project(tmp_path / "remote", runner="dask", address=gpu_cluster.scheduler_address, n_workers=5)
    with Client(gpu_cluster.scheduler_address) as client:
        gpu = engine.gpu_workers(client)
        cpu = engine.cpu_workers(client)
        assert len(gpu) == 1 and len(cpu) == 1
        with get_task_stream(client) as ts:
            res = nightly(str(root))
    assert res["engine"]["scheduler"] == gpu_cluster.scheduler_address and res["engine"]["workers"] == 2
    assert res["tag"]["workers"] == gpu
    ran = [(t["key"], t["worker"]) for t in ts.data]
    mapped = {w for k, w in ran if "map_in_worker" in str(k)}
    tagged = {w for k, w in ran if "tag_partition" in str(k)}
    assert mapped == set(cpu) and tagged == set(gpu)
    got = stored(root)
    assert_same_results(got, ref_stored, ("tags",))
    assert got["counts"] == ref_stored["counts"]


@pytest.mark.slow
def test_run_pipeline_without_prefect_uses_a_plain_dask_client(tmp_path, local_result):
    from cxnlp.config import load_settings
    from cxnlp.runs import run_pipeline

    _, ref_stored = local_result
    root = make_project(tmp_path / "plain", runner="dask", n_workers=2)
    res = run_pipeline(load_settings(root))
    assert res["tag"]["partitions"] >= 2 and len(res["tag"]["workers"]) == 2
    got = stored(root)
    assert_same_results(got, ref_stored, ("tags", "state"))
    assert got["counts"] == ref_stored["counts"]


def test_local_cluster_workers_keep_glibc_adaptive_malloc_and_one_blas_thread(gpu_cluster):
    """Dask's default MALLOC_TRIM_THRESHOLD_ made the tagger 40 % slower on a worker: cxnlp's clusters unset it
    (the GPU worker added later included) and keep Dask's one-thread BLAS/OpenMP settings. Their workers run no
    statistical profiler (it cost the tag workers about 10 %)."""
    import os

    from distributed import Client

    def settings(dask_worker):
        return (os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("OMP_NUM_THREADS"),
                "profile" in dask_worker.periodic_callbacks)

    with Client(gpu_cluster.scheduler_address) as client:
        env = client.run(settings)
    assert len(env) == 2
    assert set(env.values()) == {(None, "1", False)}


_FAULTS = """
import random, resource, sys
import numpy as np
from cxnlp import engine
tuned = engine.keep_freed_memory() if sys.argv[1] == "tuned" else None
rng = random.Random(0)
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(200):  # a tag worker's pattern: arrays of a few MB whose sizes vary from batch to batch
    n = rng.randint(1000, 2600)
    a = np.ones((n, 1280), np.float32); b = np.ones((n, 768), np.float32); c = a[:, :512] * 2
    del a, b, c
print(tuned, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
"""


def test_tag_workers_keep_freed_memory_instead_of_faulting_it_in_again():
    """keep_freed_memory (called where a worker builds its tagger): arrays of varying size reuse the heap, so a
    worker takes far fewer page faults than with glibc's defaults."""
    import subprocess
    import sys

    if not Path("/proc/self").exists():
        pytest.skip("page-fault counts need Linux")
    root = Path(__file__).resolve().parent.parent
    out = {}
    for mode in ("plain", "tuned"):
        r = subprocess.run([sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True, cwd=root, timeout=120)
        assert r.returncode == 0, r.stderr
        flag, faults = r.stdout.split()
        out[mode] = (flag, int(faults))
    assert out["tuned"][0] == "True"  # glibc: the parameters were taken
    assert out["tuned"][1] * 2 < out["plain"][1], out


def test_tag_partition_pauses_the_cycle_collector_and_restores_it(tmp_path, monkeypatch):
    import gc

    import pyarrow as pa
    import pyarrow.parquet as pq

    from cxnlp import engine
    from cxnlp.classify.tagger import Tagger

    real = Tagger.from_config(REPO)
    seen = []

    class Recording:
        model, batch_size = real.model, 2

        def tag_batch(self, texts):
            seen.append(gc.isenabled())
            if "kaputt" in texts:
                raise RuntimeError("tagger failed")
            return real.tag_batch(texts)

    monkeypatch.setitem(engine._TAGGERS, (str(tmp_path.resolve()), "embedded"), Recording())
    ids = [f"f{i}" for i in range(5)]
    params = dict(root=str(tmp_path), model=real.model.name, model_version=real.model.version, batch_size=2)
    pq.write_table(pa.table({"id": ids, "text": ["Super Service!", "Lieferung zu spät.", "ok", "Danke", "Na ja"]}),
                   tmp_path / "in.parquet")
    assert gc.isenabled()
    info = engine.tag_partition(in_path=str(tmp_path / "in.parquet"), out_path=str(tmp_path / "out.arrow"), **params)
    assert info["rows"] == 5 and seen == [False, False, False] and gc.isenabled()
    assert engine.read_results(tmp_path / "out.arrow").column("id").to_pylist() == ids
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["gut", "kaputt"]}), tmp_path / "bad.parquet")
    with pytest.raises(RuntimeError, match="tagger failed"):
        engine.tag_partition(in_path=str(tmp_path / "bad.parquet"), out_path=str(tmp_path / "bad.out"), **params)
    assert gc.isenabled()  # restored after a failure too
    gc.disable()
    try:  # a caller that had switched it off keeps it off
        engine.tag_partition(in_path=str(tmp_path / "in.parquet"), out_path=str(tmp_path / "again.arrow"), **params)
        assert not gc.isenabled()
    finally:
        gc.enable()
