"""The `cxnlp` command line."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path


def _prefect_env(root: Path) -> None:
    """Local, quiet Prefect: ephemeral server, no telemetry, state kept under var/ of the project."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_HOME", str(root / "var" / "prefect"))
    Path(os.environ["PREFECT_HOME"]).expanduser().mkdir(parents=True, exist_ok=True)  # Prefect's SQLite lives here
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def cmd_ingest(args: argparse.Namespace) -> int:
    from cxnlp.config import load_settings, load_sources
    from cxnlp.ingest.pipeline import Ingestor
    from cxnlp.runs import new_run_id
    from cxnlp.store import open_store

    settings = load_settings(args.root)
    sources = load_sources(settings.root, args.sources)
    if args.only:
        sources = [s for s in sources if s.name in set(args.only)]
    run_id = new_run_id("ingest")
    with open_store(settings) as store:
        store.start_run(run_id, "ingest")
        stats = Ingestor(store, settings).ingest(sources, run_id)
        out = {k: v.as_dict() for k, v in stats.items()}
        store.finish_run(run_id, "completed", {"ingest": out})
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from cxnlp.config import load_settings

    settings = load_settings(args.root)
    if args.no_prefect:
        from cxnlp.runs import run_pipeline

        res = run_pipeline(settings)
    else:
        _prefect_env(settings.root)
        from flows.nightly import nightly

        res = nightly(str(settings.root))
    store_path = settings.path("store", "path")
    print()
    print(f"run {res['run_id']} finished")
    for name, s in res["ingest"].items():
        print(f"  {name:<16} read {s['rows_read']:>6}  stored {s['stored']:>6}  duplicates {s['duplicates']:>5}  "
              f"quarantined {s['quarantined']:>4}  unchanged {s['unchanged']:>6}"
              + (f"  erased {s['erased']}" if s.get("erased") else ""))
    tag = res.get("tag") or {}
    if tag.get("tagged") is not None:
        print(f"tagged: {tag['tagged']} texts with {tag.get('model')} {tag.get('model_version')}")
    for a in (res.get("alerts") or {}).get("alerts", []):
        print(f"alert:  {a.get('title')} — start {a.get('start_at')}, detected {a.get('detected_at')} ({a.get('status')})")
    flagged = ((res.get("topics") or {}).get("scopes") or {}).get("negative", {}).get("flagged", [])
    if flagged:
        print("topics: " + "; ".join(flagged[:4]))
    head = res.get("headline") or {}
    if head.get("top_terms"):
        print(f"drivers of the week {head.get('week')}: " + ", ".join(head["top_terms"][:5]))
    print(f"store:  {_rel(store_path)}  (DuckDB; tables feedback, duplicates, quarantine, tags, experience, alerts, topics)")
    print(f"report: {_rel(Path(res['report']))}")
    return 0


def _rel(p: Path) -> str:
    try:
        return str(Path(p).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def cmd_serve(args: argparse.Namespace) -> int:
    from cxnlp.config import load_settings

    settings = load_settings(args.root)
    _prefect_env(settings.root)
    from flows.nightly import serve

    serve(cron=args.cron, timezone=args.timezone, root=str(settings.root))
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from cxnlp.samplegen import generate

    counts = generate(args.out, seed=args.seed)
    print(json.dumps(counts, indent=2))
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    from cxnlp.config import load_settings
    from cxnlp.store import open_store

    with open_store(load_settings(args.root), read_only=True) as store:
        rows = store.query_dicts(
            "SELECT source_name, file, row_number, reason, detail, left(raw, 120) AS raw FROM quarantine "
            "ORDER BY source_name, file, row_number LIMIT ?", [args.limit])
    for r in rows:
        print(f"{r['source_name']}/{r['file']}:{r['row_number']}  {r['reason']}  ({r['detail']})  {r['raw']!r}")
    return 0


def _tagger(args: argparse.Namespace):
    from cxnlp.classify.tagger import load_tagger
    from cxnlp.config import find_root

    root = Path(args.root).resolve() if args.root else find_root()
    return load_tagger(root, getattr(args, "backend", None), getattr(args, "model", None))


def cmd_tag(args: argparse.Namespace) -> int:
    import time

    from cxnlp.classify.io import tag_file
    from cxnlp.engine import keep_freed_memory, loaded_objects_frozen

    keep_freed_memory()  # this process only tags: reuse the tagger's freed arrays (see the function)
    tagger = _tagger(args)
    t0 = time.perf_counter()
    with loaded_objects_frozen():  # the collector's passes skip the loaded tagger's objects
        counts = tag_file(tagger, args.input, args.output, batch_size=args.batch_size or tagger.batch_size)
    secs = time.perf_counter() - t0
    print(f"tagged {counts['tagged']} of {counts['rows']} rows ({counts['errors']} unreadable, kept with an error) "
          f"in {secs:.1f} s -> {args.output}", file=sys.stderr)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from cxnlp.classify.evaluate import format_report
    from cxnlp.classify.taxonomy import load_taxonomy
    from cxnlp.classify.train import share_problem, train_model
    from cxnlp.config import find_root, load_settings

    root = Path(args.root).resolve() if args.root else find_root()
    own = None if args.no_own else (args.own or root / "data" / "labelled")
    for flag, share in (("--gold-share", args.gold_share), ("--dense-blend", args.dense_blend)):
        if share is not None and share_problem(share):
            print(f"{flag} {share_problem(share)}", file=sys.stderr)
            return 2
    if args.unlabelled and not args.distill:
        print("--unlabelled gives texts for the teacher to label: use it with --distill", file=sys.stderr)
        return 2
    taxonomy = load_taxonomy(root / "configs" / "taxonomy.yaml")
    # reviews with stars that both models are scored on and no training step reads as labelled data: the held-out
    # part of data/rated (its training part is unlabelled text for the fast model's teacher) and data/stars_test
    from cxnlp.classify.data import STARS_TEST_CORPUS, load_rated

    rated, scored = [], []
    if (root / "data" / "rated").is_dir():
        rated = load_rated(root / "data" / "rated")
        scored += [e for e in rated if e.split != "train"]
    if (root / "data" / "stars_test").is_dir():
        scored += load_rated(root / "data" / "stars_test", test_share=1.0, corpus=STARS_TEST_CORPUS)
    if args.e5:
        from cxnlp.classify.e5train import train_e5

        # training takes minutes to hours: its progress lines (cache, loss every 100 steps) always show
        logging.getLogger("cxnlp.e5train").setLevel(logging.INFO)

        out = Path(args.out or root / "models" / "cxnlp-de-e5")
        recipe = {k: v for k, v in (("steps", args.steps), ("train_layers", args.train_layers),
                                    ("batch_size", args.batch_size), ("class_weighting", args.class_weighting))
                  if v is not None}
        if args.corpus_weight:
            try:
                recipe["corpus_weights"] = {c: float(k) for c, k in (x.split("=", 1) for x in args.corpus_weight)}
            except ValueError:
                print("--corpus-weight takes CORPUS=K, e.g. germeval2017=3", file=sys.stderr)
                return 2
        clf, metrics = train_e5(out, taxonomy, public_data=args.data, own_dir=own, extra=scored,
                                version=args.version, seed=args.seed, root=root, eval_limit=args.eval_limit,
                                device=args.device, **recipe)
        for k, v in metrics.items():
            print(format_report(k, v))
        print(f"model written to {out.name}/ (version {clf.version}, {clf.meta['recipe']['train_seconds']} s of "
              f"training on {clf.meta['recipe']['device']})")
        return 0
    extra, unlabelled, ratings, teacher, before = list(scored), [], [], None, None
    store_path = load_settings(root).path("store", "path")
    store_ok = store_path.is_file() or bool(os.environ.get("CXNLP_STORE_URL"))

    def store_examples(fn):
        from cxnlp.store import open_store

        with open_store(load_settings(root), read_only=True) as store:
            return fn(store)

    if args.corrections:
        from cxnlp.review_data import corrections_as_examples

        extra = store_examples(corrections_as_examples)
        print(f"using {len(extra)} analyst corrections as labelled examples", file=sys.stderr)
    if args.from_ratings:
        from cxnlp.classify.adapt import ratings_examples
        from cxnlp.classify.tagger import Tagger

        if not store_ok:
            print("--from-ratings reads rated feedback from the store: run `cxnlp run` or `cxnlp ingest` first",
                  file=sys.stderr)
            return 2
        ratings = store_examples(ratings_examples)
        if not ratings:
            print("no stored feedback carries stars, NPS or CSAT: nothing to learn from", file=sys.stderr)
            return 2
        before = Tagger.from_config(root)
        print(f"using {sum(e.split == 'train' for e in ratings)} rated texts as weak labels, "
              f"{sum(e.split != 'train' for e in ratings)} held out", file=sys.stderr)
    if args.distill:
        from cxnlp.classify.adapt import GENERATED, sample_texts, stored_texts, unlabelled_examples
        from cxnlp.classify.e5model import E5Classifier

        tdir = Path(args.teacher or root / "models" / "cxnlp-de-e5")
        teacher = E5Classifier.load(tdir, device=args.device)
        if not args.no_teacher_cache:  # its answers by text, on disk: a retraining asks it only about new texts
            from cxnlp.classify.teacher_cache import CachedTeacher

            teacher = CachedTeacher(teacher, args.teacher_cache)
        # the shipped sample exports (generated), the training part of the shipped rated reviews (their stars
        # stay unused here), the shipped unlabelled travel feedback, any folder the user names, then the store's
        # German texts
        generated = sample_texts(root / "data" / "sample") if (root / "data" / "sample").is_dir() else []
        texts = [e.text for e in rated if e.split == "train"]
        shipped = [root / "data" / "unlabelled"] if (root / "data" / "unlabelled").is_dir() else []
        for folder in shipped + list(map(Path, args.unlabelled)):
            if not folder.is_dir():
                print(f"--unlabelled {folder}: no such folder", file=sys.stderr)
                return 2
            texts += sample_texts(folder)
        if store_ok:
            texts += store_examples(stored_texts)
        unlabelled = unlabelled_examples(generated, domain=GENERATED)
        seen = {e.text for e in unlabelled}
        unlabelled += [e for e in unlabelled_examples(texts) if e.text not in seen]
        print(f"distilling {teacher.name} {teacher.version} over the training texts and {len(unlabelled)} "
              "unlabelled feedback texts", file=sys.stderr)
    out = Path(args.out or root / "models" / "cxnlp-de-small")
    model, metrics = train_model(out, taxonomy, public_data=args.data, own_dir=own, extra=extra, seed=args.seed,
                                 version=args.version, use_embeddings=False if args.no_embeddings else None,
                                 teacher=teacher, unlabelled=unlabelled, ratings=ratings, before_tagger=before,
                                 distill_all=bool(args.distill and args.distill_all),
                                 **({"teacher_lexicon": False} if args.no_lexicon else {}),
                                 **({} if args.gold_share is None else {"gold_share": args.gold_share}),
                                 **({} if args.dense_blend is None else {"dense_blend": args.dense_blend}))
    for k, v in metrics.items():
        print(format_report(k, v))
    for corpus, a in (model.meta.get("distillation", {}).get("agreement") or {}).items():
        print(f"student = teacher on {corpus}: {a['agreement']:.3f} (n={a['n']})")
    if teacher is not None and hasattr(teacher, "hits"):
        print(f"teacher: {teacher.hits} texts answered from its cache, {teacher.misses} labelled now "
              f"({teacher.path})", file=sys.stderr)
    if model.meta.get("ratings"):
        r = model.meta["ratings"]
        for k in ("before", "after"):
            if r.get(k):
                print(f"held-out rated texts, {k}: micro-F1 {r[k]['micro_f1']:.3f}, macro-F1 {r[k]['macro_f1']:.3f}, "
                      f"Spearman {r[k]['spearman']}")
    print(f"model written to {out.name}/ (version {model.version}, {model.meta['train_seconds']} s)")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from cxnlp.classify.data import load_own, load_public, sentence_examples
    from cxnlp.classify.evaluate import (evaluate_doc_groups, evaluate_docs, evaluate_sentences, format_report,
                                        load_eval_jsonl)

    tagger = _tagger(args)
    report: dict[str, dict] = {}
    for path in args.data or []:
        exs = load_eval_jsonl(path)
        report[Path(path).stem] = evaluate_docs(tagger, exs)
        sents = sentence_examples([e for e in exs if e.sentences])
        if sents:
            report[Path(path).stem + ":sentences"] = evaluate_sentences(tagger, sents)
    if args.public:
        held = [e for e in load_public(args.public) if e.split != "train"]
        groups: dict[str, list] = {}
        for e in held:
            groups.setdefault(e.corpus, []).append(e)
        for name, exs in sorted(groups.items()):
            report[name + " (held-out)"] = evaluate_docs(tagger, exs)
    if args.own:
        own = [e for e in load_own(args.own) if e.split != "train"]
        report["cxnlp own set (held-out)"] = evaluate_docs(tagger, own)
        report["cxnlp own set (held-out) sentences"] = evaluate_sentences(tagger, sentence_examples(own))
    # reviews with stars only: the held-out part of a --rated folder (80/20 by id), every review of a --stars folder
    for folder, share, name in ((args.rated, 0.2, "cxnlp rated reviews (held-out)"),
                                (args.stars, 1.0, "reviews with stars")):
        if folder:
            from cxnlp.classify.data import load_rated

            exs = sorted((e for e in load_rated(folder, share) if e.split != "train"), key=lambda e: e.domain)
            report.update(evaluate_doc_groups(tagger, exs, lambda e, name=name: (name, f"{name}: {e.domain}")))
    if not report:
        print("nothing to evaluate: give --data FILE.jsonl, --public DIR, --own DIR, --rated DIR or --stars DIR",
              file=sys.stderr)
        return 2
    for k, v in report.items():
        print(format_report(k, v))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


def cmd_topics(args: argparse.Namespace) -> int:
    from cxnlp.config import load_settings
    from cxnlp.store import open_store
    from cxnlp.store import topics_sql

    settings = load_settings(args.root)
    with open_store(settings) as store:
        if args.action == "promote":
            from cxnlp.aggregate.topics_stage import promote

            if not (args.topic and args.label):
                print("usage: cxnlp topics promote TOPIC_ID --group touchpoints|facets --label NAME", file=sys.stderr)
                return 2
            res = promote(settings.root, store, args.topic, args.group, args.label)
            print(f"added {res['group']} label {res['label']!r} with cues {res['cues']} to configs/taxonomy.yaml; "
                  f"{res['examples']} examples in data/labelled/{res['examples_file']}; run `cxnlp train` to learn it")
            return 0
        if args.action == "run":
            from cxnlp.aggregate.topics_stage import topics_stage
            from cxnlp.runs import new_run_id

            topics_stage(store, settings, new_run_id("topics"), weeks=args.weeks)
        rows = topics_sql.latest_topics(store, args.scope, settings.get("topics", "min_stability", None))
    for r in rows:
        link = r["touchpoint"] or r["facet"] or "-"
        stab = "   -" if r["stability"] is None else f"{r['stability']:.2f}"
        mark = "*" if r["flagged"] else " "
        print(f"{mark}{r['topic_id']}  {r['scope']:<18} {r['status']:<9} {r['size']:>5}  x{r['growth']:<6} "
              f"stab {stab}  {r['label']}  [{link}{'' if r['covered'] else ', new term'}]")
    if rows:
        print("* flagged: new, growing or a spike, and stable (comes back when the texts are resampled)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cxnlp", description="German customer-feedback mining.")
    p.add_argument("--root", help="project folder holding configs/ (default: found from the current folder)")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("ingest", help="ingest the configured sources into the store")
    s.add_argument("--sources", help="a sources.yaml other than configs/sources.yaml")
    s.add_argument("--only", nargs="*", help="only these source names")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("run", help="run the nightly flow once")
    s.add_argument("--no-prefect", action="store_true", help="run the stages as plain functions")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("serve", help="serve the nightly flow on a cron schedule (Prefect deployment)")
    s.add_argument("--cron", default="0 2 * * *")
    s.add_argument("--timezone", default="Europe/Berlin")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("sample", help="(re)generate the sample data")
    s.add_argument("out", nargs="?", default="data/sample")
    s.add_argument("--seed", type=int, default=7)
    s.set_defaults(func=cmd_sample)

    s = sub.add_parser("tag", help="tag a JSONL/CSV/Parquet file of texts (id, text) into OUT")
    s.add_argument("input")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--backend", choices=["auto", "fast", "embedded", "transformers"], default=None,
                   help="fast: the CPU default; transformers: the fine-tuned e5 tagger (or a configured HF model); "
                        "auto (configs/models.yaml default): transformers on a GPU, fast otherwise")
    s.add_argument("--model", help="a model directory (fast), a cxnlp e5 directory or HF folder / hub id (transformers)")
    s.add_argument("--batch-size", type=int, default=None,
                   help="texts per tagger call (default: the tagger's own, 256; 2,048 for the e5 tagger on a GPU)")
    s.set_defaults(func=cmd_tag)

    s = sub.add_parser("train", help="train the embedded default model")
    s.add_argument("--data", help="folder with the public German sets (germeval2017/, sb10k/, potts/ ...)")
    s.add_argument("--own", help="folder with cxnlp's own labelled JSONL (default: data/labelled)")
    s.add_argument("--no-own", action="store_true")
    s.add_argument("--corrections", action="store_true", help="add analysts' corrections from the store")
    s.add_argument("--out", help="model directory to write (default: models/cxnlp-de-small)")
    s.add_argument("--version")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--no-embeddings", action="store_true", help="n-grams and cues only (faster, weaker)")
    s.add_argument("--e5", action="store_true", help="fine-tune the e5 transformer tagger (models/cxnlp-de-e5)")
    s.add_argument("--steps", type=int, default=None, help="--e5: training steps (default: the recipe's)")
    s.add_argument("--train-layers", type=int, default=None, help="--e5: top encoder layers to fine-tune")
    s.add_argument("--batch-size", type=int, default=None, help="--e5: texts per step (default 24 on a CPU)")
    s.add_argument("--class-weighting", choices=("none", "sqrt"), default=None,
                   help="--e5: weigh sentiment classes by inverse square-root frequency, or keep each corpus's priors")
    s.add_argument("--corpus-weight", action="append", default=[], metavar="CORPUS=K",
                   help="--e5: draw CORPUS K times as often (repeatable; replaces the recipe's weights)")
    s.add_argument("--eval-limit", type=int, default=None, help="--e5: at most this many held-out texts per set")
    s.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    s.add_argument("--distill", action="store_true",
                   help="train the fast model on the e5 tagger's soft labels too (sample data, the training part of "
                        "data/rated, data/unlabelled, stored feedback)")
    s.add_argument("--distill-all", action="store_true",
                   help="--distill: the labelled training texts also get soft labels for their tasks without gold "
                        "labels (slower; on the shipped data it cost touchpoint and emotion F1, see README)")
    s.add_argument("--teacher", help="--distill: the teacher's directory (default models/cxnlp-de-e5)")
    s.add_argument("--teacher-cache", metavar="DIR",
                   help="--distill: keep the teacher's probabilities by text here, so that a retraining asks it "
                        "only about texts it has not read (default $CXNLP_CACHE/teacher or ~/.cache/cxnlp/teacher)")
    s.add_argument("--no-teacher-cache", action="store_true", help="--distill: the teacher labels every text afresh")
    s.add_argument("--unlabelled", action="append", default=[], metavar="FOLDER",
                   help="--distill: also read the texts of the JSONL/CSV exports in FOLDER (repeatable; the sample "
                        "data, the training part of data/rated and data/unlabelled are always read)")
    s.add_argument("--gold-share", type=float, default=None, metavar="S",
                   help="--distill: share of a public set's gold sentiment label in its training weight; the rest "
                        "follows the teacher's sentiment (default 0.5; 1 = gold only)")
    s.add_argument("--no-lexicon", action="store_true",
                   help="--distill: no word lexicon (by default the teacher reads each word that occurs at least twice "
                        "in the training documents, and the fast model keeps its sentiment as eight dense features)")
    s.add_argument("--from-ratings", action="store_true",
                   help="use stored stars/NPS/CSAT as weak sentiment labels; before/after figures in the model card")
    s.add_argument("--dense-blend", type=float, default=None, metavar="B",
                   help="share of the network stacked on the sentiment head (over the sentence embedding and the "
                        "linear logits) in its probabilities (default 1; 0 = linear head only)")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("evaluate", help="per-task F1 and confusion matrices on labelled data")
    s.add_argument("--data", nargs="*", help="JSONL files with id, text and gold labels")
    s.add_argument("--public", help="folder with the public German sets: scores their held-out parts")
    s.add_argument("--own", help="folder with cxnlp's own labelled JSONL: scores its held-out part")
    s.add_argument("--rated", help="folder with reviews that carry only stars (data/rated): Spearman of the "
                                   "held-out part's p(positive) - p(negative) with the stars, and F1 against the "
                                   "stars read as labels (1-2 negative, 3 neutral, 4-5 positive)")
    s.add_argument("--stars", help="folder with reviews with stars (id, text, rating) that no training reads "
                                   "(data/stars_test): the same figures as --rated over every review, overall and "
                                   "per file")
    s.add_argument("--backend", choices=["auto", "fast", "embedded", "transformers"], default=None)
    s.add_argument("--model")
    s.add_argument("--json", help="also write the metrics as JSON here")
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("topics", help="emerging topics: list, recompute (run) or promote one to a taxonomy label")
    s.add_argument("action", nargs="?", choices=["list", "run", "promote"], default="list")
    s.add_argument("topic", nargs="?", help="topic id (promote)")
    s.add_argument("--group", choices=["touchpoints", "facets"], default="touchpoints")
    s.add_argument("--label", help="the new label's name (promote)")
    s.add_argument("--scope", help="all | negative | <source>:negative")
    s.add_argument("--weeks", type=int, default=None)
    s.set_defaults(func=cmd_topics)

    from cxnlp.alerts import add_cli as add_alerts_cli
    from cxnlp.erasure import add_cli as add_erasure_cli
    from cxnlp.models_e5 import add_cli as add_models_cli
    from cxnlp.store.postgres import add_cli as add_store_cli

    from cxnlp.review import add_cli as add_review_cli

    add_alerts_cli(sub)
    add_store_cli(sub)
    add_models_cli(sub)
    add_review_cli(sub)
    add_erasure_cli(sub)

    s = sub.add_parser("quarantine", help="list quarantined rows with their reasons")
    s.add_argument("--limit", type=int, default=50)
    s.set_defaults(func=cmd_quarantine)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # clear one-line errors for known failure kinds
        from cxnlp.config import ConfigError
        from cxnlp.store import StoreError

        from cxnlp.classify.data import DataError
        from cxnlp.classify.model import ModelError
        from cxnlp.report.output import ReportError

        if isinstance(e, (ConfigError, StoreError, ModelError, ReportError, DataError, FileNotFoundError,
                          FileExistsError)):
            print(f"cxnlp: error: {e}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
