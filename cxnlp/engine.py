"""Distributed execution: the ``engine:`` settings, partitioned tagging and Dask-backed ingest mapping.

Design (the embedded store is one DuckDB file with a single writer):

* The process that runs the flow is the store's only writer. Dask workers never open the store.
* Tagging: the flow lists the untagged feedback as ordered ranges of ``(created_at, id)`` — the order the local
  runner tags in — each a whole number of tagging batches (``engine.partition_size`` rounded up to a multiple
  of ``engine.batch_size``). Only the range boundaries are held in memory. For each partition the flow writes
  that range's ``(id, text)`` to a Parquet file in the scratch folder; a tag task on a worker reads it, tags it
  batch by batch (the same batches the local runner would make, so the results are identical) and writes the
  store's input tables (per text its result JSON; the tag rows with their evidence JSON), so the flow only
  inserts them, one batch per transaction, and deletes the files. At
  most ``2 x slots`` partitions are in flight, so neither the flow nor any worker holds the whole input.
* Idempotency: a partition lists only what is untagged for the current model when it is exported, and tags
  are written per batch with the same ``write_tag_tables`` call as the local runner; a rerun finds nothing to do, and
  a killed run resumes with whatever was not written (scratch files of earlier runs are discarded).
* Ingest: reading and committing stay in the writer (de-duplication needs a consistent view of the store);
  mapping each batch (normalise, language, redaction) — the CPU-heavy part — runs on the CPU workers.
* The local runner tags a big backlog with the CPU model the same way, through a process pool of one process per
  core (``engine.local_processes``); small runs, and the transformers backend, tag in the flow's process.
* GPU: when the tagger backend is transformers and CUDA is available, tag tasks ask for the Dask resource
  ``GPU`` (one worker offers it); ingest mapping is pinned to workers without it.

With a remote scheduler (``engine.address``) the scratch folder must be a path every worker can read and
write (a shared file system), and workers need the project (configs, models) at the same root path.
"""
from __future__ import annotations

import gc
import json
import logging
import math
import os
import shutil
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

log = logging.getLogger("cxnlp.engine")

RUNNERS = ("local", "dask")
GPU = "GPU"  # the Dask worker resource a GPU worker offers


class EngineError(ValueError):
    """The ``engine:`` settings are wrong; the message says which key."""


# --------------------------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class EngineSettings:
    runner: str = "local"
    address: str | None = None
    n_workers: int = 2
    threads_per_worker: int = 1
    partition_size: int = 20000
    batch_size: int = 512
    scratch: str = "var/engine"
    local_processes: int = 0  # local runner: tag processes (0: one per core for big backlogs, see local_tag_processes)

    @classmethod
    def from_settings(cls, settings) -> "EngineSettings":
        d = {k: settings.get("engine", k, getattr(cls, k)) for k in cls.__dataclass_fields__}
        runner = str(d["runner"] or "local").strip().lower()
        if runner not in RUNNERS:
            raise EngineError(f"engine.runner must be one of {RUNNERS}, got {d['runner']!r}")
        address = d["address"]
        address = str(address).strip() if address not in (None, "", "null", "None") else None
        ints = {}
        for k in ("n_workers", "threads_per_worker", "partition_size", "batch_size"):
            try:
                ints[k] = int(d[k])
            except (TypeError, ValueError):
                raise EngineError(f"engine.{k} must be a whole number, got {d[k]!r}") from None
            if ints[k] < 1:
                raise EngineError(f"engine.{k} must be at least 1, got {ints[k]}")
        try:
            procs = int(d["local_processes"] or 0)
        except (TypeError, ValueError):
            raise EngineError(f"engine.local_processes must be a whole number, got {d['local_processes']!r}") from None
        if procs < 0:
            raise EngineError(f"engine.local_processes must be 0 (automatic) or more, got {procs}")
        return cls(runner=runner, address=address, scratch=str(d["scratch"] or "var/engine"), local_processes=procs,
                   **ints)

    @property
    def partition_rows(self) -> int:
        """Rows per partition: ``partition_size`` rounded up to whole tagging batches."""
        return math.ceil(self.partition_size / self.batch_size) * self.batch_size

    def scratch_dir(self, root: Path) -> Path:
        p = Path(self.scratch)
        return p if p.is_absolute() else Path(root) / p


# ------------------------------------------------------------------------------------- backend and GPU
@dataclass(frozen=True)
class TagPlan:
    backend: str                      # "embedded" | "transformers"
    resources: dict[str, int] | None  # Dask resources a tag task asks for (None: any worker)


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    try:
        return bool(torch.cuda.is_available())
    except Exception:  # a broken driver counts as no GPU
        return False


def choose_tagging(backend: str, transformers_configured: bool, cuda: bool) -> TagPlan:
    """Which tagger runs and where. ``transformers`` is used when asked for, or under ``auto`` when a model
    is configured and a GPU is present; a transformers tagger with a GPU runs on the GPU worker."""
    backend = (backend or "auto").lower()
    use_hf = backend == "transformers" or (backend == "auto" and transformers_configured and cuda)
    if not use_hf:
        return TagPlan("embedded", None)
    return TagPlan("transformers", {GPU: 1} if cuda else None)


def transformers_configured(root: Path) -> bool:
    import yaml

    p = Path(root) / "configs" / "models.yaml"
    cfg = (yaml.safe_load(p.read_text(encoding="utf-8")) or {}) if p.is_file() else {}
    t = cfg.get("transformers") or {}
    e5 = Path(t.get("e5_path") or "models/cxnlp-de-e5")
    e5 = e5 if e5.is_absolute() else Path(root) / e5
    return bool(t.get("model") or t.get("zero_shot_model")) or (e5 / "e5_tagger.json").is_file()


def tag_plan(root: Path, cuda: bool | None = None) -> TagPlan:
    from cxnlp.classify.tagger import TaggerConfig

    cfg = TaggerConfig.load(Path(root))
    return choose_tagging(cfg.backend, transformers_configured(root), cuda_available() if cuda is None else cuda)


# ---------------------------------------------------------------------------------------- the cluster
def local_cluster(n_workers: int = 2, threads_per_worker: int = 1, gpu_workers: int = 0, **kwargs: Any):
    """A LocalCluster of worker processes; ``gpu_workers`` extra workers (one thread each) offer the ``GPU``
    resource, so tasks annotated with it run there and nowhere else."""
    import dask
    from distributed import LocalCluster

    kwargs.setdefault("dashboard_address", ":0")
    with dask.config.set(WORKER_CONFIG):
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True, **kwargs)
        if gpu_workers:
            spec = cluster.new_spec
            for i in range(gpu_workers):
                cluster.worker_spec[f"gpu-{i}"] = {
                    "cls": spec["cls"], "options": {**spec["options"], "nthreads": 1, "resources": {GPU: 1}}}
            cluster.scale(len(cluster.worker_spec))
            cluster.wait_for_workers(n_workers + gpu_workers, timeout=120)
    return cluster


# Dask's nannies set MALLOC_TRIM_THRESHOLD_=65536 in every worker by default. Setting that variable at all turns
# off glibc's adaptive mmap threshold, so each large temporary array of the tagger is a fresh mmap with page
# faults: the embedded tagger then runs at 387 instead of 658 docs/s on one core (benchmarks/tagging.py). The
# workers keep Dask's one-thread BLAS/OpenMP settings. Each worker's statistical profiler (a sample of every
# thread's stack each 10 ms, for the dashboard's profile page) is off: it held the GIL often enough to cost the
# tag workers about 10 % (916 and 878 against 996 and 1,053 docs/s on 2 workers, benchmarks/tagging.py).
# Own clusters: put the same in the workers' Dask config.
WORKER_CONFIG = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
                 "distributed.worker.profile.enabled": False}


def dask_task_runner(eng: EngineSettings, gpu_workers: int = 0):
    """Prefect's DaskTaskRunner: connected to ``engine.address``, else on a new local cluster."""
    from prefect_dask import DaskTaskRunner

    if eng.address:
        return DaskTaskRunner(address=eng.address)
    return DaskTaskRunner(cluster_class=local_cluster,
                          cluster_kwargs={"n_workers": eng.n_workers, "threads_per_worker": eng.threads_per_worker,
                                          "gpu_workers": gpu_workers})


@contextmanager
def dask_client(eng: EngineSettings, gpu_workers: int = 0) -> Iterator[Any]:
    """A plain Dask client (for running the stages without Prefect)."""
    from distributed import Client

    if eng.address:
        with Client(eng.address, set_as_default=False) as client:
            yield client
        return
    with local_cluster(eng.n_workers, eng.threads_per_worker, gpu_workers) as cluster, \
            Client(cluster, set_as_default=False) as client:
        yield client


def workers_info(client) -> dict[str, dict[str, Any]]:
    return dict(client.scheduler_info(n_workers=-1)["workers"])


def cpu_workers(client) -> list[str]:
    """Addresses of the workers that offer no GPU."""
    return sorted(a for a, w in workers_info(client).items() if not (w.get("resources") or {}).get(GPU))


def gpu_workers(client) -> list[str]:
    return sorted(a for a, w in workers_info(client).items() if (w.get("resources") or {}).get(GPU))


def fit_plan(client, plan: TagPlan) -> TagPlan:
    """Drops the GPU request when no worker of the cluster offers the resource (the task would wait forever)."""
    if plan.resources and not gpu_workers(client):
        log.warning("tagging wants a GPU worker but no worker of the cluster offers the %r resource; tagging on "
                    "any worker (start one with `dask worker ADDRESS --resources GPU=1`)", GPU)
        return TagPlan(plan.backend, None)
    return plan


def tag_slots(client, plan: TagPlan) -> int:
    """How many tag tasks can run at once."""
    info = workers_info(client)
    if plan.resources:
        return max(1, sum(int((w.get("resources") or {}).get(GPU, 0)) for w in info.values()))
    return max(1, sum(int(w.get("nthreads", 1)) for w in info.values()))


@contextmanager
def prefect_api_for_workers() -> Iterator[None]:
    """Inside a flow run on Prefect's temporary (ephemeral) server, point task runs on local worker processes
    at that server instead of letting each worker start its own."""
    from prefect.context import FlowRunContext
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    ctx = FlowRunContext.get()
    url = getattr(getattr(ctx, "client", None), "api_url", None) if ctx else None
    if get_current_settings().api.url or not url:
        yield
        return
    with temporary_settings({PREFECT_API_URL: str(url)}):
        yield


# ----------------------------------------------------------------------------------------- partitions
# The same "untagged" condition as the store's ``untagged`` query (portable SQL: DuckDB and PostgreSQL).
_UNTAGGED = ("FROM feedback f LEFT JOIN tag_state s ON s.feedback_id = f.id "
             "WHERE (s.feedback_id IS NULL OR s.retag OR s.model <> ? OR s.model_version <> ?)")


@dataclass(frozen=True)
class Partition:
    index: int
    lo: tuple[Any, str]          # first (created_at, id) of the range, inclusive
    hi: tuple[Any, str] | None   # first key of the next range (exclusive); None for the last
    rows: int


def balanced_partition_rows(total: int, max_rows: int, slots: int, batch_size: int) -> int:
    """Rows per partition for ``total`` untagged texts on ``slots`` workers: at most ``max_rows``, in whole
    batches of ``batch_size``, and as many equal partitions as make every worker's share the same. Where the
    partitions run in rounds of ``slots`` (5 partitions of 20,480 on 2 workers), the last round would keep one
    worker busy while the other waits: 99,520 texts take 6 partitions of 16,896 instead, 3 per worker."""
    if total <= 0 or slots <= 1 or total <= max_rows:
        return max_rows
    n = math.ceil(total / max_rows)
    n = math.ceil(n / slots) * slots
    return max(batch_size, math.ceil(total / n / batch_size) * batch_size)


def plan_partitions(store, model: str, model_version: str, rows: int) -> list[Partition]:
    """Ordered ``(created_at, id)`` ranges of the untagged feedback, ``rows`` each (the last one fewer).
    Holds only the boundaries in memory."""
    total = store.count_untagged(model, model_version)
    if not total:
        return []
    starts = store.query(
        "SELECT created_at, id FROM (SELECT f.created_at, f.id, "
        f"row_number() OVER (ORDER BY f.created_at, f.id) AS rn {_UNTAGGED}) t "
        "WHERE (rn - 1) % ? = 0 ORDER BY created_at, id", [model, model_version, rows])
    keys = [(c, i) for c, i in starts]
    return [Partition(k, keys[k], keys[k + 1] if k + 1 < len(keys) else None,
                      min(rows, total - k * rows)) for k in range(len(keys))]


def partition_frame(store, model: str, model_version: str, part: Partition):
    """The partition's untagged ``(id, text)`` in tagging order, as an Arrow table."""
    sql = f"SELECT f.id, f.text {_UNTAGGED} AND (f.created_at > ? OR (f.created_at = ? AND f.id >= ?))"
    params: list[Any] = [model, model_version, part.lo[0], part.lo[0], part.lo[1]]
    if part.hi is not None:
        sql += " AND (f.created_at < ? OR (f.created_at = ? AND f.id < ?))"
        params += [part.hi[0], part.hi[0], part.hi[1]]
    import pyarrow as pa

    rows = store.query(sql + " ORDER BY f.created_at, f.id", params)
    return pa.table({"id": pa.array([r[0] for r in rows], pa.string()),
                     "text": pa.array([r[1] for r in rows], pa.string())})


# ------------------------------------------------------------------------------------- worker side
_TAGGERS: dict[tuple[str, str], Any] = {}


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_MALLOC_TUNED = False


def keep_freed_memory() -> bool:
    """In a tag worker process: glibc keeps freed memory for reuse instead of handing it back to the system.

    The tagger allocates and frees arrays of a few megabytes per batch, in sizes that vary with the texts. With
    glibc's defaults many of them are fresh mappings (or heap that was just trimmed), and every page is faulted
    in again: on a 2-core virtual machine the USE encoder took about 470,000 extra page faults per 9,000
    sentences. Here arrays up to 32 MB come from the heap, and the heap is trimmed only when 1 GB at its top is
    free, so the worker's memory stays at its peak working set (a few hundred MB) and is reused. Also applies
    in Dask workers whose nanny set MALLOC_TRIM_THRESHOLD_ (see WORKER_CONFIG). Returns False where there is no
    glibc (other C libraries keep their own defaults)."""
    global _MALLOC_TUNED
    if _MALLOC_TUNED:
        return True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        ok = all(libc.mallopt(param, value) == 1 for param, value in (
            (_M_MMAP_THRESHOLD, 32 << 20), (_M_TRIM_THRESHOLD, 1 << 30), (_M_TOP_PAD, 16 << 20)))
    except (OSError, AttributeError):
        return False
    _MALLOC_TUNED = ok
    return ok


def _worker_tagger(root: str, backend: str):
    key = (str(Path(root).resolve()), backend)
    if key not in _TAGGERS:
        from cxnlp.classify.stage import build_tagger

        keep_freed_memory()
        _TAGGERS[key] = build_tagger(Path(root), backend)
    return _TAGGERS[key]


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except Exception:
        return f"pid-{os.getpid()}"


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a partition is tagged, back to its previous state afterwards. Tagging
    allocates millions of small dicts and lists that reference counting frees; the collector's passes over the
    live ones cost about 10 % of a tag worker's time (measured on 6,144 texts), and 3,072 tagged texts leave
    only 23 objects in cycles for it to free afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@contextmanager
def loaded_objects_frozen() -> Iterator[None]:
    """Every object alive now (the loaded tagger: vocabularies, caches, weights' wrappers) moved out of the cycle
    collector's sight until the block ends (``gc.freeze``, after one collection so no garbage is kept). The
    tagger's objects live as long as the process anyway, and each of the collector's full passes walked all of
    them: 0.8 s of 9 s for 5,000 texts in one process, 0.1 s with them frozen. For a process that only tags
    (``cxnlp tag``); a tag worker pauses the collector instead (:func:`cycle_collector_paused`)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def tag_partition(root: str, in_path: str, out_path: str, model: str, model_version: str, batch_size: int,
                  backend: str = "embedded") -> dict[str, Any]:
    """Runs on a worker: tags one partition file batch by batch and writes the store's input tables (see
    :func:`cxnlp.classify.stage.result_tables`): ``(id, result JSON, n_tags)`` to ``out_path`` and the tag rows
    to ``out_path + ".tags"`` (Arrow IPC files, see :func:`read_results`; each written under a temporary name,
    then renamed; the tags file first)."""
    import pyarrow.parquet as pq

    from cxnlp.classify.stage import result_tables, tag_with_vectors

    t0 = time.perf_counter()
    tagger = _worker_tagger(root, backend)
    if (tagger.model.name, tagger.model.version) != (model, model_version):
        raise RuntimeError(f"worker {_worker_name()} has model {tagger.model.name} {tagger.model.version}, the flow "
                           f"expects {model} {model_version}: deploy the same models/ folder on every worker")
    table = pq.read_table(in_path, columns=["id", "text"])
    ids, texts = table.column("id").to_pylist(), table.column("text").to_pylist()
    del table
    tmp, tmp_tags = f"{out_path}.tmp", f"{out_path}.tags.tmp"
    docs_w = tags_w = None
    try:
        with cycle_collector_paused():
            for s in range(0, len(ids), batch_size):
                docs, tags = result_tables(ids[s:s + batch_size], *tag_with_vectors(tagger, texts[s:s + batch_size]))
                if docs_w is None:
                    docs_w, tags_w = _ResultWriter(tmp, docs.schema), _ResultWriter(tmp_tags, tags.schema)
                docs_w.write(docs)
                tags_w.write(tags)
        if docs_w is None:  # an empty partition
            docs, tags = result_tables([], [])
            docs_w, tags_w = _ResultWriter(tmp, docs.schema), _ResultWriter(tmp_tags, tags.schema)
    finally:
        for w in (docs_w, tags_w):
            if w is not None:
                w.close()
    os.replace(tmp_tags, f"{out_path}.tags")
    os.replace(tmp, out_path)
    return {"rows": len(ids), "seconds": round(time.perf_counter() - t0, 3), "worker": _worker_name()}


class _ResultWriter:
    """An Arrow IPC file with LZ4-compressed batches. The flow reads it back for a few tenths of a second per
    partition where Parquet took 1.5 s of its CPU (decoding 16,896 results' JSON text), and the flow's CPU time
    is taken from the tag workers on a small machine."""

    def __init__(self, path: str, schema):
        import pyarrow as pa

        self._sink = pa.OSFile(path, "wb")
        self._w = pa.ipc.new_file(self._sink, schema, options=pa.ipc.IpcWriteOptions(compression="lz4"))

    def write(self, table) -> None:
        self._w.write_table(table)

    def close(self) -> None:
        try:
            self._w.close()
        finally:
            self._sink.close()


def read_results(path: str | Path):
    """A result file of :func:`tag_partition` as one Arrow table."""
    import pyarrow as pa

    with pa.OSFile(str(path), "rb") as f:
        return pa.ipc.open_file(f).read_all()


# --------------------------------------------------------------------------------------- flow side
def write_partition_results(store, path: Path, model: str, model_version: str, run_id: str,
                            batch_size: int) -> int:
    """Writes a partition's result files into the store (:func:`write_result_tables`). Returns the number of
    texts."""
    return write_result_tables(store, read_results(path), read_results(f"{path}.tags"), model, model_version,
                               run_id, batch_size)


def write_result_tables(store, docs, tags, model: str, model_version: str, run_id: str, batch_size: int) -> int:
    """Writes result tables (:func:`cxnlp.classify.stage.result_tables`) into the store, one transaction per batch
    of ``batch_size`` texts (with their tag rows). Returns the number of texts."""
    from cxnlp.classify.stage import write_results

    counts = docs.column("n_tags").to_pylist()
    n, at = 0, 0
    for s in range(0, docs.num_rows, batch_size):
        k = sum(counts[s:s + batch_size])
        write_results(store, docs.slice(s, batch_size), tags.slice(at, k), model, model_version, run_id)
        at += k
        n += min(batch_size, docs.num_rows - s)
    return n


Submit = Callable[[dict[str, Any]], Any]  # parameters of tag_partition -> a future with .result()


def tag_in_partitions(store, settings, run_id: str, submit: Submit, slots: int, backend: str = "embedded",
                      model: tuple[str, str] | None = None) -> dict[str, Any]:
    """Tags every untagged text through ``submit`` (a Prefect task runner or a Dask client), partition by
    partition, writing results as partitions finish. Same result shape as ``tag_untagged``."""
    import pyarrow.parquet as pq

    eng = EngineSettings.from_settings(settings)
    if model is None:
        from cxnlp.classify.tagger import Tagger

        tagger = Tagger.from_config(settings.root)
        model = (tagger.model.name, tagger.model.version)
        del tagger
    name, version = model
    t0, cpu0 = time.perf_counter(), time.process_time()
    rows = balanced_partition_rows(store.count_untagged(name, version), eng.partition_rows, slots, eng.batch_size)
    parts = plan_partitions(store, name, version, rows)
    scratch = eng.scratch_dir(settings.root)
    if scratch.is_dir():  # files of runs that were killed: their partitions are listed again below
        for old in scratch.iterdir():
            if old.is_dir() and old.name != run_id:
                shutil.rmtree(old, ignore_errors=True)
    work = scratch / run_id
    work.mkdir(parents=True, exist_ok=True)
    window = max(2, 2 * slots)
    todo = iter(parts)
    pending: deque = deque()
    done, workers, task_secs = 0, set(), 0.0
    flow_secs = {"frames": 0.0, "writes": 0.0}  # this process's share: partition files out, results in

    def launch() -> None:
        part = next(todo, None)
        if part is None:
            return
        inp, out = work / f"part-{part.index:05d}.in.parquet", work / f"part-{part.index:05d}.out.arrow"
        f0 = time.perf_counter()
        pq.write_table(partition_frame(store, name, version, part), inp)
        flow_secs["frames"] += time.perf_counter() - f0
        pending.append((part, inp, out, submit({
            "root": str(settings.root), "in_path": str(inp), "out_path": str(out), "model": name,
            "model_version": version, "batch_size": eng.batch_size, "backend": backend})))

    try:
        for _ in range(window):
            launch()
        while pending:
            part, inp, out, fut = pending.popleft()
            info = fut.result()
            launch()  # keep the workers busy while this partition is written
            w0 = time.perf_counter()
            done += write_partition_results(store, out, name, version, run_id, eng.batch_size)
            flow_secs["writes"] += time.perf_counter() - w0
            workers.add(info["worker"])
            task_secs += info["seconds"]
            inp.unlink(missing_ok=True)
            out.unlink(missing_ok=True)
            Path(f"{out}.tags").unlink(missing_ok=True)
            log.info("partition %d/%d: %d texts tagged on %s in %.1f s", part.index + 1, len(parts), info["rows"],
                     info["worker"], info["seconds"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    secs = time.perf_counter() - t0
    log.info("tagged %d texts in %d partitions in %.1f s with %s %s", done, len(parts), secs, name, version)
    return {"status": "completed", "tagged": done, "seconds": round(secs, 2), "model": name, "model_version": version,
            "docs_per_s": round(done / secs, 1) if secs > 0 and done else None, "partitions": len(parts),
            "partition_rows": rows, "workers": sorted(workers), "task_seconds": round(task_secs, 2),
            # CPU time of this process (partition files out, results into the store), which shares the cores
            "writer_cpu_seconds": round(time.process_time() - cpu0, 2),
            "frame_seconds": round(flow_secs["frames"], 2), "write_seconds": round(flow_secs["writes"], 2)}


# ----------------------------------------------------------------------------- local runner: processes
def local_tag_processes(eng: EngineSettings, backend: str, untagged: int, cores: int | None = None) -> int:
    """How many processes the local runner tags with; 0: in the flow's process. ``engine.local_processes``
    when set; otherwise one per core, for the CPU model (the transformers backend keeps its one GPU or its
    threads in one process) and a backlog of at least two partitions: starting a process and loading the
    model there takes seconds, which small runs would not win back."""
    if backend != "embedded" or untagged <= 0:
        return 0
    cores = cores or os.cpu_count() or 1
    n = eng.local_processes or (cores if untagged >= 2 * eng.partition_rows else 0)
    n = min(n, math.ceil(untagged / eng.partition_rows))
    return n if n >= 2 else 0


def _tag_process_init(threads: int) -> None:
    """A tag process's threads: its share of the cores (set before torch or numpy start their pools)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    import torch

    torch.set_num_threads(threads)


def _tag_in_process(params: dict[str, Any]) -> dict[str, Any]:
    return tag_partition(**params)


@contextmanager
def tag_process_pool(n: int) -> Iterator[Callable[[dict[str, Any]], Any]]:
    """A ``submit`` for :func:`tag_in_partitions` backed by ``n`` spawned processes of the standard library
    (each loads the tagger once and keeps it)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    threads = max(1, (os.cpu_count() or 1) // n)
    pool = ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("spawn"), initializer=_tag_process_init,
                               initargs=(threads,))
    try:
        yield lambda params: pool.submit(_tag_in_process, params)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# -------------------------------------------------------------------------------------------- ingest
class _CountingExecutor:
    """Wraps Dask's concurrent.futures executor; counts the batches sent to workers."""

    def __init__(self, inner):
        self.inner = inner
        self.submitted = 0

    def submit(self, fn, *args, **kwargs):
        self.submitted += 1
        return self.inner.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, **_: Any) -> None:
        self.inner.shutdown(wait=wait)


def dask_ingestor(store, settings, client, workers: list[str] | None = None):
    """An Ingestor whose batch mapping runs on Dask workers (``workers``: restrict to these addresses).
    Reading and committing stay in this process, the store's single writer."""
    from cxnlp.ingest.pipeline import Ingestor

    class DaskIngestor(Ingestor):
        remote_batches = 0

        def _executor(self, f: Path):
            min_bytes = int(self.settings.get("ingest", "parallel_min_bytes", 8_000_000))
            if f.stat().st_size < min_bytes:
                return None
            if self._pool is None:
                kw = {"workers": workers, "allow_other_workers": False} if workers else {}
                self._pool = _CountingExecutor(client.get_executor(pure=False, **kw))
            return self._pool

        def close(self) -> None:
            if self._pool is not None:
                self.remote_batches += self._pool.submitted
                self._pool.shutdown(wait=True)
                self._pool = None

    return DaskIngestor(store, settings)
