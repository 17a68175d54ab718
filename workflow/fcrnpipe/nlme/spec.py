"""Population model specification and the packing of its parameters for the optimiser.

Parameter model (mu-referenced): for structural parameter ``k`` with transform ``T_k`` (log for
positive parameters), subject ``i``::

    T_k(P_ik) = theta_k + eta_ik    (eta_ik = 0 if P_k has no random effect)
    eta_i ~ N(0, Omega)             (Omega diagonal, or one full block over all etas)

so a log-transformed parameter is log-normal with median ``exp(theta_k)`` and
``CV = sqrt(exp(omega_k^2) - 1)``. The optimiser works on an unconstrained vector ``x``:
``theta`` of the estimated (not fixed) parameters on the transformed scale; Omega through its
Cholesky factor ``L`` (``Omega = L L'``) with ``log`` of the diagonal of ``L`` (diagonal
Omega: the log standard deviations) and the raw sub-diagonal entries; and the log of each
residual-error standard deviation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fcrnpipe.models.base import StructuralModel
from fcrnpipe.nlme.errormodel import ErrorModel


@dataclass(frozen=True)
class PopulationModel:
    """What to fit: structural model, random effects, residual error, fixed values, BLQ method.

    ``errors``: residual error model per observed compartment (``CMT``) of the model.
    ``fixed``/``init``: natural-scale values of structural parameters held fixed / to start
    from. ``omega_init``: starting variances of the random effects (default 0.1).
    ``blq``: ``"M1"`` (drop BLQ records) or ``"M3"`` (likelihood of being below LLOQ).
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

    def __post_init__(self) -> None:
        names = self.model.param_names
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
        )

    @property
    def q(self) -> int:
        return int(self.iiv_index.size)

    @property
    def diff_index(self) -> np.ndarray:
        """Structural parameters the predictions are differentiated in: the estimated ones
        and those with a random effect (sorted parameter indices)."""
        return np.union1d(self.free, self.iiv_index).astype(int)

    @property
    def eta_cols(self) -> np.ndarray:
        """Position of each random effect in :attr:`diff_index`."""
        return np.searchsorted(self.diff_index, self.iiv_index).astype(int)

    @property
    def theta_cols(self) -> np.ndarray:
        """Position of each estimated structural parameter in :attr:`diff_index`."""
        return np.searchsorted(self.diff_index, self.free).astype(int)

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
        return int(self.free.size + self.n_omega + sum(self.sigma_sizes))

    def slices(self) -> tuple[slice, slice, slice]:
        a = self.free.size
        b = a + self.n_omega
        return slice(0, a), slice(a, b), slice(b, self.n_x)

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

    def pack(self, theta: np.ndarray, omega: np.ndarray, sigmas: list[np.ndarray]) -> np.ndarray:
        """The vector ``x`` for estimation-scale ``theta`` (all p), ``omega`` and SDs."""
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
        return out
