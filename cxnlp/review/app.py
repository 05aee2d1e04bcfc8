"""The review web app (Starlette): analysts browse tagged feedback, confirm or correct tags, and export.

Security model (social-media text is hostile input):
- every page is rendered by Jinja2 with autoescaping; JavaScript lives in /static/review.js only and a strict
  Content-Security-Policy forbids inline script and style;
- writes need the per-session CSRF token (a SameSite=Strict, HttpOnly cookie, repeated in the form field
  ``csrf_token`` or the ``X-CSRF-Token`` header) and are refused from other origins;
- with a token (required for non-local binds, see :func:`check_bind`) every page needs it: as
  ``Authorization: Bearer``, or once as ``?token=`` / on the login form, which sets an HttpOnly cookie;
- without a token only local Host headers are served (no DNS rebinding).
"""
from __future__ import annotations

import csv
import getpass
import hashlib
import hmac
import io
import json
import os
import re
import secrets
import tempfile
import threading
import time
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from cxnlp.spreadsheet import safe_cell
from cxnlp.store import DuckDBStore, StoreError
from cxnlp.store import review_sql as sql

HERE = Path(__file__).resolve().parent
BERLIN = ZoneInfo("Europe/Berlin")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
CSRF_COOKIE = "cxnlp_csrf"
AUTH_COOKIE = "cxnlp_review_auth"
ANALYST_COOKIE = "cxnlp_analyst"
EXCEL_MAX_ROWS = 1_048_575
PAGE_SIZES = (25, 50, 100, 200)
MAX_BODY = 256_000
FILTER_KEYS = ("period", "date_from", "date_to", "source", "channel", "language", "facet", "touchpoint", "phase",
               "sentiment", "emotion", "conf_min", "conf_max", "q", "status", "disagreement")
CONTEXT_KEYS = FILTER_KEYS + ("sort", "view", "size")
PERIODS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
EXPORT_COLUMNS = ["feedback_id", "created_at", "source", "source_name", "channel", "language", "title", "text",
                  "sentiment", "model_sentiment", "confidence", "margin", "phase", "facets", "touchpoints", "emotions",
                  "relevant", "offensive", "rating_stars", "rating_nps", "rating_csat", "rating_ces", "likes", "shares",
                  "replies", "engagement", "model_version", "reviewed", "corrected", "reason"]
TASK_TITLES = {"sentiment": "Stimmung", "phase": "Phase", "relevance": "Relevanz", "offensive": "Beleidigend",
               "sustainability": "Nachhaltigkeit", "facet": "Facetten", "touchpoint": "Touchpoints",
               "emotion": "Emotionen", "note": "Notiz", "churn": "Abwanderung"}
SENTIMENT_TITLES = {"negative": "negativ", "neutral": "neutral", "positive": "positiv"}


class BindError(RuntimeError):
    """The app would be reachable from other machines without a token."""


def is_local_host(host: str) -> bool:
    h = host.strip().strip("[]").lower()
    return h in ("localhost", "::1") or h.startswith("127.")


def check_bind(host: str, token: str | None) -> None:
    """Refuse a non-local bind address without a token (anyone on the network could read and write)."""
    if not is_local_host(host) and not token:
        raise BindError(f"refusing to serve on {host} without a token: pass --token or set CXNLP_REVIEW_TOKEN "
                        "(or bind to 127.0.0.1)")


def _plain(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(timezone.utc).isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return "; ".join(str(x) for x in v)
    if isinstance(v, float):
        return round(v, 4)
    return v


def _auth_value(token: str) -> str:
    return hmac.new(token.encode("utf-8"), b"cxnlp-review-session", hashlib.sha256).hexdigest()


def _safe_next(nxt: str | None) -> str:
    """Only same-site paths as redirect targets (no //host, no scheme, no backslash tricks)."""
    if not nxt or not nxt.startswith("/") or nxt.startswith("//") or "\\" in nxt or any(ord(c) < 32 for c in nxt):
        return "/"
    return nxt


class SecurityHeaders:
    """Adds CSP and friends to every response; no caching of pages (they carry data and tokens)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        static = scope.get("path", "").startswith("/static/")

        async def wrapped(message):
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() not in dict(SECURITY_HEADERS)]
                headers += SECURITY_HEADERS
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, wrapped)


class TokenGuard:
    """With a token, every request except static files and the login form must carry it."""

    def __init__(self, app, token: str | None):
        self.app = app
        self.token = token
        self.expected = _auth_value(token) if token else None

    def _ok(self, request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and hmac.compare_digest(auth[7:].strip().encode(), self.token.encode()):
            return True
        cookie = request.cookies.get(AUTH_COOKIE, "")
        return bool(cookie) and hmac.compare_digest(cookie.encode(), self.expected.encode())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self.token:
            return await self.app(scope, receive, send)
        request = Request(scope, receive)
        path = scope.get("path", "")
        if path.startswith("/static/") or path == "/login" or self._ok(request):
            return await self.app(scope, receive, send)
        given = request.query_params.get("token")
        if request.method == "GET" and given and hmac.compare_digest(given.encode(), self.token.encode()):
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = path + ("?" + urlencode(rest) if rest else "")
            resp = RedirectResponse(_safe_next(target), status_code=303)
            resp.set_cookie(AUTH_COOKIE, self.expected, httponly=True, samesite="strict", path="/")
            return await resp(scope, receive, send)
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            target = path + ("?" + request.url.query if request.url.query else "")
            resp = RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
        else:
            resp = JSONResponse({"error": "token required"}, status_code=401,
                                headers={"WWW-Authenticate": 'Bearer realm="cxnlp-review"'})
        return await resp(scope, receive, send)


# -- request helpers -----------------------------------------------------------------------------------------

def _berlin_midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=BERLIN).astimezone(timezone.utc)


def _parse_date(s: str | None) -> date | None:
    try:
        return date.fromisoformat(s) if s else None
    except ValueError:
        return None


def _parse_float(s: str | None, lo: float = 0.0, hi: float = 1.0) -> float | None:
    try:
        v = float(s) if s not in (None, "") else None
    except ValueError:
        return None
    return None if v is None or v != v else min(max(v, lo), hi)


def parse_filters(params) -> tuple[dict[str, Any], dict[str, str]]:
    """Store filters from query parameters, and the cleaned raw values (for the form and links)."""
    raw = {k: params.get(k, "").strip()[:200] for k in FILTER_KEYS if params.get(k, "").strip()}
    f: dict[str, Any] = {}
    for k in ("source", "channel", "language", "facet", "touchpoint", "phase", "sentiment", "emotion", "q"):
        if raw.get(k):
            f[k] = raw[k]
    if raw.get("period") in PERIODS:
        f["date_from"] = datetime.now(timezone.utc) - timedelta(days=PERIODS[raw["period"]])
    elif raw.get("period"):
        raw.pop("period")
    d0, d1 = _parse_date(raw.get("date_from")), _parse_date(raw.get("date_to"))
    if d0:
        f["date_from"] = max(f.get("date_from", _berlin_midnight(d0)), _berlin_midnight(d0))
    else:
        raw.pop("date_from", None)
    if d1:
        f["date_to"] = _berlin_midnight(d1 + timedelta(days=1))  # inclusive end date
    else:
        raw.pop("date_to", None)
    for k in ("conf_min", "conf_max"):
        v = _parse_float(raw.get(k))
        if v is None:
            raw.pop(k, None)
        else:
            f[k] = v
    if raw.get("status") in sql.STATUSES:
        f["status"] = raw["status"]
    else:
        raw.pop("status", None)
    if raw.get("disagreement") in ("1", "on", "true"):
        f["disagreement"] = True
        raw["disagreement"] = "1"
    else:
        raw.pop("disagreement", None)
    return f, raw


def _qs(pairs: dict[str, Any], **extra: Any) -> str:
    d = {k: v for k, v in {**pairs, **extra}.items() if v not in (None, "")}
    return urlencode(d)


class StoreHandle:
    """The app's read-write DuckDB connection, opened on demand. With ``idle_release`` seconds it is closed
    after that long without a request, so the nightly run (another process) can write the store; the next
    request opens it again."""

    def __init__(self, path: str | Path, idle_release: float | None = None):
        self.path = Path(path)
        self.idle_release = idle_release
        self._store: DuckDBStore | None = None
        self._lock = threading.Lock()
        self._inflight = 0
        self._last = time.monotonic()
        self._closed = False
        self._thread: threading.Thread | None = None
        self.opened = 0

    @property
    def is_open(self) -> bool:
        return self._store is not None

    def get(self) -> DuckDBStore:
        with self._lock:
            if self._closed:
                raise StoreError("the review app has shut down")
            if self._store is None:
                store = DuckDBStore(self.path)
                try:
                    sql.init(store)
                except BaseException:
                    store.close()
                    raise
                self._store = store
                self.opened += 1
                # the idle clock starts now: opening (and building the index) is no idle time, else a slow
                # open would be released before the request that asked for it
                self._last = time.monotonic()
                if self.idle_release and self._thread is None:
                    self._thread = threading.Thread(target=self._watch, name="cxnlp-review-idle", daemon=True)
                    self._thread.start()
            return self._store

    def enter(self) -> None:
        with self._lock:
            self._inflight += 1

    def leave(self) -> None:
        with self._lock:
            self._inflight -= 1
            self._last = time.monotonic()

    def release_if_idle(self, now: float | None = None) -> bool:
        with self._lock:
            now = time.monotonic() if now is None else now
            if (self._store is not None and self._inflight == 0 and self.idle_release is not None
                    and now - self._last >= self.idle_release):
                self._store.close()
                self._store = None
                return True
        return False

    def _watch(self) -> None:
        step = max(0.05, min(5.0, (self.idle_release or 5.0) / 4))
        while not self._closed:
            time.sleep(step)
            self.release_if_idle()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._store is not None:
                self._store.close()
                self._store = None


class InFlight:
    """Counts requests in progress (a streamed export included), so the store is never released under one."""

    def __init__(self, app, handle: StoreHandle):
        self.app = app
        self.handle = handle

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("path", "").startswith("/static/"):
            return await self.app(scope, receive, send)
        self.handle.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.handle.leave()


class ReviewApp:
    def __init__(self, store_path: str | Path, token: str | None = None, analyst: str | None = None,
                 taxonomy=None, refresh_every: float = 5.0, idle_release: float | None = None):
        self.handle = StoreHandle(store_path, idle_release)
        self.handle.get()  # fail early (missing folder, locked by another process) and build the index
        self.token = token
        self.default_analyst = analyst or os.environ.get("CXNLP_ANALYST") or _os_user()
        self.refresh_every = refresh_every
        self._sig = sql.index_signature(self.store)
        self._checked = time.monotonic()
        self._opened_seen = self.handle.opened
        self._options: tuple[float, dict[str, list[str]]] | None = None
        self.taxonomy = taxonomy if taxonomy is not None else _load_taxonomy()
        self.env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=True,
                               trim_blocks=True, lstrip_blocks=True)
        self.env.filters["dt"] = _fmt_dt
        self.env.filters["pct"] = lambda v: "" if v is None else f"{100 * float(v):.0f} %"
        self.env.filters["num"] = lambda v, d=2: "" if v is None else f"{float(v):.{d}f}"
        self.env.filters["jsonv"] = _fmt_value
        self.env.globals.update(TASK_TITLES=TASK_TITLES, SENTIMENT_TITLES=SENTIMENT_TITLES)

    @property
    def store(self) -> DuckDBStore:
        return self.handle.get()

    def close(self) -> None:
        self.handle.close()

    # -- data helpers --------------------------------------------------------------------------------------
    def fresh(self) -> None:
        """Pick up newly tagged feedback (the nightly run) at most every few seconds."""
        store = self.store
        if self.handle.opened != self._opened_seen:  # reopened: the index was refreshed on opening
            self._opened_seen = self.handle.opened
            self._sig = sql.index_signature(store)
            self._options = None
            self._checked = time.monotonic()
            return
        if time.monotonic() - self._checked < self.refresh_every:
            return
        self._checked = time.monotonic()
        sig = sql.index_signature(self.store)
        if sig != self._sig:
            sql.refresh_index(self.store)
            self._sig = sig
            self._options = None

    def options(self) -> dict[str, list[str]]:
        if self._options is None or time.monotonic() - self._options[0] > 60:
            opts = sql.facet_options(self.store)
            self._options = (time.monotonic(), opts)
        return self._options[1]

    def allowed_labels(self, task: str) -> list[str] | None:
        opts = self.options()
        tax = self.taxonomy
        if task == "sentiment":
            return list(sql.SENTIMENTS)
        if task == "phase":
            base = (tax.labels("phases") if tax else []) + ["unknown"]
            return list(dict.fromkeys(base + opts.get("phase", [])))
        if task in sql.LIST_TASKS:
            group = {"facet": "facets", "touchpoint": "touchpoints", "emotion": "emotions"}[task]
            base = tax.labels(group) if tax else []
            return list(dict.fromkeys(base + opts.get(task, [])))
        return None

    # -- rendering -------------------------------------------------------------------------------------------
    def csrf(self, request: Request) -> str:
        tok = request.cookies.get(CSRF_COOKIE, "")
        if not re.fullmatch(r"[A-Za-z0-9_\-]{32,64}", tok):
            tok = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(32)
            request.state.new_csrf = tok
        return tok

    def analyst(self, request: Request) -> str:
        name = request.cookies.get(ANALYST_COOKIE, "")
        return name if _valid_analyst(name) else self.default_analyst

    def render(self, request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        csrf = self.csrf(request)
        here = _safe_next(request.url.path + ("?" + request.url.query if request.url.query else ""))
        body = self.env.get_template(template).render(csrf=csrf, analyst=self.analyst(request), here=here, **ctx)
        resp = HTMLResponse(body, status_code=status)
        if getattr(request.state, "new_csrf", None):
            resp.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/")
        return resp

    async def post_data(self, request: Request) -> dict[str, list[str]]:
        """The body of a write, after the CSRF and origin checks (403 otherwise)."""
        origin = request.headers.get("origin")
        if origin and origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
            raise HTTPException(403, "cross-origin write refused")
        if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            raise HTTPException(403, "cross-site write refused")
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        chunks, size = [], 0
        async for chunk in request.stream():  # bounded: a write is a few form fields
            size += len(chunk)
            if size > MAX_BODY:
                raise HTTPException(413, "request too large")
            chunks.append(chunk)
        body = b"".join(chunks)
        data: dict[str, list[str]]
        if ctype == "application/json":
            try:
                obj = json.loads(body or b"{}")
            except ValueError:
                raise HTTPException(400, "invalid JSON") from None
            if not isinstance(obj, dict):
                raise HTTPException(400, "a JSON object is expected")
            data = {k: (v if isinstance(v, list) else [v]) for k, v in obj.items()}
            data = {k: [x if isinstance(x, str) else json.dumps(x) for x in v] for k, v in data.items()}
        elif ctype in ("application/x-www-form-urlencoded", ""):
            data = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        else:
            raise HTTPException(415, "form or JSON body expected")
        cookie = request.cookies.get(CSRF_COOKIE, "")
        sent = request.headers.get("x-csrf-token") or (data.get("csrf_token") or [""])[0]
        if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
            raise HTTPException(403, "missing or wrong CSRF token: reload the page")
        return data


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return "analyst"


def _valid_analyst(name: str) -> bool:
    return bool(name) and len(name) <= 64 and re.fullmatch(r"[\w .@\-]+", name) is not None


def _load_taxonomy():
    try:
        from cxnlp.classify.taxonomy import load_taxonomy

        return load_taxonomy()
    except Exception:  # noqa: BLE001 - the app works with the labels in the store alone
        return None


def _fmt_dt(v: Any) -> str:
    if isinstance(v, datetime):
        return v.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M")
    return "" if v is None else str(v)


def _fmt_value(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "ja" if v else "nein"
    if isinstance(v, list):
        return ", ".join(v) if v else "(keine)"
    return SENTIMENT_TITLES.get(v, str(v))


def highlight(text: str, tags: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The text cut into segments; each carries the tags whose evidence spans cover it (offsets are
    character positions into the stored text; out-of-range spans are ignored)."""
    spans = []
    for t in tags:
        for ev in t.get("evidence") or []:
            if not isinstance(ev, dict):
                continue
            s, e = ev.get("start"), ev.get("end")
            if isinstance(s, int) and isinstance(e, int) and 0 <= s < e <= len(text):
                spans.append((s, e, f"{t['task']}:{t['label']}", t["task"]))
    bounds = sorted({0, len(text)} | {s for s, *_ in spans} | {e for _, e, *_ in spans})
    out: list[dict[str, Any]] = []
    for a, b in zip(bounds, bounds[1:]):
        cover = [sp for sp in spans if sp[0] <= a and b <= sp[1]]
        tags_here = sorted({c[2] for c in cover})
        tasks = sorted({c[3] for c in cover})
        if out and out[-1]["tags"] == tags_here:
            out[-1]["text"] += text[a:b]
        else:
            out.append({"text": text[a:b], "tags": tags_here, "tasks": tasks})
    return out


# -- endpoints -----------------------------------------------------------------------------------------------

def create_app(store_path: str | Path, token: str | None = None, *, analyst: str | None = None,
               allowed_hosts: list[str] | None = None, taxonomy=None, refresh_every: float = 5.0,
               idle_release: float | None = None) -> Starlette:
    """The review app over the DuckDB store at ``store_path`` (opened read-write; with ``idle_release`` seconds
    closed again after that long without requests). With ``token`` every request must carry it; without, only
    local Host names are served unless ``allowed_hosts`` says otherwise."""
    ra = ReviewApp(store_path, token=token, analyst=analyst, taxonomy=taxonomy, refresh_every=refresh_every,
                   idle_release=idle_release)

    def st():
        return ra.store

    def context(request: Request) -> dict[str, str]:
        return {k: request.query_params.get(k, "")[:200] for k in CONTEXT_KEYS if request.query_params.get(k)}

    async def list_view(request: Request, queue: bool = False) -> Response:
        await run_in_threadpool(ra.fresh)
        filters, raw = parse_filters(request.query_params)
        sort = request.query_params.get("sort", "priority" if queue else "date")
        sort = sort if sort in sql.SORTS else "date"
        try:
            size = int(request.query_params.get("size", "50"))
        except ValueError:
            size = 50
        size = size if size in PAGE_SIZES else 50
        after, before = request.query_params.get("after"), request.query_params.get("before")
        if queue:
            page = await run_in_threadpool(sql.review_queue, st(), filters, after=after, before=before, limit=size)
            sort = "priority"
        else:
            page = await run_in_threadpool(sql.list_feedback, st(), filters, sort, after=after, before=before,
                                           limit=size)
        ctx = dict(raw, sort=sort if not queue else "", view="queue" if queue else "", size=str(size))
        ctx = {k: v for k, v in ctx.items() if v}
        item_ctx = dict(ctx)
        if queue:
            item_ctx.update(status="unreviewed", sort="priority")
        options = await run_in_threadpool(ra.options)
        return ra.render(request, "list.html", page=page, raw=raw, sort=sort, size=size, queue=queue,
                         options=options, sorts=list(sql.SORTS), statuses=sql.STATUSES, periods=list(PERIODS),
                         page_sizes=PAGE_SIZES, base="/queue" if queue else "/",
                         qs=_qs(ctx), item_qs=_qs(item_ctx), export_qs=_qs(dict(raw, sort=sort)),
                         next_qs=_qs(ctx, after=page["next"]) if page["next"] else None,
                         prev_qs=_qs(ctx, before=page["prev"]) if page["prev"] else None,
                         view="queue" if queue else "list")

    async def index(request: Request) -> Response:
        return await list_view(request)

    async def queue(request: Request) -> Response:
        return await list_view(request, queue=True)

    def item_url(fid: str, ctx: dict[str, str]) -> str:
        return f"/item/{fid}" + ("?" + _qs(ctx) if ctx else "")

    async def item(request: Request) -> Response:
        fid = request.path_params["fid"]
        data = await run_in_threadpool(sql.get_item, st(), fid)
        if data is None:
            return ra.render(request, "error.html", status=404, message="Diesen Eintrag gibt es nicht.")
        ctx = context(request)
        filters, raw = parse_filters(request.query_params)
        sort = ctx.get("sort") or ("priority" if ctx.get("view") == "queue" else "date")
        if ctx.get("view") == "queue":
            filters["status"] = "unreviewed"
            sort = "priority"
        nxt = await run_in_threadpool(sql.neighbour, st(), fid, filters, sort, "next")
        prv = await run_in_threadpool(sql.neighbour, st(), fid, filters, sort, "prev")
        fb = data["feedback"]
        tasks_ev = {}
        for t in data["tags"]:
            tasks_ev.setdefault(t["task"], []).append(t)
        list_ctx = {k: v for k, v in ctx.items()}
        back = ("/queue" if ctx.get("view") == "queue" else "/") + ("?" + _qs(
            {k: v for k, v in list_ctx.items() if k != "view"}) if list_ctx else "")
        labels = {t: ra.allowed_labels(t) for t in sql.SINGLE_TASKS + sql.LIST_TASKS}
        return ra.render(request, "item.html", item=data, fb=fb, tags=data["tags"], state=data["state"],
                         values=data["values"], model_values=data["model_values"], audit=data["audit"],
                         segments=highlight(fb["text"] or "", data["tags"]), tags_by_task=tasks_ev,
                         labels=labels, fid=fid, qs=_qs(ctx), back=back,
                         next_url=item_url(nxt, ctx) if nxt else None, prev_url=item_url(prv, ctx) if prv else None,
                         bool_tasks=sql.BOOL_TASKS, list_tasks=sql.LIST_TASKS, view="item")

    def done(request: Request, fid: str, payload: dict[str, Any]) -> Response:
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(payload, status_code=200)
        return RedirectResponse(item_url(fid, context(request)), status_code=303)

    async def correct(request: Request) -> Response:
        fid = request.path_params["fid"]
        data = await ra.post_data(request)
        task = (data.get("task") or [""])[0]
        note = (data.get("note") or [""])[0].strip()[:2000] or None
        if task not in sql.CORRECTABLE_TASKS:
            raise HTTPException(400, f"unknown task {task!r}")
        values = [v for v in data.get("value", []) if v != ""]
        if task in sql.LIST_TASKS:
            value: Any = values
        else:
            if len(values) != 1:
                raise HTTPException(400, "exactly one value expected")
            value = values[0]
        allowed = ra.allowed_labels(task)
        if allowed is not None:
            bad = [v for v in (value if isinstance(value, list) else [value]) if v not in allowed]
            if bad:
                raise HTTPException(400, f"unknown label for {task}: {bad[0]!r}")
        try:
            res = await run_in_threadpool(sql.add_correction, st(), fid, task, value, ra.analyst(request), note)
        except KeyError:
            raise HTTPException(404, "no such feedback") from None
        except ValueError as e:
            raise HTTPException(400, str(e)) from None
        return done(request, fid, {"ok": True, "correction": res})

    async def confirm(request: Request) -> Response:
        fid = request.path_params["fid"]
        data = await ra.post_data(request)
        note = (data.get("note") or [""])[0].strip()[:2000] or None
        try:
            res = await run_in_threadpool(sql.confirm_all, st(), fid, ra.analyst(request), note)
        except KeyError:
            raise HTTPException(404, "no such feedback") from None
        return done(request, fid, {"ok": True, "confirmed": len(res)})

    async def note(request: Request) -> Response:
        fid = request.path_params["fid"]
        data = await ra.post_data(request)
        text = (data.get("note") or [""])[0].strip()[:2000]
        try:
            res = await run_in_threadpool(sql.add_note, st(), fid, text, ra.analyst(request))
        except KeyError:
            raise HTTPException(404, "no such feedback") from None
        except ValueError as e:
            raise HTTPException(400, str(e)) from None
        return done(request, fid, {"ok": True, "note": res})

    async def audit(request: Request) -> Response:
        qp = request.query_params
        try:
            before_id = int(qp["before"]) if qp.get("before") else None
        except ValueError:
            before_id = None
        trail = await run_in_threadpool(sql.audit_trail, st(), qp.get("feedback_id") or None,
                                        qp.get("analyst") or None, qp.get("task") or None, before_id, 100)
        keep = {k: qp.get(k, "")[:200] for k in ("feedback_id", "analyst", "task") if qp.get(k)}
        return ra.render(request, "audit.html", rows=trail["rows"], keep=keep,
                         next_qs=_qs(keep, before=trail["next_before"]) if trail["next_before"] else None,
                         tasks=sql.CORRECTABLE_TASKS + (sql.NOTE_TASK,), view="audit")

    async def set_analyst(request: Request) -> Response:
        data = await ra.post_data(request)
        name = (data.get("analyst") or [""])[0].strip()
        if not _valid_analyst(name):
            raise HTTPException(400, "a name of letters, digits, space . @ - (at most 64)")
        resp = RedirectResponse(_safe_next((data.get("next") or ["/"])[0]), status_code=303)
        resp.set_cookie(ANALYST_COOKIE, name, httponly=True, samesite="strict", path="/", max_age=180 * 86400)
        return resp

    async def login(request: Request) -> Response:
        nxt = _safe_next(request.query_params.get("next"))
        if request.method == "GET":
            return ra.render(request, "login.html", next=nxt, error=None, view="login")
        data = await ra.post_data(request)
        given = (data.get("token") or [""])[0]
        nxt = _safe_next((data.get("next") or ["/"])[0])
        if not ra.token:
            return RedirectResponse(nxt, status_code=303)
        if not hmac.compare_digest(given.encode(), ra.token.encode()):
            return ra.render(request, "login.html", status=401, next=nxt, error="Falsches Token.", view="login")
        resp = RedirectResponse(nxt, status_code=303)
        resp.set_cookie(AUTH_COOKIE, _auth_value(ra.token), httponly=True, samesite="strict", path="/")
        return resp

    # -- exports ---------------------------------------------------------------------------------------------
    def export_args(request: Request) -> tuple[dict[str, Any], str, str]:
        filters, _ = parse_filters(request.query_params)
        sort = request.query_params.get("sort", "date")
        stamp = datetime.now(BERLIN).strftime("%Y%m%d-%H%M")
        return filters, sort if sort in sql.SORTS else "date", stamp

    def export_record(r: dict[str, Any]) -> list[Any]:
        return [safe_cell(_plain(r.get(c))) for c in EXPORT_COLUMNS]

    async def export_csv(request: Request) -> Response:
        filters, sort, stamp = export_args(request)

        def gen() -> Iterator[str]:
            buf = io.StringIO()
            w = csv.writer(buf, delimiter=";")
            buf.write("\ufeff")
            w.writerow(EXPORT_COLUMNS)
            for i, r in enumerate(sql.export_rows(st(), filters, sort)):
                w.writerow(export_record(r))
                if i % 500 == 499:
                    yield buf.getvalue()
                    buf.seek(0)
                    buf.truncate()
            yield buf.getvalue()

        return StreamingResponse(gen(), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="cxnlp-review-{stamp}.csv"'})

    async def export_xlsx(request: Request) -> Response:
        filters, sort, stamp = export_args(request)

        def build() -> bytes:
            from openpyxl import Workbook
            from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

            wb = Workbook(write_only=True)
            ws = wb.create_sheet("Feedback")
            ws.append(EXPORT_COLUMNS)
            for r in sql.export_rows(st(), filters, sort, max_rows=EXCEL_MAX_ROWS):
                ws.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in export_record(r)])
            with tempfile.TemporaryFile() as tmp:
                wb.save(tmp)
                tmp.seek(0)
                return tmp.read()

        body = await run_in_threadpool(build)
        return Response(body, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="cxnlp-review-{stamp}.xlsx"'})

    async def export_labelstudio(request: Request) -> Response:
        filters, sort, stamp = export_args(request)

        def gen() -> Iterator[str]:
            yield "["
            for i, r in enumerate(sql.export_rows(st(), filters, sort)):
                yield ("," if i else "") + "\n" + json.dumps(labelstudio_task(r), ensure_ascii=False)
            yield "\n]\n"

        return StreamingResponse(gen(), media_type="application/json",
                                 headers={"Content-Disposition":
                                          f'attachment; filename="cxnlp-review-{stamp}.labelstudio.json"'})

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def http_error(request: Request, exc: HTTPException) -> Response:
        if "text/html" in request.headers.get("accept", ""):
            return ra.render(request, "error.html", status=exc.status_code, message=str(exc.detail))
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    async def store_error(request: Request, exc: StoreError) -> Response:
        msg = ("Der Speicher ist gerade nicht verfügbar (läuft die nächtliche Verarbeitung?). "
               "Bitte in ein paar Minuten erneut versuchen.")
        if "text/html" in request.headers.get("accept", ""):
            return ra.render(request, "error.html", status=503, message=msg)
        return JSONResponse({"error": msg, "detail": str(exc)}, status_code=503)

    @asynccontextmanager
    async def lifespan(app):
        yield
        ra.close()

    routes = [
        Route("/", index), Route("/queue", queue), Route("/item/{fid}", item),
        Route("/item/{fid}/correct", correct, methods=["POST"]),
        Route("/item/{fid}/confirm", confirm, methods=["POST"]),
        Route("/item/{fid}/note", note, methods=["POST"]),
        Route("/audit", audit), Route("/analyst", set_analyst, methods=["POST"]),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/export.csv", export_csv), Route("/export.xlsx", export_xlsx),
        Route("/export.labelstudio.json", export_labelstudio), Route("/healthz", health),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    if allowed_hosts is None:
        allowed_hosts = ["*"] if token else list(LOCAL_HOSTS)
    middleware = [Middleware(SecurityHeaders), Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts),
                  Middleware(TokenGuard, token=token), Middleware(InFlight, handle=ra.handle)]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error, StoreError: store_error})
    app.state.review = ra
    return app


def labelstudio_task(r: dict[str, Any]) -> dict[str, Any]:
    """One Label Studio task: the text, the model's sentiment as a prediction and, when an analyst reviewed
    it, the effective sentiment as an annotation (labelling config: Choices name="sentiment" toName="text")."""
    def result(label: str) -> list[dict[str, Any]]:
        return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]

    task: dict[str, Any] = {
        "data": {"text": r.get("text") or "", "feedback_id": r["feedback_id"], "source": r.get("source"),
                 "channel": r.get("channel"), "created_at": _plain(r.get("created_at")),
                 "facets": r.get("facets") or [], "touchpoints": r.get("touchpoints") or []},
        "predictions": [],
    }
    if r.get("model_sentiment"):
        task["predictions"].append({"model_version": r.get("model_version") or "", "score": r.get("confidence"),
                                    "result": result(r["model_sentiment"])})
    if r.get("reviewed") and r.get("sentiment"):
        task["annotations"] = [{"result": result(r["sentiment"]), "was_cancelled": False}]
    return task


LABEL_STUDIO_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="negative"/><Choice value="neutral"/><Choice value="positive"/>
  </Choices>
</View>"""
