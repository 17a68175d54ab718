"""VPC tables (fcrnpipe.pkpd.vpc: bins, strata, percentile choice, prediction correction) and
the model-vs-published PD check (fcrnpipe.pkpd.reproduction) on hand-made records with
hand-computed values.

Percentiles are numpy's linear interpolation: the p-th percentile of n sorted values sits at
rank p/100 * (n - 1).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fcrnpipe.errors import UserError
from fcrnpipe.nlme import read_nm_dataset
from fcrnpipe.nlme.synthetic import simulate_nm_dataset
from fcrnpipe.pkpd.reproduction import REPRODUCTION_COLUMNS, observed_pct, published_criteria, reproduction_table
from fcrnpipe.pkpd.vpc import (
    ALL_SUBJECTS,
    VPC_COLUMNS,
    assign_bins,
    choose_percentiles,
    corrected_observations,
    percent_of_baseline,
    prediction_correct,
    record_strata,
    simulate_vpc,
    vpc_columns,
    vpc_summary,
)
from pkpd_models import joint_model, sequential_model

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


# ------------------------------------------------------------------------- strata
def test_record_strata_by_dose_and_pooled():
    label, value = record_strata(np.array([680.0, 340.0, 680.0, nan]), "DOSE")
    assert label.tolist() == ["680 mg", "340 mg", "680 mg", "DOSE missing"]
    assert value[:3].tolist() == [680.0, 340.0, 680.0] and math.isnan(value[3])
    label, _ = record_strata(np.array([1, 0]), "SEX")
    assert label.tolist() == ["SEX = 1", "SEX = 0"]
    label, value = record_strata(np.zeros(3), None)
    assert label.tolist() == [ALL_SUBJECTS] * 3 and np.isnan(value).all()


def two_strata_input():
    """The hand input of ``hand_vpc_input`` as the 680 mg stratum (subjects A, B), plus a 340 mg
    stratum (subject C, two records at 24 h) listed first in the records."""
    obs, sim = hand_vpc_input()
    obs = obs.assign(ID=["A", "A", "B", "B", "A", "A", "B", "B", "A", "A"], STRATUM="680 mg", STRATUM_VALUE=680.0)
    low = pd.DataFrame({"BIN": [24.0, 24.0], "DV": [7.0, 9.0], "BLQ": [0, 0], "LLOQ": [nan, nan], "ID": ["C", "C"],
                        "STRATUM": "340 mg", "STRATUM_VALUE": 340.0})
    sim_low = np.array([[6.0, 8.0], [7.0, 11.0], [1.0, 3.0]])
    return pd.concat([low, obs], ignore_index=True), np.hstack([sim_low, sim]), obs, sim


def test_vpc_summary_by_stratum():
    both, sim_both, high, sim_high = two_strata_input()
    t = vpc_summary(both, sim_both, "concentration")
    # strata in the order of their value, bins within each
    assert t["stratum"].tolist() == ["340 mg", "680 mg", "680 mg"]
    assert t["stratum_value"].tolist() == [340.0, 680.0, 680.0]
    assert t["bin"].tolist() == [1, 1, 2] and t["ntime_h"].tolist() == [24.0, 24.0, 48.0]
    assert t["n_obs"].tolist() == [2, 5, 5] and t["n_subjects"].tolist() == [1, 2, 2]
    # 340 mg: observed 7, 9 -> 5th 7.1, median 8, 95th 8.9; simulated medians 7, 9, 2 -> 2.25, 7, 8.9
    low = t.iloc[0]
    assert (low["obs_p05"], low["obs_p50"], low["obs_p95"]) == pytest.approx((7.1, 8.0, 8.9))
    assert (low["sim_p50_lo"], low["sim_p50_med"], low["sim_p50_hi"]) == pytest.approx((2.25, 7.0, 8.9))
    # the 680 mg rows are exactly those of the stratum alone (hand values in test_vpc_summary_hand_values)
    alone = vpc_summary(high, sim_high, "concentration")
    cols = [c for c in VPC_COLUMNS if c not in ("stratum", "stratum_value", "n_subjects")]
    pd.testing.assert_frame_equal(t.iloc[1:][cols].reset_index(drop=True), alone[cols])
    pooled = vpc_summary(*hand_vpc_input(), "concentration")  # no stratum columns: one stratum
    assert pooled["stratum"].tolist() == [ALL_SUBJECTS, ALL_SUBJECTS] and pooled["stratum_value"].isna().all()
    assert (t["percentiles"] == "5/50/95").all() and not t["prediction_corrected"].any() and t["pred_bin"].isna().all()


# -------------------------------------------------------------------- percentiles
def test_choose_percentiles():
    levels, why = choose_percentiles([25, 19, 40])
    assert levels == (10.0, 50.0, 90.0) and "19" in why and "fewer than 20" in why
    levels, why = choose_percentiles([20, 30])
    assert levels == (5.0, 50.0, 95.0) and why.startswith("auto")
    assert choose_percentiles([12, 30], "auto", min_bin_observations=10)[0] == (5.0, 50.0, 95.0)
    levels, why = choose_percentiles([2], [95, 5, 50])
    assert levels == (5.0, 50.0, 95.0) and "configured" in why
    for bad in ("sometimes", [5, 5, 50], [0, 50], []):
        with pytest.raises(UserError):
            choose_percentiles([30], bad)


def test_vpc_summary_with_other_percentiles():
    obs, sim = hand_vpc_input()
    t = vpc_summary(obs, sim, "x", levels=(10, 50, 90))
    assert t.columns.tolist() == vpc_columns((10, 50, 90))
    assert "obs_p10" in t.columns and "sim_p90_hi" in t.columns and "obs_p05" not in t.columns
    # bin 24 h: 1..5 -> 10th 1.4, 90th 4.6
    assert (t.iloc[0]["obs_p10"], t.iloc[0]["obs_p90"]) == pytest.approx((1.4, 4.6))
    assert (t["percentiles"] == "10/50/90").all()


# ----------------------------------------------------------- prediction correction
def test_prediction_correct_hand_values():
    # one group: PRED 1, 2, 4 -> median 2 -> factors 2, 1, 1/2
    y, pb = prediction_correct(np.array([10.0, 10.0, 10.0]), np.array([1.0, 2.0, 4.0]), np.array(["a", "a", "a"]))
    assert y.tolist() == pytest.approx([20.0, 10.0, 5.0]) and pb.tolist() == [2.0, 2.0, 2.0]
    # two groups, replicates as rows; each group uses its own median
    sim = np.array([[1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0]])
    y, pb = prediction_correct(sim, np.array([1.0, 3.0, 10.0, 10.0]), np.array([1, 1, 2, 2]))
    assert pb.tolist() == [2.0, 2.0, 10.0, 10.0]
    np.testing.assert_allclose(y, [[2.0, 4.0 / 3.0, 3.0, 4.0], [4.0, 8.0 / 3.0, 6.0, 8.0]])
    # lower bound 1: 1 + (y - 1)(PRED_b - 1)/(PRED - 1); PRED 2, 3, 5 -> median 3
    y, _ = prediction_correct(np.array([11.0, 11.0, 11.0]), np.array([2.0, 3.0, 5.0]), np.zeros(3), lower_bound=1.0)
    assert y.tolist() == pytest.approx([21.0, 11.0, 6.0])
    # a record with PRED at the lower bound or not finite is left as it is; the bin median is
    # that of the finite PRED (0 and 4: 2)
    y, pb = prediction_correct(np.array([5.0, 5.0, 5.0]), np.array([0.0, nan, 4.0]), np.zeros(3))
    assert y.tolist() == pytest.approx([5.0, 5.0, 2.5]) and pb.tolist() == [2.0, 2.0, 2.0]


def pc_input():
    """One bin of 4 records, PRED 1, 1, 2, 2 (median 1.5: factors 1.5, 1.5, 0.75, 0.75)."""
    obs = pd.DataFrame({"BIN": [24.0] * 4, "DV": [2.0, 4.0, 4.0, 8.0], "BLQ": [0] * 4, "LLOQ": [nan] * 4,
                        "PRED": [1.0, 1.0, 2.0, 2.0]})
    sim = np.vstack([obs["DV"].to_numpy(), 2.0 * obs["DV"].to_numpy()])
    return obs, sim


def test_prediction_corrected_vpc_by_hand():
    obs, sim = pc_input()
    plain = vpc_summary(obs, sim, "x", levels=(10, 50, 90)).iloc[0]
    # uncorrected: 2, 4, 4, 8 -> 10th 2.6, median 4, 90th 6.8
    assert (plain["obs_p10"], plain["obs_p50"], plain["obs_p90"]) == pytest.approx((2.6, 4.0, 6.8))
    t = vpc_summary(obs, sim, "x", levels=(10, 50, 90), pred=obs["PRED"].to_numpy()).iloc[0]
    assert t["prediction_corrected"] and t["pred_bin"] == 1.5
    # corrected: 3, 6, 3, 6 -> sorted 3, 3, 6, 6: 10th 3, median 4.5, 90th 6
    assert (t["obs_p10"], t["obs_p50"], t["obs_p90"]) == pytest.approx((3.0, 4.5, 6.0))
    # replicates: x1 -> median 4.5, x2 -> 9; 2.5th/50th/97.5th over (4.5, 9): 4.6125, 6.75, 8.8875
    assert (t["sim_p50_lo"], t["sim_p50_med"], t["sim_p50_hi"]) == pytest.approx((4.6125, 6.75, 8.8875))
    # the observations as a pcVPC draws them
    assert corrected_observations(obs)["DV"].tolist() == pytest.approx([3.0, 6.0, 3.0, 6.0])


def test_prediction_corrected_vpc_with_censoring():
    obs, sim = pc_input()
    obs["DV"] = [nan, 4.0, 4.0, 8.0]
    obs["BLQ"] = [1, 0, 0, 0]
    obs["LLOQ"] = 1.0
    sim[1, 0] = 0.5  # below the LLOQ
    t = vpc_summary(obs, sim, "x", levels=(10, 50, 90), pred=obs["PRED"].to_numpy()).iloc[0]
    # censoring decided on the uncorrected values; the BLQ record counts as 0 and stays 0:
    # 0, 6, 3, 6 -> sorted 0, 3, 6, 6: 10th 0.9, median 4.5, 90th 6; the bin's limit is the
    # largest corrected LLOQ, 1 x 1.5 = 1.5, so the 10th percentile is not reported
    assert t["lloq"] == pytest.approx(1.5)
    assert math.isnan(t["obs_p10"]) and (t["obs_p50"], t["obs_p90"]) == pytest.approx((4.5, 6.0))
    assert t["obs_blq_pct"] == 25.0
    # replicate 1 (2 -> 3 is not censored: 2 >= LLOQ) and replicate 2 (0.5 < 1: censored)
    assert (t["sim_blq_pct_lo"], t["sim_blq_pct_hi"]) == pytest.approx((0.625, 24.375))


# ----------------------------------------------------------------- VPC simulation
@pytest.fixture(scope="module")
def synthetic_data(tmp_path_factory):
    """4 synthetic subjects (340, 680, 340, 680 mg), with the planned dose in DOSE."""
    study = simulate_nm_dataset(n_subjects=4, seed=3, pd_days=(0.0, 7.0, 21.0))
    rec = study.records.copy()
    rec["DOSE"] = rec["ID"].astype(int).map({1: 340.0, 2: 680.0, 3: 340.0, 4: 680.0})
    path = tmp_path_factory.mktemp("vpc") / "nm.csv"
    rec.to_csv(path, index=False)
    return read_nm_dataset(path)


@pytest.mark.parametrize("make_model", [joint_model, sequential_model])
def test_simulate_vpc_strata_and_population_predictions(synthetic_data, make_model):
    model = make_model()
    obs, sim = simulate_vpc(synthetic_data, model, 2, 3, np.random.default_rng(7), stratify_on="DOSE")
    pooled, sim_pooled = simulate_vpc(synthetic_data, model, 2, 3, np.random.default_rng(7), stratify_on=None)
    # the strata are the planned doses; stratifying changes no simulated number
    assert dict(zip(obs["ID"], obs["STRATUM"])) == {"1": "340 mg", "2": "680 mg", "3": "340 mg", "4": "680 mg"}
    assert (pooled["STRATUM"] == ALL_SUBJECTS).all()
    np.testing.assert_array_equal(sim, sim_pooled)
    # PRED: the typical subject's prediction -- equal for subjects with the same doses and times
    p = obs.pivot_table(index="ID", columns="TIME", values="PRED")
    np.testing.assert_allclose(p.loc["1"], p.loc["3"], rtol=1e-12)
    np.testing.assert_allclose(p.loc["2"], p.loc["4"], rtol=1e-12)
    assert (p.loc["2"][p.columns > 0] > p.loc["1"][p.columns > 0]).all()  # the higher dose
    with pytest.raises(UserError, match="stratify_on"):
        simulate_vpc(synthetic_data, model, 2, 1, np.random.default_rng(7), stratify_on="ARM")


def test_percent_of_baseline_converts_pred_too():
    obs = pd.DataFrame({"ID": ["A", "A", "A"], "TIME": [0.0, 24.0, 48.0], "DV": [10.0, 5.0, 8.0], "BLQ": 0,
                        "LLOQ": nan, "BIN": [0.0, 24.0, 48.0], "PRED": [12.0, 6.0, 3.0]})
    out, _ = percent_of_baseline(obs, np.ones((1, 3)))
    assert out["PRED"].tolist() == pytest.approx([50.0, 25.0])


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
    # one simulated trial: no band across trials
    assert high["model_mean_lo_pct"].tolist() == high["model_mean_hi_pct"].tolist() == pytest.approx([45.0, 25.0, 85.0])
    # the published criteria concern the 680 mg group only
    assert high["published"].tolist() == ["> 50% reduction", "> 70% reduction", "~80% of baseline (75-90%)"]
    assert high["observed_holds"].tolist() == [True, True, True]
    assert high["model_holds"].tolist() == [True, True, True]
    assert (low["published"] == "").all() and low["model_holds"].isna().all() and low["observed_holds"].isna().all()


def test_reproduction_table_with_simulated_trials():
    nm, pred, id_map, curves = hand_study()
    days, _ = curves["HIGH"]
    # 3 trials x 2 subjects; week-1 values: trial means 35, 45, 55
    week1 = np.array([[30.0, 40.0], [40.0, 50.0], [35.0, 75.0]])
    c = np.full((3, 2, 4), 90.0)
    c[:, :, 0] = 100.0
    c[:, :, 1] = week1
    curves["HIGH"] = (days, c)
    w1 = reproduction_table(nm, pred, id_map, ARMS, VISITS, curves).iloc[3]
    assert w1["visit"] == "WEEK 1"
    assert w1["model_mean_pct"] == pytest.approx(45.0)  # over all virtual subjects
    # uncertainty of the mean: 5th-95th percentiles across the trial means 35, 45, 55
    assert (w1["model_mean_lo_pct"], w1["model_mean_hi_pct"]) == pytest.approx((36.0, 54.0))
    # between subjects: per trial 5th percentiles 30.5, 40.5, 37 -> median 37; 95th 39.5, 49.5, 73 -> 49.5
    assert (w1["model_p05_pct"], w1["model_p95_pct"]) == pytest.approx((37.0, 49.5))
    assert bool(w1["model_holds"])  # the criterion is checked on the mean: 45 < 50


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
