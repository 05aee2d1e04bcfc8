"""The transformers backend on a tiny model this test builds itself (random weights, real tokenizer files)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    d = tmp_path_factory.mktemp("tiny-bert")
    corpus = ["Die Lieferung war schnell und gut", "Der Service war schlecht und unfreundlich",
              "Ich bin zufrieden mit der Qualität", "Nie wieder bestelle ich hier", "Das Paket kam nicht an"] * 20
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(corpus, trainers.WordPieceTrainer(
        vocab_size=200, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]")
    fast.save_pretrained(d)
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=fast.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128, num_labels=3,
                     id2label={0: "positive", 1: "negative", 2: "neutral"},
                     label2id={"positive": 0, "negative": 1, "neutral": 2})
    BertForSequenceClassification(cfg).eval().save_pretrained(d)
    return d


def test_loads_from_local_folder_and_maps_labels(tiny_model):
    from cxnlp.classify.hf import HFSentiment

    m = HFSentiment(str(tiny_model), device="cpu", batch_size=2)
    assert m.index == [1, 2, 0]  # negative, neutral, positive -> the model's own output order
    p = m.predict(["Die Lieferung war schnell", "Nie wieder", "", "Der Service war schlecht und unfreundlich " * 40])
    assert p.shape == (4, 3)
    assert np.allclose(p.sum(1), 1.0, atol=1e-5)


def test_length_sorted_batches_keep_input_order(tiny_model):
    from cxnlp.classify.hf import HFSentiment

    m = HFSentiment(str(tiny_model), device="cpu", batch_size=3)
    texts = ["kurz", "Das Paket kam nicht an und niemand hilft mir weiter", "gut", "Ich bin zufrieden mit der Qualität"]
    together = m.predict(texts)
    alone = np.vstack([m.predict([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-5)


def test_unmappable_labels_raise_clear_error():
    from cxnlp.classify.hf import HFSentiment

    with pytest.raises(ValueError, match="label_map"):
        HFSentiment._map_labels({0: "a", 1: "b", 2: "c", 3: "d"}, {})
    assert HFSentiment._map_labels({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, {}) == [0, 1, 2]
    assert HFSentiment._map_labels({0: "schlecht", 1: "gut"}, {"schlecht": "negative", "gut": "positive"}) == [0, None, 1]


def test_hf_tagger_keeps_the_output_contract(tiny_model):
    from cxnlp.classify.hf import HFSentiment, HFTagger
    from cxnlp.classify.tagger import Tagger

    t = HFTagger(Tagger.from_config(), HFSentiment(str(tiny_model), device="cpu"))
    r = t("Die Lieferung war schnell. Der Service war schlecht!")
    assert r["sentiment"]["label"] in ("negative", "neutral", "positive")
    assert set(r["sentiment"]["scores"]) == {"negative", "neutral", "positive"}
    assert len(r["sentences"]) == 2 and all("sentiment" in s for s in r["sentences"])
    assert r["model"]["name"] == tiny_model.name
    assert t.batch_size == t.base.batch_size  # what `cxnlp tag` hands it per call


def test_zero_shot_nli_scores_every_label(tmp_path):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    from cxnlp.classify.hf import HFZeroShot

    corpus = ["Dieser Text handelt von Lieferung", "Die Hotline war nicht erreichbar", "Paket kam spät"] * 10
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(corpus, trainers.WordPieceTrainer(
        vocab_size=120, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                            sep_token="[SEP]", mask_token="[MASK]").save_pretrained(tmp_path)
    cfg = BertConfig(vocab_size=120, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                     num_labels=3, id2label={0: "entailment", 1: "neutral", 2: "contradiction"},
                     label2id={"entailment": 0, "neutral": 1, "contradiction": 2})
    BertForSequenceClassification(cfg).save_pretrained(tmp_path)
    zs = HFZeroShot(str(tmp_path), device="cpu", batch_size=2)
    res = zs.classify(["Paket kam spät", "Die Hotline war nicht erreichbar", ""], ["Lieferung", "Hotline", "App"])
    assert len(res) == 3
    for r in res:
        assert set(r) == {"Lieferung", "Hotline", "App"} and all(0.0 <= v <= 1.0 for v in r.values())
    from cxnlp.classify.hf import HFTagger
    from cxnlp.classify.tagger import Tagger

    t = HFTagger(Tagger.from_config(), None, zs, zero_shot_threshold=0.0)
    r = t("Paket kam spät. Die Hotline war nicht erreichbar.")
    assert {f["label"] for f in r["touchpoints"]} == set(Tagger.from_config().taxonomy.labels("touchpoints"))
    assert all(f["source"] == "zero-shot" for f in r["facets"] + r["touchpoints"])
    assert "zero-shot" in r["model"]["taxonomy_model"] and r["sentiment"]["label"] in ("negative", "neutral", "positive")
