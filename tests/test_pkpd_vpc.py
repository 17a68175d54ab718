"""VPC tables (fcrnpipe.pkpd.vpc) and the model-vs-published PD check
(fcrnpipe.pkpd.reproduction) on hand-made records with hand-computed values.

Percentiles are numpy's linear interpolation: the p-th percentile of n sorted values sits at
rank p/100 * (n - 1).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fcrnpipe.pkpd.reproduction import REPRODUCTION_COLUMNS, observed_pct, published_criteria, reproduction_table
from fcrnpipe.pkpd.vpc import VPC_COLUMNS, assign_bins, percent_of_baseline, vpc_summary

nan = float("nan")


# --------------------------------------------------------------------------- bins
def test_assign_bins_nearest_nominal_time():
    nt = assign_bins(np.array([0.0, nan, 24.0, nan, 168.0]), np.array([1.0, 20.0, 25.0, 2.0, 100.0]))
    assert nt.tolist() == [0.0, 24.0, 24.0, 0.0, 168.0]
    assert assign_bins(np.array([nan, nan]), np.array([5.4, 7.6])).tolist() == [5.0, 8.0]


# --------------------------------------------------------------------- % of baseline
def test_percent_of_baseline_hand_example():
    obs = pd.DataFrame(
        {
            "ID": ["A", "A", "A", "A", "B", "C", "C", "C"],
            "TIME": [-1.0, 0.0, 24.0, 48.0, 24.0, -5.0, 0.0, 10.0],
            "DV": [10.0, 8.0, 4.0, 6.0, 5.0, nan, 20.0, 10.0],
            "BLQ": [0, 0, 0, 0, 0, 1, 0, 0],
            "LLOQ": [nan] * 8,
            "BIN": [0.0, 0.0, 24.0, 48.0, 24.0, 0.0, 0.0, 12.0],
        }
    )
    sim = np.array(
        [
            [1.0, 2.0, 1.0, 4.0, 9.0, 7.0, 5.0, 1.0],
            [3.0, 4.0, 2.0, 2.0, 9.0, 7.0, 10.0, 20.0],
        ]
    )
    out, s = percent_of_baseline(obs, sim)
    # A: baseline = its last record at or before 0 (8, at TIME 0); B has none (dropped);
    # C: the missing value at -5 h cannot be a baseline, the one at 0 h is
    assert out["ID"].tolist() == ["A", "A", "C"]
    assert out["TIME"].tolist() == [24.0, 48.0, 10.0]
    assert out["DV"].tolist() == pytest.approx([50.0, 75.0, 50.0])
    assert out["BIN"].tolist() == [24.0, 48.0, 12.0]
    assert (out["BLQ"] == 0).all() and out["LLOQ"].isna().all()
    # simulated values: each replicate divided by its own value at the subject's baseline record
    np.testing.assert_allclose(s, [[50.0, 200.0, 20.0], [50.0, 50.0, 200.0]])


# ------------------------------------------------------------------------- summary
def hand_vpc_input():
    """Bin 24 h: values 1..5, no LLOQ. Bin 48 h: LLOQ 1, one BLQ record and one measured value
    below the limit (both count as 0). Records of the two bins interleaved."""
    obs = pd.DataFrame(
        {
            "BIN": [24.0, 48.0, 24.0, 48.0, 24.0, 48.0, 24.0, 48.0, 24.0, 48.0],
            "DV": [1.0, nan, 2.0, 0.5, 3.0, 2.0, 4.0, 3.0, 5.0, 4.0],
            "BLQ": [0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
            "LLOQ": [nan, 1.0, nan, 1.0, nan, 1.0, nan, 1.0, nan, 1.0],
        }
    )
    b24 = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    b48 = [np.array([0.5, 0.5, 2.0, 3.0, 4.0]), np.array([2.0] * 5), np.array([0.1, 0.1, 0.1, 0.1, 5.0])]
    sim = np.zeros((3, 10))
    for r in range(3):
        sim[r, 0::2] = (r + 1) * b24
        sim[r, 1::2] = b48[r]
    return obs, sim


def test_vpc_summary_hand_values():
    obs, sim = hand_vpc_input()
    t = vpc_summary(obs, sim, "concentration")
    assert t.columns.tolist() == VPC_COLUMNS
    assert t["bin"].tolist() == [1, 2] and t["ntime_h"].tolist() == [24.0, 48.0]
    assert t["time_day"].tolist() == [1.0, 2.0] and t["n_obs"].tolist() == [5, 5]
    assert t["n_replicates"].tolist() == [3, 3] and (t["endpoint"] == "concentration").all()
    b1, b2 = t.iloc[0], t.iloc[1]
    # bin 24 h: observed 1..5 -> 5th 1.2, median 3, 95th 4.8; replicates x1, x2, x3
    assert math.isnan(b1["lloq"])
    assert (b1["obs_p05"], b1["obs_p50"], b1["obs_p95"]) == pytest.approx((1.2, 3.0, 4.8))
    # simulated medians 3, 6, 9: 2.5th 3.15, median 6, 97.5th 8.85 (likewise for 5th and 95th)
    assert (b1["sim_p50_lo"], b1["sim_p50_med"], b1["sim_p50_hi"]) == pytest.approx((3.15, 6.0, 8.85))
    assert (b1["sim_p05_lo"], b1["sim_p05_med"], b1["sim_p05_hi"]) == pytest.approx((1.26, 2.4, 3.54))
    assert (b1["sim_p95_lo"], b1["sim_p95_med"], b1["sim_p95_hi"]) == pytest.approx((5.04, 9.6, 14.16))
    assert (b1["obs_blq_pct"], b1["sim_blq_pct_lo"], b1["sim_blq_pct_med"], b1["sim_blq_pct_hi"]) == (0, 0, 0, 0)
    # bin 48 h: observed 0, 0, 2, 3, 4 -> 5th percentile 0 is below the LLOQ: not reported
    assert b2["lloq"] == 1.0
    assert math.isnan(b2["obs_p05"])
    assert (b2["obs_p50"], b2["obs_p95"]) == pytest.approx((2.0, 3.8))
    assert b2["obs_blq_pct"] == pytest.approx(40.0)
    # simulated: (0, 0, 2, 3, 4), (2, 2, 2, 2, 2), (0, 0, 0, 0, 5)
    # medians 2, 2, 0 -> 2.5th 0.1 (< LLOQ: NaN), median 2, 97.5th 2
    assert math.isnan(b2["sim_p50_lo"]) and (b2["sim_p50_med"], b2["sim_p50_hi"]) == pytest.approx((2.0, 2.0))
    # 95th 3.8, 2, 4.0 -> 2.09, 3.8, 3.99
    assert (b2["sim_p95_lo"], b2["sim_p95_med"], b2["sim_p95_hi"]) == pytest.approx((2.09, 3.8, 3.99))
    # 5th 0, 2, 0 -> 0 (NaN), 0 (NaN), 1.9
    assert math.isnan(b2["sim_p05_lo"]) and math.isnan(b2["sim_p05_med"]) and b2["sim_p05_hi"] == pytest.approx(1.9)
    # BLQ fractions 40%, 0%, 80% -> 2, 40, 78
    assert (b2["sim_blq_pct_lo"], b2["sim_blq_pct_med"], b2["sim_blq_pct_hi"]) == pytest.approx((2.0, 40.0, 78.0))


def test_vpc_summary_prediction_intervals_are_ordered_and_shape_checked():
    obs, sim = hand_vpc_input()
    t = vpc_summary(obs, sim, "x")
    for p in ("05", "50", "95"):
        lo, med, hi = (t[f"sim_p{p}_{s}"].to_numpy() for s in ("lo", "med", "hi"))
        ok = np.isfinite(lo) & np.isfinite(med) & np.isfinite(hi)
        assert (lo[ok] <= med[ok]).all() and (med[ok] <= hi[ok]).all()
    with pytest.raises(ValueError):
        vpc_summary(obs, sim[:, :-1], "x")


# ------------------------------------------------------------------ published PD check
VISITS = [
    {"name": "DAY 1", "avisitn": 0, "day": 1, "lo": 1, "hi": 1},
    {"name": "WEEK 1", "avisitn": 1, "day": 8, "lo": 5, "hi": 11},
    {"name": "WEEK 3", "avisitn": 3, "day": 22, "lo": 19, "hi": 25},
    {"name": "WEEK 12", "avisitn": 12, "day": 85, "lo": 71, "hi": 98},
]
ARMS = [{"armcd": "LOW", "label": "340 mg", "dose_mg": 340}, {"armcd": "HIGH", "label": "680 mg", "dose_mg": 680}]


def test_published_criteria_from_the_visits():
    crit = published_criteria(VISITS)
    assert [c["visit"] for c in crit] == ["WEEK 1", "WEEK 3", "WEEK 12"]
    # days after the first dose (study day 1 = day 0)
    assert [(c["day"], c["lo"], c["hi"]) for c in crit] == [(7.0, 4.0, 10.0), (21.0, 18.0, 24.0), (84.0, 70.0, 97.0)]
    w1, w3, w12 = (c["test"] for c in crit)
    assert w1(49.9) and not w1(50.0)  # > 50% reduction
    assert w3(29.9) and not w3(30.0)  # > 70% reduction
    assert w12(75.0) and w12(90.0) and not w12(74.9) and not w12(90.1)
    assert published_criteria([v for v in VISITS if v["avisitn"] != 3])[1]["visit"] == "WEEK 12"


def _rec(sid, day, dv, cmt=3, blq=0):
    return {"ID": sid, "TIME": day * 24.0, "CMT": cmt, "DV": dv, "EVID": 0, "MDV": 0, "BLQ": blq}


def hand_study():
    """Subject 1 (LOW) and subjects 2, 3 (HIGH), baseline IgG 10 g/L."""
    rows = [
        {"ID": s, "TIME": 0.0, "CMT": 1, "DV": nan, "EVID": 1, "MDV": 1, "BLQ": 0} for s in (1, 2, 3)
    ]
    rows += [_rec(1, -1, 99.0), _rec(1, 0, 10.0), _rec(1, 7, 6.0), _rec(1, 21, 7.0), _rec(1, 84, 9.0)]
    rows += [
        _rec(2, 0, 10.0), _rec(2, 6, 4.2), _rec(2, 7, 4.0), _rec(2, 21, 2.5), _rec(2, 84, 8.0),
        _rec(2, 7, 50.0, cmt=2),  # a concentration: not IgG
        _rec(2, 40, 1.0),  # outside every window
    ]
    rows += [_rec(3, 0, 10.0), _rec(3, 8, 5.0), _rec(3, 21, 3.0), _rec(3, 22, 0.1, blq=1), _rec(3, 84, 8.5)]
    nm = pd.DataFrame(rows)
    pred = nm[(nm["EVID"] == 0) & (nm["CMT"] == 3) & (nm["BLQ"] == 0)][["ID", "TIME", "CMT", "DV"]].copy()
    pred["IPRED"] = 0.9 * pred["DV"]  # the same % of baseline as the observations
    pred.loc[(pred["ID"] == 2) & (pred["TIME"] == 7 * 24.0), "IPRED"] = 3.0  # 3 / 9 = 33.3%
    pred = pred.drop(columns="DV")
    id_map = pd.DataFrame({"ID": [1, 2, 3], "USUBJID": ["S-1", "S-2", "S-3"], "ARMCD": ["LOW", "HIGH", "HIGH"]})
    days = np.array([0.0, 7.0, 21.0, 84.0])
    curves = {
        "LOW": (days, np.array([[100.0, 60.0, 30.0, 85.0], [100.0, 70.0, 40.0, 95.0]])),
        "HIGH": (days, np.array([[100.0, 40.0, 20.0, 80.0], [100.0, 50.0, 30.0, 90.0]])),
    }
    return nm, pred, id_map, curves


def test_observed_pct_nearest_record_in_the_window():
    nm, _, _, _ = hand_study()
    obs = nm[(nm["EVID"] == 0) & (nm["BLQ"] == 0)]
    w1 = observed_pct(obs, "DV", 7.0, 4.0, 10.0)
    # subject 1: baseline is the last record at or before 0 (10, not 99); subject 2: day 7
    # (not day 6); subject 3: its only record in the window, day 8
    assert w1.to_dict() == pytest.approx({1: 60.0, 2: 40.0, 3: 50.0})
    assert observed_pct(obs, "DV", 40.0, 39.0, 41.0).to_dict() == {2: 10.0}


def test_reproduction_table_hand_values():
    nm, pred, id_map, curves = hand_study()
    t = reproduction_table(nm, pred, id_map, ARMS, VISITS, curves)
    assert t.columns.tolist() == REPRODUCTION_COLUMNS
    assert t["arm"].tolist() == ["LOW"] * 3 + ["HIGH"] * 3
    assert t["visit"].tolist() == ["WEEK 1", "WEEK 3", "WEEK 12"] * 2
    assert t["nominal_day"].tolist() == [7.0, 21.0, 84.0] * 2
    low, high = t.iloc[:3], t.iloc[3:]
    assert low["observed_n"].tolist() == [1, 1, 1] and high["observed_n"].tolist() == [2, 2, 2]
    assert low["observed_mean_pct"].tolist() == pytest.approx([60.0, 70.0, 90.0])
    assert high["observed_mean_pct"].tolist() == pytest.approx([45.0, 27.5, 82.5])
    assert high["ipred_mean_pct"].tolist() == pytest.approx([(100 / 3 + 50.0) / 2, 27.5, 82.5])
    assert low["model_mean_pct"].tolist() == pytest.approx([65.0, 35.0, 90.0])
    assert high["model_mean_pct"].tolist() == pytest.approx([45.0, 25.0, 85.0])
    assert high["model_p05_pct"].tolist() == pytest.approx([40.5, 20.5, 80.5])
    assert high["model_p95_pct"].tolist() == pytest.approx([49.5, 29.5, 89.5])
    # the published criteria concern the 680 mg group only
    assert high["published"].tolist() == ["> 50% reduction", "> 70% reduction", "~80% of baseline (75-90%)"]
    assert high["observed_holds"].tolist() == [True, True, True]
    assert high["model_holds"].tolist() == [True, True, True]
    assert (low["published"] == "").all() and low["model_holds"].isna().all() and low["observed_holds"].isna().all()


def test_reproduction_table_reports_a_model_that_misses():
    nm, pred, id_map, curves = hand_study()
    days, _ = curves["HIGH"]
    curves["HIGH"] = (days, np.array([[100.0, 55.0, 35.0, 60.0], [100.0, 65.0, 45.0, 70.0]]))
    high = reproduction_table(nm, pred, id_map, ARMS, VISITS, curves).iloc[3:]
    assert high["model_holds"].tolist() == [False, False, False]
    assert high["observed_holds"].tolist() == [True, True, True]
    # no observation in a window: observed mean NaN and the criterion not met
    nm2 = nm[~((nm["TIME"] > 10 * 24) & (nm["TIME"] < 30 * 24))]
    high2 = reproduction_table(nm2, pred, id_map, ARMS, VISITS, curves).iloc[3:]
    wk3 = high2[high2["visit"] == "WEEK 3"].iloc[0]
    assert wk3["observed_n"] == 0 and math.isnan(wk3["observed_mean_pct"]) and wk3["observed_holds"] is False
