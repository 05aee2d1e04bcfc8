"""Ingest benchmark: rows/s and peak memory for ingesting N generated rows (default 1,000,000).

    python benchmarks/ingest.py [--rows N] [--batch-size B] [--dask [--workers W]]

Generates a JSON-lines export with cxnlp.samplegen.iter_records into a temporary folder, ingests it into a
fresh DuckDB store and prints throughput and resident memory at checkpoints, so one can see that memory
stays flat as the input grows. ``--dask`` maps the batches on a local Dask cluster of W worker processes (the
flow's ``engine.runner: dask`` path) instead of the local process pool.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cxnlp.config import Settings, SourceConfig, load_settings  # noqa: E402
from cxnlp.ingest.pipeline import Ingestor  # noqa: E402
from cxnlp.samplegen import iter_records  # noqa: E402
from cxnlp.store import open_store  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument("--dask", action="store_true", help="map on a local Dask cluster")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--duckdb-memory", help="DuckDB's memory cap for this run (e.g. 64MB; default: settings)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "feedback.jsonl"
        t0 = time.perf_counter()
        with src.open("w", encoding="utf-8") as f:
            for rec in iter_records(args.rows, seed=1):
                f.write(json.dumps(rec, ensure_ascii=False))
                f.write("\n")
        gen_s = time.perf_counter() - t0
        print(f"generated {args.rows:,} rows ({src.stat().st_size / 2**20:.0f} MiB JSONL) in {gen_s:.1f} s")
        base = load_settings()
        store_cfg = {**base.section("store"), "path": str(tmp / "bench.duckdb")}
        if args.duckdb_memory:
            store_cfg["duckdb_memory"] = args.duckdb_memory
        settings = Settings(root=tmp, data={**base.data, "store": store_cfg})
        cfg = SourceConfig(name="bench", path=src, source="review", format="jsonl", columns={
            "id": "id", "text": "text", "created_at": "created_at", "channel": "channel", "author": "author",
            "rating_stars": "rating_stars", "likes": "likes", "shares": "shares", "replies": "replies"})
        checkpoints: list[tuple[int, float, float]] = []
        start = time.perf_counter()
        rss_start = rss_mb()
        r0, k0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu0, kids0 = r0.ru_utime + r0.ru_stime, k0.ru_utime + k0.ru_stime

        def on_batch(name: str, n: int) -> None:
            if n % 20 == 0:
                checkpoints.append((n * args.batch_size, time.perf_counter() - start, rss_mb()))

        with contextlib.ExitStack() as stack:
            store = stack.enter_context(open_store(settings))
            if args.dask:
                from distributed import Client

                from cxnlp.engine import dask_ingestor, local_cluster

                cluster = stack.enter_context(local_cluster(n_workers=args.workers))
                client = stack.enter_context(Client(cluster))
                start = time.perf_counter()  # the cluster's start-up is not ingest
                ingestor = dask_ingestor(store, settings, client)
                ingestor.batch_size = args.batch_size
            else:
                ingestor = Ingestor(store, settings, batch_size=args.batch_size)
            stats = ingestor.ingest([cfg], "bench", on_batch=on_batch)["bench"]
        total = time.perf_counter() - start
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        print(f"rss before ingest: {rss_start:.0f} MiB")
        for rows, secs, mem in checkpoints:
            print(f"  after {rows:>9,} rows: {rows / secs:>8,.0f} rows/s so far, rss {mem:6.0f} MiB")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"ingested {stats.rows_read:,} rows in {total:.1f} s: {stats.rows_read / total:,.0f} rows/s "
              f"(stored {stats.stored:,}, duplicates {stats.duplicates:,}, quarantined {stats.quarantined:,})")
        if not args.dask:  # the pool's workers have exited: their CPU time is in RUSAGE_CHILDREN
            n = max(1, stats.rows_read)
            print(f"cpu per row: this process {(own.ru_utime + own.ru_stime - cpu0) / n * 1e6:.1f} us, mapping "
                  f"workers {(kids.ru_utime + kids.ru_stime - kids0) / n * 1e6:.1f} us")
        cap = os.environ.get("CXNLP_DUCKDB_MEMORY") or settings.get("store", "duckdb_memory")
        print(f"peak rss {peak:.0f} MiB; cpu cores {os.cpu_count()}; DuckDB memory cap {cap or 'none'} (its block "
              "cache grows up to the cap, then the process stays flat)")


if __name__ == "__main__":
    main()
