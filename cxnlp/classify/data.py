"""Training and evaluation data: loaders for the public German sets (path given by the user, never
shipped) and for cxnlp's own labelled set (data/labelled/*.jsonl, written for this project).

Every example is an :class:`Example` with the labels it carries; a missing label (None) means "not
annotated for this task", so each head trains only on examples labelled for it.
"""
from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

csv.field_size_limit(1 << 30)


@dataclass
class Example:
    text: str
    corpus: str  # germeval2017 | sb10k | potts | germeval2018 | germeval2021 | cx_reviews | ... | corrections
    split: str  # train | dev | test
    sentiment: str | None = None
    relevant: bool | None = None
    offensive: bool | None = None
    sustainability: bool | None = None
    emotions: dict[str, float] | None = None  # None: not annotated; {}: annotated, none present
    facets: list[str] | None = None
    touchpoints: list[str] | None = None
    phase: str | None = None
    sentence_type: str | None = None
    rating: int | None = None
    domain: str | None = None
    uid: str = ""
    weight: float = 1.0
    sentences: list[dict] = field(default_factory=list)
    soft: dict[str, list[float]] | None = None  # a teacher's probabilities per task (distillation)


def _split_of(key: str, test_share: float = 0.2) -> str:
    """Deterministic split from a stable key: the same example is always in the same split."""
    h = int(hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest(), 16)
    return "test" if (h % 1000) < test_share * 1000 else "train"


def _tsv(path: Path) -> Iterator[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        yield from csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)


def load_germeval2017(root: Path, folds: int = 5) -> list[Example]:
    """GermEval 2017 (Deutsche Bahn feedback). Only the dev split is available here: it is split into
    ``folds`` deterministic folds; fold 0 is 'test', the rest 'train' (cross-validation uses all)."""
    out = []
    p = root / "germeval2017" / "dev.tsv"
    with p.open(encoding="utf-8", newline="") as f:
        for i, r in enumerate(csv.reader(f, delimiter="\t")):
            if len(r) < 4 or not r[1].strip():
                continue
            fold = int(hashlib.blake2b(r[1].encode(), digest_size=8).hexdigest(), 16) % folds
            out.append(Example(text=r[1], corpus="germeval2017", split="test" if fold == 0 else "train",
                               sentiment=r[3] if r[3] in ("negative", "neutral", "positive") else None,
                               relevant=r[2].strip().lower() == "true", uid=f"ge17-{i}", domain="db-feedback"))
    return out


def _load_tweet_sentiment(root: Path, corpus: str, prefix: str) -> list[Example]:
    """SB10k and PotTS share one TSV layout (tweet id, label, text); 'mixed' is left out."""
    out = []
    for split in ("train", "dev"):
        for i, r in enumerate(_tsv(root / corpus / f"{split}.tsv")):
            if len(r) >= 3 and r[1] in ("negative", "neutral", "positive"):
                out.append(Example(text=r[2], corpus=corpus, split=split, sentiment=r[1],
                                   uid=f"{prefix}-{split}-{i}", domain="social"))
    return out


def load_sb10k(root: Path) -> list[Example]:
    return _load_tweet_sentiment(root, "sb10k", "sb")


def load_potts(root: Path) -> list[Example]:
    return _load_tweet_sentiment(root, "potts", "po")


def load_germeval2018(root: Path) -> list[Example]:
    out = []
    for split in ("train", "dev"):
        for i, r in enumerate(_tsv(root / "germeval2018" / f"{split}.tsv")):
            if len(r) >= 2 and r[1] in ("OFFENSE", "OTHER"):
                out.append(Example(text=r[0], corpus="germeval2018", split=split, offensive=r[1] == "OFFENSE",
                                   uid=f"ge18-{split}-{i}", domain="social"))
    return out


def load_germeval2021(root: Path) -> list[Example]:
    out = []
    for split in ("train", "dev"):
        p = root / "germeval2021" / f"{split}.csv"
        with p.open(encoding="utf-8", newline="") as f:
            for i, r in enumerate(csv.DictReader(f)):
                if r.get("comment_text"):
                    out.append(Example(text=r["comment_text"], corpus="germeval2021", split=split,
                                       offensive=r.get("Sub1_Toxic") == "1", uid=f"ge21-{split}-{i}",
                                       domain="social"))
    return out


PUBLIC_LOADERS = {
    "germeval2017": load_germeval2017,
    "sb10k": load_sb10k,
    "potts": load_potts,
    "germeval2018": load_germeval2018,
    "germeval2021": load_germeval2021,
}


def load_public(root: str | Path, names: Iterable[str] | None = None) -> list[Example]:
    root = Path(root)
    out: list[Example] = []
    for name in names or PUBLIC_LOADERS:
        if (root / name).is_dir():
            out.extend(PUBLIC_LOADERS[name](root))
    return out


def load_own(folder: str | Path, test_share: float = 0.2) -> list[Example]:
    """cxnlp's own labelled German set (reviews, tickets, chats, social posts), deterministic 80/20 split."""
    out: list[Example] = []
    for p in sorted(Path(folder).glob("*.jsonl")):
        for line in p.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            o = json.loads(line)
            # a key that is absent means "not annotated for this task" (e.g. promoted topics carry one label)
            out.append(Example(
                text=o["text"], corpus=p.stem, split=_split_of(o["id"], test_share), sentiment=o.get("sentiment"),
                relevant=o.get("relevant"), offensive=o.get("offensive"), sustainability=o.get("sustainability"),
                emotions=(o.get("emotions") or {}) if "emotions" in o else None,
                facets=(o.get("facets") or []) if "facets" in o else None,
                touchpoints=(o.get("touchpoints") or []) if "touchpoints" in o else None,
                phase=o.get("phase"), rating=o.get("rating"), domain=o.get("domain"), uid=o["id"],
                sentences=o.get("sentences") or []))
    return out


RATED_CORPUS = "cx_rated"
STARS_TEST_CORPUS = "cx_stars_test"  # data/stars_test: reviews with stars kept out of training altogether


class DataError(ValueError):
    """A data file of the repository or the user that cannot be read as its format says (file and line named)."""


def load_rated(folder: str | Path, test_share: float = 0.2, corpus: str = RATED_CORPUS) -> list[Example]:
    """Reviews with their writers' stars and no other label (data/rated/*.jsonl: id, text, rating 1–5), with the
    own set's deterministic 80/20 split by id. Training reads the texts of the 'train' part as unlabelled texts
    for the teacher (distillation); the 'test' part measures how well p(positive) − p(negative) ranks the stars.
    ``test_share=1`` puts every review in the test part (data/stars_test, never trained on). A missing folder, or a
    row without a text or with a rating outside 1–5, is an error (:class:`DataError`)."""
    if not Path(folder).is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    out: list[Example] = []
    for p in sorted(Path(folder).glob("*.jsonl")):
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                o = json.loads(line)
            except ValueError:
                o = None
            if not isinstance(o, dict) or not str(o.get("text") or "").strip() or not o.get("id") \
                    or type(o.get("rating")) is not int or not 1 <= o["rating"] <= 5:
                raise DataError(f"{p.name} line {n}: a rated review needs an id, a text and a rating of 1-5")
            out.append(Example(text=o["text"], corpus=corpus, split=_split_of(o["id"], test_share),
                               rating=int(o["rating"]), domain=p.stem, uid=o["id"]))
    return out


def sentence_examples(docs: Iterable[Example]) -> list[Example]:
    """One example per annotated sentence (sentence sentiment and Erlebnis/Erfahrung type)."""
    out = []
    for d in docs:
        for j, s in enumerate(d.sentences):
            out.append(Example(text=s["text"], corpus=d.corpus + ":sent", split=d.split,
                               sentiment=s.get("sentiment"), sentence_type=s.get("type"),
                               uid=f"{d.uid}:s{j}", domain=d.domain))
    return out
