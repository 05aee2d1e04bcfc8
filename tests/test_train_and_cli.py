"""Training on a small labelled set (the real training code, no embeddings for speed), save/load round trip,
`cxnlp tag` and `cxnlp evaluate` on files, and the flow's tag stage on a store."""
import csv
import json

import numpy as np
import pytest

from conftest import NEG, NEU, POS, REPO
from cxnlp.classify.model import EmbeddedModel
from cxnlp.classify.tagger import Tagger
from cxnlp.classify.taxonomy import load_taxonomy
from cxnlp.classify.train import train_model
from cxnlp.cli import main



def write_labelled(folder, n_rep=4):
    folder.mkdir()
    rows = []
    k = 0
    for _ in range(n_rep):
        for label, texts in (("positive", POS), ("negative", NEG), ("neutral", NEU)):
            for t in texts:
                k += 1
                tps = ["Lieferung/Versand"] if ("Liefer" in t or "Paket" in t) else []
                rows.append({"id": f"t-{k}", "text": t, "sentences": [{"text": t, "sentiment": label,
                             "type": "erfahrung" if label != "neutral" else "neither"}], "sentiment": label,
                             "emotions": {"Ärger": 0.8} if label == "negative" else {}, "facets": [],
                             "sustainability": False, "touchpoints": tps, "phase": "Kauf", "relevant": True,
                             "offensive": False, "rating": {"positive": 5, "neutral": 3, "negative": 1}[label]})
    (folder / "tiny.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    return rows


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny")
    write_labelled(d / "labelled")
    tax = load_taxonomy(REPO / "configs" / "taxonomy.yaml")
    model, metrics = train_model(d / "model", tax, own_dir=d / "labelled", use_embeddings=False, version="test")
    return d, tax, model, metrics


def test_training_learns_and_reports_heldout_metrics(tiny):
    d, tax, model, metrics = tiny
    t = Tagger(model, tax)
    assert t("Sehr zufrieden, tolle Beratung!")["sentiment"]["label"] == "positive"
    assert t("Kaputt und unfreundlich, nie wieder.")["sentiment"]["label"] == "negative"
    assert metrics["tiny"]["sentiment"]["n"] > 0  # deterministic 80/20 split by id
    assert "confusion" in metrics["tiny"]["sentiment"]


def test_saved_model_reloads_to_the_same_predictions(tiny):
    d, tax, model, _ = tiny
    again = EmbeddedModel.load(d / "model", tax)
    texts = POS[:2] + NEG[:2] + ["Wann kommt das Paket?"]
    a = model.predict_features(model.features(texts))
    b = again.predict_features(again.features(texts))
    for head in a:
        assert np.allclose(a[head], b[head], atol=2e-3), head  # float16 storage of weights
    meta = json.loads((d / "model" / "meta.json").read_text())
    assert meta["version"] == "test" and meta["training_docs"] == {"tiny": meta["training_docs"]["tiny"]}


def test_cli_tag_jsonl_one_row_per_input(tmp_path):
    src = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": "a", "text": "Die Lieferung war super schnell!", "rating": 5}),
             json.dumps({"id": 7, "text": "Nie wieder, totaler Reinfall.", "created_at": "2026-11-01"}),
             '{"id": "kaputt", "text": ',
             json.dumps({"id": "leer", "text": ""}),
             json.dumps({"id": "en", "text": "The product arrived broken and support never answered."})]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["--root", str(REPO), "tag", str(src), "-o", str(out)]) == 0
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 5
    assert [r["id"] for r in rows[:2]] == ["a", 7] and rows[0]["rating"] == 5
    assert rows[0]["sentiment"]["label"] == "positive" and rows[1]["sentiment"]["label"] == "negative"
    assert rows[2]["error"].startswith("malformed_row") and rows[2]["row_number"] == 3
    assert rows[3]["note"] == "empty text"
    assert rows[4]["language"] == "en"
    for r in (rows[0], rows[1], rows[4]):
        assert set(r["sentiment"]["scores"]) == {"negative", "neutral", "positive"}


def test_cli_tag_keeps_the_loaded_tagger_out_of_the_cycle_collectors_passes(tmp_path, monkeypatch):
    import gc

    from cxnlp.classify import io as tag_io

    seen = []
    real = tag_io.tag_file

    def spy(tagger, *a, **k):
        seen.append(gc.get_freeze_count())
        return real(tagger, *a, **k)

    monkeypatch.setattr(tag_io, "tag_file", spy)
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(json.dumps({"id": 1, "text": "Hotline nie erreichbar."}) + "\n", encoding="utf-8")
    before = gc.get_freeze_count()
    assert main(["--root", str(REPO), "tag", str(src), "-o", str(out)]) == 0
    assert seen and seen[0] > before  # frozen while tagging: the tagger's objects among them
    assert gc.get_freeze_count() == before and gc.isenabled()  # and back to normal afterwards
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1


def test_cli_tag_csv_output_is_formula_safe(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('id,text\n=1+1,"=HYPERLINK(""x"") Lieferung kam nicht, sehr ärgerlich"\n', encoding="utf-8")
    out = tmp_path / "out.csv"
    assert main(["--root", str(REPO), "tag", str(src), "-o", str(out)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows[0]["id"] == "'=1+1"
    assert json.loads(rows[0]["sentiment"])["label"] == "negative"


def test_cli_evaluate_prints_per_task_f1(tmp_path, capsys):
    gold = tmp_path / "gold.jsonl"
    items = [("Super, sehr zufrieden!", "positive", 5), ("Katastrophe, nie wieder.", "negative", 1),
             ("Ich habe am Montag bestellt.", "neutral", 3)] * 4
    gold.write_text("\n".join(json.dumps({"id": i, "text": t, "sentiment": s, "rating": r})
                              for i, (t, s, r) in enumerate(items)), encoding="utf-8")
    assert main(["--root", str(REPO), "evaluate", "--data", str(gold), "--json", str(tmp_path / "m.json")]) == 0
    printed = capsys.readouterr().out
    assert "sentiment" in printed and "micro-F1" in printed and "rating_spearman" in printed
    m = json.loads((tmp_path / "m.json").read_text())
    assert m["gold"]["sentiment"]["n"] == 12


def test_cli_evaluate_scores_stars_without_sentiment_labels(tmp_path, capsys):
    # reviews that carry only stars (the product side's star-rated sets may look like this, and data/rated does)
    items = [("Absolut begeistert, funktioniert perfekt und sieht toll aus!", 5),
             ("Gutes Gerät, nur die Anleitung ist etwas knapp.", 4),
             ("Geht so. Für den Preis in Ordnung, mehr nicht.", 3),
             ("Leider nach einer Woche kaputt, der Umtausch dauerte ewig.", 2),
             ("Katastrophe, Schrott, nie wieder bei diesem Händler!", 1)] * 4
    folder = tmp_path / "rated"
    folder.mkdir()
    # ids chosen so that every row falls into the held-out part of the 80/20 split
    from cxnlp.classify.data import _split_of

    ids = [f"r{i}" for i in range(2000) if _split_of(f"r{i}") == "test"][:len(items)]
    (folder / "shop.jsonl").write_text("\n".join(json.dumps({"id": k, "text": t, "rating": r}, ensure_ascii=False)
                                                for k, (t, r) in zip(ids, items)), encoding="utf-8")
    assert main(["--root", str(REPO), "evaluate", "--rated", str(folder), "--json", str(tmp_path / "m.json")]) == 0
    m = json.loads((tmp_path / "m.json").read_text())
    assert m["cxnlp rated reviews (held-out)"]["rating_spearman"]["n"] == 20
    assert m["cxnlp rated reviews (held-out)"]["rating_spearman"]["spearman"] > 0.8
    assert "cxnlp rated reviews (held-out): shop" in m and "sentiment" not in m["cxnlp rated reviews (held-out)"]
    # --stars scores every review of the folder, whatever side of the split its id falls on
    other = tmp_path / "stars"
    other.mkdir()
    (other / "tech.jsonl").write_text("\n".join(json.dumps({"id": f"s{i}", "text": t, "rating": r}, ensure_ascii=False)
                                               for i, (t, r) in enumerate(items)), encoding="utf-8")
    assert sum(_split_of(f"s{i}") == "test" for i in range(len(items))) < len(items)
    assert main(["--root", str(REPO), "evaluate", "--stars", str(other), "--json", str(tmp_path / "s.json")]) == 0
    s = json.loads((tmp_path / "s.json").read_text())
    assert list(s) == ["reviews with stars", "reviews with stars: tech"]
    assert s["reviews with stars"]["rating_spearman"]["n"] == 20 and s["reviews with stars"] == m[
        "cxnlp rated reviews (held-out)"]
    capsys.readouterr()
    for bad in ('{"id": "x", "text": "ok", "rating": 6}', '{"id": "x", "text": "ok", "rating": "5"}', "{broken"):
        (folder / "zz.jsonl").write_text(bad, encoding="utf-8")
        assert main(["--root", str(REPO), "evaluate", "--rated", str(folder)]) == 2
        assert "zz.jsonl line 1" in capsys.readouterr().err
    assert main(["--root", str(REPO), "evaluate", "--rated", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_tag_stage_is_incremental_and_idempotent(project, tiny):
    from cxnlp.classify.stage import tag_untagged
    from cxnlp.config import load_settings
    from cxnlp.schema import Feedback
    from cxnlp.store import open_store
    from datetime import datetime, timezone

    d, tax, model, _ = tiny
    tagger = Tagger(model, tax)
    settings = load_settings(project)
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    fbs = [Feedback(id=f"f{i}", source="review", source_name="s", created_at=now, text=t, content_hash=f"h{i}",
                    near_key=f"k{i}") for i, t in enumerate(POS[:3] + NEG[:3])]
    with open_store(settings) as store:
        store.write_ingest_batch(run_id="r", feedback=fbs, duplicates=[], quarantine=[], source_name="s",
                                 fingerprint="x", file="f", rows_done=6, file_status="done")
        first = tag_untagged(store, settings, "run1", tagger=tagger, batch_size=4, progress=False)
        second = tag_untagged(store, settings, "run2", tagger=tagger, batch_size=4, progress=False)
        n_tags = store.count("tags")
        labels = dict(store.query("SELECT feedback_id, label FROM tags WHERE task = 'sentiment'"))
        store.request_retag(["f0"])
        third = tag_untagged(store, settings, "run3", tagger=tagger, progress=False)
        assert store.count("tags") == n_tags
    assert (first["tagged"], second["tagged"], third["tagged"]) == (6, 0, 1)
    assert labels["f0"] == "positive" and labels["f3"] == "negative"


def test_train_e5_recipe_options_are_checked_before_training(tmp_path, capsys, monkeypatch):
    """A malformed --corpus-weight stops `cxnlp train --e5` at once (exit 2), and well-formed options reach the
    training function as the recipe."""
    import cxnlp.classify.e5train as e5train

    seen = {}

    def fake_train_e5(out, taxonomy, **kw):  # records what the command passes, trains nothing
        seen.update(kw)
        raise SystemExit(0)

    monkeypatch.setattr(e5train, "train_e5", fake_train_e5)
    base = ["--root", str(REPO), "train", "--e5", "--no-own", "--out", str(tmp_path / "m")]
    assert main(base + ["--corpus-weight", "germeval2017"]) == 2
    assert "CORPUS=K" in capsys.readouterr().err and not seen
    with pytest.raises(SystemExit):
        main(base + ["--corpus-weight", "germeval2017=2.5", "--corpus-weight", "sb10k=1", "--steps", "7",
                     "--class-weighting", "sqrt"])
    assert seen["corpus_weights"] == {"germeval2017": 2.5, "sb10k": 1.0}
    assert seen["steps"] == 7 and seen["class_weighting"] == "sqrt" and "train_layers" not in seen
    # the reviews with stars score the e5 tagger too, and none of them is a training text
    from cxnlp.classify.data import RATED_CORPUS, STARS_TEST_CORPUS

    stars = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in (REPO / "data" / "stars_test").glob("*.jsonl"))
    assert {e.corpus for e in seen["extra"]} == {RATED_CORPUS, STARS_TEST_CORPUS}
    assert all(e.split != "train" and e.rating and not e.sentiment for e in seen["extra"])
    assert sum(e.corpus == STARS_TEST_CORPUS for e in seen["extra"]) == stars
