"""The teacher's reading of single words, as eight dense features of the fast model.

At training time the teacher (the fine-tuned e5 tagger) reads, one at a time, every word that occurs at least
``min_count`` times in the training documents, and the fast model keeps its p(negative) and p(positive) for each
(``lexicon_words.txt`` + ``lexicon.npy``, 2 numbers per word in float16). A text's features are taken over the
known words it contains: the mean, the largest value, the mean of the two largest and the share above 0.5, for
p(negative) and for p(positive). They give the student the teacher's knowledge of words that its training texts
show too rarely to learn from (e.g. p(negative) of "Streik" 0.87, of "Zug" 0.06); see README, model 2026.12.05.3.
"""
from __future__ import annotations

import logging
import re
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Sequence

import numpy as np

log = logging.getLogger(__name__)

# letters (with umlauts and ß) and inner hyphens, three characters or more
WORD = re.compile(r"[A-Za-zÄÖÜäöüß][A-Za-zÄÖÜäöüß\-]{2,}")
LEXICON_NAMES = ["lex_neg_mean", "lex_pos_mean", "lex_neg_max", "lex_pos_max", "lex_neg_share", "lex_pos_share",
                 "lex_neg_top2", "lex_pos_top2"]
WORDS_FILE, VALUES_FILE = "lexicon_words.txt", "lexicon.npy"


class WordLexicon:
    """Lower-cased words with the teacher's p(negative) and p(positive) for each."""

    def __init__(self, words: Sequence[str], values: np.ndarray):
        self.words = _checked_words(words)
        self.values = _checked_values(values, len(self.words))
        # plain Python floats per word: a text's features are a few list operations, not numpy calls per row
        self._index = {w: (float(n), float(p)) for w, (n, p) in zip(self.words, self.values)}

    def __len__(self) -> int:
        return len(self.words)

    def features(self, texts: Sequence[str]) -> np.ndarray:
        """One row of the eight LEXICON_NAMES per text; zeros for a text without a known word."""
        n = len(texts)
        get = self._index.get
        rows: list[int] = []
        vals: list[tuple[float, float]] = []
        for r, t in enumerate(texts):
            for w in WORD.findall(t or ""):
                v = get(w.lower())
                if v is not None:
                    rows.append(r)
                    vals.append(v)
        if not rows:
            return np.zeros((n, len(LEXICON_NAMES)), np.float32)
        return _summaries(np.asarray(rows, np.int64), np.asarray(vals, np.float64), n).astype(np.float32)

    def save(self, d: Path) -> None:
        (d / WORDS_FILE).write_text("\n".join(self.words), encoding="utf-8")
        np.save(d / VALUES_FILE, self.values.astype(np.float16))

    @classmethod
    def load(cls, d: Path, n_words: int) -> "WordLexicon":
        """Reads the two files; :class:`~cxnlp.classify.features.ModelFileError` names the one that is unreadable
        or does not hold ``n_words`` words (featurizer.json's count)."""
        from cxnlp.classify.features import ModelFileError, read_model_file

        words = read_model_file(d, WORDS_FILE, lambda p: p.read_text(encoding="utf-8").split("\n")
                                if p.stat().st_size else [])
        values = read_model_file(d, VALUES_FILE, lambda p: np.load(p, allow_pickle=False))
        if len(words) != n_words:
            raise ModelFileError(WORDS_FILE, f"{len(words)} words, featurizer.json says {n_words}")
        try:
            _checked_words(words)
        except ValueError as e:
            raise ModelFileError(WORDS_FILE, str(e)) from e
        if values.dtype.kind != "f":
            raise ModelFileError(VALUES_FILE, f"{values.dtype} values, want floats")
        try:
            _checked_values(values, n_words)
        except ValueError as e:
            raise ModelFileError(VALUES_FILE, str(e)) from e
        return cls(words, values)


def _checked_words(words: Sequence[str]) -> list[str]:
    """The words lower-cased; ValueError when one is listed twice."""
    out = [w.lower() for w in words]
    if len(set(out)) != len(out):
        raise ValueError("the lexicon lists a word twice")
    return out


def _checked_values(values: np.ndarray, n_words: int) -> np.ndarray:
    """The values rounded to float16 as saved (so that the features are the same before and after save and load),
    as float32; ValueError unless they are (n_words, 2) probabilities."""
    values = np.asarray(values, np.float16).astype(np.float32)
    if values.shape != (n_words, 2):
        raise ValueError(f"{n_words} words need values of shape ({n_words}, 2), not {values.shape}")
    if not np.isfinite(values).all() or values.min(initial=0) < 0 or values.max(initial=0) > 1:
        raise ValueError("lexicon values must be probabilities between 0 and 1")
    return values


def _summaries(rows: np.ndarray, vals: np.ndarray, n: int) -> np.ndarray:
    """The eight LEXICON_NAMES of every text, (n, 8) float64 (zeros for a text without hits): ``rows`` the text
    of each hit (ascending), ``vals`` its (p(negative), p(positive)). Per text and side: the mean, the maximum,
    the share above 0.5 and the mean of the two largest values (the one value where there is one). Sums
    accumulate hit by hit (bincount), so a text's figures are those of a plain loop over its hits (tested)."""
    out = np.zeros((n, len(LEXICON_NAMES)), np.float64)
    counts = np.bincount(rows, minlength=n)
    has = counts > 0
    c = counts[has]
    starts = np.concatenate([[0], np.cumsum(c)[:-1]])
    last = starts + c - 1
    for side in (0, 1):
        v = vals[:, side]
        out[has, side] = np.bincount(rows, weights=v, minlength=n)[has] / c
        out[has, 2 + side] = np.maximum.reduceat(v, starts)
        out[has, 4 + side] = np.bincount(rows, weights=(v > 0.5).astype(np.float64), minlength=n)[has] / c
        s = v[np.lexsort((v, rows))]  # each text's values in ascending order, texts one after another
        top2 = s[last].copy()
        two = c >= 2
        top2[two] = (s[last[two] - 1] + s[last[two]]) / 2
        out[has, 6 + side] = top2
    return out


def lexicon_vocabulary(texts: Sequence[str], min_count: int = 2) -> tuple[list[str], list[str]]:
    """The lower-cased words occurring at least ``min_count`` times in ``texts``, and for each the spelling it
    has most often (what the teacher reads: German nouns keep their capital), in order of first occurrence."""
    counts: Counter = Counter()
    forms: dict[str, Counter] = defaultdict(Counter)
    for t in texts:
        for w in WORD.findall(t or ""):
            counts[w.lower()] += 1
            forms[w.lower()][w] += 1
    words = [w for w, n in counts.items() if n >= min_count]
    return words, [forms[w].most_common(1)[0][0] for w in words]


def build_lexicon(teacher, texts: Sequence[str], min_count: int = 2) -> WordLexicon:
    """The teacher's sentiment for each word of :func:`lexicon_vocabulary`, read one word at a time."""
    words, spelled = lexicon_vocabulary(texts, min_count)
    if not words:
        return WordLexicon([], np.zeros((0, 2), np.float32))
    classes = next(list(s.classes) for s in teacher.specs if s.name == "sentiment")
    t0 = time.perf_counter()
    p = np.asarray(teacher.predict(spelled)["sentiment"], np.float32).reshape(len(words), len(classes))
    log.info("teacher read %d words for the lexicon in %.0f s", len(words), time.perf_counter() - t0)
    return WordLexicon(words, p[:, [classes.index("negative"), classes.index("positive")]])
