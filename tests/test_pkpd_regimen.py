"""Regimen simulation (fcrnpipe.pkpd.regimen): metrics of hand-made IgG % of baseline curves,
the summaries across simulated trials (uncertainty band of the median across trials, the
between-subject interval within trials), the population parameter set of each trial
(bootstrap replicates, covariance step) and its reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest

import pandas as pd

from fcrnpipe.errors import UserError
from fcrnpipe.nlme.results import population_table
from fcrnpipe.pkpd import regimen as R
from fcrnpipe.pkpd.outputs import combine_population
from fcrnpipe.pkpd.regimen import (
    PROFILE_COLUMNS,
    REGIMEN_COLUMNS,
    curve_metrics,
    first_crossing,
    regimen_doses,
    regimen_profile,
    regimen_row,
    summarise_times,
)
from fcrnpipe.pkpd.simulation import x_from_estimates
from pkpd_models import fitted, joint_model, sequential_model


def vcurve(t):
    """100% -> 20% at day 8 (10 points/day), flat to day 30, back up 2 points/day to 100%."""
    t = np.asarray(t, dtype=float)
    return np.where(t <= 8, 100 - 10 * t, np.where(t <= 30, 20.0, np.minimum(100.0, 20 + 2 * (t - 30))))


@pytest.mark.parametrize("step", [0.25, 0.5, 2.0])  # grids through the kinks of the curve
def test_metrics_of_a_hand_made_curve(step):
    t = np.arange(0, 100 + 1e-9, step)
    m = curve_metrics(t, vcurve(t), last_dose_day=21.0)
    assert m["t50"] == pytest.approx(5.0)  # 100 - 10 t = 50
    assert m["t70"] == pytest.approx(7.0)  # <= 30% of baseline
    assert m["nadir_pct"] == pytest.approx(20.0)
    assert m["recovery80"] == pytest.approx(60.0 - 21.0)  # 20 + 2 (t - 30) = 80 at day 60
    assert 8.0 <= m["nadir_day"] <= 9.0  # the first grid point at the nadir


def test_never_reached_and_never_recovered():
    t = np.arange(0, 60.0, 0.5)
    shallow = 100 - 40 * (1 - np.exp(-t / 5))  # nadir ~60%: no 50% or 70% reduction
    m = curve_metrics(t, shallow, last_dose_day=21.0)
    assert math.isnan(m["t50"]) and math.isnan(m["t70"])
    assert math.isnan(m["recovery80"])  # below 80% until the end of the simulation
    mild = 100 - 10 * np.sin(np.pi * t / 60)  # never below 80%: recovery 0
    assert curve_metrics(t, mild, 21.0)["recovery80"] == 0.0


def test_recovery_counts_from_the_last_dose_after_the_nadir():
    t = np.arange(0, 200.0, 1.0)
    pct = vcurve(t)
    # doses until day 40 (after the nadir plateau): recovery from day 40 to day 60
    assert curve_metrics(t, pct, last_dose_day=40.0)["recovery80"] == pytest.approx(20.0)


def test_first_crossing_interpolates_and_rises():
    t = np.array([0.0, 1.0, 2.0])
    assert first_crossing(t, np.array([100.0, 60.0, 40.0]), 50.0) == pytest.approx(1.5)
    assert first_crossing(t, np.array([10.0, 70.0, 90.0]), 80.0, below=False) == pytest.approx(1.5)
    assert first_crossing(t, np.array([10.0, 70.0, 90.0]), 80.0, below=False, start=2.0) == 2.0
    assert math.isnan(first_crossing(t, np.array([100.0, 90.0, 95.0]), 50.0))


def test_summaries_treat_never_as_later_than_everything():
    (p05, med, p95), reached = summarise_times(np.array([1.0, 2.0, 3.0, np.nan]))
    assert (p05, med) == (1.0, 2.0)
    assert math.isnan(p95)  # the 95th percentile falls on a subject who never got there
    assert reached == 75.0
    (p05, med, p95), reached = summarise_times(np.array([np.nan, np.nan, 4.0]))
    assert p05 == 4.0 and math.isnan(med) and reached == pytest.approx(100 / 3)


def test_regimen_doses_from_config():
    reg = {"name": "x", "doses": [{"mg": 680, "days": [1, 8, 15, 22]}, {"mg": 340, "days": [36, 50, 64, 78]}]}
    times, amts = regimen_doses(reg)
    assert times.tolist() == [0, 7, 14, 21, 35, 49, 63, 77]
    assert amts.tolist() == [680] * 4 + [340] * 4


def test_regimen_row_summarises_subjects():
    t = np.arange(0, 100 + 1e-9, 0.5)
    curves = np.vstack([vcurve(t), vcurve(t * 2.0), 100 - 0.1 * t])  # fast, faster, hardly any effect
    row = regimen_row("r", t, curves, np.array([0.0, 7.0, 14.0, 21.0]), np.full(4, 680.0), "none")
    assert set(row) == set(REGIMEN_COLUMNS)
    assert row["t50_reached_pct"] == pytest.approx(200 / 3)
    assert row["t50_median_day"] == pytest.approx(5.0)  # subjects: 2.5, 5.0, never
    assert row["t50_p05_day"] == pytest.approx(2.5)
    assert math.isnan(row["t50_p95_day"])
    assert row["total_dose_mg"] == 2720.0 and row["last_dose_day"] == 21.0


# --------------------------------------------------- summaries across simulated trials
def ramp(t, nadir):
    """Falls linearly from 100% to ``nadir`` at day 10, flat after: t50 = 500 / (100 - nadir)
    if nadir <= 50, else never."""
    return 100.0 - (100.0 - nadir) * np.minimum(np.asarray(t, dtype=float) / 10.0, 1.0)


NADIRS = np.array([[10.0, 20, 30, 40, 50], [20.0, 30, 40, 50, 60], [30.0, 40, 50, 60, 70]])  # 3 trials x 5 subjects


def trial_curves(t):
    return np.stack([[ramp(t, c) for c in trial] for trial in NADIRS])


def test_band_is_across_trials_and_interval_within_trials():
    t = np.arange(0.0, 40.0 + 1e-9, 0.5)
    row = regimen_row("r", t, trial_curves(t), np.array([0.0]), np.array([680.0]), "hand")
    assert set(row) == set(REGIMEN_COLUMNS)
    assert row["n_trials"] == 3 and row["subjects_per_trial"] == 5
    # nadir: trial medians 30, 40, 50 -> median 40, 5th-95th percentiles across trials 31-49
    assert row["nadir_pct_median"] == pytest.approx(40.0)
    assert (row["nadir_pct_median_lo"], row["nadir_pct_median_hi"]) == pytest.approx((31.0, 49.0))
    # between-subject: per trial 5th percentiles 12, 22, 32 and 95th 48, 58, 68 -> medians 22, 58
    assert (row["nadir_pct_p05"], row["nadir_pct_p95"]) == pytest.approx((22.0, 58.0))
    # (the pooled 15 subjects would give a 5th percentile of 17: the band is not over subjects)
    assert np.percentile(NADIRS, 5) == pytest.approx(17.0)
    # t50 (never for nadirs above 50; inverted-CDF percentiles): trial medians 500/70, 500/60, 500/50
    assert row["t50_median_day"] == pytest.approx(500 / 60)
    assert (row["t50_median_lo_day"], row["t50_median_hi_day"]) == pytest.approx((500 / 70, 10.0))
    # per trial 5th percentiles 500/90, 500/80, 500/70 -> median 500/80; the 95th percentiles fall
    # on "never" in two trials of three -> NA
    assert row["t50_p05_day"] == pytest.approx(500 / 80) and math.isnan(row["t50_p95_day"])
    assert row["t50_reached_pct"] == pytest.approx(80.0)  # 12 of 15 subjects


def test_profile_band_across_trials():
    t = np.arange(0.0, 20.0 + 1e-9, 1.0)
    prof = regimen_profile("r", t, trial_curves(t))
    assert prof.columns.tolist() == PROFILE_COLUMNS
    late = prof[prof["day"] == 15.0].iloc[0]
    assert (late["pct_median"], late["pct_median_lo"], late["pct_median_hi"]) == pytest.approx((40.0, 31.0, 49.0))
    assert (late["pct_p05"], late["pct_p95"]) == pytest.approx((22.0, 58.0))
    assert late["pct_mean"] == pytest.approx(NADIRS.mean())
    # trials with the same median but different spread: no uncertainty, a wide interval
    same = np.stack([[ramp(t, c) for c in (10.0, 40.0, 70.0)], [ramp(t, c) for c in (30.0, 40.0, 50.0)]])
    p = regimen_profile("s", t, same)
    last = p.iloc[-1]
    assert last["pct_median_lo"] == last["pct_median_hi"] == pytest.approx(40.0)
    # per trial 5th percentiles 13 and 31, 95th 67 and 49 -> medians 22 and 58
    assert (last["pct_p05"], last["pct_p95"]) == pytest.approx(((13.0 + 31.0) / 2, (67.0 + 49.0) / 2))


# ----------------------------------------------------- population parameter sets
@pytest.mark.parametrize("error, block", [("proportional", False), ("combined", True), ("additive", False)])
def test_x_from_estimates_round_trip(error, block):
    spec = {"model": "oral1cmt", "iiv": ["ka", "CL", "V"], "fixed": {"ka": 1.2}, "errors": {"2": error},
            "omega": "block" if block else "diag", "blq": "M1"}
    omega = np.array([[0.05, 0.01, 0.0], [0.01, 0.21, -0.02], [0.0, -0.02, 0.054]]) if block else None
    sig = {"proportional": [0.144], "combined": [0.3, 0.1], "additive": [0.5]}[error]
    fm = fitted(spec, {"CL": 0.3, "V": 30.0}, [np.array(sig)], omega=omega)
    tab = population_table(fm)
    est = dict(zip(tab["parameter"], tab["estimate"]))
    np.testing.assert_allclose(x_from_estimates(fm, est), fm.x, rtol=1e-8, atol=1e-9)
    # names shared by two parts carry the part's prefix in the combined table
    est2 = {("PK:" + k if k.startswith("omega2") else k): v for k, v in est.items()}
    np.testing.assert_allclose(x_from_estimates(fm, est2, "PK:"), fm.x, rtol=1e-8, atol=1e-9)
    with pytest.raises(ValueError, match="CL"):
        x_from_estimates(fm, {k: v for k, v in est.items() if k != "CL"})


def bootstrap_table(model, rows):
    """A bootstrap.csv of ``model``: each row (replicate, status, at_bound, factor) has the
    estimates with CL multiplied by ``factor``."""
    parts = [("PK", "sc1cmt_mm", population_table(model.pk)), ("PD", "igg_turnover", population_table(model.pd))]
    pop = combine_population(parts)
    est = dict(zip(pop["parameter"], pop["estimate"]))
    out = []
    for rep, status, bound, factor in rows:
        r = {"replicate": rep, "seed": 4711, "status": status, "message": "", "at_bound": bound}
        r.update({k: (v * factor if k == "CL" else v) for k, v in est.items()} if status == "ok" else {})
        out.append(r)
    return pd.DataFrame(out, columns=["replicate", "seed", "status", "message", "at_bound", *pop["parameter"]])


def test_trials_take_the_usable_bootstrap_replicates_in_turn():
    model = sequential_model()
    boot = bootstrap_table(model, [(3, "ok", "", 3.0), (1, "ok", "", 1.0), (2, "failed", "", 1.0),
                                   (4, "ok", "PK CL", 2.0), (5, "ok", "", 0.5)])
    pops = R.trial_populations(model, 5, "bootstrap", boot)
    assert pops.source == "bootstrap"
    assert pops.replicates == [1, 3, 5, 1, 3]  # failed (2) and at a bound (4) left out, in turn
    assert pops.text == "bootstrap replicates (3 usable of 5; 5 trials, so replicates are reused in turn)"
    cl = [float(np.exp(s["pk"][1])) for s in pops.sets]  # theta[log CL] of the PK estimation vector
    assert cl == pytest.approx([0.344, 3 * 0.344, 0.5 * 0.344, 0.344, 3 * 0.344])
    np.testing.assert_allclose(pops.sets[0]["pd"], model.pd.x, rtol=1e-8)
    assert R.trial_populations(model, 2, "bootstrap", boot, exclude_at_bound=False).replicates == [1, 3]
    assert R.trial_populations(model, 5, "bootstrap", boot, exclude_at_bound=False).replicates == [1, 3, 4, 5, 1]
    assert R.trial_populations(model, 3, "bootstrap", boot).text == "bootstrap replicates (3 usable of 5)"


def test_without_bootstrap_the_covariance_step_then_the_estimates():
    model = sequential_model()
    pops = R.trial_populations(model, 4, "bootstrap", None)
    assert pops.source == "covariance" and "no bootstrap run" in pops.text
    failed = bootstrap_table(model, [(1, "failed", "", 1.0)])
    assert "no usable bootstrap replicate" in R.trial_populations(model, 4, "bootstrap", failed).text
    assert R.trial_populations(model, 4, "covariance").source == "covariance"
    none = R.trial_populations(sequential_model(cov_sd=None), 4, "bootstrap", None)
    assert none.source == "none" and "covariance step failed" in none.text
    assert R.trial_populations(model, 4, "none").source == "none"
    with pytest.raises(UserError):
        R.trial_populations(model, 4, "posterior")


@pytest.mark.parametrize("make_model", [sequential_model, joint_model])
def test_trial_draws_are_reproducible_and_do_not_depend_on_the_other_trials(make_model):
    model = make_model()
    pops = R.trial_populations(model, 6, "covariance")
    allp = R.simulate_trials(model, pops, 6, 4, seed=2023)
    assert allp.shape == (6, 4, 9)
    np.testing.assert_array_equal(allp, R.simulate_trials(model, pops, 6, 4, seed=2023))
    # trial t's numbers come from default_rng([seed, t]) alone: simulating fewer trials, or one
    # trial by itself, gives the same subjects
    np.testing.assert_array_equal(allp[:3], R.simulate_trials(model, pops, 3, 4, seed=2023))
    np.testing.assert_array_equal(allp[4], R.trial_parameters(model, pops, 5, 4, seed=2023))
    assert not np.array_equal(allp, R.simulate_trials(model, pops, 6, 4, seed=2024))
    # one population parameter set per trial: the typical values differ between trials, not
    # within one (the subjects of a trial share it; their random effects differ)
    typ = np.log(allp[..., 2]).mean(axis=1)  # log V, a parameter with a random effect
    assert np.unique(np.round(typ, 12)).size == 6
    manual = model.sample_at(4, R.trial_rng(2023, 2), model.draw_population(R.trial_rng(2023, 2)))
    assert not np.array_equal(manual, allp[1])  # the draw and the subjects share one generator ...
    rng = R.trial_rng(2023, 2)
    pop = model.draw_population(rng)
    np.testing.assert_array_equal(model.sample_at(4, rng, pop), allp[1])  # ... in this order
    # with bootstrap sets, trials with the same replicate still get their own subjects
    boot = bootstrap_table(sequential_model(), [(1, "ok", "", 1.0)]) if make_model is sequential_model else None
    if boot is not None:
        bp = R.simulate_trials(model, R.trial_populations(model, 2, "bootstrap", boot), 2, 4, seed=1)
        assert not np.array_equal(bp[0], bp[1])


def test_curves_do_not_depend_on_how_many_trials_are_integrated_together():
    model = joint_model()
    pops = R.trial_populations(model, 3, "covariance")
    params = R.simulate_trials(model, pops, 3, 4, seed=11)
    reg = {"name": "680 mg QW x2", "doses": [{"mg": 680, "days": [1, 8]}]}
    tday, together = R.regimen_curves(model, reg, params, 20.0, max_rows=1000)
    _, one_by_one = R.regimen_curves(model, reg, params, 20.0, max_rows=4)
    _, two_then_one = R.regimen_curves(model, reg, params, 20.0, max_rows=9)
    assert together.shape == (3, 4, tday.size) and tday[-1] == 20.0
    np.testing.assert_array_equal(together, one_by_one)
    np.testing.assert_array_equal(together, two_then_one)
    assert together[:, :, 0] == pytest.approx(100.0) and (together[:, :, -1] < 100.0).all()


def test_dose_key_ignores_names_and_block_order():
    a = {"name": "A", "doses": [{"mg": 680, "days": [1, 8]}, {"mg": 340, "days": [22]}]}
    b = {"name": "B", "doses": [{"mg": 340, "days": [22]}, {"mg": 680, "days": [8, 1]}]}
    assert R.dose_key(a) == R.dose_key(b) == ((0.0, 680.0), (7.0, 680.0), (21.0, 340.0))
    assert R.dose_key(a) != R.dose_key({"name": "C", "doses": [{"mg": 680, "days": [1, 8, 22]}]})


def test_arm_curves_reuse_a_configured_regimen_with_the_same_doses():
    """The arms' planned regimens are usually among the configured ones: their curves (same
    virtual subjects, same days) are taken, not integrated again; other arms are simulated."""
    model = joint_model()
    params = R.simulate_trials(model, R.trial_populations(model, 2, "covariance"), 2, 3, seed=5)
    configured = [{"name": "680 mg QW x2", "doses": [{"mg": 680, "days": [1, 8]}]}]
    _, _, simulated = R.simulate_regimens(model, configured, params, 20.0, "covariance")
    arms = [{"name": "ARM680", "doses": [{"mg": 680, "days": [1, 8]}]},
            {"name": "ARM340", "doses": [{"mg": 340, "days": [1, 8]}]}]
    got = R.curves_for(model, arms, params, 20.0, simulated, configured)
    assert got["ARM680"] is simulated["680 mg QW x2"]
    fresh = R.regimen_curves(model, arms[0], params, 20.0)
    np.testing.assert_array_equal(got["ARM680"][1], fresh[1])  # reusing changes no number
    own = R.regimen_curves(model, arms[1], params, 20.0)
    np.testing.assert_array_equal(got["ARM340"][0], own[0])
    np.testing.assert_array_equal(got["ARM340"][1], own[1])
    assert not np.array_equal(got["ARM340"][1], got["ARM680"][1])


def test_curves_do_not_depend_on_the_number_of_worker_threads():
    model = joint_model()
    params = R.simulate_trials(model, R.trial_populations(model, 5, "covariance"), 5, 3, seed=3)
    reg = {"name": "680 mg QW x2", "doses": [{"mg": 680, "days": [1, 8]}]}
    one = R.regimen_curves(model, reg, params, 20.0, max_rows=6, workers=1)  # 3 blocks of 2, 2, 1 trials
    two = R.regimen_curves(model, reg, params, 20.0, max_rows=6, workers=2)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])
    assert one[1].shape == (5, 3, one[0].size)
    _, _, a = R.simulate_regimens(model, [reg], params, 20.0, "covariance", max_rows=6, workers=1)
    _, _, b = R.simulate_regimens(model, [reg], params, 20.0, "covariance", max_rows=6, workers=2)
    np.testing.assert_array_equal(a[reg["name"]][1], b[reg["name"]][1])
