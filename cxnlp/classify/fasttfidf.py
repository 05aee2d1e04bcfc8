"""Batch tf-idf transform for a fitted scikit-learn ``TfidfVectorizer`` that gives the same matrix, faster.

scikit-learn's ``transform`` builds every n-gram string of every document and looks each one up in Python.
Here a batch is cut into word tokens once; each distinct token of the batch is analysed once (its character
n-gram columns are also cached across batches), and the counting, sub-linear tf, idf weighting and L2 norm are
done with numpy on the whole batch. Only the settings cxnlp's featurizer uses are supported
(``analyzer`` ``word`` with a token pattern, or ``char_wb``; lowercase; no stop words, no accent stripping,
l2 norm); anything else falls back to scikit-learn's own ``transform``.
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np
from scipy import sparse


class FastTfidf:
    """``transform(texts)`` equal to ``vectorizer.transform(texts)`` (float64 CSR, sorted indices)."""

    CACHE_LIMIT = 100_000  # distinct words whose char n-gram columns are kept (bounded: about 50 MB at most)

    def __init__(self, vectorizer):
        self.vec = vectorizer
        p = vectorizer.get_params()
        self.analyzer = p["analyzer"]
        self.min_n, self.max_n = p["ngram_range"]
        self.vocab: dict[str, int] = vectorizer.vocabulary_
        self.n_features = len(self.vocab)
        self.idf = np.asarray(vectorizer.idf_, np.float64)
        self.sublinear = bool(p["sublinear_tf"])
        self.supported = (self.analyzer in ("word", "char_wb") and p["lowercase"] and p.get("stop_words") is None
                          and p.get("strip_accents") is None and p.get("preprocessor") is None
                          and p.get("tokenizer") is None and p.get("norm", "l2") == "l2" and p.get("use_idf", True)
                          and p.get("input", "content") == "content")
        if self.analyzer == "word" and self.supported:
            self.token = re.compile(p["token_pattern"])
            if self.token.groups > 1:
                self.supported = False
        self._char_cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    # -- counting ----------------------------------------------------------------------------------------
    def _word_counts(self, texts: Sequence[str]) -> sparse.csr_matrix:
        vget = self.vocab.get
        findall = self.token.findall
        rows: list[int] = []
        cols: list[int] = []
        for i, t in enumerate(texts):
            toks = findall(t.lower())
            grams = [toks] if self.min_n <= 1 <= self.max_n else []
            for n in range(max(2, self.min_n), min(self.max_n, len(toks)) + 1):
                grams.append([" ".join(toks[k:k + n]) for k in range(len(toks) - n + 1)])
            ids = [j for g in grams for j in map(vget, g) if j is not None]
            cols.extend(ids)
            rows.extend([i] * len(ids))
        return self._coo(rows, cols, None, len(texts))

    def _char_columns(self, word: str) -> tuple[np.ndarray, np.ndarray]:
        """The vocabulary columns of one (lower-cased) word's padded character n-grams, with their counts."""
        got = self._char_cache.get(word)
        if got is not None:
            return got
        w = " " + word + " "
        counts: dict[int, int] = {}
        for n in range(self.min_n, self.max_n + 1):
            last = max(0, len(w) - n)
            for off in range(last + 1):
                j = self.vocab.get(w[off:off + n])
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            if last == 0:  # a word shorter than n is counted once, and longer n-grams are not tried
                break
        got = (np.fromiter(counts.keys(), np.int64, len(counts)), np.fromiter(counts.values(), np.int64, len(counts)))
        if len(self._char_cache) >= self.CACHE_LIMIT:
            self._char_cache.clear()
        self._char_cache[word] = got
        return got

    def _char_counts(self, texts: Sequence[str]) -> sparse.csr_matrix:
        words: dict[str, int] = {}
        occ_word: list[int] = []
        occ_row: list[int] = []
        for i, t in enumerate(texts):
            ws = t.lower().split()
            occ_word.extend([words.setdefault(w, len(words)) for w in ws])
            occ_row.extend([i] * len(ws))
        if not occ_word:
            return sparse.csr_matrix((len(texts), self.n_features), dtype=np.float64)
        cols_of = [self._char_columns(w) for w in words]
        lens = np.fromiter((len(c) for c, _ in cols_of), np.int64, len(cols_of))
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
        none = np.zeros(0, np.int64)  # words without a known n-gram add nothing
        flat_cols = np.concatenate([c for c, _ in cols_of] + [none])
        flat_cnt = np.concatenate([n for _, n in cols_of] + [none])
        occ_word_a = np.asarray(occ_word, np.int64)
        occ_len = lens[occ_word_a]
        # every occurrence of a word contributes its word's slice of flat_cols / flat_cnt
        rep = np.repeat(np.arange(len(occ_word_a)), occ_len)
        pos = np.arange(int(occ_len.sum())) - np.repeat(np.cumsum(occ_len) - occ_len, occ_len)
        src = starts[occ_word_a][rep] + pos
        rows = np.asarray(occ_row, np.int64)[rep]
        return self._coo(rows, flat_cols[src], flat_cnt[src], len(texts))

    def _coo(self, rows, cols, data, n_rows: int) -> sparse.csr_matrix:
        rows = np.asarray(rows, np.int64)
        cols = np.asarray(cols, np.int64)
        data = np.ones(len(rows), np.float64) if data is None else np.asarray(data, np.float64)
        X = sparse.coo_matrix((data, (rows, cols)), shape=(n_rows, self.n_features)).tocsr()
        X.sum_duplicates()
        X.sort_indices()
        return X

    # -- tf-idf ------------------------------------------------------------------------------------------
    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        if not self.supported:
            return sparse.csr_matrix(self.vec.transform(texts))
        X = self._word_counts(texts) if self.analyzer == "word" else self._char_counts(texts)
        if self.sublinear:
            np.log(X.data, X.data)
            X.data += 1.0
        X.data *= self.idf[X.indices]
        row_of = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        norms = np.sqrt(np.bincount(row_of, weights=X.data ** 2, minlength=X.shape[0]))
        norms[norms == 0] = 1.0
        X.data /= norms[row_of]
        return X
