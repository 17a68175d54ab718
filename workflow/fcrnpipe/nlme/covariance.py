"""Covariance step: standard errors from the curvature of the OFV at the estimates.

``R = (1/2) d2 OFV / dx dx'`` (the observed information, since OFV = -2 log L + const) is
computed by central finite differences of the OFV gradient along the conditional modes'
first-order path (``2 n_x`` gradient evaluations, one model call each; see
:func:`ofv_hessian`). Covariance of ``x``:

* ``hessian`` (default): ``R^-1``;
* ``sandwich``: ``R^-1 S R^-1`` with ``S = sum_i s_i s_i'`` and ``s_i`` the gradient of
  subject ``i``'s ``-log L_i`` (NONMEM's default ``$COV`` matrix).

The step fails -- reported, never silently -- when ``R`` is not positive definite or is
algorithmically singular (smallest eigenvalue below :data:`SINGULAR_RTOL` times the largest:
an over-parameterised model, a parameter without influence on the data). A random-effect standard deviation estimated at the boundary
(``omega < 1e-3``, i.e. a variance below 1e-6) makes ``R`` singular in that direction; it is
then held fixed for the covariance step (its SE is not available) and reported in
``boundary``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Finite-difference step (in units of x, i.e. log-units for log parameters).
HESSIAN_STEP = 1e-4
#: Relative eigenvalue (smallest / largest) below which R counts as algorithmically singular:
#: R is computed by finite differences of the gradient, whose relative accuracy is about
#: 1e-6, so a smaller eigenvalue cannot be told from 0.
SINGULAR_RTOL = 1e-8
#: Random-effect SD below which a variance is treated as estimated at the boundary (0).
BOUNDARY_SD = 1e-3


@dataclass
class CovarianceResult:
    """Outcome of the covariance step (``cov_x``: covariance of ``x``; NaN where unavailable)."""

    method: str
    ok: bool
    message: str
    cov_x: np.ndarray
    r_matrix: np.ndarray
    eigenvalues: np.ndarray = field(default_factory=lambda: np.zeros(0))
    condition_number: float = float("nan")
    boundary: list[int] = field(default_factory=list)


def _boundary_indices(obj, x: np.ndarray) -> list[int]:
    lay = obj.problem.layout
    sl = lay.slices()[1]
    idx = np.arange(lay.n_x)[sl]
    if lay.q == 0:
        return []
    if not lay.block:
        return [int(i) for i, v in zip(idx, x[sl]) if np.exp(v) < BOUNDARY_SD]
    rows, cols = np.tril_indices(lay.q)
    return [int(i) for i, r, c, v in zip(idx, rows, cols, x[sl]) if r == c and np.exp(v) < BOUNDARY_SD]


def ofv_hessian(obj, x: np.ndarray, step: float = HESSIAN_STEP) -> tuple[np.ndarray, np.ndarray]:
    """Hessian of the OFV ``(n, n)`` by central differences of its gradient, symmetrised; and
    the per-subject OFV gradients at ``x`` ``(N, n)``.

    The gradient at ``x +- h e_k`` is the implicit-function formula of
    :func:`fcrnpipe.nlme.foce.ofv_gradient` evaluated at the modes predicted to first order,
    ``eta +- h d eta/dx_k``, not re-solved (:meth:`~fcrnpipe.nlme.estimate.Objective.evaluate`
    with ``solve=False``: one model call per point). The predictions miss the modes by the same
    ``h^2/2 d2 eta/dx_k2`` on both sides, which cancels in the central difference: the result
    is the total derivative ``dG/dx + dG/deta d eta/dx`` to ``O(h^2)``, as with re-solved modes,
    without their noise (modes solved to the inner tolerance, ~1e-8, whose error the difference
    divides by ``2h``). Pure: the objective's cache and incumbent are left as they are."""
    n = x.size
    _, grads = obj.gradient_subjects(x)
    grads = grads.copy()
    warm = obj.warm_start_at(x)
    hess = np.zeros((n, n))
    for k in range(n):
        gk = []
        for sgn in (1.0, -1.0):
            xx = x.copy()
            xx[k] += sgn * step
            ev = obj.evaluate(xx, warm, solve=False)
            gk.append(obj.gradient_of(ev).total if ev.finite else np.full(n, np.nan))
        hess[:, k] = (gk[0] - gk[1]) / (2 * step)
    return 0.5 * (hess + hess.T), grads


def covariance_step(obj, x: np.ndarray, method: str = "hessian", step: float = HESSIAN_STEP) -> CovarianceResult:
    """Run the covariance step at the estimates ``x`` (see the module docstring)."""
    if method not in ("hessian", "sandwich"):
        raise ValueError(f"unknown covariance method {method!r}")
    n = x.size
    hess, grads = ofv_hessian(obj, x, step)
    r_full = 0.5 * hess
    nan_cov = np.full((n, n), np.nan)
    boundary = _boundary_indices(obj, x)
    keep = np.array([i for i in range(n) if i not in boundary], dtype=int)
    names = obj.problem.layout.x_names(obj.problem.pm)
    if not np.all(np.isfinite(r_full[np.ix_(keep, keep)])):
        return CovarianceResult(method, False, "the OFV could not be evaluated around the estimates", nan_cov, r_full, boundary=boundary)
    r = r_full[np.ix_(keep, keep)]
    w, v = np.linalg.eigh(r)
    cond = float(w[-1] / w[0]) if w[0] > 0 else float("inf")
    if w[0] <= SINGULAR_RTOL * max(abs(w[-1]), 1e-300):
        comp = np.abs(v[:, 0])
        top = [names[keep[i]] for i in np.argsort(-comp)[:3] if comp[i] > 0.2]
        msg = (
            f"R matrix (half the OFV Hessian) is not positive definite: smallest eigenvalue {w[0]:.3g} "
            f"(largest {w[-1]:.3g}); the direction involves {', '.join(top) or 'several parameters'}. "
            "Standard errors are not available (over-parameterised model or not at a minimum)."
        )
        return CovarianceResult(method, False, msg, nan_cov, r_full, eigenvalues=w, condition_number=cond, boundary=boundary)
    rinv = (v / w) @ v.T
    if method == "sandwich":
        s = 0.25 * grads[:, keep].T @ grads[:, keep]
        cov = rinv @ s @ rinv
    else:
        cov = rinv
    cov_x = nan_cov.copy()
    cov_x[np.ix_(keep, keep)] = 0.5 * (cov + cov.T)
    msg = "ok"
    if boundary:
        msg = (
            "ok; estimated at the boundary (variance ~ 0) and held fixed for the covariance step: "
            + ", ".join(names[i] for i in boundary)
        )
    return CovarianceResult(method, True, msg, cov_x, r_full, eigenvalues=w, condition_number=cond, boundary=boundary)
