"""Store-write benchmark: what the flow's process spends writing tag results as the store grows.

    python benchmarks/store_writes.py [--texts N] [--round R] [--batch-size B]

Tags 2,048 generated texts once with the fast model, then writes their results (tag rows, result JSON and
document vectors) again and again under new ids into a fresh DuckDB store, batch by batch as the nightly flow
does (``cxnlp.classify.stage.write_results``), until N texts (default 1,000,000) are stored. Prints the
process's CPU seconds and the wall seconds of every round of R texts, so one can see whether a round costs more
the bigger the store is: on two cores these writes compete with the tag workers. Rounds with a DuckDB
checkpoint (``store.duckdb_checkpoint``) stand out.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    import pyarrow.compute as pc

    from cxnlp.classify.stage import build_tagger, result_tables, tag_with_vectors
    from cxnlp.config import load_settings
    from cxnlp.engine import write_result_tables
    from cxnlp.samplegen import iter_records
    from cxnlp.store.duck import DuckDBStore

    ap = argparse.ArgumentParser()
    ap.add_argument("--texts", type=int, default=1_000_000)
    ap.add_argument("--round", type=int, default=50_000, help="texts per printed round")
    ap.add_argument("--batch-size", type=int, default=512, help="texts per transaction (engine.batch_size)")
    args = ap.parse_args()
    tagger = build_tagger(ROOT, "fast")
    name, version = tagger.model.name, tagger.model.version
    recs = list(iter_records(2048, seed=7))
    ids = [r["id"] for r in recs]
    t0 = time.perf_counter()
    docs, tags = result_tables(ids, *tag_with_vectors(tagger, [r["text"] for r in recs]))
    print(f"tagged {len(ids):,} texts in {time.perf_counter() - t0:.1f} s: {tags.num_rows / len(ids):.1f} tag rows "
          f"and {docs.nbytes / len(ids):,.0f} bytes of results per text")
    store_cfg = load_settings(ROOT).section("store")
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(Path(tmp) / "bench.duckdb", memory_limit=store_cfg.get("duckdb_memory"),
                            checkpoint=store_cfg.get("duckdb_checkpoint"))
        written, copy = 0, 0
        total_cpu, total_wall = cpu_seconds(), time.perf_counter()
        while written < args.texts:
            c0, w0, start = cpu_seconds(), time.perf_counter(), written
            while written - start < args.round and written < args.texts:
                suffix = f"-{copy}"
                d = docs.set_column(0, "id", pc.binary_join_element_wise(docs.column("id"), suffix, ""))
                t = tags.set_column(0, "feedback_id",
                                    pc.binary_join_element_wise(tags.column("feedback_id"), suffix, ""))
                written += write_result_tables(store, d, t, name, version, "bench", args.batch_size)
                copy += 1
            print(f"  {written:>9,} texts stored: this round {cpu_seconds() - c0:5.1f} s CPU, "
                  f"{time.perf_counter() - w0:5.1f} s wall")
        cpu, wall = cpu_seconds() - total_cpu, time.perf_counter() - total_wall
        print(f"wrote {written:,} texts' results in {wall:.1f} s wall, {cpu:.1f} s CPU "
              f"({cpu / written * 1e6:.0f} µs per text)")
        store.close()


if __name__ == "__main__":
    main()
