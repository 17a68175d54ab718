"""Cheaper fits, same results (issue 11: the estimator's work per OFV evaluation).

* Model derivatives in a subset of the parameters are the same bits as the matching columns
  of the full set: the compiled ODE jets (``sc1cmt_mm``) and the finite-difference stencil
  (``oral1cmt``).
* The conditional modes: Newton steps on derivatives in the random effects only (the full
  set evaluated near the mode, or again at a mode found without it) give bit for bit the modes
  and stored quantities of full derivatives at every point, with fewer derivative columns
  computed (counted); a whole 9-subject fit (estimates, OFV, modes, covariance) likewise.
* The covariance step's Hessian along the modes' first-order path (one model call per
  point, modes not re-solved) equals the Hessian with modes re-solved to 1e-12 at every
  point, to 1e-5 of its largest entry (both are O(h^2) approximations; measured 2.5e-6).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from fcrnpipe.models import make_model
from fcrnpipe.nlme import ErrorModel, PopulationModel, read_nm_dataset, validate_nm_frame
from fcrnpipe.nlme import estimate as E
from fcrnpipe.nlme import foce as Fo
from fcrnpipe.nlme.covariance import ofv_hessian
from fcrnpipe.nlme.estimate import FitWarning, Objective, build_problem
from fcrnpipe.nlme.synthetic import simulate_nm_dataset
from fcrnpipe.pkpd import fitting as F
from fcrnpipe.pkpd.state import build_population_model

from test_nlme_estimator import simulate_oral

TYPICAL = {"ka": 0.29, "CL": 0.34, "V": 4.97, "Vmax": 53.5}
OMEGA = np.diag([0.21, 0.054, 0.051])
SIGMA = [np.array([0.144])]


@pytest.fixture(scope="module")
def pk(tmp_path_factory):
    """9 synthetic subjects, ``sc1cmt_mm`` as the pipeline fits it: ka estimated without a
    random effect, so the model is differentiated in 4 parameters, the modes need 3."""
    nm = tmp_path_factory.mktemp("speed") / "nm.csv"
    study = simulate_nm_dataset(n_subjects=9, seed=3)
    study.records[study.records["CMT"] != 3].to_csv(nm, index=False)
    data = read_nm_dataset(nm)
    pm = build_population_model(F.pk_spec("sc1cmt_mm", "proportional", "M3"))
    problem = build_problem(data, pm)
    theta = problem.layout.theta_fixed.copy()
    for name, value in TYPICAL.items():
        theta[pm.model.param_names.index(name)] = np.log(value)
    assert problem.layout.diff_index.size == 4 and problem.layout.q == 3
    return {"data": data, "pm": pm, "problem": problem, "theta": theta, "x": problem.layout.pack(theta, OMEGA, SIGMA)}


def oral_problem():
    """oral1cmt (finite-difference derivatives) with random effects on CL and V only."""
    pm = PopulationModel(make_model("oral1cmt"), iiv=("CL", "V"), errors={2: ErrorModel("proportional")}, blq="M3")
    problem = build_problem(validate_nm_frame(simulate_oral(6, seed=2, lloq=0.3)), pm)
    theta = np.log([0.8, 2.2, 18.0])
    return problem, theta


def test_derivatives_in_a_subset_are_the_same_bits(pk):
    rng = np.random.default_rng(7)
    for problem, theta in ((pk["problem"], pk["theta"]), oral_problem()):
        lay = problem.layout
        n = problem.n_subjects
        eta = rng.normal(0.0, 0.3, (n, lay.q))
        sid = np.arange(n)
        f, jac, jac2 = Fo.model_derivs(problem, theta, eta, sid)
        fs, js, hs = Fo.model_derivs(problem, theta, eta, sid, idx=lay.iiv_index)
        ec = lay.eta_cols
        assert js.shape[2] == lay.q < jac.shape[2]
        np.testing.assert_array_equal(fs, f)
        np.testing.assert_array_equal(js, jac[:, :, ec])
        np.testing.assert_array_equal(hs, jac2[:, :, ec][:, :, :, ec])
        f1, g1 = Fo.predict_jac(problem, theta, eta, sid)
        np.testing.assert_array_equal(g1, jac[:, :, ec])


def test_newton_on_random_effect_derivatives_gives_the_same_modes(pk, monkeypatch):
    problem, theta = pk["problem"], pk["theta"]
    n = problem.n_subjects
    d = problem.layout.diff_index.size
    start = np.random.default_rng(1).normal(0.0, 0.4, (n, 3))
    rows = {"full": 0, "reduced": 0}
    orig = problem.pm.model.derivatives

    def derivatives(prep, params, sid, diff, log_scale, second=True):
        rows["full" if len(diff) == d else "reduced"] += len(sid)
        return orig(prep, params, sid, diff, log_scale, second)

    monkeypatch.setattr(problem.pm.model, "derivatives", derivatives)
    cheap = Fo.inner(problem, theta, OMEGA, SIGMA, start)
    counted = dict(rows)
    monkeypatch.setattr(Fo, "FULL_DERIVATIVES_STEP", np.inf)
    rows.update(full=0, reduced=0)
    ref = Fo.inner(problem, theta, OMEGA, SIGMA, start, full_first=True)
    assert rows["reduced"] == 0
    assert ref.converged.all() and ref.iterations >= 4
    for key in ("eta", "l", "hess", "exact", "f", "g", "jac", "jac2", "converged"):
        np.testing.assert_array_equal(getattr(cheap, key), getattr(ref, key), err_msg=key)
    assert np.all(np.isfinite(cheap.jac2))
    # every subject's last point in full, the Newton steps before it on 3 of 4 derivatives
    assert counted["reduced"] >= 2 * n
    assert counted["full"] + counted["reduced"] <= rows["full"] + n


def test_a_whole_fit_is_the_same_bits(pk, monkeypatch):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            return E.fit(pk["data"], pk["pm"], F.fit_options({}, F.FINAL_FIT_OPTIONS))

    cheap = run()
    monkeypatch.setattr(Fo, "FULL_DERIVATIVES_STEP", np.inf)
    monkeypatch.setattr(E, "NEAR_PREDICTION", np.inf)
    ref = run()
    assert ref.optimizer["converged"] and ref.covariance.ok
    for key in ("x", "ofv", "ofv_subject", "eta"):
        np.testing.assert_array_equal(getattr(cheap, key), getattr(ref, key), err_msg=key)
    np.testing.assert_array_equal(cheap.covariance.cov_x, ref.covariance.cov_x)
    assert cheap.optimizer["function_evaluations"] == ref.optimizer["function_evaluations"]


def central_hessian(obj: Objective, x: np.ndarray, warm, solve: bool, step: float = 1e-4) -> np.ndarray:
    """Central differences of the OFV gradient from the points ``x +- step e_k`` evaluated from
    ``warm`` (modes solved for, or taken as they are), symmetrised."""
    out = np.zeros((x.size, x.size))
    for k in range(x.size):
        g = []
        for sgn in (1.0, -1.0):
            xx = x.copy()
            xx[k] += sgn * step
            g.append(obj.gradient_of(obj.evaluate(xx, warm, solve=solve)).total)
        out[:, k] = (g[0] - g[1]) / (2.0 * step)
    return 0.5 * (out + out.T)


def test_covariance_hessian_along_predicted_modes_equals_resolved_modes(pk):
    problem, x = pk["problem"], pk["x"]
    obj = Objective(problem, inner_tol=1e-12)
    obj.value(x, cold=True)
    calls = obj.n_eval
    hess, grads = ofv_hessian(obj, x, step=1e-4)
    assert obj.n_eval - calls == 2 * x.size
    warm = obj.warm_start_at(x)
    # the reference: modes re-solved at every point
    ref = central_hessian(obj, x, warm, solve=True)
    assert np.max(np.abs(hess - ref)) < 1e-5 * np.max(np.abs(ref))  # measured 2.5e-6
    # not the partial Hessian at fixed modes: the modes' path matters
    fixed = central_hessian(obj, x, warm.eta, solve=False)
    assert np.max(np.abs(fixed - ref)) > 1e-3 * np.max(np.abs(ref))
    np.testing.assert_allclose(grads.sum(axis=0), obj.gradient(x), rtol=1e-12, atol=1e-9)
