"""Unit tests of the NLME estimator (fcrnpipe.nlme) on small data (issue #3, section 2).

* Residual error models: the likelihood of a two-observation subject without random effects
  (where FOCE is exact: ``-2 log L = sum log(2 pi V) + r^2/V``) written out by hand for the
  additive, proportional and combined models, and the closed-form maximum-likelihood SDs.
* BLQ: the M3 term ``-log Phi((LLOQ - f)/sd)`` at ``z = 1`` (``Phi(1) = 0.8413447``); M1
  drops the record.
* Dataset validation: each check of :func:`validate_nm_frame` raises ``UserError`` naming
  the data row and column.
* The covariance step on a non-identifiable model (IgG turnover without any drug: Emax and
  EC50 have no influence on the data) fails with a warning and NaN standard errors.
* The OFV gradient (implicit-function formula) against finite differences of the OFV.
* Simulation -> re-estimation on a small oral1cmt study with a diagonal and a block Omega.

The hand-computed predictions: oral1cmt with ka = 1/h, CL = 1 L/h, V = 10 L (ke = 0.1/h),
100 mg at t = 0: ``f(t) = 100/9 (e^{-0.1 t} - e^{-t})``: f(2) = 7.593283, f(6) = 6.070365,
f(12) = 100/9 (0.3011942 - 0.0000061) = 3.346534.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from fcrnpipe.errors import UserError
from fcrnpipe.models import make_model
from fcrnpipe.models.oral1cmt import bateman
from fcrnpipe.nlme import (
    ErrorModel,
    FitOptions,
    PopulationModel,
    fit,
    population_table,
    predictions_table,
    read_nm_dataset,
    summary,
    validate_nm_frame,
    write_outputs,
)
from fcrnpipe.nlme.estimate import FitWarning, Objective, build_problem
from fcrnpipe.nlme.foce import loglik_from_ofv

F2, F6, F12 = 7.593282998237434, 6.070365376859556, 3.3465340855538743
COLUMNS = ["ID", "TIME", "AMT", "DV", "EVID", "MDV", "CMT", "BLQ", "LLOQ"]


def frame(rows: list[list]) -> pd.DataFrame:
    return pd.DataFrame([[str(v) for v in r] for r in rows], columns=COLUMNS)


def tiny(lloq_blq: float | None = None) -> pd.DataFrame:
    """One subject: 100 mg at 0 h, DV 8.0 at 2 h, 5.5 at 6 h (and a BLQ record at 12 h)."""
    rows = [[1, 0, 100, "", 1, 1, 1, 0, ""], [1, 2, 0, 8.0, 0, 0, 2, 0, ""], [1, 6, 0, 5.5, 0, 0, 2, 0, ""]]
    if lloq_blq is not None:
        rows.append([1, 12, 0, "", 0, 0, 2, 1, repr(lloq_blq)])
    return frame(rows)


def fixed_pm(kind: str, blq: str = "M1") -> PopulationModel:
    """oral1cmt with ka = 1, CL = 1, V = 10 held fixed and no random effect: only the
    residual SDs are free, and the OFV is the exact -2 log L (minus the 2 pi terms)."""
    return PopulationModel(make_model("oral1cmt"), iiv=(), errors={2: ErrorModel(kind)},
                           fixed={"ka": 1.0, "CL": 1.0, "V": 10.0}, blq=blq)


def ofv_at(df: pd.DataFrame, pm: PopulationModel, sd: list[float]) -> tuple[float, int]:
    problem = build_problem(validate_nm_frame(df), pm)
    lay = problem.layout
    x = lay.pack(lay.theta_fixed, np.zeros((0, 0)), [np.asarray(sd, dtype=float)])
    total = Objective(problem).evaluate(x).ofv
    return total, problem.n_uncensored


def quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return fn(*a, **kw)


# ----------------------------------------------------------------------------- error models
def test_hand_predictions():
    assert bateman(100.0, np.array([2.0, 6.0, 12.0]), 1.0, 0.1, 10.0) == pytest.approx([F2, F6, F12], rel=1e-12)


def test_additive_likelihood_by_hand():
    # r = (8 - 7.593283, 5.5 - 6.070365) = (0.4067170, -0.5703654); a = 0.5, V = 0.25:
    # sum log V + r^2/V = 2 ln 0.25 + (0.1654187 + 0.3253167)/0.25 = -2.7725887 + 1.9629415 = -0.8096472
    ofv, n = ofv_at(tiny(), fixed_pm("additive"), [0.5])
    assert ofv == pytest.approx(-0.8096472, abs=1e-6)
    # the full -2 log L adds n ln(2 pi) = 2 * 1.8378771: 2.8661069
    assert -2 * loglik_from_ofv(ofv, n) == pytest.approx(2.8661069, abs=1e-6)


def test_proportional_likelihood_by_hand():
    # b = 0.1: V = (0.1 f)^2 = (0.5765795, 0.3684934); ln V = (-0.5506421, -0.9983326),
    # r^2/V = (0.1654187/0.5765795, 0.3253167/0.3684934) = (0.2868967, 0.8828291)
    # -> sum = -0.5506421 - 0.9983326 + 0.2868967 + 0.8828291 = -0.3792489
    ofv, _ = ofv_at(tiny(), fixed_pm("proportional"), [0.1])
    v = np.array([(0.1 * F2) ** 2, (0.1 * F6) ** 2])
    r = np.array([8.0 - F2, 5.5 - F6])
    assert ofv == pytest.approx(float(np.sum(np.log(v) + r * r / v)), rel=1e-12)
    assert ofv == pytest.approx(-0.3792489, abs=1e-6)


def test_combined_likelihood_by_hand():
    # a = 0.5, b = 0.1: V = 0.25 + 0.01 f^2 = (0.8265795, 0.6184934): the variances add
    ofv, _ = ofv_at(tiny(), fixed_pm("combined"), [0.5, 0.1])
    assert ofv == pytest.approx(0.0551788, abs=1e-6)
    v = 0.25 + 0.01 * np.array([F2, F6]) ** 2
    assert v == pytest.approx([0.8265795, 0.6184934], abs=1e-6)


def test_error_model_variances():
    f = np.array([2.0, 4.0])
    assert ErrorModel("additive").variance(f, np.array([0.5]))[0].tolist() == [0.25, 0.25]
    assert ErrorModel("proportional").variance(f, np.array([0.1]))[0] == pytest.approx([0.04, 0.16])
    v, dv = ErrorModel("combined").variance(f, np.array([0.5, 0.1]))
    assert v == pytest.approx([0.29, 0.41]) and dv == pytest.approx([0.04, 0.08])  # dV/df = 2 b^2 f
    with pytest.raises(ValueError, match="unknown residual error model"):
        ErrorModel("exponential")


@pytest.mark.parametrize("kind, expected", [("additive", 0.4953460), ("proportional", 0.0764763)])
def test_fitted_residual_sd_is_the_closed_form_mle(kind, expected):
    # additive: a^2 = mean r^2 = (0.1654187 + 0.3253167)/2 -> a = 0.4953460
    # proportional: b^2 = mean (r/f)^2 = ((0.0535627)^2 + (0.0939590)^2)/2 -> b = 0.0764763
    res = quiet(fit, validate_nm_frame(tiny()), fixed_pm(kind), FitOptions(gtol=1e-8))
    assert float(res.sigmas[0][0]) == pytest.approx(expected, rel=1e-5)


def test_residuals_without_random_effects_by_hand():
    """No IIV: PRED = IPRED = CPRED and WRES = IWRES = CWRES = (DV - PRED)/a."""
    res = quiet(fit, validate_nm_frame(tiny()), fixed_pm("additive"), FitOptions(gtol=1e-8))
    a = float(res.sigmas[0][0])
    pred = predictions_table(res)
    assert pred["PRED"].tolist() == pytest.approx([F2, F6], rel=1e-9)
    for col in ("WRES", "IWRES", "CWRES"):
        # (0.4067170, -0.5703654) / 0.4953460 = (0.8210765, -1.1514484)
        assert pred[col].tolist() == pytest.approx([0.8210765, -1.1514484], abs=1e-6)
    assert a == pytest.approx(0.4953460, rel=1e-5)


# ----------------------------------------------------------------------------- BLQ
def test_m3_term_by_hand():
    """A BLQ record at 12 h with LLOQ = f(12) + a, i.e. z = (LLOQ - f)/a = 1: it adds
    -2 ln Phi(1) = -2 ln 0.8413447 = 0.3455076 to -2 log L (no 2 pi term)."""
    base, n0 = ofv_at(tiny(), fixed_pm("additive"), [0.5])
    m3, n3 = ofv_at(tiny(lloq_blq=F12 + 0.5), fixed_pm("additive", blq="M3"), [0.5])
    assert n3 == n0 == 2
    assert m3 - base == pytest.approx(0.3455076, abs=1e-6)
    # proportional: sd = 0.1 f(12), LLOQ = 1.1 f(12) -> z = 1 again
    base_p, _ = ofv_at(tiny(), fixed_pm("proportional"), [0.1])
    m3_p, _ = ofv_at(tiny(lloq_blq=1.1 * F12), fixed_pm("proportional", blq="M3"), [0.1])
    assert m3_p - base_p == pytest.approx(0.3455076, abs=1e-6)
    # z = 0 (LLOQ = f): -2 ln 0.5 = 1.3862944
    m3_0, _ = ofv_at(tiny(lloq_blq=F12), fixed_pm("additive", blq="M3"), [0.5])
    assert m3_0 - base == pytest.approx(2 * math.log(2), abs=1e-9)


def test_m1_drops_blq_records():
    base, _ = ofv_at(tiny(), fixed_pm("additive"), [0.5])
    m1, n1 = ofv_at(tiny(lloq_blq=F12 + 0.5), fixed_pm("additive", blq="M1"), [0.5])
    assert m1 == pytest.approx(base, abs=1e-12) and n1 == 2
    problem = build_problem(validate_nm_frame(tiny(lloq_blq=1.0)), fixed_pm("additive", blq="M1"))
    assert problem.n_censored == 0 and int(problem.design.obs_mask.sum()) == 3
    res = quiet(fit, validate_nm_frame(tiny(lloq_blq=1.0)), fixed_pm("additive", blq="M1"))
    s = summary(res)
    assert s["n_obs_blq_dropped_m1"] == 1 and s["n_obs_censored_m3"] == 0 and s["n_obs"] == 2
    pred = predictions_table(res)
    assert len(pred) == 3 and pred["CWRES"].isna().tolist() == [False, False, True]


# ----------------------------------------------------------------------------- validation
def valid_rows() -> list[list]:
    return [
        [1, 0, 100, "", 1, 1, 1, 0, ""],
        [1, 1, 0, 3.1, 0, 0, 2, 0, ""],
        [1, 4, 0, "", 0, 0, 2, 1, 0.5],
        [2, 0, 200, ".", 1, 1, 1, 0, "."],
        [2, 2, "", 6.0, 0, 0, 2, 0, 0.5],
        [2, 24, 0, 10.2, 0, 0, 3, 0, ""],
    ]


def mutated(row: int, col: str, value) -> pd.DataFrame:
    rows = valid_rows()
    rows[row - 1][COLUMNS.index(col)] = value
    return frame(rows)


def test_valid_frame_is_accepted_with_defaults():
    df = frame(valid_rows()).drop(columns=["MDV"])
    df.columns = [c.lower() for c in df.columns]  # names are case-insensitive
    df["WT"] = ["70", "70", "70", "80", "80", "80"]
    data = validate_nm_frame(df, "ok.csv")
    rec = data.records
    assert rec["MDV"].tolist() == [1, 0, 0, 1, 0, 0]  # default: 1 for doses
    assert rec["ROW"].tolist() == [1, 2, 3, 4, 5, 6]
    assert data.covariates == ("WT",) and rec["WT"].tolist() == [70, 70, 70, 80, 80, 80]
    assert data.n_subjects == 2 and len(data.observations()) == 4 and len(data.doses()) == 2


@pytest.mark.parametrize(
    "row, col, value, message",
    [
        (2, "DV", "abc", "'abc' is not a number"),
        (2, "TIME", "", "value is missing"),
        (2, "TIME", "x1", "is not a number"),
        (2, "TIME", "inf", "time must be finite"),
        (2, "ID", "", "subject identifier is missing"),
        (2, "EVID", 2, "EVID must be 0 (observation) or 1 (dose)"),
        (1, "CMT", 2, "a dose must go to compartment 1"),
        (2, "CMT", 1, "an observation must be compartment 2"),
        (1, "AMT", "", "a dose record needs AMT > 0"),
        (1, "AMT", -5, "a dose record needs AMT > 0"),
        (2, "AMT", 5, "an observation record must have AMT empty or 0"),
        (2, "MDV", 2, "MDV must be 0 or 1"),
        (1, "MDV", 0, "a dose record must have MDV 1"),
        (2, "BLQ", 3, "BLQ must be 0 or 1"),
        (1, "BLQ", 1, "a dose record cannot be BLQ"),
        (3, "LLOQ", "", "a BLQ record needs LLOQ > 0"),
        (3, "LLOQ", 0, "a BLQ record needs LLOQ > 0"),
        (2, "DV", "", "needs a DV value"),
        (5, "DV", 0.2, "DV is below LLOQ but BLQ is 0"),
        (3, "TIME", 0.5, "time decreases within the subject"),
        (1, "DV", 5.0, "a dose record must have DV empty"),
    ],
)
def test_validation_errors_name_row_and_column(row, col, value, message):
    with pytest.raises(UserError) as exc:
        validate_nm_frame(mutated(row, col, value), "nm.csv")
    text = str(exc.value)
    assert f"nm.csv: data row {row} (line {row + 1}), column {col}" in text
    assert message in text


def test_dataset_level_validation_errors(tmp_path):
    with pytest.raises(UserError, match=r"required column\(s\) DV missing"):
        validate_nm_frame(frame(valid_rows()).drop(columns=["DV"]), "nm.csv")
    dup = frame(valid_rows())
    dup["time"] = dup["TIME"]
    with pytest.raises(UserError, match=r"duplicate column\(s\) TIME"):
        validate_nm_frame(dup, "nm.csv")
    with pytest.raises(UserError, match="no records"):
        validate_nm_frame(frame([]), "nm.csv")
    rows = valid_rows()
    rows.append([1, 30, 0, 2.0, 0, 0, 2, 0, ""])  # subject 1 again after subject 2
    with pytest.raises(UserError, match=r"data row 7 \(line 8\), column ID: records of subject '1' are not contiguous"):
        validate_nm_frame(frame(rows), "nm.csv")
    only_doses = frame([r for r in valid_rows() if r[4] == 1])
    with pytest.raises(UserError, match="no usable observation"):
        validate_nm_frame(only_doses, "nm.csv")
    with pytest.raises(UserError, match="dataset file not found"):
        read_nm_dataset(tmp_path / "missing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(UserError, match="not a readable CSV file"):
        read_nm_dataset(empty)


def test_dose_records_accept_empty_dot_or_zero_dv():
    for dv in ("", ".", "0"):
        validate_nm_frame(mutated(1, "DV", dv))


def test_model_without_observations_of_its_compartment():
    rows = [r for r in valid_rows() if r[6] != 2 or r[4] == 1]  # only IgG observations left
    pm = PopulationModel(make_model("oral1cmt"), iiv=("CL",), errors={2: ErrorModel("additive")})
    with pytest.raises(UserError, match=r"no observation records .* in compartment\(s\) \[2\]"):
        fit(validate_nm_frame(frame(rows), "nm.csv"), pm)


# ----------------------------------------------------------------------------- covariance failure
def igg_no_drug_frame(n: int = 8, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """IgG of subjects who never received the drug: only the steroid moves IgG, so Emax and
    EC50 have no influence on the data (their OFV derivatives are exactly 0)."""
    from fcrnpipe.models import Steroid, make_design
    from fcrnpipe.nlme.simulate import predict_design

    rng = np.random.default_rng(seed)
    days = np.array([0.0, 7.0, 14.0, 21.0, 28.0, 42.0, 56.0, 84.0, 112.0])
    pk = pd.DataFrame({"ID": [str(i + 1) for i in range(n)], "ka": 0.3, "CL": 0.267, "V": 5.33, "Vmax": 62.0,
                       "Km": 1.0})
    model = make_model("igg_turnover", pk_individual=pk, steroid=Steroid(0.3, 0.03, 0.0))
    design = make_design(pk["ID"].tolist(), [days * 24] * n, [np.full(days.size, 3)] * n, [np.array([])] * n,
                         [np.array([])] * n)
    par = np.column_stack([11.0 * np.exp(0.2 * rng.standard_normal(n)), np.full(n, math.log(2) / 21),
                           np.full(n, 5.0), np.full(n, 6.0)])
    f = predict_design(model, design, par)
    y = f * (1 + 0.03 * rng.standard_normal(f.shape))
    rows = [[str(i + 1), d * 24, 0, y[i, j], 0, 0, 3, 0, ""] for i in range(n) for j, d in enumerate(days)]
    return frame(rows), pk


def test_covariance_failure_warns_and_gives_nan_standard_errors(tmp_path):
    from fcrnpipe.models import Steroid

    df, pk = igg_no_drug_frame()
    model = make_model("igg_turnover", pk_individual=pk, steroid=Steroid(0.3, 0.03, 0.0))
    pm = PopulationModel(model, iiv=("IgG0",), errors={3: ErrorModel("proportional")})
    with pytest.warns(FitWarning, match="covariance step failed"):
        res = fit(validate_nm_frame(df, "igg.csv"), pm, FitOptions(pooled_init=False))
    assert res.covariance is not None and not res.covariance.ok
    assert "not positive definite" in res.covariance.message
    assert np.all(np.isnan(res.covariance.cov_x))
    pop = population_table(res)
    assert pop["se"].isna().all() and pop["ci_low"].isna().all() and pop["rse_pct"].isna().all()
    assert np.isfinite(pop["estimate"]).all()
    # Emax and EC50 never moved from their initial values (no information at all)
    nat = res.theta_natural
    assert nat["Emax"] == pytest.approx(4.5, rel=1e-9) and nat["EC50"] == pytest.approx(10.0, rel=1e-9)
    write_outputs(res, tmp_path)  # the files are still written
    s = summary(res)
    assert s["covariance_step"]["status"] == "failed"
    assert any("covariance step failed" in w for w in res.warnings)


# ----------------------------------------------------------------------------- simulation -> estimation
def simulate_oral(n: int, seed: int, corr: float = 0.0, lloq: float = 0.05) -> pd.DataFrame:
    """oral1cmt study: ka 1 /h, CL 2 L/h, V 20 L, omega^2 0.09 (CV 30%) on each, corr(CL, V)
    ``corr``; 100 or 200 mg; proportional error 10%; concentrations below ``lloq`` are BLQ."""
    rng = np.random.default_rng(seed)
    om = np.diag([0.09, 0.09, 0.09])
    om[1, 2] = om[2, 1] = corr * 0.09
    eta = rng.standard_normal((n, 3)) @ np.linalg.cholesky(om).T
    ka, cl, v = 1.0 * np.exp(eta[:, 0]), 2.0 * np.exp(eta[:, 1]), 20.0 * np.exp(eta[:, 2])
    times = np.array([0.25, 0.5, 1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 24.0, 36.0])
    rows = []
    for i in range(n):
        dose = 100.0 if i % 2 == 0 else 200.0
        rows.append([i + 1, 0, dose, "", 1, 1, 1, 0, ""])
        f = bateman(dose, times, ka[i], cl[i] / v[i], v[i])
        y = f * (1 + 0.1 * rng.standard_normal(times.size))
        for t, yy in zip(times, y):
            blq = yy < lloq
            rows.append([i + 1, t, 0, "" if blq else yy, 0, 0, 2, int(blq), lloq])
    return frame(rows)


def oral_pm(omega: str = "diag", blq: str = "M3") -> PopulationModel:
    return PopulationModel(make_model("oral1cmt"), iiv=("ka", "CL", "V"), errors={2: ErrorModel("proportional")},
                           omega=omega, blq=blq)


def test_simulation_reestimation_oral1cmt():
    """40 subjects: fixed effects within 20% of the truth and inside their 95% CI; variances
    within a factor 2; the residual SD within 20%; some BLQ records handled by M3."""
    df = simulate_oral(40, seed=11, lloq=0.1)
    assert (df["BLQ"] == "1").sum() == 12
    res = quiet(fit, validate_nm_frame(df), oral_pm())
    assert res.optimizer["converged"] and res.covariance.ok
    assert res.problem.n_censored == 12
    pop = population_table(res).set_index("parameter")
    for name, truth in {"ka": 1.0, "CL": 2.0, "V": 20.0}.items():
        r = pop.loc[name]
        assert abs(r["estimate"] / truth - 1) < 0.2, name
        assert r["ci_low"] <= truth <= r["ci_high"], name
    for name in ("ka", "CL", "V"):
        assert 0.045 < pop.loc[f"omega2({name})", "estimate"] < 0.18, name
    assert abs(pop.loc["sigma_prop(conc)", "estimate"] / 0.1 - 1) < 0.2


def test_block_omega_estimates_a_correlation():
    """CL and V drawn with correlation 0.8: the block fit finds it (0.80), fits significantly
    better than the diagonal one (likelihood-ratio statistic 39.6 on 3 df; 5% critical value
    7.81), and reports omega(P,Q) / corr(P,Q) rows."""
    data = validate_nm_frame(simulate_oral(40, seed=5, corr=0.8))
    diag = quiet(fit, data, oral_pm("diag"))
    block = quiet(fit, data, oral_pm("block"))
    assert block.optimizer["converged"]
    om = block.omega
    corr = om[1, 2] / math.sqrt(om[1, 1] * om[2, 2])
    assert abs(corr - 0.8) < 0.15
    assert 2 * (block.loglik - diag.loglik) > 7.81
    assert block.n_parameters == diag.n_parameters + 3
    pop = population_table(block).set_index("parameter")
    assert pop.loc["corr(V,CL)", "estimate"] == pytest.approx(corr, rel=1e-6)
    assert pop.loc["omega(V,CL)", "estimate"] == pytest.approx(om[1, 2], rel=1e-6)
    assert pop.loc["corr(V,CL)", "kind"] == "iiv" and np.isfinite(pop.loc["corr(V,CL)", "se"])
    # the packing of a block Omega round-trips
    lay = block.layout
    np.testing.assert_allclose(lay.omega(lay.pack(block.theta, om, block.sigmas)), om, rtol=1e-12)


def test_ofv_gradient_matches_finite_differences():
    """The implicit-function OFV gradient (FOCE-I: proportional error; M3 records; block
    Omega) equals central differences of the OFV with re-optimised conditional modes."""
    data = validate_nm_frame(simulate_oral(12, seed=2, corr=0.5, lloq=0.3))
    problem = build_problem(data, oral_pm("block"))
    assert problem.n_censored > 0
    lay = problem.layout
    om = np.array([[0.1, 0.0, 0.0], [0.0, 0.08, 0.03], [0.0, 0.03, 0.12]])
    x = lay.pack(np.log([0.8, 2.2, 18.0]), om, [np.array([0.12])])
    obj = Objective(problem, inner_tol=1e-10)
    obj.value(x, cold=True)
    g = obj.gradient(x)
    g_fd = obj.fd_gradient(x, step=1e-5)
    # agreement is ~1e-8 relative (the finite differences' own error)
    np.testing.assert_allclose(g, g_fd, rtol=1e-5, atol=1e-6 * np.max(np.abs(g_fd)))
