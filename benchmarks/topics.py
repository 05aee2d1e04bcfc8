"""Topic discovery benchmark: seconds for N texts (default 100,000) on this machine.

    python benchmarks/topics.py [--texts 100000] [--seed 0]

Texts come from cxnlp.samplegen.iter_records over 12 weeks; the timing covers sentence embeddings (USE-m),
k-means, c-TF-IDF labels over lemmas and the weekly trends — everything `discover` does — once with each
topic's stability (the default: ten more k-means fits on 80 % subsamples) and once without (``stability_runs=0``).
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cxnlp.aggregate.topics import discover, vectors  # noqa: E402
from cxnlp.samplegen import iter_records  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--texts", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    docs = []
    for r in iter_records(args.texts, seed=args.seed, start=datetime(2026, 8, 31, tzinfo=timezone.utc)):
        day = datetime.fromisoformat(r["created_at"]).date()
        docs.append({"id": r["id"], "text": r["text"], "day": day, "negative": (r.get("rating_stars") or 3) <= 2,
                     "facets": [], "touchpoints": []})
    t0 = time.perf_counter()
    v = vectors([d["text"] for d in docs], args.seed)
    t1 = time.perf_counter()
    topics = discover(docs, seed=args.seed, vecs=v)
    t2 = time.perf_counter()
    discover(docs, seed=args.seed, vecs=v, stability_runs=0)
    t3 = time.perf_counter()
    print(f"{len(docs):,} texts over {len({d['day'] for d in docs})} days, cpu cores {os.cpu_count()}")
    print(f"embeddings {t1 - t0:.1f} s ({len(docs) / (t1 - t0):,.0f} texts/s); clustering + stability + labels + "
          f"trends {t2 - t1:.1f} s (without stability {t3 - t2:.1f} s); total {t2 - t0:.1f} s; {len(topics)} topics, "
          f"{sum(t.robust() for t in topics)} with a stability of at least 0.6")
    for t in topics[:8]:
        print(f"  {t.status:<9} {t.size:>6}  stability {t.stability}  {t.label}")
    print(f"peak rss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
