"""FOCE-I / Laplacian objective function: conditional modes (EBEs), OFV and its gradient.

For subject ``i`` with observations ``y_ij`` (uncensored) and ``y_ik < LLOQ_ik`` (censored,
M3), predictions ``f_ij(eta)`` and residual variances ``V_ij = V(f_ij)``, the conditional
objective is::

    l_i(eta) = 1/2 sum_j [log V_ij + (y_ij - f_ij)^2 / V_ij] - sum_k log Phi(z_ik)
               + 1/2 eta' Omega^-1 eta,          z_ik = (LLOQ_ik - f_ik) / sqrt(V_ik)

Its minimiser is the empirical Bayes estimate (conditional mode) ``eta_i``. The Laplace
approximation of the marginal likelihood with the first-order (expected-information) Hessian

    H_i = Omega^-1 + sum_j g_j g_j' (1/V_ij + 1/2 (dV/df_ij / V_ij)^2)
                   + sum_k g_k g_k' kappa(z_ik) (dz/df_ik)^2,       g = df/deta

(``kappa = lambda (z + lambda)``, ``lambda = phi(z)/Phi(z)``, the curvature of ``-log Phi``)
gives the objective function value (for a censored record this is the Gauss-Newton part of
the curvature of ``-log Phi(z(eta))``: the exact term also has ``-lambda d2z/deta2``, which is
dropped here exactly as FOCE's first-order Hessian drops ``r d2f/deta2`` for uncensored records;
NONMEM's LAPLACIAN method would keep both -- an approximation, documented in docs/nlme.md)::

    OFV = sum_i [ 2 l_i(eta_i) + log det Omega + log det H_i ]

This is NONMEM's FOCE with interaction (variances evaluated at the individual predictions;
identical to FOCE and to the Lindstrom-Bates / R ``nlme`` approximation when the error is
additive) in the form of nlmixr2's ``focei`` (``H = 0.5*(a' B a + c' c) + Omega^-1`` with
``B = 2/V``, ``c = (dV/deta)/V``; Almquist et al. 2015). For a model linear in eta with an
additive error it is the exact marginal likelihood. Constants: ``OFV = -2 log L -
n_uncensored * log(2 pi)`` (NONMEM convention: the ``2 pi`` term of each uncensored normal
observation is dropped); the log-likelihood reported is the full one, ``log L = -(OFV +
n_uncensored log(2 pi)) / 2``, comparable with R ``logLik(nlme)``.

Derivatives. Parameters are mu-referenced (``phi_ik = theta_k + sum_c beta_c z_ic + eta_ik`` on
the estimation scale, with covariate effects ``z``), so derivatives of the predictions with
respect to eta and to theta are derivatives with respect to ``phi``, and those with respect to
an estimated exponent ``beta_c`` are ``z_ic`` times them. One model call per iteration gives ``f``, ``df/dphi`` and
``d2f/dphi2`` (``D`` = number of parameters that are estimated or carry a random effect): a
model that provides ``derivatives`` (the ODE models: compiled second-order forward-mode
differentiation of the integrator, :mod:`fcrnpipe.models.kernels`) gives the exact
derivatives of its numerical solution; otherwise (the closed-form ``oral1cmt``) central
differences over ``1 + D + D^2`` perturbed rows per subject. From these:

* the conditional modes by Newton's method with the exact Hessian of ``l_i`` (falling back
  to the first-order Hessian ``H_i`` where the exact one is not positive definite), with a
  backtracking line search per subject;
* the OFV gradient analytically, by the implicit-function theorem at the modes::

      dOFV_i/dx = dF_i/dx - d_i' A_i^-1 d(grad_eta l_i)/dx,   F_i = 2 l_i + log det Omega + log det H_i

  (``d_i = grad_eta log det H_i``, ``A_i`` the exact Hessian of ``l_i``) with the partial
  derivatives in theta, Omega (log-Cholesky) and the residual SDs (log) written out; no
  further model evaluations are needed (checked against finite differences of the OFV with
  re-optimised modes in ``tests/test_nlme_estimator.py``).

Everything is batched over subjects (rows of one model call).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import log_ndtr

from fcrnpipe.models.base import Design
from fcrnpipe.nlme.errormodel import ErrorModel
from fcrnpipe.nlme.spec import Layout, PopulationModel

LOG_2PI = math.log(2.0 * math.pi)
_LOG_SQRT_2PI = 0.5 * LOG_2PI
#: Finite-difference step (estimation scale) for the derivatives of the predictions of models
#: without exact derivatives (the closed-form ``oral1cmt``; the ODE models differentiate their
#: integrator exactly, :mod:`fcrnpipe.models.kernels`). Chosen for the ODE models formerly: a
#: compromise between truncation error (O(h^2); the late, steeply falling concentrations of
#: saturable elimination have large third derivatives) and the rounding noise of an ODE
#: solution (~1e-14 relative, amplified 1/h^2 in second derivatives): about 1e-6 relative
#: error in first and 1e-5 in second derivatives for sc1cmt_mm.
FD_STEP = 1e-4


@dataclass
class Problem:
    """Data and model of one fit, as padded ``(N, M)`` arrays (``N`` subjects).

    ``use``: uncensored observations in the likelihood; ``cens``: censored (M3) records;
    ``ep``: endpoint index of each record (position in ``layout.endpoints``). ``prep`` is the
    model's prepared design; it may be replaced by a refined one (ODE grids).
    """

    pm: PopulationModel
    layout: Layout
    design: Design
    prep: Any
    y: np.ndarray
    use: np.ndarray
    cens: np.ndarray
    lloq: np.ndarray
    ep: np.ndarray
    errors: tuple[ErrorModel, ...]
    fd_central: bool = True
    records: Any = None  # the dataset records (NMData.columns: one array per column) the problem was built from
    zcov: np.ndarray | None = None  # (N, C) covariate effects log(cov/ref) of the relations
    cov_values: np.ndarray | None = None  # (N, C) the covariate values themselves

    def typical(self, x: np.ndarray) -> np.ndarray:
        """Typical values of ``x`` on the estimation scale: ``(p,)`` without covariate
        relations, ``(N, p)`` per subject with them (:meth:`Layout.typical`)."""
        lay = self.layout
        return lay.typical(lay.theta(x), lay.beta(x), self.zcov)

    @property
    def n_subjects(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_uncensored(self) -> int:
        return int(self.use.sum())

    @property
    def n_censored(self) -> int:
        return int(self.cens.sum())


# ----------------------------------------------------------------------------- predictions
def _phi(layout: Layout, theta: np.ndarray, eta: np.ndarray, sid: np.ndarray | None = None) -> np.ndarray:
    """Estimation-scale parameters ``(R, p)`` of rows ``r``: ``theta`` (``(p,)``, or per
    subject ``(N, p)`` with covariates: row ``sid[r]``, or row ``r`` without ``sid``) plus the
    random effects ``eta[r]``."""
    theta = np.asarray(theta, dtype=float)
    if theta.ndim == 2:
        phi = theta[np.asarray(sid, dtype=int)] if sid is not None else theta.copy()
        if phi.shape[0] != eta.shape[0]:
            raise ValueError("per-subject typical values need the subject of each row")
    else:
        phi = np.repeat(theta[None, :], eta.shape[0], axis=0)
    if layout.q:
        phi[:, layout.iiv_index] += eta
    return phi


def individual_params(
    layout: Layout, pm: PopulationModel, theta: np.ndarray, eta: np.ndarray, sid: np.ndarray | None = None
) -> np.ndarray:
    """Natural-scale parameters ``(R, p)`` for estimation-scale ``theta`` and ``eta`` ``(R, q)``
    (``theta`` ``(p,)``, or per-subject typical values ``(N, p)`` with ``sid`` the subject of
    each row, default row ``r`` = subject ``r``)."""
    return _natural(pm, _phi(layout, theta, eta, sid))


def _natural(pm: PopulationModel, phi: np.ndarray) -> np.ndarray:
    out = np.empty_like(phi)
    for k, spec in enumerate(pm.model.params):
        out[:, k] = spec.to_nat(phi[:, k])
    return out


def predict(problem: Problem, theta: np.ndarray, eta: np.ndarray, sid: np.ndarray) -> np.ndarray:
    """Predictions ``(R, M)`` for rows ``(eta[r], sid[r])``."""
    nat = individual_params(problem.layout, problem.pm, theta, eta, sid)
    return problem.pm.model.predict(problem.prep, nat, sid)


def _fd_steps(problem: Problem, theta: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Step per differentiated parameter ``idx``: ``FD_STEP`` on the log scale, relative otherwise."""
    specs = problem.pm.model.params
    th = np.atleast_2d(np.asarray(theta, dtype=float))
    return np.array(
        [FD_STEP if specs[k].transform == "log" else FD_STEP * max(1.0, float(np.max(np.abs(th[:, k])))) for k in idx]
    )


def _fd_stencil(h: np.ndarray, second: bool) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The shifts ``(S, d)`` of the central-difference stencil of :func:`model_derivs` (steps
    ``h``): 0, then ``+-h_k`` for each ``k``, then (``second``) ``+-(h_k + h_l)`` for each pair
    ``k < l``, and the pairs in that order.

    >>> sh, pairs = _fd_stencil(np.array([0.1, 0.2]), True)
    >>> sh.tolist(), pairs
    ([[0.0, 0.0], [0.1, 0.0], [-0.1, -0.0], [0.0, 0.2], [-0.0, -0.2], [0.1, 0.2], [-0.1, -0.2]], [(0, 1)])
    """
    d = h.size
    shifts = [np.zeros(d)]
    for k in range(d):
        e = np.zeros(d)
        e[k] = h[k]
        shifts.append(e)
        shifts.append(-e)
    pairs = []
    if second:
        for k in range(d):
            for l_ in range(k + 1, d):
                e = np.zeros(d)
                e[k], e[l_] = h[k], h[l_]
                shifts.append(e)
                shifts.append(-e)
                pairs.append((k, l_))
    return np.asarray(shifts), pairs


def _fd_hessian(pred: np.ndarray, h: np.ndarray, pairs: list[tuple[int, int]]) -> np.ndarray:
    """``d2f/dphi2`` ``(n, M, d, d)`` from the predictions ``(S, n, M)`` on the stencil of
    :func:`_fd_stencil` (see :func:`model_derivs` for the formula)."""
    d = h.size
    f0 = pred[0]
    plus = pred[1 : 1 + 2 * d : 2]  # (d, n, M)
    minus = pred[2 : 2 + 2 * d : 2]
    hess = np.empty(f0.shape + (d, d))
    diag = (plus - 2.0 * f0[None] + minus) / (h[:, None, None] ** 2)
    for k in range(d):
        hess[:, :, k, k] = diag[k]
    base = 1 + 2 * d
    for m, (k, l_) in enumerate(pairs):
        fpp = pred[base + 2 * m]
        fmm = pred[base + 2 * m + 1]
        v = (fpp - plus[k] - plus[l_] + 2.0 * f0 - minus[k] - minus[l_] + fmm) / (2.0 * h[k] * h[l_])
        hess[:, :, k, l_] = v
        hess[:, :, l_, k] = v
    return hess


def model_derivs(
    problem: Problem,
    theta: np.ndarray,
    eta: np.ndarray,
    sid: np.ndarray,
    second: bool = True,
    idx: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``f`` ``(n, M)``, ``df/dphi`` ``(n, M, D)`` and (``second``) ``d2f/dphi2`` ``(n, M, D, D)``
    over the parameters ``idx`` (default :attr:`Layout.diff_index`): from the model's exact
    ``derivatives`` if it has them (:meth:`fcrnpipe.models.base.StructuralModel.derivatives`),
    else by central differences in one model call. Each derivative is computed by the same
    operations whichever other parameters are differentiated alongside (forward-mode jets and
    the stencil alike work per component), so a subset ``idx`` gives the same bits as the
    matching columns of the full set, for less work.

    Stencil: ``f0``, ``f(+-h_k)``, and for ``k < l`` ``f(+h_k+h_l)``, ``f(-h_k-h_l)``;
    ``f_kl = [f(++) - f(+k) - f(+l) + 2 f0 - f(-k) - f(-l) + f(--)] / (2 h_k h_l)``
    (all O(h^2)).
    """
    lay = problem.layout
    n = eta.shape[0]
    idx = lay.diff_index if idx is None else np.asarray(idx, dtype=int)
    d = idx.size
    phi = _phi(lay, theta, eta, sid)
    exact = getattr(problem.pm.model, "derivatives", None)
    if exact is not None:
        specs = problem.pm.model.params
        log_scale = np.array([specs[k].transform == "log" for k in idx], dtype=bool)
        return exact(problem.prep, _natural(problem.pm, phi), sid, idx, log_scale, second)
    if d == 0:
        f = problem.pm.model.predict(problem.prep, _natural(problem.pm, phi), sid)
        return f, np.zeros(f.shape + (0,)), (np.zeros(f.shape + (0, 0)) if second else None)
    h = _fd_steps(problem, theta, idx)
    sh, pairs = _fd_stencil(h, second)  # (S, d)
    s_n = sh.shape[0]
    rows = np.repeat(phi[None, :, :], s_n, axis=0)  # (S, n, p)
    rows[:, :, idx] += sh[:, None, :]
    pred = problem.pm.model.predict(problem.prep, _natural(problem.pm, rows.reshape(s_n * n, -1)), np.tile(sid, s_n))
    pred = pred.reshape(s_n, n, -1)
    f0 = pred[0]
    plus = pred[1 : 1 + 2 * d : 2]  # (d, n, M)
    minus = pred[2 : 2 + 2 * d : 2]
    jac = np.moveaxis((plus - minus) / (2.0 * h[:, None, None]), 0, 2)
    if not second:
        return f0, jac, None
    return f0, jac, _fd_hessian(pred, h, pairs)


def predict_jac(problem: Problem, theta: np.ndarray, eta: np.ndarray, sid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predictions ``(n, M)`` and ``df/deta`` ``(n, M, q)`` (differentiated in the parameters
    with a random effect only)."""
    lay = problem.layout
    f, g, _ = model_derivs(problem, theta, eta, sid, second=False, idx=lay.iiv_index)
    return f, _as_eta_columns(g, lay)


def _as_eta_columns(g: np.ndarray, lay: Layout) -> np.ndarray:
    """``g`` ``(n, M, q)`` (derivatives in the random effects) laid out in memory as the eta
    columns taken out of a full ``(n, M, D)`` Jacobian are: numpy's sums over such arrays
    then run in the same order, so the results are the same bits as from the full Jacobian."""
    full = np.empty(g.shape[:2] + (lay.diff_index.size,))
    full[:, :, lay.eta_cols] = g
    return full[:, :, lay.eta_cols]


# ----------------------------------------------------------------------------- record terms
def _variance(problem: Problem, f: np.ndarray, sid: np.ndarray, sigmas: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Residual variance ``V`` and ``dV/df`` per record (1 and 0 outside the endpoints)."""
    v = np.ones_like(f)
    dv = np.zeros_like(f)
    ep = problem.ep[sid]
    for k, em in enumerate(problem.errors):
        m = ep == k
        if not m.any():
            continue
        vk, dvk = em.variance(np.where(m, f, 1.0), sigmas[k])
        v = np.where(m, vk, v)
        dv = np.where(m, dvk, dv)
    return v, dv


@dataclass
class RecordTerms:
    """Per-record pieces of ``l_i`` (``(n, M)``; zero on inactive records).

    ``ell``: data term; ``ell_f``/``ell_ff``: its first/second derivative in ``f``; ``w``:
    the first-order (expected-information) weight of ``H_i``; ``w_f = dw/df``; with sigma
    derivatives also ``ell_s``, ``ell_fs``, ``w_s`` ``(n, M, S)`` (per log residual SD).
    ``bad``: ``(n,)`` the subject's objective cannot be evaluated.
    """

    ell: np.ndarray
    ell_f: np.ndarray
    ell_ff: np.ndarray
    w: np.ndarray
    w_f: np.ndarray
    bad: np.ndarray
    ell_s: np.ndarray | None = None
    ell_fs: np.ndarray | None = None
    w_s: np.ndarray | None = None


def _error_derivs(
    problem: Problem, f: np.ndarray, sid: np.ndarray, sigmas: list[np.ndarray]
) -> tuple[np.ndarray, ...]:
    n, m = f.shape
    s_tot = problem.layout.n_sigma
    v = np.ones_like(f)
    vf = np.zeros_like(f)
    vff = np.zeros_like(f)
    vs = np.zeros((n, m, s_tot))
    vfs = np.zeros((n, m, s_tot))
    ep = problem.ep[sid]
    off = 0
    for k, em in enumerate(problem.errors):
        nk = em.n_params
        mk = ep == k
        if mk.any():
            a, b, c, d, e = em.derivatives(np.where(mk, f, 1.0), sigmas[k])
            v = np.where(mk, a, v)
            vf = np.where(mk, b, vf)
            vff = np.where(mk, c, vff)
            vs[:, :, off : off + nk] = np.where(mk[:, :, None], d, 0.0)
            vfs[:, :, off : off + nk] = np.where(mk[:, :, None], e, 0.0)
        off += nk
    return v, vf, vff, vs, vfs


def record_terms(
    problem: Problem, f: np.ndarray, sid: np.ndarray, sigmas: list[np.ndarray], sigma_derivs: bool = False
) -> RecordTerms:
    """The per-record terms of ``l_i`` and their derivatives (see :class:`RecordTerms`).

    Uncensored (``r = y - f``)::

        ell = 1/2 (log V + r^2/V),  ell_f = -r/V + 1/2 V_f (1/V - r^2/V^2),  w = 1/V + 1/2 (V_f/V)^2

    Censored (M3): ``ell = -log Phi(z)``, ``z = (LLOQ - f)/sqrt(V)``, ``w = kappa z_f^2``. A
    censored record whose variance is 0 (proportional error, prediction exactly 0, e.g. a
    pre-dose sample) is below the LLOQ with probability 1 and contributes nothing.
    """
    use = problem.use[sid]
    cens = problem.cens[sid]
    ff = np.where(use | cens, f, 1.0)
    v, vf, vff, vs, vfs = _error_derivs(problem, ff, sid, sigmas)
    if problem.cens.any():
        lloq = problem.lloq[sid]
        certain = cens & np.isfinite(ff) & (v == 0.0) & (ff < lloq)
        cens = cens & ~certain
    active = use | cens
    bad_rec = active & ~(np.isfinite(ff) & np.isfinite(v) & (v > 0))
    bad = bad_rec.any(axis=1)
    v = np.where(bad_rec | ~active, 1.0, v)
    ff = np.where(bad_rec, 0.0, ff)
    iv = 1.0 / v
    r = np.where(use, problem.y[sid] - ff, 0.0)
    q1 = iv - r * r * iv * iv  # 1/V - r^2/V^2
    zero = np.zeros_like(ff)
    ell = np.where(use, 0.5 * (np.log(v) + r * r * iv), zero)
    ell_f = np.where(use, -r * iv + 0.5 * vf * q1, zero)
    ell_ff = np.where(
        use,
        iv + 2.0 * r * vf * iv * iv + 0.5 * vff * q1 - 0.5 * vf * vf * iv * iv + r * r * vf * vf * iv**3,
        zero,
    )
    w = np.where(use, iv + 0.5 * (vf * iv) ** 2, zero)
    w_f = np.where(use, -vf * iv * iv + vf * vff * iv * iv - vf**3 * iv**3, zero)
    ell_s = ell_fs = w_s = None
    if sigma_derivs:
        ell_s, ell_fs, w_s = _uncensored_sigma_terms(use, iv, r, q1, vf, vs, vfs)
    rt = RecordTerms(ell=ell, ell_f=ell_f, ell_ff=ell_ff, w=w, w_f=w_f, bad=bad, ell_s=ell_s, ell_fs=ell_fs, w_s=w_s)
    if cens.any():
        rt = _with_censored_terms(rt, cens, np.where(cens, problem.lloq[sid] - ff, 0.0), v, vf, vff, vs, vfs,
                                  sigma_derivs)
    return rt


def _uncensored_sigma_terms(
    use: np.ndarray,
    iv: np.ndarray,
    r: np.ndarray,
    q1: np.ndarray,
    vf: np.ndarray,
    vs: np.ndarray,
    vfs: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``ell_s``, ``ell_fs`` and ``w_s`` ``(n, M, S)`` of the uncensored records (part of
    :func:`record_terms`; ``iv = 1/V``, ``r`` the residuals, ``q1 = 1/V - r^2/V^2``)."""
    u3 = use[:, :, None]
    ivs = iv[:, :, None]
    r3 = r[:, :, None]
    vf3 = vf[:, :, None]
    ell_s = np.where(u3, 0.5 * vs * q1[:, :, None], 0.0)
    ell_fs = np.where(
        u3,
        r3 * vs * ivs**2 + 0.5 * vfs * q1[:, :, None] + 0.5 * vf3 * (-vs * ivs**2 + 2.0 * r3**2 * vs * ivs**3),
        0.0,
    )
    w_s = np.where(u3, -vs * ivs**2 + (vf3 * ivs) * (vfs * ivs - vf3 * vs * ivs**2), 0.0)
    return ell_s, ell_fs, w_s


def _with_censored_terms(
    rt: RecordTerms,
    cens: np.ndarray,
    dd: np.ndarray,
    v: np.ndarray,
    vf: np.ndarray,
    vff: np.ndarray,
    vs: np.ndarray,
    vfs: np.ndarray,
    sigma_derivs: bool,
) -> RecordTerms:
    """``rt`` plus the terms of the censored (M3) records ``cens`` (part of
    :func:`record_terms`; ``dd = LLOQ - f`` on them, 0 elsewhere)."""
    ell, ell_f, ell_ff, w, w_f = rt.ell, rt.ell_f, rt.ell_ff, rt.w, rt.w_f
    ell_s, ell_fs, w_s = rt.ell_s, rt.ell_fs, rt.w_s
    sv = np.sqrt(v)
    z = dd / sv
    lphi = log_ndtr(z)
    lam = np.exp(-0.5 * z * z - _LOG_SQRT_2PI - lphi)
    kap = lam * (z + lam)
    kap_z = -kap * (z + lam) + lam * (1.0 - kap)
    v15 = v * sv
    z_f = -1.0 / sv - 0.5 * dd * vf / v15
    z_ff = vf / v15 + 0.75 * dd * vf * vf / (v15 * v) - 0.5 * dd * vff / v15
    ell = ell + np.where(cens, -lphi, 0.0)
    ell_f = ell_f + np.where(cens, -lam * z_f, 0.0)
    ell_ff = ell_ff + np.where(cens, kap * z_f * z_f - lam * z_ff, 0.0)
    w = w + np.where(cens, kap * z_f * z_f, 0.0)
    w_f = w_f + np.where(cens, kap_z * z_f**3 + 2.0 * kap * z_f * z_ff, 0.0)
    if sigma_derivs:
        c3 = cens[:, :, None]
        z_s = -0.5 * (z / v)[:, :, None] * vs
        z_fs = (
            0.5 * vs / v15[:, :, None]
            + 0.75 * (dd * vf / (v15 * v))[:, :, None] * vs
            - 0.5 * (dd / v15)[:, :, None] * vfs
        )
        zf3 = z_f[:, :, None]
        ell_s = ell_s + np.where(c3, -lam[:, :, None] * z_s, 0.0)
        ell_fs = ell_fs + np.where(c3, kap[:, :, None] * z_s * zf3 - lam[:, :, None] * z_fs, 0.0)
        w_s = w_s + np.where(c3, kap_z[:, :, None] * z_s * zf3**2 + 2.0 * kap[:, :, None] * zf3 * z_fs, 0.0)
    return RecordTerms(ell=ell, ell_f=ell_f, ell_ff=ell_ff, w=w, w_f=w_f, bad=rt.bad, ell_s=ell_s, ell_fs=ell_fs, w_s=w_s)


def data_terms(
    problem: Problem,
    f: np.ndarray,
    g: np.ndarray | None,
    sid: np.ndarray,
    sigmas: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Data part of ``l_i`` (``(n,)``) and, if ``g = df/deta`` is given, its gradient
    ``(n, q)`` and first-order Hessian ``(n, q, q)``. Non-finite predictions give ``inf``."""
    rt = record_terms(problem, f, sid, sigmas)
    l = np.where(rt.bad, np.inf, rt.ell.sum(axis=1))
    if g is None:
        return l, None, None
    grad = np.einsum("nm,nmq->nq", rt.ell_f, g)
    hess = np.einsum("nmq,nm,nmr->nqr", g, rt.w, g)
    return l, grad, hess


# ----------------------------------------------------------------------------- inner problem
@dataclass
class InnerResult:
    """Conditional modes and the quantities of the OFV at them (all subjects).

    ``f``, ``jac`` (``df/dphi``), ``jac2`` (``d2f/dphi2``) are evaluated at ``eta``; ``g`` is
    ``df/deta``; ``hess`` the first-order Hessian ``H_i`` (the OFV's), ``exact`` the exact
    Hessian of ``l_i`` (NaN where unavailable).
    """

    eta: np.ndarray  # (N, q)
    l: np.ndarray  # (N,) conditional objective at eta
    hess: np.ndarray  # (N, q, q) first-order Hessian at eta
    f: np.ndarray  # (N, M) individual predictions
    g: np.ndarray  # (N, M, q) df/deta
    converged: np.ndarray  # (N,) bool
    iterations: int
    jac: np.ndarray | None = None  # (N, M, D)
    jac2: np.ndarray | None = None  # (N, M, D, D)
    exact: np.ndarray | None = None  # (N, q, q)
    second_order: np.ndarray | None = None  # kept for compatibility (unused)


def _quad(e: np.ndarray, oinv: np.ndarray) -> np.ndarray:
    return 0.5 * np.einsum("nq,qr,nr->n", e, oinv, e)


def _is_pd(m: np.ndarray) -> np.ndarray:
    """Per-matrix positive definiteness of a stack ``(n, q, q)``."""
    if m.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    ok = np.all(np.isfinite(m), axis=(1, 2))
    out = np.zeros(m.shape[0], dtype=bool)
    if ok.any():
        out[ok] = np.all(np.linalg.eigvalsh(m[ok]) > 0, axis=1)
    return out


def _modified_newton(exact: np.ndarray, first_order: np.ndarray) -> np.ndarray:
    """The matrix of the Newton step: the exact Hessian where it is positive definite;
    elsewhere (a non-convex region of ``l_i``) the exact Hessian with its eigenvalues
    replaced by their absolute values, floored at 1e-3 times the smallest eigenvalue of the
    first-order Hessian (which is positive definite) -- so that directions of negative
    curvature are followed downhill instead of crawled along by Gauss-Newton steps; the
    first-order Hessian where the exact one is not finite."""
    out = np.array(first_order, dtype=float, copy=True)
    finite = np.all(np.isfinite(exact), axis=(1, 2)) & np.all(np.isfinite(first_order), axis=(1, 2))
    if not finite.any():
        return out
    w, v = np.linalg.eigh(exact[finite])
    floor = 1e-3 * np.linalg.eigvalsh(first_order[finite])[:, :1]
    w = np.maximum(np.abs(w), np.maximum(floor, 1e-12))
    out[finite] = np.einsum("nij,nj,nkj->nik", v, w, v)
    return out


def _eval_point(
    problem: Problem, theta: np.ndarray, oinv: np.ndarray, sigmas: list[np.ndarray], e: np.ndarray, sid: np.ndarray,
    full: bool | np.ndarray = True,
) -> dict[str, np.ndarray]:
    """Objective, gradient, first-order and exact Hessian of ``l_i`` at ``e`` (rows ``sid``).

    ``full`` (bool, or per row): the model derivatives in every parameter of
    :attr:`Layout.diff_index` (what the OFV gradient needs at the modes); otherwise in the
    parameters with a random effect only (what a Newton step needs; the same bits in those,
    less work), the other columns of ``jac``/``jac2`` NaN. Rows of both kinds: two model calls."""
    mask = np.broadcast_to(np.asarray(full, dtype=bool), sid.shape)
    if 0 < np.count_nonzero(mask) < sid.size:
        parts = [(rows, _eval_point(problem, theta, oinv, sigmas, e[rows], sid[rows], full=kind))
                 for rows, kind in ((np.flatnonzero(mask), True), (np.flatnonzero(~mask), False))]
        out = {}
        for key, val in parts[0][1].items():
            out[key] = np.empty((sid.size,) + val.shape[1:], dtype=val.dtype)
            for rows, ev in parts:
                out[key][rows] = ev[key]
        return out
    full = bool(mask.all())
    lay = problem.layout
    ec = lay.eta_cols
    if full:
        f, jac, jac2 = model_derivs(problem, theta, e, sid, second=True)
    else:
        f, g_e, k_e = model_derivs(problem, theta, e, sid, second=True, idx=lay.iiv_index)
        d = lay.diff_index.size
        jac = np.full(f.shape + (d,), np.nan)
        jac[:, :, ec] = g_e
        jac2 = np.full(f.shape + (d, d), np.nan)
        jac2[:, :, ec[:, None], ec[None, :]] = k_e
    # (taken out of jac/jac2 in both cases: the sums below then see the same memory layout,
    # hence the same order of operations and the same bits)
    g = jac[:, :, ec]
    kee = jac2[:, :, ec][:, :, :, ec]
    rt = record_terms(problem, f, sid, sigmas)
    l = rt.ell.sum(axis=1) + _quad(e, oinv)
    l = np.where(rt.bad | ~np.isfinite(l), np.inf, l)
    grad = np.einsum("nm,nmq->nq", rt.ell_f, g) + e @ oinv
    hess = np.einsum("nmq,nm,nmr->nqr", g, rt.w, g) + oinv
    exact = np.einsum("nmq,nm,nmr->nqr", g, rt.ell_ff, g) + np.einsum("nm,nmqr->nqr", rt.ell_f, kee) + oinv
    exact = 0.5 * (exact + np.swapaxes(exact, 1, 2))
    return dict(f=f, jac=jac, jac2=jac2, g=g, l=l, grad=grad, hess=hess, exact=exact)


#: A Newton trial point is evaluated with the full model derivatives (:func:`_eval_point`)
#: when it lies within this distance (largest |eta change|) of the accepted point it steps
#: from: with Newton's quadratic convergence it is then most likely the mode itself (the
#: next step falls below the tolerance), where the OFV gradient needs them. Farther points
#: get the derivatives in the random effects only; a mode found at such a point is evaluated
#: again, in full (the same point, the same bits). Only the work depends on it, not the result.
FULL_DERIVATIVES_STEP = 1e-4


def _capped(step: np.ndarray, max_step: float) -> np.ndarray:
    """The steps ``(n, q)`` scaled so that none moves an eta by more than ``max_step``.

    >>> _capped(np.array([[4.0, -1.0], [0.5, 0.25]]), 2.0).tolist()
    [[2.0, -0.5], [0.5, 0.25]]
    """
    big = np.max(np.abs(step), axis=1)
    return step * np.minimum(1.0, max_step / np.maximum(big, 1e-300))[:, None]


def _surrogate_objective(
    problem: Problem, theta: np.ndarray, oinv: np.ndarray, sigmas: list[np.ndarray], e: np.ndarray, sid: np.ndarray
) -> np.ndarray:
    """The start-up surrogate of :func:`start_modes` at ``e`` (rows ``sid``)."""
    f = predict(problem, theta, e, sid)
    r, _ = _surrogate(problem, f, None, sid, sigmas)
    return 0.5 * np.sum(r * r, axis=1) + _quad(e, oinv)


def _gauss_newton_step(
    problem: Problem,
    theta: np.ndarray,
    oinv: np.ndarray,
    sigmas: list[np.ndarray],
    e: np.ndarray,
    sid: np.ndarray,
    max_step: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The surrogate of :func:`start_modes` at ``e`` (rows ``sid``), its gradient, the
    Gauss-Newton step capped at ``max_step`` and whether the Newton system was finite (where it
    was not, the step is 0)."""
    f, g = predict_jac(problem, theta, e, sid)
    r, jr = _surrogate(problem, f, g, sid, sigmas)
    l0 = 0.5 * np.sum(r * r, axis=1) + _quad(e, oinv)
    grad = np.einsum("nmq,nm->nq", jr, r) + e @ oinv
    hess = np.einsum("nmq,nmr->nqr", jr, jr) + oinv
    ok = np.all(np.isfinite(grad), axis=1) & np.all(np.isfinite(hess), axis=(1, 2))
    grad = np.where(ok[:, None], grad, 0.0)
    hess = np.where(ok[:, None, None], hess, oinv)
    step = _capped(-np.linalg.solve(hess, grad[:, :, None])[:, :, 0], max_step)
    return l0, grad, step, ok


def start_modes(
    problem: Problem,
    theta: np.ndarray,
    omega: np.ndarray,
    sigmas: list[np.ndarray],
    eta0: np.ndarray,
    max_iter: int = 15,
    tol: float = 1e-3,
    max_step: float = 1.0,
    subjects: np.ndarray | None = None,
) -> np.ndarray:
    """Robust starting values for the conditional modes (cold start).

    With a proportional error the FOCE-I conditional objective is extremely steep where the
    prediction is far below the observation (typical of saturable elimination, where a
    subject's concentrations can differ from the population prediction by orders of
    magnitude), and Newton from eta = 0 can stall. This minimises a scale-free
    surrogate first -- ``1/2 sum r_j^2 + 1/2 eta' Omega^-1 eta`` with ``r = (log y - log f)/b``
    for proportional endpoints and ``(y - f)/sqrt(V(y))`` otherwise (BLQ records penalised
    only above the LLOQ) -- by damped Gauss-Newton with steps capped at ``max_step``; the
    exact conditional modes are then found by :func:`inner` from there. ``subjects``: only
    these (indices) are moved (default: all).
    """
    n, q = eta0.shape
    if q == 0:
        return eta0.copy()
    oinv = np.linalg.inv(omega)
    eta = np.array(eta0, dtype=float, copy=True)
    active = np.arange(n) if subjects is None else np.asarray(subjects, dtype=int)
    for _ in range(max_iter):
        if active.size == 0:
            break
        l0, grad, step, ok = _gauss_newton_step(problem, theta, oinv, sigmas, eta[active], active, max_step)
        done = (np.max(np.abs(step), axis=1) < tol) | ~ok
        act = active[~done]
        st = step[~done]
        slope = np.einsum("nq,nq->n", grad[~done], st)
        base = l0[~done]
        alpha = np.ones(act.size)
        pending = np.arange(act.size)
        for _ in range(20):
            if pending.size == 0:
                break
            trial = eta[act[pending]] + alpha[pending, None] * st[pending]
            with np.errstate(all="ignore"):
                lt = _surrogate_objective(problem, theta, oinv, sigmas, trial, act[pending])
            ok_t = np.isfinite(lt) & (lt <= base[pending] + 1e-4 * alpha[pending] * slope[pending])
            eta[act[pending[ok_t]]] = trial[ok_t]
            pending = pending[~ok_t]
            alpha[pending] *= 0.5
        stuck = np.zeros(act.size, dtype=bool)
        stuck[pending] = True
        active = act[~stuck]
    return eta


def _surrogate(
    problem: Problem, f: np.ndarray, g: np.ndarray | None, sid: np.ndarray, sigmas: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray | None]:
    """Scale-free residuals ``(n, M)`` (and their eta-Jacobian) of the start-up surrogate."""
    use = problem.use[sid]
    cens = problem.cens[sid]
    ep = problem.ep[sid]
    y = problem.y[sid]
    lloq = problem.lloq[sid]
    r = np.zeros_like(f)
    drdf = np.zeros_like(f)
    for k, em in enumerate(problem.errors):
        m = ep == k
        if not m.any():
            continue
        sd = sigmas[k]
        if em.kind == "proportional":
            b = sd[0]
            fpos = np.maximum(f, 1e-12 * np.maximum(np.abs(y), 1e-12))
            yl = np.where(use, np.log(np.maximum(y, 1e-300)), 0.0)
            ok_u = use & m & (y > 0)
            r = np.where(ok_u, (yl - np.log(fpos)) / b, r)
            drdf = np.where(ok_u, -1.0 / (b * fpos), drdf)
            over = cens & m & (f > lloq)
            r = np.where(over, (np.log(fpos) - np.log(np.maximum(lloq, 1e-300))) / b, r)
            drdf = np.where(over, 1.0 / (b * fpos), drdf)
            raw = use & m & (y <= 0)
            r = np.where(raw, (y - f) / (b * np.maximum(np.abs(f), 1e-12)), r)
            drdf = np.where(raw, -1.0 / (b * np.maximum(np.abs(f), 1e-12)), drdf)
        else:
            vy, _ = em.variance(np.where(use, y, lloq), sd)
            s = np.sqrt(np.maximum(vy, 1e-300))
            r = np.where(use & m, (y - f) / s, r)
            drdf = np.where(use & m, -1.0 / s, drdf)
            over = cens & m & (f > lloq)
            r = np.where(over, (f - lloq) / s, r)
            drdf = np.where(over, 1.0 / s, drdf)
    bad = (use | cens) & ~np.isfinite(f)
    r = np.where(bad, 1e6, r)
    if g is None:
        return r, None
    return r, drdf[:, :, None] * np.where((use | cens)[:, :, None], g, 0.0)


def _no_modes(n: int, q: int, m: int, d: int) -> dict[str, np.ndarray]:
    """The stored quantities of :func:`inner` before any accepted point (``l = inf``)."""
    return dict(
        l=np.full(n, np.inf),
        hess=np.zeros((n, q, q)),
        exact=np.full((n, q, q), np.nan),
        f=np.zeros((n, m)),
        g=np.zeros((n, m, q)),
        jac=np.zeros((n, m, d)),
        jac2=np.zeros((n, m, d, d)),
    )


def _armijo(l_t: np.ndarray, l_old: np.ndarray, alpha: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """Armijo condition of the trial objectives ``l_t`` against ``l_old`` along steps of
    directional derivative ``slope`` scaled by ``alpha``, tolerant of rounding noise."""
    return l_t <= l_old + 1e-4 * alpha * slope + 1e-12 * (1.0 + np.abs(l_old))


def _no_decrease(l_old: np.ndarray, slope: np.ndarray, alpha: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Rejected trials along which no decrease is possible (predicted decrease at the rounding
    level of ``l_i``, or the step vanishing): at the minimum numerically."""
    pred_dec = -slope * alpha
    # (initial=0.0: a model without random effects has q = 0 and nothing to reduce)
    step_max = np.max(np.abs(step), axis=1, initial=0.0)
    return (pred_dec < 1e-11 * (1.0 + np.abs(l_old))) | (alpha * step_max < 1e-9)


def _backtracked_alpha(l_t: np.ndarray, l_old: np.ndarray, slope: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The step factor after a rejected trial at ``alpha``: safeguarded quadratic
    interpolation, within ``[0.1, 0.5] alpha``.

    >>> _backtracked_alpha(np.array([2.0, np.inf]), np.array([1.0, 1.0]), np.array([-1.0, -1.0]),
    ...                    np.array([1.0, 1.0])).tolist()
    [0.25, 0.1]
    """
    denom = 2.0 * (l_t - l_old - slope * alpha)
    with np.errstate(all="ignore"):
        a_q = np.where(np.isfinite(l_t) & (denom > 0), -slope * alpha * alpha / denom, 0.1 * alpha)
    return np.clip(a_q, 0.1 * alpha, 0.5 * alpha)


def _newton_step(exact: np.ndarray, hess: np.ndarray, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Newton steps ``(n, q)`` of :func:`inner` (matrix of :func:`_modified_newton`), with the
    gradients and whether the Newton system was finite (where it was not: gradient and step 0)."""
    q = grad.shape[1]
    newton = _modified_newton(exact, hess)
    ok = np.all(np.isfinite(newton), axis=(1, 2)) & np.all(np.isfinite(grad), axis=1)
    newton = np.where(ok[:, None, None], newton, np.eye(q))
    grad = np.where(ok[:, None], grad, 0.0)
    return grad, -np.linalg.solve(newton, grad[:, :, None])[:, :, 0], ok


def inner(
    problem: Problem,
    theta: np.ndarray,
    omega: np.ndarray,
    sigmas: list[np.ndarray],
    eta0: np.ndarray,
    tol: float = 1e-8,
    max_iter: int = 50,
    max_step: float = 2.0,
    second_order: np.ndarray | None = None,
    subjects: np.ndarray | None = None,
    full_first: bool | np.ndarray = False,
    **_: Any,
) -> InnerResult:
    """Conditional modes of all subjects by damped Newton iterations (batched).

    Each iteration evaluates, for the subjects still iterating, ``f`` and its first and
    second derivatives (one model call, :func:`model_derivs`) at a trial point. The trial is
    accepted if it satisfies the Armijo condition (tolerant of rounding noise); otherwise
    the step is halved and the subject re-evaluated. At an accepted point the Newton step
    uses the exact Hessian of ``l_i`` (the first-order Hessian ``H_i`` where the exact one is
    not positive definite), capped at ``max_step`` in every eta. Convergence per subject:
    the Newton step is below ``tol`` in every eta (Newton's quadratic convergence makes the
    remaining error much smaller still; note that ``log det H_i`` depends on the mode to
    first order, so the OFV is accurate to about ``tol`` per subject), or the step has been
    halved below ``1e-9`` (no decrease possible: the minimum to machine precision). The stored quantities (``f``, derivatives, Hessians) are those at
    the returned modes, as the gradient (:func:`ofv_gradient`) needs. A subject whose
    objective cannot be evaluated at the start is restarted once from eta = 0; a subject whose
    Newton system is not finite (overflow far from any sensible mode) stops, *not* converged.
    ``subjects``: solve for these subjects only (indices; the others keep ``l = inf`` and
    ``converged = False`` in the result). ``second_order`` is ignored (kept for compatibility).

    Work: the Newton steps need the model's derivatives in the random effects only; the
    stored quantities at the modes, those in every parameter of :attr:`Layout.diff_index`.
    A trial point within :data:`FULL_DERIVATIVES_STEP` of the point it steps from (likely the
    mode), and the first one where ``full_first`` (bool, or per subject), is evaluated in full;
    the others in the random effects only, and a mode found at such a point is evaluated again
    in full at the end (one model call for all of them). The points visited, and so the
    result, are the same bits either way.

    Long by design: one batched loop whose phases (accept or restart, backtrack, Newton step)
    update the same per-subject state arrays in place; their arithmetic is in :func:`_armijo`,
    :func:`_no_decrease`, :func:`_backtracked_alpha`, :func:`_newton_step` and :func:`_capped`.
    """
    lay = problem.layout
    n = problem.n_subjects
    q = lay.q
    m = problem.y.shape[1]
    d = lay.diff_index.size
    oinv = np.linalg.inv(omega) if q else np.zeros((0, 0))
    eta = np.array(eta0, dtype=float, copy=True)
    out = _no_modes(n, q, m, d)
    conv = np.zeros(n, dtype=bool)
    restarted = np.zeros(n, dtype=bool)
    has_point = np.zeros(n, dtype=bool)  # an accepted point exists
    grad_acc = np.zeros((n, q))
    step_acc = np.zeros((n, q))  # Newton step from the accepted point
    alpha = np.ones(n)
    trial = eta.copy()
    always = not 0 < q < d  # no derivatives to leave out: every point in full
    want_full = np.zeros(n, dtype=bool)  # the next trial point of the subject: full derivatives
    want_full[:] = np.logical_or(full_first, always)
    full_at = np.zeros(n, dtype=bool)  # the accepted point has the full derivatives
    active = np.arange(n) if subjects is None else np.asarray(subjects, dtype=int)
    it = 0
    for it in range(1, max_iter + 1):
        if active.size == 0:
            break
        with np.errstate(all="ignore"):
            ev = _eval_point(problem, theta, oinv, sigmas, trial[active], active, want_full[active])
        l_t = ev["l"]
        # acceptance of the trial point
        hp = has_point[active]
        l_old = out["l"][active]
        slope = np.einsum("nq,nq->n", grad_acc[active], step_acc[active])
        accept = np.isfinite(l_t) & (~hp | _armijo(l_t, l_old, alpha[active], slope))
        # first evaluation not finite: restart once from 0
        first_bad = ~hp & ~np.isfinite(l_t)
        retry = active[first_bad & ~restarted[active]]
        failed = active[first_bad & restarted[active]]
        restarted[retry] = True
        trial[retry] = 0.0
        want_full[retry] = always
        conv[failed] = False
        acc = active[accept]
        sel = np.flatnonzero(accept)
        for key in _STORED:
            out[key][acc] = ev[key][sel]
        eta[acc] = trial[acc]
        has_point[acc] = True
        full_at[acc] = want_full[acc]
        # rejected trials of subjects with an accepted point: halve the step
        rsel = hp & ~accept
        rej = active[rsel]
        l_rej = l_old[rsel]
        tiny = _no_decrease(l_rej, slope[rsel], alpha[rej], step_acc[rej])
        conv[rej[tiny]] = True
        alpha[rej] = _backtracked_alpha(l_t[rsel], l_rej, slope[rsel], alpha[rej])
        rej = rej[~tiny]
        trial[rej] = eta[rej] + alpha[rej, None] * step_acc[rej]
        want_full[rej] = always | (alpha[rej] * np.max(np.abs(step_acc[rej]), axis=1, initial=0.0) < FULL_DERIVATIVES_STEP)
        if q == 0:
            conv[acc] = True
            active = retry
            continue
        # Newton step from the newly accepted points
        grad, step, ok = _newton_step(ev["exact"][sel], ev["hess"][sel], ev["grad"][sel])
        done = (np.max(np.abs(step), axis=1) < tol) | ~ok
        conv[acc[done & ok]] = True
        go = acc[~done]
        st = _capped(step[~done], max_step)
        grad_acc[go] = grad[~done]
        step_acc[go] = st
        alpha[go] = 1.0
        trial[go] = eta[go] + st
        want_full[go] = always | (np.max(np.abs(st), axis=1) < FULL_DERIVATIVES_STEP)
        active = np.sort(np.concatenate([go, rej, retry]))
    stale = np.flatnonzero(has_point & ~full_at)
    if stale.size:  # modes found at points evaluated in the random effects only
        with np.errstate(all="ignore"):
            ev = _eval_point(problem, theta, oinv, sigmas, eta[stale], stale, full=True)
        for key in _STORED:
            out[key][stale] = ev[key]
    return InnerResult(eta=eta, converged=conv & has_point, iterations=it, **out)


def at_modes(
    problem: Problem, theta: np.ndarray, omega: np.ndarray, sigmas: list[np.ndarray], eta: np.ndarray
) -> InnerResult:
    """The quantities of :class:`InnerResult` at the given ``eta`` (one model call, no Newton
    iterations): ``eta`` taken as the conditional modes. Used where the modes are known to the
    accuracy needed (the covariance step's points, predicted along the modes' first-order path).
    ``converged`` is where the conditional objective is finite."""
    lay = problem.layout
    n = problem.n_subjects
    oinv = np.linalg.inv(omega) if lay.q else np.zeros((0, 0))
    with np.errstate(all="ignore"):
        ev = _eval_point(problem, theta, oinv, sigmas, np.asarray(eta, dtype=float), np.arange(n), full=True)
    return InnerResult(eta=np.array(eta, dtype=float, copy=True), converged=np.isfinite(ev["l"]), iterations=1,
                       **{key: ev[key] for key in _STORED})


#: The quantities :func:`inner` keeps of a subject's accepted point.
_STORED = ("l", "hess", "exact", "f", "g", "jac", "jac2")


#: A conditional mode farther than this from 0 in prior standard deviations (Mahalanobis
#: distance ``sqrt(eta' Omega^-1 eta)``; P(chi2_3 > 16) = 0.001) is checked against a mode
#: found from a cold start (:func:`checked_modes`).
SUSPECT_MODE_DISTANCE = 4.0


def _merge_modes(res: InnerResult, alt: InnerResult, take: np.ndarray) -> InnerResult:
    """``res`` with the subjects ``take`` (bool ``(N,)``) replaced by those of ``alt``."""
    def pick(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
        if a is None or b is None:
            return a
        mask = take.reshape((-1,) + (1,) * (a.ndim - 1))
        return np.where(mask, b, a)

    return InnerResult(
        eta=pick(res.eta, alt.eta),
        l=pick(res.l, alt.l),
        hess=pick(res.hess, alt.hess),
        f=pick(res.f, alt.f),
        g=pick(res.g, alt.g),
        converged=pick(res.converged, alt.converged),
        iterations=res.iterations + alt.iterations,
        jac=pick(res.jac, alt.jac),
        jac2=pick(res.jac2, alt.jac2),
        exact=pick(res.exact, alt.exact),
    )


def suspect_modes(res: InnerResult, omega: np.ndarray, distance: float = SUSPECT_MODE_DISTANCE) -> np.ndarray:
    """Subjects whose mode needs a second opinion: not converged, non-finite objective, or
    farther than ``distance`` prior SDs from 0 (bool ``(N,)``)."""
    bad = ~res.converged | ~np.isfinite(res.l)
    if omega.shape[0]:
        with np.errstate(all="ignore"):
            d2 = np.einsum("nq,qr,nr->n", res.eta, np.linalg.inv(omega), res.eta)
        bad |= ~np.isfinite(d2) | (d2 > distance * distance)
    return bad


def checked_modes(
    problem: Problem,
    theta: np.ndarray,
    omega: np.ndarray,
    sigmas: list[np.ndarray],
    res: InnerResult,
    tol: float = 1e-8,
) -> InnerResult:
    """Guard warm-started modes against the wrong basin of the conditional objective.

    The FOCE-I conditional objective of a saturable-elimination model can have more than
    one local minimum (e.g. a far-off one at a tiny volume); a mode warm-started from the
    modes of a distant trial point can land there and stay there, which makes the OFV depend
    on the optimiser's history (and so on rounding, i.e. on the machine). For the subjects of
    :func:`suspect_modes`, the mode is found again from eta = 0 and from a cold start
    (:func:`start_modes` from eta = 0, then :func:`inner`), and the one with the lowest
    conditional objective is kept. Deterministic; costs nothing when no subject is suspect.
    """
    suspect = np.flatnonzero(suspect_modes(res, omega))
    if suspect.size == 0:
        return res
    zero = np.zeros_like(res.eta)
    cold = start_modes(problem, theta, omega, sigmas, zero, subjects=suspect)
    for start in (zero, cold):
        alt = inner(problem, theta, omega, sigmas, start, tol=tol, subjects=suspect)
        better = np.zeros(res.eta.shape[0], dtype=bool)
        l_old = np.where(np.isfinite(res.l), res.l, np.inf)
        # (a meaningful improvement: the same mode found again is not a change)
        gain = l_old[suspect] - alt.l[suspect]
        better[suspect] = np.isfinite(alt.l[suspect]) & (gain > 1e-9 * (1.0 + np.abs(alt.l[suspect])))
        if better.any():
            res = _merge_modes(res, alt, better)
    return res


def subject_ofv(problem: Problem, res: InnerResult, omega: np.ndarray) -> np.ndarray:
    """Per-subject OFV contributions ``2 l_i + log det Omega + log det H_i`` (NONMEM constants)."""
    q = problem.layout.q
    if q == 0:
        return np.where(np.isfinite(res.l), 2.0 * res.l, np.inf)
    sign_o, logdet_o = np.linalg.slogdet(omega)
    h = np.where(np.all(np.isfinite(res.hess), axis=(1, 2))[:, None, None], res.hess, np.eye(q))
    sign_h, logdet_h = np.linalg.slogdet(h)
    out = 2.0 * res.l + logdet_o + logdet_h
    out = np.where((sign_h > 0) & np.isfinite(out), out, np.inf)
    return out if sign_o > 0 else np.full_like(out, np.inf)


# ----------------------------------------------------------------------------- gradient
def _phi_partials(
    rt: RecordTerms, res: InnerResult, ec: np.ndarray, valid: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
    """The pieces of :func:`ofv_gradient` in the individual parameters ``phi``: ``H_i^-1`` and
    where ``H_i`` is usable (None without random effects), ``s_j = g_j' H^-1 g_j`` ``(N, M)``,
    ``d log det H_i / d phi`` ``(N, D)`` and ``d(grad_eta l_i)/d phi`` ``(N, q, D)``."""
    n, q = res.eta.shape
    g = res.jac[:, :, ec]
    jac, jac2 = res.jac, res.jac2
    if not q:
        d = jac.shape[2]
        return None, None, np.zeros(rt.w.shape), np.zeros((n, d)), np.zeros((n, 0, d))
    h = res.hess
    h_ok = valid & np.all(np.isfinite(h), axis=(1, 2)) & (np.linalg.det(h) > 0)
    hinv = np.linalg.inv(np.where(h_ok[:, None, None], h, np.eye(q)))
    u = np.einsum("nqr,nmr->nmq", hinv, g)  # H^-1 g_j
    sj = np.einsum("nmq,nmq->nm", g, u)  # g_j' H^-1 g_j
    kg = jac2[:, :, ec, :]  # (n, M, q, D): d g_j / d phi_k
    tk = np.einsum("nmqk,nmq->nmk", kg, u)  # u_j' dg_j/dphi_k
    dlogdet_phi = np.einsum("nm,nmk->nk", rt.w_f * sj, jac) + 2.0 * np.einsum("nm,nmk->nk", rt.w, tk)
    dgl_phi = np.einsum("nm,nmq,nmk->nqk", rt.ell_ff, g, jac) + np.einsum("nm,nmqk->nqk", rt.ell_f, kg)
    return hinv, h_ok, sj, dlogdet_phi, dgl_phi


def _omega_partials(
    d_om: np.ndarray, oinv: np.ndarray, eta: np.ndarray, hinv: np.ndarray, n_om: int
) -> tuple[np.ndarray, np.ndarray]:
    """Explicit derivatives of ``F_i`` ``(N, n_om)`` and of ``grad_eta l_i`` ``(N, q, n_om)``
    in the first ``n_om`` Omega components (``d_om``: ``dOmega/dx`` of each; part of
    :func:`ofv_gradient`)."""
    n, q = eta.shape
    d_oinv = -np.einsum("qr,mrs,st->mqt", oinv, d_om, oinv)
    df = np.zeros((n, n_om))
    dgl = np.zeros((n, q, n_om))
    for mi in range(n_om):
        df[:, mi] = (
            np.einsum("nq,qr,nr->n", eta, d_oinv[mi], eta)
            + np.trace(oinv @ d_om[mi])
            + np.einsum("nqr,rq->n", hinv, d_oinv[mi])
        )
        dgl[:, :, mi] = eta @ d_oinv[mi].T
    return df, dgl


def _implicit_terms(
    res: InnerResult, dF: np.ndarray, dgl: np.ndarray, d_eta: np.ndarray, h_ok: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-subject total gradients ``(N, n_x)`` and mode sensitivities ``(N, q, n_x)`` from the
    explicit partials ``dF``, ``dgl`` and ``d_eta = d log det H_i / d eta`` (the implicit-function
    step of :func:`ofv_gradient`; the exact Hessian where positive definite, else ``H_i``)."""
    q = res.eta.shape[1]
    h = res.hess
    a = res.exact if res.exact is not None else res.hess
    pd_ = _is_pd(a)
    a = np.where(pd_[:, None, None], a, np.where(h_ok[:, None, None], h, np.eye(q)))
    wv = np.linalg.solve(a, d_eta[:, :, None])[:, :, 0]
    grads = dF - np.einsum("nq,nqx->nx", wv, dgl)
    sens = -np.linalg.solve(a, dgl)
    return grads, sens


def ofv_gradient(
    problem: Problem, x: np.ndarray, res: InnerResult
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradient of the OFV w.r.t. ``x`` at the conditional modes of ``res`` (computed at ``x``).

    Implicit-function formula (see the module docstring), analytic given ``f``,
    ``df/dphi`` and ``d2f/dphi2`` at the modes. Returns the total gradient ``(n_x,)``, the
    per-subject gradients ``(N, n_x)`` and the sensitivities of the modes
    ``d eta_i / dx = -A_i^-1 d(grad_eta l_i)/dx`` ``(N, q, n_x)`` (used to predict the modes
    at a new ``x``).
    """
    lay = problem.layout
    n = problem.n_subjects
    q = lay.q
    omega = lay.omega(x)
    sig = lay.sigmas(x)
    sid = np.arange(n)
    eta = res.eta
    rt = record_terms(problem, res.f, sid, sig, sigma_derivs=True)
    ec, tc = lay.eta_cols, lay.theta_cols
    jac = res.jac
    g = jac[:, :, ec]
    s_x = lay.slices()
    n_x = lay.n_x
    dF = np.zeros((n, n_x))  # explicit partial derivatives of F_i
    dgl = np.zeros((n, q, n_x))  # d(grad_eta l_i)/dx at fixed eta
    # --- theta (structural parameters, phi = theta + eta)
    valid = np.isfinite(res.l)
    oinv = np.linalg.inv(omega) if q else np.zeros((0, 0))
    hinv, h_ok, sj, dlogdet_phi, dgl_phi = _phi_partials(rt, res, ec, valid)
    d2l_phi = 2.0 * np.einsum("nm,nmk->nk", rt.ell_f, jac)
    dF[:, s_x[0]] = d2l_phi[:, tc] + dlogdet_phi[:, tc]
    dgl[:, :, s_x[0]] = dgl_phi[:, :, tc]
    # --- estimated covariate exponents: d phi_ik / d beta_c = z_ic on the relation's parameter
    if lay.n_beta:
        z = problem.zcov[:, lay.cov_estimated]  # (N, B)
        bc = lay.beta_cols
        dF[:, lay.beta_slice] = (d2l_phi[:, bc] + dlogdet_phi[:, bc]) * z
        dgl[:, :, lay.beta_slice] = dgl_phi[:, :, bc] * z[:, None, :]
    # --- Omega (log-Cholesky components)
    if q:
        om_cols = np.arange(n_x)[s_x[1]]
        dF[:, om_cols], dgl[:, :, om_cols] = _omega_partials(lay.omega_derivatives(x), oinv, eta, hinv, om_cols.size)
    # --- residual SDs (log)
    sg_cols = np.arange(n_x)[s_x[2]]
    dF[:, sg_cols] = 2.0 * rt.ell_s.sum(axis=1) + np.einsum("nm,nms->ns", sj, rt.w_s)
    if q:
        dgl[:, :, sg_cols] = np.einsum("nms,nmq->nqs", rt.ell_fs, g)
    # --- implicit term
    if q:
        grads, sens = _implicit_terms(res, dF, dgl, dlogdet_phi[:, ec], h_ok)
    else:
        grads = dF
        sens = np.zeros((n, 0, n_x))
    grads = np.where(valid[:, None] & np.isfinite(grads), grads, 0.0)
    sens = np.where(np.isfinite(sens), sens, 0.0)
    return grads.sum(axis=0), grads, sens


def loglik_from_ofv(ofv: float, n_uncensored: int) -> float:
    """Full log-likelihood (R ``nlme`` convention, including ``2 pi``) from the NONMEM OFV."""
    return -0.5 * (ofv + n_uncensored * LOG_2PI)
