"""Goodness-of-fit diagnostics: predictions, residuals and shrinkage.

Per observation record (NONMEM names):

* ``PRED``  = f(theta, eta = 0); ``IPRED`` = f(theta, eta_i) at the conditional mode (EBE);
* ``RES = DV - PRED``, ``IRES = DV - IPRED``, ``IWRES = IRES / sqrt(V(IPRED))``;
* ``WRES`` (FO): ``C0^(-1/2) (DV - PRED)`` with ``C0 = G0 Omega G0' + diag V(PRED)``,
  ``G0 = df/deta`` at eta = 0;
* ``CPRED = IPRED - G eta_i`` (the FOCE population prediction, linearised at the EBE) and
  ``CWRES = C^(-1/2) (DV - CPRED)`` with ``C = G Omega G' + diag V(IPRED)`` (Hooker, Staatz &
  Karlsson, Pharm Res 2007; the symmetric matrix square root, as in xpose4's ``ind.cwres``),
  per subject over its uncensored observations.

Censored (M3) and dropped (M1) BLQ records get predictions but no residuals (NaN).

Shrinkage (in %): eta ``100 (1 - SD(eta_k) / omega_k)`` and epsilon ``100 (1 - SD(IWRES))``
per endpoint, SDs with ``n - 1`` (nlmixr2's "sd shrinkage").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fcrnpipe.nlme.foce import Problem, _variance, predict_jac


@dataclass
class Diagnostics:
    """Record-level diagnostics as ``(N, M)`` arrays (NaN where not defined)."""

    pred: np.ndarray
    ipred: np.ndarray
    cpred: np.ndarray
    res: np.ndarray
    ires: np.ndarray
    wres: np.ndarray
    iwres: np.ndarray
    cwres: np.ndarray


def _inv_sqrt_sym(c: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(c)
    w = np.maximum(w, 1e-300)
    return (v / np.sqrt(w)) @ v.T


def _decorrelate(resid: np.ndarray, g: np.ndarray, omega: np.ndarray, var: np.ndarray, use: np.ndarray) -> np.ndarray:
    out = np.full(resid.shape, np.nan)
    for i in range(resid.shape[0]):
        m = use[i]
        if not m.any():
            continue
        gi = g[i][m]
        c = gi @ omega @ gi.T + np.diag(var[i][m])
        out[i, m] = _inv_sqrt_sym(c) @ resid[i][m]
    return out


def compute_diagnostics(problem: Problem, theta: np.ndarray, omega: np.ndarray, sigmas: list[np.ndarray], eta: np.ndarray) -> Diagnostics:
    """All record-level diagnostics at the estimates (see the module docstring)."""
    n = problem.n_subjects
    sid = np.arange(n)
    q = problem.layout.q
    with np.errstate(all="ignore"):
        f0, g0 = predict_jac(problem, theta, np.zeros((n, q)), sid)
        fi, gi = predict_jac(problem, theta, eta, sid)
        v0, _ = _variance(problem, np.where(problem.use, f0, 1.0), sid, sigmas)
        vi, _ = _variance(problem, np.where(problem.use, fi, 1.0), sid, sigmas)
    use = problem.use
    mask = problem.design.obs_mask
    y = np.where(use, problem.y, np.nan)
    pred = np.where(mask, f0, np.nan)
    ipred = np.where(mask, fi, np.nan)
    cpred = np.where(mask, fi - np.einsum("nmq,nq->nm", gi, eta), np.nan)
    res = y - pred
    ires = y - ipred
    iwres = np.where(use, ires / np.sqrt(vi), np.nan)
    wres = _decorrelate(np.where(use, res, 0.0), g0, omega, v0, use)
    cwres = _decorrelate(np.where(use, y - cpred, 0.0), gi, omega, vi, use)
    return Diagnostics(pred=pred, ipred=ipred, cpred=cpred, res=res, ires=ires, wres=wres, iwres=iwres, cwres=cwres)


#: How the shrinkages are computed (printed next to them in ``fit_summary.json`` and figures).
SHRINKAGE_CONVENTION = (
    "SD-based, SDs with n - 1: eta 100 (1 - SD(EBE_k)/omega_k) over the subjects (NONMEM's ETASHRINKSD, "
    "PsN); epsilon 100 (1 - SD(IWRES)) over the uncensored records of an endpoint"
)


def eta_shrinkage(eta: np.ndarray, omega: np.ndarray) -> np.ndarray:
    """Eta shrinkage in % per random effect (SD with ``n - 1``)."""
    if eta.shape[1] == 0 or eta.shape[0] < 2:
        return np.full(eta.shape[1], np.nan)
    sd = np.std(eta, axis=0, ddof=1)
    return 100.0 * (1.0 - sd / np.sqrt(np.diag(omega)))


def epsilon_shrinkage(iwres: np.ndarray, problem: Problem) -> dict[int, float]:
    """Epsilon shrinkage in % per endpoint (observed compartment)."""
    out: dict[int, float] = {}
    for k, c in enumerate(problem.layout.endpoints):
        m = problem.use & (problem.ep == k) & np.isfinite(iwres)
        vals = iwres[m]
        out[c] = float(100.0 * (1.0 - np.std(vals, ddof=1))) if vals.size > 1 else float("nan")
    return out
