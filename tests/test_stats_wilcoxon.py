"""Exact CIs, exact signed-rank test and Hodges-Lehmann against textbook, R and scipy values."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
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
    assert "dropped before ranking (Wilcoxon" in w.method and "(Pratt)" in p.method
    assert signed_rank_test(d).zero_method == "pratt"  # the one convention of the pipeline
    assert signed_rank_test([0.0, 0.0]).p_value == 1.0
    with pytest.raises(ValueError):
        signed_rank_test(d, "zsplit")


def test_float_noise_does_not_break_ties():
    r = signed_rank_test([2.7 - 1.2, 1.5, -0.5])  # 2.7 - 1.2 = 1.5000000000000002
    assert r.ties and r.statistic == 5.0


# --------------------------------------------------------------------------- Hodges-Lehmann
def test_hodges_lehmann_hollander_wolfe_example():
    # H&W Table 3.1 data, 45 Walsh averages, median .46 (checked by hand). Untied: the limits are the classical
    # (W(6), W(40)) = (.010, .786) of R wilcox.test (qsignrank(0.025, 9) = 6; tests/data/r). Both limits are
    # Walsh averages of a pair (i != j): at theta = W(6) the pair ties in |d - theta| and the exact conditional
    # test rejects (coin agrees), so both limits are excluded.
    d = np.array(HW_X) - np.array(HW_Y)
    hl = hodges_lehmann(d)
    assert hl.estimate == pytest.approx(0.46)
    assert (hl.ci_low, hl.ci_high) == (pytest.approx(0.010), pytest.approx(0.786))
    assert hl.bounds == "()" and hl.attainable and hl.connected and not hl.ties
    assert hl.achieved_level == 0.953125  # coin: min over theta of the exact conditional coverage
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
    # -> W(3), W(26) of the Walsh averages of 1..7 (1, 1.5, 2, 2, 2.5, ...); coverage 1 - 2·3/128
    hl = hodges_lehmann(np.arange(1.0, 8.0))
    assert (hl.estimate, hl.ci_low, hl.ci_high, hl.bounds) == (4.0, 2.0, 6.0, "[]")
    assert hl.achieved_level == 1 - 6 / 128 and not hl.ties
    assert math.isnan(hodges_lehmann([]).estimate)


def test_n_too_small_gives_no_interval_and_the_attainable_level():
    # issue 10: the 340 mg arm (n = 2) had p = 0.5 and a "95%" HL interval (-2.0, -1.5) that excluded 0.
    # With n differences the smallest two-sided exact p is 2/2^n: no shift is rejected at 5% for n <= 5.
    two = hodges_lehmann([-2.0, -1.5])
    assert two.estimate == -1.75 and not two.attainable
    assert math.isnan(two.ci_low) and math.isnan(two.ci_high) and two.bounds == ""
    assert two.max_level == 0.5 and two.achieved_level == 0.5 and not two.excludes(0.0)
    assert "95% CI not attainable" in two.method and "50.00%" in two.method
    four = hodges_lehmann([-1.0, -1.5, -0.5, -1.5])
    assert not four.attainable and four.max_level == 0.875
    assert hodges_lehmann([-1.0, -1.5, -0.5, -1.5], level=0.875).attainable  # 1 - 2/16: the full range
    six = hodges_lehmann([-1.0, -1.5, -0.5, -1.5, -2.0, -1.0])
    assert six.attainable and six.max_level == 1 - 2 / 64


def test_issue_example_test_and_interval_agree():
    # issue 10: p = 0.031 but the old HL interval was (-1.0, 0.0). Inverting the same exact conditional test
    # (Pratt zeros) gives [-1.0, -0.25], which excludes 0 (coin inversion in tests/data/r agrees).
    d = [-1, -0.5, -0.5, 0, 0, 0, -1.5, -1, -0.5]
    t, hl = signed_rank_test(d), hodges_lehmann(d)
    assert t.p_value == 0.03125 and t.zero_method == "pratt"
    assert (hl.estimate, hl.ci_low, hl.ci_high, hl.bounds) == (-0.5, -1.0, -0.25, "[]")
    assert hl.excludes(0.0) and not (hl.ci_low <= 0.0 <= hl.ci_high)


def test_open_limit_at_zero_is_excluded():
    # p = 0.047: rejected at theta = 0, accepted just below 0 -> the interval [-1.5, 0) (coin agrees)
    d = [-1.0, -2.0, -1.0, 0.5, -2.0, -1.0, -1.0, -1.5, 1.0]
    t, hl = signed_rank_test(d), hodges_lehmann(d)
    assert t.p_value == 0.046875
    assert (hl.ci_low, hl.ci_high, hl.bounds) == (-1.5, 0.0, "[)")
    assert hl.excludes(0.0) and not hl.excludes(-0.75)
    assert "CI [-1.5, 0)" in hl.method


@pytest.mark.parametrize("zero_method", ["pratt", "wilcox"])
def test_p_at_most_alpha_iff_the_interval_excludes_0(zero_method):
    # the property the issue asks for, on EDSS-like data (0.5 steps, zeros, ties), n = 2..12; the interval in
    # closed-number form [ci_low, ci_high] with its limits' inclusion
    rng = np.random.default_rng(2023)
    n_excl = 0
    for _ in range(300):
        n = int(rng.integers(2, 13))
        d = rng.choice(np.arange(-4, 3) * 0.5, size=n, p=np.array([2, 4, 6, 6, 4, 2, 1]) / 25)
        t, hl = signed_rank_test(d, zero_method), hodges_lehmann(d, 0.95, zero_method)
        if not hl.connected:  # the wilcox convention only: then the hull is reported and the check is void
            assert zero_method == "wilcox"
            continue
        inside = hl.attainable and (
            (hl.ci_low < 0 or (hl.ci_low == 0 and hl.low_included))
            and (0 < hl.ci_high or (hl.ci_high == 0 and hl.high_included))
        )
        assert (t.p_value <= 0.05) == (hl.attainable and not inside), (list(d), t.p_value, hl.method)
        n_excl += t.p_value <= 0.05
    assert n_excl > 50  # the check saw many rejections


def test_pratt_confidence_sets_are_intervals():
    # the reason for Pratt: dropping zeros (wilcox) makes some inverted confidence sets non-intervals
    d = [-0.5, -2.0, -1.0, 0.5, -0.5, -0.5, -1.0, 0.0, -0.5, 0.5, 0.5]
    assert hodges_lehmann(d, 0.95, "pratt").connected
    w = hodges_lehmann(d, 0.95, "wilcox")
    assert not w.connected and "do not form one interval" in w.method


# ------------------------------------------------------------------------ R reference values
R_REF = pd.read_csv(
    Path(__file__).parent / "data" / "r" / "wilcoxon_reference.csv", keep_default_na=False, na_values=[""]
)


def _x(text):
    return [float(v) for v in text.split(";")]


@pytest.mark.parametrize("case", R_REF.loc[R_REF["source"] == "wilcox.test", "case"].tolist())
def test_matches_r_wilcox_test_on_untied_data(case):
    r = R_REF[(R_REF["source"] == "wilcox.test") & (R_REF["case"] == case)].iloc[0]
    x = _x(r["x"])
    t, hl = signed_rank_test(x), hodges_lehmann(x)
    assert t.statistic == r["statistic"] and not t.ties and t.n_zero == 0
    assert t.p_value == pytest.approx(r["p_value"], rel=1e-9)
    assert hl.estimate == pytest.approx(r["estimate"], rel=1e-12)
    if r["conf_level"] >= 0.95:
        assert (hl.ci_low, hl.ci_high) == (pytest.approx(r["ci_low"], abs=1e-12), pytest.approx(r["ci_high"], abs=1e-12))
    else:  # R warns and widens to the Walsh range at a lower level (2 significant digits); we give no interval
        assert not hl.attainable and round(hl.max_level, 2) == r["conf_level"]
        assert math.isnan(hl.ci_low)
        assert (r["ci_low"], r["ci_high"]) == (pytest.approx(min(x)), pytest.approx(max(x)))


@pytest.mark.parametrize(
    "case, zero_method",
    [(c, z) for c, z in R_REF.loc[R_REF["source"] == "coin", ["case", "zero_method"]].itertuples(index=False)],
)
def test_matches_coin_exact_test_and_its_inversion(case, zero_method):
    r = R_REF[(R_REF["source"] == "coin") & (R_REF["case"] == case) & (R_REF["zero_method"] == zero_method)].iloc[0]
    zm = {"pratt": "pratt", "wilcoxon": "wilcox"}[zero_method]
    x = _x(r["x"])
    t, hl = signed_rank_test(x, zm), hodges_lehmann(x, 0.95, zm)
    assert t.p_value == pytest.approx(r["p_value"], rel=1e-9)
    assert hl.estimate == pytest.approx(r["estimate"], rel=1e-12)
    if math.isnan(r["ci_low"]):
        assert not hl.attainable and math.isnan(hl.ci_low) and math.isnan(hl.ci_high)
        return
    assert (hl.ci_low, hl.ci_high) == (pytest.approx(r["ci_low"], abs=1e-9), pytest.approx(r["ci_high"], abs=1e-9))
    assert (hl.low_included, hl.high_included) == (bool(r["ci_low_included"]), bool(r["ci_high_included"]))
    assert hl.connected == bool(r["connected"])
    assert hl.achieved_level == pytest.approx(r["conf_level"], rel=1e-12)


def test_r_reference_covers_the_cases_that_matter():
    coin = R_REF[R_REF["source"] == "coin"]
    assert {"issue10_example", "u2_arm340", "edss_n9_open_at_0", "edss_n11_mixed"} <= set(coin["case"])
    assert (coin["ci_low_included"] == 0).any() and (coin["connected"] == 0).any()
    assert len(R_REF[R_REF["source"] == "wilcox.test"]) == 8


def test_walsh_averages():
    w = walsh_averages([1.0, 3.0, np.nan, 7.0, 8.0])
    assert list(w) == [1.0, 2.0, 3.0, 4.0, 4.5, 5.0, 5.5, 7.0, 7.5, 8.0]
