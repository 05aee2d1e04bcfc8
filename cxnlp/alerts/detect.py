"""Burst detection over hourly series: pure functions, no SQL, no I/O.

The model (parameters in ``configs/alerts.yaml``, section ``detect``):

1. **Effective negatives.** Each hour's negative social events (originals and reposts) are weighted by reach and
   anger/disgust intensity (the weights are summed by the store); dividing by the baseline's mean weight per
   negative event puts them back on a count scale: ``y_t``. A burst of many high-reach, angry posts counts more
   than the same number of ignored, mildly annoyed ones.
2. **Seasonal baseline.** The expected value is ``mu_t = L_t * f_t``: ``f_t`` an hour-of-week factor in local time
   (hour-of-day x weekday, plus a shrunk hour-of-week interaction so that a regular Monday-morning peak is
   learned), estimated from the trailing ``profile_days`` of total social volume, excluding days that are outliers
   and hours inside episodes. ``L_t`` is the deseasonalised level: a ratio of exponentially discounted sums
   (the discounted Poisson MLE, half-life ``level_halflife_hours``), updated only outside episodes and with each
   hour's value capped at ``mu + update_cap_sd * sd`` (robust EWMA). The half-life makes it follow normal
   growth; the baseline negative *share* is tracked the same way.
3. **Count model.** Negative binomial with mean ``mu_t`` and dispersion ``k`` (method of moments on the
   baseline's residuals, re-estimated daily, clipped): overdispersed counts do not look like bursts. Weighted
   counts are compound Poisson (variance ``phi * mu``, ``phi = E[w^2] / E[w]^2`` of the baseline's weights), so
   the model is applied to ``y / phi`` (quasi-likelihood).
4. **Burst states.** Kleinberg's burst automaton (Kleinberg 2002, "Bursty and hierarchical structure in
   streams", the enumerated/batched form) with states ``0..burst_levels``: state ``j`` expects
   ``mu_t * burst_scale**j``; moving up one level costs ``gamma`` nats, moving down is free. Run causally:
   the state at hour t is the end of the cheapest state path over the data up to t (the Viterbi forward
   pass), so replaying history gives exactly what a live monitor would have said at that hour.
   Backtracking at the end gives the retrospective path (a better estimate of when a burst *started*).
5. **Episodes and severity.** Consecutive burst hours (gaps shorter than ``cooldown_hours`` bridged) form an
   episode; a burst within ``reopen_hours`` of an episode's end continues it. It becomes an alert once a
   severity rule holds on everything seen since its start: automaton level, excess effective negatives over the
   baseline (absolute and in standard deviations), lift of the negative share over the baseline share, and a
   minimum number of negative events. Requiring the share lift means more attention at the usual mix of
   opinions (a viral positive moment, growth) is no backlash. Severity only goes up within an episode.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Sequence
from zoneinfo import ZoneInfo

import numpy as np

SEVERITIES = ("info", "warning", "critical")
SEVERITY_RANK = {None: 0, "info": 1, "warning": 2, "critical": 3}
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class SeverityRule:
    name: str
    min_level: int
    min_excess: float
    min_share_lift: float
    min_posts: int
    min_z: float = 0.0


DEFAULT_SEVERITIES = (
    SeverityRule("info", 1, 8.0, 0.10, 8, 4.0),
    SeverityRule("warning", 2, 25.0, 0.15, 20, 5.0),
    SeverityRule("critical", 3, 75.0, 0.20, 50, 6.0),
)


@dataclass(frozen=True)
class DetectParams:
    timezone: str = "Europe/Berlin"
    warmup_days: int = 14
    level_halflife_hours: float = 96.0
    share_halflife_hours: float = 336.0
    profile_days: int = 56
    profile_prior_events: float = 10.0
    outlier_day_z: float = 4.0
    update_cap_sd: float = 3.0
    freeze_max_hours: int = 72
    mu_floor: float = 0.05
    dispersion_min: float = 1.0
    dispersion_max: float = 100.0
    burst_scale: float = 3.0
    burst_levels: int = 3
    gamma: float = 8.0
    cooldown_hours: int = 6
    reopen_hours: int = 24
    severities: tuple[SeverityRule, ...] = DEFAULT_SEVERITIES

    @classmethod
    def from_config(cls, d: dict[str, Any] | None) -> "DetectParams":
        d = dict(d or {})
        sev = d.pop("severities", None)
        known = {f for f in cls.__dataclass_fields__ if f != "severities"}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"alerts config: unknown detect parameter(s) {unknown}; allowed: {sorted(known)}")
        kw: dict[str, Any] = {}
        for k, v in d.items():
            default = getattr(cls, k)
            kw[k] = type(default)(v) if not isinstance(default, str) else str(v)
        if sev:
            rules = []
            for name in SEVERITIES:
                if name not in sev:
                    raise ValueError(f"alerts config: severities must define {SEVERITIES}, missing {name!r}")
                r = sev[name] or {}
                rules.append(SeverityRule(name, int(r.get("min_level", 1)), float(r.get("min_excess", 0.0)),
                                          float(r.get("min_share_lift", 0.0)), int(r.get("min_posts", 1)),
                                          float(r.get("min_z", 0.0))))
            kw["severities"] = tuple(rules)
        return cls(**kw)


@dataclass
class HourlySeries:
    """Aligned hourly arrays starting at ``start`` (UTC, on the hour). ``weighted`` is the reach/anger-weighted
    sum over negative events (defaults to ``negative``); ``exposure`` the observed fraction of each hour (the
    current hour of a live run is partial)."""

    start: datetime
    total: np.ndarray
    negative: np.ndarray
    weighted: np.ndarray | None = None
    exposure: np.ndarray | None = None
    weighted_sq: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            self.start = self.start.replace(tzinfo=timezone.utc)
        self.start = self.start.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
        self.total = np.asarray(self.total, dtype=float)
        self.negative = np.asarray(self.negative, dtype=float)
        self.weighted = self.negative.copy() if self.weighted is None else np.asarray(self.weighted, dtype=float)
        self.exposure = np.ones(len(self.total)) if self.exposure is None else np.asarray(self.exposure, dtype=float)
        if self.weighted_sq is None:  # without per-event squares: as if all events of an hour weighed the same
            self.weighted_sq = np.where(self.negative > 0, self.weighted ** 2 / np.maximum(self.negative, 1), 0.0)
        self.weighted_sq = np.asarray(self.weighted_sq, dtype=float)
        n = len(self.total)
        if not (len(self.negative) == len(self.weighted) == len(self.exposure) == len(self.weighted_sq) == n):
            raise ValueError("HourlySeries: arrays differ in length")

    def __len__(self) -> int:
        return len(self.total)

    def hour(self, i: int) -> datetime:
        return self.start + i * HOUR

    def index(self, t: datetime) -> int:
        if t.tzinfo is None:
            t = t.replace(tzinfo=timezone.utc)
        return int((t - self.start) // HOUR)

    @classmethod
    def from_rows(cls, rows: Iterable[dict[str, Any]], start: datetime, end: datetime) -> "HourlySeries":
        """Zero-filled series for [start, end) from rows {hour, total, negative, weighted} (hours missing = 0).
        A partial last hour (end not on the hour) gets its exposure."""
        start = _floor_hour(start)
        n = max(0, math.ceil((end - start) / HOUR))
        total, neg, w, w2 = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
        for r in rows:
            h = r["hour"]
            h = h.replace(tzinfo=timezone.utc) if h.tzinfo is None else h
            i = int((h - start) // HOUR)
            if 0 <= i < n:
                total[i] += r["total"]
                neg[i] += r["negative"]
                w[i] += r.get("weighted", r["negative"]) or 0.0
                w2[i] += r.get("weighted_sq", r["negative"]) or 0.0
        exposure = np.ones(n)
        if n:
            exposure[-1] = min(1.0, max(1e-3, (end - (start + (n - 1) * HOUR)) / HOUR))
        return cls(start, total, neg, w, exposure, w2)


@dataclass
class Episode:
    """One burst episode (indices into the series)."""

    start: int                     # first burst hour (causal)
    start_retro: int               # first burst hour of the retrospective (Viterbi) path
    last_burst: int                # last hour in a burst state
    until: int = -1                # last hour whose data is in the episode's figures
    closed: bool = False           # cooldown passed after the last burst hour
    raised_at: int | None = None   # hour whose end the alert was raised at (None: never met a severity rule)
    severity: str | None = None
    severity_at: dict[str, int] = field(default_factory=dict)
    max_level: int = 0
    peak: int = 0
    peak_y: float = 0.0
    excess: float = 0.0            # effective negatives above the baseline
    variance: float = 0.0          # of the effective negatives under the baseline model
    expected: float = 0.0          # effective negatives the baseline expected
    observed: float = 0.0          # effective negatives seen
    negative: float = 0.0          # negative events (count)
    total: float = 0.0             # all social events (count)
    share0: float = 0.0            # baseline negative share when the episode started
    hours: int = 0

    @property
    def share(self) -> float:
        return self.negative / self.total if self.total else 0.0

    @property
    def z(self) -> float:
        """The excess in standard deviations of the baseline model (over the whole episode so far)."""
        return self.excess / math.sqrt(self.variance) if self.variance > 0 else 0.0

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected > 0 else float("inf")


@dataclass
class Detection:
    series: HourlySeries
    params: DetectParams
    y: np.ndarray          # effective negatives
    mu: np.ndarray         # their expected value
    z: np.ndarray          # (y - mu) / sd under the negative binomial
    state: np.ndarray      # causal automaton state per hour
    path: np.ndarray       # retrospective (Viterbi) state per hour
    factor: np.ndarray     # seasonal factor per hour
    share0: np.ndarray     # baseline negative share per hour
    dispersion: np.ndarray
    severity: list[str | None]
    episodes: list[Episode]

    def hour(self, i: int) -> datetime:
        return self.series.hour(i)

    @property
    def alerts(self) -> list[Episode]:
        return [e for e in self.episodes if e.raised_at is not None]


# ---------------------------------------------------------------------------------------------- helpers
def _floor_hour(t: datetime) -> datetime:
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


def local_calendar(start: datetime, n: int, tz: str) -> tuple[np.ndarray, np.ndarray]:
    """(hour-of-week slot 0..167 with Monday 0:00 = 0, local day ordinal) for n hours from ``start``."""
    zone = ZoneInfo(tz)
    slots = np.empty(n, dtype=np.int64)
    days = np.empty(n, dtype=np.int64)
    for i in range(n):
        loc = (start + i * HOUR).astimezone(zone)
        slots[i] = loc.weekday() * 24 + loc.hour
        days[i] = loc.toordinal()
    return slots, days


def seasonal_profile(slots: np.ndarray, counts: np.ndarray, weights: np.ndarray | None = None,
                     prior_events: float = 10.0) -> np.ndarray:
    """168 multiplicative hour-of-week factors (mean 1 over the hours given).

    hour-of-day and weekday factors, then an hour-of-week interaction, each shrunk towards the simpler model
    with ``prior_events`` pseudo-events: factor = (observed + prior) / (expected + prior)."""
    w = np.ones(len(counts)) if weights is None else np.asarray(weights, dtype=float)  # observed part of each hour
    c = np.where(w > 0, np.asarray(counts, dtype=float), 0.0)
    n_hours = w.sum()
    if n_hours <= 0 or c.sum() <= 0:
        return np.ones(168)
    rate = c.sum() / n_hours
    hod, dow = slots % 24, slots // 24
    f_h = np.ones(24)
    f_d = np.ones(7)
    for _ in range(2):  # two back-fitting rounds of the two main effects
        exp_h = np.bincount(hod, weights=w * rate * f_d[dow], minlength=24)
        obs_h = np.bincount(hod, weights=c, minlength=24)
        f_h = (obs_h + prior_events) / (exp_h + prior_events)
        exp_d = np.bincount(dow, weights=w * rate * f_h[hod], minlength=7)
        obs_d = np.bincount(dow, weights=c, minlength=7)
        f_d = (obs_d + prior_events) / (exp_d + prior_events)
    base = f_h[np.arange(168) % 24] * f_d[np.arange(168) // 24]
    exp_s = np.bincount(slots, weights=w * rate * base[slots], minlength=168)
    obs_s = np.bincount(slots, weights=c, minlength=168)
    prof = base * (obs_s + prior_events) / (exp_s + prior_events)
    mean = (prof[slots] * w).sum() / n_hours
    return prof / mean if mean > 0 else np.ones(168)


def outlier_days(days: np.ndarray, counts: np.ndarray, mask: np.ndarray, z: float) -> set[int]:
    """Local days whose total is a robust outlier (median + z * max(1.4826 MAD, sqrt(median), 1))."""
    uniq, inv = np.unique(days[mask], return_inverse=True)
    if len(uniq) < 5:
        return set()
    tot = np.bincount(inv, weights=counts[mask])
    med = float(np.median(tot))
    mad = float(np.median(np.abs(tot - med))) * 1.4826
    limit = med + z * max(mad, math.sqrt(max(med, 0.0)), 1.0)
    return {int(d) for d, t in zip(uniq, tot) if t > limit}


def nb_cost(y: float, mu: np.ndarray, k: float) -> np.ndarray:
    """Negative log-likelihood of y under NB(mean mu, dispersion k), up to terms that do not depend on mu."""
    return -(k * np.log(k / (k + mu)) + y * np.log(mu / (k + mu)))


# ---------------------------------------------------------------------------------------------- detection
def detect(series: HourlySeries, params: DetectParams | None = None) -> Detection:
    """Baseline, scores, causal burst states, retrospective path and episodes for one series."""
    p = params or DetectParams()
    n = len(series)
    slots, days = local_calendar(series.start, n, p.timezone)
    lam_l = 2.0 ** (-1.0 / p.level_halflife_hours)
    lam_s = 2.0 ** (-1.0 / p.share_halflife_hours)
    warm = p.warmup_days * 24
    K = p.burst_levels
    scales = p.burst_scale ** np.arange(K + 1)
    up_cost = p.gamma * np.maximum(0, np.arange(K + 1)[None, :] - np.arange(K + 1)[:, None])  # [from, to]

    y = np.zeros(n); mu = np.zeros(n); z = np.zeros(n); fac = np.ones(n); phi = np.ones(n); var = np.zeros(n)
    state = np.zeros(n, dtype=np.int64); share0 = np.zeros(n); disp = np.zeros(n)
    in_episode = np.zeros(n, dtype=bool)
    sev_per_hour: list[str | None] = [None] * n
    back = np.zeros((n, K + 1), dtype=np.int64)
    episodes: list[Episode] = []

    s_y = s_f = 0.0            # discounted sums for the level
    s_neg = s_tot = 0.0        # ... for the baseline negative share
    s_w = s_c = s_w2 = 0.0     # ... for the mean weight per negative event and its spread
    profile = np.ones(168)
    k = p.dispersion_max
    cost = None
    cur_day = None
    first = slice(0, min(n, 7 * 24))  # initial weight scale only (until the baseline has its own)
    c0, w0s, w0q = (float(a[first].sum()) for a in (series.negative, series.weighted, series.weighted_sq))
    w0 = w0s / c0 if c0 > 0 and w0s > 0 else 1.0
    phi0 = float(np.clip(w0q * c0 / w0s ** 2, 1.0, 10.0)) if c0 > 0 and w0s > 0 else 1.0
    ep: Episode | None = None
    quiet = 0

    for t in range(n):
        if days[t] != cur_day:  # daily: seasonal profile and dispersion from the trailing history
            cur_day = days[t]
            lo = max(0, t - p.profile_days * 24)
            if t - lo >= 24:
                hist = np.arange(lo, t)
                mask = ~in_episode[hist]
                bad = outlier_days(days[hist], series.total[hist], mask, p.outlier_day_z)
                if bad:
                    mask &= ~np.isin(days[hist], list(bad))
                w = mask * series.exposure[hist]
                profile = seasonal_profile(slots[hist], series.total[hist], w, p.profile_prior_events)
                use = hist[(hist >= 72) & mask]
                if len(use) >= 48:
                    m, yy = mu[use] / phi[use], y[use] / phi[use]  # on the Poisson scale (quasi-likelihood)
                    num = float((m ** 2).sum())
                    den = float(((yy - m) ** 2 - m).sum())
                    k = p.dispersion_max if den <= 0 else float(np.clip(num / den, p.dispersion_min, p.dispersion_max))
        e = series.exposure[t]
        f = profile[slots[t]]
        fac[t] = f
        wbar = s_w / s_c if s_c > 0 else w0
        wbar = wbar if wbar > 0 else 1.0
        y[t] = series.weighted[t] / wbar
        # weights spread the variance: y is compound Poisson with var = phi * mu, phi = E[w^2] / E[w]^2
        phi[t] = float(np.clip(s_w2 * s_c / s_w ** 2, 1.0, 10.0)) if s_w > 0 and s_c > 0 else phi0
        level = s_y / s_f if s_f > 0 else 0.0
        mu[t] = max(level * f, p.mu_floor) * e
        share0[t] = s_neg / s_tot if s_tot > 0 else 0.0
        disp[t] = k
        var[t] = phi[t] * mu[t] + mu[t] ** 2 / k
        sd = math.sqrt(var[t])
        z[t] = (y[t] - mu[t]) / sd if sd > 0 else 0.0

        # Kleinberg automaton, forward (Viterbi) pass
        if t >= warm:
            c_t = nb_cost(y[t] / phi[t], mu[t] / phi[t] * scales, k)
            if cost is None:
                prev = np.full(K + 1, np.inf); prev[0] = 0.0
            else:
                prev = cost
            tot = prev[:, None] + up_cost
            back[t] = np.argmin(tot, axis=0)
            cost = c_t + tot[back[t], np.arange(K + 1)]
            cost -= cost.min()
            state[t] = int(np.argmin(cost))

        # episodes (causal)
        if state[t] > 0:
            if ep is None:
                last = episodes[-1] if episodes else None
                if last is not None and t - last.last_burst <= p.reopen_hours:
                    ep = last  # a burst flaring up again soon (e.g. the next evening) continues its episode
                    ep.closed = False
                    for g in range(ep.until + 1, t):
                        _accumulate(ep, g, y, mu, var, series)
                else:
                    ep = Episode(start=t, start_retro=t, last_burst=t, share0=share0[t])
                    episodes.append(ep)
            ep.last_burst = t
            quiet = 0
        elif ep is not None:
            quiet += 1
        if ep is not None:
            in_episode[t] = True
            ep.max_level = max(ep.max_level, int(state[t]))
            _accumulate(ep, t, y, mu, var, series)
            sev = _severity(ep, p.severities)
            if SEVERITY_RANK[sev] > SEVERITY_RANK[ep.severity]:
                for r in p.severities:
                    if SEVERITY_RANK[r.name] <= SEVERITY_RANK[sev] and r.name not in ep.severity_at:
                        ep.severity_at[r.name] = t
                ep.severity = sev
                if ep.raised_at is None:
                    ep.raised_at = t
            sev_per_hour[t] = ep.severity
            if state[t] == 0 and quiet >= p.cooldown_hours:
                ep.closed = True
                ep = None

        # baseline updates (outside episodes; in long episodes the level resumes, capped)
        inside = in_episode[t]
        if not inside or (ep is not None and t - ep.start >= p.freeze_max_hours):
            cap = mu[t] + p.update_cap_sd * sd if t >= 72 else math.inf  # no cap while the level forms
            s_y = lam_l * s_y + min(y[t], cap)
            s_f = lam_l * s_f + f * e
        if not inside:
            s_neg = lam_s * s_neg + series.negative[t]
            s_tot = lam_s * s_tot + series.total[t]
            s_w = lam_s * s_w + series.weighted[t]
            s_c = lam_s * s_c + series.negative[t]
            s_w2 = lam_s * s_w2 + series.weighted_sq[t]

    # retrospective path: backtrack from the cheapest final state
    path = np.zeros(n, dtype=np.int64)
    if cost is not None:
        j = int(np.argmin(cost))
        for t in range(n - 1, warm - 1, -1):
            path[t] = j
            j = int(back[t, j])
    for e_ in episodes:
        i = e_.start
        if path[i] > 0:
            while i - 1 >= warm and path[i - 1] > 0:
                i -= 1
        e_.start_retro = i
    return Detection(series, p, y, mu, z, state, path, fac, share0, disp, sev_per_hour, episodes)


def _accumulate(ep: Episode, t: int, y: np.ndarray, mu: np.ndarray, var: np.ndarray, series: HourlySeries) -> None:
    ep.hours += 1
    ep.variance += var[t]
    ep.until = t
    ep.expected += mu[t]
    ep.observed += y[t]
    ep.excess += y[t] - mu[t]
    ep.negative += series.negative[t]
    ep.total += series.total[t]
    if y[t] > ep.peak_y:
        ep.peak_y, ep.peak = float(y[t]), t


def _severity(ep: Episode, rules: Sequence[SeverityRule]) -> str | None:
    lift = ep.share - ep.share0
    best = None
    for r in rules:
        if (ep.max_level >= r.min_level and ep.excess >= r.min_excess and lift >= r.min_share_lift
                and ep.negative >= r.min_posts and ep.z >= r.min_z):
            if SEVERITY_RANK[r.name] > SEVERITY_RANK[best]:
                best = r.name
    return best


def trend(det: Detection, ep: Episode, upto: int | None = None, hours: int = 6) -> str:
    """rising | stable | falling: the last ``hours`` of effective negatives against the ``hours`` before."""
    end = (len(det.series) - 1) if upto is None else upto
    end = min(end, ep.last_burst + det.params.cooldown_hours)
    a = det.y[max(ep.start, end - hours + 1):end + 1].sum()
    b = det.y[max(ep.start, end - 2 * hours + 1):max(ep.start, end - hours + 1)].sum()
    if ep.closed:
        return "ended"
    if b <= 0:
        return "rising"
    r = a / b
    return "rising" if r > 1.25 else "falling" if r < 0.8 else "stable"
