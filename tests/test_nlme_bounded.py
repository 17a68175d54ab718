"""Bounded, history-independent estimation (issue: `make run` failed on a fresh machine when one
bootstrap refit ran into a far-off basin of the conditional objective and refined its ODE grid
until the machine ran out of memory).

* Conditional modes: the FOCE-I conditional objective of the saturable-elimination model has
  far-off local minima (e.g. at a 10-fold smaller volume); a mode warm-started there stays
  there. :func:`checked_modes` re-solves suspect modes from eta = 0 and from a cold start,
  so the OFV at ``x`` does not depend on where the optimiser has been.
* The objective is a function of ``x``: evaluating a far-off trial point first does not
  change the OFV at the start point.
* Budget: ``max_evaluations`` ends a fit, not converged, with the budget in its message.
* Search box: ``search_range`` confines a warm-started refit; estimates on the box are
  reported.
* Grid limit: :func:`refine_grid` and the model's refinement raise
  :class:`GridLimitError` (naming subject and parameters) instead of allocating; a refit from
  absurd starting values fails cleanly, inside the memory its rule declares.
"""

from __future__ import annotations

import dataclasses
import math
import json
import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from fcrnpipe.models.ode import GridLimitError, build_grid, refine_grid
from fcrnpipe.nlme import read_nm_dataset
from fcrnpipe.nlme.estimate import (
    AT_BOUND_FRACTION,
    FitError,
    Objective,
    SearchBox,
    build_problem,
    search_bounds,
)
from fcrnpipe.nlme.foce import checked_modes, inner, suspect_modes
from fcrnpipe.nlme.synthetic import simulate_nm_dataset
from fcrnpipe.pkpd import fitting as F
from fcrnpipe.pkpd.state import build_population_model

ROOT = Path(__file__).resolve().parents[1]
#: typical values close to the reference study's PK estimates, and its Omega and sigma
TYPICAL = {"ka": 0.29, "CL": 0.34, "V": 4.97, "Vmax": 53.5}
OMEGA = np.diag([0.21, 0.054, 0.051])
SIGMA = [np.array([0.144])]


@pytest.fixture(scope="module")
def pk_study(tmp_path_factory):
    """9 synthetic subjects (340/680 mg SC weekly x 4), concentrations only, sc1cmt_mm."""
    base = tmp_path_factory.mktemp("bounded")
    study = simulate_nm_dataset(n_subjects=9, seed=3)
    nm = base / "nm.csv"
    study.records[study.records["CMT"] != 3].to_csv(nm, index=False)
    data = read_nm_dataset(nm)
    spec = F.pk_spec("sc1cmt_mm", "proportional", "M3")
    pm = build_population_model(spec)
    problem = build_problem(data, pm)
    theta = problem.layout.theta_fixed.copy()
    for name, value in TYPICAL.items():
        theta[pm.model.param_names.index(name)] = np.log(value)
    return {"base": base, "nm": nm, "data": data, "spec": spec, "pm": pm, "problem": problem, "theta": theta,
            "x": problem.layout.pack(theta, OMEGA, SIGMA)}


# ------------------------------------------------------------------------ conditional modes
def test_warm_start_in_a_far_basin_stays_there_and_checked_modes_get_out(pk_study):
    problem, theta = pk_study["problem"], pk_study["theta"]
    n = problem.n_subjects
    ref = inner(problem, theta, OMEGA, SIGMA, np.zeros((n, 3)))
    assert ref.converged.all()
    far = np.zeros((n, 3))
    far[:, 1] = -2.0  # V 7.4 times smaller than typical: 8.6 prior SDs away
    stuck = inner(problem, theta, OMEGA, SIGMA, far)
    # the plain Newton iterations end in other, much worse minima for most subjects
    worse = stuck.l - ref.l > 1.0
    assert worse.sum() >= 5
    assert suspect_modes(stuck, OMEGA)[worse].all()
    fixed = checked_modes(problem, theta, OMEGA, SIGMA, stuck)
    np.testing.assert_allclose(fixed.l, ref.l, rtol=0, atol=1e-6)
    np.testing.assert_allclose(fixed.eta, ref.eta, rtol=0, atol=1e-4)
    assert fixed.converged.all()
    # the right modes stay as they are
    np.testing.assert_array_equal(checked_modes(problem, theta, OMEGA, SIGMA, ref).l, ref.l)


# far trial points (shifts of log ka, log CL, log V, log Vmax), as a first BFGS step can make;
# after each, the warm-started modes at a point near the start were in other basins: OFVs of
# 105,232, 7,049 and 29,989 instead of 507.53 before the modes were checked
FAR_STEPS = [(-1.0, -0.5, -0.3, -0.5), (-1.0, 0.0, 0.0, -0.5), (1.0, 0.5, -0.5, -0.5)]


@pytest.mark.parametrize("shift", FAR_STEPS)
def test_the_ofv_does_not_depend_on_the_points_evaluated_before(pk_study, shift):
    problem, x = pk_study["problem"], pk_study["x"]
    near = x.copy()
    near[0] -= 0.03
    fresh = Objective(problem).value(near, cold=True)
    assert fresh == pytest.approx(507.532, abs=1e-3)
    obj = Objective(problem)
    obj.value(x, cold=True)
    obj.gradient(x)
    far = x.copy()
    far[:4] += shift
    assert obj.value(far) > fresh + 500
    obj.gradient(far)
    assert obj.value(near) == pytest.approx(fresh, abs=1e-5)


# ------------------------------------------------------------------------- budget and box
def test_the_evaluation_budget_ends_a_fit_not_converged(pk_study):
    opts = F.fit_options({"max_evaluations": 25, "covariance": "none"}, F.FINAL_FIT_OPTIONS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = F.run_fit(pk_study["data"], pk_study["spec"], opts)
    assert res.optimizer["budget_exhausted"] and not res.optimizer["converged"]
    assert "evaluation budget used up" in res.optimizer["message"]
    assert "max_evaluations = 25" in res.optimizer["message"]
    # the budget counts OFV evaluations of the search; the final evaluation is extra
    assert res.optimizer["function_evaluations"] <= 25 + 2
    assert np.isfinite(res.ofv)
    assert any("did not converge" in w for w in res.warnings)


def test_a_tiny_budget_before_the_search_is_a_fit_error(pk_study):
    opts = F.fit_options({"max_evaluations": 10, "covariance": "none"}, F.FINAL_FIT_OPTIONS)
    with pytest.raises(FitError, match="evaluation budget used up .* before the estimation started"):
        F.run_fit(pk_study["data"], pk_study["spec"], opts)


def test_search_bounds_hand_values(pk_study):
    pm, problem = pk_study["pm"], pk_study["problem"]
    lay = problem.layout
    x = pk_study["x"]
    lo, hi = search_bounds(lay, pm, x, 10.0)
    r = np.log(10.0)
    th, om, sg = lay.slices()
    np.testing.assert_allclose(lo[th], x[th] - r)
    np.testing.assert_allclose(hi[th], x[th] + r)
    # an SD may go to 0, up 10x but at least to 1
    assert np.all(np.isneginf(lo[om])) and np.allclose(hi[om], x[om] + r)  # SDs 0.46, 0.23, 0.23
    small = x.copy()
    small[om] = np.log([0.5, 0.2, 0.01])
    assert np.allclose(search_bounds(lay, pm, small, 10.0)[1][om], np.log([5.0, 2.0, 1.0]))
    assert np.all(np.isinf(lo[sg])) and np.all(np.isinf(hi[sg]))
    with pytest.raises(ValueError):
        search_bounds(lay, pm, x, 1.0)


def test_search_box_transform_hand_values():
    lo = np.array([-1.0, -np.inf, -np.inf])
    hi = np.array([3.0, 2.0, np.inf])
    box = SearchBox(lo, hi, center=np.array([1.0, 0.5, 7.0]))
    # at z = 0: the centre of a bounded component, slope 1 (the identity to first order);
    # an unbounded component is not transformed
    np.testing.assert_allclose(box.to_x(np.zeros(3)), [1.0, 0.5, 0.0])
    np.testing.assert_allclose(box.dx_dz(np.zeros(3)), [1.0, 1.0, 1.0])
    z = np.array([1.0, -3.0, 4.0])
    # x = 1 + 2 tanh(z/2); x = 2 - 1.5 exp(-z/1.5); x = z
    np.testing.assert_allclose(box.to_x(z), [1.0 + 2.0 * math.tanh(0.5), 2.0 - 1.5 * math.exp(2.0), 4.0])
    np.testing.assert_allclose(box.to_z(box.to_x(z)), z, rtol=1e-12)
    h = 1e-6
    np.testing.assert_allclose((box.to_x(z + h) - box.to_x(z - h)) / (2 * h), box.dx_dz(z), rtol=1e-7)
    far = box.to_x(np.array([1e3, 1e3, 0.0]))  # never outside the box
    assert far[0] <= 3.0 and far[1] <= 2.0
    assert np.all(np.isfinite(box.to_z(np.array([3.0, 2.0, 0.0]))))  # a start on the bound maps inside


def test_a_refit_stays_in_its_box_and_reports_estimates_on_it(pk_study):
    opts = F.fit_options({"covariance": "none"}, F.BOOTSTRAP_FIT_OPTIONS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = F.run_fit(pk_study["data"], pk_study["spec"], opts)
        # warm start from a 3-fold too large V, in a box of 1.5-fold around it: V cannot get back
        moved = dataclasses.replace(start, x=start.x.copy())
        moved.x[start.layout.x_names(start.pm).index("theta[log V]")] += np.log(3.0)
        boxed = F.run_fit(pk_study["data"], pk_study["spec"], dataclasses.replace(opts, search_range=1.5),
                          warm_start=moved)
    lay = boxed.layout
    j = lay.x_names(boxed.pm).index("theta[log V]")
    assert boxed.x[j] >= moved.x[j] - np.log(1.5) - 1e-12
    assert boxed.x[j] <= moved.x[j] - np.log(1.5) + AT_BOUND_FRACTION * np.log(1.5)
    assert "theta[log V]" in boxed.optimizer["at_bound"]
    assert start.optimizer["at_bound"] == []


# ---------------------------------------------------------------------------- grid limit
def test_refine_grid_refuses_to_grow_beyond_its_limit():
    obs = np.array([[1.0, 2.0, 4.0]])
    grid = build_grid(obs, np.ones_like(obs, dtype=bool), np.array([[0.0]]), np.array([[100.0]]), h_max=1.0)
    base = int(grid.n_points[0])
    assert grid.base_points.tolist() == [base]
    err = np.full((1, grid.t.shape[1] - 1), 2.0)  # every step too inaccurate: each split in 2
    finer = refine_grid(grid, err, max_factor=2.0)
    assert finer.n_points[0] == 2 * base - 1 and finer.base_points.tolist() == [base]
    with pytest.raises(GridLimitError) as info:
        refine_grid(finer, np.full((1, finer.t.shape[1] - 1), 2.0), max_factor=2.0)
    e = info.value
    assert (e.subject, e.base, e.limit, e.needed) == (0, base, 2 * base, 2 * (2 * base - 1) - 1)
    # a non-finite error estimate asks for the largest split everywhere: caught at once
    with pytest.raises(GridLimitError):
        refine_grid(grid, np.full((1, grid.t.shape[1] - 1), np.nan), max_factor=10.0)
    assert refine_grid(grid, np.full((1, grid.t.shape[1] - 1), np.nan), max_factor=None).n_points[0] > 10 * base


def test_model_refinement_names_the_subject_and_parameters(pk_study):
    problem = pk_study["problem"]
    model = problem.pm.model
    rows = np.array([[0.3, np.inf, 5.0, 50.0, 1.0]])  # an infinite clearance: nothing is finite
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(GridLimitError, match=r"subject index 3 .*CL=inf"):
            model.refine(problem.prep, rows, np.array([3]))
        ok = model.refine(problem.prep, np.array([[0.3, 0.3, 5.0, 50.0, 1.0]]), np.array([3]))
    assert ok.grid.n_points[3] <= 2 * problem.prep.grid.base_points[3]


def rule_mem_mb(rule: str) -> int:
    """``resources: mem_mb`` of a rule of workflow/rules/pkpd.smk."""
    text = (ROOT / "workflow" / "rules" / "pkpd.smk").read_text(encoding="utf-8")
    block = text.split(f"rule {rule}:", 1)[1].split("\nrule ", 1)[0]
    return int(re.search(r"mem_mb=(\d+)", block).group(1))


def test_a_refit_from_absurd_starting_values_fails_cleanly_within_its_memory(pk_study, tmp_path):
    """In a child process capped at the memory the bootstrap chunk rule declares: a replicate
    refit warm-started at CL = 1e299 L/day (log CL = 690) is recorded as failed, with the
    reason, and the process stays under the cap (before the grid limit, refining the grid of
    a non-finite solution multiplied it 64-fold per round until the machine ran out of memory)."""
    mem_mb = rule_mem_mb("pkpd_bootstrap_chunk")
    script = textwrap.dedent(f"""
        import json, resource, sys, warnings
        import numpy as np
        resource.setrlimit(resource.RLIMIT_AS, ({mem_mb} * 2**20, {mem_mb} * 2**20))
        warnings.simplefilter("ignore")
        from fcrnpipe.nlme import read_nm_dataset
        from fcrnpipe.pkpd import bootstrap as B, fitting as F
        from fcrnpipe.pkpd.state import load_state, write_state
        data = read_nm_dataset({str(pk_study["nm"])!r})
        spec = {json.dumps(pk_study["spec"])}
        res = F.run_fit(data, spec, F.fit_options({{"covariance": "none"}}, F.BOOTSTRAP_FIT_OPTIONS))
        res.x[res.layout.x_names(res.pm).index("theta[log CL]")] = 690.0
        write_state(res, spec, {str(tmp_path / "fit.json")!r})
        absurd = load_state({str(tmp_path / "fit.json")!r})
        opts = F.fit_options(None, F.BOOTSTRAP_FIT_OPTIONS)
        row, est = B.run_replicate(data, None, absurd, 1, 4711, opts)
        print(json.dumps({{"row": row, "est": est,
                          "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
    """)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["row"]["status"] == "failed" and out["est"] == {}
    assert "FitError" in out["row"]["message"]
    assert "MemoryError" not in out["row"]["message"]
    assert re.search(r"integration grid|cannot be evaluated", out["row"]["message"])
    assert out["maxrss_mb"] < mem_mb
