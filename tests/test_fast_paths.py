"""The tagger's fast paths must give exactly what the slow reference gives: the batch tf-idf transform against
scikit-learn's, the sentence splitter's one-sentence shortcut and its token-array rule against spaCy's
sentencizer, the batch surface signals against the per-text ones, the vectorised rounding against ``round``."""
import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from cxnlp.classify import text as text_mod
from cxnlp.classify.fasttfidf import FastTfidf
from cxnlp.classify.text import nlp, split_sentences_batch

TRICKY = [
    "", " ", "a", "ab", "Äh!!! 😡😡 nie wieder...", "x\u00a0y  z\tq\n\nw", "İstanbul ẞ STRASSE straße",
    "Die Lieferung kam viel zu spät. Der Support war aber freundlich!",
    "z.B. das hier... und dann?! Nee", "Zeile eins\n\n  Zeile zwei!!  \nDrei 😡😡", "…", "!!!", "Gut. 😀",
    "a。b", "Toll!😀 Wirklich.", "   führend   Leerzeichen  ", "#fail @DB_Bahn https://x.de/a?b=1 :) <3",
    "Rechnung Nr. 12/2024 über 49,90 € – falsch!", "sehr sehr sehr gut gut", "A" * 300,
]


def corpus(n: int = 400) -> list[str]:
    from cxnlp.samplegen import iter_records

    return [r["text"] for r in iter_records(n, seed=7) if isinstance(r.get("text"), str)] + TRICKY


@pytest.mark.parametrize("kind", [
    dict(ngram_range=(1, 2), min_df=2, max_df=0.5, sublinear_tf=True, token_pattern=r"(?u)\b\w+\b|[!?]+|[^\w\s]"),
    dict(ngram_range=(1, 3), min_df=1, sublinear_tf=False),
    dict(ngram_range=(2, 2), min_df=1, sublinear_tf=True),
    dict(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True),
    dict(analyzer="char_wb", ngram_range=(1, 3), min_df=1, sublinear_tf=False),
])
def test_batch_tfidf_equals_scikit_learn(kind):
    texts = corpus()
    vec = TfidfVectorizer(lowercase=True, **kind).fit(texts[:300])
    fast = FastTfidf(vec)
    assert fast.supported
    assert fast.transform([]).shape == (0, len(vec.vocabulary_))  # scikit-learn refuses an empty batch
    for batch in (texts, texts[300:], TRICKY, [""]):
        want = vec.transform(batch)
        got = fast.transform(batch)
        assert got.shape == want.shape
        assert np.array_equal(got.indptr, want.indptr) and np.array_equal(got.indices, want.indices)
        assert np.allclose(got.data, want.data, rtol=1e-12, atol=1e-12)
    fast.transform(texts)  # second pass from the word cache: still equal
    assert np.allclose(fast.transform(texts).toarray(), vec.transform(texts).toarray())


def test_batch_tfidf_cache_is_bounded(monkeypatch):
    texts = corpus(200)
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)).fit(texts)
    fast = FastTfidf(vec)
    monkeypatch.setattr(FastTfidf, "CACHE_LIMIT", 50)
    got = fast.transform(texts)
    assert len(fast._char_cache) <= 50
    assert np.allclose(got.toarray(), vec.transform(texts).toarray())


def test_unsupported_settings_fall_back_to_scikit_learn():
    texts = corpus(100)
    vec = TfidfVectorizer(stop_words=["und", "die"], lowercase=True).fit(texts)
    fast = FastTfidf(vec)
    assert not fast.supported
    assert np.allclose(fast.transform(texts).toarray(), vec.transform(texts).toarray())


def test_featurizer_refit_drops_the_old_fast_transform():
    from cxnlp.classify.features import Featurizer
    from cxnlp.classify.taxonomy import load_taxonomy
    from cxnlp.config import find_root

    f = Featurizer(load_taxonomy(find_root() / "configs" / "taxonomy.yaml"), use_embeddings=False)
    texts = corpus(150)
    f.fit(texts[:60])
    a = f.transform(texts[:5]).shape[1]
    f.fit(texts)
    b = f.transform(texts[:5])
    assert b.shape[1] == f.n_features and b.shape[1] != a


def test_one_sentence_shortcut_matches_spacy(monkeypatch):
    texts = corpus(600)
    fast = split_sentences_batch(texts)
    # disable the shortcut: every line is parsed by spaCy
    real_pattern = text_mod._INNER_PUNCT
    monkeypatch.setattr(text_mod, "_INNER_PUNCT", type("Always", (), {"search": staticmethod(lambda s: True)})())
    slow = split_sentences_batch(texts)
    assert fast == slow
    # and the shortcut did skip spaCy for some lines of this corpus
    parsed = []
    real_rule = text_mod._rule_spans
    monkeypatch.setattr(text_mod, "_INNER_PUNCT", real_pattern)
    monkeypatch.setattr(text_mod, "_rule_spans", lambda doc, punct: (parsed.append(doc), real_rule(doc, punct))[1])
    split_sentences_batch(texts)
    n_lines = sum(1 for t in texts for part in t.split("\n") if part.strip())
    assert 0 < len(parsed) < n_lines


def test_sentence_rule_matches_spacys_sentencizer():
    # the default pipeline's boundaries come from spaCy's tokenizer plus the sentencizer's rule run on token
    # arrays; spaCy's own sentencizer must cut every line at the same characters
    pipe = nlp()
    extra = ["...Hallo. Welt", "!! ja", "ok . . . nein", "Test。Zwei。", "a...b...c", "Preis 3. 4. Ja! (echt?) nein",
             "„Super!“ sagt er. Na?", "Hi !!! ... ?! x", "。", "a 。 b", "Echt?!?! Ja!!", "(Nein.) Doch"]
    lines = [ln for t in corpus(600) + extra for ln in t.split("\n") if ln.strip()]
    punct = text_mod._punct_hashes(pipe)
    ours = [text_mod._rule_spans(doc, punct) for doc in pipe.tokenizer.pipe(lines)]
    theirs = [[(s.start_char, s.end_char) for s in doc.sents] for doc in pipe.pipe(lines)]
    assert ours == theirs
    assert sum(len(s) > 1 for s in ours) > 50  # many lines really have several sentences


def test_stored_result_json_reads_back_as_the_result():
    import json

    from cxnlp.classify.stage import result_tables
    from cxnlp.classify.tagger import Tagger

    results = Tagger.from_config().tag_batch(TRICKY + ["Die Lieferung war pünktlich, der Support unfreundlich 😡"])
    docs, tags = result_tables([f"r{i}" for i in range(len(results))], results)
    back = [json.loads(s) for s in docs.column("result").to_pylist()]
    assert back == json.loads(json.dumps(results))  # orjson text, the same values as the json module's
    assert all(isinstance(json.loads(e), list) for e in tags.column("evidence").to_pylist())
    # numpy scalars that reach a result are written as numbers, not as their str()
    np_docs, _ = result_tables(["n"], [{**results[-1], "extra": {"p": np.float32(0.25), "k": np.int64(3)}}])
    assert json.loads(np_docs.column("result")[0].as_py())["extra"] == {"p": 0.25, "k": 3}


# matches at a text's edges, and a text that ends where the next one's match would begin
EDGES = ["nicht", "Nicht gut", "gut, nicht", "sowas", "von schlecht", "viel", "zu teuer", "na", "super!",
         "LAUTER TEXT", "TEXT", "ÄRGER", ":", ")", ":-", "(", "<", "3", "/s", "/s drin", "bravo", "🙄", "kein",
         "\x00nicht\x00", "zu\x00", "\x00\n", "wie", "immer", "wie immer", "na toll", "SEHR", "😡😡", "👍", ""]


def surface(text: str) -> list[float]:
    """The surface signals of one text, each pattern scanned over that text alone (the reference)."""
    from cxnlp.classify import features as f

    n = max(1, len(text.split()))
    return [
        min(len(f._NEG.findall(text)), 5) / 2.0,
        min(len(f._INTENS.findall(text)), 5) / 2.0,
        min(text.count("!"), 6) / 3.0,
        min(text.count("?"), 6) / 3.0,
        min(len(f._POS_EMOJI.findall(text)), 5) / 2.0,
        min(len(f._NEG_EMOJI.findall(text)), 5) / 2.0,
        min(len(f._IRONY.findall(text)), 3),
        min(len(f._CAPS.findall(text)), 5) / 2.0,
        min(np.log1p(n) / 5.0, 1.5),
    ]


def test_batch_surface_signals_equal_the_per_text_ones():
    from cxnlp.classify.features import SURFACE_NAMES, surface_batch

    texts = corpus(600) + EDGES + EDGES[::-1]
    got = surface_batch(texts)
    want = np.asarray([surface(t) for t in texts], np.float32)
    assert got.shape == (len(texts), len(SURFACE_NAMES)) and got.dtype == np.float32
    assert np.array_equal(got, want)
    assert want[:, :8].any(axis=0).all()  # every signal is seen somewhere, so each column is checked
    assert surface_batch([]).shape == (0, len(SURFACE_NAMES))


def test_vectorised_rounding_equals_round():
    from cxnlp.classify.tagger import _round4

    rng = np.random.default_rng(3)
    ties = (np.arange(0, 20001) / 2e4).astype(np.float32)  # values at and next to a half of the fourth place
    for a in (rng.random(200_000).astype(np.float32), ties, np.nextafter(ties, np.float32(2)),
              (rng.standard_normal(50_000) * 40).astype(np.float32), np.array([0, 1, 1e-9, 3e38], np.float32)):
        assert _round4(a).tolist() == [round(v, 4) for v in a.tolist()]
    m = rng.random((7, 3)).astype(np.float32)
    assert _round4(m).tolist() == [[round(v, 4) for v in row] for row in m.tolist()]
    d = rng.random(1000)  # float64 goes through round itself
    assert _round4(d).tolist() == [round(v, 4) for v in d.tolist()]


def test_logits_of_named_heads_equal_those_of_every_head():
    from cxnlp.classify.tagger import Tagger

    model = Tagger.from_config().model
    X = model.features(corpus(60))
    heads = model.heads
    full = heads.scores(X)
    for names in (["sentiment", "sentence_type"], ["phase"], ["touchpoints:App", "sentiment"]):
        part = heads.scores(X, names)
        rows = np.zeros(full.shape[1], bool)
        for n in names:
            rows[heads.heads[n].rows] = True
        assert part.shape == full.shape and part.dtype == full.dtype
        assert np.array_equal(part[:, rows], full[:, rows]) and not part[:, ~rows].any()
        probs = model.predict_features(X, names)
        assert set(probs) == set(names)
        for n in names:
            assert np.array_equal(probs[n], model.predict_features(X)[n])


def test_embedding_block_kept_dense_gives_the_same_features_and_probabilities():
    from scipy import sparse

    from cxnlp.classify.tagger import Tagger

    model = Tagger.from_config().model
    texts = corpus(80)
    X = model.features(texts)
    Xs, E = model.features_split(texts)
    assert E.dtype == np.float32 and E.shape == (len(texts), 512)
    assert (sparse.hstack([Xs, sparse.csr_matrix(E)], format="csr") != X).nnz == 0
    assert np.array_equal(model.dense_block(Xs, E), model.dense_block(X))
    full, split = model.predict_features(X), model.predict_features(Xs, emb=E)
    for name, p in full.items():  # only the order of the sums differs
        assert np.allclose(split[name], p, rtol=0, atol=1e-5), name
    part = model.predict_features(Xs, ["sentiment"], E)["sentiment"]  # a narrower dense product: its own sums
    assert np.allclose(part, split["sentiment"], rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="columns"):
        model.heads.scores(Xs)  # the embedding block is missing


def test_batch_ranked_evidence_terms_equal_the_per_row_ranking():
    from cxnlp.classify.tagger import Tagger, _BatchTerms, _Terms

    tagger = Tagger.from_config()
    model = tagger.model
    texts = [t for t in corpus(150) if t.strip()]
    X, _ = model.features_split(texts)
    n_rows = model.heads.WT.shape[1]
    pairs = [(j, r) for j in range(len(texts)) for r in range(n_rows) if (j + r) % 3]  # two rows in three
    batch = _BatchTerms(model.heads, X, tagger._word_names)
    batch.rank(pairs + pairs[:10])  # a pair asked twice is ranked once
    checked = 0
    for j, r in pairs:
        a, b = batch.bounds[j], batch.bounds[j + 1]
        alone = _Terms(model.heads, batch.idx[a:b], batch.contrib[a:b], tagger._word_names, texts[j])
        want = [(i, v) for i, v in zip(*alone.rank_row(r)) if v > 0]
        order, vals = batch.ranked[j][r]
        assert list(zip(order, vals)) == want, (j, r)
        checked += bool(want)
    assert checked > 100
    assert all((j + r) % 3 for j, ranked in enumerate(batch.ranked) for r in ranked)
