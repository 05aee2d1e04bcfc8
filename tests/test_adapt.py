"""Distillation (a teacher's soft labels train the fast model) and learning from a company's own ratings,
through the real training code (fast model without sentence embeddings; a tiny e5-style teacher)."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import NEG, NEU, POS, REPO, write_sources
from cxnlp.classify.data import Example
from cxnlp.classify.taxonomy import load_taxonomy

pytest.importorskip("torch")

TAX = load_taxonomy(REPO / "configs" / "taxonomy.yaml")


@pytest.fixture(scope="module")
def teacher(tiny_bert_base):
    """A tiny teacher that learnt: positive texts are about the facet 'Service', negative ones are not."""
    from cxnlp.classify.e5model import task_specs
    from cxnlp.classify.e5train import fine_tune

    exs = [Example(text=t, corpus="cx_reviews", split="train", sentiment="positive", facets=["Service-Erfahrung"])
           for t in POS * 3]
    exs += [Example(text=t, corpus="cx_reviews", split="train", sentiment="negative", facets=[]) for t in NEG * 3]
    exs += [Example(text=t, corpus="cx_reviews", split="train", sentiment="neutral", facets=[]) for t in NEU * 3]
    clf, _ = fine_tune(exs, task_specs(TAX), base_dir=tiny_bert_base, train_layers=2, steps=250, batch_size=12,
                       lr=3e-3, head_lr=1e-2, device="cpu", log_every=0)
    clf.meta.update({"name": "tiny-teacher", "version": "t"})
    return clf


def _jsonl_texts(path):
    """The "text" of each non-blank line of one of the shipped JSONL files, in file order."""
    import json

    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_soft_labels_fill_only_tasks_without_gold(teacher):
    from cxnlp.classify.adapt import attach_soft_labels

    gold = Example(text=POS[0], corpus="sb10k", split="train", sentiment="positive")
    bare = Example(text=NEG[0], corpus="distill", split="train")
    assert attach_soft_labels(teacher, [gold, bare]) == 2
    assert "sentiment" not in gold.soft and len(gold.soft["facets"]) == len(TAX.labels("facets"))
    assert set(bare.soft) >= {"sentiment", "facets", "touchpoints", "phase"}
    assert abs(sum(bare.soft["sentiment"]) - 1) < 1e-3
    assert bare.soft["sentiment"][0] > bare.soft["sentiment"][2]  # the teacher calls it negative


def test_student_learns_a_task_only_the_teacher_knows(teacher, tmp_path):
    """No gold facet labels at all: the student's Service head comes from the teacher's probabilities alone,
    and the card reports how often student and teacher agree."""
    from cxnlp.classify.adapt import unlabelled_examples
    from cxnlp.classify.tagger import Tagger
    from cxnlp.classify.train import train_model

    gold = [Example(text=t, corpus="tiny", split="train" if i % 5 else "test", sentiment=lab)
            for lab, texts in (("positive", POS), ("negative", NEG), ("neutral", NEU)) for i, t in enumerate(texts * 3)]
    unl = unlabelled_examples(POS + NEG + NEU + [p + " Danke!" for p in POS] + [n + " Leider." for n in NEG] + [""])
    assert len(unl) == 30  # the empty text is dropped, every text once
    model, _ = train_model(tmp_path / "student", TAX, extra=gold, use_embeddings=False, version="s", teacher=teacher,
                           unlabelled=unl)
    d = model.meta["distillation"]
    assert d["teacher"] == "tiny-teacher t" and d["unlabelled_texts"] == 30 and d["soft_labelled_texts"] >= 30
    assert 0.0 <= d["agreement"]["tiny"]["agreement"] <= 1.0 and d["agreement"]["tiny"]["n"] > 0
    # the figure comes from the evaluation's tags (not a second tagging pass) and equals tagging afresh
    from cxnlp.classify.adapt import agreement

    held = [e for e in gold if e.split != "train"]
    assert d["agreement"] == agreement(Tagger(model, TAX), teacher, held)
    with pytest.raises(ValueError, match="student labels"):
        agreement(None, teacher, held, student_labels=["positive"])
    texts = [e.text for e in unl]
    k = TAX.labels("facets").index("Service-Erfahrung")
    want = teacher.predict(texts)["facets"][:, k]
    assert want[:len(POS)].mean() > want[len(POS):2 * len(POS)].mean() + 0.3  # the teacher separates them
    got = model.predict_features(model.features(texts), ["facets:Service-Erfahrung"])["facets:Service-Erfahrung"][:, 1]
    assert np.corrcoef(want, got)[0, 1] > 0.5, (want.round(2), got.round(2))
    card = (tmp_path / "student" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "## Distillation" in card and "tiny-teacher t" in card
    r = Tagger(model, TAX)(POS[0])
    assert r["sentiment"]["label"] == "positive"


def test_distill_all_also_fills_the_labelled_texts_missing_tasks(teacher, tmp_path):
    """``distill_all`` (``cxnlp train --distill --distill-all``): the gold-labelled training texts get the teacher's
    probabilities for the tasks they have no gold label for; their gold sentiment stays; held-out texts get none."""
    from cxnlp.classify.adapt import unlabelled_examples
    from cxnlp.classify.train import train_model

    def gold():
        return [Example(text=t, corpus="tiny", split="train" if i % 5 else "test", sentiment=lab)
                for lab, texts in (("positive", POS), ("negative", NEG), ("neutral", NEU))
                for i, t in enumerate(texts * 3)]

    counts = {}
    for flag in (False, True):
        exs = gold()
        model, _ = train_model(tmp_path / f"s{flag}", TAX, extra=exs, use_embeddings=False, version="s",
                               teacher=teacher, unlabelled=unlabelled_examples(POS + NEG), evaluate=False,
                               distill_all=flag)
        counts[flag] = model.meta["distillation"]["soft_labelled_texts"]
        train = [e for e in exs if e.split == "train"]
        assert all((e.soft is not None) == flag for e in train)
        assert all(e.soft is None for e in exs if e.split != "train")
        if flag:
            assert all("sentiment" not in e.soft and "facets" in e.soft for e in train)
            # touchpoints and emotions: the teacher is the weaker model there, so the student keeps gold only
            assert not any({"touchpoints", "emotions"} & set(e.soft) for e in train)
    assert counts[False] == len(unlabelled_examples(POS + NEG))
    assert counts[True] == counts[False] + sum(e.split == "train" for e in gold())


def test_teacher_sentiment_over_gold_keeps_the_other_soft_labels(teacher):
    from cxnlp.classify.adapt import attach_soft_labels

    gold = Example(text=POS[0], corpus="sb10k", split="train", sentiment="positive", soft={"facets": [0.5]})
    assert attach_soft_labels(teacher, [gold], tasks=("sentiment",), over_gold=True) == 1
    assert gold.sentiment == "positive" and gold.soft["facets"] == [0.5]
    assert abs(sum(gold.soft["sentiment"]) - 1) < 1e-3 and gold.soft["sentiment"][2] > gold.soft["sentiment"][0]


def test_gold_share_splits_a_texts_weight_between_gold_and_teacher():
    from cxnlp.classify.train import build_targets

    e = Example(text="x", corpus="sb10k", split="train", sentiment="positive", soft={"sentiment": [0.6, 0.39, 0.01]})
    plain = Example(text="y", corpus="sb10k", split="train", sentiment="negative")
    for share in (1.0, 0.5, 0.0):
        _, _, rows, ys, ws = build_targets([e, plain], [], TAX, 2, gold_share=share)["sentiment"]
        mine = {(int(y)): float(w) for r, y, w in zip(rows, ys, ws) if r == 0 and w > 0}
        # gold keeps its share, the teacher's 0.6 / 0.39 get the rest (its 0.01 is below the 0.02 cut)
        assert mine.get(2, 0.0) == pytest.approx(share)
        assert mine.get(0, 0.0) == pytest.approx(0.6 * (1 - share))
        assert mine.get(1, 0.0) == pytest.approx(0.39 * (1 - share))
        assert [(int(y), float(w)) for r, y, w in zip(rows, ys, ws) if r == 1] == [(0, 1.0)]  # no teacher: unchanged


def test_germeval2017_gold_sentiment_weighs_more_than_other_public_sets(monkeypatch):
    """The recipe's SENTIMENT_CORPUS_WEIGHT multiplies a public corpus's gold sentiment rows and the teacher's rows of
    those texts alike (own texts keep OWN_WEIGHT); changing the table changes the weights."""
    from cxnlp.classify import train
    from cxnlp.classify.train import OWN_WEIGHT, SENTIMENT_CORPUS_WEIGHT, build_targets

    docs = [Example(text=c, corpus=c, split="train", sentiment="negative", soft={"sentiment": [0.5, 0.5, 0.0]})
            for c in ("germeval2017", "sb10k", "cx_reviews")]
    docs[2].soft = None  # own texts never get the teacher's sentiment over their gold

    def weights():
        _, _, rows, _, ws = build_targets(docs, [], TAX, len(docs), gold_share=0.5)["sentiment"]
        return [float(ws[rows == i].sum()) for i in range(len(docs))]

    assert SENTIMENT_CORPUS_WEIGHT.get("germeval2017", 1.0) > 1.0
    assert weights() == pytest.approx([SENTIMENT_CORPUS_WEIGHT["germeval2017"], 1.0, OWN_WEIGHT])
    monkeypatch.setattr(train, "SENTIMENT_CORPUS_WEIGHT", {"sb10k": 4.0})
    assert weights() == pytest.approx([1.0, 4.0, OWN_WEIGHT])


def test_public_gold_texts_learn_from_the_teachers_sentiment(teacher, tmp_path):
    """Gold labels that the teacher contradicts: public-set texts whose gold says positive while the teacher reads
    them as neutral. Gold only (share 1) keeps the student on the gold label, teacher only (share 0) moves it to
    neutral; own-set texts never get the teacher's sentiment."""
    from cxnlp.classify.train import train_model

    def data():
        exs = [Example(text=t, corpus="sb10k", split="train", sentiment="positive") for t in NEU * 4]
        exs += [Example(text=t, corpus="sb10k", split="train", sentiment="negative") for t in NEG * 4]
        exs += [Example(text=t, corpus="cx_reviews", split="train", sentiment="positive") for t in POS * 4]
        return exs

    neutral = {}
    for share in (1.0, 0.0):
        exs = data()
        model, _ = train_model(tmp_path / f"s{share}", TAX, extra=exs, use_embeddings=False, version="s",
                               teacher=teacher, evaluate=False, gold_share=share)
        d = model.meta["distillation"]
        assert d["gold_share"] == share
        assert d["gold_texts_with_teacher_sentiment"] == (0 if share == 1.0 else len(NEU + NEG) * 4)
        assert all((e.soft is not None) == (share < 1.0 and e.corpus == "sb10k") for e in exs)
        neutral[share] = model.predict_features(model.features(NEU), ["sentiment"])["sentiment"][:, 1].mean()
    assert neutral[1.0] < 0.5 < neutral[0.0], neutral
    with pytest.raises(ValueError, match="gold_share"):
        train_model(tmp_path / "bad", TAX, extra=data(), use_embeddings=False, teacher=teacher, gold_share=1.5)


@pytest.mark.parametrize("extra, want", [([], (False, None)), (["--distill-all"], (True, None)),
                                         (["--gold-share", "0.25"], (False, 0.25)),
                                         (["--no-teacher-cache"], (False, None)),
                                         (["--teacher-cache", "mine"], (False, None)),
                                         (["--no-lexicon"], (False, None))])
def test_cli_distill_options_reach_training(teacher, monkeypatch, tmp_path, extra, want):
    import cxnlp.classify.e5model as e5model
    import cxnlp.classify.train as train
    from cxnlp.cli import main

    seen = {}

    class Stop(Exception):
        pass

    def fake_train(out, taxonomy, **kw):
        seen.update(kw)
        raise Stop

    monkeypatch.setattr(e5model.E5Classifier, "load", classmethod(lambda cls, d, device=None: teacher))
    monkeypatch.setattr(train, "train_model", fake_train)
    monkeypatch.setenv("CXNLP_CACHE", str(tmp_path / "cache"))
    extra = [str(tmp_path / x) if x == "mine" else x for x in extra]
    with pytest.raises(Stop):
        main(["train", "--distill", "--no-own", "--out", str(tmp_path / "m"), *extra])
    if "--no-teacher-cache" in extra:
        assert seen["teacher"] is teacher
    else:  # the teacher answers through its cache: by default under $CXNLP_CACHE/teacher
        from cxnlp.classify.teacher_cache import CachedTeacher

        home = tmp_path / ("mine" if "--teacher-cache" in extra else "cache/teacher")
        assert isinstance(seen["teacher"], CachedTeacher) and seen["teacher"].teacher is teacher
        assert seen["teacher"].path.parent == home
    assert len(seen["unlabelled"]) > 100
    assert (seen["distill_all"], seen.get("gold_share")) == want
    assert seen.get("teacher_lexicon", True) is ("--no-lexicon" not in extra)


def test_cli_distill_reads_unlabelled_folders(teacher, monkeypatch, tmp_path, capsys):
    import json

    import cxnlp.classify.e5model as e5model
    import cxnlp.classify.train as train
    from cxnlp.cli import main

    seen = {}

    class Stop(Exception):
        pass

    def fake_train(out, taxonomy, **kw):
        seen["extra"] = kw["extra"]
        seen[len(seen) - 1] = [e.text for e in kw["unlabelled"]]
        raise Stop

    monkeypatch.setattr(e5model.E5Classifier, "load", classmethod(lambda cls, d, device=None: teacher))
    monkeypatch.setattr(train, "train_model", fake_train)
    mine = tmp_path / "exports"
    mine.mkdir()
    ours = ["Der Staubsauger ist leiser als gedacht, aber der Akku hält nur zwanzig Minuten.",
            "Lieferung kam zwei Tage zu spät, Ware selbst einwandfrei."]
    (mine / "a.jsonl").write_text("".join(json.dumps({"id": str(i), "text": t}, ensure_ascii=False) + "\n"
                                          for i, t in enumerate(ours)), encoding="utf-8")
    (mine / "b.csv").write_text("id;Kommentar\n9;Gerne wieder, alles bestens.\n", encoding="utf-8")
    for extra in ([], ["--unlabelled", str(mine)]):
        with pytest.raises(Stop):
            main(["train", "--distill", "--no-own", "--out", str(tmp_path / "m"), *extra])
    before, after = seen[0], seen[1]
    assert not set(ours) & set(before)
    assert set(after) - set(before) == set(ours) | {"Gerne wieder, alles bestens."}
    # the training part of the shipped rated reviews is read by default; their held-out part never
    from cxnlp.classify.data import load_rated

    rated = load_rated(REPO / "data" / "rated")
    assert {e.text.strip() for e in rated if e.split == "train"} <= set(before)
    assert not {e.text.strip() for e in rated if e.split != "train"} & set(before)
    # and so is the shipped unlabelled feedback (data/unlabelled), every line of it
    from cxnlp.classify.adapt import sample_texts

    shipped = {t.strip() for t in sample_texts(REPO / "data" / "unlabelled")}
    assert len(shipped) > 5000 and shipped <= set(before)
    # the shipped product reviews with stars of data/stars_test only score the model: every one of them is a held-out
    # example (cx_stars_test), none is given to the teacher
    stars = {t for f in (REPO / "data" / "stars_test").glob("*.jsonl") for t in _jsonl_texts(f)}
    held = [e for e in seen["extra"] if e.corpus == "cx_stars_test"]
    assert len(stars) > 1000 and {e.text for e in held} == stars and {e.split for e in held} == {"test"}
    assert not {t.strip() for t in stars} & (set(before) | set(after))
    assert main(["train", "--distill", "--unlabelled", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert main(["train", "--unlabelled", str(mine)]) == 2
    assert "use it with --distill" in capsys.readouterr().err


def test_cli_rejects_a_gold_share_outside_0_to_1(capsys):
    from cxnlp.cli import main

    assert main(["train", "--distill", "--gold-share", "2"]) == 2
    assert "--gold-share must be between 0 and 1" in capsys.readouterr().err


def test_rating_labels():
    from cxnlp.classify.adapt import rating_label

    assert rating_label(stars=1) == ("negative", 0.0)
    assert rating_label(stars=3)[0] == "neutral" and rating_label(stars=5) == ("positive", 1.0)
    assert rating_label(nps=6)[0] == "negative" and rating_label(nps=8)[0] == "neutral"
    assert rating_label(nps=9)[0] == "positive" and rating_label(csat=4)[0] == "positive"
    assert rating_label() == (None, None)
    assert rating_label(stars=2, nps=10)[0] == "negative"  # stars win when both are present


def test_from_ratings_uses_stored_stars_and_reports_before_after(project, tmp_path):
    import json

    from cxnlp.classify.adapt import ratings_examples
    from cxnlp.classify.tagger import Tagger
    from cxnlp.classify.train import train_model
    from cxnlp.config import load_settings, load_sources
    from cxnlp.runs import ingest_stage
    from cxnlp.store import open_store

    rows = []
    for i in range(60):
        for stars, texts in ((5, POS), (1, NEG), (3, NEU)):
            t = texts[i % len(texts)]
            rows.append({"id": f"r{i}-{stars}", "text": f"{t} (Bestellung {i})", "rating": stars,
                         "created_at": "2026-11-01T10:00:00Z"})
    (project / "data" / "reviews.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows),
                                                    encoding="utf-8")
    write_sources(project, """
        sources:
          shop:
            path: data/reviews.jsonl
            source: review
            columns: {id: id, text: text, created_at: created_at, rating_stars: rating}
    """)
    settings = load_settings(project)
    with open_store(settings) as store:
        stats = ingest_stage(store, settings, load_sources(project), "r1")
        assert stats["shop"]["stored"] + stats["shop"]["duplicates"] == len(rows)
        rated = ratings_examples(store)
    assert rated and {e.sentiment for e in rated} == {"positive", "negative", "neutral"}
    assert {(e.rating, e.sentiment) for e in rated} == {(5, "positive"), (1, "negative"), (3, "neutral")}
    assert {e.corpus for e in rated} == {"ratings"}
    held = [e for e in rated if e.split == "test"]
    assert 0 < len(held) < len(rated) / 2
    before = Tagger.from_config(REPO)
    model, _ = train_model(tmp_path / "adapted", TAX, use_embeddings=False, version="r", ratings=rated,
                           before_tagger=before)
    r = model.meta["ratings"]
    assert r["held_out"] == len(held) and r["train"] == len(rated) - len(held)
    assert set(r["before"]) >= {"micro_f1", "macro_f1", "spearman"} and r["after"]["n"] == len(held)
    assert r["after"]["micro_f1"] > 0.8  # the texts' wording predicts their stars
    card = (tmp_path / "adapted" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "Adapted to this company's ratings" in card and "| after |" in card and "| before |" in card
    assert np.isfinite(r["after"]["spearman"])


def test_rated_reviews_load_split_and_score_the_stars(tmp_path):
    import json

    from cxnlp.classify.data import load_rated
    from cxnlp.classify.evaluate import evaluate_docs

    shipped = load_rated(REPO / "data" / "rated")
    assert len(shipped) > 1500 and {e.rating for e in shipped} == {1, 2, 3, 4, 5}
    held = [e for e in shipped if e.split != "train"]
    assert 0.15 < len(held) / len(shipped) < 0.25  # the own set's 80/20 split by id
    assert load_rated(REPO / "data" / "rated")[0].split == shipped[0].split  # deterministic

    class Stars:  # a tagger whose score is the number of '*' in the text: ranks by construction
        taxonomy = TAX

        def tag_batch(self, texts):
            return [{"sentiment": {"label": "neutral", "scores": {"positive": t.count("*") / 10, "negative": 0.0}}}
                    for t in texts]

    rows = [{"id": f"r{i}", "text": "*" * (i % 5 + 1) + f" Text {i}", "rating": i % 5 + 1} for i in range(20)]
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    exs = load_rated(tmp_path)
    m = evaluate_docs(Stars(), exs)  # no sentiment label: only the stars are scored
    assert set(m) == {"rating_spearman", "rating_sentiment"}
    assert m["rating_spearman"] == {"n": 20, "spearman": 1.0}
    # the stars read as labels: 1-2 negative (8 texts), 3 neutral (4), 4-5 positive (8); 'neutral' every time
    assert m["rating_sentiment"]["gold_distribution"] == {"negative": 8, "neutral": 4, "positive": 8}
    assert m["rating_sentiment"]["micro_f1"] == 0.2
    assert m["rating_sentiment"]["confusion"] == [[0, 8, 0], [0, 4, 0], [0, 8, 0]]
    # overall and per file from one tagging pass: each text tagged once, the same figures as one by one
    from cxnlp.classify.evaluate import evaluate_doc_groups

    tagged: list[str] = []

    class Counting(Stars):
        def tag_batch(self, texts):
            tagged.extend(texts)
            return super().tag_batch(texts)

    halves = evaluate_doc_groups(Counting(), exs, lambda e: ("all", "low" if e.rating <= 2 else "high"))
    assert sorted(tagged) == sorted(e.text for e in exs) and list(halves) == ["all", "low", "high"]  # first appearance
    assert halves["all"] == m
    assert halves["low"] == evaluate_docs(Stars(), [e for e in exs if e.rating <= 2])
    assert evaluate_doc_groups(Counting(), exs, lambda e: ()) == {}
    # the caller's own tags of the examples: nothing is tagged again, the figures are the same
    tagged.clear()
    given = Stars().tag_batch([e.text for e in exs])
    assert evaluate_doc_groups(Counting(), exs, lambda e: ("all",), results=given)["all"] == m and tagged == []
    with pytest.raises(ValueError, match="results"):
        evaluate_doc_groups(Counting(), exs, lambda e: ("all",), results=given[:-1])
    reverse = [dict(r, rating=6 - r["rating"]) for r in rows]
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r) for r in reverse), encoding="utf-8")
    assert evaluate_docs(Stars(), load_rated(tmp_path))["rating_spearman"]["spearman"] == -1.0
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": "x", "text": "ok", "rating": 6}), encoding="utf-8")
    with pytest.raises(ValueError, match="b.jsonl line 1"):
        load_rated(tmp_path)


def test_distilled_sentences_become_soft_sentence_rows(teacher):
    from cxnlp.classify.adapt import GENERATED, unlabelled_examples
    from cxnlp.classify.train import build_targets, distilled_sentences

    docs = unlabelled_examples([POS[0] + " " + NEG[0], NEU[0]])  # two sentences; one sentence
    docs.append(Example(text=POS[1] + " " + NEG[1], corpus="sb10k", split="train", sentiment="neutral"))
    docs += unlabelled_examples([POS[2] + " " + NEG[2]], domain=GENERATED)  # a generated sample text
    sents = distilled_sentences(teacher, docs)
    # only the unlabelled text with two or more sentences that a person wrote
    assert [s.text for s in sents] == [POS[0], NEG[0]]
    assert all(s.corpus == "distill:sent" and s.sentiment is None for s in sents)
    direct = teacher.predict([POS[0], NEG[0]])["sentiment"]
    assert np.allclose([s.soft["sentiment"] for s in sents], direct, atol=1e-3)
    kind, classes, rows, ys, ws = build_targets(docs, sents, TAX, len(docs))["sentiment"]
    sent_rows = rows >= len(docs)
    # each sentence is spread over the classes by the teacher's probabilities (those of at least 0.02)
    for j, s in enumerate(sents):
        mine = rows == len(docs) + j
        assert mine.any() and abs(ws[mine].sum() - sum(p for p in s.soft["sentiment"] if p >= 0.02)) < 1e-6
    assert sent_rows.sum() >= 2


# -- the teacher's answers kept on disk (cxnlp.classify.teacher_cache) --------------------------------------
class Counted:
    """A teacher that records which texts it was asked about."""

    def __init__(self, teacher):
        self.teacher, self.asked = teacher, []

    def __getattr__(self, name):
        return getattr(self.teacher, name)

    def predict(self, texts, batch_size=None, batch_tokens=None):
        self.asked += list(texts)
        return self.teacher.predict(texts, batch_size, batch_tokens)


def test_cached_teacher_gives_the_teachers_answers_and_asks_only_about_new_texts(teacher, tmp_path):
    from cxnlp.classify.teacher_cache import CachedTeacher

    def same(got, want):  # the cache asks about each text once, so its batches differ: float32 sums differ in the
        return set(got) == set(want) and all(np.allclose(got[k], want[k], atol=1e-5) for k in want)  # last bits

    texts = [NEG[0], POS[0], NEU[0], POS[0], NEG[1]]  # one text twice
    want = teacher.predict(texts)
    first = CachedTeacher(Counted(teacher), tmp_path)
    got = first.predict(texts)
    assert same(got, want) and np.array_equal(got["sentiment"][1], got["sentiment"][3])
    assert {k: v.shape for k, v in got.items()} == {k: v.shape for k, v in want.items()}  # binary heads stay 1-D
    assert sorted(first.teacher.asked) == sorted(set(texts)) and (first.hits, first.misses) == (0, 4)
    # a later run (a new process: a new object on the same folder) asks only about the texts it has not seen
    later = CachedTeacher(Counted(teacher), tmp_path)
    more = [POS[1], NEG[0], POS[0]]
    got = later.predict(more)
    assert same(got, teacher.predict(more))
    assert later.teacher.asked == [POS[1]] and (later.hits, later.misses) == (2, 1)
    stored, again = later.predict([POS[0]]), first.predict([POS[0]])  # the stored figures, bit for bit
    assert all(np.array_equal(stored[k], again[k]) for k in want)
    assert later.name == teacher.name and later.specs is teacher.specs  # everything else is the teacher's
    assert later.predict([])["sentiment"].shape == (0, 3)


def test_cached_teacher_belongs_to_one_teacher_and_precision(teacher, tmp_path, monkeypatch):
    import copy

    from cxnlp.classify.teacher_cache import CachedTeacher, teacher_key

    other = copy.copy(teacher)
    other.meta = dict(teacher.meta, version="t2")
    assert teacher_key(other) != teacher_key(teacher)
    monkeypatch.setenv("CXNLP_CPU_PRECISION", "float32")
    fp32 = teacher_key(teacher)
    monkeypatch.setenv("CXNLP_CPU_PRECISION", "bfloat16")
    assert teacher_key(teacher) != fp32  # bfloat16 figures never answer a float32 run
    monkeypatch.setenv("CXNLP_CPU_PRECISION", "float32")
    CachedTeacher(teacher, tmp_path).predict([POS[0]])
    fresh = CachedTeacher(Counted(other), tmp_path)
    fresh.predict([POS[0]])
    assert fresh.teacher.asked == [POS[0]] and len(list(tmp_path.glob("*.sqlite"))) == 2


def test_an_unreadable_cache_costs_time_not_the_training(teacher, tmp_path, caplog):
    from cxnlp.classify.teacher_cache import CachedTeacher

    c = CachedTeacher(Counted(teacher), tmp_path)
    c.path.write_bytes(b"this is not a database" * 100)
    with caplog.at_level("WARNING"):
        got = c.predict([NEG[0], POS[0]])
    want = teacher.predict([NEG[0], POS[0]])
    assert all(np.array_equal(got[k], want[k]) for k in want) and c.teacher.asked == [NEG[0], POS[0]]  # same batch
    assert "cannot be read" in caplog.text and c.path.name in caplog.text


def test_an_interrupted_labelling_keeps_what_the_teacher_had_read(teacher, tmp_path):
    from cxnlp.classify.teacher_cache import CachedTeacher

    class Dies(Counted):
        def predict(self, texts, batch_size=None, batch_tokens=None):
            if self.asked:  # the second part: the training is stopped
                raise KeyboardInterrupt
            return super().predict(texts, batch_size, batch_tokens)

    texts = [NEG[0], POS[0], NEU[0], POS[1]]
    with pytest.raises(KeyboardInterrupt):
        CachedTeacher(Dies(teacher), tmp_path, part=2).predict(texts)
    again = CachedTeacher(Counted(teacher), tmp_path, part=2)
    got = again.predict(texts)
    assert again.teacher.asked == texts[2:] and (again.hits, again.misses) == (2, 2)
    assert np.allclose(got["sentiment"], teacher.predict(texts)["sentiment"], atol=1e-5)


def test_a_retraining_from_the_cache_gives_the_same_student(teacher, tmp_path):
    from cxnlp.classify.adapt import unlabelled_examples
    from cxnlp.classify.teacher_cache import CachedTeacher
    from cxnlp.classify.train import train_model

    def data():
        gold = [Example(text=t, corpus="sb10k", split="train" if i % 5 else "test", sentiment=lab)
                for lab, texts in (("positive", POS), ("negative", NEG), ("neutral", NEU))
                for i, t in enumerate(texts * 3)]
        return gold, unlabelled_examples([p + " Danke!" for p in POS] + [n + " Leider." for n in NEG] + NEU)

    models = []
    for run, t in enumerate((teacher, CachedTeacher(teacher, tmp_path / "c"), CachedTeacher(Counted(teacher),
                                                                                            tmp_path / "c"))):
        gold, unl = data()
        m, _ = train_model(tmp_path / f"s{run}", TAX, extra=gold, use_embeddings=False, version="s", teacher=t,
                           unlabelled=unl, seed=0)
        models.append(m)
    assert t.teacher.asked == [] and t.hits > 0  # the third training asked the teacher nothing
    a, b, c = (m.heads for m in models)
    assert (b.W != c.W).nnz == 0 and np.array_equal(b.b, c.b)  # the cached run is the first run, exactly
    # and the first cached run is the uncached one up to float32's last bits (batches of other texts)
    assert np.allclose(a.W.toarray(), b.W.toarray(), atol=2e-3) and np.allclose(a.b, b.b, atol=2e-3)
    assert models[1].meta["distillation"] == models[2].meta["distillation"]


def test_unlabelled_texts_hold_no_scored_text():
    """data/unlabelled (texts the teacher labels for the fast model) must not hold a text that a model is scored on:
    the student would learn the teacher's answer to it. Checked exactly (after whitespace and case) against every
    held-out text of the own set, the rated reviews and data/stars_test, file by file."""
    from cxnlp.classify.adapt import sample_texts
    from cxnlp.classify.data import load_own, load_rated

    def norm(t):
        return " ".join(t.lower().split())

    scored = {norm(e.text) for e in load_own(REPO / "data" / "labelled") if e.split != "train"}
    scored |= {norm(e.text) for e in load_rated(REPO / "data" / "rated") if e.split != "train"}
    scored |= {norm(e.text) for e in load_rated(REPO / "data" / "stars_test", test_share=1.0)}
    assert len(scored) > 2500
    files = sorted((REPO / "data" / "unlabelled").glob("*.jsonl"))
    assert len(files) >= 13
    for f in files:
        texts = {norm(t) for t in _jsonl_texts(f)}
        assert len(texts) > 300 and not texts & scored, f.name
    assert len(set(sample_texts(REPO / "data" / "unlabelled"))) > 5000


def test_unlabelled_readme_counts_its_files():
    """data/unlabelled/README.md names every file with its number of texts, and the total; the model card points
    there for the count. Both must match the files as shipped: a file added, grown or left out of the table fails."""
    import re

    folder = REPO / "data" / "unlabelled"
    readme = (folder / "README.md").read_text(encoding="utf-8")
    table = {m.group(1): int(m.group(2).replace(",", ""))
             for m in re.finditer(r"^\| `([\w.]+\.jsonl)` \|.*\| ([\d,]+) \| \d+ \|$", readme, re.M)}
    counted = {f.name: sum(1 for t in _jsonl_texts(f) if t.strip()) for f in sorted(folder.glob("*.jsonl"))}
    assert table == counted
    total = re.search(r"^([\d,]+) texts written for this project", readme, re.M)
    assert total and int(total.group(1).replace(",", "")) == sum(counted.values())


def _lexicon_data():
    from cxnlp.classify.adapt import unlabelled_examples

    gold = [Example(text=t, corpus="tiny", split="train" if i % 5 else "test", sentiment=lab)
            for lab, texts in (("positive", POS), ("negative", NEG), ("neutral", NEU)) for i, t in enumerate(texts * 2)]
    return gold, unlabelled_examples(POS + NEG + [p + " Danke!" for p in POS] + [n + " Leider." for n in NEG])


@pytest.fixture(scope="module")
def lex_student(teacher, tmp_path_factory):
    """A student trained with the teacher's word lexicon (the default with a teacher), saved."""
    from cxnlp.classify.train import train_model

    d = tmp_path_factory.mktemp("lex") / "model"
    gold, unl = _lexicon_data()
    model, _ = train_model(d, TAX, extra=gold, use_embeddings=False, version="s", teacher=teacher, unlabelled=unl,
                           evaluate=False)
    return d, model, [e.text for e in gold if e.split == "train"] + [e.text for e in unl]


def test_the_teacher_reads_the_training_words_into_the_students_lexicon(teacher, lex_student):
    from cxnlp.classify.features import SURFACE_NAMES
    from cxnlp.classify.lexicon import LEXICON_NAMES, lexicon_vocabulary

    _, model, train_texts = lex_student
    lex = model.featurizer.lexicon
    words, spelled = lexicon_vocabulary(train_texts, 2)
    assert lex.words == words and len(words) > 20 and "lieferung" in words
    classes = next(list(s.classes) for s in teacher.specs if s.name == "sentiment")
    p = teacher.predict(spelled)["sentiment"]
    want = p[:, [classes.index("negative"), classes.index("positive")]]
    assert np.allclose(lex.values, want, atol=1e-3)  # float16
    assert model.meta["features"]["lexicon_words"] == len(words)
    card = (lex_student[0] / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert f"p(positive) of {len(words):,} single words" in card and "surface signals, word lexicon)" in card
    # the eight figures are dense columns: the sentiment network reads them (and the linear logits, stacked)
    n_dense = len(model.featurizer.cue_keys) + len(SURFACE_NAMES) + len(LEXICON_NAMES)
    assert model.dense["sentiment"].n_inputs == n_dense + 3
    X = model.features(NEG[:2])
    assert np.allclose(model.dense_block(X)[:, n_dense - len(LEXICON_NAMES):], lex.features(NEG[:2]))


def test_a_model_with_a_lexicon_survives_save_and_load(lex_student, tmp_path):
    import shutil

    from cxnlp.classify.model import EmbeddedModel, ModelError

    d, model, _ = lex_student
    back = EmbeddedModel.load(d, TAX)
    assert back.featurizer.lexicon.words == model.featurizer.lexicon.words
    texts = POS + NEG + NEU + ["Völlig überteuert, nie wieder!"]
    for name, p in model.predict_features(model.features(texts)).items():
        # (the linear heads' weights are saved in float16, as the lexicon's values)
        assert np.allclose(p, back.predict_features(back.features(texts))[name], atol=1e-3), name
    for broken_file, breaks, match in (
            ("lexicon.npy", lambda p: p.unlink(), r"lexicon\.npy is corrupt \(missing\)"),
            ("lexicon_words.txt", lambda p: p.write_text(p.read_text(encoding="utf-8").rsplit("\n", 1)[0],
                                                         encoding="utf-8"), r"lexicon_words\.txt is corrupt"),
            ("lexicon.npy", lambda p: np.save(p, np.load(p)[::-1].copy()), "do not match")):
        broken = tmp_path / f"broken_{broken_file}_{match[:4]}"
        shutil.copytree(d, broken)
        breaks(broken / broken_file)
        with pytest.raises(ModelError, match=match):
            EmbeddedModel.load(broken, TAX)


def test_without_the_lexicon_the_student_has_none_and_no_stale_files(teacher, lex_student, tmp_path):
    import shutil

    from cxnlp.classify.model import EmbeddedModel
    from cxnlp.classify.train import train_model

    d, model, _ = lex_student
    again = tmp_path / "again"
    shutil.copytree(d, again)  # retrained in place, without the lexicon
    gold, unl = _lexicon_data()
    plain, _ = train_model(again, TAX, extra=gold, use_embeddings=False, version="s", teacher=teacher,
                           unlabelled=unl, evaluate=False, teacher_lexicon=False)
    assert plain.featurizer.lexicon is None and plain.meta["features"]["lexicon_words"] is None
    assert plain.featurizer.n_features == model.featurizer.n_features - 8
    assert not (again / "lexicon.npy").exists() and not (again / "lexicon_words.txt").exists()
    assert EmbeddedModel.load(again, TAX).featurizer.lexicon is None
