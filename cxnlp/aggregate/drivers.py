"""Drivers: what moved the Erlebnis and Erfahrung indices from one week to the next.

* Contribution of a dimension value d (a source, channel, facet or touchpoint) to the change of the overall
  index: ``share_d,t · I_d,t − share_d,t−1 · I_d,t−1`` with ``share`` = d's part of the week's scored texts and
  ``I`` = d's mean signal. For a single-valued dimension (source, channel) the contributions add up to the
  overall change; facets and touchpoints are multi-label, so theirs overlap.
* Terms: words and hashtags over-represented in the week's negative-Erlebnis texts against the weeks before,
  by the log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008), as z-scores.
* Verbatims: for each driver the texts that carry it most (strongest signal, then reach).
"""
from __future__ import annotations

import math
import re
from collections import Counter
from datetime import date, timedelta
from typing import Any

from cxnlp.store import experience_sql as sql

DIMENSIONS = ("source", "channel", "facet", "touchpoint")
_TOKEN = re.compile(r"#\w+|[^\W\d_][\w-]{2,}", re.U)
STOPWORDS = frozenset("""
aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes auch auf aus bei
bin bis bist da damit dann das dass dein deine dem den denn der des dich die dies diese diesem diesen dieser dieses
dir doch dort du durch ein eine einem einen einer eines einfach er es etwas euch euer eure für gegen gewesen hab habe
haben hat hatte hätte hier hin hinter ich ihm ihn ihnen ihr ihre im in indem ins ist jede jedem jeden jeder jedes
jetzt kann kein keine keinem keinen keiner könnte machen man manche mehr mein meine mich mir mit muss musste nach
nicht nichts noch nun nur ob oder ohne schon sehr sein seine sich sie sind so solche soll sollte sondern sonst über
um und uns unser unsere unter viel vom von vor war waren warum was weil weiter welche wenn wer werde werden wie wieder
will wir wird wo wurde würde zu zum zur zwar zwischen mal halt eben echt ganz gar immer leider bitte danke heute
the and for you this that with was are have not but
""".split())


def terms(text: str) -> list[str]:
    return [t for t in (m.group(0).lower() for m in _TOKEN.finditer(text)) if t not in STOPWORDS
            and not t.startswith("[")]


def log_odds(focus: Counter, background: Counter, prior_scale: float = 0.1, top: int = 12,
             min_count: int = 3) -> list[dict[str, Any]]:
    """Words over-represented in ``focus`` against ``background`` (z-scores of the log-odds ratio)."""
    prior = focus + background
    a0 = sum(prior.values()) * prior_scale or 1.0
    n1, n2 = sum(focus.values()), sum(background.values())
    out = []
    for w, c1 in focus.items():
        if c1 < min_count:
            continue
        c2 = background.get(w, 0)
        aw = prior[w] * prior_scale
        l1 = math.log((c1 + aw) / (n1 + a0 - c1 - aw))
        l2 = math.log((c2 + aw) / (n2 + a0 - c2 - aw))
        var = 1.0 / (c1 + aw) + 1.0 / (c2 + aw)
        out.append({"term": w, "z": round((l1 - l2) / math.sqrt(var), 2), "count": c1, "before": c2})
    out.sort(key=lambda d: -d["z"])
    return [d for d in out if d["z"] > 1.96][:top]


def weekly_drivers(store, week: date | None = None, min_volume: int = 10, lookback_weeks: int = 4) -> dict[str, Any]:
    """Drivers of the change from the week before ``week`` to ``week`` (default: the last complete week in the
    store). Returns the overall change and the ranked drivers with verbatims, and the top terms."""
    weeks = [r[0] for r in store.query("SELECT DISTINCT period FROM experience_agg WHERE grain = 'week' ORDER BY 1")]
    if week is None:
        last_day = store.query("SELECT max(period) FROM experience_agg WHERE grain = 'day'")[0][0]
        complete = [w for w in weeks if last_day is not None and w + timedelta(days=6) <= last_day]
        if len(complete) < 2:
            return {"week": None, "drivers": {}, "terms": []}
        week = complete[-1]
    prev = week - timedelta(days=7)
    rows = store.query_dicts(
        "SELECT period, source, channel, facet, touchpoint, erlebnis_n, erlebnis_sum, erfahrung_n, erfahrung_sum, "
        "volume FROM experience_agg WHERE grain = 'week' AND period IN (?, ?)", [week, prev])
    overall = {r["period"]: r for r in rows if r["source"] == r["channel"] == r["facet"] == r["touchpoint"] == "*"}
    out: dict[str, Any] = {"week": week.isoformat(), "previous": prev.isoformat(), "drivers": {}, "change": {}}
    texts = sql.period_texts(store, week, week + timedelta(days=7))
    for signal in ("erlebnis", "erfahrung"):
        tot = {p: (overall[p][f"{signal}_n"], overall[p][f"{signal}_sum"]) for p in overall}
        if week not in tot or prev not in tot or not tot[week][0] or not tot[prev][0]:
            continue
        change = 100 * (tot[week][1] / tot[week][0] - tot[prev][1] / tot[prev][0])
        out["change"][signal] = round(change, 1)
        cands = []
        for dim in DIMENSIONS:
            cells: dict[str, dict] = {}
            for r in rows:
                others = [d for d in DIMENSIONS if d != dim and not (dim == "channel" and d == "source")]
                if r[dim] == "*" or any(r[o] != "*" for o in others):
                    continue
                key = f"{r['source']}/{r['channel']}" if dim == "channel" else r[dim]
                cells.setdefault(key, {})[r["period"]] = r
            for key, per in cells.items():
                now, before = per.get(week), per.get(prev)
                n_now = now[f"{signal}_n"] if now else 0
                n_before = before[f"{signal}_n"] if before else 0
                if max(n_now, n_before) < min_volume:
                    continue
                c_now = (now[f"{signal}_sum"] / tot[week][0]) if now else 0.0
                c_before = (before[f"{signal}_sum"] / tot[prev][0]) if before else 0.0
                cands.append({"dimension": dim, "value": key, "contribution": round(100 * (c_now - c_before), 2),
                              "index": round(100 * now[f"{signal}_sum"] / n_now, 1) if n_now else None,
                              "index_before": round(100 * before[f"{signal}_sum"] / n_before, 1) if n_before else None,
                              "n": n_now, "n_before": n_before})
        cands.sort(key=lambda d: -abs(d["contribution"]))
        for d in cands[:8]:
            d["verbatims"] = _verbatims(texts, d, signal, negative=d["contribution"] < 0)
        out["drivers"][signal] = cands[:8]
    neg_now = Counter(t for x in texts if (x["erlebnis"] or 0) < 0 for t in set(terms(x["text"])))
    before = sql.period_texts(store, week - timedelta(days=7 * lookback_weeks), week)
    neg_before = Counter(t for x in before if (x["erlebnis"] or 0) < 0 for t in set(terms(x["text"])))
    out["terms"] = log_odds(neg_now, neg_before)
    for t in out["terms"][:5]:
        hits = [x for x in texts if t["term"] in x["text"].lower()]
        hits.sort(key=lambda x: ((x["erlebnis"] if x["erlebnis"] is not None else 0), -x["engagement"]))
        t["verbatims"] = [_verb(x) for x in hits[:2]]
    return out


def _matches(x: dict, d: dict) -> bool:
    dim, val = d["dimension"], d["value"]
    if dim == "source":
        return x["source"] == val
    if dim == "channel":
        return f"{x['source']}/{x['channel']}" == val
    return val in (x["facets"] if dim == "facet" else x["touchpoints"])


def _verb(x: dict) -> dict[str, Any]:
    t = x["text"]
    return {"id": x["id"], "text": t if len(t) <= 280 else t[:277] + "…", "source": x["source"],
            "channel": x["channel"], "erlebnis": x["erlebnis"], "erfahrung": x["erfahrung"]}


def _verbatims(texts: list[dict], d: dict, signal: str, negative: bool, k: int = 3) -> list[dict[str, Any]]:
    hits = [x for x in texts if _matches(x, d) and x[signal] is not None]
    hits.sort(key=lambda x: ((x[signal] if negative else -x[signal]), -x["engagement"]))
    return [_verb(x) for x in hits[:k]]
