"""Confidence intervals: exact binomial (Clopper-Pearson) and t-based for a mean."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided CI of a binomial proportion ``k / n``, as fractions.

    Beta quantiles ``B(a/2; k, n-k+1)`` and ``B(1-a/2; k+1, n-k)``, with 0 as the lower limit
    when ``k = 0`` and 1 as the upper limit when ``k = n`` (``scipy.stats.binomtest``,
    ``method="exact"``; same as R ``binom.test``). ``(nan, nan)`` when ``n = 0``.
    """
    k, n = int(k), int(n)
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n == 0:
        return math.nan, math.nan
    from scipy import stats  # imported where used (0.5 s that table and figure jobs need not pay)
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def t_interval(values: Sequence[float] | np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Two-sided t-based CI of the mean: ``mean ± t(1-a/2, n-1)·SD/√n`` (NaN if n < 2).

    Missing values are dropped. With SD = 0 the interval collapses to the mean.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = int(x.size)
    if n < 2:
        return math.nan, math.nan
    mean = float(x.mean())
    from scipy import stats  # imported where used (0.5 s that table and figure jobs need not pay)
    half = float(stats.t.ppf(0.5 + level / 2.0, n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
    return mean - half, mean + half


def level_pct(level: float) -> str:
    """``0.95`` -> ``"95%"``, ``0.9`` -> ``"90%"``, ``0.975`` -> ``"97.5%"``."""
    return f"{100.0 * level:g}%"
