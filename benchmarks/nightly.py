"""Nightly benchmark: the whole Prefect flow end to end on N generated feedback rows (default 1,000,000).

    python benchmarks/nightly.py [--rows N] [--local | --dask | --both] [--chunk-rows R] [--partition-size P]

1. Generates N rows with cxnlp.samplegen.iter_records into JSON-lines files of ``--chunk-rows`` rows each
   (streamed: generation holds one record at a time).
2. Runs the nightly flow (ingest -> tag -> aggregate -> topics -> alerts -> report) with the embedded defaults
   of configs/settings.yaml in a fresh project folder and store, in a child process: once with the local
   runner, and/or once with ``engine.runner: dask`` on a LocalCluster of 2 worker processes.
3. Prints seconds and rows/s per stage, total wall time, and peak memory: the peak of the summed resident
   memory of the child's whole process tree (flow, Prefect's temporary server, Dask scheduler and workers,
   ingest pool), sampled every 0.25 s, and the largest single process's peak (getrusage).

Partitions: ``engine.partition_size`` defaults to 20,000; for small runs the benchmark lowers it so that each
of the 2 workers gets at least two partitions (printed), otherwise one worker would tag everything.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N_WORKERS = 2


def generate(data: Path, rows: int, chunk_rows: int, seed: int = 1) -> list[Path]:
    from cxnlp.samplegen import iter_records

    data.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    f = None
    try:
        for i, rec in enumerate(iter_records(rows, seed=seed)):
            if i % chunk_rows == 0:
                if f is not None:
                    f.close()
                files.append(data / f"feedback-{len(files):05d}.jsonl")
                f = files[-1].open("w", encoding="utf-8")
            f.write(json.dumps(rec, ensure_ascii=False))
            f.write("\n")
    finally:
        if f is not None:
            f.close()
    return files


def make_project(root: Path, data: Path, engine: dict) -> Path:
    import yaml

    (root / "configs").mkdir(parents=True)
    settings = yaml.safe_load((ROOT / "configs" / "settings.yaml").read_text(encoding="utf-8"))
    settings["engine"] = {**(settings.get("engine") or {}), **engine}
    (root / "configs" / "settings.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    for name in ("taxonomy.yaml", "models.yaml", "alerts.yaml"):
        if (ROOT / "configs" / name).is_file():
            shutil.copy(ROOT / "configs" / name, root / "configs" / name)
    (root / "models").symlink_to(ROOT / "models")
    (root / "configs" / "sources.yaml").write_text(yaml.safe_dump({"sources": {"bench": {
        "path": str(data / "feedback-*.jsonl"), "source": "review", "format": "jsonl",
        "columns": {"id": "id", "text": "text", "created_at": "created_at", "channel": "channel", "author": "author",
                    "rating_stars": "rating_stars", "likes": "likes", "shares": "shares", "replies": "replies"}}}}),
        encoding="utf-8")
    return root


def child(root: str, out: str) -> None:
    """Runs the flow once (in the child process) and writes its stage results to ``out``."""
    from flows.nightly import nightly

    from cxnlp.config import load_settings
    from cxnlp.store import open_store

    t0 = time.perf_counter()
    error = None
    try:
        res = nightly(root)
    except Exception as e:  # report the stages that ran; the run's results are in the runs table
        error = f"{type(e).__name__}: {str(e)[:300]}"
        with open_store(load_settings(root), read_only=True) as store:
            res = json.loads(store.query("SELECT stats FROM runs ORDER BY started_at DESC LIMIT 1")[0][0])
    wall = time.perf_counter() - t0
    with open_store(load_settings(root), read_only=True) as store:
        feedback = store.count("feedback")
    Path(out).write_text(json.dumps({
        "wall": wall, "timings": res["timings"], "engine": res["engine"], "feedback": feedback, "error": error,
        "rows_read": sum(s["rows_read"] for s in (res.get("ingest") or {}).values()),
        "tag": {k: (res.get("tag") or {}).get(k) for k in ("tagged", "partitions", "partition_rows", "workers",
                                                         "task_seconds", "writer_cpu_seconds", "frame_seconds",
                                                         "write_seconds")},
        "peak_self_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_children_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}, default=str),
        encoding="utf-8")


def tree_rss(proc) -> int:
    import psutil

    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_once(label: str, work: Path, data: Path, engine: dict) -> dict:
    import psutil

    root = make_project(work / label, data, engine)
    out = work / f"{label}.json"
    env = {**os.environ, "PREFECT_HOME": str(work / label / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           # as `cxnlp run` does: Prefect's 20 s default to start its temporary server is too short on a busy machine
           "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": os.environ.get(
               "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(root), str(out)], env=env, cwd=str(root))
    ps = psutil.Process(proc.pid)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            try:
                peak = max(peak, tree_rss(ps))
            except psutil.Error:
                pass
            stop.wait(0.25)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    rc = proc.wait()
    stop.set()
    th.join()
    wall = time.perf_counter() - t0
    if rc != 0 or not out.is_file():
        raise SystemExit(f"{label} run failed with exit code {rc}")
    res = json.loads(out.read_text(encoding="utf-8"))
    res.update(label=label, process_wall=wall, peak_tree_mib=peak / 2**20)
    return res


def report(res: dict) -> None:
    t = res["timings"]
    print(f"\n== {res['label']} runner ({res['engine'].get('workers', 0) or 'no'} Dask workers) ==")
    print(f"{'stage':<13} {'seconds':>9} {'rows/s':>10}  rows")
    for stage in ("cluster_start", "ingest", "tag", "cluster_stop", "aggregate", "topics", "alerts", "report"):
        secs = t.get(stage)
        if secs is None:
            continue
        if stage.startswith("cluster"):
            print(f"{stage:<13} {secs:>9.1f}")
            continue
        rows = {"ingest": res["rows_read"], "tag": res["tag"]["tagged"] or 0}.get(stage, res["feedback"])
        what = {"ingest": "read", "tag": "tagged"}.get(stage, "stored")
        print(f"{stage:<13} {secs:>9.1f} {rows / secs if secs else float('nan'):>10,.0f}  {rows:,} {what}")
    if res.get("error"):
        print(f"FLOW FAILED after the stages above: {res['error']}")
    if res["tag"].get("partitions"):
        print(f"tag partitions: {res['tag']['partitions']} x {res['tag']['partition_rows']:,} rows on "
              f"{len(res['tag']['workers'])} workers")
        t = res["tag"]
        if t.get("writer_cpu_seconds") is not None:
            print(f"tag stage, flow process: {t['writer_cpu_seconds']:.1f} s CPU; partition files out "
                  f"{t.get('frame_seconds') or 0:.1f} s, results into the store {t.get('write_seconds') or 0:.1f} s; "
                  f"workers' task time {t.get('task_seconds') or 0:.1f} s")
    print(f"flow wall {res['wall']:.1f} s (child process incl. start-up {res['process_wall']:.1f} s); "
          f"end to end {res['feedback'] / res['wall']:,.0f} rows/s")
    print(f"peak RSS: process tree {res['peak_tree_mib']:,.0f} MiB (summed, sampled); flow process "
          f"{res['peak_self_mib']:,.0f} MiB; largest finished child {res['peak_children_mib']:,.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--local", action="store_true", help="the local runner only (default)")
    mode.add_argument("--dask", action="store_true", help="a 2-worker Dask LocalCluster only")
    mode.add_argument("--both", action="store_true", help="the local runner, then Dask")
    ap.add_argument("--chunk-rows", type=int, default=100_000, help="rows per generated file")
    ap.add_argument("--partition-size", type=int, default=None,
                    help="engine.partition_size (default: 20000, lowered for small runs)")
    ap.add_argument("--workdir", default=None, help="keep projects and data here (default: a temporary folder)")
    ap.add_argument("--child", nargs=2, metavar=("ROOT", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    runs = ["local", "dask"] if args.both else ["dask"] if args.dask else ["local"]
    part = args.partition_size or min(20_000, max(1, math.ceil(args.rows / (2 * N_WORKERS))))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        files = generate(work / "data", args.rows, args.chunk_rows)
        gen = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in files) / 2**20
        print(f"generated {args.rows:,} rows in {len(files)} file(s), {size:,.0f} MiB JSONL, in {gen:.1f} s "
              f"({args.rows / gen:,.0f} rows/s); cpu cores {os.cpu_count()}; engine.partition_size {part:,}")
        for label in runs:
            engine = {"runner": label, "partition_size": part, "n_workers": N_WORKERS, "threads_per_worker": 1}
            report(run_once(label, work, work / "data", engine))


if __name__ == "__main__":
    main()
