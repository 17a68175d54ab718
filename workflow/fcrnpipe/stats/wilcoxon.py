"""Wilcoxon signed-rank test (exact, tie-aware) and the Hodges-Lehmann estimate with its CI.

Test: the statistic is ``V`` = sum of the ranks of the positive differences (R's ``V``).
Its null distribution is the exact permutation distribution of the *observed* mid-ranks:
every one of the ``2^n`` sign assignments is equally likely under H0 (symmetry about 0), so
with ties the distribution is that of ``sum(r_i * B_i)``, ``B_i ~ Bernoulli(1/2)``, over the
mid-ranks ``r_i`` actually observed (the conditional exact test of StatXact / R
``coin::wilcoxsign_test(distribution = "exact")``). Without ties it is the classical exact
distribution (R ``wilcox.test(exact = TRUE)``, ``scipy.stats.wilcoxon(method="exact")``).
The two-sided p-value is ``min(1, 2·min(P(V <= v), P(V >= v)))``; the distribution is
symmetric, so this equals ``P(|V - E V| >= |v - E V|)``.

Estimate: Hodges-Lehmann = median of the ``n(n+1)/2`` Walsh averages ``(d_i + d_j)/2, i <= j``.
CI (Hollander & Wolfe, *Nonparametric Statistical Methods*, §3.2): ``[W(C), W(M+1-C)]`` of the
ordered Walsh averages, ``M = n(n+1)/2``, with ``C`` the largest integer such that
``P0(V <= C-1) <= alpha/2`` under the untied null distribution for ``n`` (at least 1). Its
coverage ``1 - 2·P0(V <= C-1)`` is exact for continuous (untied) data and is reported as the
achieved level; with ties or zeros the coverage is approximate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np
from scipy import stats

from fcrnpipe.stats.ci import level_pct

ZERO_METHODS = ("wilcox", "pratt")
#: |differences| are rounded to this many decimals before ranking, so that floating-point
#: noise (e.g. 2.7 - 1.2) does not break ties that exist in the recorded data.
RANK_DECIMALS = 10


@dataclass(frozen=True)
class SignedRankResult:
    """Exact two-sided Wilcoxon signed-rank test of H0: distribution symmetric about 0."""

    n: int  # number of differences whose signs are permuted (non-zero)
    n_zero: int  # zero differences (excluded from the sign permutation)
    statistic: float  # V = sum of the ranks of the positive differences
    p_value: float  # exact two-sided p-value
    ties: bool  # ties among the non-zero |differences|
    zero_method: str
    method: str


@dataclass(frozen=True)
class HodgesLehmannResult:
    """Hodges-Lehmann estimate (one sample / paired differences) and its CI."""

    n: int
    estimate: float
    ci_low: float
    ci_high: float
    level: float  # requested confidence level
    achieved_level: float  # coverage of the interval under the untied null distribution
    c: int  # W(c) and W(M + 1 - c) are the limits (1-based)
    ties: bool  # ties or zeros among the differences (coverage then approximate)
    method: str


def _clean(diffs: object) -> np.ndarray:
    x = np.asarray(diffs, dtype=float).ravel()
    return x[~np.isnan(x)]


def signed_rank_distribution(ranks: object) -> tuple[np.ndarray, np.ndarray]:
    """Exact null distribution of ``V = sum(r_i · B_i)``, ``B_i ~ Bernoulli(1/2)`` independent.

    ``ranks`` are (mid-)ranks, multiples of 1/2. Returns ``(support, probability)``, the support
    being every attainable value of V in increasing order. Counted exactly on the doubled
    (integer) ranks by dynamic programming over the ``2^n`` sign assignments.
    """
    doubled = [int(round(2.0 * float(r))) for r in np.asarray(ranks, dtype=float).ravel()]
    if any(abs(2.0 * float(r) - d) > 1e-9 for r, d in zip(np.asarray(ranks, float).ravel(), doubled)):
        raise ValueError("ranks must be multiples of 1/2 (mid-ranks)")
    counts = _counts(tuple(doubled))
    total = 2 ** len(doubled)
    support = np.array([s / 2.0 for s, c in enumerate(counts) if c], dtype=float)
    prob = np.array([c / total for c in counts if c], dtype=float)
    return support, prob


@lru_cache(maxsize=256)
def _counts(doubled: tuple[int, ...]) -> tuple[int, ...]:
    """Number of sign assignments giving each doubled sum 0..sum(doubled) (exact integers)."""
    top = sum(doubled)
    counts = [0] * (top + 1)
    counts[0] = 1
    reach = 0
    for r in doubled:
        for s in range(reach, -1, -1):
            if counts[s]:
                counts[s + r] += counts[s]
        reach += r
    return tuple(counts)


def signed_rank_test(diffs: object, zero_method: str = "wilcox") -> SignedRankResult:
    """Exact two-sided Wilcoxon signed-rank test of the paired differences ``diffs``.

    ``zero_method``: ``"wilcox"`` drops zero differences before ranking (R ``wilcox.test``,
    SAS); ``"pratt"`` ranks them with the others and then drops their ranks from the sign
    permutation (Pratt 1959; R ``coin`` default). Missing values are dropped. With no
    non-zero difference, V = 0 and p = 1.
    """
    if zero_method not in ZERO_METHODS:
        raise ValueError(f"zero_method must be one of {ZERO_METHODS}, got {zero_method!r}")
    d = _clean(diffs)
    absd = np.round(np.abs(d), RANK_DECIMALS)
    zero = absd == 0
    if zero_method == "wilcox":
        d, absd = d[~zero], absd[~zero]
        ranks = stats.rankdata(absd, method="average") if d.size else np.array([])
    else:
        ranks = stats.rankdata(absd, method="average")[~zero] if d.size else np.array([])
        d, absd = d[~zero], absd[~zero]
    n = int(d.size)
    ties = bool(n and len(np.unique(absd)) < n)
    v = float(ranks[d > 0].sum()) if n else 0.0
    if n == 0:
        p = 1.0
    else:
        doubled = tuple(int(round(2.0 * r)) for r in ranks)
        counts = _counts(doubled)
        v2 = int(round(2.0 * v))
        lower = sum(counts[: v2 + 1])
        upper = sum(counts[v2:])
        p = float(min(Fraction(1), Fraction(2 * min(lower, upper), 2**n)))
    zero_text = (
        "zeros excluded before ranking (Wilcoxon)"
        if zero_method == "wilcox"
        else "zeros ranked, then excluded from the sign permutation (Pratt)"
    )
    method = (
        "Wilcoxon signed-rank test, two-sided; statistic V = sum of the ranks of the positive "
        "differences; exact p-value from the permutation distribution of the observed mid-ranks "
        f"(all 2^n sign assignments, n = {n}); {zero_text}; "
        + ("ties present: mid-ranks (conditional exact test)" if ties else "no ties: classical exact test")
        + f"; p = min(1, 2 min(P(V<=v), P(V>=v))); {int(zero.sum())} zero difference(s)"
    )
    return SignedRankResult(
        n=n,
        n_zero=int(zero.sum()),
        statistic=v,
        p_value=p,
        ties=ties,
        zero_method=zero_method,
        method=method,
    )


def walsh_averages(x: object) -> np.ndarray:
    """The ``n(n+1)/2`` Walsh averages ``(x_i + x_j)/2, i <= j``, sorted (missing dropped)."""
    a = _clean(x)
    i, j = np.triu_indices(a.size)
    return np.sort((a[i] + a[j]) / 2.0, kind="mergesort")


def _untied_cdf(n: int) -> np.ndarray:
    """P0(V <= v), v = 0..n(n+1)/2, for the untied signed-rank statistic (ranks 1..n)."""
    counts = _counts(tuple(2 * r for r in range(1, n + 1)))
    # doubled ranks are even, so only even doubled sums occur: index 2v -> V = v
    c = np.array([counts[2 * v] for v in range(n * (n + 1) // 2 + 1)], dtype=object)
    total = 2**n
    return np.array([float(Fraction(int(s), total)) for s in np.cumsum(c)], dtype=float)


def hodges_lehmann(diffs: object, level: float = 0.95) -> HodgesLehmannResult:
    """Hodges-Lehmann estimate of the pseudo-median of ``diffs`` and its distribution-free CI.

    All non-missing differences (zeros included) form the Walsh averages. ``C`` (see module
    docstring) is the largest integer with ``P0(V <= C-1) <= (1-level)/2`` for the untied null
    distribution of n (Hollander & Wolfe; R ``wilcox.test(conf.int = TRUE)`` for untied data);
    when even ``C = 1`` cannot reach the level (n too small), ``C = 1`` (the full range of the
    Walsh averages) and the achieved level is lower than requested.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    d = _clean(diffs)
    n = int(d.size)
    if n == 0:
        nan = math.nan
        return HodgesLehmannResult(0, nan, nan, nan, level, nan, 0, False, "Hodges-Lehmann: no data")
    w = walsh_averages(d)
    m = int(w.size)
    estimate = float(np.median(w))
    cdf = _untied_cdf(n)
    alpha2 = (1.0 - level) / 2.0
    ok = np.nonzero(cdf <= alpha2 + 1e-12)[0]
    c = int(ok.max()) + 1 if ok.size else 1
    achieved = 1.0 - 2.0 * float(cdf[c - 1]) if ok.size else 1.0 - 2.0 * float(cdf[0])
    absd = np.round(np.abs(d), RANK_DECIMALS)
    ties = bool(np.any(absd == 0) or len(np.unique(absd)) < n)
    method = (
        f"Hodges-Lehmann estimate = median of the {m} Walsh averages (zeros included); "
        f"{level_pct(level)} CI requested: ordered Walsh averages W({c}) and W({m + 1 - c}), C from the "
        f"exact null distribution of the signed-rank statistic for n = {n} (Hollander & Wolfe); "
        f"achieved confidence {100.0 * achieved:.2f}%"
        + ("; ties/zeros present: coverage approximate" if ties else "; no ties: exact distribution-free interval")
    )
    return HodgesLehmannResult(
        n=n,
        estimate=estimate,
        ci_low=float(w[c - 1]),
        ci_high=float(w[m - c]),
        level=level,
        achieved_level=achieved,
        c=c,
        ties=ties,
        method=method,
    )
