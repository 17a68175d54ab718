"""One-compartment model with first-order absorption (closed form, multiple-dose superposition).

For a dose ``D`` at time ``t_d`` and ``tau = t - t_d >= 0``::

    C(t) = sum_d D*ka/(V*(ka - ke)) * (exp(-ke*tau) - exp(-ka*tau)),   ke = CL/V

with apparent parameters (``F`` folded into ``CL/F`` and ``V/F``). Two parameterisations:

* ``"standard"``: ``ka``, ``CL`` (= CL/F), ``V`` (= V/F), each log-normal.
* ``"ssfol"``: ``ke``, ``ka``, ``CL`` estimated as ``lKe``, ``lKa``, ``lCl`` (natural logs), the
  parameterisation of R's ``SSfol`` used for the Theoph validation::

      SSfol(Dose, t, lKe, lKa, lCl) = Dose*exp(lKe+lKa-lCl)*(exp(-exp(lKe)*t) - exp(-exp(lKa)*t))
                                      / (exp(lKa) - exp(lKe))

  (identical to the formula above since ``ke/CL = 1/V``).

The model works in the dataset's time unit (``time_scale = 1``); rate constants are per that
unit, volumes in (dose unit)/(concentration unit).
The ``ka = ke`` singularity is handled with ``(exp(-ke tau) - exp(-ka tau))/(ka - ke) =
exp(-ke tau) * (-expm1(-(ka - ke) tau))/(ka - ke)`` which tends to ``tau*exp(-ke tau)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fcrnpipe.models.base import CMT_CENTRAL, CMT_DEPOT, Design, Output, ParamSpec, StructuralModel


def ssfol(dose: np.ndarray | float, t: np.ndarray, lke: float, lka: float, lcl: float) -> np.ndarray:
    """R's ``SSfol`` (single dose at time 0), literally as documented in R's ``stats``."""
    t = np.asarray(t, dtype=float)
    return dose * np.exp(lke + lka - lcl) * (np.exp(-np.exp(lke) * t) - np.exp(-np.exp(lka) * t)) / (np.exp(lka) - np.exp(lke))


def bateman(amount: np.ndarray, tau: np.ndarray, ka: np.ndarray, ke: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Concentration after an extravascular dose ``amount`` given ``tau`` earlier (0 for tau < 0).

    All arguments broadcast. Numerically stable when ``ka`` is close to ``ke``.
    """
    tau_pos = np.maximum(tau, 0.0)
    d = ka - ke
    x = d * tau_pos
    small = np.abs(x) < 1e-10
    d_safe = np.where(small, 1.0, d)
    ratio = np.where(small, tau_pos * (1.0 - 0.5 * x), -np.expm1(-x) / d_safe)
    c = amount * ka / v * np.exp(-ke * tau_pos) * ratio
    return np.where(tau > 0.0, c, 0.0)


@dataclass(frozen=True)
class _Prep:
    obs_time: np.ndarray  # (N, M)
    obs_ok: np.ndarray  # (N, M) observation of the concentration
    obs_mask: np.ndarray  # (N, M) real record (not padding)
    dose_time: np.ndarray  # (N, K)
    dose_amt: np.ndarray  # (N, K)


class Oral1Cmt(StructuralModel):
    """Closed-form one-compartment first-order-absorption model (see the module docstring)."""

    outputs = (Output(CMT_CENTRAL, "conc", "dose unit / volume unit"),)
    time_scale = 1.0
    time_unit = "dataset time unit"
    dose_cmts = (CMT_DEPOT,)
    fd_central = True  # closed form: central differences are cheap and accurate

    def __init__(self, parameterisation: str = "standard") -> None:
        if parameterisation not in ("standard", "ssfol"):
            raise ValueError(f"unknown oral1cmt parameterisation {parameterisation!r}")
        self.parameterisation = parameterisation
        self.name = "oral1cmt" if parameterisation == "standard" else "oral1cmt(ssfol)"
        if parameterisation == "standard":
            self.params = (
                ParamSpec("ka", "1/time", 1.0, description="absorption rate constant"),
                ParamSpec("CL", "volume/time", 1.0, description="apparent clearance CL/F"),
                ParamSpec("V", "volume", 10.0, description="apparent volume V/F"),
            )
        else:
            self.params = (
                ParamSpec("ke", "1/time", 0.1, description="elimination rate constant", estimate_name="lKe"),
                ParamSpec("ka", "1/time", 1.0, description="absorption rate constant", estimate_name="lKa"),
                ParamSpec("CL", "volume/time", 0.05, description="apparent clearance CL/F", estimate_name="lCl"),
            )

    def prepare(self, design: Design) -> _Prep:
        dose_ok = (design.dose_cmt == CMT_DEPOT) & np.isfinite(design.dose_time)
        return _Prep(
            obs_time=np.where(design.obs_mask, design.obs_time, 0.0) * self.time_scale,
            obs_ok=design.obs_mask & (design.obs_cmt == CMT_CENTRAL),
            obs_mask=design.obs_mask,
            dose_time=np.where(dose_ok, design.dose_time, 0.0) * self.time_scale,
            dose_amt=np.where(dose_ok, design.dose_amt, 0.0),
        )

    def rates(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(ka, ke, V)`` from natural-scale parameter rows."""
        if self.parameterisation == "standard":
            ka, cl, v = params[:, 0], params[:, 1], params[:, 2]
            return ka, cl / v, v
        ke, ka, cl = params[:, 0], params[:, 1], params[:, 2]
        return ka, ke, cl / ke

    def predict(self, prep: _Prep, params: np.ndarray, sid: np.ndarray) -> np.ndarray:
        ka, ke, v = self.rates(np.asarray(params, dtype=float))
        t = prep.obs_time[sid][:, :, None]  # (R, M, 1)
        td = prep.dose_time[sid][:, None, :]  # (R, 1, K)
        amt = prep.dose_amt[sid][:, None, :]
        c = bateman(amt, t - td, ka[:, None, None], ke[:, None, None], v[:, None, None]).sum(axis=2)
        return np.where(prep.obs_ok[sid], c, np.where(prep.obs_mask[sid], np.nan, 0.0))

    def derived(self, values: dict[str, float]) -> dict[str, tuple[float, str]]:
        if self.parameterisation == "standard":
            ke = values["CL"] / values["V"]
            return {"t_half": (float(np.log(2.0) / ke), "time")}
        return {"V": (values["CL"] / values["ke"], "volume"), "t_half": (float(np.log(2.0) / values["ke"]), "time")}
