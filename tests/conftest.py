from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

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


# A tiny hand-written sentiment set shared by the training tests (test_train_and_cli, test_review).
POS = ["Super Service, sehr freundlich und schnell.", "Tolle Qualität, bin begeistert!", "Alles bestens, gerne wieder.",
       "Die Beratung war hervorragend.", "Schnelle Lieferung, top verpackt.", "Sehr zufrieden mit dem Kauf."]
NEG = ["Katastrophe, nie wieder bestelle ich hier.", "Die Ware kam kaputt an, sehr ärgerlich.",
       "Unfreundliches Personal und lange Wartezeit.", "Lieferung drei Wochen zu spät, miserabel.",
       "Schlechte Qualität, total enttäuscht.", "Der Support antwortet einfach nicht, frech."]
NEU = ["Ich habe am Montag bestellt.", "Wann öffnet die Filiale?", "Die Rechnung kam per Post.",
       "Bitte um Rückruf.", "Das Paket ist unterwegs.", "Ich habe eine Frage zur Rücksendung."]
