"""The CX report: Kundenerlebnis vs. Kundenerfahrung over time, per source, facet and touchpoint, KPIs and
the week's drivers with verbatims; plus formula-safe CSV and Excel exports of the weekly KPIs."""
from __future__ import annotations

import csv
import html
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

from cxnlp.aggregate.drivers import weekly_drivers
from cxnlp.report.charts import PALETTE, line_chart
from cxnlp.report.output import ensure_dir, write_files
from cxnlp.spreadsheet import safe_cell
from cxnlp.store import experience_sql as sql

KPI_COLUMNS = ["grain", "period", "source", "channel", "facet", "touchpoint", "volume", "erlebnis_index", "erlebnis_ci",
               "erfahrung_index", "erfahrung_ci", "gap", "erfahrung_rated_n", "neg_share", "pos_share", "nps", "nps_ci",
               "nps_n", "csat", "csat_n", "ces", "ces_n", "mean_stars", "stars_n", "weiterempfehlungsrate",
               "churn_rate"]


def _series(rows: list[dict], periods: list[date], min_volume: int, key: str) -> tuple[list, list]:
    by = {r["period"]: r for r in rows}
    vals, cis = [], []
    for p in periods:
        r = by.get(p)
        n = r[f"{key}_n"] if r else 0
        ok = r is not None and n >= min_volume and r[f"{key}_index"] is not None
        vals.append(round(r[f"{key}_index"], 1) if ok else None)
        cis.append(round(r[f"{key}_ci"], 1) if ok and r[f"{key}_ci"] is not None else None)
    return vals, cis


def _chart(title: str, rows: list[dict], periods: list[date], min_volume: int, labels: list[str]) -> str:
    e, ec = _series(rows, periods, min_volume, "erlebnis")
    f, fc = _series(rows, periods, min_volume, "erfahrung")
    if all(v is None for v in e + f):
        return ""
    return line_chart(title, labels, [{"name": "Erlebnis", "color": PALETTE["erlebnis"], "values": e, "ci": ec},
                                      {"name": "Erfahrung", "color": PALETTE["erfahrung"], "values": f, "ci": fc}])


def _cell(store, grain: str, **dims: str) -> list[dict]:
    cond = " AND ".join(f"{d} = ?" for d in ("source", "channel", "facet", "touchpoint"))
    vals = [dims.get(d, "*") for d in ("source", "channel", "facet", "touchpoint")]
    return sql.kpis(store, grain, cond, vals)


def _fmt(v: Any, digits: int = 1) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return html.escape(str(v))


def experience_sections(store, min_volume: int = 10,
                        min_stability: float | None = None) -> tuple[str, dict[str, Any]]:
    """HTML sections and the headline numbers (for the Prefect artifact)."""
    sql.init(store)
    weeks = [r[0] for r in store.query("SELECT DISTINCT period FROM experience_agg WHERE grain = 'week' ORDER BY 1")]
    if not weeks:
        return "<h2>Kundenerlebnis vs. Kundenerfahrung</h2><p>Noch keine getaggten Texte.</p>", {}
    labels = [w.strftime("%d.%m.") for w in weeks]
    out = ['<h2 id="experience">Kundenerlebnis vs. Kundenerfahrung</h2>',
           "<p>Erlebnis: unmittelbare, emotionale Reaktion (emotionale Sätze, Emotionen). Erfahrung: reflektiertes Urteil "
           "(Sterne, NPS, CSAT, CES; sonst wertende Sätze). Index −100…+100 je Woche mit 95-%-Konfidenzband; Zellen unter "
           f"{min_volume} Texten werden nicht gezeigt.</p>", '<div class="charts">']
    out.append(_chart("Gesamt (Woche)", _cell(store, "week"), weeks, min_volume, labels))
    sources = [r[0] for r in store.query("SELECT DISTINCT source FROM experience_agg WHERE source <> '*' ORDER BY 1")]
    for s in sources:
        out.append(_chart(f"Quelle: {s}", _cell(store, "week", source=s), weeks, min_volume, labels))
    out.append("</div><h3>Nach Erfahrungs-Facette</h3><div class=\"charts\">")
    facets = [r[0] for r in store.query("SELECT facet, sum(volume) v FROM experience_agg WHERE grain = 'week' AND "
                                        "facet <> '*' AND touchpoint = '*' AND source = '*' GROUP BY 1 ORDER BY v DESC")]
    for f in facets:
        out.append(_chart(f, _cell(store, "week", facet=f), weeks, min_volume, labels))
    out.append("</div><h3>Nach Touchpoint</h3><div class=\"charts\">")
    tps = [r[0] for r in store.query("SELECT touchpoint, sum(volume) v FROM experience_agg WHERE grain = 'week' AND "
                                     "touchpoint <> '*' AND facet = '*' AND source = '*' GROUP BY 1 ORDER BY v DESC "
                                     "LIMIT 8")]
    for t in tps:
        out.append(_chart(t, _cell(store, "week", touchpoint=t), weeks, min_volume, labels))
    out.append("</div>")
    days = [r[0] for r in store.query("SELECT DISTINCT period FROM experience_agg WHERE grain = 'day' ORDER BY 1")][-42:]
    if "social" in sources and days:
        rows = _cell(store, "day", source="social")
        dl = [d.strftime("%d.%m.") for d in days]
        e, ec = _series(rows, days, min_volume, "erlebnis")
        out.append('<h3>Social Media täglich (letzte 6 Wochen)</h3><div class="charts">' + line_chart(
            "Social: Erlebnis je Tag", dl, [{"name": "Erlebnis", "color": PALETTE["erlebnis"], "values": e, "ci": ec}],
            width=1100) + "</div>")
    overall = _cell(store, "week")
    last = overall[-8:]
    out.append("<h3>KPIs je Woche</h3><table><thead><tr><th>Woche</th><th>Texte</th><th>Erlebnis</th><th>Erfahrung</th>"
               "<th>Lücke</th><th>NPS (n)</th><th>CSAT % (n)</th><th>CES (n)</th><th>Sterne (n)</th>"
               "<th>Weiterempfehlung %</th><th>Abwanderung %</th></tr></thead><tbody>")
    for r in last:
        out.append(f"<tr><td>{r['period'].strftime('%d.%m.%Y')}</td><td>{r['volume']}</td>"
                   f"<td>{_fmt(r['erlebnis_index'])} ± {_fmt(r['erlebnis_ci'])}</td>"
                   f"<td>{_fmt(r['erfahrung_index'])} ± {_fmt(r['erfahrung_ci'])}</td><td>{_fmt(r['gap'])}</td>"
                   f"<td>{_fmt(r['nps'])} ({r['nps_n']})</td><td>{_fmt(r['csat'])} ({r['csat_n']})</td>"
                   f"<td>{_fmt(r['ces'], 2)} ({r['ces_n']})</td><td>{_fmt(r['mean_stars'], 2)} ({r['stars_n']})</td>"
                   f"<td>{_fmt(r['weiterempfehlungsrate'])}</td><td>{_fmt(r['churn_rate'])}</td></tr>")
    out.append("</tbody></table>")
    drivers = weekly_drivers(store, min_volume=min_volume)
    headline: dict[str, Any] = {}
    if drivers.get("week"):
        out.append(f"<h3>Treiber der Woche ab {html.escape(drivers['week'])} (gegenüber Vorwoche)</h3>")
        for signal, title in (("erlebnis", "Erlebnis"), ("erfahrung", "Erfahrung")):
            ds = drivers["drivers"].get(signal) or []
            chg = drivers["change"].get(signal)
            out.append(f"<h4>{title}: Veränderung {_fmt(chg)} Punkte</h4><ol class=\"drivers\">")
            for d in ds[:6]:
                verbs = "".join(f"<blockquote>{html.escape(v['text'])}</blockquote>" for v in d["verbatims"][:2])
                out.append(f"<li><b>{html.escape(d['dimension'])}: {html.escape(d['value'])}</b> — Beitrag "
                           f"{_fmt(d['contribution'])} (Index {_fmt(d['index'])} nach {_fmt(d['index_before'])}, "
                           f"n={d['n']}){verbs}</li>")
            out.append("</ol>")
        if drivers["terms"]:
            out.append("<h4>Auffällige Begriffe in negativen Erlebnissen</h4><ul class=\"terms\">")
            for t in drivers["terms"]:
                v = t.get("verbatims") or []
                ex = f"<blockquote>{html.escape(v[0]['text'])}</blockquote>" if v else ""
                out.append(f"<li><b>{html.escape(t['term'])}</b> (z={t['z']}, {t['count']}× gegenüber "
                           f"{t['before']}× in den Vorwochen){ex}</li>")
            out.append("</ul>")
        headline = {"week": drivers["week"], "change": drivers["change"],
                    "top_drivers": {s: [f"{d['dimension']}={d['value']} ({d['contribution']:+.1f})"
                                        for d in ds[:3]] for s, ds in drivers["drivers"].items()},
                    "top_terms": [t["term"] for t in drivers["terms"][:5]]}
    out.append(alerts_section(store))
    out.append(_topics_section(store, min_stability))
    if last:
        r = last[-1]
        headline.update({"latest_week": r["period"].isoformat(), "erlebnis_index": r["erlebnis_index"],
                         "erfahrung_index": r["erfahrung_index"], "gap": r["gap"], "nps": r["nps"]})
    return "\n".join(x for x in out if x), headline


def alerts_section(store) -> str:
    """The backlash alerts of the store (newest first) with their summary and drivers."""
    from cxnlp.store import alerts_sql

    rows = alerts_sql.get_alerts(store, limit=10)
    if not rows:
        return "<h2 id=\"alerts\">Social-Media-Alarme</h2><p>Keine Alarme.</p>"
    out = ["<h2 id=\"alerts\">Social-Media-Alarme</h2><ul class=\"alerts\">"]
    for a in rows:
        when = a["start_at"].strftime("%d.%m.%Y %H:%M UTC") if a["start_at"] else "?"
        det = a["detected_at"].strftime("%d.%m.%Y %H:%M UTC") if a["detected_at"] else "?"
        out.append(f"<li><b>{html.escape(a['title'] or '')}</b> — {html.escape(a['severity'] or '')}, "
                   f"{html.escape(a['status'] or '')}; Beginn {when}, erkannt {det}"
                   f"<br>{html.escape(a['summary'] or '')}</li>")
    out.append("</ul>")
    return "".join(out)


def _topics_section(store, min_stability: float | None = None) -> str:
    from cxnlp.aggregate.topics import FLAGGED
    from cxnlp.store import topics_sql

    rows = [r for r in topics_sql.latest_topics(store, "negative", min_stability)]
    if not rows:
        return ""
    out = ["<h2 id=\"topics\">Neue und wachsende Themen (negative Texte)</h2>",
           "<table><thead><tr><th>Thema</th><th>Status</th><th>Texte</th><th>Wachstum</th><th>Stabilität</th>"
           "<th>nächste Taxonomie</th><th>Beispiel</th></tr></thead><tbody>"]
    for r in rows[:12]:
        ex = json.loads(r["examples"]) if isinstance(r["examples"], str) else r["examples"]
        link = r["touchpoint"] or r["facet"] or "–"
        if not r["covered"]:
            link += " (Begriff nicht in der Taxonomie)"
        status = html.escape(r["status"])
        if r["status"] in FLAGGED and not r["flagged"]:
            status += " (unsicher: kommt bei neu gezogener Stichprobe nicht sicher wieder)"
        out.append(f"<tr><td><b>{html.escape(r['label'])}</b><br><small>{html.escape(r['topic_id'])}</small></td>"
                   f"<td>{status}</td><td>{r['size']}</td><td>×{_fmt(r['growth'])}</td>"
                   f"<td>{_fmt(r.get('stability'), 2)}</td>"
                   f"<td>{html.escape(link)}</td><td>{html.escape(ex[0]['text'] if ex else '')}</td></tr>")
    out.append("</tbody></table><p>Stabilität: wie gut sich das Thema wiederfindet, wenn 80 % der Texte neu gezogen "
               "und erneut gruppiert werden (1 = immer, unter 0,5 = zerfällt). Ein Thema wird mit <code>cxnlp topics "
               "promote ID --group touchpoints --label NAME</code> zum Taxonomie-Label.</p>")
    return "".join(out)


def export_kpis(store, out_dir: Path, grain: str = "week") -> list[Path]:
    """experience_kpis as CSV and Excel (.xlsx), every text cell guarded against formula injection."""
    sql.init(store)
    rows = store.query_dicts(f"SELECT {', '.join(KPI_COLUMNS)} FROM experience_kpis WHERE grain = ? "
                             "ORDER BY period, source, channel, facet, touchpoint", [grain])
    out_dir = ensure_dir(out_dir)
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=";")
    w.writerow(KPI_COLUMNS)
    for r in rows:
        w.writerow([safe_cell(_plain(r[c])) for c in KPI_COLUMNS])
    files: list[tuple[Path, bytes]] = [(out_dir / f"kpis_{grain}.csv", buf.getvalue().encode("utf-8-sig"))]
    try:
        from openpyxl import Workbook
    except ImportError:
        Workbook = None
    if Workbook is not None:
        wb = Workbook(write_only=True)
        ws = wb.create_sheet(f"KPIs {grain}")
        ws.append(KPI_COLUMNS)
        for r in rows:
            ws.append([safe_cell(_plain(r[c])) for c in KPI_COLUMNS])
        xlsx = io.BytesIO()
        wb.save(xlsx)
        files.append((out_dir / f"kpis_{grain}.xlsx", xlsx.getvalue()))
    return write_files(files)


def _plain(v: Any) -> Any:
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float):
        return round(v, 4)
    return v
