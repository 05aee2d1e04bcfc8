"""Webhook delivery: a JSON POST with retries (standard library only). Never raises: a receiver that is down,
slow or answers with an error gives a result that says so, and the monitor reports it and tries again on its
next run."""
from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger("cxnlp.alerts")

RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass
class WebhookConfig:
    url: str | None = None
    timeout_s: float = 10.0
    retries: int = 3              # attempts after the first
    backoff_s: float = 2.0        # wait before retry i: backoff_s * 2**i (a Retry-After header wins, capped)
    max_wait_s: float = 30.0
    headers: dict[str, str] = field(default_factory=dict)
    min_severity: str = "info"    # alerts below this severity are stored but not sent

    @classmethod
    def from_config(cls, d: dict[str, Any] | None, env_url: str | None = None) -> "WebhookConfig":
        d = dict(d or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"alerts config: unknown webhook key(s) {unknown}; allowed: {sorted(known)}")
        cfg = cls(**{k: v for k, v in d.items() if v is not None or k == "url"})
        if env_url is not None:
            cfg.url = env_url or None
        cfg.headers = {str(k): str(v) for k, v in (cfg.headers or {}).items()}
        return cfg


@dataclass
class DeliveryResult:
    ok: bool
    attempts: int
    status: int | None = None
    error: str | None = None
    url: str | None = None
    seconds: float = 0.0
    history: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def safe_url(url: str) -> str:
    """The URL without credentials, query or fragment (for logs and the store: tokens often live there)."""
    try:
        s = urlsplit(url)
        host = s.hostname or ""
        if s.port:
            host = f"{host}:{s.port}"
        return urlunsplit((s.scheme, host, s.path, "", ""))
    except ValueError:
        return "<invalid url>"


def post_json(url: str, payload: dict[str, Any], *, timeout_s: float = 10.0, retries: int = 3,
              backoff_s: float = 2.0, max_wait_s: float = 30.0, headers: dict[str, str] | None = None,
              sleep: Callable[[float], None] = time.sleep) -> DeliveryResult:
    """POST ``payload`` as JSON; retries on connection errors, timeouts and 408/425/429/5xx answers. 2xx is
    success; other 4xx answers are final (retrying the same request would not help)."""
    t0 = time.perf_counter()
    shown = safe_url(url)
    try:
        body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
    except (TypeError, ValueError) as e:
        return DeliveryResult(False, 0, None, f"payload is not JSON: {e}", shown)
    hdrs = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "cxnlp-alerts/1",
            **(headers or {})}
    history: list[str] = []
    status: int | None = None
    error: str | None = None
    attempts = 0
    for attempt in range(max(0, int(retries)) + 1):
        attempts = attempt + 1
        retry_after: float | None = None
        try:
            req = urllib.request.Request(url, data=body, headers=hdrs, method="POST")
            with urllib.request.urlopen(req, timeout=timeout_s) as resp:
                status = resp.status
                resp.read(65536)
            history.append(str(status))
            if 200 <= status < 300:
                return DeliveryResult(True, attempts, status, None, shown, round(time.perf_counter() - t0, 3), history)
            error = f"HTTP {status}"
        except urllib.error.HTTPError as e:
            status, error = e.code, f"HTTP {e.code}"
            history.append(str(e.code))
            ra = e.headers.get("Retry-After") if e.headers else None
            if ra and ra.strip().isdigit():
                retry_after = float(ra.strip())
            if e.code not in RETRY_STATUS:
                break
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
            reason = getattr(e, "reason", e)
            status, error = None, f"{type(e).__name__}: {reason}"
            history.append(error)
        except Exception as e:  # noqa: BLE001 - a webhook must never fail the run
            status, error = None, f"{type(e).__name__}: {e}"
            history.append(error)
            break
        if attempt < retries:
            wait = retry_after if retry_after is not None else backoff_s * (2 ** attempt)
            sleep(min(max(0.0, wait), max_wait_s))
    log.warning("webhook %s failed after %d attempt(s): %s", shown, attempts, error)
    return DeliveryResult(False, attempts, status, error, shown, round(time.perf_counter() - t0, 3), history)


def deliver(cfg: WebhookConfig, payload: dict[str, Any], sleep: Callable[[float], None] = time.sleep) -> DeliveryResult:
    if not cfg.url:
        return DeliveryResult(False, 0, None, "no webhook url configured", None)
    return post_json(cfg.url, payload, timeout_s=cfg.timeout_s, retries=cfg.retries, backoff_s=cfg.backoff_s,
                     max_wait_s=cfg.max_wait_s, headers=cfg.headers, sleep=sleep)
