"""The sentiment head's dense network: it learns what a linear head cannot, honours soft-label weights, is stacked
on the linear head's out-of-fold logits and blended with its probabilities, survives save/load, and a missing or
broken file is a clear error."""
import json

import numpy as np
import pytest

from conftest import NEG, NEU, POS, REPO
from cxnlp.classify.model import (DenseHead, EmbeddedModel, ModelError, fit_dense_head, fit_linear_head,
                                  merge_dense_heads, out_of_fold_logits, stacked_inputs)
from cxnlp.classify.taxonomy import load_taxonomy
from cxnlp.classify.train import DENSE_MEMBERS, train_model
from cxnlp.cli import main

TAX = load_taxonomy(REPO / "configs" / "taxonomy.yaml")


def xor_data(n, seed):
    rng = np.random.default_rng(seed)
    D = rng.normal(size=(n, 6)).astype(np.float32)
    y = ((D[:, 0] > 0) ^ (D[:, 1] > 0)).astype(np.int64)  # no line separates the classes
    return D, y


def test_dense_head_learns_what_a_linear_head_cannot():
    from sklearn.linear_model import LogisticRegression

    D, y = xor_data(3000, 0)
    Dt, yt = xor_data(1000, 1)
    head = fit_dense_head(D, y, np.ones(len(y)), 2, 0.5, hidden=32, epochs=30, dropout=0.0, input_dropout=0.0)
    dense_acc = float((head.probs(Dt).argmax(1) == yt).mean())
    linear_acc = float((LogisticRegression().fit(D, y).predict(Dt) == yt).mean())
    assert dense_acc > 0.9 and linear_acc < 0.65, (dense_acc, linear_acc)
    p = head.probs(Dt)
    assert p.shape == (1000, 2) and np.allclose(p.sum(1), 1, atol=1e-5)


def test_dense_head_follows_the_weights_of_soft_label_rows():
    """One text as two rows, one per class, weighted 0.8 / 0.2 (a teacher's distribution): the network's
    probability for the text comes out near 0.8, and it is the same seeded run twice."""
    rng = np.random.default_rng(0)
    D = rng.normal(size=(200, 4)).astype(np.float32)
    D2 = np.vstack([D, D])
    y = np.r_[np.zeros(200, np.int64), np.ones(200, np.int64)]
    w = np.r_[np.full(200, 0.8), np.full(200, 0.2)]
    a = fit_dense_head(D2, y, w, 2, 0.3, hidden=16, epochs=100, lr=1e-2, seed=3)
    b = fit_dense_head(D2, y, w, 2, 0.3, hidden=16, epochs=100, lr=1e-2, seed=3)
    assert abs(float(a.probs(D)[:, 0].mean()) - 0.8) < 0.05
    assert np.array_equal(a.W1, b.W1) and np.array_equal(a.W2, b.W2)


def write_tiny(folder):
    folder.mkdir()
    rows = [{"id": f"d-{k}-{i}", "text": t, "sentiment": label,
             "sentences": [{"text": t, "sentiment": label, "type": "neither"}]}
            for k in range(4) for label, texts in (("positive", POS), ("negative", NEG), ("neutral", NEU))
            for i, t in enumerate(texts)]
    (folder / "tiny.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("dense")
    write_tiny(d / "labelled")
    model, _ = train_model(d / "model", TAX, own_dir=d / "labelled", use_embeddings=False, version="t",
                           evaluate=False, dense_blend=0.4)
    return d, model


def test_trained_sentiment_probabilities_blend_the_linear_and_the_dense_head(trained):
    d, model = trained
    head = model.dense["sentiment"]
    assert set(model.dense) == {"sentiment"} and head.blend == 0.4 and head.stack == 0.3
    meta = json.loads((d / "model" / "meta.json").read_text())
    assert meta["dense_heads"] == {"sentiment": {"blend": 0.4, "stack": 0.3, "hidden": head.W1.shape[1],
                                                 "members": DENSE_MEMBERS}}
    assert head.W1.shape[1] == 256 * DENSE_MEMBERS  # the shipped recipe's ensemble, merged into one layer
    card = (d / "model" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert f"{DENSE_MEMBERS} small networks (one hidden layer of 256 GELU units each" in card
    texts = POS[:3] + NEG[:3] + NEU[:2]
    X = model.features(texts)
    # the dense block: cue counts and surface signals here (no sentence embedding in this test model)
    D = X[:, model.featurizer.dense_start:].toarray()
    assert D.shape[1] + 3 == head.n_inputs  # then the linear head's three logits
    logits = model.heads.scores(X)
    rows = model.heads.heads["sentiment"].rows
    z = logits[:, rows] - logits[:, rows].mean(1, keepdims=True)
    linear = model.heads.probs(logits, "sentiment")
    got = model.predict_features(X, ["sentiment", "phase"])
    want = 0.6 * linear + 0.4 * head.probs(np.hstack([D, 0.3 * z]))
    assert np.allclose(got["sentiment"], want, atol=1e-6)
    assert not np.allclose(got["sentiment"], linear, atol=1e-3)  # the network does move the probabilities
    assert np.allclose(got["sentiment"].sum(1), 1, atol=1e-5)
    assert np.allclose(got["phase"], model.heads.probs(logits, "phase"))  # heads without a network: unchanged
    again = EmbeddedModel.load(d / "model", TAX)
    assert np.allclose(again.predict_features(again.features(texts), ["sentiment"])["sentiment"], got["sentiment"],
                       atol=2e-3)  # float16 storage of the linear weights; the network's are float32
    assert np.array_equal(again.dense["sentiment"].W1, head.W1) and again.dense["sentiment"].stack == 0.3


def test_by_default_the_stacked_network_gives_the_sentiment_probabilities(tmp_path, trained):
    d, _ = trained
    model, _ = train_model(tmp_path / "m", TAX, own_dir=d / "labelled", use_embeddings=False, version="t",
                           evaluate=False)
    head = model.dense["sentiment"]
    assert (head.blend, head.stack) == (1.0, 0.3)
    X = model.features(POS[:2] + NEG[:2])
    logits = model.heads.scores(X)
    rows = model.heads.heads["sentiment"].rows
    want = head.probs(head.inputs(X[:, model.featurizer.dense_start:].toarray(), logits[:, rows]))
    assert np.allclose(model.predict_features(X, ["sentiment"])["sentiment"], want)
    assert [int(i) for i in want.argmax(1)] == [2, 2, 0, 0]  # it learnt the tiny set's classes


def test_stacked_inputs_centre_the_logits():
    D = np.ones((2, 4), np.float32)
    z = np.array([[1.0, 2.0, 6.0], [0.0, 0.0, 3.0]], np.float32)
    got = stacked_inputs(D, z, 0.5)
    assert np.allclose(got[:, 4:], [[-1.0, -0.5, 1.5], [-0.5, -0.5, 1.0]])
    assert np.allclose(stacked_inputs(D, z + 7.0, 0.5), got)  # a shift of every logit changes nothing
    assert stacked_inputs(D, z, 0.0) is D


def test_out_of_fold_logits_never_see_their_own_row():
    """Each text has a feature of its own and a random label: a linear head fitted on all rows learns the labels by
    heart, the out-of-fold logits cannot (chance level); a feature that carries the label is learnt either way."""
    from scipy import sparse

    rng = np.random.default_rng(0)
    n = 300
    y = rng.integers(0, 3, n)
    own = sparse.identity(n, format="csr")
    rows = np.arange(n)
    args = (np.ones(n), "multiclass", ["a", "b", "c"], 10.0, None, 0)
    w, b = fit_linear_head(own, y, *args)
    assert ((own @ w.T + b).argmax(1) == y).mean() > 0.95
    oof = out_of_fold_logits(own, rows, y, *args)
    assert oof.shape == (n, 3) and (oof.argmax(1) == y).mean() < 0.45
    signal = sparse.hstack([own, sparse.csr_matrix(np.eye(3)[y] * 3.0)], format="csr")
    assert (out_of_fold_logits(signal, rows, y, *args).argmax(1) == y).mean() > 0.9


def test_dense_blend_zero_trains_the_linear_heads_only(tmp_path, trained):
    d, _ = trained
    model, _ = train_model(tmp_path / "m", TAX, own_dir=d / "labelled", use_embeddings=False, version="t",
                           evaluate=False, dense_blend=0.0)
    assert model.dense == {} and not (tmp_path / "m" / "dense_heads.npz").exists()
    assert "dense_heads" not in json.loads((tmp_path / "m" / "meta.json").read_text())
    X = model.features(POS[:2])
    assert np.allclose(model.predict_features(X, ["sentiment"])["sentiment"],
                       model.heads.probs(model.heads.scores(X), "sentiment"))
    with pytest.raises(ValueError, match="dense_blend"):
        train_model(tmp_path / "bad", TAX, own_dir=d / "labelled", use_embeddings=False, dense_blend=1.5)


def test_a_missing_or_misfitting_dense_file_names_the_file(tmp_path, trained):
    import shutil

    d, model = trained
    broken = tmp_path / "cxnlp-de-small"
    shutil.copytree(d / "model", broken)
    (broken / "dense_heads.npz").unlink()
    with pytest.raises(ModelError, match=r"dense_heads\.npz is missing.*git checkout -- models/cxnlp-de-small"):
        EmbeddedModel.load(broken, TAX)
    h = model.dense["sentiment"]
    np.savez_compressed(broken / "dense_heads.npz", **{"sentiment.W1": h.W1[:-1], "sentiment.b1": h.b1,
                                                        "sentiment.W2": h.W2, "sentiment.b2": h.b2})
    with pytest.raises(ModelError, match=r"dense_heads\.npz is corrupt .*does not fit"):
        EmbeddedModel.load(broken, TAX)
    (broken / "dense_heads.npz").write_bytes(b"not a zip file")
    with pytest.raises(ModelError, match=r"dense_heads\.npz is corrupt"):
        EmbeddedModel.load(broken, TAX)


def test_a_model_without_dense_heads_still_loads(tmp_path, trained):
    """Model directories written before dense heads existed (no meta entry, no file) load as linear models."""
    d, _ = trained
    import shutil

    old = tmp_path / "old"
    shutil.copytree(d / "model", old)
    meta = json.loads((old / "meta.json").read_text())
    del meta["dense_heads"]
    (old / "meta.json").write_text(json.dumps(meta))
    (old / "dense_heads.npz").unlink()
    from cxnlp.classify.model import _digest, MODEL_FILES

    needed = sorted(n for n in MODEL_FILES if n != "checksums.json")
    (old / "checksums.json").write_text(json.dumps({"sha256": _digest(old, needed)}))
    m = EmbeddedModel.load(old, TAX)
    assert m.dense == {}


def test_dense_head_forward_matches_torch():
    import torch

    rng = np.random.default_rng(0)
    W1, b1 = rng.normal(size=(5, 7)).astype(np.float32), rng.normal(size=7).astype(np.float32)
    W2, b2 = rng.normal(size=(7, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)
    D = rng.normal(size=(4, 5)).astype(np.float32)
    want = torch.nn.functional.gelu(torch.tensor(D) @ torch.tensor(W1) + torch.tensor(b1)) @ torch.tensor(W2) \
        + torch.tensor(b2)
    assert np.allclose(DenseHead(W1, b1, W2, b2, 0.5).logits(D), want.numpy(), atol=1e-5)


def test_cli_rejects_a_dense_blend_outside_0_to_1(capsys):
    assert main(["train", "--dense-blend", "1.5"]) == 2
    assert "--dense-blend must be between 0 and 1" in capsys.readouterr().err


def test_merged_heads_average_their_members_logits():
    rng = np.random.default_rng(1)
    heads = [DenseHead(rng.normal(size=(5, h)), rng.normal(size=h), rng.normal(size=(h, 3)), rng.normal(size=3), 1.0,
                       0.3) for h in (4, 7, 4)]
    D = rng.normal(size=(6, 5)).astype(np.float32)
    merged = merge_dense_heads(heads)
    assert merged.W1.shape == (5, 15) and merged.members == 3 and (merged.blend, merged.stack) == (1.0, 0.3)
    assert np.allclose(merged.logits(D), np.mean([h.logits(D) for h in heads], axis=0), atol=1e-5)
    assert merge_dense_heads(heads[:1]).members == 1
    four = merge_dense_heads([merged, heads[0]])  # a merged head counts with its members: the mean of all four
    assert four.members == 4
    assert np.allclose(four.logits(D), np.mean([h.logits(D) for h in heads + heads[:1]], axis=0), atol=1e-5)
    with pytest.raises(ValueError, match="same inputs"):
        merge_dense_heads([heads[0], DenseHead(heads[0].W1, heads[0].b1, heads[0].W2, heads[0].b2, 0.5, 0.3)])
    with pytest.raises(ValueError, match="no dense heads"):
        merge_dense_heads([])


def test_an_ensemble_trains_its_members_side_by_side():
    """Three networks trained at once: each learns XOR on its own (its own weights, row order and dropout), they
    differ, the merged head's logits are their mean, and the same seed gives the same ensemble."""
    D, y = xor_data(2000, 0)
    Dt, yt = xor_data(500, 1)
    kw = dict(hidden=16, epochs=30, dropout=0.0, input_dropout=0.0, seed=2)
    ens = fit_dense_head(D, y, np.ones(len(y)), 2, 1.0, members=3, **kw)
    assert ens.members == 3 and ens.W1.shape == (6, 48) and ens.W2.shape == (48, 2)
    parts = [DenseHead(ens.W1[:, 16 * j:16 * (j + 1)], ens.b1[16 * j:16 * (j + 1)], ens.W2[16 * j:16 * (j + 1)] * 3,
                       ens.b2, 1.0) for j in range(3)]
    # each member's own output layer is its stored block times 3; the shared bias is the members' mean, so the
    # members' logits are compared after removing it
    accs = [float((p.probs(Dt).argmax(1) == yt).mean()) for p in parts]
    assert min(accs) > 0.85, accs  # every member learnt on its own
    assert not np.allclose(parts[0].W1, parts[1].W1)
    member_logits = [p.logits(Dt) - ens.b2 for p in parts]
    assert np.allclose(ens.logits(Dt) - ens.b2, np.mean(member_logits, axis=0), atol=1e-4)
    again = fit_dense_head(D, y, np.ones(len(y)), 2, 1.0, members=3, **kw)
    assert np.array_equal(again.W1, ens.W1) and np.array_equal(again.W2, ens.W2)


def test_an_ensemble_head_survives_save_and_load(tmp_path, trained):
    import shutil

    d, model = trained
    h = model.dense["sentiment"]
    other = DenseHead(h.W1 * 0.5, h.b1, h.W2, h.b2 + 0.1, h.blend, h.stack, members=h.members)
    model.dense["sentiment"] = merge_dense_heads([h, other])
    try:
        model.save(tmp_path / "ens")
    finally:
        model.dense["sentiment"] = h
    meta = json.loads((tmp_path / "ens" / "meta.json").read_text())
    assert meta["dense_heads"]["sentiment"]["members"] == 2 * h.members
    assert meta["dense_heads"]["sentiment"]["hidden"] == 2 * h.W1.shape[1]
    again = EmbeddedModel.load(tmp_path / "ens", TAX)
    assert again.dense["sentiment"].members == 2 * h.members
    X = again.features(POS[:2] + NEG[:2])
    D = X[:, again.featurizer.dense_start:].toarray()
    z = again.heads.scores(X)[:, again.heads.heads["sentiment"].rows]
    want = np.mean([m.logits(m.inputs(D, z)) for m in (h, other)], axis=0)
    assert np.allclose(again.dense["sentiment"].logits(again.dense["sentiment"].inputs(D, z)), want, atol=1e-4)
    from cxnlp.classify.model import _digest, MODEL_FILES

    broken = tmp_path / "broken"
    shutil.copytree(tmp_path / "ens", broken)
    meta["dense_heads"]["sentiment"]["members"] = 0
    (broken / "meta.json").write_text(json.dumps(meta))
    needed = sorted(n for n in MODEL_FILES if n != "checksums.json")
    (broken / "checksums.json").write_text(json.dumps({"sha256": _digest(broken, needed)}))
    with pytest.raises(ModelError, match="members 0, not a count"):
        EmbeddedModel.load(broken, TAX)
