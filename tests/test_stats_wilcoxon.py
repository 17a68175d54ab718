"""Exact CIs, exact signed-rank test and Hodges-Lehmann against textbook, R and scipy values."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from fcrnpipe.stats import clopper_pearson, describe, hodges_lehmann, signed_rank_test, t_interval, walsh_averages
from fcrnpipe.stats.wilcoxon import signed_rank_distribution

# Hollander & Wolfe (1999) Table 3.1, Hamilton depression scale factor IV; also the example of
# R ?wilcox.test: wilcox.test(x, y, paired = TRUE, alternative = "greater") -> V = 40, p = 0.01953
HW_X = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
HW_Y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]


# ------------------------------------------------------------------------------------- CIs
@pytest.mark.parametrize(
    "k, n, low, high",
    [
        (6, 7, 0.4213, 0.9964),  # brief / R binom.test(6, 7)
        (4, 5, 0.2835821, 0.9949492),  # R binom.test(4, 5)$conf.int
        (1, 5, 0.005050763, 0.716417936),  # R binom.test(1, 5)$conf.int
        (0, 10, 0.0, 0.3084971),  # R binom.test(0, 10)$conf.int
        (10, 10, 0.6915029, 1.0),  # R binom.test(10, 10)$conf.int
    ],
)
def test_clopper_pearson_matches_r(k, n, low, high):
    lo, hi = clopper_pearson(k, n)
    assert lo == pytest.approx(low, abs=1e-4 if low == 0.4213 else 1e-7)
    assert hi == pytest.approx(high, abs=1e-4 if high == 0.9964 else 1e-7)


def test_clopper_pearson_edge_cases():
    assert all(math.isnan(v) for v in clopper_pearson(0, 0))
    with pytest.raises(ValueError):
        clopper_pearson(3, 2)
    # 90% interval is narrower than the 95% one
    lo90, hi90 = clopper_pearson(6, 7, 0.90)
    lo95, hi95 = clopper_pearson(6, 7)
    assert lo95 < lo90 and hi90 < hi95


def test_t_interval_matches_r():
    # R: t.test(1:5)$conf.int -> 1.036757 4.963243
    lo, hi = t_interval([1, 2, 3, 4, 5])
    assert (lo, hi) == (pytest.approx(1.036757, abs=1e-6), pytest.approx(4.963243, abs=1e-6))
    assert all(math.isnan(v) for v in t_interval([3.0]))
    assert t_interval([2.0, 2.0, np.nan]) == (2.0, 2.0)


def test_describe():
    s = describe([4.0, 1.0, np.nan, 3.0, 2.0])
    assert s["n"] == 4 and s["mean"] == 2.5 and s["median"] == 2.5 and (s["min"], s["max"]) == (1.0, 4.0)
    assert s["sd"] == pytest.approx(math.sqrt(5 / 3))
    one = describe([7.0])
    assert one["n"] == 1 and one["mean"] == 7.0 and math.isnan(one["sd"]) and math.isnan(one["ci_low"])
    assert describe([])["n"] == 0


# ------------------------------------------------------------------------- signed-rank test
@pytest.mark.parametrize("n, p", [(6, 0.03125), (7, 0.015625), (8, 0.0078125), (9, 2 / 512)])
def test_all_improved_gives_two_over_two_to_the_n(n, p):
    diffs = -np.arange(1, n + 1, dtype=float)  # every patient improved, no ties
    r = signed_rank_test(diffs)
    assert (r.n, r.statistic, r.p_value) == (n, 0.0, p)


def test_all_improved_with_ties_is_still_the_unique_extreme():
    # science.md n = 8 EDSS example: changes -1.5, -2.0, -1.5, -1.5, -1.0, -1.5, -1.0, -0.5
    r = signed_rank_test([-1.5, -2.0, -1.5, -1.5, -1.0, -1.5, -1.0, -0.5])
    assert r.ties and r.p_value == 0.0078125
    # n = 7 example: -1.0, -1.0, -2.0, -1.5, -1.5, -1.5, -0.5
    assert signed_rank_test([-1.0, -1.0, -2.0, -1.5, -1.5, -1.5, -0.5]).p_value == 0.015625


def test_r_documentation_example():
    d = np.array(HW_X) - np.array(HW_Y)
    r = signed_rank_test(d)
    assert r.statistic == 40.0 and not r.ties
    assert r.p_value == pytest.approx(2 * 0.01953, abs=1e-5)  # one-sided R value 0.01953
    assert r.p_value == stats.wilcoxon(d, method="exact").pvalue


def test_untied_matches_scipy_exact():
    rng = np.random.default_rng(1)
    for n in (3, 5, 10, 14):
        d = rng.normal(0.3, 1.0, n)
        assert signed_rank_test(d).p_value == pytest.approx(stats.wilcoxon(d, method="exact").pvalue, rel=1e-12)


def test_ties_hand_enumerated():
    # |d| 1, 1, 2 -> mid-ranks 1.5, 1.5, 3; V = 6 (all positive); 8 sign vectors, one with V >= 6
    assert signed_rank_test([1.0, 1.0, 2.0]).p_value == 0.25
    # d = -1, 1, 2, 2, 3: ranks 1.5, 1.5, 3.5, 3.5, 5; V = 13.5; P(V >= 13.5) = 3/32 -> p = 6/32
    r = signed_rank_test([-1.0, 1.0, 2.0, 2.0, 3.0])
    assert (r.statistic, r.p_value) == (13.5, 0.1875)


def test_ties_match_brute_force_enumeration():
    rng = np.random.default_rng(7)
    for _ in range(20):
        d = rng.choice([-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5], size=int(rng.integers(3, 11)))
        ranks = stats.rankdata(np.abs(d))
        v = ranks[d > 0].sum()
        sums = np.array(
            [sum(r for r, s in zip(ranks, signs) if s) for signs in itertools.product([0, 1], repeat=len(d))]
        )
        expected = min(1.0, 2 * min(np.mean(sums <= v + 1e-9), np.mean(sums >= v - 1e-9)))
        assert signed_rank_test(d).p_value == pytest.approx(expected, abs=1e-12), d


def test_null_distribution_sums_to_one_and_is_symmetric():
    support, prob = signed_rank_distribution([1.5, 1.5, 3.0])
    assert list(support) == [0.0, 1.5, 3.0, 4.5, 6.0]
    assert list(prob) == [1 / 8, 2 / 8, 2 / 8, 2 / 8, 1 / 8]
    with pytest.raises(ValueError):
        signed_rank_distribution([1.3])


def test_zero_methods():
    d = [0.0, 1.0, -2.0, 2.0, 3.0]
    w = signed_rank_test(d, "wilcox")  # ranks of 1, 2, 2, 3: 1, 2.5, 2.5, 4
    p = signed_rank_test(d, "pratt")  # ranks with the zero: 2, 3.5, 3.5, 5
    assert (w.n, w.n_zero, w.statistic) == (4, 1, 7.5)
    assert (p.n, p.n_zero, p.statistic) == (4, 1, 10.5)
    assert w.p_value == 0.5 and p.p_value == 0.5  # 4 of 16 sign vectors at least as extreme, each side
    assert "zeros excluded before ranking (Wilcoxon)" in w.method
    assert signed_rank_test([0.0, 0.0]).p_value == 1.0
    with pytest.raises(ValueError):
        signed_rank_test(d, "zsplit")


def test_float_noise_does_not_break_ties():
    r = signed_rank_test([2.7 - 1.2, 1.5, -0.5])  # 2.7 - 1.2 = 1.5000000000000002
    assert r.ties and r.statistic == 5.0


# --------------------------------------------------------------------------- Hodges-Lehmann
def test_hodges_lehmann_hollander_wolfe_example():
    # H&W Table 3.1 data, 45 Walsh averages, median .46 (checked by hand). The interval index follows the
    # H&W procedure, which is the rule of R wilcox.test (qsignrank(0.025, 9) = 6) and of the exact method of
    # asbio::HL.mean (c = M + 1 - (qsignrank(0.975, 9) + 1) = 6; its help example is this data set at
    # conf = .96): P0(V <= 5) = 10/512 <= 0.025 < P0(V <= 6) = 14/512, so (W(6), W(40)) = (.010, .786)
    # with coverage 1 - 20/512 = 96.1%. (A printed R output of this interval was not found to cite.)
    d = np.array(HW_X) - np.array(HW_Y)
    hl = hodges_lehmann(d)
    assert hl.estimate == pytest.approx(0.46)
    assert (hl.ci_low, hl.ci_high) == (pytest.approx(0.010), pytest.approx(0.786))
    assert hl.c == 6 and hl.achieved_level == pytest.approx(1 - 20 / 512)
    neg = hodges_lehmann(-d, 0.96)
    assert (neg.estimate, neg.ci_low, neg.ci_high) == (
        pytest.approx(-0.46),
        pytest.approx(-0.786),
        pytest.approx(-0.010),
    )


def test_hodges_lehmann_small_cases():
    # peterstatistics worked example: scores 1, 3, 7, 8 -> Walsh averages median 4.75
    assert hodges_lehmann([1, 3, 7, 8]).estimate == 4.75
    # n = 7: P0(V <= 2) = 3/128 <= 0.025 < P0(V <= 3) = 5/128, so C = 3 (R: qsignrank(0.025, 7) = 3)
    # -> W(3), W(26) of the Walsh averages of 1..7 (1, 1.5, 2, 2, 2.5, ...); achieved 1 - 2·3/128
    hl = hodges_lehmann(np.arange(1.0, 8.0))
    assert (hl.estimate, hl.ci_low, hl.ci_high, hl.c) == (4.0, 2.0, 6.0, 3)
    assert hl.achieved_level == 1 - 6 / 128 and not hl.ties
    # n = 4 cannot reach 95%: full range, achieved 1 - 2/16
    small = hodges_lehmann([-1.0, -1.5, -0.5, -1.5])
    assert (small.ci_low, small.ci_high, small.achieved_level) == (-1.5, -0.5, 0.875)
    assert small.ties and "coverage approximate" in small.method
    assert math.isnan(hodges_lehmann([]).estimate)


def test_walsh_averages():
    w = walsh_averages([1.0, 3.0, np.nan, 7.0, 8.0])
    assert list(w) == [1.0, 2.0, 3.0, 4.0, 4.5, 5.0, 5.5, 7.0, 7.5, 8.0]
