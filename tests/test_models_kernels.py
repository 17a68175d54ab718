"""The compiled RODAS4 kernels with exact derivatives (fcrnpipe.models.kernels, issue #11).

* Values: each model's compiled predictions equal the numpy reference integrator
  (:func:`fcrnpipe.models.mab.integrate_mab`, same scheme and grid) to rounding, and so do the
  local error estimates that drive the grid refinement.
* First and second derivatives are those of the numerical solution: central differences of the
  compiled predictions agree with them to the differences' own truncation/rounding error.
* A hand-checked value: in the linear limit (Vmax = 0) the derivative of the concentration in
  log V, log CL and log ka equals the analytic derivative of the Bateman function (the ODE is
  integrated to 1e-4 relative, so they agree to that).
* Determinism: a row's result does not depend on the other rows of the call, and repeated
  calls are bit-identical.
* The estimator's objective is a value: ``Objective.evaluate`` returns a frozen
  ``Evaluation`` and leaves the objective's cache and incumbent alone.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from fcrnpipe.models import CMT_CENTRAL, CMT_PD, Steroid, make_design, make_model
from fcrnpipe.models.mab import ODE_TOLERANCE, _gather, _local_errors, integrate_mab

DOSE_DAYS = np.array([0.0, 7.0, 14.0, 21.0])
AMTS = np.array([340.0, 340.0, 680.0, 680.0])
PK_DAYS = np.array([0.0, 0.25, 1.0, 3.0, 7.0, 7.5, 10.0, 14.0, 21.0, 22.0, 28.0, 42.0, 56.0, 84.0])
PD_DAYS = np.array([0.0, 1.0, 7.0, 14.0, 21.0, 28.0, 42.0, 84.0, 140.0])
#: two subjects' PK rows (ka, CL, V, Vmax, Km) and PD rows (IgG0, kout, Emax, EC50)
PK = np.array([[0.3, 0.267, 5.33, 62.0, 1.0], [0.45, 0.4, 4.2, 45.0, 1.0]])
PDP = np.array([[11.0, math.log(2.0) / 21.0, 5.0, 6.0], [9.0, 0.04, 4.0, 3.0]])
STEROID = Steroid(0.30, 0.03, 0.0)


def two_subjects(obs_days: np.ndarray, cmt: int):
    obs = [obs_days * 24.0, obs_days[::2] * 24.0]
    return make_design(["a", "b"], obs, [np.full(o.size, cmt) for o in obs], [DOSE_DAYS * 24.0] * 2,
                       [AMTS, AMTS * 0.5])


def joint_design():
    obs = np.concatenate([PK_DAYS, PD_DAYS]) * 24.0
    cmt = np.concatenate([np.full(PK_DAYS.size, CMT_CENTRAL), np.full(PD_DAYS.size, CMT_PD)])
    return make_design(["a", "b"], [obs, obs], [cmt, cmt], [DOSE_DAYS * 24.0] * 2, [AMTS, AMTS * 0.5])


def igg_model():
    pk_ind = pd.DataFrame({"ID": ["a", "b"], **{k: PK[:, j] for j, k in enumerate(["ka", "CL", "V", "Vmax", "Km"])}})
    return make_model("igg_turnover", pk_individual=pk_ind, steroid=STEROID)


CASES = {
    "sc1cmt_mm": (lambda: make_model("sc1cmt_mm"), lambda: two_subjects(PK_DAYS, CMT_CENTRAL), PK),
    "igg_turnover": (igg_model, lambda: two_subjects(PD_DAYS, CMT_PD), PDP),
    "joint": (lambda: make_model("sc1cmt_mm+igg_turnover", steroid=STEROID), joint_design, np.hstack([PK, PDP])),
}


def setup(case: str):
    make, design, params = CASES[case]
    model = make()
    prep = model.prepare(design())
    sid = np.arange(2)
    prep = model.refine(prep, params, sid)
    return model, prep, params, sid


def diff_spec(model, case: str) -> tuple[np.ndarray, np.ndarray]:
    """Differentiate in every parameter except Km (fixed in the pipeline's fits)."""
    names = model.param_names
    diff = np.array([k for k, n in enumerate(names) if n != "Km"])
    return diff, np.ones(diff.size, dtype=bool)


# ----------------------------------------------------------------------------- values
@pytest.mark.parametrize("case", list(CASES))
def test_compiled_values_equal_the_numpy_reference(case):
    model, prep, params, sid = setup(case)
    f = model.predict(prep, params, sid)
    if case == "sc1cmt_mm":
        conc, _, err = integrate_mab(prep.grid, sid, params, error=ODE_TOLERANCE)
        ref = np.where(prep.obs_conc, _gather(conc, prep.grid, sid), 0.0)
        mine = _local_errors(prep, sid, params, None, None, False)
        grid, used = prep.grid, prep.obs_conc
    elif case == "igg_turnover":
        mp, pk = prep
        _, igg, err = integrate_mab(mp.grid, sid, pk, params, STEROID, error=ODE_TOLERANCE)
        ref = np.where(mp.obs_igg, _gather(igg, mp.grid, sid), 0.0)
        mine = _local_errors(mp, sid, pk, params, STEROID, True)
        grid, used = mp.grid, mp.obs_igg
    else:
        conc, igg, err = integrate_mab(prep.grid, sid, params[:, :5], params[:, 5:], STEROID, error=ODE_TOLERANCE)
        ref = np.where(prep.obs_conc, _gather(conc, prep.grid, sid), np.where(prep.obs_igg, _gather(igg, prep.grid, sid), 0.0))
        mine = _local_errors(prep, sid, params[:, :5], params[:, 5:], STEROID, False)
        grid, used = prep.grid, prep.obs_conc | prep.obs_igg
    np.testing.assert_allclose(f[used], ref[used], rtol=1e-12, atol=1e-12)
    real = np.arange(err.shape[1])[None, :] < (grid.n_points - 1)[:, None]
    np.testing.assert_allclose(mine[real], err[real], rtol=1e-9, atol=1e-12)
    assert np.max(mine[real]) <= 1.0  # the refined grid meets the tolerance


# ----------------------------------------------------------------------------- derivatives
@pytest.mark.parametrize("case", list(CASES))
def test_derivatives_are_those_of_the_numerical_solution(case):
    model, prep, params, sid = setup(case)
    diff, logs = diff_spec(model, case)
    f, jac, hess = model.derivatives(prep, params, sid, diff, logs, True)
    np.testing.assert_array_equal(f, model.predict(prep, params, sid))
    used = ~np.isnan(f) & (f != 0.0)
    phi = np.log(params)
    h = 1e-5
    for k, col in enumerate(diff):
        plus, minus = phi.copy(), phi.copy()
        plus[:, col] += h
        minus[:, col] -= h
        fp = model.predict(prep, np.exp(plus), sid)
        fm = model.predict(prep, np.exp(minus), sid)
        fd1 = (fp - fm) / (2 * h)
        # central differences: O(h^2) truncation (relative ~1e-9 here) + rounding 1e-16/h
        np.testing.assert_allclose(jac[used][:, k], fd1[used], rtol=2e-6, atol=1e-8 * np.max(np.abs(f[used])))
        # second derivatives: first derivatives' central differences (mixed) and the 3-point diagonal
        _, jp, _ = model.derivatives(prep, np.exp(plus), sid, diff, logs, False)
        _, jm, _ = model.derivatives(prep, np.exp(minus), sid, diff, logs, False)
        fd2 = (jp - jm) / (2 * h)
        scale = np.max(np.abs(hess[used]))
        np.testing.assert_allclose(hess[used][:, :, k], fd2[used], rtol=1e-5, atol=1e-7 * scale)
    # symmetric
    np.testing.assert_array_equal(hess, np.swapaxes(hess, 2, 3))


def test_linear_limit_derivatives_by_hand():
    """Vmax = 0, one dose D = 340 mg: C(t) = A (e^-ke t - e^-ka t), A = D ka/(V (ka - ke)),
    ke = CL/V. In log CL: dC/dlogCL = ke dC/dke = ke A [(e^-ke t - e^-ka t)/(ka - ke) - t e^-ke t]
    (dke/dlogCL = ke); in log V (C scales
    with 1/V at fixed ke, and ke = CL/V falls with V): dC/dlogV = -C - dC/dlogCL.
    At t = 2 days, ka 0.3, CL 0.267, V 5.33: ke = 0.05009381, ka - ke = 0.2499062,
    e^-ke t = 0.9046677, e^-ka t = 0.5488116, A = 76.57658, C = 76.57658 * 0.3558560 = 27.25024 mg/L,
    dC/dlogCL = 0.05009381 * 76.57658 * (0.3558560/0.2499062 - 2 * 0.9046677) = -1.478310,
    dC/dlogV = -27.25024 + 1.478310 = -25.77193. The ODE is solved to 1e-4 (local, relative).
    """
    model = make_model("sc1cmt_mm")
    design = make_design(["a"], [np.array([48.0])], [np.array([CMT_CENTRAL])], [np.array([0.0])], [np.array([340.0])])
    params = np.array([[0.3, 0.267, 5.33, 0.0, 1.0]])
    prep = model.refine(model.prepare(design), params, np.array([0]))
    f, jac, hess = model.derivatives(prep, params, np.array([0]), np.array([0, 1, 2]), np.ones(3, dtype=bool), True)
    assert f[0, 0] == pytest.approx(27.25024, rel=2e-4)
    assert jac[0, 0, 1] == pytest.approx(-1.478310, rel=2e-4)
    assert jac[0, 0, 2] == pytest.approx(-25.77193, rel=2e-4)
    # the identity dC/dlogV = -C - dC/dlogCL holds for the numerical solution too (it is the
    # scaling of the ODE): to rounding, not only to the ODE tolerance
    assert jac[0, 0, 2] == pytest.approx(-f[0, 0] - jac[0, 0, 1], rel=1e-12)
    assert hess[0, 0, 1, 2] == hess[0, 0, 2, 1]


# ----------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("case", list(CASES))
def test_a_row_does_not_depend_on_the_other_rows(case):
    model, prep, params, sid = setup(case)
    diff, logs = diff_spec(model, case)
    together = model.derivatives(prep, params, sid, diff, logs, True)
    again = model.derivatives(prep, params, sid, diff, logs, True)
    alone = model.derivatives(prep, params[1:], sid[1:], diff, logs, True)
    rows = model.derivatives(prep, params[[1, 0, 1]], sid[[1, 0, 1]], diff, logs, True)
    for a, b, c, r in zip(together, again, alone, rows):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a[1], c[0])
        np.testing.assert_array_equal(a[1], r[0])
        np.testing.assert_array_equal(a[1], r[2])
        np.testing.assert_array_equal(a[0], r[1])


# ----------------------------------------------------------------------------- Objective.evaluate
def test_objective_evaluate_is_a_value():
    from fcrnpipe.nlme import ErrorModel, PopulationModel
    from fcrnpipe.nlme.estimate import Evaluation, Objective, WarmStart, build_problem
    from fcrnpipe.nlme.synthetic import simulate_nm_dataset

    study = simulate_nm_dataset(n_subjects=4, doses_mg=(340.0, 680.0), seed=2)
    from fcrnpipe.nlme import validate_nm_frame

    data = validate_nm_frame(study.records.astype(str), "synthetic")
    pm = PopulationModel(make_model("sc1cmt_mm"), iiv=("CL", "V"), errors={2: ErrorModel("proportional")},
                         fixed={"Km": 1.0}, blq="M3")
    problem = build_problem(data, pm)
    lay = problem.layout
    x = lay.pack(lay.theta_fixed, np.diag([0.1, 0.05]), [np.array([0.15])])
    obj = Objective(problem)
    ev = obj.evaluate(x)
    assert isinstance(ev, Evaluation) and ev.finite
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.ofv = 0.0  # type: ignore[misc]
    assert obj.best is None and obj.best_x is None  # evaluate() leaves the incumbent alone
    again = obj.evaluate(x, WarmStart(x, ev.inner.eta))
    assert again.ofv == pytest.approx(ev.ofv, abs=1e-7)
    assert np.allclose(again.inner.eta, ev.inner.eta, atol=1e-6)
    assert ev.ofv == pytest.approx(float(ev.ofv_subject.sum()))
    # the optimiser's interface: the incumbent is the lowest evaluation; a probe does not move it
    v = obj.value(x)
    assert v == pytest.approx(ev.ofv, abs=1e-7) and obj.best is not None
    warm = obj.warm_start_at(x)
    assert warm.sens is not None and warm.sens.shape == (problem.n_subjects, lay.q, lay.n_x)
    far = x.copy()
    far[0] -= 0.5
    probe = obj.probe(far, warm)
    assert probe.finite and probe.ofv != v
    assert np.array_equal(obj.best_x, x)


# ----------------------------------------------------------------------------- stored bits
#: sha256 of every kernel output on the fixed inputs of ``CASES`` (predictions, first and second
#: derivatives in all parameters but Km and in all but the first, first derivatives only, the
#: local errors of the grid refinement), as produced by commit 379d681 (x86-64, numba 0.68.1):
#: rewrites of the kernels for speed must keep every bit (issue 11).
STORED_BITS = {
    "sc1cmt_mm": "c71a8479eb6b234b1816d56c1bc51736f0feed2f9bf685ea48d9810d9de8bdcd",
    "igg_turnover": "fdc4b62013ff6f79703008f49aa580cad0ac3855da37f824f195ae525b789d3b",
    "joint": "0ecf7ccb1d37c7cea549c71a4886392bae1acef62e696b9039ff15c8eb35482a",
}


def kernel_output_bits(case: str) -> str:
    import hashlib

    model, prep, params, sid = setup(case)
    diff, logs = diff_spec(model, case)
    h = hashlib.sha256()
    outs = [model.predict(prep, params, sid)]
    outs += [a for a in model.derivatives(prep, params, sid, diff, logs, True)]
    outs += [a for a in model.derivatives(prep, params, sid, diff[1:], logs[1:], True)]
    outs += [a for a in model.derivatives(prep, params, sid, diff, logs, False) if a is not None]
    if case == "sc1cmt_mm":
        outs.append(_local_errors(prep, sid, params, None, None, False))
    elif case == "igg_turnover":
        mp, pk = prep
        outs.append(_local_errors(mp, sid, pk, params, STEROID, True))
    else:
        outs.append(_local_errors(prep, sid, params[:, :5], params[:, 5:], STEROID, False))
    for a in outs:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("case", list(CASES))
def test_kernel_outputs_are_the_stored_bits(case):
    assert kernel_output_bits(case) == STORED_BITS[case]


# ----------------------------------------------------------------------------- per-layout kernels
def test_layout_kernel_policy():
    """Generic below FIXED_MIN_SUBJECTS subjects unless the layout is already compiled; generic
    for jets longer than FIXED_MAX_JL whatever the size (no compilation behind it)."""
    from fcrnpipe.models import kernels

    class Layout:
        def __init__(self, signatures):
            self.signatures = signatures

    fresh, compiled = Layout([]), Layout([("a signature",)])
    n = kernels.FIXED_MIN_SUBJECTS
    assert kernels.layout_kernel(max, lambda *layout: fresh, (15, 4), n - 1) is max
    assert kernels.layout_kernel(max, lambda *layout: fresh, (15, 4), n) is fresh
    assert kernels.layout_kernel(max, lambda *layout: compiled, (1, 0), 2) is compiled
    assert kernels.layout_kernel(max, lambda *layout: compiled, (kernels.FIXED_MAX_JL + 1, 4), 10 * n) is max


def layout_outputs(case: str, second: bool) -> list[np.ndarray]:
    """Value-only calls (predictions and local errors: jet layout (1, 0)) or second derivatives in
    one parameter (layout (3, 1)) of ``case``."""
    model, prep, params, sid = setup(case)
    if second:
        diff, logs = diff_spec(model, case)
        return [a for a in model.derivatives(prep, params, sid, diff[:1], logs[:1], True)]
    if case == "sc1cmt_mm":
        return [model.predict(prep, params, sid), _local_errors(prep, sid, params, None, None, False)]
    mp, pk = prep
    return [model.predict(prep, params, sid), _local_errors(mp, sid, pk, params, STEROID, True)]


@pytest.mark.parametrize("case", ["sc1cmt_mm", "igg_turnover"])
@pytest.mark.parametrize("second", [False, True], ids=["values", "second"])
def test_layout_kernels_give_the_generic_bits(case, second, monkeypatch):
    """The kernels compiled per jet layout (here forced on two subjects) give every bit of the
    generic ones (forced by a zero FIXED_MAX_JL), so the policy of layout_kernel only moves
    time. Small layouts on purpose: each is a compilation of ~10 s of CPU with an empty cache."""
    from fcrnpipe.models import kernels

    with monkeypatch.context() as m:
        m.setattr(kernels, "FIXED_MAX_JL", 0)
        generic = layout_outputs(case, second)
    monkeypatch.setattr(kernels, "FIXED_MIN_SUBJECTS", 1)
    fixed = layout_outputs(case, second)
    jl_d = (3, 1) if second else (1, 0)
    layout = kernels.mab_jets_fixed(*jl_d, False) if case == "sc1cmt_mm" else kernels.igg_jets_fixed(*jl_d)
    assert layout.signatures  # the per-layout kernel ran
    assert len(fixed) == len(generic) and all(np.any(a != 0) for a in generic)
    for a, b in zip(generic, fixed):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


CLOSURE_MODULE = '''
from numba import njit


def make(c):
    @njit(cache=True)
    def f(x):
        return x + c

    return f


fs = [make(1), make(2)]
print([f(10) for f in fs], [sum(f.stats.cache_hits.values()) for f in fs])
'''


def test_numba_caches_closures_by_their_captured_values(tmp_path):
    """The per-layout kernels are closures of one function with the layout as captured values:
    they rely on numba keying the on-disk cache of a closure by those values (else a process
    could load one layout's code for another: same signature, other constants)."""
    import os
    import subprocess
    import sys

    (tmp_path / "closures.py").write_text(CLOSURE_MODULE)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, "closures.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                           check=True).stdout.strip() for _ in range(2)]
    # compiled, then loaded from the cache: each closure with its own constant
    assert runs == ["[11, 12] [0, 0]", "[11, 12] [1, 1]"]
