"""Residual error models: variance of an observation given its prediction ``f``.

=============  ==========================  ===================================
kind           variance ``V(f)``           parameters (standard deviations)
=============  ==========================  ===================================
additive       ``a^2``                     ``sigma_add`` (DV units)
proportional   ``(b*f)^2``                 ``sigma_prop`` (fraction, CV)
combined       ``a^2 + (b*f)^2``           ``sigma_add``, ``sigma_prop``
=============  ==========================  ===================================

``combined`` adds the variances (NONMEM's ``W = SQRT(THETA(a)**2 + THETA(b)**2*IPRED**2)``,
Monolix/nlmixr2 "combined2"). The parameters are standard deviations, estimated on the log
scale. Because ``V`` depends on the individual prediction, the FOCE approximation is
computed *with interaction* (FOCE-I) whenever the model is not purely additive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("additive", "proportional", "combined")


@dataclass(frozen=True)
class ErrorModel:
    """A residual error model of one kind (see the module docstring)."""

    kind: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown residual error model {self.kind!r} (one of {', '.join(KINDS)})")

    @property
    def param_names(self) -> tuple[str, ...]:
        return {"additive": ("sigma_add",), "proportional": ("sigma_prop",), "combined": ("sigma_add", "sigma_prop")}[
            self.kind
        ]

    @property
    def n_params(self) -> int:
        return len(self.param_names)

    def variance(self, f: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(V, dV/df)`` for predictions ``f`` and SD parameters ``sd`` (broadcasting).

        ``sd`` has shape ``(..., n_params)`` matching the leading dimensions of ``f`` or
        scalars per parameter.
        """
        sd = np.asarray(sd, dtype=float)
        if self.kind == "additive":
            a2 = sd[..., 0] ** 2
            return np.broadcast_to(a2, f.shape).copy(), np.zeros_like(f)
        if self.kind == "proportional":
            b2 = sd[..., 0] ** 2
            return b2 * f * f, 2.0 * b2 * f
        a2, b2 = sd[..., 0] ** 2, sd[..., 1] ** 2
        return a2 + b2 * f * f, 2.0 * b2 * f

    def derivatives(
        self, f: np.ndarray, sd: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(V, dV/df, d2V/df2, dV/dlog(sd), d2V/df dlog(sd))`` for predictions ``f``.

        The last two have a trailing axis over the SD parameters (:attr:`param_names` order);
        derivatives are with respect to the *log* of each SD, the optimiser's scale.
        """
        sd = np.asarray(sd, dtype=float)
        f = np.asarray(f, dtype=float)
        zero = np.zeros_like(f)
        if self.kind == "additive":
            a2 = float(sd[0]) ** 2
            return np.full_like(f, a2), zero, zero, np.full(f.shape + (1,), 2.0 * a2), np.zeros(f.shape + (1,))
        b2 = float(sd[-1]) ** 2
        v = b2 * f * f
        vf = 2.0 * b2 * f
        vff = np.full_like(f, 2.0 * b2)
        if self.kind == "proportional":
            return v, vf, vff, (2.0 * v)[..., None], (2.0 * vf)[..., None]
        a2 = float(sd[0]) ** 2
        vs = np.stack([np.full_like(f, 2.0 * a2), 2.0 * v], axis=-1)
        vfs = np.stack([zero, 2.0 * vf], axis=-1)
        return a2 + v, vf, vff, vs, vfs

    def initial(self, residuals: np.ndarray, predictions: np.ndarray) -> np.ndarray:
        """Rough starting SDs from pooled residuals ``y - f`` and predictions ``f``."""
        r = residuals[np.isfinite(residuals)]
        f = np.abs(predictions[np.isfinite(residuals)])
        sd_add = float(np.sqrt(np.mean(r * r))) if r.size else 1.0
        pos = (f > 0) & (r + f > 0)
        # log ratio log(y/f): robust when predictions are far off (saturable kinetics)
        logr = np.log((r[pos] + f[pos]) / f[pos])
        sd_prop = float(1.4826 * np.median(np.abs(logr - np.median(logr)))) if logr.size else 0.2
        sd_prop = float(np.clip(sd_prop, 0.02, 1.0))
        if self.kind == "additive":
            return np.array([max(sd_add, 1e-8)])
        if self.kind == "proportional":
            return np.array([sd_prop])
        small = np.quantile(f[pos], 0.1) if pos.any() else 1.0
        return np.array([max(0.5 * sd_prop * small, 1e-8), 0.8 * sd_prop])
