"""Evaluation: per-task micro/macro F1 and confusion matrices, on labelled examples."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import confusion_matrix, f1_score

from cxnlp.classify.adapt import rating_label
from cxnlp.classify.data import Example
from cxnlp.classify.model import SENTENCE_TYPES, SENTIMENT


def _single(gold: list[str], pred: list[str], labels: list[str]) -> dict[str, Any]:
    return {
        "n": len(gold),
        "micro_f1": round(float(f1_score(gold, pred, labels=labels, average="micro", zero_division=0)), 4),
        "macro_f1": round(float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0)), 4),
        "per_class_f1": {c: round(float(v), 4) for c, v in
                         zip(labels, f1_score(gold, pred, labels=labels, average=None, zero_division=0))},
        "labels": labels,
        "confusion": confusion_matrix(gold, pred, labels=labels).tolist(),
        "gold_distribution": dict(Counter(gold)),
    }


def _multi(gold: list[list[str]], pred: list[list[str]], labels: list[str]) -> dict[str, Any]:
    G = np.array([[int(lbl in g) for lbl in labels] for g in gold])
    P = np.array([[int(lbl in p) for lbl in labels] for p in pred])
    present = G.sum(0) > 0
    return {
        "n": len(gold),
        "micro_f1": round(float(f1_score(G, P, average="micro", zero_division=0)), 4),
        "macro_f1": round(float(f1_score(G[:, present], P[:, present], average="macro", zero_division=0)), 4)
        if present.any() else None,
        "per_label_f1": {lbl: round(float(f1_score(G[:, i], P[:, i], zero_division=0)), 4)
                         for i, lbl in enumerate(labels) if present[i]},
    }


def evaluate_docs(tagger, examples: Sequence[Example], results: Sequence[dict] | None = None) -> dict[str, Any]:
    """Tags the examples' texts (unless ``results``, the tagger's results for them, are given) and scores every
    task the examples are labelled for."""
    res = tagger.tag_batch([e.text for e in examples]) if results is None else results
    out: dict[str, Any] = {}
    idx = [i for i, e in enumerate(examples) if e.sentiment]
    if idx:
        out["sentiment"] = _single([examples[i].sentiment for i in idx], [res[i]["sentiment"]["label"] for i in idx],
                                   SENTIMENT)
    idx = [i for i, e in enumerate(examples) if e.rating is not None]  # stars need no sentiment label
    if len(idx) >= 10:
        s = [res[i]["sentiment"]["scores"]["positive"] - res[i]["sentiment"]["scores"]["negative"] for i in idx]
        rho = spearmanr(s, [examples[i].rating for i in idx]).statistic
        out["rating_spearman"] = {"n": len(idx), "spearman": round(float(rho), 4)}
        # the stars read as a sentiment label (1-2 negative, 3 neutral, 4-5 positive): how product-review test sets
        # with stars are commonly scored, and a check of the label (not only the ranking) on review language
        out["rating_sentiment"] = _single([rating_label(stars=examples[i].rating)[0] for i in idx],
                                          [res[i]["sentiment"]["label"] for i in idx], SENTIMENT)
    for task, key in (("relevance", "relevant"), ("offensive", "offensive"), ("sustainability", "sustainability")):
        idx = [i for i, e in enumerate(examples) if getattr(e, key) is not None]
        if idx:
            field = "relevant" if task == "relevance" else "flag"
            out[task] = _single([str(bool(getattr(examples[i], key))) for i in idx],
                                [str(bool(res[i][task][field])) for i in idx], ["True", "False"])
    tax = tagger.taxonomy
    for group in ("facets", "touchpoints", "emotions"):
        idx = [i for i, e in enumerate(examples) if getattr(e, group) is not None]
        if idx:
            gold = [list(getattr(examples[i], group)) for i in idx]
            pred = [[x["label"] for x in res[i][group]] for i in idx]
            out[group] = _multi(gold, pred, tax.labels(group))
    idx = [i for i, e in enumerate(examples) if e.phase]
    if idx:
        out["phase"] = _single([examples[i].phase for i in idx], [res[i]["phase"]["label"] for i in idx],
                               tax.labels("phases") + ["unknown"])
    return out


def evaluate_doc_groups(tagger, examples: Sequence[Example], groups_of: Callable[[Example], Iterable[str]],
                        results: Sequence[dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """:func:`evaluate_docs` for each group that ``groups_of`` puts examples in (an example may be in several, e.g.
    its corpus and the whole own set; in none: left out), tagging each text once. ``results``: the tagger's output
    for ``examples`` (in their order) where the caller has it already; tagged here when None. Groups in the order
    they first appear."""
    if results is not None and len(results) != len(examples):
        raise ValueError(f"{len(results)} results for {len(examples)} examples")
    member: dict[str, list[int]] = {}
    idx: list[int] = []  # the examples in at least one group
    for i, e in enumerate(examples):
        names = list(groups_of(e))
        for g in names:
            member.setdefault(g, []).append(len(idx))
        if names:
            idx.append(i)
    keep = [examples[i] for i in idx]
    if results is None:
        res = tagger.tag_batch([e.text for e in keep]) if keep else []
    else:
        res = [results[i] for i in idx]
    return {g: evaluate_docs(tagger, [keep[j] for j in js], [res[j] for j in js]) for g, js in member.items()}


def evaluate_sentences(tagger, examples: Sequence[Example]) -> dict[str, Any]:
    """Sentence-level sentiment and Erlebnis/Erfahrung type on gold sentences."""
    if not examples:
        return {}
    p = tagger.sentence_probs([e.text for e in examples])
    out: dict[str, Any] = {}
    idx = [i for i, e in enumerate(examples) if e.sentiment]
    if idx:
        out["sentence_sentiment"] = _single([examples[i].sentiment for i in idx],
                                            [SENTIMENT[int(np.argmax(p["sentiment"][i]))] for i in idx], SENTIMENT)
    idx = [i for i, e in enumerate(examples) if e.sentence_type]
    if idx:
        gold = [examples[i].sentence_type for i in idx]
        pred = [SENTENCE_TYPES[int(np.argmax(p["sentence_type"][i]))] for i in idx]
        out["sentence_type"] = _single(gold, pred, SENTENCE_TYPES)
        # the two questions analysts ask: is this sentence emotional? is it a judgement?
        for name, members in (("is_erlebnis", ("erlebnis", "both")), ("is_erfahrung", ("erfahrung", "both"))):
            out[name] = _single([str(g in members) for g in gold], [str(q in members) for q in pred], ["True", "False"])
    return out


def load_eval_jsonl(path: str | Path) -> list[Example]:
    """A JSONL evaluation file: cxnlp's labelled format, or the tag contract's input with gold labels
    (`sentiment` as a label string or as {"label": ...}, optional `rating`)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        o = json.loads(line)
        s = o.get("sentiment")
        if isinstance(s, dict):
            s = s.get("label")
        out.append(Example(text=o.get("text") or "", corpus=Path(path).stem, split="test", sentiment=s,
                           relevant=o.get("relevant"), offensive=o.get("offensive"),
                           sustainability=o.get("sustainability"), emotions=o.get("emotions"),
                           facets=o.get("facets"), touchpoints=o.get("touchpoints"), phase=o.get("phase"),
                           rating=o.get("rating"), uid=str(o.get("id", "")), sentences=o.get("sentences") or []))
    return out


def format_report(name: str, metrics: dict[str, Any]) -> str:
    lines = [f"== {name}"]
    for task, m in metrics.items():
        if "spearman" in m:
            lines.append(f"  {task:<20} n={m['n']:<6} spearman={m['spearman']:.3f}")
        else:
            mac = "-" if m.get("macro_f1") is None else f"{m['macro_f1']:.3f}"
            lines.append(f"  {task:<20} n={m['n']:<6} micro-F1={m['micro_f1']:.3f}  macro-F1={mac}")
            if "confusion" in m and len(m["labels"]) <= 6:
                lines.append(f"    confusion (rows gold, cols pred; {', '.join(m['labels'])}): {m['confusion']}")
    return "\n".join(lines)
