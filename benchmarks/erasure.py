"""Erasure benchmark: one data subject's request (``cxnlp erase``) on a big DuckDB store.

    python benchmarks/erasure.py [--rows 1000000] [--texts-per-author 5] [--keep PATH]

1. Generates N tagged feedback rows (benchmarks/review.py's generator: about 7 tag rows and one result per
   text), gives every text one of N / texts-per-author authors, and computes the experience rows and
   aggregates as the nightly flow does.
2. Erases one author's texts (dry run, then for real), timing each part: the transaction (find, delete,
   suppression keys), recomputing the aggregates of the touched days and the daily volume, and rewriting the
   file (``COPY FROM DATABASE``); then the same with ``--no-compact`` for a second author (checkpoint only).
3. Prints the file size before and after and the process's peak memory.
"""
from __future__ import annotations

import argparse
import importlib.util
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _review_generator():
    spec = importlib.util.spec_from_file_location("bench_review", ROOT / "benchmarks" / "review.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.generate


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--texts-per-author", type=int, default=5)
    ap.add_argument("--keep", help="keep the generated store at this path")
    args = ap.parse_args()

    from cxnlp.aggregate.stage import aggregate_experience
    from cxnlp.config import load_settings
    from cxnlp.erasure import ErasureRequest, erase
    from cxnlp.store import DuckDBStore

    work = Path(tempfile.mkdtemp(prefix="cxnlp-erase-"))
    (work / "configs").mkdir()
    (work / "configs" / "settings.yaml").write_text(
        (ROOT / "configs" / "settings.yaml").read_text(encoding="utf-8").replace(
            "dir: var/report", f"dir: {work / 'report'}"), encoding="utf-8")
    (work / "configs" / "sources.yaml").write_text("sources: {}\n", encoding="utf-8")
    settings = load_settings(work)
    path = Path(args.keep) if args.keep else work / "store.duckdb"
    authors = max(1, args.rows // args.texts_per_author)
    with DuckDBStore(path, memory_limit="2GB") as store:
        t0 = time.perf_counter()
        _review_generator()(store, args.rows)
        store.con.execute(f"UPDATE feedback SET author_hash = substr(md5('author' || (hash(id) % {authors})), 1, 32)")
        print(f"generated {args.rows:,} tagged texts of {authors:,} authors in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        agg = aggregate_experience(store)
        print(f"experience rows and aggregates ({agg['cells']:,} cells) in {time.perf_counter() - t0:.1f} s")
        store.rebuild_daily_volume()
        store.con.execute("CHECKPOINT")
        subjects = [r[0] for r in store.query(
            "SELECT author_hash FROM feedback GROUP BY author_hash ORDER BY count(*) DESC, author_hash LIMIT 2")]
        for i, (h, compact) in enumerate(zip(subjects, (True, False))):
            req = ErasureRequest(author_hashes=[h], reference=f"bench-{i}")
            t0 = time.perf_counter()
            dry = erase(store, settings, req)
            t_dry = time.perf_counter() - t0
            size = path.stat().st_size
            t0 = time.perf_counter()
            out = erase(store, settings, req, apply=True, compact=compact)
            total = time.perf_counter() - t0
            st = out["store"]
            rows = ", ".join(f"{k} {v}" for k, v in out["rows"].items() if v)
            print(f"\nrequest {i + 1} ({'compact' if compact else '--no-compact'}): {rows}")
            print(f"  dry run {t_dry:.2f} s; erase {total:.2f} s in all, of it rewriting the file "
                  f"{st.get('seconds', 0):.2f} s ({st['method']}); {out['aggregates']['experience']['periods_recomputed_days']} "
                  f"day(s) of aggregates recomputed")
            print(f"  file {size / 2**20:,.0f} MiB before, {path.stat().st_size / 2**20:,.0f} MiB after")
            assert dry["rows"]["feedback"] == out["rows"]["feedback"] > 0
    print(f"\npeak RSS {peak_mb():,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
