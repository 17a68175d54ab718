"""Population model specification and the packing of its parameters for the optimiser.

Parameter model (mu-referenced): for structural parameter ``k`` with transform ``T_k`` (log for
positive parameters), subject ``i``::

    T_k(P_ik) = theta_k + sum_c beta_c z_ic + eta_ik    (eta_ik = 0 if P_k has no random effect)
    eta_i ~ N(0, Omega)             (Omega diagonal, or one full block over all etas)

with optional covariate relations ``c`` on log-transformed parameters (:class:`CovariateRelation`,
a power model ``P = P_typ (cov_i / ref)^beta``: ``z_ic = log(cov_i / ref)``); the sum runs over the
relations of parameter ``k``, and the *typical value* of subject ``i`` is
``theta_ik = theta_k + sum_c beta_c z_ic`` (:meth:`Layout.typical`). An exponent ``beta_c`` is
held fixed at its configured value or estimated (an element of ``x`` after the residual SDs).

so a log-transformed parameter is log-normal with median ``exp(theta_k)`` and
``CV = sqrt(exp(omega_k^2) - 1)``. The optimiser works on an unconstrained vector ``x``:
``theta`` of the estimated (not fixed) parameters on the transformed scale; Omega through its
Cholesky factor ``L`` (``Omega = L L'``) with ``log`` of the diagonal of ``L`` (diagonal
Omega: the log standard deviations) and the raw sub-diagonal entries; and the log of each
residual-error standard deviation; then the estimated covariate exponents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from fcrnpipe.models.base import StructuralModel
from fcrnpipe.nlme.errormodel import ErrorModel


@dataclass(frozen=True)
class CovariateRelation:
    """A power covariate model on a log-transformed parameter:
    ``P_i = P_typ * (cov_i / reference)^exponent`` (``log P_i = theta + exponent * log(cov_i / reference)
    + eta_i``). ``exponent`` is the fixed value (``estimate`` False) or the initial estimate."""

    parameter: str
    covariate: str
    reference: float
    exponent: float
    estimate: bool = False

    def __post_init__(self) -> None:
        if not (np.isfinite(self.reference) and self.reference > 0):
            raise ValueError(f"covariate relation {self.name}: the reference must be a positive number (got {self.reference})")
        if not np.isfinite(self.exponent):
            raise ValueError(f"covariate relation {self.name}: the exponent must be finite (got {self.exponent})")

    @property
    def name(self) -> str:
        """Name of the exponent in result tables and ``x``: ``WT_on_CL``."""
        return f"{self.covariate}_on_{self.parameter}"

    def effect(self, values: np.ndarray) -> np.ndarray:
        """``z = log(cov / reference)`` (the regressor of the exponent on the estimation scale)."""
        return np.log(np.asarray(values, dtype=float) / self.reference)


@dataclass(frozen=True)
class PopulationModel:
    """What to fit: structural model, random effects, residual error, fixed values, BLQ method.

    ``errors``: residual error model per observed compartment (``CMT``) of the model.
    ``fixed``/``init``: natural-scale values of structural parameters held fixed / to start
    from. ``omega_init``: starting variances of the random effects (default 0.1).
    ``blq``: ``"M1"`` (drop BLQ records) or ``"M3"`` (likelihood of being below LLOQ).
    ``covariates``: covariate relations (:class:`CovariateRelation`), on log-transformed
    parameters only, at most one per (parameter, covariate).
    """

    model: StructuralModel
    iiv: tuple[str, ...]
    errors: dict[int, ErrorModel]
    omega: str = "diag"
    fixed: dict[str, float] = field(default_factory=dict)
    init: dict[str, float] = field(default_factory=dict)
    omega_init: dict[str, float] = field(default_factory=dict)
    sigma_init: dict[int, tuple[float, ...]] = field(default_factory=dict)
    blq: str = "M1"
    covariates: tuple[CovariateRelation, ...] = ()

    def __post_init__(self) -> None:
        names = self.model.param_names
        for rel in self.covariates:
            if rel.parameter not in names:
                raise ValueError(f"covariate relation {rel.name}: {rel.parameter!r} is not a parameter of "
                                 f"{self.model.name} ({', '.join(names)})")
            if self.model.params[names.index(rel.parameter)].transform != "log":
                raise ValueError(f"covariate relation {rel.name}: a power model needs a log-transformed parameter")
        keys = [(r.parameter, r.covariate) for r in self.covariates]
        if len(set(keys)) != len(keys):
            raise ValueError("a covariate relation is listed twice for the same parameter and covariate")
        for n in list(self.iiv) + list(self.fixed) + list(self.init) + list(self.omega_init):
            if n not in names:
                raise ValueError(f"{n!r} is not a parameter of {self.model.name} ({', '.join(names)})")
        if len(set(self.iiv)) != len(self.iiv):
            raise ValueError("a parameter is listed twice for IIV")
        if self.omega not in ("diag", "block"):
            raise ValueError("omega must be 'diag' or 'block'")
        if self.blq not in ("M1", "M3"):
            raise ValueError("blq must be 'M1' or 'M3'")
        missing = [c for c in self.model.output_cmts if c not in self.errors]
        if missing:
            raise ValueError(f"no residual error model for output compartment(s) {missing}")

    @property
    def method(self) -> str:
        """``FOCE`` when every error model is additive (no interaction), else ``FOCE-I``."""
        return "FOCE" if all(e.kind == "additive" for e in self.errors.values()) else "FOCE-I"


def _readonly(a: np.ndarray) -> np.ndarray:
    """``a``, flagged read-only (an array a frozen object hands out again and again)."""
    a.flags.writeable = False
    return a


@dataclass(frozen=True)
class Layout:
    """Mapping between the optimiser vector ``x`` and (theta, Omega, sigmas)."""

    n_params: int
    free: np.ndarray  # (n_free,) indices of estimated structural parameters
    theta_fixed: np.ndarray  # (p,) estimation-scale values (used where not free)
    iiv_index: np.ndarray  # (q,) structural parameter index of each eta
    block: bool
    endpoints: tuple[int, ...]  # observed compartments, one error model each
    sigma_sizes: tuple[int, ...]
    cov_param: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))  # (C,) parameter of each relation
    cov_estimated: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # (C,)
    beta_fixed: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (C,) exponents (used where not estimated)

    @classmethod
    def from_model(cls, pm: PopulationModel) -> "Layout":
        names = pm.model.param_names
        specs = pm.model.params
        theta_fixed = np.array([float(specs[k].to_est(pm.fixed.get(n, pm.init.get(n, specs[k].init)))) for k, n in enumerate(names)])
        free = np.array([k for k, n in enumerate(names) if n not in pm.fixed], dtype=int)
        iiv_index = np.array([names.index(n) for n in pm.iiv], dtype=int)
        endpoints = tuple(sorted(pm.errors))
        return cls(
            n_params=len(names),
            free=free,
            theta_fixed=theta_fixed,
            iiv_index=iiv_index,
            block=pm.omega == "block",
            endpoints=endpoints,
            sigma_sizes=tuple(pm.errors[c].n_params for c in endpoints),
            cov_param=np.array([names.index(r.parameter) for r in pm.covariates], dtype=int),
            cov_estimated=np.array([bool(r.estimate) for r in pm.covariates], dtype=bool),
            beta_fixed=np.array([float(r.exponent) for r in pm.covariates], dtype=float),
        )

    @property
    def q(self) -> int:
        return int(self.iiv_index.size)

    # The index arrays below are computed once per layout (a fit asks for them ~1,000 times:
    # 25 us each, ~2% of the reference PK fit) and returned read-only: a layout is frozen.
    @cached_property
    def diff_index(self) -> np.ndarray:
        """Structural parameters the predictions are differentiated in: the estimated ones,
        those with a random effect and those with an estimated covariate exponent (sorted
        parameter indices)."""
        index = np.union1d(np.union1d(self.free, self.iiv_index), self.cov_param[self.cov_estimated])
        return _readonly(index.astype(int))

    @cached_property
    def eta_cols(self) -> np.ndarray:
        """Position of each random effect in :attr:`diff_index`."""
        return _readonly(np.searchsorted(self.diff_index, self.iiv_index).astype(int))

    @cached_property
    def theta_cols(self) -> np.ndarray:
        """Position of each estimated structural parameter in :attr:`diff_index`."""
        return _readonly(np.searchsorted(self.diff_index, self.free).astype(int))

    @cached_property
    def beta_cols(self) -> np.ndarray:
        """Position in :attr:`diff_index` of the parameter of each estimated exponent."""
        return _readonly(np.searchsorted(self.diff_index, self.cov_param[self.cov_estimated]).astype(int))

    @property
    def n_cov(self) -> int:
        """Number of covariate relations (fixed and estimated exponents)."""
        return int(self.cov_param.size)

    @property
    def n_beta(self) -> int:
        """Number of estimated exponents (elements of ``x``)."""
        return int(self.cov_estimated.sum())

    @property
    def beta_slice(self) -> slice:
        """The estimated exponents in ``x`` (after the residual SDs)."""
        return slice(self.n_x - self.n_beta, self.n_x)

    def beta(self, x: np.ndarray) -> np.ndarray:
        """All exponents ``(C,)``: the estimated ones from ``x``, the others fixed."""
        b = self.beta_fixed.copy()
        if self.n_beta:
            b[self.cov_estimated] = x[self.beta_slice]
        return b

    def typical(self, theta: np.ndarray, beta: np.ndarray, z: np.ndarray | None) -> np.ndarray:
        """Typical values on the estimation scale: ``theta`` ``(p,)`` unchanged without
        covariate relations, else per subject ``(N, p)``: ``theta + sum_c beta_c z_ic`` on the
        parameter of relation ``c`` (``z``: ``(N, C)`` covariate effects ``log(cov/ref)``)."""
        theta = np.asarray(theta, dtype=float)
        if self.n_cov == 0 or z is None:
            return theta
        z = np.asarray(z, dtype=float)
        out = np.repeat(theta[None, :], z.shape[0], axis=0)
        for c, k in enumerate(self.cov_param):
            out[:, k] += beta[c] * z[:, c]
        return out

    @property
    def n_sigma(self) -> int:
        return int(sum(self.sigma_sizes))

    def omega_derivatives(self, x: np.ndarray) -> np.ndarray:
        """``dOmega/dx_m`` for each Omega component ``m`` of ``x``: ``(n_omega, q, q)``."""
        lmat = self.chol(x)
        q = self.q
        out = np.zeros((self.n_omega, q, q))
        if q == 0:
            return out
        if not self.block:
            for m in range(q):
                dl = np.zeros((q, q))
                dl[m, m] = lmat[m, m]
                out[m] = dl @ lmat.T + lmat @ dl.T
            return out
        rows, cols = np.tril_indices(q)
        for m, (i, j) in enumerate(zip(rows, cols)):
            dl = np.zeros((q, q))
            dl[i, j] = lmat[i, j] if i == j else 1.0
            out[m] = dl @ lmat.T + lmat @ dl.T
        return out

    @property
    def n_omega(self) -> int:
        return self.q * (self.q + 1) // 2 if self.block else self.q

    @property
    def n_x(self) -> int:
        return int(self.free.size + self.n_omega + sum(self.sigma_sizes) + self.cov_estimated.sum())

    def slices(self) -> tuple[slice, slice, slice]:
        """``x`` parts: free thetas, Omega, residual SDs (then :attr:`beta_slice`)."""
        a = self.free.size
        b = a + self.n_omega
        return slice(0, a), slice(a, b), slice(b, b + self.n_sigma)

    def theta(self, x: np.ndarray) -> np.ndarray:
        """All structural parameters on the estimation scale."""
        th = self.theta_fixed.copy()
        th[self.free] = x[self.slices()[0]]
        return th

    def chol(self, x: np.ndarray) -> np.ndarray:
        """Cholesky factor ``L`` of Omega (lower triangular, positive diagonal)."""
        v = x[self.slices()[1]]
        q = self.q
        lmat = np.zeros((q, q))
        if not self.block:
            lmat[np.diag_indices(q)] = np.exp(v)
            return lmat
        rows, cols = np.tril_indices(q)
        lmat[rows, cols] = v
        lmat[np.diag_indices(q)] = np.exp(np.diag(lmat))
        return lmat

    def omega(self, x: np.ndarray) -> np.ndarray:
        lmat = self.chol(x)
        return lmat @ lmat.T

    def sigmas(self, x: np.ndarray) -> list[np.ndarray]:
        """Residual SD parameters, one array per endpoint (order of :attr:`endpoints`)."""
        v = np.exp(x[self.slices()[2]])
        out, pos = [], 0
        for n in self.sigma_sizes:
            out.append(v[pos : pos + n])
            pos += n
        return out

    def pack(
        self, theta: np.ndarray, omega: np.ndarray, sigmas: list[np.ndarray], beta: np.ndarray | None = None
    ) -> np.ndarray:
        """The vector ``x`` for estimation-scale ``theta`` (all p), ``omega``, SDs and the
        covariate exponents ``beta`` (all C; default: the configured values)."""
        parts = [np.asarray(theta, dtype=float)[self.free]]
        q = self.q
        if q:
            if self.block:
                lmat = np.linalg.cholesky(omega)
                lv = lmat.copy()
                lv[np.diag_indices(q)] = np.log(np.diag(lmat))
                parts.append(lv[np.tril_indices(q)])
            else:
                parts.append(0.5 * np.log(np.diag(omega)))
        parts.append(np.log(np.concatenate([np.asarray(s, dtype=float) for s in sigmas])))
        if self.n_beta:
            b = self.beta_fixed if beta is None else np.asarray(beta, dtype=float)
            parts.append(b[self.cov_estimated])
        return np.concatenate(parts)

    def x_names(self, pm: PopulationModel) -> list[str]:
        names = pm.model.param_names
        specs = pm.model.params
        out = [f"theta[{specs[k].estimate_name or ('log ' + names[k] if specs[k].transform == 'log' else names[k])}]" for k in self.free]
        eta = [names[k] for k in self.iiv_index]
        if self.block:
            for i, j in zip(*np.tril_indices(self.q)):
                out.append(f"log L[{eta[i]}]" if i == j else f"L[{eta[i]},{eta[j]}]")
        else:
            out += [f"log omega[{e}]" for e in eta]
        for c, em in zip(self.endpoints, (pm.errors[c] for c in self.endpoints)):
            out += [f"log {n}[cmt {c}]" for n in em.param_names]
        out += [r.name for r, e in zip(pm.covariates, self.cov_estimated) if e]
        return out
