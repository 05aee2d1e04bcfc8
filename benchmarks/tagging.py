"""Tagging benchmark: docs/s and peak memory.

    python benchmarks/tagging.py [--docs 10000] [--hf-docs 512] [--skip-hf]

1. The embedded default (models/cxnlp-de-small) on N mixed German texts (the sample exports' reviews, posts
   and tickets, cycled to N), CPU: in this process as ``cxnlp tag`` runs it (the loaded tagger's objects frozen
   out of the cycle collector's passes), then on a Dask LocalCluster with one single-threaded worker per core
   (``--workers``), as the nightly flow runs it with ``engine.runner: dask`` (the collector paused while a part
   is tagged, as in ``tag_partition``).
2. The fine-tuned e5 tagger (models/cxnlp-de-e5, the `transformers` backend's default) on CPU, and on the GPU
   when torch sees one: the classifier alone (every head, document level) and the whole E5Tagger (documents
   and their sentences), split into the encoder's time and the rest (sentence split, cues, results).
3. The transformers backend with a BERT-base-sized model (12 layers, hidden 768; random weights — speed
   does not depend on them) on CPU, and on the GPU when torch sees one.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def sample_texts(n: int) -> list[str]:
    from cxnlp.ingest.readers import read_records

    texts: list[str] = []
    for name, fmt, col in (("shop_reviews.csv", "csv", "Bewertungstext"), ("app_reviews.jsonl", "jsonl", "content"),
                           ("social_posts.jsonl", "jsonl", "text"), ("tickets.csv", "csv", "body")):
        for r in read_records(ROOT / "data" / "sample" / name, fmt):
            t = (r.fields or {}).get(col)
            if isinstance(t, str) and t.strip() and len(t) < 5000:
                texts.append(t)
    out = []
    while len(out) < n:
        out.extend(texts)
    return out[:n]


def bench_embedded(texts: list[str]) -> None:
    from cxnlp.classify.tagger import Tagger
    from cxnlp.engine import keep_freed_memory

    keep_freed_memory()  # as in `cxnlp tag` and the tag workers

    t0 = time.perf_counter()
    tagger = Tagger.from_config(ROOT)
    load = time.perf_counter() - t0
    tagger.tag_batch(texts[:64])
    from cxnlp.engine import loaded_objects_frozen

    t0 = time.perf_counter()
    n = 0
    with loaded_objects_frozen():  # as `cxnlp tag` does
        for _ in tagger.pipe(texts, batch_size=512):
            n += 1
    secs = time.perf_counter() - t0
    chars = sum(map(len, texts)) / len(texts)
    from cxnlp.classify.use_encoder import use_encoder

    print(f"embedded {tagger.model.name} {tagger.model.version} (sentence encoder in {use_encoder().precision}): "
          f"load {load:.1f} s; {n:,} docs (mean {chars:.0f} chars) in {secs:.1f} s = {n / secs:,.0f} docs/s; "
          f"rss {rss_mb():.0f} MiB")


def _tag_part(root: str, texts: list[str]) -> int:
    """On a Dask worker: tag one part with the worker's cached embedded tagger."""
    from cxnlp.engine import _worker_tagger, cycle_collector_paused

    tagger = _worker_tagger(root, "embedded")
    with cycle_collector_paused():  # as the nightly flow's tag workers do (cxnlp.engine.tag_partition)
        return sum(1 for _ in tagger.pipe(texts, batch_size=512))


def bench_embedded_workers(texts: list[str], workers: int) -> None:
    """The same texts through a Dask LocalCluster of ``workers`` single-threaded processes (the nightly flow's
    ``engine.runner: dask``): what the embedded default does with every core."""
    from distributed import Client

    from cxnlp.engine import local_cluster

    with local_cluster(workers, 1, dashboard_address=None) as cluster, Client(cluster) as client:
        client.run(_tag_part, str(ROOT), texts[:64])  # every worker loads its tagger before the clock starts
        step = 1024
        parts = [texts[i:i + step] for i in range(0, len(texts), step)]
        t0 = time.perf_counter()
        n = sum(client.gather(client.map(_tag_part, [str(ROOT)] * len(parts), parts, pure=False)))
        secs = time.perf_counter() - t0
        threads = client.run(lambda: __import__("torch").get_num_threads())
    print(f"embedded on a {workers}-worker Dask LocalCluster ({sorted(set(threads.values()))} torch threads per "
          f"worker): {n:,} docs in {secs:.1f} s = {n / secs:,.0f} docs/s")


def bench_hf(texts: list[str], device: str) -> None:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    from cxnlp.classify.hf import HFSentiment

    with tempfile.TemporaryDirectory() as d:
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=False)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.train_from_iterator(texts[:5000], trainers.WordPieceTrainer(
            vocab_size=30000, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
        fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                       cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
        fast.save_pretrained(d)
        cfg = BertConfig(vocab_size=fast.vocab_size, num_labels=3)  # BERT-base: 12 layers, hidden 768
        BertForSequenceClassification(cfg).save_pretrained(d)
        m = HFSentiment(d, device=device, max_length=128, batch_size=64 if device == "cpu" else 256)
        m.predict(texts[:16])
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        m.predict(texts)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        secs = time.perf_counter() - t0
        extra = ""
        if device.startswith("cuda"):
            extra = f", gpu peak {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB"
        print(f"transformers BERT-base (random weights, max 128 tokens) on {device}: {len(texts):,} docs in "
              f"{secs:.1f} s = {len(texts) / secs:,.0f} docs/s; rss {rss_mb():.0f} MiB{extra}")


def bench_e5(texts: list[str], device: str) -> None:
    import torch

    from cxnlp.classify.e5model import E5Tagger

    if not (ROOT / "models" / "cxnlp-de-e5" / "e5_tagger.json").is_file():
        print("e5 tagger: models/cxnlp-de-e5 missing, skipped")
        return
    t0 = time.perf_counter()
    tagger = E5Tagger.from_config(ROOT, device=device)
    load = time.perf_counter() - t0
    tagger.clf.predict(texts[:16])
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    sync()
    t0 = time.perf_counter()
    tagger.clf.predict(texts)
    sync()
    secs = time.perf_counter() - t0
    model_s = [0.0]
    predict = tagger.clf.predict

    def timed_predict(*a, **k):  # the encoder's share of the whole tagger's time
        t = time.perf_counter()
        out = predict(*a, **k)
        sync()
        model_s[0] += time.perf_counter() - t
        return out

    tagger.clf.predict = timed_predict
    t1 = time.perf_counter()
    for _ in tagger.pipe(texts):  # calls of tagger.batch_size texts, as `cxnlp tag` makes them
        pass
    sync()
    full = time.perf_counter() - t1
    tagger.clf.predict = predict
    extra = f", gpu peak {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB" if device.startswith("cuda") else ""
    print(f"e5 tagger {tagger.clf.name} {tagger.clf.version} on {device} ({torch.get_num_threads()} threads): "
          f"load {load:.1f} s; classifier {len(texts) / secs:,.0f} docs/s; whole tagger with sentences "
          f"{len(texts) / full:,.0f} docs/s (encoder {model_s[0]:.1f} s of {full:.1f} s; the rest "
          f"{len(texts) / max(1e-9, full - model_s[0]):,.0f} docs/s); rss {rss_mb():.0f} MiB{extra}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=10_000)
    ap.add_argument("--hf-docs", type=int, default=512)
    ap.add_argument("--gpu-docs", type=int, default=20_000)
    ap.add_argument("--skip-hf", action="store_true")
    ap.add_argument("--e5-docs", type=int, default=1000)
    ap.add_argument("--skip-e5", action="store_true")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="also tag the embedded default's docs on a Dask cluster of this many workers (0: skip)")
    args = ap.parse_args()
    texts = sample_texts(max(args.docs, args.gpu_docs))
    print(f"cpu cores: {os.cpu_count()}")
    bench_embedded(texts[: args.docs])
    if args.workers > 1:
        bench_embedded_workers(texts[: args.docs], args.workers)
    if not args.skip_e5:
        import torch

        bench_e5(texts[: args.e5_docs], "cpu")
        if torch.cuda.is_available():
            bench_e5(texts[: args.gpu_docs], "cuda")
    if not args.skip_hf:
        import torch

        bench_hf(texts[: args.hf_docs], "cpu")
        if torch.cuda.is_available():
            bench_hf(texts[: args.gpu_docs], "cuda")
    print(f"peak rss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
