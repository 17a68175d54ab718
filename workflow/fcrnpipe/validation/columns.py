"""Vectorised operations on the text columns of an export (each distinct value computed once).

The text tables of :mod:`fcrnpipe.rawio` hold a ``str`` or ``None`` per cell. A column of a
large domain has few distinct values (test codes, units, visits, dates) or, for results, far
fewer than rows; :func:`per_unique` computes a function once per distinct value
(``pandas.factorize``, hash-based, linear) and maps the results back, which is what every
validation check builds on: upper-casing, regular-expression matching, number parsing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


def per_unique(s: pd.Series, fn: Callable[[str], Any], missing: Any = None, dtype: Any = object) -> pd.Series:
    """``fn`` of every cell, computed once per distinct value; ``missing`` for empty cells."""
    codes, uniques = pd.factorize(s.to_numpy(dtype=object), use_na_sentinel=True)
    values = np.empty(len(uniques) + 1, dtype=dtype)
    for i, u in enumerate(uniques):
        values[i] = fn(str(u))
    values[len(uniques)] = missing
    return pd.Series(values[codes], index=s.index, dtype=dtype)


def upper(s: pd.Series) -> pd.Series:
    """Stripped, upper-cased text (``None`` for empty cells)."""
    return per_unique(s, lambda v: v.strip().upper() or None)


def matches(s: pd.Series, pattern: str, missing: bool = True) -> pd.Series:
    """Boolean: the text matches ``pattern`` entirely (empty cells -> ``missing``)."""
    rx = re.compile(pattern)
    return per_unique(s, lambda v: rx.fullmatch(v) is not None, missing=missing, dtype=bool)


def parse_numbers(s: pd.Series, pattern: str) -> pd.Series:
    """float64: the number of every cell matching ``pattern`` entirely, NaN otherwise."""
    rx = re.compile(pattern)
    return per_unique(s, lambda v: float(v) if rx.fullmatch(v) else np.nan, missing=np.nan, dtype="float64")
