"""Display formatting of table cells (CSR conventions; the CSV outputs keep unrounded values).

Rounding is half away from zero on the shortest decimal representation of the value (as SAS
``ROUND`` and most CSR standards), not Python's round-half-to-even: ``2.25`` -> ``"2.3"``.
Conventions: n (%) with one decimal for %, ``0`` alone when n = 0; mean, SD, median and CIs with
one decimal more than the data, min and max with the data's decimals; p-values with 4
decimals, ``<0.0001`` below; missing or not estimable statistics as ``NE``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

NE = "NE"

Values = Mapping[str, Any]
Formatter = Callable[[Values], str]


def is_missing(x: object) -> bool:
    """None or NaN."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def rnd(x: float | None, decimals: int) -> str:
    """``x`` rounded half away from zero to ``decimals`` places (``NE`` if missing; no ``-0``)."""
    if is_missing(x):
        return NE
    q = Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if q == 0:
        q = abs(q)
    return f"{q:.{decimals}f}"


def sig(x: float | None, digits: int = 3) -> str:
    """``x`` to ``digits`` significant figures, fixed-point (PK convention): 1234.5 -> ``1235``,
    0.012345 -> ``0.0123``."""
    if is_missing(x):
        return NE
    x = float(x)
    if x == 0:
        return "0"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(x)))))
    return rnd(x, decimals)


def count(x: float | None) -> str:
    return NE if is_missing(x) else str(int(round(float(x))))


def n_pct(v: Values, k: str = "n_subjects", pct: str = "percent") -> str:
    """``"6 (85.7)"``; ``"0"`` when the count is 0."""
    if is_missing(v.get(k)):
        return NE
    n = int(round(float(v[k])))
    return "0" if n == 0 else f"{n} ({rnd(v.get(pct), 1)})"


def n_of_n_pct(v: Values, k: str = "n_subjects", total: str = "n", pct: str = "percent") -> str:
    """``"6/7 (85.7)"``; ``"0/N"`` when the count is 0, ``"0/0"`` without denominator."""
    if is_missing(v.get(k)) or is_missing(v.get(total)):
        return NE
    n, big_n = int(round(float(v[k]))), int(round(float(v[total])))
    return f"{n}/{big_n}" if n == 0 or big_n == 0 else f"{n}/{big_n} ({rnd(v.get(pct), 1)})"


def mean_sd(v: Values, decimals: int, m: str = "mean", s: str = "sd") -> str:
    """``"4.00 (1.04)"`` with ``decimals`` places (the data's decimals + 1)."""
    if is_missing(v.get(m)):
        return NE
    return f"{rnd(v[m], decimals)} ({rnd(v.get(s), decimals)})"


def interval(v: Values, decimals: int, lo: str, hi: str) -> str:
    """``"(28.4, 99.5)"``."""
    if is_missing(v.get(lo)) and is_missing(v.get(hi)):
        return NE
    return f"({rnd(v.get(lo), decimals)}, {rnd(v.get(hi), decimals)})"


def est_ci(v: Values, decimals: int, est: str, lo: str, hi: str) -> str:
    """``"-1.25 (-1.50, -0.75)"``."""
    if is_missing(v.get(est)):
        return NE
    return f"{rnd(v[est], decimals)} {interval(v, decimals, lo, hi)}"


def est_ci_bounds(v: Values, decimals: int, est: str) -> str:
    """Estimate and an interval in interval notation from the ``<est>_ci_low``/``_ci_high``/
    ``_ci_bounds`` values: ``"-1.25 [-1.75, -1.00)"``; ``"-1.75 (no CI)"`` without interval."""
    if is_missing(v.get(est)):
        return NE
    lo, hi, b = v.get(f"{est}_ci_low"), v.get(f"{est}_ci_high"), v.get(f"{est}_ci_bounds")
    if is_missing(lo) or is_missing(hi) or not isinstance(b, str) or len(b) != 2:
        return f"{rnd(v[est], decimals)} (no CI)"
    return f"{rnd(v[est], decimals)} {b[0]}{rnd(lo, decimals)}, {rnd(hi, decimals)}{b[1]}"


def ci_level(v: Values, key: str, requested: float) -> str:
    """Achieved confidence level of an interval: ``"95.3%"``; when the interval could not be given
    (limits missing), ``"not attainable (max 50.0%)"``."""
    lvl = v.get(f"{key}_ci_level")
    if is_missing(lvl):
        return NE
    if is_missing(v.get(f"{key}_ci_low")) and float(lvl) < requested:
        return f"{100 * requested:g}% not attainable (max {rnd(100 * float(lvl), 1)}%)"
    return f"{rnd(100 * float(lvl), 1)}%"


def min_max(v: Values, decimals: int, lo: str = "min", hi: str = "max") -> str:
    """``"2.0, 6.0"`` with the data's decimals."""
    if is_missing(v.get(lo)):
        return NE
    return f"{rnd(v[lo], decimals)}, {rnd(v.get(hi), decimals)}"


def p_value(p: float | None) -> str:
    """``"0.0156"``; ``"<0.0001"``; ``NE``."""
    if is_missing(p):
        return NE
    return "<0.0001" if float(p) < 0.0001 else rnd(p, 4)


def visit_label(visit: str) -> str:
    """``"WEEK 12"`` -> ``"Week 12"``; mixed-case labels unchanged."""
    v = str(visit).strip()
    return v[:1].upper() + v[1:].lower() if v.isupper() else v


def sentence(text: str) -> str:
    """``"WITHDRAWAL BY SUBJECT"`` -> ``"Withdrawal by subject"`` (mixed case unchanged)."""
    t = str(text).strip()
    return t[:1].upper() + t[1:].lower() if t.isupper() else t
