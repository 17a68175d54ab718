"""The outer problem: maximum (approximate) likelihood estimation of theta, Omega and sigma.

``fit(data, pm)`` does, in order:

1. builds the padded problem (observations of the model's compartments; BLQ records dropped
   (M1) or kept as censored (M3));
2. initial estimates: the model's defaults (or ``pm.init``) improved by a naive pooled fit
   (all etas 0, weighted least squares; like R's self-starting models), Omega = 0.1 on each
   random effect (or ``pm.omega_init``), residual SDs from the pooled residuals -- or the
   estimates of a previous fit (``warm_start``, e.g. bootstrap replicates);
3. for ODE models, refines the integration grids so that the solution meets the tolerance
   at the individual parameters (and again at the final estimates; the fit is resumed if a
   grid had to change);
4. minimises the OFV (:mod:`fcrnpipe.nlme.foce`) over the unconstrained vector ``x`` with
   BFGS (``scipy.optimize.minimize``), the analytic (implicit-function) gradient of the OFV
   (the inner problems warm-started from the incumbent's conditional modes, see
   :class:`Objective`), the initial inverse Hessian from the diagonal curvature;
5. the covariance step (:mod:`fcrnpipe.nlme.covariance`).
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import OptimizeWarning, least_squares, minimize

from fcrnpipe.errors import UserError
from fcrnpipe.models.base import StructuralModel
from fcrnpipe.models.ode import GridLimitError
from fcrnpipe.models.threads import kernel_threads
from fcrnpipe.nlme.dataset import NMData
from fcrnpipe.nlme.foce import (
    InnerResult,
    Problem,
    at_modes,
    checked_modes,
    individual_params,
    inner,
    ofv_gradient,
    start_modes,
    loglik_from_ofv,
    predict,
    subject_ofv,
)
from fcrnpipe.nlme.spec import Layout, PopulationModel

log = logging.getLogger("fcrnpipe.nlme")

#: The OFV returned to the optimiser where the model cannot be evaluated.
_BAD_OFV = 1e12


@dataclass(frozen=True)
class FitOptions:
    """Estimation settings.

    ``covariance``: ``"hessian"`` (R^-1, the inverse of half the OFV Hessian), ``"sandwich"``
    (R^-1 S R^-1) or ``"none"``. ``gtol``: convergence when the largest absolute OFV gradient
    component (per unit of ``x``, i.e. per log-unit for log parameters) is below it.
    ``inner_tol``: convergence of the conditional modes (largest Newton step in eta).
    ``max_refits``: how often the fit is resumed after the numerics (ODE grids) had to be
    refined at the estimates; ``warmup_iter``: BFGS iterations before the first such
    refinement (0: none). ``pooled_init``: start from a naive pooled fit. ``fd_step`` is
    not used (kept for compatibility: the OFV gradient is analytic given the model's
    derivatives, see :mod:`fcrnpipe.nlme.foce`).

    Bounded work (deterministic, never wall time): ``max_evaluations`` caps the OFV
    evaluations of the estimation (NONMEM's MAXEVAL; the fit then ends *not converged* with
    the budget named in its message); ``search_range`` (> 1, or None) confines a warm-started
    refit to a box around the estimates it starts from (or ``search_center`` of :func:`fit`):
    each log-scale fixed effect within a factor ``search_range`` either way and each IIV SD at
    most ``search_range`` times its starting value (NONMEM-style boundaries; an estimate that
    ends on the box is reported in ``optimizer["at_bound"]``).

    ``threads``: threads that integrate the rows of a model call side by side
    (:func:`fcrnpipe.models.threads.kernel_threads`; large studies only); the results do not
    depend on it, bit for bit.
    """

    covariance: str = "hessian"
    pooled_init: bool = True
    max_iter: int = 500
    gtol: float = 1e-3
    fd_step: float = 1e-4
    inner_tol: float = 1e-8
    max_refits: int = 2
    warmup_iter: int = 15
    max_evaluations: int = 5000
    search_range: float | None = None
    threads: int = 1


@dataclass
class FitResult:
    """A fitted population model (see :mod:`fcrnpipe.nlme.results` for tables)."""

    pm: PopulationModel
    problem: Problem
    x: np.ndarray
    inner: InnerResult
    ofv: float
    ofv_subject: np.ndarray
    optimizer: dict[str, Any]
    covariance: Any = None
    timing: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def layout(self) -> Layout:
        return self.problem.layout

    @property
    def theta(self) -> np.ndarray:
        """All structural parameters on the estimation scale."""
        return self.layout.theta(self.x)

    @property
    def theta_natural(self) -> dict[str, float]:
        return {s.name: float(s.to_nat(t)) for s, t in zip(self.pm.model.params, self.theta)}

    @property
    def beta(self) -> np.ndarray:
        """The covariate exponents ``(C,)`` (fixed and estimated; order of ``pm.covariates``)."""
        return self.layout.beta(self.x)

    @property
    def typical(self) -> np.ndarray:
        """Typical values on the estimation scale: ``(p,)``, or ``(N, p)`` per subject with
        covariate relations (see :meth:`fcrnpipe.nlme.foce.Problem.typical`)."""
        return self.problem.typical(self.x)

    @property
    def omega(self) -> np.ndarray:
        return self.layout.omega(self.x)

    @property
    def sigmas(self) -> list[np.ndarray]:
        return self.layout.sigmas(self.x)

    @property
    def eta(self) -> np.ndarray:
        return self.inner.eta

    @property
    def loglik(self) -> float:
        return loglik_from_ofv(self.ofv, self.problem.n_uncensored)

    @property
    def n_parameters(self) -> int:
        return self.layout.n_x

    @property
    def aic(self) -> float:
        return -2.0 * self.loglik + 2.0 * self.n_parameters

    @property
    def bic(self) -> float:
        n = self.problem.n_uncensored + self.problem.n_censored
        return -2.0 * self.loglik + self.n_parameters * float(np.log(n))

    def individual_natural(self) -> np.ndarray:
        """Individual (EBE-based) natural-scale parameters ``(N, p)``."""
        return individual_params(self.layout, self.pm, self.typical, self.eta)


# ----------------------------------------------------------------------------- problem set-up
def build_problem(data: NMData, pm: PopulationModel) -> Problem:
    """Padded arrays of the observations the model fits (see :class:`~fcrnpipe.nlme.foce.Problem`)."""
    model = pm.model
    cmts = model.output_cmts
    if not data.observation_mask(cmts).any():
        raise UserError(
            f"{data.path}: no observation records (EVID 0, MDV 0) in compartment(s) {list(cmts)} that model {model.name} fits"
        )
    design = data.design(cmts)
    bad_dose = np.isfinite(design.dose_time) & ~np.isin(design.dose_cmt, model.dose_cmts)
    if bad_dose.any():
        raise UserError(f"{data.path}: model {model.name} takes doses in compartment(s) {list(model.dose_cmts)} only")
    layout = Layout.from_model(pm)
    rec = data.columns
    rows = design.obs_row
    mask = design.obs_mask
    safe = np.where(mask, rows, 0)
    y = np.where(mask, rec["DV"][safe], np.nan)
    blq = np.where(mask, rec["BLQ"][safe], 0) == 1
    lloq = np.where(mask, rec["LLOQ"][safe], np.nan)
    use = mask & ~blq
    cens = mask & blq if pm.blq == "M3" else np.zeros_like(mask)
    ep = np.zeros(mask.shape, dtype=int)
    for k, c in enumerate(layout.endpoints):
        ep = np.where(design.obs_cmt == c, k, ep)
    if not use.any():
        raise UserError(f"{data.path}: every observation the model fits is BLQ")
    cov_values = subject_covariates(data, [r.covariate for r in pm.covariates], design.ids) if pm.covariates else None
    zcov = covariate_effects(pm, cov_values) if pm.covariates else None
    return Problem(
        pm=pm,
        layout=layout,
        design=design,
        prep=model.prepare(design),
        y=np.where(use, y, 0.0),
        use=use,
        cens=cens,
        lloq=np.where(cens, lloq, 0.0),
        ep=ep,
        errors=tuple(pm.errors[c] for c in layout.endpoints),
        fd_central=bool(getattr(model, "fd_central", False)),
        records=rec,
        zcov=zcov,
        cov_values=cov_values,
    )


def subject_covariates(data: NMData, names: list[str] | tuple[str, ...], ids: np.ndarray) -> np.ndarray:
    """Covariate values ``(N, len(names))`` of subjects ``ids``: each subject's first
    non-missing value of the column (a baseline covariate; later values are not used).
    A column that is not in the dataset, a non-numeric or non-positive value, or a subject
    without any value is a :class:`UserError` naming the file, the column and the subject."""
    import pandas as pd  # only with covariate relations (start-up cost of a plain fit: docs/nlme.md)

    rec = data.records
    out = np.full((len(ids), len(names)), np.nan)
    for j, name in enumerate(names):
        col = str(name).upper()
        if col not in rec.columns:
            raise UserError(
                f"{data.path}: covariate column {col} is not in the dataset (covariate columns: "
                f"{', '.join(data.covariates) or 'none'})"
            )
        values = pd.to_numeric(rec[col], errors="coerce")
        bad = values.isna() & rec[col].notna() & (rec[col].astype(str).str.strip() != "")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise UserError(f"{data.path}: data row {int(rec['ROW'].iloc[i])}, column {col}: "
                            f"{rec[col].iloc[i]!r} is not a number")
        first = values.groupby(rec["ID"], sort=False).first()
        for i, sid in enumerate(ids):
            v = first.get(sid, np.nan)
            if not np.isfinite(v):
                raise UserError(f"{data.path}: column {col}: subject {sid} has no value of the covariate "
                                "(a covariate relation needs it for every subject)")
            if v <= 0:
                raise UserError(f"{data.path}: column {col}: subject {sid} has {col} = {v:g}; a power "
                                "covariate model needs positive values")
            out[i, j] = float(v)
    return out


def covariate_effects(pm: PopulationModel, values: np.ndarray) -> np.ndarray:
    """``z`` ``(N, C)``: ``log(cov_i / reference)`` of each covariate relation of ``pm``, from
    the subjects' values ``(N, C)`` of each relation's covariate (:func:`subject_covariates`)."""
    return np.column_stack([r.effect(values[:, c]) for c, r in enumerate(pm.covariates)])


def _check_zero_predictions(problem: Problem, theta: np.ndarray, data_path: str) -> None:
    """A proportional error cannot weigh an observation whose prediction is exactly 0."""
    n = problem.n_subjects
    lay = problem.layout
    theta = lay.typical(theta, lay.beta_fixed, problem.zcov) if np.ndim(theta) == 1 else theta
    f = predict(problem, theta, np.zeros((n, problem.layout.q)), np.arange(n))
    for k, em in enumerate(problem.errors):
        if em.kind != "proportional":
            continue
        zero = problem.use & (problem.ep == k) & (f == 0.0)
        if zero.any():
            rows = problem.design.obs_row[zero] + 1
            raise UserError(
                f"{data_path}: data row(s) {', '.join(map(str, sorted(rows)[:10]))}: the model predicts exactly 0 "
                "(an observation at or before the first dose); a proportional error model cannot weigh it. "
                "Set MDV=1 on these records or use a combined/additive error model."
            )


def pooled_fit(problem: Problem, theta0: np.ndarray) -> np.ndarray:
    """Naive pooled estimate of the free structural parameters (all etas 0).

    Least squares on log residuals ``log y - log f`` for proportional endpoints (scale-free:
    robust when predictions are orders of magnitude off, as with saturable elimination) and
    on weighted residuals otherwise (1/SD(y) for additive, 1/sqrt(1 + (y/median y)^2) for
    combined errors); BLQ records are ignored. Returns ``theta0`` if the fit fails.
    """
    layout = problem.layout
    n = problem.n_subjects
    sid = np.arange(n)
    zeros = np.zeros((n, layout.q))
    use = problem.use
    logres = np.zeros_like(use)
    w = np.ones_like(problem.y)
    for k, em in enumerate(problem.errors):
        m = use & (problem.ep == k)
        if not m.any():
            continue
        ay = np.abs(problem.y[m])
        if em.kind == "proportional":
            logres |= m & (problem.y > 0)
            w[m & (problem.y <= 0)] = 1.0 / (np.median(ay) + 1e-12)
        elif em.kind == "combined":
            w[m] = 1.0 / np.sqrt(1.0 + (ay / (np.median(ay) + 1e-12)) ** 2)
        else:
            w[m] = 1.0 / (np.std(ay) + 1e-12)
    ylog = np.log(np.where(logres, problem.y, 1.0))

    def resid(tf: np.ndarray) -> np.ndarray:
        th = theta0.copy()
        th[layout.free] = tf
        th = layout.typical(th, layout.beta_fixed, problem.zcov)
        with np.errstate(all="ignore"):
            f = predict(problem, th, zeros, sid)
            r = np.where(logres, ylog - np.log(np.maximum(f, 1e-12)), (problem.y - f) * w)
        r = r[use]
        return np.where(np.isfinite(r), r, 1e6)

    x0 = theta0[layout.free]
    if x0.size == 0:
        return theta0
    try:
        sol = least_squares(resid, x0, method="trf", max_nfev=100 * (x0.size + 1), x_scale=1.0)
        th = theta0.copy()
        if np.all(np.isfinite(sol.x)) and np.all(np.abs(sol.x - x0) < 10.0) and sol.cost <= 0.5 * np.sum(resid(x0) ** 2):
            th[layout.free] = sol.x
        return th
    except (ValueError, np.linalg.LinAlgError):
        return theta0


def initial_x(problem: Problem, options: FitOptions, data_path: str) -> np.ndarray:
    """Starting vector ``x`` (see the module docstring)."""
    pm, layout = problem.pm, problem.layout
    theta = layout.theta_fixed.copy()
    _check_zero_predictions(problem, theta, data_path)
    if options.pooled_init:
        theta = pooled_fit(problem, theta)
    n = problem.n_subjects
    f = predict(problem, layout.typical(theta, layout.beta_fixed, problem.zcov), np.zeros((n, layout.q)), np.arange(n))
    sig = []
    for k, c in enumerate(layout.endpoints):
        if c in pm.sigma_init:
            sig.append(np.asarray(pm.sigma_init[c], dtype=float))
            continue
        m = problem.use & (problem.ep == k)
        sig.append(problem.errors[k].initial((problem.y - f)[m], f[m]))
    names = [pm.model.param_names[k] for k in layout.iiv_index]
    omega = np.diag([float(pm.omega_init.get(nm, 0.1)) for nm in names]) if layout.q else np.zeros((0, 0))
    return layout.pack(theta, omega, sig)


# ----------------------------------------------------------------------------- objective
def _valid_x(lay: Layout, x: np.ndarray) -> bool:
    """``x`` gives finite parameters, a well-conditioned Omega and positive residual SDs."""
    if not np.all(np.isfinite(x)):
        return False
    _, om, sg = lay.slices()
    if lay.q:
        d = np.diag(lay.chol(x))
        if not (np.all(d > 1e-8) and np.all(d < 1e4)):
            return False
        if lay.block:
            w = np.linalg.eigvalsh(lay.omega(x))
            if w[0] <= 1e-12 * w[-1]:
                return False
    if np.any(np.abs(x[sg]) > 40.0) or np.any(np.abs(x[: lay.free.size]) > 700.0):
        return False
    return True


class EvaluationBudgetExceeded(RuntimeError):
    """The objective's evaluation budget (:attr:`FitOptions.max_evaluations`) is used up."""


@dataclass(frozen=True)
class Evaluation:
    """The OFV at ``x`` and what it was computed from (a value: nothing refers back to the
    :class:`Objective` that made it).

    ``ofv``: the total OFV (NONMEM constant convention; ``inf`` where the model cannot be
    evaluated); ``ofv_subject``: per-subject contributions; ``inner``: the conditional modes
    and the derivatives at them (:class:`~fcrnpipe.nlme.foce.InnerResult`).
    """

    x: np.ndarray
    ofv: float
    ofv_subject: np.ndarray
    inner: InnerResult

    @property
    def finite(self) -> bool:
        return bool(np.isfinite(self.ofv))


@dataclass(frozen=True)
class Gradient:
    """The OFV gradient at an :class:`Evaluation`: total ``(n_x,)``, per subject ``(N, n_x)``
    and the sensitivities of the modes ``d eta_i / dx`` ``(N, q, n_x)``."""

    total: np.ndarray
    subjects: np.ndarray
    sens: np.ndarray


#: A mode predicted to first order (:meth:`WarmStart.modes`) that moved less than this
#: (largest |eta change|) is most likely the mode itself: the inner problem evaluates it with
#: the full model derivatives at once (:func:`~fcrnpipe.nlme.foce.inner`, ``full_first``).
#: Measured on a 100-subject PK fit: the start was the mode for 84% of the subjects that moved
#: 1e-5 to 1e-4, 13% of those that moved 1e-4 to 1e-3, 2% of those that moved 1e-3 to 1e-2.
NEAR_PREDICTION = 1e-4


@dataclass(frozen=True)
class WarmStart:
    """Starting modes for an evaluation: the modes ``eta`` at ``x`` and (if known) their
    sensitivities ``d eta/dx``, from which :meth:`modes` predicts the modes at another point
    to first order (steps capped at 1 prior unit; non-finite predictions ignored)."""

    x: np.ndarray | None
    eta: np.ndarray
    sens: np.ndarray | None = None

    def modes(self, x: np.ndarray) -> np.ndarray:
        if self.sens is None or self.x is None:
            return self.eta
        d = np.einsum("nqj,j->nq", self.sens, np.asarray(x, dtype=float) - self.x)
        d = np.clip(np.where(np.isfinite(d), d, 0.0), -1.0, 1.0)
        return self.eta + d

    def near(self, x: np.ndarray, modes: np.ndarray) -> np.ndarray:
        """Subjects ``(N,)`` whose predicted ``modes`` at ``x`` are likely the modes themselves
        (:data:`NEAR_PREDICTION`): only the work of the inner problem depends on it."""
        if self.sens is None or self.x is None:
            return np.zeros(self.eta.shape[0], dtype=bool)
        return np.max(np.abs(modes - self.eta), axis=1, initial=0.0) < NEAR_PREDICTION


class Objective:
    """OFV as a function of ``x`` with warm-started inner problems and call accounting.

    :meth:`evaluate` is the objective itself: ``evaluate(x, warm) -> Evaluation``, a function
    of ``x`` and of the starting modes only (it changes nothing but the evaluation counter).
    The optimiser's interface (:meth:`value`, :meth:`gradient`) adds two things on top:

    * a cache of the last evaluation (and its gradient), so that the gradient at the same
      ``x`` costs no model evaluation;
    * warm starts from the *incumbent* -- the evaluation with the lowest OFV so far (its
      modes, and their first-order prediction from its sensitivities) -- never from a
      rejected trial point; suspect modes are re-solved from a cold start
      (:func:`~fcrnpipe.nlme.foce.checked_modes`): the OFV is a function of ``x``, not of
      the optimiser's history.

    ``max_evaluations``: :meth:`value` raises :class:`EvaluationBudgetExceeded` once that
    many evaluations were made; ``box``: a :class:`SearchBox` outside which :meth:`value`
    returns the "cannot evaluate" value without evaluating (the optimiser searches inside it).
    """

    def __init__(
        self,
        problem: Problem,
        inner_tol: float = 1e-8,
        max_evaluations: int | None = None,
        box: "SearchBox | None" = None,
    ) -> None:
        self.problem = problem
        self.inner_tol = inner_tol
        self.max_evaluations = max_evaluations
        self.box = box
        self.n_eval = 0
        self.n_grad = 0
        self._last: Evaluation | None = None
        self._last_grad: Gradient | None = None
        self._incumbent: Evaluation | None = None
        self._warm = WarmStart(None, np.zeros((problem.n_subjects, problem.layout.q)))
        self.curvature: np.ndarray | None = None

    # ------------------------------------------------------------------ pure evaluation
    def evaluate(
        self, x: np.ndarray, warm: WarmStart | np.ndarray | None = None, cold: bool = False, solve: bool = True
    ) -> Evaluation:
        """The :class:`Evaluation` at ``x`` with the conditional modes started from ``warm``
        (a :class:`WarmStart`, an ``eta`` array, or None: eta = 0); ``cold``: from
        :func:`~fcrnpipe.nlme.foce.start_modes` (at ``warm``'s modes). ``solve=False``: the
        starting modes are taken as they are, not solved for (:func:`~fcrnpipe.nlme.foce.at_modes`;
        the covariance step's central differences along the modes' first-order path)."""
        x = np.array(x, dtype=float, copy=True)
        lay = self.problem.layout
        n = self.problem.n_subjects
        self.n_eval += 1
        near = np.zeros(n, dtype=bool)  # the start is likely the mode: evaluate it in full
        if warm is None:
            start = np.zeros((n, lay.q))
        elif isinstance(warm, WarmStart):
            start = warm.modes(x)
            near = warm.near(x, start)
        else:
            start = np.asarray(warm, dtype=float)
        if not _valid_x(lay, x):
            res = InnerResult(
                eta=np.array(start, copy=True), l=np.full(n, np.inf), hess=np.full((n, lay.q, lay.q), np.nan),
                f=np.zeros_like(self.problem.y), g=np.zeros(self.problem.y.shape + (lay.q,)),
                converged=np.zeros(n, dtype=bool), iterations=0,
            )
            return Evaluation(x, np.inf, np.full(n, np.inf), res)
        omega = lay.omega(x)
        theta, sigmas = self.problem.typical(x), lay.sigmas(x)
        with np.errstate(all="ignore"):
            if cold:
                start = start_modes(self.problem, theta, omega, sigmas, start)
            if solve:
                res = inner(self.problem, theta, omega, sigmas, start, tol=self.inner_tol, full_first=near & ~cold)
                res = checked_modes(self.problem, theta, omega, sigmas, res, tol=self.inner_tol)
            else:
                res = at_modes(self.problem, theta, omega, sigmas, start)
            ofv_i = subject_ofv(self.problem, res, omega)
        total = float(ofv_i.sum())
        log.debug(
            "OFV evaluation %d: %.6f (%d inner iterations, %d/%d modes converged)",
            self.n_eval, total, res.iterations, int(res.converged.sum()), res.converged.size,
        )
        return Evaluation(x, total if np.isfinite(total) else np.inf, ofv_i, res)

    def gradient_of(self, ev: Evaluation) -> Gradient:
        """The OFV gradient at an evaluation (:func:`~fcrnpipe.nlme.foce.ofv_gradient`;
        zero where the OFV is not finite)."""
        n_x = ev.x.size
        if not ev.finite:
            n = self.problem.n_subjects
            return Gradient(np.zeros(n_x), np.zeros((n, n_x)), np.zeros((n, self.problem.layout.q, n_x)))
        self.n_grad += 1
        with np.errstate(all="ignore"):
            g, gs, sens = ofv_gradient(self.problem, ev.x, ev.inner)
        return Gradient(np.where(np.isfinite(g), g, 0.0), gs, sens)

    # ------------------------------------------------------------------ optimiser interface
    @property
    def eta(self) -> np.ndarray:
        """The incumbent's conditional modes (the warm start of the next evaluation)."""
        return self._warm.eta

    @property
    def warm(self) -> WarmStart:
        """The warm start the next evaluation gets (from the incumbent)."""
        return self._warm

    @property
    def best(self) -> Evaluation | None:
        """The incumbent: the evaluation with the lowest OFV so far."""
        return self._incumbent

    @property
    def best_x(self) -> np.ndarray | None:
        return None if self._incumbent is None else self._incumbent.x

    def in_bounds(self, x: np.ndarray) -> bool:
        if self.box is None:
            return True
        lo, hi = self.box.lo, self.box.hi
        return bool(np.all(x >= lo) and np.all(x <= hi))

    def evaluation(self, x: np.ndarray, cold: bool = False) -> Evaluation:
        """The evaluation at ``x`` as the optimiser sees it: cached if ``x`` was the last
        point, else warm-started from the incumbent (from :func:`start_modes` if ``cold``),
        retried from the incumbent's modes if the predicted ones fail. Updates the cache and
        the incumbent; raises :class:`EvaluationBudgetExceeded` past the budget."""
        x = np.asarray(x, dtype=float)
        if self._last is not None and np.array_equal(x, self._last.x) and not cold:
            return self._last
        if self.max_evaluations is not None and self.n_eval >= self.max_evaluations:
            raise EvaluationBudgetExceeded(f"evaluation budget used up ({self.n_eval} OFV evaluations)")
        ev = self.evaluate(x, self._warm.eta if cold else self._warm, cold=cold)
        if not ev.finite and not cold:
            # retry from the incumbent's modes (the predicted ones may be poor far away)
            ev2 = self.evaluate(x, self._warm.eta)
            if ev2.finite:
                ev = ev2
        self._last, self._last_grad = ev, None
        if ev.finite and (self._incumbent is None or ev.ofv <= self._incumbent.ofv or cold):
            self._incumbent = ev
            self._warm = WarmStart(ev.x, ev.inner.eta)
        return ev

    def value(self, x: np.ndarray, cold: bool = False) -> float:
        x = np.asarray(x, dtype=float)
        if not (self._last is not None and np.array_equal(x, self._last.x) and not cold) and not self.in_bounds(x):
            return _BAD_OFV
        ev = self.evaluation(x, cold=cold)
        return ev.ofv if ev.finite else _BAD_OFV

    def gradient(self, x: np.ndarray, step: float | None = None) -> np.ndarray:
        """OFV gradient at the modes of ``x`` (:func:`~fcrnpipe.nlme.foce.ofv_gradient`)."""
        g, _ = self.gradient_subjects(x)
        return g

    def gradient_subjects(self, x: np.ndarray, step: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Total and per-subject OFV gradients at ``x``."""
        x = np.asarray(x, dtype=float)
        if self.value(x) >= _BAD_OFV or self._last is None:
            return np.zeros(x.size), np.zeros((self.problem.n_subjects, x.size))
        if self._last_grad is None:
            self._last_grad = self.gradient_of(self._last)
            if self._incumbent is self._last:  # the incumbent's sensitivities: predicted warm starts
                self._warm = WarmStart(self._last.x, self._last.inner.eta, self._last_grad.sens)
        return self._last_grad.total, self._last_grad.subjects

    def warm_start_at(self, x: np.ndarray) -> WarmStart:
        """A warm start at ``x``: its modes and their sensitivities (evaluates ``x`` and its
        gradient if it is not the cached point)."""
        self.gradient(x)
        ev = self.evaluation(x)
        return WarmStart(ev.x, ev.inner.eta, None if self._last_grad is None else self._last_grad.sens)

    def probe(self, x: np.ndarray, warm: WarmStart) -> Evaluation:
        """An evaluation outside the optimiser's path (curvature probes): counted against the
        budget, but neither cached nor a candidate incumbent."""
        if self.max_evaluations is not None and self.n_eval >= self.max_evaluations:
            raise EvaluationBudgetExceeded(f"evaluation budget used up ({self.n_eval} OFV evaluations)")
        return self.evaluate(x, warm)

    def fd_gradient(self, x: np.ndarray, step: float = 1e-4) -> np.ndarray:
        """Central differences of the OFV with re-optimised modes (slow; for checks) and
        the diagonal curvature (kept in :attr:`curvature`)."""
        x = np.asarray(x, dtype=float)
        f0 = self.value(x)
        base = self.eta.copy()
        g = np.zeros(x.size)
        curv = np.zeros(x.size)
        for j in range(x.size):
            e = np.zeros(x.size)
            e[j] = step
            fp = self.evaluate(x + e, base).ofv
            fm = self.evaluate(x - e, base).ofv
            fp = fp if np.isfinite(fp) else _BAD_OFV
            fm = fm if np.isfinite(fm) else _BAD_OFV
            g[j] = (fp - fm) / (2 * step)
            curv[j] = (fp - 2 * f0 + fm) / step**2
        self.curvature = curv
        return g

    def reset_cache(self) -> None:
        """Forget the cached evaluation and the incumbent (after the model's numerics
        changed); the incumbent's modes stay as the warm start."""
        self._last = None
        self._last_grad = None
        self._incumbent = None
        self._warm = WarmStart(None, self._warm.eta)


@dataclass(frozen=True)
class SearchBox:
    """The box of :attr:`FitOptions.search_range` over ``x`` (``lo``/``hi``, +-inf where a
    component is unbounded) and its reference point ``center`` (the original estimates).

    The optimiser works on unconstrained search variables ``z`` (NONMEM bounds its THETAs the
    same way, by a transformation): a component bounded on both sides is
    ``x = m + r tanh(z / r)`` (``m``, ``r`` the box's midpoint and half-width), one bounded
    above only ``x = hi - d exp(-z / d)`` (``d = hi - center``), others ``x = z``. The map is
    smooth and the identity to first order at the centre, so a refit whose optimum lies well
    inside the box is the same BFGS problem as without one; one whose optimum lies outside
    ends with ``x`` on the bound (the search gradient vanishes there).
    """

    lo: np.ndarray
    hi: np.ndarray
    center: np.ndarray

    @property
    def _two(self) -> np.ndarray:
        return np.isfinite(self.lo) & np.isfinite(self.hi)

    @property
    def _upper(self) -> np.ndarray:
        return ~np.isfinite(self.lo) & np.isfinite(self.hi)

    def _params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with np.errstate(invalid="ignore"):  # inf - inf where a side is open: not selected
            mid = np.where(self._two, 0.5 * (self.lo + self.hi), 0.0)
            half = np.where(self._two, 0.5 * (self.hi - self.lo), 1.0)
        d = np.where(self._upper, np.maximum(self.hi - self.center, 1e-12), 1.0)
        return mid, half, d

    def to_x(self, z: np.ndarray) -> np.ndarray:
        mid, half, d = self._params()
        with np.errstate(over="ignore"):
            up = self.hi - d * np.exp(np.clip(-z / d, -700.0, 700.0))
        return np.where(self._two, mid + half * np.tanh(z / half), np.where(self._upper, up, z))

    def to_z(self, x: np.ndarray) -> np.ndarray:
        mid, half, d = self._params()
        u = np.clip((x - mid) / half, -1.0 + 1e-12, 1.0 - 1e-12)
        v = np.maximum(self.hi - x, 1e-12 * d) / d
        return np.where(self._two, half * np.arctanh(u), np.where(self._upper, -d * np.log(v), x))

    def dx_dz(self, z: np.ndarray) -> np.ndarray:
        mid, half, d = self._params()
        return np.where(self._two, 1.0 - np.tanh(z / half) ** 2,
                        np.where(self._upper, np.exp(np.clip(-z / d, -700.0, 700.0)), 1.0))


@dataclass(frozen=True)
class _SearchSpace:
    """The variables BFGS works on in :func:`_optimise`: the objective's ``x`` itself, or the
    search variables ``z`` of the search box ``box`` (:class:`SearchBox`; the objective's, taken
    when the optimisation starts)."""

    obj: Objective
    box: SearchBox | None

    def to_x(self, z: np.ndarray) -> np.ndarray:
        box = self.box
        return z if box is None else box.to_x(z)

    def to_z(self, x: np.ndarray) -> np.ndarray:
        box = self.box
        return x if box is None else box.to_z(x)

    def fun(self, z: np.ndarray) -> float:
        return self.obj.value(self.to_x(z))

    def jac(self, z: np.ndarray) -> np.ndarray:
        box = self.box
        return self.obj.gradient(z) if box is None else self.obj.gradient(box.to_x(z)) * box.dx_dz(z)

    def hess_inv_to_z(self, h: np.ndarray | None, z: np.ndarray) -> np.ndarray | None:
        """An inverse Hessian in x as one in z (``J^-1 H^-1 J^-1``)."""
        box = self.box
        if h is None or box is None:
            return h
        j = np.maximum(box.dx_dz(z), 1e-8)
        return h / np.outer(j, j)

    def hess_inv_to_x(self, h: np.ndarray | None, z: np.ndarray) -> np.ndarray | None:
        """An inverse Hessian in z as one in x (``J H^-1 J``)."""
        box = self.box
        if h is None or box is None:
            return h
        j = box.dx_dz(z)
        return h * np.outer(j, j)


def _bfgs(space: _SearchSpace, z: np.ndarray, opts: dict[str, Any], callback: Any) -> Any:
    """One run of scipy's BFGS on the OFV from ``z`` (its warnings silenced: the report says
    how it ended)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        return minimize(space.fun, z, jac=space.jac, method="BFGS", callback=callback, options=opts)


def _final_gradient(obj: Objective, space: _SearchSpace, z: np.ndarray) -> tuple[np.ndarray, float]:
    """The gradient at the solution ``z`` (within a box: in the search variables, 0 on a bound)
    and the OFV there, outside the evaluation budget."""
    limit_saved, obj.max_evaluations = obj.max_evaluations, None
    try:
        g = space.jac(z)
        value = obj.value(space.to_x(z))
    finally:
        obj.max_evaluations = limit_saved
    return g, value


def _optimise(
    obj: Objective, x0: np.ndarray, options: FitOptions, hess_inv0: np.ndarray | None, max_iter: int | None = None
) -> tuple[np.ndarray, dict]:
    """BFGS on the OFV (restarted with a fresh curvature estimate when it stops on a line
    search failure away from a stationary point); returns the solution and a report.
    Within a search box (``obj.box``) BFGS works on the box's search variables
    (:class:`SearchBox`). ``max_iter``: iteration limit of this call (default ``options.max_iter``)."""
    iterations = [0]
    t0 = time.perf_counter()
    limit = options.max_iter if max_iter is None else max_iter
    space = _SearchSpace(obj, obj.box)

    def callback(zk: np.ndarray) -> None:
        iterations[0] += 1
        xk = space.to_x(zk)
        log.debug(
            "iteration %d: OFV %.6f, %d OFV evaluations, %.1f s", iterations[0], obj.value(xk), obj.n_eval,
            time.perf_counter() - t0,
        )

    z = space.to_z(np.asarray(x0, dtype=float))
    success, status, message, hess_inv = False, 1, "", None
    budget = False
    restarts = 0
    for restarts in range(3):
        opts: dict[str, Any] = {"gtol": options.gtol, "maxiter": max(limit - iterations[0], 1), "norm": np.inf}
        if hess_inv0 is not None:
            opts["hess_inv0"] = space.hess_inv_to_z(hess_inv0, z)
        try:
            sol = _bfgs(space, z, opts, callback)
        except EvaluationBudgetExceeded as exc:
            # the budget ends the estimation at the best point found (deterministic)
            budget = True
            if obj.best_x is not None:
                z = space.to_z(obj.best_x)
            success, status, hess_inv = False, 1, None
            message = f"{exc} (max_evaluations = {obj.max_evaluations})"
            break
        success, status, message = bool(sol.success), int(sol.status), str(sol.message)
        hess_inv = None if getattr(sol, "hess_inv", None) is None else np.asarray(sol.hess_inv)
        hess_inv = space.hess_inv_to_x(hess_inv, sol.x)  # back to x
        moved = not np.array_equal(sol.x, z)
        z = sol.x
        g = space.jac(z)
        gmax = float(np.max(np.abs(g))) if g.size else 0.0
        if sol.success or gmax < 10 * options.gtol or sol.status == 1 or (not moved and restarts > 0):
            break
        log.debug("BFGS stopped (%s) with |gradient| %.3g; restarting", sol.message, gmax)
        try:
            hess_inv0 = _initial_hess_inv(obj, space.to_x(z))
        except EvaluationBudgetExceeded as exc:
            budget, success, status = True, False, 1
            message = f"{exc} (max_evaluations = {obj.max_evaluations})"
            break
    x = space.to_x(z)
    g, value = _final_gradient(obj, space, z)
    gmax = float(np.max(np.abs(g))) if g.size else 0.0
    converged = bool(value < _BAD_OFV and not budget and (success or gmax < 10 * options.gtol))
    return x, {
        "method": "BFGS",
        "status": status,
        "message": message,
        "iterations": iterations[0],
        "restarts": restarts,
        "gradient": g,
        "gradient_max_abs": gmax,
        "converged": converged,
        "budget_exhausted": budget,
        "hess_inv": hess_inv,
    }


def _initial_hess_inv(obj: Objective, x0: np.ndarray, step: float = 1e-2) -> np.ndarray:
    """Diagonal initial inverse Hessian from the curvature of the OFV along each coordinate
    (forward differences of the gradient, ``n_x`` extra gradient evaluations; the probes are
    warm-started from ``x0`` and leave the incumbent alone)."""
    g0 = obj.gradient(x0)
    warm = obj.warm_start_at(x0)
    d = np.zeros(x0.size)
    for j in range(x0.size):
        e = np.zeros(x0.size)
        e[j] = step
        if not obj.in_bounds(x0 + e):  # on the upper side of a search box: step back instead
            e[j] = -step
        ev = obj.probe(x0 + e, warm)
        d[j] = (obj.gradient_of(ev).total[j] - g0[j]) / e[j] if ev.finite else np.nan
    good = np.isfinite(d) & (d > 0)
    fallback = float(np.median(d[good])) if good.any() else 1.0
    scale = np.where(good, d, fallback)
    return np.diag(1.0 / scale)


def _safe_hess_inv(h: np.ndarray | None, fallback: np.ndarray) -> np.ndarray:
    """A symmetric positive definite inverse Hessian for restarting BFGS."""
    if h is None or not np.all(np.isfinite(h)):
        return fallback
    h = 0.5 * (h + h.T)
    try:
        np.linalg.cholesky(h)
        return h
    except np.linalg.LinAlgError:
        return fallback


def _em_start(obj: Objective, x: np.ndarray, rounds: int = 2) -> np.ndarray:
    """Improve the starting Omega and residual SDs from the conditional modes (two
    EM-like updates): ``omega_k^2 = mean(eta_ik^2 + (H_i^-1)_kk)`` and the residual SDs from
    the individual residuals (proportional: RMS of ``(y - IPRED)/IPRED``; additive: RMS of
    ``y - IPRED``; combined: unchanged). Keeps ``x`` if the OFV does not improve."""
    p = obj.problem
    lay = p.layout
    best_x, best = x, obj.value(x)
    for _ in range(rounds):
        res = obj.evaluation(best_x).inner
        if not np.isfinite(best):
            break
        omega = lay.omega(best_x)
        if lay.q:
            if not np.all(np.isfinite(res.hess)):
                break
            hinv = np.linalg.inv(res.hess)
            var = np.mean(res.eta**2 + np.diagonal(hinv, axis1=1, axis2=2), axis=0)
            var = np.clip(var, 1e-3, 4.0)
            if lay.block:
                omega = np.diag(var)
            else:
                omega = np.diag(var)
        sig = [s.copy() for s in lay.sigmas(best_x)]
        for k, em in enumerate(p.errors):
            m = p.use & (p.ep == k) & (res.f > 0)
            if not m.any():
                continue
            r = p.y[m] - res.f[m]
            if em.kind == "proportional":
                sig[k] = np.array([float(np.clip(np.sqrt(np.mean((r / res.f[m]) ** 2)), 0.01, 1.0))])
            elif em.kind == "additive":
                sig[k] = np.array([float(np.sqrt(np.mean(r * r)))])
        xn = lay.pack(lay.theta(best_x), omega, sig, lay.beta(best_x))
        val = obj.value(xn)
        if not val < best:
            break
        best_x, best = xn, val
    obj.value(best_x)
    return best_x


def _refine(problem: Problem, x: np.ndarray, eta: np.ndarray, spread: bool = False) -> bool:
    """Refine the model's numerics at the individual and population parameters of ``x``
    (with ``spread``: also at +-2 SD of each random effect, before any mode is known).

    Returns True if the prepared design changed.
    """
    lay = problem.layout
    n = problem.n_subjects
    theta = problem.typical(x)
    blocks = [eta, np.zeros_like(eta)]
    if spread and lay.q:
        sd = np.sqrt(np.diag(lay.omega(x)))
        for k in range(lay.q):
            for sgn in (2.0, -2.0):
                b = np.zeros_like(eta)
                b[:, k] = sgn * sd[k]
                blocks.append(b)
    rows = np.concatenate(blocks)
    sid = np.tile(np.arange(n), len(blocks))
    nat = individual_params(lay, problem.pm, theta, rows, sid)
    new = problem.pm.model.refine(problem.prep, nat, sid)
    if new is problem.prep:
        return False
    problem.prep = new
    return True


class FitError(UserError):
    """The estimation failed: the objective function cannot be evaluated (at the initial
    estimates or at the solution) or the numerics broke down. Shown without traceback by
    the pipeline runner; bootstrap replicates catch it and count the replicate as failed."""


class FitWarning(UserWarning):
    """A fit finished with a caveat (no convergence, covariance step failed, ...); the same
    messages are in :attr:`FitResult.warnings` and ``fit_summary.json`` (``warnings``)."""


def _bad_subjects(problem: Problem, ofv_i: np.ndarray) -> str:
    bad = np.flatnonzero(~np.isfinite(ofv_i))
    ids = [str(problem.design.ids[i]) for i in bad[:10]]
    more = f" and {bad.size - 10} more" if bad.size > 10 else ""
    return f"{bad.size} subject(s) ({', '.join(ids)}{more})"


def fit(
    data: NMData,
    pm: PopulationModel,
    options: FitOptions | None = None,
    warm_start: FitResult | None = None,
    search_center: Any = None,
) -> FitResult:
    """Fit ``pm`` to ``data`` by FOCE(-I); see the module docstring.

    ``warm_start``: a previous fit of the same population model whose estimates start this
    one (and whose refined integration grids are not reused: the subjects may differ).
    ``search_center``: the estimates (anything with ``theta``, ``omega``, ``sigmas``) around
    which ``options.search_range`` confines the search (default: ``warm_start``; a restarted
    bootstrap refit keeps the original fit's box).

    Deterministic: the same data, model and options give bit-identical results. Raises
    :class:`FitError` when the estimation fails (a clean error for bootstrap replicates
    to catch); a fit that ends with a caveat (not converged, covariance step failed)
    returns normally, with the caveats in ``result.warnings`` (also logged and issued as
    :class:`FitWarning`).
    """
    options = options or FitOptions()
    t_start = time.perf_counter()
    problem = build_problem(data, pm)
    try:
        with np.errstate(all="ignore"), kernel_threads(options.threads):
            result = _fit(problem, data, pm, options, warm_start, t_start, search_center)
    except (np.linalg.LinAlgError, FloatingPointError, OverflowError, ZeroDivisionError) as exc:
        raise FitError(f"{data.path}: {pm.model.name}: the estimation failed ({type(exc).__name__}: {exc})") from exc
    except EvaluationBudgetExceeded as exc:
        raise FitError(f"{data.path}: {pm.model.name}: {exc} before the estimation started "
                       f"(max_evaluations = {options.max_evaluations})") from exc
    except GridLimitError as exc:
        sid = problem.design.ids[exc.subject] if exc.subject < len(problem.design.ids) else exc.subject
        raise FitError(f"{data.path}: {pm.model.name}: ID {sid}: {exc}") from exc
    for msg in result.warnings:
        log.warning("%s", msg)
        warnings.warn(msg, FitWarning, stacklevel=2)
    return result


#: An estimate within this fraction of the half-width of its search box is "at the bound".
AT_BOUND_FRACTION = 0.01
#: The search box lets every IIV SD (log scale) grow to at least this (a CV of 131%).
IIV_SD_CEILING = 1.0


def search_bounds(lay: Layout, pm: PopulationModel, center: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """The box of :attr:`FitOptions.search_range` around ``center`` (an ``x`` vector):
    log-scale fixed effects within ``log(factor)`` either way, IIV SDs (the log-Cholesky
    diagonal) at most ``factor`` times their value at ``center`` but at least up to
    :data:`IIV_SD_CEILING` (a variance estimated near 0 may grow in a replicate); everything
    else unbounded."""
    if not factor > 1.0:
        raise ValueError(f"search_range must be > 1 (got {factor})")
    r = float(np.log(factor))
    lo = np.full(lay.n_x, -np.inf)
    hi = np.full(lay.n_x, np.inf)
    for j, k in enumerate(lay.free):
        if pm.model.params[k].transform == "log":
            lo[j], hi[j] = center[j] - r, center[j] + r
    om = lay.slices()[1]
    diag = np.arange(lay.n_omega) if not lay.block else np.flatnonzero(np.equal(*np.tril_indices(lay.q)))
    idx = om.start + diag
    hi[idx] = np.maximum(center[idx] + r, np.log(IIV_SD_CEILING))
    return lo, hi


def at_bound(lay: Layout, pm: PopulationModel, x: np.ndarray, box: SearchBox | None) -> list[str]:
    """Names (:meth:`Layout.x_names`) of the components of ``x`` on (within
    :data:`AT_BOUND_FRACTION` of the half-width of) their search bound."""
    if box is None:
        return []
    lo, hi = box.lo, box.hi
    width = np.where(np.isfinite(lo) & np.isfinite(hi), 0.5 * (hi - lo), np.where(np.isfinite(hi), hi - x, x - lo))
    tol = AT_BOUND_FRACTION * np.where(np.isfinite(width), np.abs(width), 0.0)
    hit = (np.isfinite(lo) & (x - lo <= tol)) | (np.isfinite(hi) & (hi - x <= tol))
    names = lay.x_names(pm)
    return [names[j] for j in np.flatnonzero(hit)]


def _beta_of(estimates: Any) -> np.ndarray | None:
    """The covariate exponents of a previous fit (``beta``), None if it has none."""
    b = getattr(estimates, "beta", None)
    return None if b is None or np.size(b) == 0 else np.asarray(b, dtype=float)


def _start(
    problem: Problem,
    data: NMData,
    options: FitOptions,
    warm_start: FitResult | None,
    search_center: Any = None,
) -> tuple[np.ndarray, SearchBox | None]:
    """Initial estimates of :func:`_fit` and its search box: a warm start's estimates (inside
    the box around ``search_center``, default the warm start, when ``options.search_range`` is
    set), else :func:`initial_x` and no box."""
    lay = problem.layout
    if warm_start is None:
        return initial_x(problem, options, data.path), None
    box = None
    x0 = lay.pack(warm_start.theta, warm_start.omega, warm_start.sigmas, _beta_of(warm_start))
    _check_zero_predictions(problem, problem.typical(x0), data.path)
    if options.search_range is not None:
        c = search_center if search_center is not None else warm_start
        center = lay.pack(c.theta, c.omega, c.sigmas, _beta_of(c))
        box = SearchBox(*search_bounds(lay, problem.pm, center, float(options.search_range)), center=center)
        x0 = box.to_x(box.to_z(x0))  # inside the box
    return x0, box


def _initial_objective(
    problem: Problem, data: NMData, options: FitOptions, x0: np.ndarray, box: SearchBox | None
) -> Objective:
    """The objective of :func:`_fit`, evaluated (cold start) at ``x0`` after the numerics were
    refined there; ``FitError`` if it cannot be evaluated there."""
    obj = Objective(problem, options.inner_tol, max_evaluations=options.max_evaluations, box=box)
    _refine(problem, x0, obj.eta, spread=True)
    ev0 = obj.evaluation(x0, cold=True)
    if _refine(problem, x0, obj.eta):
        obj.reset_cache()
        ev0 = obj.evaluation(x0)
    if not ev0.finite:
        raise FitError(
            f"{data.path}: {problem.pm.model.name}: the objective function cannot be evaluated at the initial "
            f"estimates for {_bad_subjects(problem, ev0.ofv_subject)}; check the data of these subjects and the "
            "initial values"
        )
    return obj


def _estimate(
    problem: Problem, obj: Objective, x0: np.ndarray, options: FitOptions, hess_inv0: np.ndarray
) -> tuple[np.ndarray, dict[str, Any]]:
    """The estimates of :func:`_fit` from ``x0`` and the optimiser's report (``iterations``
    and ``grid_refits`` over all passes): a first pass of a few iterations, then the numerics
    (ODE grids) are refined at the modes there -- near the solution -- before the fit is run to
    convergence, refining again (at most ``options.max_refits`` times) when the grids change."""
    x = x0
    report: dict[str, Any] = {}
    n_iter = 0
    refits = 0
    numerics = type(problem.pm.model).refine is not StructuralModel.refine
    stages = [options.warmup_iter] if numerics and options.warmup_iter else []
    for refits in range(options.max_refits + 1 + len(stages)):
        limit = stages[refits] if refits < len(stages) else max(options.max_iter - n_iter, 1)
        x, report = _optimise(obj, x, options, hess_inv0, max_iter=limit)
        n_iter += report["iterations"]
        obj.value(x)
        if report["budget_exhausted"]:
            break
        if not _refine(problem, x, obj.eta):
            if refits >= len(stages):
                break
            continue
        log.info("integration grid refined at the current estimates; resuming the fit")
        obj.reset_cache()
        hess_inv0 = _safe_hess_inv(report["hess_inv"], hess_inv0)
    report["iterations"] = n_iter
    report["grid_refits"] = refits
    return x, report


def _fit_warnings(report: dict[str, Any], res: InnerResult, options: FitOptions) -> list[str]:
    """Warnings of a fit: not converged (``report`` of :func:`_estimate`), conditional modes not
    converged (``res``)."""
    out = []
    if not report["converged"]:
        out.append(
            f"estimation did not converge: {report['message']} (largest |OFV gradient| "
            f"{report['gradient_max_abs']:.3g}, tolerance {options.gtol:g})"
        )
    n_nc = int((~res.converged).sum())
    if n_nc:
        out.append(f"conditional modes (EBEs) not converged for {n_nc} of {res.converged.size} subjects")
    return out


def _fit(
    problem: Problem,
    data: NMData,
    pm: PopulationModel,
    options: FitOptions,
    warm_start: FitResult | None,
    t_start: float,
    search_center: Any = None,
) -> FitResult:
    from fcrnpipe.nlme.covariance import covariance_step

    lay = problem.layout
    x0, box = _start(problem, data, options, warm_start, search_center)
    obj = _initial_objective(problem, data, options, x0, box)
    if warm_start is None:
        x0 = _em_start(obj, x0)
    t_init = time.perf_counter()
    hess_inv0 = _initial_hess_inv(obj, x0)
    x, report = _estimate(problem, obj, x0, options, hess_inv0)
    report["at_bound"] = at_bound(lay, pm, x, box)
    # the budget and the box bound the search, not the final evaluation or covariance step
    obj.max_evaluations, obj.box = None, None
    t_est = time.perf_counter()
    final = obj.evaluate(x, obj.eta)
    total, ofv_i, res = final.ofv, final.ofv_subject, final.inner
    if not np.isfinite(total):
        raise FitError(
            f"{data.path}: {pm.model.name}: the objective function cannot be evaluated at the final estimates "
            f"for {_bad_subjects(problem, ofv_i)}"
        )
    report["function_evaluations"] = obj.n_eval
    report["gradient_evaluations"] = obj.n_grad
    report["inner_converged"] = int(res.converged.sum())
    result = FitResult(pm=pm, problem=problem, x=x, inner=res, ofv=total, ofv_subject=ofv_i, optimizer=report)
    result.warnings += _fit_warnings(report, res, options)
    if options.covariance != "none":
        result.covariance = covariance_step(obj, x, options.covariance)
        if not result.covariance.ok:
            result.warnings.append("covariance step failed: " + result.covariance.message)
        elif result.covariance.boundary:
            result.warnings.append("covariance step: " + result.covariance.message)
    t_end = time.perf_counter()
    result.timing = {
        "setup_and_init_s": t_init - t_start,
        "estimation_s": t_est - t_init,
        "covariance_s": t_end - t_est,
        "total_s": t_end - t_start,
    }
    return result
