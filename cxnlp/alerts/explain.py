"""What drives a burst: pure functions over the posts of the burst window and of a baseline window.

- **Terms and hashtags**: weighted log-odds ratios with an informative Dirichlet prior (Monroe, Colaresi & Quinn
  2008, "Fightin' words") of the burst's negative posts against all posts of the baseline window; a post counts
  once per event (its reposts count too), each term once per post. Terms with a z-score of at least ``min_z``
  and at least ``min_count`` burst events are drivers.
- **Campaign**: a watch-listed campaign pattern found among the burst's posts, else the driving hashtag most
  often written next to a campaign word ("die neue #X Werbung", "Kampagne #X": ``campaign_words``, within two
  words) and, with half that weight, most often in posts tagged with a campaign touchpoint (``Werbung/Kampagne``);
  a hashtag that is only used *about* the campaign (a boycott tag) rarely stands next to those words. Products:
  watch-listed product patterns over-represented in the burst.
- **Facets, touchpoints, emotions, channels**: their shares among the burst's negative events against the
  baseline's negative events, the most grown first.
- **Examples**: the burst's negative posts with the most reach (likes + 2 shares + replies + reposts), distinct
  texts, PII-redacted again and shortened.
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

TOKEN = re.compile(r"#[\wÄÖÜäöüß]+|[A-Za-zÄÖÜäöüß][A-Za-zÄÖÜäöüß\-]{2,}")
PLACEHOLDER = re.compile(r"\[[A-Z_]+\]")

STOPWORDS = frozenset("""
aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes anders auch auf aus
bei beim bin bis bist bitte da dabei dadurch dafür dagegen daher damit dann dar darauf daran darum das dass dazu dein
deine dem den denen denn der deren des deshalb dessen die dies diese diesem diesen dieser dieses doch dort du durch
ein eine einem einen einer eines einfach einige einmal er es etwas euch euer eure für gab gar gegen geht gewesen gibt
habe haben hab hat hatte hätte heute hier hin hinter ich ihr ihm ihn ihnen ihre ihrem ihren ihrer im immer in ins ist
ja jede jedem jeden jeder jedes jetzt kam kann kein keine keinem keinen keiner können könnte mal man manche mehr mein
meine meinem meinen meiner mich mir mit muss musste nach nicht nichts noch nun nur ob oder ohne schon sehr sein seine
seinem seinen seiner seit selbst sich sie sind so sollte sondern sonst über um und uns unser unsere unter viel vom von
vor war waren warum was weg weil weiter welche welchem welchen welcher wenn wer werde werden wie wieder will wir wird
wirklich wo wurde wurden zu zum zur zwar zwischen echt ganz gerade halt eben oben mehr total echt mega voll leider
the and for you your with this that are was not but have has from just they what all our its it's
""".split())


@dataclass
class ExplainParams:
    top_terms: int = 10
    top_hashtags: int = 6
    min_count: int = 3
    min_z: float = 2.58
    prior_strength: float = 100.0
    examples: int = 5
    example_chars: int = 280
    campaign_touchpoints: tuple[str, ...] = ("Werbung/Kampagne",)
    campaign_words: tuple[str, ...] = ("kampagne", "werbung", "werbespot", "spot", "tv-spot", "anzeige", "plakat",
                                       "slogan", "ad", "commercial", "campaign")
    campaigns: tuple[str, ...] = ()      # regular expressions of known campaign names
    products: tuple[str, ...] = ()       # regular expressions of product names
    extra_stopwords: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, d: dict[str, Any] | None) -> "ExplainParams":
        d = dict(d or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"alerts config: unknown explain parameter(s) {unknown}; allowed: {sorted(known)}")
        kw: dict[str, Any] = {}
        for k, v in d.items():
            default = getattr(cls, k)
            kw[k] = tuple(v or ()) if isinstance(default, tuple) else type(default)(v)
        return cls(**kw)


def tokens(text: str, stop: frozenset[str] = STOPWORDS) -> set[str]:
    """Distinct terms of a text: hashtags as written ('#LumoraLiebe' -> '#lumoraliebe'), words lower-cased,
    placeholders, stop words and short words dropped."""
    text = PLACEHOLDER.sub(" ", text)
    out = set()
    for m in TOKEN.finditer(text):
        t = m.group(0).lower().strip("-")
        if len(t) < 3 or t in stop:
            continue
        out.add(t)
    return out


def log_odds(burst: Counter, base: Counter, prior_strength: float = 100.0) -> dict[str, tuple[float, float]]:
    """term -> (log-odds ratio, z-score) of burst vs baseline, informative Dirichlet prior from both."""
    n_a, n_b = sum(burst.values()), sum(base.values())
    vocab = set(burst) | set(base)
    total = n_a + n_b
    if not vocab or not n_a:
        return {}
    a0 = prior_strength
    out = {}
    for w in vocab:
        a, b = burst.get(w, 0), base.get(w, 0)
        alpha = a0 * (a + b) / total
        da = math.log((a + alpha) / (n_a + a0 - a - alpha))
        db = math.log((b + alpha) / (n_b + a0 - b - alpha))
        var = 1.0 / (a + alpha) + 1.0 / (b + alpha)
        out[w] = (da - db, (da - db) / math.sqrt(var))
    return out


def _tags(post: dict[str, Any], task: str) -> list[str]:
    return [t["label"] for t in post.get("tags") or [] if t["task"] == task]


def _shares(posts: Sequence[dict[str, Any]], key) -> tuple[Counter, float]:
    c: Counter = Counter()
    n = 0.0
    for p in posts:
        ev = p.get("events", 1)
        n += ev
        for lab in key(p):
            c[lab] += ev
    return c, n


def compare_shares(burst: Sequence[dict[str, Any]], base: Sequence[dict[str, Any]], key, top: int = 5,
                   min_share: float = 0.05) -> list[dict[str, Any]]:
    ca, na = _shares(burst, key)
    cb, nb = _shares(base, key)
    rows = []
    for lab, v in ca.items():
        s = v / na if na else 0.0
        if s < min_share:
            continue
        sb = cb.get(lab, 0) / nb if nb else 0.0
        rows.append({"label": lab, "share": round(s, 3), "baseline_share": round(sb, 3),
                     "lift": round(s / sb, 2) if sb > 0 else None, "over_represented": s > sb})
    rows.sort(key=lambda r: (-(r["share"] - r["baseline_share"]), r["label"]))  # what grew most comes first
    return rows[:top]


def reach(p: dict[str, Any]) -> int:
    return int((p.get("likes") or 0) + 2 * (p.get("shares") or 0) + (p.get("replies") or 0) + (p.get("reposts") or 0))


def explain(burst_posts: Sequence[dict[str, Any]], baseline_posts: Sequence[dict[str, Any]],
            params: ExplainParams | None = None, redact=None) -> dict[str, Any]:
    """Drivers and examples of a burst. ``burst_posts``: the burst window's posts (all sentiments; the negative
    ones are compared), ``baseline_posts``: the baseline window's posts; both as returned by
    ``cxnlp.store.alerts_sql.social_posts``. ``redact``: a function text -> text applied to examples."""
    p = params or ExplainParams()
    stop = STOPWORDS | {w.lower() for w in p.extra_stopwords}
    neg = [x for x in burst_posts if x.get("sentiment") == "negative"]
    base_neg = [x for x in baseline_posts if x.get("sentiment") == "negative"]
    ca: Counter = Counter()
    cb: Counter = Counter()
    toks_of: dict[str, set[str]] = {}
    for x in neg:
        toks_of[x["id"]] = t = tokens(x["text"], stop)
        for w in t:
            ca[w] += x.get("events", 1)
    for x in baseline_posts:
        for w in tokens(x["text"], stop):
            cb[w] += x.get("events", 1)
    lo = log_odds(ca, cb, p.prior_strength)
    ranked = sorted(((w, d, z) for w, (d, z) in lo.items() if ca.get(w, 0) >= p.min_count and z >= p.min_z),
                    key=lambda r: (-r[2], r[0]))
    display = _display_forms(neg)

    def row(w: str, d: float, z: float) -> dict[str, Any]:
        return {"term": display.get(w, w), "count": int(ca[w]), "baseline_count": int(cb.get(w, 0)),
                "log_odds": round(d, 2), "z": round(z, 1)}

    hashtags = [row(*r) for r in ranked if r[0].startswith("#")][:p.top_hashtags]
    terms = [row(*r) for r in ranked if not r[0].startswith("#")][:p.top_terms]

    # campaign: a watch-listed name, else the driving hashtag most tied to a campaign touchpoint
    campaign = None
    burst_text = [(x, x["text"]) for x in neg]
    for pat in p.campaigns:
        rx = re.compile(pat, re.I)
        hits = [x for x, t in burst_text if rx.search(t)]
        if hits:
            m = rx.search(hits[0]["text"])
            campaign = {"name": m.group(0), "source": "watchlist", "posts": sum(h.get("events", 1) for h in hits)}
            break
    if campaign is None and p.campaign_words:
        words = "|".join(re.escape(w.lower()) for w in p.campaign_words)
        best = None
        for h in hashtags:
            key = h["term"].lower()
            tag = re.escape(key)
            near = re.compile(rf"{tag}\W+(?:\w+\W+)?(?:{words})\b|\b(?:{words})\W+(?:\w+\W+)?{tag}(?!\w)")
            posts = [x for x in neg if key in toks_of.get(x["id"], ())]
            ev = sum(x.get("events", 1) for x in posts)
            if not ev:
                continue
            adj = sum(x.get("events", 1) for x in posts if near.search(x["text"].lower())) / ev
            tp = sum(x.get("events", 1) for x in posts if set(_tags(x, "touchpoint")) & set(p.campaign_touchpoints)) / ev
            score = adj + 0.5 * tp
            if (adj >= 0.1 or tp >= 0.5) and (best is None or score > best[0]):
                best = (score, {"name": h["term"], "source": "driving hashtag written as a campaign",
                                "posts": ev, "next_to_campaign_words": round(adj, 2),
                                "campaign_touchpoint_share": round(tp, 2)})
        campaign = best[1] if best else None
    products = []
    for pat in p.products:
        rx = re.compile(pat, re.I)
        a = sum(x.get("events", 1) for x in neg if rx.search(x["text"]))
        b = sum(x.get("events", 1) for x in baseline_posts if rx.search(x["text"]))
        na, nb = sum(x.get("events", 1) for x in neg), sum(x.get("events", 1) for x in baseline_posts)
        if a >= p.min_count and (nb == 0 or a / max(na, 1) > 2 * b / nb):
            m = next(rx.search(x["text"]) for x in neg if rx.search(x["text"]))
            products.append({"name": m.group(0), "posts": a, "baseline_posts": b})

    # examples by reach
    examples = []
    seen = set()
    for x in sorted(neg, key=lambda x: (-reach(x), x["created_at"], x["id"])):
        key = re.sub(r"\W+", " ", x["text"].lower()).strip()
        if key in seen:
            continue
        seen.add(key)
        text = redact(x["text"]) if redact else x["text"]
        if len(text) > p.example_chars:
            text = text[:p.example_chars - 1].rstrip() + "…"
        emo = sorted(((t["score"], t["label"]) for t in x.get("tags") or [] if t["task"] == "emotion"), reverse=True)
        examples.append({"id": x["id"], "at": x["created_at"].isoformat(), "channel": x.get("channel"),
                         "text": text, "reach": reach(x), "likes": int(x.get("likes") or 0),
                         "shares": int(x.get("shares") or 0), "replies": int(x.get("replies") or 0),
                         "reposts": int(x.get("reposts") or 0),
                         "emotion": emo[0][1] if emo else None})
        if len(examples) >= p.examples:
            break

    return {
        "hashtags": hashtags,
        "terms": terms,
        "campaign": campaign,
        "products": products,
        "facets": compare_shares(neg, base_neg, lambda x: _tags(x, "facet")),
        "touchpoints": compare_shares(neg, base_neg, lambda x: _tags(x, "touchpoint")),
        "emotions": compare_shares(neg, base_neg, lambda x: _tags(x, "emotion")),
        "channels": compare_shares(neg, base_neg, lambda x: [x.get("channel") or "unknown"]),
        "examples": examples,
        "posts": {"burst_negative_events": int(sum(x.get("events", 1) for x in neg)),
                  "burst_negative_posts": len(neg),
                  "baseline_events": int(sum(x.get("events", 1) for x in baseline_posts))},
    }


def _display_forms(posts: Iterable[dict[str, Any]]) -> dict[str, str]:
    """The most frequent spelling of each hashtag ('#lumoraliebe' -> '#LumoraLiebe')."""
    forms: dict[str, Counter] = defaultdict(Counter)
    for x in posts:
        for m in re.finditer(r"#[\wÄÖÜäöüß]+", x["text"]):
            forms[m.group(0).lower()][m.group(0)] += 1
    return {k: c.most_common(1)[0][0] for k, c in forms.items()}


def headline(drivers: dict[str, Any], limit: int = 4) -> list[str]:
    """A short list naming what drives the burst: campaign, products, hashtags, then terms."""
    out: list[str] = []
    if drivers.get("campaign"):
        out.append(drivers["campaign"]["name"])
    out += [p["name"] for p in drivers.get("products") or []]
    for h in drivers.get("hashtags") or []:
        if h["term"] not in out:
            out.append(h["term"])
    for t in drivers.get("terms") or []:
        out.append(t["term"])
    return out[:limit]
