"""Wilcoxon signed-rank test (exact, conditional on ties) and the Hodges-Lehmann CI by test inversion.

**One convention for zero differences: Pratt (1959)** (:data:`ZERO_METHOD`). Zero differences
are ranked with the others (mid-ranks) and then left out of the sign permutation; the ranks of
the non-zero differences are kept as ranked. This is the default of R
``coin::wilcoxsign_test`` (``zero.method = "Pratt"``). The alternative, ``"wilcox"`` (drop the
zeros before ranking: R ``wilcox.test``, SAS), is available for comparisons but is not used by
the pipeline: inverted, it gives confidence sets that are not always intervals (in about 1.5%
of simulated EDSS-like samples), which Pratt's ranking did not in the same simulations.

Test: the statistic is ``V`` = sum of the ranks of the positive differences (R's ``V``).
Its null distribution is the exact permutation distribution of the *observed* mid-ranks:
every one of the ``2^n`` sign assignments of the ``n`` non-zero differences is equally likely
under H0 (symmetry about 0), so with ties the distribution is that of ``sum(r_i * B_i)``,
``B_i ~ Bernoulli(1/2)``, over the mid-ranks ``r_i`` actually observed (the conditional exact
test of StatXact / R ``coin::wilcoxsign_test(distribution = "exact")``). Without ties or zeros it
is the classical exact distribution (R ``wilcox.test(exact = TRUE)``,
``scipy.stats.wilcoxon(method="exact")``). The two-sided p-value is
``min(1, 2·min(P(V <= v), P(V >= v)))``; the distribution is symmetric, so this equals
``P(|V - E V| >= |v - E V|)``.

Estimate: Hodges-Lehmann = median of the ``n(n+1)/2`` Walsh averages ``(d_i + d_j)/2, i <= j`` of
all differences (zeros included).

Confidence interval: the set of shifts ``theta`` that the *same* exact conditional test does not
reject, ``{theta : p(d - theta) > alpha}``, ``alpha = 1 - level``. So, by construction, the test of
H0: theta = 0 has ``p <= alpha`` if and only if 0 is outside the interval. ``p(d - theta)`` only
changes where ``theta`` crosses a Walsh average (a difference becomes zero or two |differences|
tie), so the set is found exactly by evaluating the test at every distinct Walsh average and at
one point inside each gap between them. Its limits are Walsh averages; a limit is *included*
when the test does not reject at the limit itself, *excluded* otherwise (with discrete data such
as EDSS, whose changes come in 0.5 steps, both happen: ``[a, b)`` is a valid answer). Without
ties and zeros the interval is the classical ``[W(C), W(M+1-C)]`` of the ordered Walsh averages
(Hollander & Wolfe, *Nonparametric Statistical Methods*, §3.2; R ``wilcox.test(conf.int = TRUE)``).

Level: the smallest two-sided p-value any ``theta`` can have is ``2/2^n`` (all differences on one
side), so a bounded interval exists only if ``2/2^n <= alpha`` (n >= 6 for 95%); otherwise the
confidence set is the whole real line, no interval is reported (limits NaN) and the highest
attainable level ``1 - 2/2^n`` is given instead (n = 2: 50%). When an interval exists, its
*achieved level* is the coverage it guarantees: the minimum over ``theta`` of the exact
conditional coverage ``1 - P(p <= alpha)`` of the test used at ``theta`` (e.g. 96.1% for 9 untied
differences at the requested 95%; always >= the requested level).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from fcrnpipe.stats.ci import level_pct

ZERO_METHODS = ("pratt", "wilcox")
#: The convention used for zero differences by the pipeline (test and interval alike).
ZERO_METHOD = "pratt"
#: |differences| are rounded to this many decimals before ranking, so that floating-point
#: noise (e.g. 2.7 - 1.2) does not break ties that exist in the recorded data; Walsh averages
#: are rounded likewise before they are used as candidate interval limits.
RANK_DECIMALS = 10

_ZERO_TEXT = {
    "pratt": "zero differences ranked with the others, then left out of the sign permutation (Pratt)",
    "wilcox": "zero differences dropped before ranking (Wilcoxon; R wilcox.test)",
}


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
    """Hodges-Lehmann estimate (one sample / paired differences) and its test-inversion CI.

    ``ci_low``/``ci_high`` are NaN when the requested level is not attainable
    (``attainable`` False); ``low_included``/``high_included`` say whether each limit belongs to
    the interval. ``achieved_level`` is the coverage the interval guarantees when it exists,
    else the highest attainable level (``max_level``).
    """

    n: int
    estimate: float
    ci_low: float
    ci_high: float
    low_included: bool
    high_included: bool
    level: float  # requested confidence level
    achieved_level: float
    max_level: float  # highest level for which a bounded interval exists: 1 - 2/2^n
    attainable: bool  # a bounded interval exists at the requested level
    connected: bool  # the non-rejected shifts form one interval (else the hull is reported)
    ties: bool  # ties or zeros among the differences
    zero_method: str
    method: str

    @property
    def bounds(self) -> str:
        """Interval notation of the limits: ``"[]"``, ``"[)"``, ``"(]"``, ``"()"``; ``""`` without interval."""
        if math.isnan(self.ci_low) or math.isnan(self.ci_high):
            return ""
        return ("[" if self.low_included else "(") + ("]" if self.high_included else ")")

    def excludes(self, value: float = 0.0) -> bool:
        """True if ``value`` is outside the interval (False when no interval could be given)."""
        if not self.attainable:
            return False
        lo_ok = value > self.ci_low or (value == self.ci_low and self.low_included)
        hi_ok = value < self.ci_high or (value == self.ci_high and self.high_included)
        return not (lo_ok and hi_ok)


def _clean(diffs: object) -> np.ndarray:
    x = np.asarray(diffs, dtype=float).ravel()
    return x[~np.isnan(x)]


def _check_zero_method(zero_method: str) -> None:
    if zero_method not in ZERO_METHODS:
        raise ValueError(f"zero_method must be one of {ZERO_METHODS}, got {zero_method!r}")


# ----------------------------------------------------------------------- null distributions
class _NullDistribution:
    """Exact null distribution of ``V = sum(r_i · B_i)`` on doubled (integer) ranks."""

    def __init__(self, doubled: tuple[int, ...]) -> None:
        self.n = len(doubled)
        top = sum(doubled)
        # exact integer counts of the sign assignments per doubled sum; int64 holds 2^62
        dtype: type | str = np.int64 if self.n <= 62 else object
        counts = np.zeros(top + 1, dtype=dtype)
        counts[0] = 1
        for r in doubled:
            shifted = np.zeros_like(counts)
            shifted[r:] = counts[: top + 1 - r]
            counts = counts + shifted
        self.counts = [int(c) for c in counts]
        self.total = 2**self.n
        self.cum = [int(c) for c in np.cumsum(np.array(self.counts, dtype=object))]
        self._size: dict[float, int] = {}

    def p_value(self, v2: int) -> float:
        """Two-sided p-value of the doubled statistic ``v2``: ``min(1, 2 min(P(V<=v), P(V>=v)))``."""
        if self.n == 0:
            return 1.0
        lower = self.cum[v2]
        upper = self.total - (self.cum[v2 - 1] if v2 > 0 else 0)
        return min(1.0, (2 * min(lower, upper)) / self.total)

    def size(self, alpha: float) -> float:
        """``P(p <= alpha)`` under H0: the attained size of the test at level ``alpha``."""
        if alpha not in self._size:
            self._size[alpha] = sum(c for v2, c in enumerate(self.counts) if c and self.p_value(v2) <= alpha)
        return self._size[alpha] / self.total


@lru_cache(maxsize=4096)
def _null(doubled_sorted: tuple[int, ...]) -> _NullDistribution:
    return _NullDistribution(doubled_sorted)


def signed_rank_distribution(ranks: object) -> tuple[np.ndarray, np.ndarray]:
    """Exact null distribution of ``V = sum(r_i · B_i)``, ``B_i ~ Bernoulli(1/2)`` independent.

    ``ranks`` are (mid-)ranks, multiples of 1/2. Returns ``(support, probability)``, the support
    being every attainable value of V in increasing order. Counted exactly on the doubled
    (integer) ranks by dynamic programming over the ``2^n`` sign assignments.
    """
    r = np.asarray(ranks, dtype=float).ravel()
    doubled = [int(round(2.0 * float(x))) for x in r]
    if any(abs(2.0 * float(x) - d) > 1e-9 for x, d in zip(r, doubled)):
        raise ValueError("ranks must be multiples of 1/2 (mid-ranks)")
    dist = _null(tuple(sorted(doubled)))
    support = np.array([s / 2.0 for s, c in enumerate(dist.counts) if c], dtype=float)
    prob = np.array([c / dist.total for c in dist.counts if c], dtype=float)
    return support, prob


# ------------------------------------------------------------------------------- the test
@dataclass(frozen=True)
class _Ranked:
    doubled: tuple[int, ...]  # doubled mid-ranks of the non-zero differences, sorted
    v2: int  # doubled V
    n_zero: int
    ties: bool


def _rank(d: np.ndarray, zero_method: str) -> _Ranked:
    """Signed ranks of the differences ``d`` (no missing values) under ``zero_method``."""
    absd = np.round(np.abs(d), RANK_DECIMALS)
    zero = absd == 0
    from scipy import stats  # imported where used (0.5 s that table and figure jobs need not pay)
    if zero_method == "wilcox":
        ranks = stats.rankdata(absd[~zero], method="average")
    else:
        ranks = stats.rankdata(absd, method="average")[~zero]
    nonzero = absd[~zero]
    doubled = np.rint(2.0 * ranks).astype(np.int64)
    positive = d[~zero] > 0
    return _Ranked(
        doubled=tuple(sorted(int(x) for x in doubled)),
        v2=int(doubled[positive].sum()),
        n_zero=int(zero.sum()),
        ties=bool(nonzero.size and np.unique(nonzero).size < nonzero.size),
    )


def _p_value(d: np.ndarray, zero_method: str) -> tuple[float, _Ranked]:
    ranked = _rank(d, zero_method)
    return _null(ranked.doubled).p_value(ranked.v2), ranked


def signed_rank_test(diffs: object, zero_method: str = ZERO_METHOD) -> SignedRankResult:
    """Exact two-sided Wilcoxon signed-rank test of the paired differences ``diffs``.

    ``zero_method``: ``"pratt"`` (default, the pipeline's convention) ranks the zero differences
    with the others and then drops them from the sign permutation (Pratt 1959; R ``coin``
    default); ``"wilcox"`` drops them before ranking (R ``wilcox.test``, SAS). Missing values
    are dropped. With no non-zero difference, V = 0 and p = 1.
    """
    _check_zero_method(zero_method)
    d = _clean(diffs)
    p, ranked = _p_value(d, zero_method)
    n = len(ranked.doubled)
    method = (
        "Wilcoxon signed-rank test, two-sided; statistic V = sum of the ranks of the positive "
        "differences; exact p-value from the permutation distribution of the observed mid-ranks "
        f"(all 2^n sign assignments, n = {n}); {_ZERO_TEXT[zero_method]}; "
        + ("ties present: mid-ranks (conditional exact test)" if ranked.ties else "no ties: classical exact test")
        + f"; p = min(1, 2 min(P(V<=v), P(V>=v))); {ranked.n_zero} zero difference(s)"
    )
    return SignedRankResult(
        n=n,
        n_zero=ranked.n_zero,
        statistic=ranked.v2 / 2.0,
        p_value=p,
        ties=ranked.ties,
        zero_method=zero_method,
        method=method,
    )


# -------------------------------------------------------------------------- Hodges-Lehmann
def walsh_averages(x: object) -> np.ndarray:
    """The ``n(n+1)/2`` Walsh averages ``(x_i + x_j)/2, i <= j``, sorted (missing dropped)."""
    a = _clean(x)
    i, j = np.triu_indices(a.size)
    return np.sort((a[i] + a[j]) / 2.0, kind="mergesort")


@dataclass(frozen=True)
class _Piece:
    """A set of shifts on which the test gives one p-value: a Walsh average or an open gap."""

    lo: float  # the Walsh average itself, or the gap's lower end (-inf for the first gap)
    hi: float
    point: bool
    p: float
    size: float  # P(p <= alpha) of the conditional test used on this piece


def _pieces(d: np.ndarray, alpha: float, zero_method: str) -> list[_Piece]:
    """The real line cut at the distinct Walsh averages, with the test's p-value on each piece."""
    w = np.unique(np.round(walsh_averages(d), RANK_DECIMALS))
    inner = [(float(a) + float(b)) / 2.0 for a, b in zip(w[:-1], w[1:])]
    probes = [float(w[0]) - 1.0, *inner, float(w[-1]) + 1.0]
    edges = [-math.inf, *(float(x) for x in w), math.inf]
    out: list[_Piece] = []
    for k, theta in enumerate(probes):
        if k:
            p, ranked = _p_value(d - float(w[k - 1]), zero_method)
            out.append(_Piece(float(w[k - 1]), float(w[k - 1]), True, p, _null(ranked.doubled).size(alpha)))
        p, ranked = _p_value(d - theta, zero_method)
        out.append(_Piece(edges[k], edges[k + 1], False, p, _null(ranked.doubled).size(alpha)))
    return out


def _hl_head(m: int, n: int, level: float, zero_method: str) -> str:
    """The first sentence of the Hodges-Lehmann method text: the estimate and how the CI is built."""
    alpha = 1.0 - level
    return (
        f"Hodges-Lehmann estimate = median of the {m} Walsh averages of the {n} differences (zeros included); "
        f"{level_pct(level)} CI = the shifts theta not rejected (two-sided p > {alpha:.4g}) by the same exact "
        f"conditional signed-rank test applied to d - theta ({_ZERO_TEXT[zero_method]}), so p <= {alpha:.4g} for "
        "theta = 0 exactly when 0 is outside the CI"
    )


def _hl_not_attainable(
    n: int,
    estimate: float,
    level: float,
    max_level: float,
    any_accepted: bool,
    ties: bool,
    zero_method: str,
    head: str,
) -> HodgesLehmannResult:
    """The result without an interval: every shift rejected (``any_accepted`` False: only for
    levels below 1 - p at the estimate), or no shift rejectable at ``level`` with n subjects
    (the highest attainable level ``max_level`` is given)."""
    nan = math.nan
    alpha = 1.0 - level
    if not any_accepted:
        method = f"{head}; every shift is rejected at this level: no interval"
        achieved = nan
    else:
        method = (
            f"{head}; {level_pct(level)} CI not attainable: with n = {n} the smallest attainable two-sided p-value "
            f"is {1.0 - max_level:.4g} (> {alpha:.4g}), so no shift is rejected and no interval is given; "
            f"highest attainable confidence level {100.0 * max_level:.2f}%"
        )
        achieved = max_level
    return HodgesLehmannResult(
        n, estimate, nan, nan, False, False, level, achieved, max_level, False, True, ties, zero_method, method
    )


def _hl_ci_text(
    head: str, ci_low: float, ci_high: float, low_included: bool, high_included: bool, achieved: float, ties: bool
) -> str:
    """The method text of an attained interval: the CI with its brackets and the achieved level."""
    bounds = ("[" if low_included else "(") + ("]" if high_included else ")")
    return (
        f"{head}; CI {bounds[0]}{ci_low:.6g}, {ci_high:.6g}{bounds[1]} ('[' / ']': limit included, "
        f"'(' / ')': limit excluded); achieved confidence level {100.0 * achieved:.2f}% (minimum over theta of the "
        "exact conditional coverage)"
        + ("; ties/zeros among the differences: mid-ranks" if ties else "; no ties: the classical exact interval")
    )


def _hl_gaps_text(span: Sequence[_Piece], alpha: float) -> str:
    """The method text's note on the rejected shifts inside the reported interval (``span``: the
    pieces from the first to the last non-rejected one)."""
    gaps = [pc for pc in span if not pc.p > alpha]
    where = ", ".join(f"{pc.lo:.6g}" if pc.point else f"({pc.lo:.6g}, {pc.hi:.6g})" for pc in gaps)
    return (
        "; the non-rejected shifts do not form one interval: smallest interval containing them, "
        f"rejected inside: {where}"
    )


def hodges_lehmann(diffs: object, level: float = 0.95, zero_method: str = ZERO_METHOD) -> HodgesLehmannResult:
    """Hodges-Lehmann estimate of the pseudo-median of ``diffs`` and its test-inversion CI.

    The interval is ``{theta : p(diffs - theta) > 1 - level}`` for the exact conditional
    signed-rank test of :func:`signed_rank_test` with the same ``zero_method`` (see the module
    docstring), so that ``signed_rank_test(diffs).p_value <= 1 - level`` exactly when
    :meth:`HodgesLehmannResult.excludes` ``(0)``. Not attainable (n too small): limits NaN.
    Should the non-rejected shifts not form one interval (seen only with ``"wilcox"``), the
    smallest interval containing them is reported, ``connected`` is False and the method says so.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    _check_zero_method(zero_method)
    d = _clean(diffs)
    n = int(d.size)
    nan = math.nan
    if n == 0:
        return HodgesLehmannResult(
            0, nan, nan, nan, False, False, level, nan, nan, False, True, False, zero_method, "Hodges-Lehmann: no data"
        )
    alpha = 1.0 - level
    w = walsh_averages(d)
    m = int(w.size)
    estimate = float(np.median(w))
    absd = np.round(np.abs(d), RANK_DECIMALS)
    ties = bool(np.any(absd == 0) or np.unique(absd).size < n)
    pieces = _pieces(d, alpha, zero_method)
    max_level = 1.0 - min(pc.p for pc in pieces)
    accepted = [k for k, pc in enumerate(pieces) if pc.p > alpha]
    attainable = bool(accepted) and not (pieces[0].p > alpha or pieces[-1].p > alpha)
    head = _hl_head(m, n, level, zero_method)
    if not attainable:
        return _hl_not_attainable(n, estimate, level, max_level, bool(accepted), ties, zero_method, head)
    first, last = pieces[accepted[0]], pieces[accepted[-1]]
    connected = all(pc.p > alpha for pc in pieces[accepted[0] : accepted[-1] + 1])
    ci_low, low_included = (first.lo, True) if first.point else (first.lo, False)
    ci_high, high_included = (last.hi, True) if last.point else (last.hi, False)
    achieved = 1.0 - max(pc.size for pc in pieces)
    method = _hl_ci_text(head, ci_low, ci_high, low_included, high_included, achieved, ties)
    if not connected:
        method += _hl_gaps_text(pieces[accepted[0] : accepted[-1] + 1], alpha)
    return HodgesLehmannResult(
        n=n,
        estimate=estimate,
        ci_low=ci_low,
        ci_high=ci_high,
        low_included=low_included,
        high_included=high_included,
        level=level,
        achieved_level=achieved,
        max_level=max_level,
        attainable=True,
        connected=connected,
        ties=ties,
        zero_method=zero_method,
        method=method,
    )
