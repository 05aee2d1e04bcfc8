"""The run report: a static HTML page and a JSON file with what the last run did and what the store holds."""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from cxnlp.report.output import ensure_dir, write_files


def _table(rows: list[dict[str, Any]], cols: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in cols) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_run_report(out_dir: Path, run_id: str, results: dict[str, Any], summary: dict[str, Any],
                     sections_html: str = "") -> Path:
    """Writes ``index.html`` and ``last_run.json`` into ``out_dir``; returns the HTML path.
    Raises :class:`~cxnlp.report.output.ReportError` (an OSError) naming the folder when it cannot be written;
    then no half-written file is left and the previous report stays as it was (the store is never touched)."""
    out_dir = ensure_dir(out_dir)
    last_run = json.dumps({"run_id": run_id, **results, "store": summary}, indent=2, default=str, ensure_ascii=False)
    ingest_rows = [{"source": k, **{c: v.get(c, 0) for c in ("rows_read", "stored", "duplicates", "quarantined",
                                                             "unchanged", "erased", "files_skipped")}}
                   for k, v in results.get("ingest", {}).items()]
    page = f"""<!doctype html><html lang="de"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>cxnlp – Lauf {html.escape(run_id)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:80em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}td:first-child,th:first-child{{text-align:left}}
.charts{{display:flex;flex-wrap:wrap;gap:12px}}.chart{{border:1px solid #eee;background:#fff}}
blockquote{{margin:.3em 0 .6em 1em;color:#444;font-style:italic;border-left:3px solid #ddd;padding-left:.6em}}</style>
</head><body>
<h1>cxnlp – Lauf <code>{html.escape(run_id)}</code></h1>
{sections_html}
<h2>Ingest in diesem Lauf</h2>{_table(ingest_rows, ["source", "rows_read", "stored", "duplicates", "quarantined", "unchanged", "erased", "files_skipped"])}
<h2>Bestand</h2>{_table(summary.get("sources", []), ["source_name", "source", "stored", "duplicates", "quarantined", "first", "last"])}
<h2>Quarantäne nach Grund</h2>{_table(summary.get("quarantine_reasons", []), ["source_name", "reason", "rows"])}
<h2>Sprachen</h2>{_table(summary.get("languages", []), ["language", "rows"])}
<h2>Stufen</h2><pre>{html.escape(json.dumps({k: v for k, v in results.items() if k != "ingest"}, indent=2, default=str, ensure_ascii=False))}</pre>
</body></html>"""
    path = out_dir / "index.html"
    write_files([(out_dir / "last_run.json", last_run), (path, page)])
    return path
