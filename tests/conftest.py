from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")  # as `cxnlp run` sets it

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with its own settings (store and report under tmp) and an empty sources.yaml."""
    (tmp_path / "configs").mkdir()
    settings = (REPO / "configs" / "settings.yaml").read_text(encoding="utf-8")
    (tmp_path / "configs" / "settings.yaml").write_text(settings, encoding="utf-8")
    (tmp_path / "configs" / "sources.yaml").write_text("sources: {}\n", encoding="utf-8")
    (tmp_path / "data").mkdir()
    return tmp_path


def write_sources(root: Path, yaml_text: str) -> None:
    (root / "configs" / "sources.yaml").write_text(textwrap.dedent(yaml_text), encoding="utf-8")


# sources.yaml for slices of the shipped sample exports under a project's data/ (shop*.csv, social*.jsonl,
# survey*.parquet: later exports with the same prefix belong to the same source)
SAMPLE_SOURCES = """
sources:
  shop:
    path: data/shop*.csv
    source: review
    channel: webshop
    timezone: Europe/Berlin
    date_format: "%d.%m.%Y %H:%M"
    delimiter: ";"
    columns: {id: Bewertungs-ID, text: Bewertungstext, title: Titel, created_at: Datum, rating_stars: Sterne,
              author: Kundenname}
  social:
    path: data/social*.jsonl
    format: jsonl
    source: social
    columns: {id: post_id, text: text, created_at: created_at, channel: platform, author: user, likes: likes,
              shares: shares, replies: replies, thread_id: in_reply_to}
  survey:
    path: data/survey*.parquet
    format: parquet
    source: review
    columns: {id: response_id, text: comment, created_at: submitted, rating_nps: nps, channel: touchpoint}
"""


# A tiny hand-written sentiment set shared by the training tests (test_train_and_cli, test_review).
POS = ["Super Service, sehr freundlich und schnell.", "Tolle Qualität, bin begeistert!", "Alles bestens, gerne wieder.",
       "Die Beratung war hervorragend.", "Schnelle Lieferung, top verpackt.", "Sehr zufrieden mit dem Kauf."]
NEG = ["Katastrophe, nie wieder bestelle ich hier.", "Die Ware kam kaputt an, sehr ärgerlich.",
       "Unfreundliches Personal und lange Wartezeit.", "Lieferung drei Wochen zu spät, miserabel.",
       "Schlechte Qualität, total enttäuscht.", "Der Support antwortet einfach nicht, frech."]
NEU = ["Ich habe am Montag bestellt.", "Wann öffnet die Filiale?", "Die Rechnung kam per Post.",
       "Bitte um Rückruf.", "Das Paket ist unterwegs.", "Ich habe eine Frage zur Rücksendung."]


@pytest.fixture(scope="session")
def tiny_bert_base(tmp_path_factory):
    """A tiny BERT encoder with its own WordPiece tokenizer (random weights), standing in for e5-small."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    d = tmp_path_factory.mktemp("tiny-e5")
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(["passage: " + t for t in POS + NEG + NEU] * 10, trainers.WordPieceTrainer(
        vocab_size=300, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]")
    fast.save_pretrained(d)
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=fast.vocab_size, hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128)
    BertModel(cfg, add_pooling_layer=False).eval().save_pretrained(d)
    return d


@pytest.fixture(scope="session")
def sample_texts() -> list[str]:
    """Texts of the shipped sample exports (reviews, posts, tickets): real-looking German feedback with
    emoji, typos and dialect, written by this project."""
    import json

    texts: list[str] = []
    for name, field in (("social_posts.jsonl", "text"), ("app_reviews.jsonl", "content")):
        lines = (REPO / "data" / "sample" / name).read_text(encoding="utf-8", errors="replace").splitlines()
        for line in lines[:300]:
            try:
                t = json.loads(line).get(field)
            except (ValueError, AttributeError):  # the sample's deliberately broken rows
                continue
            if isinstance(t, str):
                texts.append(t)
    return texts
