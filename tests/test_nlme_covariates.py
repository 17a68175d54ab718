"""Covariate relations of the NLME estimator (issue 10, item 9): power models on
log-transformed parameters, ``P_i = P_typ (WT_i / WT_ref)^beta exp(eta_i)``.

Hand-checked values: with CL = 2 L/h at the reference 70 kg and exponent 0.75, a 35 kg subject
has ``CL = 2 * 0.5^0.75 = 1.189207`` L/h; with exponent 1 on V (20 L), ``V = 10`` L. The
oral1cmt prediction of that subject (ka 1/h, 100 mg) at 2 h is then
``100 ka / (V (ka - ke)) (e^{-ke t} - e^{-ka t})`` with ``ke = CL/V = 0.1189207``:
``100/(10*0.8810793) * (e^{-0.2378414} - e^{-2}) = 11.349716 * (0.7883277 - 0.1353353) = 7.411279``.
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
from fcrnpipe.nlme import CovariateRelation, ErrorModel, PopulationModel, fit, population_table, summary, validate_nm_frame
from fcrnpipe.nlme.estimate import FitWarning, Objective, build_problem
from fcrnpipe.nlme.foce import individual_params, predict

COLUMNS = ["ID", "TIME", "AMT", "DV", "EVID", "MDV", "CMT", "BLQ", "LLOQ", "WT"]
TIMES = np.array([0.25, 0.5, 1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 24.0, 36.0])


def quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return fn(*a, **kw)


def simulate_oral_wt(n: int, seed: int, beta_cl: float = 0.75, beta_v: float = 1.0, lloq: float = 0.05,
                     omega2: float = 0.09) -> pd.DataFrame:
    """oral1cmt study with a weight effect: ka 1/h, CL 2 L/h and V 20 L at 70 kg, scaled by
    ``(WT/70)^beta``; weights uniform 40-120 kg; IIV variance ``omega2`` on each parameter;
    100 or 200 mg; 10% proportional error; concentrations below ``lloq`` are BLQ."""
    rng = np.random.default_rng(seed)
    eta = rng.standard_normal((n, 3)) * math.sqrt(omega2)
    wt = np.round(rng.uniform(40.0, 120.0, n), 1)
    ka = 1.0 * np.exp(eta[:, 0])
    cl = 2.0 * (wt / 70.0) ** beta_cl * np.exp(eta[:, 1])
    v = 20.0 * (wt / 70.0) ** beta_v * np.exp(eta[:, 2])
    rows = []
    for i in range(n):
        dose = 100.0 if i % 2 == 0 else 200.0
        rows.append([i + 1, 0, dose, "", 1, 1, 1, 0, "", wt[i]])
        f = bateman(dose, TIMES, ka[i], cl[i] / v[i], v[i])
        y = f * (1 + 0.1 * rng.standard_normal(TIMES.size))
        for t, yy in zip(TIMES, y):
            blq = yy < lloq
            rows.append([i + 1, t, 0, "" if blq else yy, 0, 0, 2, int(blq), lloq, wt[i]])
    return pd.DataFrame([[str(v) for v in r] for r in rows], columns=COLUMNS)


def wt_pm(estimate_cl: bool = True, estimate_v: bool = True, omega: str = "diag", covariates: bool = True,
          **kw) -> PopulationModel:
    kw.setdefault("iiv", ("ka", "CL", "V"))
    rels = (
        CovariateRelation("CL", "WT", 70.0, 0.75, estimate_cl),
        CovariateRelation("V", "WT", 70.0, 1.0, estimate_v),
    ) if covariates else ()
    return PopulationModel(make_model("oral1cmt"), errors={2: ErrorModel("proportional")},
                           omega=omega, blq="M3", covariates=rels, **kw)


def two_subjects() -> pd.DataFrame:
    """Subject 1 at 70 kg, subject 2 at 35 kg: 100 mg each, DV at 2 and 6 h."""
    rows = []
    for sid, wt in ((1, 70.0), (2, 35.0)):
        rows += [[sid, 0, 100, "", 1, 1, 1, 0, "", wt], [sid, 2, 0, 5.0, 0, 0, 2, 0, "", wt],
                 [sid, 6, 0, 4.0, 0, 0, 2, 0, "", wt]]
    return pd.DataFrame([[str(v) for v in r] for r in rows], columns=COLUMNS)


# ----------------------------------------------------------------------------- typical values
def test_typical_values_follow_the_power_model_by_hand():
    """35 kg, reference 70 kg: CL x 0.5^0.75 = 1.189207 (from 2), V x 0.5 = 10 (from 20); the
    70 kg subject keeps the typical values; the prediction at 2 h is the hand value 7.411279."""
    pm = wt_pm(estimate_cl=False, estimate_v=False, fixed={"ka": 1.0, "CL": 2.0, "V": 20.0}, iiv=())
    problem = build_problem(validate_nm_frame(two_subjects()), pm)
    np.testing.assert_allclose(problem.zcov, [[0.0, 0.0], [math.log(0.5), math.log(0.5)]], atol=1e-15)
    lay = problem.layout
    x = lay.pack(lay.theta_fixed, np.zeros((0, 0)), [np.array([0.1])])
    nat = individual_params(lay, pm, problem.typical(x), np.zeros((2, 0)))
    names = pm.model.param_names
    np.testing.assert_allclose(nat[:, names.index("CL")], [2.0, 1.189207115002721], rtol=1e-12)
    np.testing.assert_allclose(nat[:, names.index("V")], [20.0, 10.0], rtol=1e-12)
    np.testing.assert_allclose(nat[:, names.index("ka")], [1.0, 1.0], rtol=1e-12)
    f = predict(problem, problem.typical(x), np.zeros((2, 0)), np.arange(2))
    assert f[1, 0] == pytest.approx(7.411279, rel=1e-6)
    # without the relations both subjects share the typical values
    plain = build_problem(validate_nm_frame(two_subjects()), wt_pm(covariates=False, fixed=pm.fixed, iiv=()))
    f0 = predict(plain, plain.typical(x), np.zeros((2, 0)), np.arange(2))
    assert f0[0, 0] == pytest.approx(f0[1, 0]) and f0[1, 0] != pytest.approx(7.411279, rel=1e-3)


def test_estimated_exponents_are_elements_of_x_fixed_ones_are_not():
    pm = wt_pm(estimate_cl=True, estimate_v=False)
    lay = build_problem(validate_nm_frame(two_subjects()), pm).layout
    plain = build_problem(validate_nm_frame(two_subjects()), wt_pm(covariates=False)).layout
    assert lay.n_x == plain.n_x + 1
    assert lay.x_names(pm)[-1] == "WT_on_CL"
    x = lay.pack(np.log([1.0, 2.0, 20.0]), np.eye(3) * 0.1, [np.array([0.1])], np.array([0.6, 1.0]))
    np.testing.assert_allclose(lay.beta(x), [0.6, 1.0])
    assert x[lay.beta_slice].tolist() == [0.6]


# ----------------------------------------------------------------------------- gradient
def test_ofv_gradient_with_estimated_exponents_matches_finite_differences():
    """The analytic OFV gradient, exponent components included (``dOFV/dbeta = z dOFV/dphi``
    through the implicit-function formula), equals central differences of the OFV with
    re-optimised modes; block Omega, M3 records, one estimated and one fixed exponent."""
    data = validate_nm_frame(simulate_oral_wt(12, seed=2, lloq=0.3))
    problem = build_problem(data, wt_pm(estimate_cl=True, estimate_v=False, omega="block"))
    assert problem.n_censored > 0
    lay = problem.layout
    om = np.array([[0.1, 0.0, 0.0], [0.0, 0.08, 0.03], [0.0, 0.03, 0.12]])
    x = lay.pack(np.log([0.8, 2.2, 18.0]), om, [np.array([0.12])], np.array([-0.5, 1.0]))
    obj = Objective(problem, inner_tol=1e-10)
    obj.value(x, cold=True)
    g = obj.gradient(x)
    g_fd = obj.fd_gradient(x, step=1e-5)
    assert abs(g[lay.beta_slice][0]) > 1.0  # the exponent is away from its optimum: a real check
    np.testing.assert_allclose(g, g_fd, rtol=1e-5, atol=1e-6 * np.max(np.abs(g_fd)))


def test_exponent_on_a_parameter_without_random_effect_is_differentiated():
    """An estimated exponent on a parameter with neither IIV nor a free theta (ka fixed, no
    eta) still gets its gradient (the parameter joins the differentiated ones)."""
    data = validate_nm_frame(simulate_oral_wt(8, seed=4))
    pm = PopulationModel(make_model("oral1cmt"), iiv=("CL", "V"), errors={2: ErrorModel("proportional")},
                         fixed={"ka": 1.0}, covariates=(CovariateRelation("ka", "WT", 70.0, 0.3, True),))
    problem = build_problem(data, pm)
    lay = problem.layout
    assert pm.model.param_names.index("ka") in lay.diff_index
    x = lay.pack(lay.theta_fixed, np.eye(2) * 0.1, [np.array([0.1])], np.array([0.3]))
    x[: lay.free.size] = np.log([2.0, 20.0])
    obj = Objective(problem, inner_tol=1e-10)
    obj.value(x, cold=True)
    np.testing.assert_allclose(obj.gradient(x), obj.fd_gradient(x, step=1e-5), rtol=1e-5, atol=1e-5)


def test_layout_index_arrays_are_computed_once_and_read_only():
    """The differentiated parameters and the positions in them (asked for at every model call)
    are computed once per layout, equal to their definitions, and cannot be changed in place."""
    pm = PopulationModel(make_model("oral1cmt"), iiv=("CL",), errors={2: ErrorModel("proportional")},
                         fixed={"ka": 1.0}, covariates=(CovariateRelation("ka", "WT", 70.0, 0.3, True),
                                                        CovariateRelation("V", "WT", 70.0, 1.0, False)))
    lay = build_problem(validate_nm_frame(simulate_oral_wt(4, seed=4)), pm).layout
    ka, cl, v = (pm.model.param_names.index(n) for n in ("ka", "CL", "V"))
    expected = {"diff_index": sorted({cl, v, ka}), "eta_cols": [sorted({cl, v, ka}).index(cl)],
                "theta_cols": [sorted({cl, v, ka}).index(k) for k in (cl, v)],
                "beta_cols": [sorted({cl, v, ka}).index(ka)]}
    for name, want in expected.items():
        got = getattr(lay, name)
        assert got.tolist() == want and got.dtype == int, name
        assert getattr(lay, name) is got  # cached
        with pytest.raises(ValueError):
            got[0] = 99
    assert lay.diff_index.tolist() == expected["diff_index"]


# ----------------------------------------------------------------------------- recovery
def test_weight_exponents_are_recovered_and_explain_variability():
    """60 subjects, 40-120 kg, CL ~ WT^0.75 and V ~ WT^1: the estimated exponents are within
    0.2 of the truth and inside their 95% CIs; the fit without covariates has an OFV at least
    30 points higher and a larger IIV variance of CL and V (the weight effect is variability
    it cannot explain)."""
    data = validate_nm_frame(simulate_oral_wt(60, seed=7))
    res = quiet(fit, data, wt_pm())
    plain = quiet(fit, data, wt_pm(covariates=False))
    assert res.optimizer["converged"] and res.covariance.ok
    pop = population_table(res).set_index("parameter")
    for name, truth in {"WT_on_CL": 0.75, "WT_on_V": 1.0}.items():
        r = pop.loc[name]
        assert abs(r["estimate"] - truth) < 0.2, (name, r["estimate"])
        assert r["ci_low"] <= truth <= r["ci_high"], name
        assert r["kind"] == "fixed" and r["unit"] == "-" and np.isfinite(r["se"])
    for name, truth in {"CL": 2.0, "V": 20.0}.items():
        assert abs(pop.loc[name, "estimate"] / truth - 1) < 0.2, name
    assert plain.ofv - res.ofv > 30.0
    pop0 = population_table(plain).set_index("parameter")
    for name in ("CL", "V"):
        assert pop0.loc[f"omega2({name})", "estimate"] > 1.5 * pop.loc[f"omega2({name})", "estimate"], name
    s = summary(res)
    assert [c["name"] for c in s["covariates"]] == ["WT_on_CL", "WT_on_V"]
    assert "covariates" not in summary(plain)
    # individual parameters carry the weight effect: log CL_i - eta_i is linear in log(WT/70)
    nat = res.individual_natural()
    k = res.pm.model.param_names.index("CL")
    z = res.problem.zcov[:, 0]
    resid = np.log(nat[:, k]) - res.eta[:, 1] - res.theta[k]
    np.testing.assert_allclose(resid, res.beta[0] * z, atol=1e-10)


def test_fixed_exponent_row_has_no_standard_error():
    data = validate_nm_frame(simulate_oral_wt(20, seed=3))
    res = quiet(fit, data, wt_pm(estimate_cl=False, estimate_v=False))
    pop = population_table(res).set_index("parameter")
    assert pop.loc["WT_on_CL", "estimate"] == 0.75 and np.isnan(pop.loc["WT_on_CL", "se"])
    assert pop.loc["WT_on_V", "estimate"] == 1.0 and np.isnan(pop.loc["WT_on_V", "se"])
    assert res.layout.n_beta == 0


# ----------------------------------------------------------------------------- errors
def test_missing_covariate_column_is_a_user_error():
    df = two_subjects().drop(columns="WT")
    with pytest.raises(UserError, match="covariate column WT is not in the dataset"):
        build_problem(validate_nm_frame(df, "nm.csv"), wt_pm())


def test_subject_without_covariate_value_is_a_user_error():
    df = two_subjects()
    df.loc[df["ID"] == "2", "WT"] = ""
    with pytest.raises(UserError, match=r"nm.csv: column WT: subject 2 has no value"):
        build_problem(validate_nm_frame(df, "nm.csv"), wt_pm())


def test_non_positive_covariate_is_a_user_error():
    df = two_subjects()
    df.loc[df["ID"] == "1", "WT"] = "0"
    with pytest.raises(UserError, match="subject 1 has WT = 0"):
        build_problem(validate_nm_frame(df, "nm.csv"), wt_pm())


def test_relation_on_unknown_parameter_or_bad_reference_is_rejected():
    with pytest.raises(ValueError, match="'Vc' is not a parameter of oral1cmt"):
        PopulationModel(make_model("oral1cmt"), iiv=(), errors={2: ErrorModel("proportional")},
                        covariates=(CovariateRelation("Vc", "WT", 70.0, 1.0),))
    with pytest.raises(ValueError, match="reference must be a positive number"):
        CovariateRelation("CL", "WT", 0.0, 0.75)
    with pytest.raises(ValueError, match="listed twice"):
        PopulationModel(make_model("oral1cmt"), iiv=(), errors={2: ErrorModel("proportional")},
                        covariates=(CovariateRelation("CL", "WT", 70.0, 1.0), CovariateRelation("CL", "WT", 60.0, 1.0)))


def test_cli_fits_covariate_relations(tmp_path):
    """``scripts/fit_nlme.py --covariate``: the relation is fitted and reported; a malformed
    relation is a user error."""
    from fcrnpipe.nlme.cli import parse_covariate, run

    nm = tmp_path / "nm.csv"
    simulate_oral_wt(30, seed=7).to_csv(nm, index=False)
    run(["--data", str(nm), "--model", "oral1cmt", "--error", "proportional", "--blq", "M3", "--out",
         str(tmp_path / "out"), "--covariate", "CL:wt:70:0.75", "--covariate", "V:WT:70:0.5:estimate"])
    pop = pd.read_csv(tmp_path / "out" / "population_parameters.csv").set_index("parameter")
    assert pop.loc["WT_on_CL", "estimate"] == 0.75 and np.isnan(pop.loc["WT_on_CL", "se"])
    assert abs(pop.loc["WT_on_V", "estimate"] - 1.0) < 0.25
    with pytest.raises(UserError, match="expected PARAM:COVARIATE:REFERENCE:EXPONENT"):
        parse_covariate("CL:WT:70")
    with pytest.raises(UserError, match="reference must be a positive number"):
        parse_covariate("CL:WT:-1:1")
