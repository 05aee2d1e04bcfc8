"""Deterministic sample-data generator for the fictitious retailer "Lumora".

    python -m cxnlp.samplegen OUT_DIR [--seed N] [--days D] [--scale S]

Writes five exports in the formats real tools produce (see :func:`generate`), covering 90 days that end on
2026-11-20, with two planted episodes and a handful of broken rows per file:

* Backlash: the campaign #LumoraLiebe starts on ``campaign`` (2026-10-27 10:00 Berlin); angry social posts
  rise within hours, peak in the first 24 h and decay over about four days.  Review stars do not drop at
  once; a mild dip starts ``dip`` (2026-11-05, nine days later).
* Emerging topic: complaints about the new "Graspapier" packaging from ``gras`` (2026-10-05), growing week
  over week, in reviews, tickets, social posts and survey comments.

Everything is drawn from ``random.Random`` instances seeded from ``seed`` and the file name, so the same
seed gives byte-identical files.  :func:`iter_records` streams synthetic records for benchmarks.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import math
import random
import sys
import time
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence
from zoneinfo import ZoneInfo

from cxnlp.sample_phrases import app as P_APP
from cxnlp.sample_phrases import common as C
from cxnlp.sample_phrases import episodes as EP
from cxnlp.sample_phrases import reviews as P_REV
from cxnlp.sample_phrases import social as P_SOC
from cxnlp.sample_phrases import survey as P_SUR
from cxnlp.sample_phrases import tickets as P_TIC

BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc
DEFAULT_END = date(2026, 11, 20)
# Episode dates relative to the last day (defaults: 2026-10-27, 2026-10-05, 2026-11-05).
CAMPAIGN_DAYS_BEFORE_END = 24
CAMPAIGN_HOUR = 10
GRAS_DAYS_BEFORE_END = 46
DIP_DELAY_DAYS = 9

FILES = ("shop_reviews.csv", "app_reviews.jsonl", "social_posts.jsonl", "tickets.csv", "survey.parquet")
BASE_ROWS = {"shop_reviews.csv": 1500, "app_reviews.jsonl": 800, "social_baseline": 1400,
             "social_backlash": 540, "tickets.csv": 800, "survey.parquet": 400}

# Marker for a byte that is invalid in the file's encoding; replaced after encoding.
BAD_BYTE_MARK = "\ue000"


# ----------------------------------------------------------------------------------------------- timeline
@dataclass(frozen=True)
class Timeline:
    start: date
    end: date
    campaign: datetime  # Berlin, tz-aware
    gras: date
    dip: date

    @classmethod
    def build(cls, end: date, days: int) -> "Timeline":
        campaign_day = end - timedelta(days=CAMPAIGN_DAYS_BEFORE_END)
        return cls(
            start=end - timedelta(days=days - 1),
            end=end,
            campaign=datetime(campaign_day.year, campaign_day.month, campaign_day.day, CAMPAIGN_HOUR, tzinfo=BERLIN),
            gras=end - timedelta(days=GRAS_DAYS_BEFORE_END),
            dip=campaign_day + timedelta(days=DIP_DELAY_DAYS),
        )

    def days(self) -> list[date]:
        n = (self.end - self.start).days + 1
        return [self.start + timedelta(days=i) for i in range(n)]

    def gras_share(self, d: date, base: float = 0.025, cap: float = 0.30) -> float:
        """Share of feedback about the Graspapier packaging: 0 before the start, then growing ~1.5x a week."""
        if d < self.gras:
            return 0.0
        weeks = (d - self.gras).days / 7.0
        return min(cap, base * 1.5 ** weeks)

    def dip_share(self, d: date) -> float:
        """Share of reviews pulled down by the campaign: 0 until ``dip``, ramping to 12 % over ten days."""
        if d < self.dip:
            return 0.0
        return min(0.12, 0.03 + 0.009 * (d - self.dip).days)

    def after_campaign(self, dt: datetime) -> bool:
        return dt >= self.campaign


def rng_for(seed: int, name: str) -> random.Random:
    """An independent generator per file: changing one file's recipe leaves the others unchanged."""
    return random.Random(f"cxnlp-sample:{seed}:{name}")


# Relative activity by hour of day (local time) and weekday (Mon=0).
HOURS_DAYTIME = (1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 4, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 5, 3, 2)
HOURS_EVENING = (2, 1, 0.5, 0.3, 0.2, 0.3, 0.8, 1.5, 2.5, 3, 3.5, 4, 4.5, 4, 4, 4, 4.5, 5, 6.5, 8, 9, 9, 7, 4)
HOURS_OFFICE = (0, 0, 0, 0, 0, 0, 0, 0.5, 6, 7, 7, 6.5, 5, 5.5, 6, 5.5, 5, 4.5, 3.5, 2.5, 0, 0, 0, 0)
HOURS_CHAT = (0, 0, 0, 0, 0, 0, 0, 0.3, 4, 5, 5, 5, 4.5, 5, 5, 5, 5, 5, 5, 5.5, 5, 4, 0.5, 0)
WEEKDAYS_SHOP = (1.0, 1.05, 1.05, 1.0, 0.95, 0.85, 1.15)
WEEKDAYS_WORK = (1.5, 1.2, 1.1, 1.05, 1.0, 0.45, 0.3)
WEEKDAYS_SOCIAL = (1.0, 1.0, 1.0, 1.05, 1.05, 0.95, 0.95)


def sample_times(rng: random.Random, n: int, tl: Timeline, weight: Callable[[date, int], float]) -> list[datetime]:
    """n sorted Berlin-local timestamps; ``weight(day, hour)`` gives the relative intensity of each hour."""
    cells: list[tuple[date, int]] = []
    cum: list[float] = []
    total = 0.0
    for d in tl.days():
        for h in range(24):
            w = weight(d, h)
            if w > 0:
                total += w
                cells.append((d, h))
                cum.append(total)
    out = []
    for _ in range(n):
        d, h = cells[bisect_left(cum, rng.random() * total)]
        out.append(datetime(d.year, d.month, d.day, h, rng.randrange(60), rng.randrange(60), tzinfo=BERLIN))
    out.sort()
    return out


def hourly(hours: Sequence[float], weekdays: Sequence[float], trend: float = 0.0,
           tl: Timeline | None = None) -> Callable[[date, int], float]:
    """A weight function: hour profile x weekday profile x a linear trend over the period."""
    span = max(1, (tl.end - tl.start).days) if tl else 1

    def w(d: date, h: int) -> float:
        t = ((d - tl.start).days / span) if tl else 0.0
        return hours[h] * weekdays[d.weekday()] * (1.0 + trend * t)

    return w


# ----------------------------------------------------------------------------------------------- text helpers
def pick(rng: random.Random, seq: Sequence[Any]) -> Any:
    return seq[int(rng.random() * len(seq))]


def weighted(rng: random.Random, weights: dict[str, float]) -> str:
    total = sum(weights.values())
    x = rng.random() * total
    for k, w in weights.items():
        x -= w
        if x < 0:
            return k
    return k


def money(rng: random.Random) -> str:
    euros = pick(rng, (9, 12, 14, 19, 24, 29, 34, 39, 49, 59, 69, 79, 89, 99, 119, 129, 149, 199))
    return f"{euros},{pick(rng, ('99', '95', '90', '00'))} €"


def context(rng: random.Random, tl: Timeline | None = None, when: date | None = None,
            product: tuple[str, str, str] | None = None) -> dict[str, str]:
    """Values for every template slot (see cxnlp.sample_phrases)."""
    name, g, _cat = product or pick(rng, C.PRODUCTS)
    city, plz = pick(rng, C.CITIES)
    nom = f"{C.ARTICLE_NOM[g]} {name}"
    mitarbeiter = pick(rng, C.MITARBEITER)
    ordered = (when or DEFAULT_END) - timedelta(days=rng.randint(3, 20))
    return {
        "produkt": nom, "Produkt": nom[0].upper() + nom[1:], "produkt_akk": f"{C.ARTICLE_AKK[g]} {name}",
        "name": name, "er": C.PRONOUN_NOM[g], "Er": C.PRONOUN_NOM[g].capitalize(), "ihn": C.PRONOUN_AKK[g],
        "tage": str(rng.randint(3, 14)), "wochen": str(rng.randint(2, 8)), "stadt": city,
        "betrag": money(rng), "mitarbeiter": mitarbeiter, "Mitarbeiter": mitarbeiter[0].upper() + mitarbeiter[1:],
        "punkte": str(rng.randrange(50, 900, 10)), "version": pick(rng, P_APP.APP_VERSIONS_ANDROID),
        "bestellnr": f"LM{rng.randrange(10**8, 10**9)}", "datum": ordered.strftime("%d.%m.%Y"),
        "kundennr": str(rng.randrange(10**7, 10**8)), "telefon": phone(rng), "iban": iban(rng),
        "adresse": f"{pick(rng, C.STREETS)} {rng.randint(1, 140)}{pick(rng, ('', '', '', 'a', 'b'))}, {plz} {city}",
        "email2": f"{pick(rng, C.FIRST_NAMES).lower()}.{rng.randint(1, 99)}@{pick(rng, C.EMAIL_DOMAINS)}",
    }


def fill(template: str, ctx: dict[str, str]) -> str:
    return template.format_map(ctx) if "{" in template else template


def phone(rng: random.Random) -> str:
    area = pick(rng, ("30", "40", "89", "221", "69", "711", "211", "341", "201", "421"))
    mobile = pick(rng, ("151", "160", "170", "171", "172", "176", "157", "162"))
    num = str(rng.randrange(10**6, 10**8))
    style = rng.randrange(6)
    if style == 0:
        return f"+49 (0){area} {num}"
    if style == 1:
        return f"0{mobile}/{num[:7]}"
    if style == 2:
        return f"0{area}-{num}"
    if style == 3:
        return f"0{mobile} {num[:3]} {num[3:7]}"
    if style == 4:
        return f"+49 {mobile} {num[:7]}"
    return f"(0{area}) {num[:6]}"


def iban(rng: random.Random) -> str:
    """A German IBAN with a valid mod-97 check, spaced in groups of four; now and then the textbook example."""
    if rng.random() < 0.15:
        return "DE89 3704 0044 0532 0130 00"
    bban = f"{rng.randrange(10**7, 10**8)}{rng.randrange(10**9, 10**10):010d}"
    check = 98 - int(bban + "131400") % 97  # D=13, E=14, then "00"
    raw = f"DE{check:02d}{bban}"
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def person(rng: random.Random) -> tuple[str, str]:
    return pick(rng, C.FIRST_NAMES), pick(rng, C.LAST_NAMES)


def email_of(rng: random.Random, first: str, last: str) -> str:
    table = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ı": "i", "ş": "s", "Ş": "s", "ğ": "g"})
    f, l = first.lower().translate(table), last.lower().translate(table)
    local = pick(rng, (f"{f}.{l}", f"{f[0]}.{l}", f"{f}{l}{rng.randint(1, 99)}", f"{l}.{f}",
                       f"{f}_{rng.randint(60, 99)}"))
    return f"{local}@{pick(rng, C.EMAIL_DOMAINS)}"


# ----------------------------------------------------------------------------------------------- noise on text
_UMLAUT_ASCII = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})
_UMLAUT_DROP = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "Ä": "A", "Ö": "O", "Ü": "U", "ß": "s"})


def typo(rng: random.Random, text: str) -> str:
    """One keyboard slip in a random word of four or more letters: swap, drop or double a letter."""
    words = text.split(" ")
    idx = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not idx:
        return text
    i = pick(rng, idx)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    elif kind == 1:
        w = w[:j] + w[j + 1:]
    else:
        w = w[:j] + w[j] + w[j:]
    words[i] = w
    return " ".join(words)


def roughen(rng: random.Random, text: str, pol: str, *, emoji: bool = True, rate: float = 1.0) -> str:
    """Make a clean text look typed: typos, missing umlauts, lower case, shouting, emoji or ASCII smileys."""
    r = rng.random
    if r() < 0.16 * rate:
        text = typo(rng, text)
        if r() < 0.25:
            text = typo(rng, text)
    if r() < 0.07 * rate:
        text = text.translate(_UMLAUT_ASCII if r() < 0.6 else _UMLAUT_DROP)
    if r() < 0.10 * rate:
        text = text.lower()
    if pol == "neg" and r() < 0.12 * rate:
        text = text.replace("!", "!!!").replace(".", "!!", 1)
    if r() < 0.04 * rate and pol == "neg":
        text = text.upper() if len(text) < 80 else text
    if r() < (0.3 if emoji else 0.1) * rate:
        if emoji:
            bank = C.EMOJI_POS if pol == "pos" else C.EMOJI_NEG if pol == "neg" else C.EMOJI_NEU
            mark = pick(rng, bank) * (1 + (r() < 0.3) + (r() < 0.15))
        else:
            mark = pick(rng, C.ASCII_SMILEYS_POS if pol == "pos" else C.ASCII_SMILEYS_NEG if pol == "neg" else (":-)",))
        text = f"{text} {mark}"
    return text


# ----------------------------------------------------------------------------------------------- reviews
STAR_WEIGHTS = (17, 8, 10, 20, 45)  # 1..5: the usual J-shape of shop reviews
POLARITY_BY_STARS = {  # noisy link between stars and what the text says
    1: {"neg": 90, "neu": 7, "pos": 3}, 2: {"neg": 75, "neu": 20, "pos": 5}, 3: {"neg": 30, "neu": 50, "pos": 20},
    4: {"pos": 68, "neu": 22, "neg": 10}, 5: {"pos": 88, "neu": 9, "neg": 3},
}


def draw_stars(rng: random.Random, shift: float = 0.0) -> int:
    """Stars from the J-shape, with ``shift`` (negative: worse) moving mass between the ends."""
    w = list(STAR_WEIGHTS)
    if shift:
        w[0] *= 1 - shift
        w[4] *= 1 + shift
    return 1 + bisect_left(_cum(w), rng.random() * sum(w))


def _cum(w: Sequence[float]) -> list[float]:
    out, t = [], 0.0
    for x in w:
        t += x
        out.append(t)
    return out


def compose_review(rng: random.Random, pol: str, ctx: dict[str, str], facet_weights: dict[str, float],
                   *, extra: Sequence[str] = (), main_bank: dict[str, Sequence[str]] | None = None,
                   emoji: bool = True) -> str:
    """A review body: optional emotion, 1-3 facet sentences (sometimes many), optional judgement.

    ``extra`` sentences (episodes) are woven in; ``main_bank`` (pol -> sentences) replaces the facet draw
    for the first sentence (app reviews)."""
    r = rng.random
    length = r()
    if length < 0.08 and not extra:  # very short
        short = pick(rng, (P_REV.ERFAHRUNG[pol], P_REV.ERLEBNIS[pol], P_REV.TITLES[pol]))
        return roughen(rng, pick(rng, short), pol, emoji=emoji)
    n = 1 + (r() < 0.6) + (r() < 0.3)
    if length > 0.93:
        n += rng.randint(2, 4)
    parts: list[str] = []
    diverge = pol == "pos" and r() < 0.07  # angry outburst, still a good rating
    if diverge:
        parts.append(pick(rng, P_REV.ERLEBNIS["neg"]))
        parts.append(fill(pick(rng, P_REV.FACETS[pick(rng, ("lieferung", "service", "webshop"))]["neg"]), ctx))
    elif r() < 0.3:
        parts.append(pick(rng, P_REV.ERLEBNIS[pol]))
    if pol == "neg" and r() < 0.06:
        parts.append(pick(rng, P_REV.IRONIE))
    used: set[str] = set()
    for i in range(n):
        if main_bank is not None and (i == 0 or r() < 0.5):
            parts.append(fill(pick(rng, main_bank[pol]), ctx))
            continue
        facet = weighted(rng, facet_weights)
        if facet in used:
            facet = weighted(rng, facet_weights)
        used.add(facet)
        spol = pol if r() < 0.82 else pick(rng, ("pos", "neg", "neu"))  # mixed reviews
        parts.append(fill(pick(rng, P_REV.FACETS[facet][spol]), ctx))
    for s in extra:
        parts.insert(rng.randint(0 if parts else 0, len(parts)), s)
    if r() < 0.07:
        parts.append(pick(rng, P_REV.EINSPRENGSEL))
    if r() < 0.5 or diverge:
        parts.append(pick(rng, P_REV.ERFAHRUNG["pos" if diverge else pol]))
    # drop accidental repeats, keep order
    seen: set[str] = set()
    parts = [p for p in parts if not (p in seen or seen.add(p))]
    if len(parts) > 4 and r() < 0.6:
        cut = rng.randint(2, len(parts) - 1)
        text = " ".join(parts[:cut]) + "\n\n" + " ".join(parts[cut:])
    else:
        text = " ".join(parts)
    return roughen(rng, text, pol, emoji=emoji)


def review_polarity(rng: random.Random, stars: int) -> str:
    return weighted(rng, POLARITY_BY_STARS[stars])


def review_episode_parts(rng: random.Random, tl: Timeline, local: datetime) -> tuple[int | None, list[str]]:
    """Forced stars and extra sentences when a review belongs to an episode (else (None, []))."""
    d = local.date()
    if rng.random() < tl.dip_share(d):
        return pick(rng, (1, 1, 1, 2, 2, 3)), [pick(rng, EP.CAMPAIGN_REVIEW_SENTENCES)]
    if rng.random() < tl.gras_share(d):
        return pick(rng, (1, 2, 2, 3, 3, 4)), [pick(rng, EP.GRAS_REVIEW)]
    return None, []


def cp1252_safe(text: str, errors: str = "ignore") -> str:
    """What survives a legacy cp1252 export: emoji vanish, foreign letters become '?' (errors='replace')."""
    out = text.encode("cp1252", errors=errors).decode("cp1252")
    if errors == "ignore":
        out = "\n".join(" ".join(line.split(" ")).strip() if line else line for line in out.split("\n"))
        while "  " in out:
            out = out.replace("  ", " ")
    return out.strip()


# ----------------------------------------------------------------------------------------------- writers
def csv_line(fields: Sequence[Any], delimiter: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerow(fields)
    return buf.getvalue()


def encode_line(line: str, encoding: str, bad_byte: bytes) -> bytes:
    """Encode one output line; BAD_BYTE_MARK becomes a byte that is invalid in ``encoding``."""
    if BAD_BYTE_MARK not in line:
        return line.encode(encoding)
    return bad_byte.join(part.encode(encoding) for part in line.split(BAD_BYTE_MARK))


def json_line(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False) + "\n"


def plant(rng: random.Random, rows: list, broken: list) -> list:
    """Insert broken rows at random positions (order among themselves kept)."""
    out = list(rows)
    positions = sorted(rng.randrange(1, len(out)) for _ in broken)
    for k, (pos, row) in enumerate(zip(positions, broken)):
        out.insert(pos + k, row)
    return out


def some_row(rng: random.Random, rows: Sequence[Any], ok: Callable[[Any], bool], tries: int = 500) -> Any:
    """A random row that satisfies ``ok`` (any row after ``tries`` misses: tiny samples)."""
    for _ in range(tries):
        row = rows[rng.randrange(len(rows))]
        if ok(row):
            return row
    return rows[rng.randrange(len(rows))]


def oversize_rant(rng: random.Random, pol: str = "neg", limit: int = 26_000) -> str:
    """A text over 25,000 characters: someone pasting their complaint over and over."""
    parts: list[str] = []
    size = 0
    while size < limit:
        ctx = context(rng)
        s = compose_review(rng, pol, ctx, P_REV.SHOP_FACET_WEIGHTS, emoji=False)
        parts.append(s)
        size += len(s) + 1
    return " ".join(parts)


# ----------------------------------------------------------------------------------------------- shop reviews
SHOP_HEADER = ("Bewertungs-ID", "Datum", "Sterne", "Titel", "Bewertungstext", "Kundenname", "Produkt", "Bestellnummer")


def shop_author(rng: random.Random) -> str:
    first, last = person(rng)
    style = rng.random()
    if style < 0.45:
        name = f"{first} {last[0]}."
    elif style < 0.7:
        name = f"{first} {last}"
    elif style < 0.8:
        name = first
    elif style < 0.9:
        name = f"Kunde aus {pick(rng, C.CITIES)[0]}" if rng.random() < 0.5 else "Anonym"
    else:
        name = f"{first.lower()}_{last[0].lower()}{rng.randint(70, 99)}"
    return cp1252_safe(name, "replace")


def htmlify(rng: random.Random, text: str) -> str:
    """Markup the shop system leaves in the export: <br> for line breaks, entity-encoded ampersands."""
    text = text.replace("\n\n", "<br><br>").replace("\n", "<br>")
    if " und " in text and rng.random() < 0.6:
        text = text.replace(" und ", " &amp; ", 1)
    elif ". " in text:
        text = text.replace(". ", ".<br>", 1)
    return text


def gen_shop_reviews(rng: random.Random, tl: Timeline, n: int) -> list[list[str]]:
    times = sample_times(rng, n, tl, hourly(HOURS_EVENING, WEEKDAYS_SHOP, 0.15, tl))
    rows: list[list[str]] = []
    for i, local in enumerate(times):
        product = pick(rng, C.PRODUCTS)
        ctx = context(rng, tl, local.date(), product)
        forced, extra = review_episode_parts(rng, tl, local)
        stars = forced or draw_stars(rng)
        pol = review_polarity(rng, stars) if not extra else "neg" if stars <= 3 else "neu"
        text = compose_review(rng, pol, ctx, P_REV.SHOP_FACET_WEIGHTS, extra=extra, emoji=False)
        r = rng.random()
        if r < 0.05:
            text = htmlify(rng, text)
        elif r < 0.065:
            text = f"{text} <3"
        text = cp1252_safe(text)
        tpol = pol if rng.random() < 0.2 else "pos" if stars >= 4 else "neg" if stars <= 2 else "neu"
        title = pick(rng, P_REV.TITLES[tpol]) if rng.random() < 0.85 else ""
        rows.append([f"SR-{100000 + i * 7 + rng.randrange(7)}", local.strftime("%d.%m.%Y %H:%M"), str(stars), title,
                     text, shop_author(rng), product[0], f"LM{rng.randrange(10**8, 10**9)}"])
    return rows


def shop_broken(rng: random.Random, rows: list[list[str]]) -> list[list[str] | str]:
    """Planted defects, one of each kind (a str is written as a raw line)."""
    def base(k: int) -> list[str]:
        src = rows[rng.randrange(len(rows))]
        return [f"SR-9{k:05d}"] + src[1:]

    out: list[list[str] | str] = []
    b = base(1); b[4] = ""; out.append(b)                                       # empty_text
    b = base(2); b[4] = "<p> </p><br>  <br/>"; out.append(b)                    # markup only -> empty_text
    b = base(3); b[2] = "7"; out.append(b)                                      # rating_out_of_range
    b = base(4); b[2] = "abc"; out.append(b)                                    # unparseable_rating
    b = base(5); b[1] = "31.02.2026 12:30"; out.append(b)                       # unparseable_date
    b = base(6); b[1] = "gestern"; out.append(b)                                # unparseable_date
    b = base(7); b[0] = ""; out.append(b)                                       # missing_id
    b = base(8); b[4] = cp1252_safe(oversize_rant(rng)); out.append(b)                    # oversize_text
    b = base(9); b[4] = f"Tolle Jacke{BAD_BYTE_MARK} sitzt super, gerne wieder."; out.append(b)  # broken_encoding
    b = base(10)                                                                # malformed_row: 9 fields
    out.append(";".join(b[:4] + ["Gute Qualität; schnelle Lieferung"] + b[5:]) + "\r\n")
    for k in (11, 12):                                                          # exact duplicates, new id
        src = some_row(rng, rows, lambda r: len(r[4].split()) >= 8)
        out.append([f"SR-9{k:05d}"] + src[1:])
    return out


def write_shop_reviews(path: Path, rows: list) -> int:
    with path.open("wb") as f:
        f.write(csv_line(SHOP_HEADER, ";").encode("cp1252"))
        for row in rows:
            line = row if isinstance(row, str) else csv_line(row, ";")
            f.write(encode_line(line, "cp1252", b"\x81"))
    return len(rows)


# ----------------------------------------------------------------------------------------------- app reviews
APP_FACET_WEIGHTS = {"lieferung": 5, "service": 3, "zahlung": 3, "loyalty": 3, "retoure": 2, "produkt": 2}


def app_version(rng: random.Random, tl: Timeline, d: date, versions: Sequence[str]) -> str:
    """Versions roll out over the period; some users lag one or two releases behind."""
    span = max(1, (tl.end - tl.start).days)
    idx = min(len(versions) - 1, int((d - tl.start).days / span * len(versions)))
    idx = max(0, idx - (rng.random() < 0.2) - (rng.random() < 0.07))
    return versions[idx]


def app_user(rng: random.Random, platform: str) -> str:
    first, last = person(rng)
    if platform == "android":
        return "Ein Google-Nutzer" if rng.random() < 0.08 else f"{first} {last}"
    return pick(rng, (f"{first}{rng.randint(1, 99)}", f"{pick(rng, C.HANDLE_WORDS).capitalize()}_{first}",
                      f"{first[0]}{last}", f"{pick(rng, C.HANDLE_WORDS)}{pick(rng, C.HANDLE_WORDS)}"))


def app_review_id(rng: random.Random, platform: str) -> str:
    if platform == "ios":
        return str(rng.randrange(10**9, 10**10))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "gp:AOqpTO" + "".join(alphabet[rng.randrange(64)] for _ in range(40))


def gen_app_reviews(rng: random.Random, tl: Timeline, n: int) -> list[dict]:
    times = sample_times(rng, n, tl, hourly(HOURS_EVENING, WEEKDAYS_SOCIAL, 0.1, tl))
    rows = []
    for local in times:
        platform = "ios" if rng.random() < 0.45 else "android"
        versions = P_APP.APP_VERSIONS_IOS if platform == "ios" else P_APP.APP_VERSIONS_ANDROID
        version = app_version(rng, tl, local.date(), versions)
        ctx = context(rng, tl, local.date())
        ctx["version"] = version
        forced, extra = review_episode_parts(rng, tl, local)
        if extra and extra[0] in EP.GRAS_REVIEW and rng.random() < 0.5:
            forced, extra = None, []  # the packaging shows less in the app store
        stars = forced or draw_stars(rng, shift=-0.25)
        pol = review_polarity(rng, stars) if not extra else "neg" if stars <= 3 else "neu"
        if not extra and rng.random() < 0.15:
            content = roughen(rng, pick(rng, P_APP.APP_SHORT[pol]), pol)
        else:
            content = compose_review(rng, pol, ctx, APP_FACET_WEIGHTS, extra=extra, main_bank=P_APP.APP)
        rows.append({"reviewId": app_review_id(rng, platform), "at": local.isoformat(timespec="seconds"),
                     "score": stars, "content": content, "userName": app_user(rng, platform),
                     "appVersion": version, "platform": platform})
    return rows


def app_broken(rng: random.Random, rows: list[dict]) -> list[dict | str]:
    def base() -> dict:
        return dict(rows[rng.randrange(len(rows))], reviewId=app_review_id(rng, "android"))

    out: list[dict | str] = []
    b = base(); b["content"] = ""; out.append(b)                                # empty_text
    b = base(); b["content"] = "   \n  "; out.append(b)                         # whitespace -> empty_text
    b = base(); b["score"] = 0; out.append(b)                                   # rating_out_of_range
    b = base(); b["at"] = "gestern"; out.append(b)                              # unparseable_date
    b = base(); del b["at"]; out.append(b)                                      # missing_date
    b = base(); b["content"] = f"App ist ganz okay, aber Login h{BAD_BYTE_MARK}ngt manchmal."; out.append(b)
    full = json_line(base())                                                    # invalid JSON: cut-off line
    out.append(full[: len(full) // 2] + "\n")
    out.append(json.dumps([base()["reviewId"], 5, "Top App"], ensure_ascii=False) + "\n")  # a JSON array
    for _ in range(2):                                                          # exact duplicates, new id
        src = some_row(rng, rows, lambda r: len(r["content"].split()) >= 8)
        out.append(dict(src, reviewId=app_review_id(rng, src["platform"])))
    return out


def write_jsonl(path: Path, rows: list, bad_byte: bytes = b"\xe4") -> int:
    """Objects as JSON lines (str rows are written raw); BAD_BYTE_MARK becomes a byte invalid in UTF-8."""
    with path.open("wb") as f:
        for row in rows:
            line = row if isinstance(row, str) else json_line(row)
            f.write(encode_line(line, "utf-8", bad_byte))
    return len(rows)


# ----------------------------------------------------------------------------------------------- social posts
PLATFORMS = {"twitter": 45, "instagram": 25, "facebook": 20, "tiktok": 10}
PLATFORM_PREFIX = {"twitter": "tw", "instagram": "ig", "facebook": "fb", "tiktok": "tt"}


def social_handles(rng: random.Random, n: int = 1600) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    table = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ı": "i", "ş": "s", "Ş": "S", "ğ": "g"})
    while len(out) < n:
        first, last = person(rng)
        w = pick(rng, C.HANDLE_WORDS)
        h = pick(rng, (f"{first.lower()}_{w}", f"{w}{first}", f"{first}{last[0]}{rng.randint(1, 99)}",
                       f"{w}_{pick(rng, C.HANDLE_WORDS)}", f"{first.lower()}.{last.lower()}",
                       f"the{w}{rng.randint(1, 999)}"))
        h = "@" + h.translate(table).replace(".", "_")
        if h not in seen:
            seen.add(h)
            out.append(h)
    return out


class SocialIds:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def new(self, platform: str) -> str:
        while True:
            pid = f"{PLATFORM_PREFIX[platform]}_{self.rng.randrange(10**14, 10**15)}"
            if pid not in self.used:
                self.used.add(pid)
                return pid


def zulu(local: datetime) -> str:
    return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def post(pid: str, platform: str, local: datetime, text: str, user: str, likes: int, shares: int, replies: int,
         in_reply_to: str | None = None) -> dict:
    return {"post_id": pid, "platform": platform, "created_at": zulu(local), "text": text, "user": user,
            "likes": likes, "shares": shares, "replies": replies, "in_reply_to": in_reply_to, "_t": local}


def engagement(rng: random.Random, mu: float, sigma: float) -> tuple[int, int, int]:
    likes = min(60_000, int(math.exp(rng.gauss(mu, sigma))))
    shares = int(likes * rng.uniform(0.02, 0.5))
    replies = int(likes * rng.uniform(0.01, 0.15))
    return likes, shares, replies


def vary(rng: random.Random, text: str) -> str:
    """Word-level variation for stand-alone posts: a lead-in and/or a hashtag."""
    if rng.random() < 0.5:
        text = f"{pick(rng, P_SOC.VARIATION_LEADS)} {text}"
    if rng.random() < 0.5:
        text = f"{text} {pick(rng, P_SOC.VARIATION_TAILS)}"
    return text


def foreign_post(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.6:
        core = fill(pick(rng, P_SOC.EN_CORE), context(rng))
        opener = pick(rng, P_SOC.EN_OPEN)
        text = f"{opener} {core}" if opener else core[0].upper() + core[1:]
        return f"{text} {pick(rng, P_SOC.EN_CLOSE)}".strip()
    return fill(pick(rng, P_SOC.FR_POSTS if r < 0.8 else P_SOC.TR_POSTS), context(rng))


def customer_post(rng: random.Random, tl: Timeline, local: datetime) -> tuple[str, str]:
    """(text, polarity) of an ordinary post about Lumora."""
    if rng.random() < tl.gras_share(local.date(), base=0.02, cap=0.15):
        return roughen(rng, vary(rng, pick(rng, EP.GRAS_SOCIAL)), "neg", rate=0.5), "neg"
    if rng.random() < 0.04:
        if rng.random() < 0.3:
            return vary(rng, pick(rng, P_SOC.IRONY)), "neg"
        core = fill(pick(rng, P_SOC.CORES["neg"]), context(rng, tl, local.date()))
        return f"{core[0].upper()}{core[1:]}. {pick(rng, P_REV.IRONIE)}", "neg"
    pol = weighted(rng, {"pos": 35, "neg": 45, "neu": 20})
    ctx = context(rng, tl, local.date())
    if rng.random() < 0.25:  # a review-like sentence as the core
        facet = weighted(rng, P_REV.SHOP_FACET_WEIGHTS)
        core = fill(pick(rng, P_REV.FACETS[facet][pol]), ctx).rstrip(".")
        core = f"Lumora: {core[0].lower() + core[1:]}" if rng.random() < 0.5 else core
    else:
        core = fill(pick(rng, P_SOC.CORES[pol]), ctx)
    lead = pick(rng, P_SOC.LEADINS)
    text = f"{lead} {core}" if lead else core[0].upper() + core[1:]
    if rng.random() < 0.3:
        text += pick(rng, (".", "!", "...", " -", "!!"))
    tail = pick(rng, P_SOC.TAILS[pol])
    if tail:
        text = f"{text} {tail}"
    if rng.random() < 0.12:
        text = f"{text} {pick(rng, P_REV.ERFAHRUNG[pol])}"
    return roughen(rng, text, pol, rate=0.7), pol


def gen_social_baseline(rng: random.Random, tl: Timeline, n: int, handles: list[str], ids: SocialIds) -> list[dict]:
    times = sample_times(rng, n, tl, hourly(HOURS_EVENING, WEEKDAYS_SOCIAL, 0.1, tl))
    out: list[dict] = []
    user = lambda: handles[int(len(handles) * rng.random() ** 1.6)]  # noqa: E731 - a few heavy posters
    for local in times:
        platform = weighted(rng, PLATFORMS)
        kind = rng.random()
        if kind < 0.015:
            text = fill(pick(rng, P_SOC.BRAND_POSTS), context(rng))
            if "Graspapier" in text and local.date() < tl.gras:
                text = fill(P_SOC.BRAND_POSTS[0], {})
            out.append(post(ids.new(platform), platform, local, text, P_SOC.OFFICIAL_HANDLE,
                            *engagement(rng, 4.5, 0.8)))
            continue
        if kind < 0.12:
            noise = pick(rng, P_SOC.NOISE)
            text, who = (noise if "#" in noise or "💰" in noise else vary(rng, noise)), user()  # spam repeats as is
        elif kind < 0.16:
            text, who = foreign_post(rng), user()
        elif kind < 0.20:
            text, who = vary(rng, fill(pick(rng, P_SOC.MIXED), context(rng))), user()
        else:
            text, pol = customer_post(rng, tl, local)
            who = user()
            p = post(ids.new(platform), platform, local, text, who, *engagement(rng, 1.0, 1.2))
            out.append(p)
            if platform != "tiktok" and rng.random() < {"neg": 0.3, "pos": 0.08, "neu": 0.15}[pol]:  # service answers
                t = local + timedelta(minutes=rng.randint(15, 400))
                answers = [P_SOC.OFFICIAL_REPLIES[i] for i in ((2, 3) if pol == "pos" else (0, 1, 2, 4, 5))]
                if t.date() <= tl.end:
                    reply = fill(pick(rng, answers), {"vorname": pick(rng, C.FIRST_NAMES)})
                    out.append(post(ids.new(platform), platform, t, reply, P_SOC.OFFICIAL_SERVICE_HANDLE,
                                    rng.randrange(3), 0, rng.randrange(2), p["post_id"]))
            if platform == "twitter" and rng.random() < 0.07:  # retweets
                t = local + timedelta(minutes=rng.randint(1, 600))
                if t.date() <= tl.end:
                    out.append(post(ids.new("twitter"), "twitter", t, f"RT {who}: {text}", user(), 0, 0, 0))
            continue
        out.append(post(ids.new(platform), platform, local, text, who, *engagement(rng, 0.8, 1.3)))
    return out


def backlash_times(rng: random.Random, tl: Timeline, n: int) -> list[datetime]:
    """Post times after the campaign start: rising within hours, then decaying (e-folding ~22 h) over
    about four days, with quieter nights."""
    t0 = tl.campaign
    minutes = 5 * 1440
    cum: list[float] = []
    total = 0.0
    for m in range(minutes):
        hour = (t0 + timedelta(minutes=m)).hour
        lam = (1 - math.exp(-m / 150)) * math.exp(-m / (22 * 60)) * (0.3 + 0.7 * HOURS_EVENING[hour] / 9)
        total += lam
        cum.append(total)
    out = []
    for _ in range(n):
        m = bisect_left(cum, rng.random() * total)
        t = (t0.astimezone(UTC) + timedelta(minutes=m, seconds=rng.randrange(60))).astimezone(BERLIN)
        if t.date() <= tl.end:
            out.append(t)
    out.sort()
    return out


def backlash_text(rng: random.Random) -> str:
    parts = []
    if rng.random() < 0.6:
        parts.append(pick(rng, EP.BACKLASH_OPENERS))
    parts.append(pick(rng, EP.BACKLASH_CORES))
    if rng.random() < 0.3:
        parts.append(pick(rng, EP.BACKLASH_CORES))
    if rng.random() < 0.8:
        parts.append(pick(rng, EP.BACKLASH_CLOSERS))
    seen: set[str] = set()
    text = " ".join(p for p in parts if not (p in seen or seen.add(p)))
    return roughen(rng, text, "neg", rate=0.6)


def gen_social_backlash(rng: random.Random, tl: Timeline, n: int, handles: list[str], ids: SocialIds) -> list[dict]:
    t0 = tl.campaign
    if not (tl.start <= t0.date() <= tl.end):
        return []
    out: list[dict] = []
    launch = post(ids.new("twitter"), "twitter", t0 - timedelta(minutes=2), EP.LAUNCH_POST, P_SOC.OFFICIAL_HANDLE,
                  *engagement(rng, 5.0, 0.3))
    out.append(launch)
    out.append(post(ids.new("instagram"), "instagram", t0 - timedelta(minutes=1), EP.LAUNCH_POST,
                    P_SOC.OFFICIAL_HANDLE, *engagement(rng, 6.0, 0.3)))
    apology = None
    apology_t = t0 + timedelta(hours=30)
    if apology_t.date() <= tl.end:
        apology = post(ids.new("twitter"), "twitter", apology_t, EP.APOLOGY_POST, P_SOC.OFFICIAL_HANDLE,
                       *engagement(rng, 7.0, 0.2))
        out.append(apology)
    originals: list[dict] = []
    weights: list[float] = []
    # angry posters come mostly from outside the usual crowd
    user = lambda: handles[int(len(handles) * (0.3 + 0.7 * rng.random()))]  # noqa: E731
    for local in backlash_times(rng, tl, n):
        kind = rng.random()
        if kind < 0.28 and originals:  # retweet, popular posts more often
            src = rng.choices(originals, weights=weights)[0]
            out.append(post(ids.new("twitter"), "twitter", local, f"RT {src['user']}: {src['text']}", user(), 0, 0, 0))
            continue
        platform = weighted(rng, {"twitter": 60, "instagram": 15, "facebook": 15, "tiktok": 10})
        reply_to = None
        if kind < 0.40:
            text = pick(rng, EP.BACKLASH_TEMPLATES)  # copy-paste
        elif kind < 0.50:
            reply_to = apology if apology is not None and local > apology["_t"] and rng.random() < 0.6 else launch
            platform = "twitter"
            text = roughen(rng, pick(rng, EP.BACKLASH_CORES + EP.BACKLASH_CLOSERS + ("Zu spät.", "Heuchler.",
                                                                                       "Entschuldigung angenommen.")),
                           "neg", rate=0.5)
        elif kind < 0.54:
            text = vary(rng, pick(rng, EP.BACKLASH_DEFENDERS))
        elif kind < 0.59:
            tag = pick(rng, ("", "#nurses", "#respect", "#boycott", "#shame"))
            text = f"{pick(rng, EP.BACKLASH_FOREIGN)} {tag}".strip()
        else:
            text = backlash_text(rng)
        likes, shares, replies = engagement(rng, 3.4, 1.7)
        p = post(ids.new(platform), platform, local, text, user(), likes, shares, replies,
                 reply_to["post_id"] if reply_to else None)
        out.append(p)
        if platform == "twitter" and reply_to is None:
            originals.append(p)
            weights.append(1.0 + likes)
    return out


def social_broken(rng: random.Random, rows: list[dict]) -> list[dict | str]:
    def base() -> dict:
        src = rows[rng.randrange(len(rows))]
        return dict(src, post_id=f"{PLATFORM_PREFIX[src['platform']]}_9{rng.randrange(10**13, 10**14)}")

    out: list[dict | str] = []
    b = base(); b["text"] = ""; out.append(b)                                   # empty_text
    b = base(); b["text"] = "<div><br></div> "; out.append(b)                   # markup only -> empty_text
    b = base(); b["created_at"] = None; out.append(b)                           # missing_date
    b = base(); b["created_at"] = "31.02.2026 18:00"; out.append(b)             # unparseable_date
    b = base(); b["text"] = "🚀 LUMORA Token Presale!!! 100x incoming 💰 " * 700; out.append(b)  # oversize_text
    b = base(); b["text"] = f"Lumora Filiale hat so sch{BAD_BYTE_MARK}ne Deko gerade 😍"; out.append(b)
    full = json_line({k: v for k, v in base().items() if k != "_t"})            # invalid JSON
    out.append(full.replace('", "', '" "', 1))
    out.append('["tw_1", "Lumora", 3]\n')                                       # a JSON array
    return out


# ----------------------------------------------------------------------------------------------- tickets
TICKET_HEADER = ("ticket_id", "channel", "opened_at", "subject", "body", "customer_email", "customer_name",
                 "nps", "csat", "ces", "thread_id")
CHANNELS = {"E-Mail": (0.45, HOURS_DAYTIME), "Chat": (0.30, HOURS_CHAT), "Hotline": (0.25, HOURS_OFFICE)}


def monday_peak(hours: Sequence[float], tl: Timeline) -> Callable[[date, int], float]:
    base = hourly(hours, WEEKDAYS_WORK, 0.2, tl)

    def w(d: date, h: int) -> float:
        x = base(d, h)
        return x * 1.8 if d.weekday() == 0 and 7 <= h < 12 else x

    return w


def ticket_topic(rng: random.Random, tl: Timeline, local: datetime) -> tuple[str, dict]:
    d = local.date()
    if rng.random() < tl.gras_share(d, base=0.03, cap=0.3):
        return "graspapier", {"pol": "neg", "subjects": EP.GRAS_TICKET_SUBJECTS, "email": EP.GRAS_TICKET,
                              "chat": EP.GRAS_CHAT, "hotline": EP.GRAS_HOTLINE}
    if tl.after_campaign(local) and (d - tl.campaign.date()).days < 12 and rng.random() < 0.06:
        return "kampagne", {"pol": "neg", "subjects": EP.CAMPAIGN_TICKET_SUBJECTS, "email": EP.CAMPAIGN_TICKET,
                            "chat": ("eure werbung ist unmöglich, ich will mein konto löschen",),
                            "hotline": EP.CAMPAIGN_HOTLINE}
    name = weighted(rng, P_TIC.TOPIC_WEIGHTS)
    return name, P_TIC.TOPICS[name]


def email_body(rng: random.Random, topic: dict, ctx: dict[str, str], first: str, last: str,
               followup_of: str | None = None) -> str:
    greeting = pick(rng, P_TIC.GREETINGS)
    para = fill(pick(rng, topic["email"]), ctx)
    if followup_of:
        para = (f"ich warte immer noch auf eine Antwort auf meine Nachricht vom {ctx['datum']}. "
                f"{para[0].upper()}{para[1:]}")
    if not greeting:
        para = para[0].upper() + para[1:]
    blocks = [greeting, para] if greeting else [para]
    pii = [fill(x, ctx) for x in P_TIC.PII_LINES if rng.random() < 0.18]
    if pii:
        blocks.append("\n".join(pii))
    emo = pick(rng, P_TIC.EMOTION[topic["pol"]])
    if emo:
        blocks.append(emo)
    sig = f"{pick(rng, P_TIC.CLOSINGS)}\n{first} {last}"
    if rng.random() < 0.25:
        sig += f"\n{pick(rng, ('Tel.', 'Mobil:', 'Handy', ''))} {ctx['telefon']}".replace("\n ", "\n")
    if rng.random() < 0.1:
        sig += f"\n{ctx['adresse']}"
    blocks.append(sig)
    if followup_of and rng.random() < 0.6:  # quoted earlier mail
        blocks.append("-----Ursprüngliche Nachricht-----\n" + "\n".join(f"> {x}" for x in followup_of.split("\n")[:6]))
    text = "\n\n".join(blocks)
    return roughen(rng, text, topic["pol"], emoji=False, rate=0.3)


def chat_body(rng: random.Random, topic: dict, ctx: dict[str, str]) -> str:
    hello = pick(rng, ("", "hallo ", "hi, ", "guten tag, ", "hallo, ", "moin ", "servus, "))
    lines = [P_TIC.CHAT_AGENT[0], f"Kunde: {hello}{fill(pick(rng, topic['chat']), ctx)}"]
    for _ in range(rng.randint(1, 3)):
        lines.append(pick(rng, P_TIC.CHAT_AGENT[1:]))
        lines.append(f"Kunde: {fill(pick(rng, P_TIC.CHAT_CUSTOMER_EXTRA), ctx)}")
    return "\n".join(roughen(rng, x, topic["pol"], rate=0.4) if x.startswith("Kunde") else x for x in lines)


def hotline_body(rng: random.Random, topic: dict, ctx: dict[str, str]) -> str:
    note = fill(pick(rng, topic["hotline"]), ctx)
    extras = [fill(pick(rng, P_TIC.HOTLINE_EXTRA), ctx) for _ in range(rng.randint(1, 3))]
    extras = [e for e in extras if e]
    if not extras:
        return note
    return note + ("\n" if rng.random() < 0.5 else " ") + " ".join(extras)


def ticket_scores(rng: random.Random, pol: str) -> tuple[str, str, str]:
    if rng.random() >= 0.4:
        return "", "", ""
    lo = {"neg": (0, 6, 1, 3, 4, 7), "neu": (5, 9, 2, 4, 2, 5), "pos": (8, 10, 4, 5, 1, 3)}[pol]
    if rng.random() < 0.15:  # the customer's mood after the contact differs
        lo = (0, 10, 1, 5, 1, 7)
    nps = str(rng.randint(lo[0], lo[1])) if rng.random() < 0.9 else ""
    csat = str(rng.randint(lo[2], lo[3])) if rng.random() < 0.8 else ""
    ces = str(rng.randint(lo[4], lo[5])) if rng.random() < 0.7 else ""
    return nps, csat, ces


def gen_tickets(rng: random.Random, tl: Timeline, n: int) -> list[list[str]]:
    stamped: list[tuple[datetime, str]] = []
    for channel, (share, hours) in CHANNELS.items():
        stamped += [(t, channel) for t in sample_times(rng, round(n * share), tl, monday_peak(hours, tl))]
    stamped.sort(key=lambda x: (x[0], x[1]))
    rows: list[list[str]] = []
    earlier: list[tuple[list[str], str, str, dict]] = []  # (row, first, last, topic) of e-mails, for follow-ups
    thread_no = 500000
    for i, (local, channel) in enumerate(stamped):
        _topic_name, topic = ticket_topic(rng, tl, local)
        ctx = context(rng, tl, local.date())
        followup = channel == "E-Mail" and earlier and rng.random() < 0.1
        prev: list[str] = []
        if followup:
            prev, first, last, topic = earlier[-1 - rng.randrange(min(len(earlier), 60))]
            email, thread = prev[5], prev[10]
            ctx["datum"] = f"{prev[2][8:10]}.{prev[2][5:7]}.{prev[2][:4]}"
            subject = f"{pick(rng, ('AW: ', 'Re: ', 'WG: '))}{prev[3]}"
        else:
            first, last = person(rng)
            email = email_of(rng, first, last)
            thread_no += rng.randint(1, 9)
            thread = f"TH-{thread_no}"
            subject = fill(pick(rng, topic["subjects"]), ctx)
        if channel == "E-Mail":
            body = email_body(rng, topic, ctx, first, last, followup_of=prev[4] if followup else None)
        elif channel == "Chat":
            body = chat_body(rng, topic, ctx)
            subject = f"Chat: {subject}" if rng.random() < 0.5 else subject
        else:
            body = hotline_body(rng, topic, ctx)
            subject = f"Anruf: {subject}" if rng.random() < 0.7 else subject
        name = f"{first} {last}" if channel != "Hotline" or rng.random() < 0.8 else ""
        mail = email if channel != "Hotline" or rng.random() < 0.6 else ""
        nps, csat, ces = ticket_scores(rng, topic["pol"])
        row = [f"TCK-{40001 + i}", channel, local.strftime("%Y-%m-%dT%H:%M:%S"), subject, body, mail, name,
               nps, csat, ces, thread]
        rows.append(row)
        if channel == "E-Mail" and not followup:
            earlier.append((row, first, last, topic))
    return rows


def ticket_broken(rng: random.Random, rows: list[list[str]]) -> list[list[str] | str]:
    def base(k: int) -> list[str]:
        src = rows[rng.randrange(len(rows))]
        return [f"TCK-9{k:04d}"] + src[1:]

    out: list[list[str] | str] = []
    b = base(1); b[4] = ""; out.append(b)                                       # empty_text
    b = base(2); b[7] = "11"; out.append(b)                                     # rating_out_of_range (nps)
    b = base(3); b[8] = "sehr gut"; out.append(b)                               # unparseable_rating (csat)
    b = base(4); b[2] = "31.02.2026"; out.append(b)                             # unparseable_date
    b = base(5); b[2] = ""; out.append(b)                                       # missing_date
    b = base(6); b[4] = ("Fehlerprotokoll aus der App (bitte weiterleiten):\n" + "\n".join(
        f"E/LumoraApp({4000 + k}): CheckoutException at PaymentStep.submit line {k % 97}: timeout after 30000ms; "
        f"request_id={rng.getrandbits(128):032x}; session={rng.getrandbits(64):016x}; retry={k % 5}; "
        f"endpoint=/api/v3/checkout/payment/confirm; build=5.14.{k % 3}"
        for k in range(120))); out.append(b)                                    # oversize_text (120 lines)
    b = base(7); b[4] = f"Hallo, die R{BAD_BYTE_MARK}cksendung ist immer noch nicht erstattet. Gruß"; out.append(b)
    b = base(8)                                                                 # malformed_row: too many fields
    out.append(",".join(b[:4] + ["Paket fehlt, bitte melden", "Danke"] + b[5:7] + ["", "", "", b[10]]) + "\r\n")
    for k in (9, 10):                                                           # the same mail sent twice
        src = some_row(rng, rows, lambda r: r[1] == "E-Mail")
        out.append([f"TCK-9{k:04d}"] + src[1:])
    return out


def write_tickets(path: Path, rows: list) -> int:
    with path.open("wb") as f:
        f.write(b"\xef\xbb\xbf")
        f.write(csv_line(TICKET_HEADER, ",").encode("utf-8"))
        for row in rows:
            line = row if isinstance(row, str) else csv_line(row, ",")
            f.write(encode_line(line, "utf-8", b"\xfc"))
    return len(rows)


# ----------------------------------------------------------------------------------------------- survey
NPS_WEIGHTS = (4, 2, 2, 3, 3, 5, 7, 10, 14, 20, 30)  # 0..10


def uuid_like(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[rng.randrange(4)]}{h[17:20]}-{h[20:32]}"


def gen_survey(rng: random.Random, tl: Timeline, n: int) -> list[dict]:
    times = sample_times(rng, n, tl, hourly(HOURS_DAYTIME, WEEKDAYS_SHOP, 0.0, tl))
    tps = dict(zip(P_SUR.TOUCHPOINTS, P_SUR.TOUCHPOINT_WEIGHTS))
    rows = []
    for local in times:
        tp = weighted(rng, tps)
        d = local.date()
        extra = ""
        if rng.random() < tl.dip_share(d):
            nps, extra = rng.randint(0, 4), pick(rng, EP.CAMPAIGN_REVIEW_SENTENCES)
        elif rng.random() < tl.gras_share(d):
            tp, nps, extra = "Lieferung", rng.randint(1, 7), pick(rng, EP.GRAS_SURVEY)
        else:
            nps = bisect_left(_cum(NPS_WEIGHTS), rng.random() * sum(NPS_WEIGHTS))
        pol = "neg" if nps <= 6 else "neu" if nps <= 8 else "pos"
        if rng.random() < 0.1:
            pol = pick(rng, ("pos", "neg", "neu"))
        parts = [extra] if extra else [pick(rng, P_SUR.COMMENTS[tp][pol])]
        if rng.random() < 0.5:
            parts.append(pick(rng, P_SUR.GENERAL[pol]))
        if rng.random() < 0.3:
            facet = weighted(rng, P_REV.SHOP_FACET_WEIGHTS)
            parts.append(fill(pick(rng, P_REV.FACETS[facet][pol]), context(rng, tl, d)))
        if rng.random() < 0.4:
            parts.insert(0, pick(rng, ("Grund:", "Weil:", "Kurz gesagt:", "Ehrlich gesagt:", "Na ja,", "Also",
                                       "Hauptsächlich:", "Vor allem:", "Diesmal:", "Wie immer:")))
        comment = roughen(rng, " ".join(parts), pol, rate=0.6)
        rows.append({"response_id": uuid_like(rng), "submitted": local.astimezone(UTC), "nps": nps,
                     "comment": comment, "touchpoint": tp})
    return rows


def survey_broken(rng: random.Random, rows: list[dict]) -> list[dict]:
    def base() -> dict:
        return dict(rows[rng.randrange(len(rows))], response_id=uuid_like(rng))

    out = []
    b = base(); b["comment"] = ""; out.append(b)                                # empty_text
    b = base(); b["comment"] = " \t "; out.append(b)                            # whitespace -> empty_text
    b = base(); b["nps"] = 12; out.append(b)                                    # rating_out_of_range
    b = base(); b["submitted"] = None; out.append(b)                            # missing_date
    for _ in range(2):                                                          # exact duplicates, new id
        src = some_row(rng, rows, lambda r: len(r["comment"].split()) >= 7)
        out.append(dict(src, response_id=uuid_like(rng)))
    return out


def write_survey(path: Path, rows: list[dict]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("response_id", pa.string()), ("submitted", pa.timestamp("us", tz="UTC")),
                        ("nps", pa.int64()), ("comment", pa.string()), ("touchpoint", pa.string())])
    cols = {name: [r[name] for r in rows] for name in schema.names}
    pq.write_table(pa.Table.from_pydict(cols, schema=schema), path, compression="zstd")
    return len(rows)


# ----------------------------------------------------------------------------------------------- generate
def generate(out_dir: str | Path, seed: int = 7, days: int = 90, end: date = DEFAULT_END,
             scale: float = 1.0) -> dict[str, int]:
    """Write the five sample files into ``out_dir``; returns {file name: data rows written}.

    Rows per day stay the same for other ``days``; ``scale`` multiplies all volumes (the episodes too)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tl = Timeline.build(end, days)

    def n(key: str, per_day: bool = True) -> int:
        return max(20, round(BASE_ROWS[key] * scale * (days / 90 if per_day else 1)))

    counts: dict[str, int] = {}
    rng = rng_for(seed, "shop_reviews")
    rows = gen_shop_reviews(rng, tl, n("shop_reviews.csv"))
    counts["shop_reviews.csv"] = write_shop_reviews(out / "shop_reviews.csv", plant(rng, rows, shop_broken(rng, rows)))

    rng = rng_for(seed, "app_reviews")
    rows = gen_app_reviews(rng, tl, n("app_reviews.jsonl"))
    counts["app_reviews.jsonl"] = write_jsonl(out / "app_reviews.jsonl", plant(rng, rows, app_broken(rng, rows)))

    rng = rng_for(seed, "social_posts")
    handles = social_handles(rng)
    ids = SocialIds(rng)
    posts = gen_social_baseline(rng, tl, n("social_baseline"), handles, ids)
    posts += gen_social_backlash(rng, tl, n("social_backlash", per_day=False), handles, ids)
    posts.sort(key=lambda p: (p["_t"], p["post_id"]))
    posts = [{k: v for k, v in p.items() if k != "_t"} for p in posts]
    counts["social_posts.jsonl"] = write_jsonl(out / "social_posts.jsonl", plant(rng, posts, social_broken(rng, posts)),
                                               bad_byte=b"\xf6")

    rng = rng_for(seed, "tickets")
    rows = gen_tickets(rng, tl, n("tickets.csv"))
    counts["tickets.csv"] = write_tickets(out / "tickets.csv", plant(rng, rows, ticket_broken(rng, rows)))

    rng = rng_for(seed, "survey")
    rows = gen_survey(rng, tl, n("survey.parquet"))
    counts["survey.parquet"] = write_survey(out / "survey.parquet", plant(rng, rows, survey_broken(rng, rows)))
    return counts


# ----------------------------------------------------------------------------------------------- benchmark stream
def _iter_pools(seed: int) -> dict[str, Any]:
    """Filled phrase pools for :func:`iter_records` (built once per call, a few thousand strings)."""
    rng = random.Random(f"cxnlp-iter-pools:{seed}")

    def filled(templates: Sequence[str], k: int = 25) -> tuple[str, ...]:
        """Each template filled with up to k contexts; variants that differ only in digits count once."""
        out: dict[str, str] = {}
        for t in templates:
            for _ in range(k if "{" in t else 1):
                s = fill(t, context(rng))
                out.setdefault("".join(ch for ch in s if not ch.isdigit()), s)
        return tuple(sorted(out.values()))

    pools: dict[str, Any] = {}
    for pol in ("pos", "neg", "neu"):
        pools[f"rev_{pol}"] = filled([t for f in P_REV.FACETS.values() for t in f[pol]] + list(P_APP.APP[pol]))
        pools[f"open_{pol}"] = P_REV.ERLEBNIS[pol]
        pools[f"close_{pol}"] = P_REV.ERFAHRUNG[pol] + P_REV.EINSPRENGSEL[:4]
        pools[f"soc_{pol}"] = filled(P_SOC.CORES[pol])
        pools[f"tail_{pol}"] = P_SOC.TAILS[pol] + (C.EMOJI_POS if pol == "pos" else C.EMOJI_NEG if pol == "neg"
                                                    else C.EMOJI_NEU)
    pools["lead"] = P_SOC.LEADINS
    pools["intro"] = filled(("Zu {produkt_akk}: ", "{Produkt}: ", "Betrifft {name}. ", "Bestellt: {name}. ",
                             "Kurz zu {produkt_akk}: ", "Gekauft in {stadt}: {name}. ", "Hab {produkt_akk} bestellt. "),
                            k=60)
    pools["hashtags"] = P_SOC.HASHTAGS_GENERAL + tuple(f"#{c[0].replace(' ', '')}" for c in C.CITIES)
    pools["ticket"] = filled([t for tp in P_TIC.TOPICS.values() for t in tp["email"]], k=6) + EP.GRAS_TICKET
    pools["hotline"] = filled([t for tp in P_TIC.TOPICS.values() for t in tp["hotline"]], k=6) + EP.GRAS_HOTLINE
    pools["greet"] = tuple(g for g in P_TIC.GREETINGS if g)
    pools["closing"] = P_TIC.CLOSINGS
    pools["authors"] = tuple(social_handles(rng, 4000))
    pools["names"] = tuple(f"{person(rng)[0]} {person(rng)[1]}" for _ in range(4000))
    stars = [s for s, w in zip(range(1, 6), STAR_WEIGHTS) for _ in range(w)]
    pools["stars"] = tuple(stars)
    pools["pol_by_star"] = {s: tuple(p for p, w in POLARITY_BY_STARS[s].items() for _ in range(w)) for s in range(1, 6)}
    pools["likes"] = tuple(min(50_000, int(math.exp(rng.gauss(1.2, 1.5)))) for _ in range(4096))
    return pools


def iter_records(n: int, seed: int = 0, start: datetime | None = None) -> Iterator[dict]:
    """A fast, bounded-memory stream of ``n`` synthetic feedback records (benchmarks).

    Keys: id, text, created_at (ISO with offset), source (review|social|ticket), channel, rating_stars,
    author, likes, shares, replies.  Texts are combinations of phrase-bank parts, so nearly all of them
    differ in their words.  Timestamps advance ~30 s per record from ``start`` (default 2026-01-01 Berlin)."""
    rng = random.Random(f"cxnlp-iter:{seed}")
    rnd = rng.random
    P = _iter_pools(seed)
    start = start or datetime(2026, 1, 1, tzinfo=BERLIN)
    tz = start.tzinfo or UTC
    t = (start if start.tzinfo else start.replace(tzinfo=UTC)).timestamp()
    fromts = datetime.fromtimestamp
    rev = {p: P[f"rev_{p}"] for p in ("pos", "neg", "neu")}
    opens = {p: P[f"open_{p}"] for p in ("pos", "neg", "neu")}
    closes = {p: P[f"close_{p}"] for p in ("pos", "neg", "neu")}
    soc = {p: P[f"soc_{p}"] for p in ("pos", "neg", "neu")}
    tails = {p: P[f"tail_{p}"] for p in ("pos", "neg", "neu")}
    lead, ticket, hotline, greet, closing = P["lead"], P["ticket"], P["hotline"], P["greet"], P["closing"]
    intro, hashtags = P["intro"], P["hashtags"]
    when = ("", "", "Heute:", "Gestern:", "Am Wochenende:", "Letzte Woche:", "Schon wieder:", "Endlich:",
            "Mal wieder:", "Zum zweiten Mal:", "Vorhin:", "Ernsthaft:", "Sonntag:", "Update:")
    authors, names, stars_t, pol_by_star, likes_t = P["authors"], P["names"], P["stars"], P["pol_by_star"], P["likes"]
    pols = ("pos", "neg", "neg", "neu")
    rev_channels = ("webshop", "webshop", "webshop", "app_store", "google_play")
    soc_channels = ("twitter", "twitter", "instagram", "facebook", "tiktok")
    tic_channels = ("email", "chat", "hotline")
    for i in range(n):
        t += rnd() * 60.0
        created = fromts(int(t), tz).isoformat()
        r = rnd()
        if r < 0.5:
            stars = stars_t[int(rnd() * len(stars_t))]
            pb = pol_by_star[stars]
            pol = pb[int(rnd() * len(pb))]
            s = rev[pol]
            ns = len(s)
            parts = [s[int(rnd() * ns)]]
            if rnd() < 0.75:
                parts.append(s[int(rnd() * ns)])
                if rnd() < 0.35:
                    parts.append(s[int(rnd() * ns)])
            if rnd() < 0.3:
                o = opens[pol]
                parts.insert(0, o[int(rnd() * len(o))])
            if rnd() < 0.5 or len(parts) == 1:
                c = closes[pol]
                parts.append(c[int(rnd() * len(c))])
            if rnd() < 0.5 or len(parts) == 2:
                parts.insert(0, intro[int(rnd() * len(intro))])
            yield {"id": f"bench-{seed}-{i}", "text": " ".join(parts), "created_at": created, "source": "review",
                   "channel": rev_channels[int(rnd() * 5)], "rating_stars": stars,
                   "author": names[int(rnd() * len(names))], "likes": None, "shares": None, "replies": None}
        elif r < 0.85:
            pol = pols[int(rnd() * 4)]
            s, tl_ = soc[pol], tails[pol]
            text = (f"{lead[int(rnd() * len(lead))]} {when[int(rnd() * len(when))]} {s[int(rnd() * len(s))]} "
                    f"{tl_[int(rnd() * len(tl_))]}").strip()
            if rnd() < 0.6:
                s = rev[pol]
                text = f"{text} {s[int(rnd() * len(s))]}"
            else:
                c = closes[pol]
                text = f"{text} {c[int(rnd() * len(c))]}"
            if rnd() < 0.6:
                text = f"{text} {hashtags[int(rnd() * len(hashtags))]}"
            likes = likes_t[int(rnd() * 4096)]
            yield {"id": f"bench-{seed}-{i}", "text": text, "created_at": created, "source": "social",
                   "channel": soc_channels[int(rnd() * 5)], "rating_stars": None,
                   "author": authors[int(rnd() * len(authors))], "likes": likes, "shares": int(likes * rnd() * 0.4),
                   "replies": int(likes * rnd() * 0.1)}
        else:
            ch = tic_channels[int(rnd() * 3)]
            name = names[int(rnd() * len(names))]
            if ch == "hotline":
                text = (f"{hotline[int(rnd() * len(hotline))]} {hotline[int(rnd() * len(hotline))]} "
                        f"{intro[int(rnd() * len(intro))]}Kd. {name}.")
            else:
                para = ticket[int(rnd() * len(ticket))]
                para2 = ticket[int(rnd() * len(ticket))]
                text = (f"{greet[int(rnd() * len(greet))]}\n\n{para} Außerdem: {para2}\n\n"
                        f"{closing[int(rnd() * len(closing))]}\n{name}")
            yield {"id": f"bench-{seed}-{i}", "text": text, "created_at": created, "source": "ticket",
                   "channel": ch, "rating_stars": None, "author": name, "likes": None, "shares": None,
                   "replies": None}


# ----------------------------------------------------------------------------------------------- CLI
def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m cxnlp.samplegen", description="Write the Lumora sample exports.")
    ap.add_argument("out_dir", help="folder for the files (created if missing)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--end", type=date.fromisoformat, default=DEFAULT_END, help="last day, YYYY-MM-DD")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply all volumes")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    counts = generate(args.out_dir, seed=args.seed, days=args.days, end=args.end, scale=args.scale)
    for name, rows in counts.items():
        print(f"{name:<20} {rows:>6} rows")
    print(f"{sum(counts.values())} rows in {time.perf_counter() - t0:.2f} s -> {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
