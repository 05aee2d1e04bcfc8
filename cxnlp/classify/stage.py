"""The flow's tag stage: tags stored feedback that has no tags from the current model (incremental,
batched, idempotent: a re-run tags nothing twice; a model change re-tags everything)."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Sequence

from cxnlp.classify.tagger import Tagger

log = logging.getLogger("cxnlp.tag")


def tag_rows(fid: str, r: dict[str, Any]) -> list[tuple]:
    """The tags table's rows for one result: (feedback_id, task, label, score, evidence)."""
    rows: list[tuple] = [(fid, "sentiment", r["sentiment"]["label"], r["sentiment"]["scores"][r["sentiment"]["label"]],
                          r["sentiment"].get("evidence", []))]
    for group, task in (("emotions", "emotion"), ("facets", "facet"), ("touchpoints", "touchpoint")):
        for item in r[group]:
            rows.append((fid, task, item["label"], item.get("intensity", item["score"]), item["evidence"]))
    rows.append((fid, "phase", r["phase"]["label"], r["phase"]["score"], r["phase"]["evidence"]))
    rows.append((fid, "relevance", "relevant" if r["relevance"]["relevant"] else "irrelevant",
                 r["relevance"]["score"], []))
    if r["offensive"]["flag"]:
        rows.append((fid, "offensive", "offensive", r["offensive"]["score"], []))
    if r["sustainability"]["flag"]:
        rows.append((fid, "sustainability", "Nachhaltigkeit", r["sustainability"]["score"],
                     r["sustainability"]["evidence"]))
    if r["churn"]["flag"]:
        rows.append((fid, "churn", "churn", 1.0, r["churn"]["evidence"]))
    return rows


def result_tables(ids: Sequence[str], results: Sequence[dict[str, Any]],
                  vectors: Sequence[bytes | None] | None = None):
    """The store's two inputs for tagged texts, as Arrow tables: ``(id, result JSON, n_tags)`` per text (and
    ``vec``, the document vector for emerging topics, when the tagger gave ``vectors``) and the tags rows
    ``(feedback_id, task, label, score, evidence JSON)`` in text order (``n_tags`` rows each). Built where the
    texts are tagged (a Dask worker, or this process), so the single store writer only inserts them."""
    import pyarrow as pa

    from cxnlp.store.common import tag_tables

    per_text = [tag_rows(fid, r) for fid, r in zip(ids, results)]
    docs, tags = tag_tables(list(zip(ids, results)), [row for rows in per_text for row in rows])
    docs = docs.append_column("n_tags", pa.array([len(rows) for rows in per_text], pa.int32()))
    if vectors is not None:
        docs = docs.append_column("vec", pa.array(list(vectors), pa.binary()))
    return docs, tags


def tag_with_vectors(tagger, texts: Sequence[str]) -> tuple[list[dict[str, Any]], list[bytes | None] | None]:
    """The tagger's results and, where it has them (the fast model), the texts' document vectors."""
    if hasattr(tagger, "tag_batch_with_vectors"):
        return tagger.tag_batch_with_vectors(texts)
    return tagger.tag_batch(texts), None


def write_results(store, docs, tags, model: str, model_version: str, run_id: str) -> None:
    """One batch of :func:`result_tables` into the store, in one transaction: results, tags and (where the
    tagger gave them) the document vectors the topic stage clusters."""
    vectors = None
    if "vec" in docs.column_names:
        from cxnlp.classify.docvec import ENCODER
        from cxnlp.store.topics_sql import vector_table

        vectors = vector_table(docs.column("id").to_pylist(), docs.column("vec").to_pylist(), ENCODER)
    store.write_tag_tables(docs.select(["id", "result"]), tags, model, model_version, run_id, vectors=vectors)


def build_tagger(root: Path, backend: str | None = None):
    """The tagger configured in configs/models.yaml: the fast model, or ``transformers`` (the fine-tuned e5
    tagger, or a configured Hugging Face model) when asked for or, under ``auto``, when a GPU is present; see
    :func:`cxnlp.engine.choose_tagging`."""
    if backend is None:
        from cxnlp.engine import tag_plan

        backend = tag_plan(Path(root)).backend
    from cxnlp.classify.tagger import load_tagger

    return load_tagger(Path(root), "transformers" if backend == "transformers" else "fast")


def tag_untagged(store, settings, run_id: str, tagger: Tagger | None = None, batch_size: int = 512,
                  progress: bool = True, partition_rows: int = 20_000) -> dict[str, Any]:
    """Tags in batches of ``batch_size`` in (created_at, id) order; the distributed runner
    (:func:`cxnlp.engine.tag_in_partitions`) makes the same batches. The untagged rows are listed once as
    ``(created_at, id)`` ranges of ``partition_rows`` (one query), then read range by range: the work per
    batch does not grow with the size of the store."""
    from cxnlp.engine import partition_frame, plan_partitions

    tagger = tagger or build_tagger(settings.root)
    name, version = tagger.model.name, tagger.model.version
    parts = plan_partitions(store, name, version, partition_rows)
    todo = sum(p.rows for p in parts)
    done = 0
    t0 = time.perf_counter()
    bar = None
    if progress and todo:
        try:
            from tqdm import tqdm

            bar = tqdm(total=todo, desc="tagging", unit="doc", disable=None)
        except ImportError:
            bar = None
    for part in parts:
        frame = partition_frame(store, name, version, part)
        ids, texts = frame.column("id").to_pylist(), frame.column("text").to_pylist()
        del frame
        for s in range(0, len(ids), batch_size):
            bids = ids[s:s + batch_size]
            docs, tags = result_tables(bids, *tag_with_vectors(tagger, texts[s:s + batch_size]))
            write_results(store, docs, tags, name, version, run_id)
            done += len(bids)
            if bar is not None:
                bar.update(len(bids))
    if bar is not None:
        bar.close()
    secs = time.perf_counter() - t0
    log.info("tagged %d texts in %.1f s with %s %s", done, secs, name, version)
    return {"status": "completed", "tagged": done, "seconds": round(secs, 2), "model": name, "model_version": version,
            "docs_per_s": round(done / secs, 1) if secs > 0 and done else None}
