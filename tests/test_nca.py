"""Tests of the NCA library (fcrnpipe.nca) and of the `nca` rule.

Expected values are typed: derived by hand in the comments (closed forms written as
arithmetic on literals), or copied from published reference output (Theoph, see below).
numpy.polyfit appears only as a cross-check of the regression.
"""

from __future__ import annotations

import math
import subprocess

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, VENV_BIN
from fcrnpipe.errors import UserError
from fcrnpipe.nca import (
    NCA_COLUMNS,
    PARAMETERS,
    SUMMARY_COLUMNS,
    AcceptanceRules,
    Interval,
    NCAOptions,
    acceptance_flags,
    analyse_profile,
    auc,
    auc_interval,
    conc_at,
    dose_proportionality,
    lambda_z,
    missing_reasons,
    nca_profile,
    run_nca,
    summarise_nca,
)
from fcrnpipe.nca.dataset import apply_blq_rules, resolve_dose_number
from fcrnpipe.nca.summary import describe, geometric_cv_pct, geometric_mean, power_model
from fcrnpipe.tableio import write_csv, write_parquet

LN2 = math.log(2)
LOGDOWN = "linear-up/log-down"


# ----------------------------------------------------------------------------- AUC
def test_auc_linear_by_hand():
    # (0,0)-(1,4): 1*(0+4)/2 = 2; (1,4)-(2,2): 1*(4+2)/2 = 3; (2,2)-(4,1): 2*(2+1)/2 = 3 -> 8
    assert auc([0, 1, 2, 4], [0, 4, 2, 1], "linear") == pytest.approx(8.0, abs=1e-12)


def test_auc_linear_up_log_down_by_hand():
    # rise 0->4 linear: 2; fall 4->2 over 1 h: 1*(4-2)/ln(4/2) = 2/ln2;
    # fall 2->1 over 2 h: 2*(2-1)/ln(2) = 2/ln2  -> 2 + 4/ln2 = 7.770780163555854
    assert auc([0, 1, 2, 4], [0, 4, 2, 1], LOGDOWN) == pytest.approx(7.770780163555854, rel=1e-12)
    # equal concentrations and a fall to zero use the linear trapezoid even under log-down
    assert auc([0, 1], [3, 3], LOGDOWN) == pytest.approx(3.0)
    assert auc([0, 2], [4, 0], LOGDOWN) == pytest.approx(4.0)
    assert auc([5], [3], LOGDOWN) == 0.0


def test_auc_rejects_bad_input():
    with pytest.raises(ValueError):
        auc([0, 2, 1], [1, 2, 3], "linear")
    with pytest.raises(ValueError):
        auc([0, 1], [1, -2], "linear")
    with pytest.raises(ValueError):
        auc([0, 1], [1, 2], "log")


def test_conc_at_interpolates_and_extrapolates():
    t, c = [0, 2, 4], [0, 8, 2]
    assert conc_at(t, c, 1, LOGDOWN) == pytest.approx(4.0)  # rising: linear midpoint
    assert conc_at(t, c, 3, LOGDOWN) == pytest.approx(4.0)  # falling 8 -> 2: geometric midpoint sqrt(16)
    assert conc_at(t, c, 3, "linear") == pytest.approx(5.0)  # linear midpoint (8+2)/2
    assert conc_at(t, c, 6, LOGDOWN, lz=LN2) == pytest.approx(0.5)  # 2 * exp(-ln2 * 2)
    assert math.isnan(conc_at(t, c, 6, LOGDOWN))  # no lambda_z
    assert math.isnan(conc_at([1, 2], [1, 1], 0.5, LOGDOWN))  # before the first sample


# ----------------------------------------------------------------------------- lambda_z
def _selection_profile(delta: float) -> tuple[list[float], list[float]]:
    # Cmax 10 at 2 h, then 16*2^(-t/4) exactly at 8, 12, 16 h (4, 2, 1) and 8*e^delta at 4 h.
    return [0, 2, 4, 8, 12, 16], [0, 10, 8 * math.exp(delta), 4, 2, 1]


# Closed forms for the 4-point fit (t = 4, 8, 12, 16; x - mean = -6, -2, 2, 6; Sxx = 80):
#   slope = (-20 ln2 - 6 delta) / 80  ->  lambda_z = ln2/4 + 0.075 delta
#   SSres = delta^2 (1 - h11), h11 = 1/4 + 36/80 = 0.7  ->  SSres = 0.3 delta^2
#   Syy = 5 ln2^2 + 3 delta ln2 + 0.75 delta^2;  adjR2 = 1 - (SSres/Syy) * 3/2
# The 3-point fit (8, 12, 16 h) is exact: lambda_z = ln2/4 = 0.17328679513998632, adjR2 = 1.
def test_lambda_z_takes_more_points_within_tolerance():
    # delta = 0.01: Syy = 2.423134..., adjR2(4) = 1 - 0.45e-4/2.423134 = 0.99998143 (within 1e-4)
    lz = lambda_z(*_selection_profile(0.01), min_points=3, adj_r2_tolerance=1e-4)
    assert lz.n == 4 and lz.t_first == 4 and lz.t_last == 16
    assert lz.lambda_z == pytest.approx(0.17328679513998632 + 0.075 * 0.01, rel=1e-10)  # 0.1740368
    assert lz.adj_r2 == pytest.approx(0.9999814290, abs=1e-9)
    slope, _ = np.polyfit([4, 8, 12, 16], np.log(_selection_profile(0.01)[1][2:]), 1)  # cross-check
    assert -slope == pytest.approx(lz.lambda_z, rel=1e-10)


def test_lambda_z_keeps_best_fit_outside_tolerance():
    # delta = 0.05: adjR2(4) = 1 - 0.45*0.0025/2.508112 = 0.99955146: outside 1e-4 -> 3 points
    lz = lambda_z(*_selection_profile(0.05), adj_r2_tolerance=1e-4)
    assert (lz.n, lz.t_first) == (3, 8)
    assert lz.lambda_z == pytest.approx(LN2 / 4, rel=1e-10)
    assert lz.t_half == pytest.approx(4.0, rel=1e-10)
    assert lz.span_ratio == pytest.approx((16 - 8) / 4.0, rel=1e-10)
    # a looser tolerance (1e-3) admits the 4-point fit: ln2/4 + 0.075*0.05 = 0.1770368
    wide = lambda_z(*_selection_profile(0.05), adj_r2_tolerance=1e-3)
    assert wide.n == 4 and wide.lambda_z == pytest.approx(0.17703679513998632, rel=1e-10)
    assert wide.adj_r2 == pytest.approx(0.9995514555, abs=1e-9)


def test_lambda_z_pknca_reference_values():
    # humanpred/pknca tests/testthat/test-half.life.R, "pk.calc.half.life":
    # conc 1, 0.5, 0.25, 0.1251 at 0..3 h, Tmax excluded -> half.life 1.000577
    t, c = [0, 1, 2, 3], [1, 0.5, 0.25, 0.1251]
    assert lambda_z(t, c).t_half == pytest.approx(1.000577, abs=1e-6)
    # same data, Tmax allowed, adj.r.squared.factor 0.01 -> lambda.z 0.6929073, adj.r.squared
    # 0.9999999, n 4, half.life 1.000346, span.ratio 2.998962
    lz = lambda_z(t, c, exclude_cmax=False, adj_r2_tolerance=0.01)
    assert lz.n == 4 and lz.t_first == 0 and lz.t_last == 3
    assert lz.lambda_z == pytest.approx(0.6929073, abs=1e-7)
    assert lz.adj_r2 == pytest.approx(0.9999999, abs=1e-7)
    assert lz.t_half == pytest.approx(1.000346, abs=1e-6)
    assert lz.span_ratio == pytest.approx(2.998962, abs=1e-6)


def test_lambda_z_best_window_over_all_slopes_as_pknca():
    # issue 10: the best adjusted R^2 is taken over all candidate windows first. The last 3 points rise
    # (2, 2.02, 2.04; adj. R^2 0.99998), so no falling window is as good: PKNCA returns NA. Dropping the rising
    # windows first (the old order) gave lambda_z = 0.0164/h from 7 points with adj. R^2 0.50.
    t = [0, 1, 2, 4, 8, 12, 24, 48, 72]
    c = [0, 10, 8, 6, 4, 3, 2, 2.02, 2.04]
    lz = lambda_z(t, c)
    assert math.isnan(lz.lambda_z) and math.isnan(lz.t_half)
    assert "non-negative slope" in lz.reason and "3 points from 24 h" in lz.reason
    r = nca_profile(t, c, dose=100.0)
    assert all(math.isnan(r[k]) for k in ("lambda_z", "t_half", "AUCinf", "AUCpext", "CL_F", "Vz_F"))
    # a falling window within the tolerance of the (rising) best window still qualifies, PKNCA's mask
    # lambda.z > 0 & adj.r.squared > max - factor: with a tolerance of 1 the 7-point window comes back
    wide = lambda_z(t, c, adj_r2_tolerance=1.0)
    assert wide.n == 7 and wide.lambda_z == pytest.approx(0.0164, abs=5e-5) and wide.adj_r2 == pytest.approx(0.50, abs=0.01)


def test_lambda_z_not_estimable_and_fixed_points():
    # only two points after Tmax with min_points = 3
    lz = lambda_z([0, 1, 2, 3], [0, 5, 4, 2])
    assert math.isnan(lz.lambda_z) and "2 positive concentrations after Tmax, 3 needed" in lz.reason
    assert math.isnan(lz.t_half)
    # rising tail: no fit with a negative slope
    assert math.isnan(lambda_z([0, 1, 2, 3, 4, 5], [0, 9, 1, 2, 3, 4]).lambda_z)
    # fixed points: 16, 8, 4 at 2, 4, 6 h fitted as given (ln2/2 per h), even with Cmax
    fixed = lambda_z([0, 2, 4, 6, 8], [0, 16, 8, 4, 3], fixed_times=[2.0, 4.0, 6.004])
    assert fixed.n == 3 and fixed.lambda_z == pytest.approx(LN2 / 2, rel=1e-9)
    with pytest.raises(ValueError, match="matches no sample"):
        lambda_z([0, 2, 4], [0, 16, 8], fixed_times=[2, 5])


# ----------------------------------------------------------------------------- AUCtau
def test_auctau_interpolated_at_tau_from_the_next_sample():
    t, c = [0, 24, 72, 144], [0, 8, 6, 4]
    # linear: 24*8/2 + 48*(8+6)/2 + 72*(6+4)/2 + 24*(4+3)/2 with C(168) = (4+2)/2 = 3 -> 876
    lin = nca_profile(t, c, 100, tau=168, method="linear", t_after=192, c_after=2)
    assert lin["AUCtau"] == pytest.approx(876.0, rel=1e-12)
    assert lin["AUClast"] == pytest.approx(96 + 336 + 360, rel=1e-12)
    assert (lin["Tlast"], lin["Clast"], lin["Cmax"], lin["Tmax"]) == (144, 4, 8, 24)  # 192 h sample not used
    # log-down: C(168) = 4 * (2/4)^(24/48) = 2*sqrt(2); falling segments by the log trapezoid
    expected = 96 + 96 / math.log(8 / 6) + 144 / math.log(6 / 4) + 24 * (4 - 2 * math.sqrt(2)) / (LN2 / 2)
    log = nca_profile(t, c, 100, tau=168, method=LOGDOWN, t_after=192, c_after=2)
    assert log["AUCtau"] == pytest.approx(expected, rel=1e-12)  # = 865.98...
    assert auc_interval([0, 24, 72, 144, 192], [0, 8, 6, 4, 2], 0, 168, LOGDOWN) == pytest.approx(expected)


def test_auctau_extrapolated_with_lambda_z_and_aucinf():
    # 16, 8, 4, 2 at 24, 48, 72, 96 h: lambda_z = ln2/24 from 48-96 h (Cmax excluded), C(120) = 1
    t, c = [0, 24, 48, 72, 96], [0, 16, 8, 4, 2]
    r = nca_profile(t, c, 320, tau=120, method=LOGDOWN)
    assert r["lambda_z"] == pytest.approx(LN2 / 24, rel=1e-10) and r["lambda_z_n"] == 3
    # 0-24: 192; falls 16->8->4->2: 24*(8+4+2)/ln2 = 336/ln2; 96-120 (2->1): 24/ln2
    assert r["AUClast"] == pytest.approx(192 + 336 / LN2, rel=1e-12)
    assert r["AUCtau"] == pytest.approx(192 + 360 / LN2, rel=1e-12)
    # AUCinf = AUClast + Clast/lambda_z = 192 + 336/ln2 + 48/ln2; AUCpext = 100*(48/ln2)/AUCinf
    aucinf = 192 + 384 / LN2
    assert r["AUCinf"] == pytest.approx(aucinf, rel=1e-12)
    assert r["AUCpext"] == pytest.approx(100 * (48 / LN2) / aucinf, rel=1e-12)
    assert r["CL_F"] == pytest.approx(320 / aucinf, rel=1e-12)
    assert r["Vz_F"] == pytest.approx(320 / (LN2 / 24 * aucinf), rel=1e-12)
    assert r["t_half"] == pytest.approx(24.0, rel=1e-10)
    # linear AUC inside the data, the extrapolated segment is always exponential (PKNCA aucint):
    # 192 + 24*(16+8)/2 + 24*(8+4)/2 + 24*(4+2)/2 + 24/ln2 = 696 + 24/ln2
    assert nca_profile(t, c, 320, tau=120, method="linear")["AUCtau"] == pytest.approx(696 + 24 / LN2)


def test_auctau_carries_the_predose_sample_only_without_lambda_z():
    # one point after Tmax: no lambda_z. Last sample 0.5 h before tau: carried to tau.
    t, c = [0, 24, 167.5], [0, 8, 4]
    r = nca_profile(t, c, 100, tau=168, single_dose=False, end_shift=8.4)
    assert r["AUCtau"] == pytest.approx(96 + 143.5 * 4 / LN2 + 0.5 * 4, rel=1e-12)
    assert r["CL_F"] == pytest.approx(100 / (96 + 574 / LN2 + 2), rel=1e-12)
    assert math.isnan(r["Vz_F"]) and "AUCinf" not in r and "AUCpext" not in r
    assert math.isnan(nca_profile(t, c, 100, tau=168, single_dose=False)["AUCtau"])
    assert math.isnan(nca_profile([0, 24, 150], c, 100, tau=168, end_shift=8.4)["AUCtau"])


def test_profile_without_a_start_sample_has_no_auc():
    r = nca_profile([1, 2, 3, 4, 5], [5, 4, 3, 2, 1], 10, tau=6)
    assert r["Cmax"] == 5 and math.isnan(r["AUClast"]) and math.isnan(r["AUCtau"])
    zero = nca_profile([0, 1, 2], [0, 0, 0], 10, tau=2)
    assert zero["Cmax"] == 0 and math.isnan(zero["Tmax"]) and zero["AUClast"] == 0 and zero["AUCtau"] == 0


# ----------------------------------------------------------------------------- Theoph
# Reference: NonCompart 0.4.2 versus Phoenix WinNonlin 6.3/7.0 on R datasets::Theoph (12 subjects,
# extravascular, dose = 320 mg for every subject), asancpt/NonCompart-tests, validation.md,
# Appendix "Test 1: Theoph (n=12), Linear" and "Test 2: Theoph (n=12), Log" (both programs agree
# to every digit shown). Lambda_z rule there: best adjusted R^2 within 1e-4, most points, Cmax
# excluded - the same as ours. Columns: CMAX, TMAX, LAMZNPT, LAMZLL, LAMZ, R2ADJ, LAMZHL.
THEOPH_COMMON = {
    1: (10.50, 1.12, 3, 9.05, 0.0484570, 0.9999995, 14.3043776),
    2: (8.33, 1.92, 4, 7.03, 0.1040864, 0.9957931, 6.6593416),
    3: (8.20, 1.02, 3, 9.00, 0.1024443, 0.9986499, 6.7660874),
    4: (8.60, 1.07, 3, 9.02, 0.0992870, 0.9978483, 6.9812467),
    5: (11.40, 1.00, 4, 7.02, 0.0866189, 0.9979708, 8.0022640),
    6: (6.44, 1.15, 7, 2.03, 0.0877957, 0.9978896, 7.8949979),
    7: (7.09, 3.48, 4, 6.98, 0.0883365, 0.9980053, 7.8466683),
    8: (7.56, 2.02, 6, 3.53, 0.0814505, 0.9887655, 8.5100379),
    9: (9.03, 0.63, 3, 8.80, 0.0824586, 0.9988873, 8.4059988),
    10: (10.21, 3.55, 3, 9.38, 0.0749598, 0.9990174, 9.2469158),
    11: (8.00, 0.98, 3, 9.03, 0.0954586, 0.9999965, 7.2612365),
    12: (9.75, 3.52, 3, 9.03, 0.1102595, 0.9987936, 6.2865082),
}
# Test 1 (linear trapezoid): AUCLST, AUCIFO, AUCPEO, CLFO
THEOPH_LINEAR = {
    1: (148.9230500, 216.6119330, 31.2489169, 1.4772963),
    2: (91.5268000, 100.1734591, 8.6316867, 3.1944589),
    3: (99.2865000, 109.5359707, 9.3571734, 2.9214147),
    4: (106.7963000, 118.3788814, 9.7843309, 2.7031849),
    5: (121.2944000, 139.4197778, 13.0005786, 2.2952267),
    6: (73.7755500, 84.2544183, 12.4371737, 3.7980204),
    7: (90.7534000, 103.7718018, 12.5452209, 3.0836893),
    8: (88.5599500, 103.9066868, 14.7697297, 3.0796863),
    9: (86.3261500, 99.9087179, 13.5949777, 3.2029237),
    10: (138.3681000, 170.6520606, 18.9180022, 1.8751605),
    11: (80.0936000, 89.1027449, 10.1109623, 3.5913596),
    12: (119.9775000, 130.5888316, 8.1257573, 2.4504393),
}
# Test 2 (linear-up/log-down, "Log" in NonCompart): AUCLST, AUCIFO, AUCPEO, CLFO, VZFO
THEOPH_LOG = {
    1: (147.2347485, 214.9236316, 31.4943883, 1.4889010, 30.7262325),
    2: (88.7312755, 97.3779346, 8.8794850, 3.2861654, 31.5715024),
    3: (95.8781978, 106.1276685, 9.6576801, 3.0152363, 29.4329299),
    4: (102.6336232, 114.2162046, 10.1409266, 2.8017040, 28.2182304),
    5: (118.1793538, 136.3047316, 13.2976879, 2.3476808, 27.1035678),
    6: (71.6970150, 82.1758833, 12.7517562, 3.8940865, 44.3539348),
    7: (87.9692274, 100.9876292, 12.8910857, 3.1687049, 35.8708471),
    8: (86.8065635, 102.1533003, 15.0232413, 3.1325469, 38.4594978),
    9: (83.9374360, 97.5200039, 13.9279813, 3.2813780, 39.7942323),
    10: (135.5760701, 167.8600307, 19.2326669, 1.9063502, 25.4316257),
    11: (77.8934723, 86.9026173, 10.3669431, 3.6822827, 38.5746722),
    12: (115.2202082, 125.8315397, 8.4329665, 2.5430826, 23.0645237),
}


@pytest.fixture(scope="module")
def theoph() -> pd.DataFrame:
    return pd.read_csv(ROOT / "tests" / "data" / "theoph.csv")


@pytest.mark.parametrize("subject", sorted(THEOPH_COMMON))
def test_theoph_matches_winnonlin(theoph, subject):
    g = theoph[theoph["Subject"] == subject].sort_values("Time")
    t, c = g["Time"].to_numpy(), g["conc"].to_numpy()
    cmax, tmax, npt, tfirst, lz, adjr2, thalf = THEOPH_COMMON[subject]
    for method, ref in (("linear", THEOPH_LINEAR[subject]), (LOGDOWN, THEOPH_LOG[subject])):
        r = nca_profile(t, c, 320.0, method=method)
        assert r["Cmax"] == cmax and r["Tmax"] == tmax
        assert r["lambda_z_n"] == npt and r["lambda_z_tfirst"] == tfirst
        assert r["lambda_z_tlast"] == r["Tlast"] == t[-1]
        assert r["lambda_z"] == pytest.approx(lz, abs=6e-8)
        assert r["lambda_z_adjr2"] == pytest.approx(adjr2, abs=6e-8)
        assert r["t_half"] == pytest.approx(thalf, abs=6e-7)
        assert r["AUClast"] == pytest.approx(ref[0], abs=6e-7)
        assert r["AUCinf"] == pytest.approx(ref[1], abs=6e-7)
        assert r["AUCpext"] == pytest.approx(ref[2], abs=6e-7)
        assert r["CL_F"] == pytest.approx(ref[3], abs=6e-7)
    assert r["Vz_F"] == pytest.approx(THEOPH_LOG[subject][4], abs=6e-7)


# ----------------------------------------------------------------------------- BLQ
def test_apply_blq_rules():
    aval = np.array([np.nan, np.nan, 1.0, np.nan, 0.5, np.nan])
    blq = np.array([True, True, False, True, False, True])
    out = apply_blq_rules(aval, blq, "zero", "missing")
    np.testing.assert_array_equal(out, [0, 0, 1, np.nan, 0.5, np.nan])
    np.testing.assert_array_equal(apply_blq_rules(aval, blq, "zero", "zero"), [0, 0, 1, 0, 0.5, 0])
    np.testing.assert_array_equal(
        apply_blq_rules(aval, blq, "missing", "missing"), [np.nan] * 2 + [1, np.nan, 0.5, np.nan]
    )
    np.testing.assert_array_equal(apply_blq_rules(aval[:2], blq[:2], "zero", "missing"), [0, 0])  # never measurable


# ----------------------------------------------------------------------------- datasets
IV = [
    {"name": "first dose", "dose": "first", "start": 0, "end": 168},
    {"name": "last dose", "dose": "last", "start": 0, "end": 168},
]


def _adpc(records: list[tuple]) -> pd.DataFrame:
    """records: (USUBJID, AFRLT, ARRLT, DOSENUM, AVAL or None for BLQ)."""
    rows = []
    for subj, afrlt, arrlt, dosenum, aval in records:
        rows.append(
            {
                "USUBJID": subj,
                "PCTESTCD": "BATOCLIM",
                "AVAL": np.nan if aval is None else float(aval),
                "BLQFL": "Y" if aval is None else "N",
                "LLOQ": 0.5,
                "AFRLT": float(afrlt),
                "ARRLT": np.nan if arrlt is None else float(arrlt),
                "DOSENUM": np.nan if dosenum is None else float(dosenum),
            }
        )
    return pd.DataFrame(rows)


def _adex(doses: list[tuple]) -> pd.DataFrame:
    """doses: (USUBJID, DOSENUM, AFRLT, EXDOSE); plus a methylprednisolone record per subject."""
    rows = [
        {"USUBJID": s, "EXTRT": "BATOCLIMAB", "EXDOSE": float(m), "AFRLT": float(a), "DOSENUM": n}
        for s, n, a, m in doses
    ]
    for s in sorted({d[0] for d in doses}):
        rows.append({"USUBJID": s, "EXTRT": "METHYLPREDNISOLONE", "EXDOSE": 1000.0, "AFRLT": -2.0, "DOSENUM": np.nan})
    return pd.DataFrame(rows)


def _adsl(arms: dict[str, tuple[str, float]], pkfl: dict[str, str] | None = None) -> pd.DataFrame:
    pkfl = pkfl or {}
    return pd.DataFrame(
        [{"USUBJID": s, "ARMCD": a, "TRT01PN": d, "PKFL": pkfl.get(s, "Y"), "NDOSE": 0} for s, (a, d) in arms.items()]
    )


def _value(out: pd.DataFrame, subj: str, interval: str, parameter: str) -> float:
    sel = out[(out["USUBJID"] == subj) & (out["interval"] == interval) & (out["parameter"] == parameter)]
    assert len(sel) == 1, (subj, interval, parameter)
    return float(sel["value"].iloc[0])


@pytest.fixture()
def two_dose_study():
    """S1: 340 mg at 0 h and 168.5 h; S2: one 680 mg dose; S3: not in the PK population."""
    adpc = _adpc(
        [
            ("S1", -1.0, None, None, None),  # pre-dose, BLQ -> C(0) = 0
            ("S1", 24, 24, 1, 10),
            ("S1", 96, 96, 1, 6),
            ("S1", 168, 168, 1, 4),  # pre-dose of dose 2 (0.5 h before it): closes interval 1, C(0) of dose 2
            ("S1", 192.5, 24, 2, 14),
            ("S1", 264.5, 96, 2, 9),
            ("S1", 336.5, 168, 2, 6),
            ("S1", 504.5, 336, 2, 3),  # after the last-dose interval: not used
            ("S2", -0.5, None, None, None),
            ("S2", 24, 24, 1, 20),
            ("S2", 96, 96, 1, 12),
            ("S2", 168, 168, 1, 8),
            ("S3", 24, 24, 1, 99),
        ]
    )
    adex = _adex([("S1", 1, 0.0, 340), ("S1", 2, 168.5, 340), ("S2", 1, 0.0, 680), ("S3", 1, 0.0, 680)])
    adsl = _adsl({"S1": ("BATO340", 340), "S2": ("BATO680", 680), "S3": ("BATO680", 680)}, {"S3": "N"})
    return adpc, adex, adsl


def test_run_nca_intervals_and_accumulation_ratio(two_dose_study):
    adpc, adex, adsl = two_dose_study
    out = run_nca(adpc, adex, adsl, IV, NCAOptions(auc_method="linear", min_points=2))
    assert list(out.columns) == NCA_COLUMNS
    assert sorted(set(out["USUBJID"])) == ["S1", "S2"]  # S3: PKFL = N
    keys = list(zip(out["USUBJID"], out["interval"], out["parameter"]))
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    # S1 dose 1 (linear): C(0)=0 -> 24*10/2 + 72*(10+6)/2 + 72*(6+4)/2 = 120 + 576 + 360 = 1056
    assert _value(out, "S1", "first dose", "AUCtau") == pytest.approx(1056.0)
    assert _value(out, "S1", "first dose", "AUClast") == pytest.approx(1056.0)
    # S1 dose 2: C(0) = pre-dose 4 -> 24*(4+14)/2 + 72*(14+9)/2 + 72*(9+6)/2 = 216 + 828 + 540 = 1584
    assert _value(out, "S1", "last dose", "AUCtau") == pytest.approx(1584.0)
    assert _value(out, "S1", "last dose", "Rac") == pytest.approx(1584.0 / 1056.0)  # 1.5
    assert _value(out, "S1", "last dose", "Cmax") == 14 and _value(out, "S1", "last dose", "Tmax") == 24
    assert _value(out, "S1", "last dose", "Tlast") == 168  # the 336 h sample is outside the interval
    # lambda_z from 2 points after Tmax: dose 1 ln(6/4)/72, dose 2 ln(9/6)/72 (both ln1.5/72)
    lz = math.log(1.5) / 72
    assert _value(out, "S1", "first dose", "lambda_z") == pytest.approx(lz, rel=1e-12)
    # first dose = single dose: AUCinf = 1056 + 4/lz; CL/F = 340/AUCinf
    aucinf = 1056 + 4 / lz
    assert _value(out, "S1", "first dose", "AUCinf") == pytest.approx(aucinf, rel=1e-12)
    assert _value(out, "S1", "first dose", "CL_F") == pytest.approx(340 / aucinf, rel=1e-12)
    # later dose: CL/F = dose/AUCtau, Vz/F = dose/(lambda_z AUCtau); no AUCinf
    assert _value(out, "S1", "last dose", "CL_F") == pytest.approx(340 / 1584, rel=1e-12)
    assert _value(out, "S1", "last dose", "Vz_F") == pytest.approx(340 / (lz * 1584), rel=1e-12)
    s1_last = set(out[(out["USUBJID"] == "S1") & (out["interval"] == "last dose")]["parameter"])
    assert s1_last == set(PARAMETERS) - {"AUCinf", "AUCpext", "AUCinf_pred", "AUCpext_pred"}
    s1_first = set(out[(out["USUBJID"] == "S1") & (out["interval"] == "first dose")]["parameter"])
    assert s1_first == set(PARAMETERS) - {"Rac"}
    # S2 received one dose: no last-dose interval, hence no Rac
    assert set(out[out["USUBJID"] == "S2"]["interval"]) == {"first dose"}
    assert (out.loc[out["USUBJID"] == "S2", "DOSE"] == 680).all()
    assert set(out.loc[out["USUBJID"] == "S1", "ARMCD"]) == {"BATO340"}
    units = dict(zip(out["parameter"], out["unit"]))
    assert units["AUCtau"] == "h*mg/L" and units["CL_F"] == "L/h" and units["Vz_F"] == "L"
    assert units["Cmax"] == "mg/L" and units["Tmax"] == "h" and units["lambda_z"] == "1/h"


def test_run_nca_dose_number_interval_and_output_is_deterministic(two_dose_study, tmp_path):
    adpc, adex, adsl = two_dose_study
    iv = [{"name": "dose 2", "dose": 2, "start": 0, "end": 168}]
    out = run_nca(adpc, adex, adsl, iv, NCAOptions(auc_method="linear", min_points=2))
    assert set(out["USUBJID"]) == {"S1"} and _value(out, "S1", "dose 2", "AUCtau") == pytest.approx(1584.0)
    assert "Rac" not in set(out["parameter"])  # no first-dose interval to compare with
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    write_csv(run_nca(adpc, adex, adsl, IV), a)
    write_csv(run_nca(adpc.sample(frac=1, random_state=1), adex.iloc[::-1], adsl.iloc[::-1], IV), b)
    assert a.read_bytes() == b.read_bytes()


def test_run_nca_blq_rules_through_the_dataset():
    adpc = _adpc(
        [
            ("S1", -1, None, None, None),  # pre-dose BLQ
            ("S1", 2, 2, 1, None),  # BLQ before the first measurable
            ("S1", 24, 24, 1, 5),
            ("S1", 72, 72, 1, None),  # BLQ after the first measurable
            ("S1", 120, 120, 1, 2),
            ("S1", 168, 168, 1, None),
        ]
    )
    adex, adsl = _adex([("S1", 1, 0.0, 340)]), _adsl({"S1": ("BATO340", 340)})
    iv = IV[:1]
    # default: before -> 0, after -> missing: profile 0@0, 0@2, 5@24, 2@120
    out = run_nca(adpc, adex, adsl, iv)
    assert _value(out, "S1", "first dose", "Tlast") == 120 and _value(out, "S1", "first dose", "Clast") == 2
    # 0-2: 0; 2-24 up: 22*5/2 = 55; 24-120 down 5->2: 96*3/ln(2.5)
    assert _value(out, "S1", "first dose", "AUClast") == pytest.approx(55 + 288 / math.log(2.5), rel=1e-12)
    # tau = 168 is 48 h after the last sample and lambda_z is not estimable -> no AUCtau
    assert math.isnan(_value(out, "S1", "first dose", "AUCtau"))
    # after -> zero: 72 h and 168 h are 0: 55 + 48*5/2 (5->0 linear) + 48*2/2 (0->2) = 223; + 48*2/2 -> 271
    zero = run_nca(adpc, adex, adsl, iv, NCAOptions(blq_after="zero"))
    assert _value(zero, "S1", "first dose", "AUClast") == pytest.approx(223.0)
    assert _value(zero, "S1", "first dose", "AUCtau") == pytest.approx(271.0)
    assert _value(zero, "S1", "first dose", "Tlast") == 120
    # before -> missing: the BLQ at 2 h is dropped, C(0) = 0 (no drug before the first dose)
    miss = run_nca(adpc, adex, adsl, iv, NCAOptions(blq_before="missing"))
    assert _value(miss, "S1", "first dose", "AUClast") == pytest.approx(24 * 5 / 2 + 288 / math.log(2.5), rel=1e-12)


def test_run_nca_interpolates_tau_with_the_next_sample_of_the_same_dose():
    # dose 2 only at 300 h: the 192 h sample (DOSENUM 1) closes the 0-168 h interval by interpolation
    adpc = _adpc([("S1", 24, 24, 1, 8), ("S1", 72, 72, 1, 6), ("S1", 144, 144, 1, 4), ("S1", 192, 192, 1, 2)])
    adex = _adex([("S1", 1, 0.0, 340), ("S1", 2, 300.0, 340)])
    out = run_nca(adpc, adex, _adsl({"S1": ("BATO340", 340)}), IV[:1], NCAOptions(auc_method="linear"))
    assert _value(out, "S1", "first dose", "AUCtau") == pytest.approx(876.0)  # as in the core test
    assert _value(out, "S1", "first dose", "Tlast") == 144


def test_run_nca_later_dose_without_predose_sample_starts_at_cmin():
    # dose 2 at 200 h; the last dose-1 sample (168 h) is 32 h before it, outside the 5% window
    # (8.4 h): C(0) of dose 2 = the interval's minimum, 6 (PKNCA start_cmin / WinNonlin).
    adpc = _adpc(
        [
            ("S1", 24, 24, 1, 10),
            ("S1", 168, 168, 1, 4),
            ("S1", 224, 24, 2, 14),
            ("S1", 296, 96, 2, 9),
            ("S1", 368, 168, 2, 6),
        ]
    )
    adex = _adex([("S1", 1, 0.0, 340), ("S1", 2, 200.0, 340)])
    out = run_nca(adpc, adex, _adsl({"S1": ("BATO340", 340)}), IV, NCAOptions(auc_method="linear"))
    # 24*(6+14)/2 + 72*(14+9)/2 + 72*(9+6)/2 = 240 + 828 + 540 = 1608
    assert _value(out, "S1", "last dose", "AUCtau") == pytest.approx(1608.0)
    # dose 1: C(0) = 0 -> 24*10/2 + 144*(10+4)/2 = 120 + 1008 = 1128; Rac = 1608/1128
    assert _value(out, "S1", "first dose", "AUCtau") == pytest.approx(1128.0)
    assert _value(out, "S1", "last dose", "Rac") == pytest.approx(1608.0 / 1128.0)


def test_run_nca_fixed_points_and_user_errors(two_dose_study):
    adpc, adex, adsl = two_dose_study
    fixed = NCAOptions(fixed_points={"S2": {"first dose": [24, 96, 168]}})
    out = run_nca(adpc, adex, adsl, IV, fixed)
    # ln(20), ln(12), ln(8) at 24, 96, 168 h: slope by least squares = sum(dx*y)/Sxx, dx = -72, 0, 72
    expected = -(-72 * math.log(20) + 72 * math.log(8)) / (2 * 72**2)
    assert _value(out, "S2", "first dose", "lambda_z") == pytest.approx(expected, rel=1e-12)
    assert _value(out, "S2", "first dose", "lambda_z_n") == 3
    with pytest.raises(UserError, match="S2.*first dose.*matches no sample"):
        run_nca(adpc, adex, adsl, IV, NCAOptions(fixed_points={"S2": {"first dose": [24, 100]}}))
    with pytest.raises(UserError, match="ADPC: missing column.*BLQFL"):
        run_nca(adpc.drop(columns="BLQFL"), adex, adsl, IV)
    dup = pd.concat([adpc, adpc.iloc[[1]]])
    with pytest.raises(UserError, match="two concentrations at ARRLT=24"):
        run_nca(dup, adex, adsl, IV)
    with pytest.raises(UserError, match="unique"):
        run_nca(adpc, adex, adsl, IV + IV[:1])
    with pytest.raises(UserError, match="dose must be"):
        Interval.from_mapping({"name": "x", "dose": "middle", "start": 0, "end": 1})


def test_options_from_config_and_typed_columns(config, two_dose_study):
    nca = config["nca"]
    lz = {**nca["lambda_z"], "fixed_points": {101: {"first dose": [24, 96, 168]}}}
    opts = NCAOptions.from_config(nca["auc_method"], lz, nca["blq"], config["study"]["treatment"], "BATOCLIM")
    assert (opts.auc_method, opts.min_points, opts.adj_r2_tolerance, opts.exclude_cmax) == (LOGDOWN, 3, 1e-4, True)
    assert (opts.blq_before, opts.blq_after, opts.treatment) == ("zero", "missing", "BATOCLIMAB")
    assert opts.fixed_points == {"101": {"first dose": [24.0, 96.0, 168.0]}}
    with pytest.raises(UserError, match="auc_method"):
        NCAOptions(auc_method="log")
    # nullable integer / string dtypes (as parquet may give them) give the same result
    adpc, adex, adsl = two_dose_study
    plain = run_nca(adpc, adex, adsl, IV)
    typed = adpc.astype({"DOSENUM": "Int64", "BLQFL": "string", "USUBJID": "string"})
    pd.testing.assert_frame_equal(run_nca(typed, adex.astype({"DOSENUM": "Int64"}), adsl, IV), plain)
    bad = adpc.astype({"AVAL": object})
    bad.loc[1, "AVAL"] = "<0.5"
    with pytest.raises(UserError, match="ADPC: row 2, column AVAL: '<0.5' is not a number"):
        run_nca(bad, adex, adsl, IV)


def test_resolve_dose_number():
    assert resolve_dose_number("first", [2, 1, 3, 4]) == 1
    assert resolve_dose_number("last", [2, 1, 3, 4]) == 4
    assert resolve_dose_number("last", [1]) is None
    assert resolve_dose_number(3, [1, 2]) is None and resolve_dose_number(2, [1, 2]) == 2


# ------------------------------------------------- multiple-dose parameters (issue 10, item 5)
IV_ACTUAL = [
    {"name": "first dose", "dose": "first", "start": 0, "end": 168, "end_at_next_dose": True},
    {"name": "last dose", "dose": "last", "start": 0, "end": 168, "end_at_next_dose": True},
]


@pytest.fixture()
def early_second_dose():
    """R1: 340 mg at 0 h and again at 143.5 h (the reference study's 102-001 interval), then weekly
    samples after the second dose; the pre-dose sample at 142.5 h closes the first interval."""
    adpc = _adpc(
        [
            ("R1", -1.0, None, None, None),
            ("R1", 24, 24, 1, 10),
            ("R1", 72, 72, 1, 8),
            ("R1", 142.5, 142.5, 1, 5),  # pre-dose of dose 2, 1 h before it
            ("R1", 167.5, 24, 2, 15),
            ("R1", 215.5, 72, 2, 12),
            ("R1", 310.5, 167, 2, 6),  # 1 h before the nominal end of the last-dose interval
        ]
    )
    adex = _adex([("R1", 1, 0.0, 340), ("R1", 2, 143.5, 340)])
    return adpc, adex, _adsl({"R1": ("BATO340", 340)})


def test_auctau_over_the_actual_dosing_interval(early_second_dose):
    adpc, adex, adsl = early_second_dose
    opts = NCAOptions(auc_method="linear")  # min_points 3: no lambda_z (2 points after Tmax)
    out = run_nca(adpc, adex, adsl, IV_ACTUAL, opts)
    # first interval ends at the second dose, 143.5 h (not the nominal 168 h); C(143.5) = the pre-dose 5
    # carried 1 h (within 5% of the interval): 24*10/2 + 48*(10+8)/2 + 70.5*(8+5)/2 + 1*5 = 120 + 432 + 458.25 + 5
    assert _value(out, "R1", "first dose", "tau") == 143.5
    assert _value(out, "R1", "first dose", "AUCtau") == pytest.approx(1015.25)
    assert _value(out, "R1", "first dose", "Cavg") == pytest.approx(1015.25 / 143.5)
    assert _value(out, "R1", "first dose", "Ctrough") == 5.0  # the pre-dose sample of dose 2
    # the last dose has no next dose: nominal 168 h; C(0) = the pre-dose 5, C(168) = the 167 h sample carried
    # 5*... : 24*(5+15)/2 + 48*(15+12)/2 + 95*(12+6)/2 + 1*6 = 240 + 648 + 855 + 6 = 1749
    assert _value(out, "R1", "last dose", "tau") == 168.0
    assert _value(out, "R1", "last dose", "AUCtau") == pytest.approx(1749.0)
    assert _value(out, "R1", "last dose", "Ctrough") == 6.0
    # Rac over the common 143.5 h after each dose: last dose 240 + 648 + 71.5*(12 + C(143.5))/2 with
    # C(143.5) = 12 + (143.5-72)/95*(6-12) interpolated; first dose = its AUCtau
    c = 12 + (143.5 - 72) / 95 * (6 - 12)
    assert _value(out, "R1", "last dose", "Rac") == pytest.approx((240 + 648 + 71.5 * (12 + c) / 2) / 1015.25)
    # the nominal interval (the old behaviour) would have reached across the second dose: no C(168) there
    nominal = run_nca(adpc, adex, adsl, IV, opts)
    assert math.isnan(_value(nominal, "R1", "first dose", "AUCtau"))
    assert "C(168 h) unknown" in nominal.loc[
        (nominal["interval"] == "first dose") & (nominal["parameter"] == "AUCtau"), "na_reason"
    ].iloc[0]


def test_missing_values_say_why(early_second_dose):
    adpc, adex, adsl = early_second_dose
    out = run_nca(adpc, adex, adsl, IV_ACTUAL, NCAOptions(auc_method="linear"))
    first = out[out["interval"] == "first dose"].set_index("parameter")
    for p in ("lambda_z", "t_half", "AUCinf", "AUCinf_pred", "AUCpext", "CL_F", "Vz_F"):
        assert math.isnan(first.loc[p, "value"])
        assert first.loc[p, "na_reason"] == "lambda_z not estimable: 2 positive concentrations after Tmax, 3 needed", p
    assert (first.loc[np.isfinite(first["value"]), "na_reason"] == "").all()
    reasons = missing_reasons(out)
    t_half = reasons[(reasons["interval"] == "first dose") & (reasons["parameter"] == "t_half")].iloc[0]
    assert (t_half["kind"], t_half["n"], t_half["n_profiles"]) == ("not estimable", 1, 1)
    s = summarise_nca(out, adsl)
    row = s[(s["interval"] == "first dose") & (s["parameter"] == "AUCinf")].iloc[0]
    assert (row["n"], row["n_missing"], row["n_flagged"]) == (0, 1, 0)
    assert row["notes"] == "not estimable: lambda_z not estimable: 2 positive concentrations after Tmax, 3 needed (1)"


def test_aucinf_pred_by_hand():
    # lambda_z on 48, 72, 96 h (Cmax at 24 h excluded); Clast_pred on the regression line at Tlast = 96 h
    t, c = [0, 24, 48, 72, 96], [0, 16, 8, 4.2, 1.9]
    r = analyse_profile(t, c, 100.0, tau=96, method="linear")
    slope, intercept = np.polyfit([48, 72, 96], np.log([8, 4.2, 1.9]), 1)
    lz, clast_pred = -slope, math.exp(intercept + slope * 96)
    auclast = 24 * 16 / 2 + 24 * (16 + 8) / 2 + 24 * (8 + 4.2) / 2 + 24 * (4.2 + 1.9) / 2
    assert r.values["lambda_z"] == pytest.approx(lz, rel=1e-10)
    assert r.values["AUCinf"] == pytest.approx(auclast + 1.9 / lz, rel=1e-10)
    assert r.values["AUCinf_pred"] == pytest.approx(auclast + clast_pred / lz, rel=1e-10)
    assert r.values["AUCpext_pred"] == pytest.approx(100 * (clast_pred / lz) / (auclast + clast_pred / lz), rel=1e-10)
    assert clast_pred != pytest.approx(1.9, rel=1e-3)  # the two AUCinf differ


@pytest.mark.parametrize(
    "t, c, rules, reason",
    [
        # adjusted R^2 0.73 (the best window), span and %extrapolated checks off
        ([0, 1, 2, 3, 4, 5, 6], [0, 20, 10, 12, 5, 6, 2.5], AcceptanceRules(0.9, 0, 100), "lambda_z_adjr2 < 0.9"),
        # 2 h of regression for a 6.6 h half-life: span 0.30
        ([0, 1, 2, 3, 4], [0, 10, 9, 8.1, 7.3], AcceptanceRules(0, 2, 100), "lambda_z_span < 2"),
    ],
)
def test_lambda_z_acceptance_rules_flag_every_dependent_value(t, c, rules, reason):
    r = analyse_profile(t, c, 100.0, tau=t[-1])
    flags = acceptance_flags(r, rules)
    lz_dependent = {"lambda_z", "t_half", "AUCinf", "AUCinf_pred", "AUCpext", "AUCpext_pred", "CL_F", "Vz_F"}
    assert set(flags) == lz_dependent and set(flags.values()) == {reason}
    assert acceptance_flags(r, AcceptanceRules(0, 0, 100)) == {}  # rules off: nothing flagged


def test_aucpext_rule_flags_aucinf_and_its_dependents():
    r = analyse_profile([0, 1, 2, 3, 4], [0, 10, 9, 8.1, 7.3], 100.0, tau=4)
    assert r.values["AUCpext"] > 20 and r.values["AUCpext_pred"] > 20
    flags = acceptance_flags(r, AcceptanceRules(0, 0, 20))
    assert flags == {
        "AUCinf": "AUCpext > 20", "AUCpext": "AUCpext > 20", "CL_F": "AUCpext > 20", "Vz_F": "AUCpext > 20",
        "AUCinf_pred": "AUCpext_pred > 20", "AUCpext_pred": "AUCpext_pred > 20",
    }  # fmt: skip
    # AUCtau here ends at the last sample: it did not use lambda_z, so no lambda_z rule reaches it
    assert "AUCtau" not in acceptance_flags(r, AcceptanceRules(0.9, 2, 20))


def test_flagged_values_are_listed_and_left_out_of_the_summaries_by_config():
    # S: span 0.30 (flagged); T: a clean mono-exponential profile (not flagged)
    adpc = _adpc(
        [("S", 0, 0, 1, 0), ("S", 1, 1, 1, 10), ("S", 2, 2, 1, 9), ("S", 3, 3, 1, 8.1), ("S", 4, 4, 1, 7.3)]
        + [("T", 0, 0, 1, 0), ("T", 1, 1, 1, 16), ("T", 2, 2, 1, 8), ("T", 3, 3, 1, 4), ("T", 4, 4, 1, 2)]
        + [("T", 5, 5, 1, 1)]  # T: 4 points after Cmax, 3 half-lives
    )
    adex = _adex([("S", 1, 0.0, 340), ("T", 1, 0.0, 340)])
    adsl = _adsl({"S": ("BATO340", 340), "T": ("BATO340", 340)})
    iv = [{"name": "first dose", "dose": "first", "start": 0, "end": 5}]
    out = run_nca(adpc, adex, adsl, iv, NCAOptions(acceptance=AcceptanceRules(0.9, 2, 100)))
    s_t_half = out[(out["USUBJID"] == "S") & (out["parameter"] == "t_half")].iloc[0]
    assert np.isfinite(s_t_half["value"]) and s_t_half["exclude"] == "lambda_z_span < 2"  # listed, flagged
    assert (out.loc[out["USUBJID"] == "T", "exclude"] == "").all()
    excl = summarise_nca(out, adsl, exclude_flagged=True).set_index("parameter")
    kept = summarise_nca(out, adsl, exclude_flagged=False).set_index("parameter")
    assert (excl.loc["t_half", "n"], excl.loc["t_half", "n_flagged"]) == (1, 1)
    assert excl.loc["t_half", "median"] == pytest.approx(1.0)  # T only: ln2 / ln2
    assert excl.loc["t_half", "notes"] == "excluded: lambda_z_span < 2 (1)"
    assert (kept.loc["t_half", "n"], kept.loc["t_half", "n_flagged"]) == (2, 1)
    assert kept.loc["t_half", "notes"] == "flagged, summarised: lambda_z_span < 2 (1)"
    assert excl.loc["Cmax", "n"] == 2 and excl.loc["Cmax", "notes"] == ""


def test_acceptance_and_interval_config_errors():
    with pytest.raises(UserError, match="min_adj_r2"):
        AcceptanceRules(min_adj_r2=1.5)
    assert AcceptanceRules.from_config({"exclude": False}) == AcceptanceRules(exclude=False)
    with pytest.raises(UserError, match="end_at_next_dose needs start 0"):
        Interval.from_mapping({"name": "x", "dose": 2, "start": 24, "end": 168, "end_at_next_dose": True})
    with pytest.raises(UserError, match="true or false"):
        Interval.from_mapping({"name": "x", "dose": 2, "start": 0, "end": 168, "end_at_next_dose": "yes"})


# ----------------------------------------------------------------------------- summaries
def test_geometric_statistics_by_hand():
    # 1, 2, 4: logs 0, ln2, 2 ln2 -> mean ln2 (geomean 2), sample variance ln2^2 = 0.480453,
    # exp(0.480453) = 1.616807 -> 100 sqrt(0.616807) = 78.5370
    assert geometric_mean([1, 2, 4]) == pytest.approx(2.0, rel=1e-12)
    assert geometric_cv_pct([1, 2, 4]) == pytest.approx(100 * math.sqrt(math.exp(LN2**2) - 1), rel=1e-12)
    assert geometric_cv_pct([1, 2, 4]) == pytest.approx(78.5370, abs=1e-4)
    # 2, 8: s^2 = (ln 4)^2 / 2 = 0.960906 -> sqrt(exp(0.960906) - 1) = 1.270458
    assert geometric_cv_pct([2, 8]) == pytest.approx(127.0458, abs=1e-4)
    assert math.isnan(geometric_mean([1, 0])) and math.isnan(geometric_cv_pct([3]))
    d = describe([1, 2, 4, np.nan])
    assert d["n"] == 3 and d["mean"] == pytest.approx(7 / 3) and d["sd"] == pytest.approx(math.sqrt(7 / 3))
    assert (d["median"], d["min"], d["max"]) == (2, 1, 4)


def test_summarise_nca_by_arm():
    long = pd.DataFrame(
        {
            "USUBJID": ["A", "B", "C", "A", "B", "C", "D"],
            "interval": ["first dose"] * 7,
            "parameter": ["Cmax", "Cmax", "Cmax", "Tmax", "Tmax", "Tmax", "Cmax"],
            "value": [1.0, 2.0, 4.0, 24.0, 72.0, 48.0, 10.0],
            "unit": ["mg/L", "mg/L", "mg/L", "h", "h", "h", "mg/L"],
        }
    )
    adsl = _adsl({"A": ("BATO340", 340), "B": ("BATO340", 340), "C": ("BATO340", 340), "D": ("BATO680", 680)})
    s = summarise_nca(long, adsl)
    assert list(s.columns) == SUMMARY_COLUMNS
    assert list(zip(s["ARMCD"], s["parameter"])) == [("BATO340", "Cmax"), ("BATO340", "Tmax"), ("BATO680", "Cmax")]
    cmax = s.iloc[0]
    assert (
        cmax["n"] == 3
        and cmax["geomean"] == pytest.approx(2.0)
        and cmax["geocv_pct"] == pytest.approx(78.5370, abs=1e-4)
    )
    assert (
        cmax["mean"] == pytest.approx(7 / 3) and cmax["sd"] == pytest.approx(math.sqrt(7 / 3)) and cmax["median"] == 2
    )
    tmax = s.iloc[1]  # median and range only
    assert (tmax["median"], tmax["min"], tmax["max"]) == (48, 24, 72)
    assert tmax[["geomean", "geocv_pct", "mean", "sd"]].isna().all()
    one = s.iloc[2]
    assert (
        one["n"] == 1
        and one["geomean"] == pytest.approx(10.0)
        and math.isnan(one["sd"])
        and math.isnan(one["geocv_pct"])
    )


def test_power_model_and_dose_proportionality_by_hand():
    # values 10, 12 at 340 mg and 20, 24 at 680 mg: slope exactly 1 (each pair doubles);
    # residuals +-ln(1.2)/2 -> SSres = ln(1.2)^2, s^2 = SSres/2; Sxx = 4 (ln2/2)^2 = ln2^2
    # SE(b) = sqrt(ln(1.2)^2 / 2 / ln2^2) = ln(1.2)/(ln2 sqrt2) = 0.185994; t(0.95, 2) = 2.919986
    fit = power_model([340, 340, 680, 680], [10, 12, 20, 24])
    se = math.log(1.2) / (LN2 * math.sqrt(2))
    assert fit["slope"] == pytest.approx(1.0, abs=1e-12) and fit["df"] == 2
    assert fit["slope_se"] == pytest.approx(se, rel=1e-10) and se == pytest.approx(0.185994, abs=1e-6)
    assert fit["slope_ci_low"] == pytest.approx(1 - 2.919986 * se, abs=1e-6)
    assert fit["slope_ci_high"] == pytest.approx(1 + 2.919986 * se, abs=1e-6)
    long = pd.DataFrame(
        {
            "USUBJID": ["A", "B", "C", "D"],
            "interval": ["first dose"] * 4,
            "parameter": ["Cmax"] * 4,
            "value": [10.0, 12.0, 20.0, 24.0],
            "unit": ["mg/L"] * 4,
            "DOSE": [340.0, 340.0, 680.0, 680.0],
        }
    )
    dp = dose_proportionality(long, _adsl({}))
    assert len(dp) == 1
    row = dp.iloc[0]
    assert row["dose_ratio"] == 2 and row["pk_ratio"] == pytest.approx(2.0) and row["rdnm"] == pytest.approx(1.0)
    # Smith et al. 2000 criteria for r = 2: 1 + ln(0.8)/ln2 = 0.678072, 1 + ln(1.25)/ln2 = 1.321928
    assert row["crit_low"] == pytest.approx(0.678072, abs=1e-6) and row["crit_high"] == pytest.approx(
        1.321928, abs=1e-6
    )
    assert row["conclusion"] == "inconclusive"  # CI (0.457, 1.543) straddles the criteria
    assert row["pk_ratio_ci_low"] == pytest.approx(2 ** (1 - 2.919986 * se), abs=1e-5)
    # one dose level: header only
    single = dose_proportionality(long.assign(DOSE=340.0), _adsl({}))
    assert single.empty and list(single.columns) == list(dp.columns)


# ----------------------------------------------------------------------------- the rule
@pytest.mark.e2e
def test_nca_rule_end_to_end(two_dose_study, tmp_path):
    adpc, adex, adsl = two_dose_study
    res = tmp_path / "results"
    for name, df in (("adpc", adpc), ("adex", adex), ("adsl", adsl)):
        write_parquet(df, res / "adam" / f"{name}.parquet")
    targets = [str(res / "pk" / f) for f in ("nca.csv", "nca_summary.csv", "dose_proportionality.csv")]
    cmd = [
        str(VENV_BIN / "snakemake"), "--cores", "1", "--nolock", "--allowed-rules", "nca",
        "--config", f"results_dir={res}", f"logs_dir={tmp_path / 'logs'}", "--", *targets,
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    nca = pd.read_csv(res / "pk" / "nca.csv", keep_default_na=False, na_values=[""])
    nca[["exclude", "na_reason"]] = nca[["exclude", "na_reason"]].fillna("")
    assert list(nca.columns) == NCA_COLUMNS
    expected = run_nca(adpc, adex, adsl, IV_ACTUAL)  # the shipped config: the same intervals and rules
    pd.testing.assert_frame_equal(nca, expected, check_dtype=False)
    # S1's first interval ends at its second dose (168.5 h), not at the nominal 168 h
    assert _value(nca, "S1", "first dose", "tau") == 168.5
    summary = pd.read_csv(res / "pk" / "nca_summary.csv")
    assert list(summary.columns) == SUMMARY_COLUMNS and set(summary["ARMCD"]) == {"BATO340", "BATO680"}
    assert (tmp_path / "logs" / "pk" / "nca.log").exists()
