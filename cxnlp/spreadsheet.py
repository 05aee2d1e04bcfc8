"""Spreadsheet safety for every CSV/Excel export (tag output, KPI exports, the review app)."""
from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(v: Any) -> Any:
    """Formula-injection guard: text starting with = + - @ (or tab/CR) gets a leading quote."""
    if isinstance(v, str) and v[:1] in FORMULA_STARTS:
        return "'" + v
    return v
