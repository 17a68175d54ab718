"""Fitted PK/PD models made by hand (no estimation): the pipeline's population model
specifications at the reference study's estimates (README, rounded), with a small diagonal
covariance matrix, for tests of simulation code (VPC, regimen simulation) that need a
:class:`fcrnpipe.pkpd.simulation.PkPdModel` but not a fit."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from fcrnpipe.nlme.spec import Layout
from fcrnpipe.pkpd import fitting as F
from fcrnpipe.pkpd.simulation import PkPdModel
from fcrnpipe.pkpd.state import Covariance, FittedModel, build_population_model

STEROID = {"fraction": 0.30, "decay_per_day": 0.03, "start_day": 1}
PK_VALUES = {"ka": 0.291, "CL": 0.344, "V": 4.98, "Vmax": 53.5, "Km": 1.0}
PD_VALUES = {"IgG0": 10.7, "kout": 0.0328, "Emax": 4.86, "EC50": 4.26}
OMEGA2 = {"CL": 0.21, "V": 0.054, "Vmax": 0.052, "IgG0": 0.027, "kout": 0.004, "EC50": 0.36, "ka": 0.05}


def fitted(spec: dict, values: Mapping[str, float], sigmas: list[np.ndarray], cov_sd: float | None = 0.05,
           omega: np.ndarray | None = None) -> FittedModel:
    """A :class:`FittedModel` of ``spec`` at natural ``values`` (default Omega: diagonal
    :data:`OMEGA2`; covariance ``cov_sd**2 I`` on the estimation scale, None: no covariance step)."""
    pm = build_population_model(spec)
    lay = Layout.from_model(pm)
    theta = lay.theta_fixed.copy()
    for k, sp in enumerate(pm.model.params):
        if sp.name in values and k in set(lay.free.tolist()):
            theta[k] = float(sp.to_est(values[sp.name]))
    om = np.diag([OMEGA2[n] for n in pm.iiv]) if omega is None else omega
    x = lay.pack(theta, om, sigmas)
    cov = None if cov_sd is None else Covariance(ok=True, cov_x=np.eye(x.size) * cov_sd**2)
    return FittedModel(spec=spec, pm=pm, x=x, covariance=cov, ids=[], eta=np.zeros((0, lay.q)))


def sequential_model(cov_sd: float | None = 0.05) -> PkPdModel:
    """``sc1cmt_mm`` PK + ``igg_turnover`` PD (the pipeline's sequential mode)."""
    pk = fitted(F.pk_spec("sc1cmt_mm", "proportional", "M3"), PK_VALUES, [np.array([0.144])], cov_sd)
    pk_ind = pd.DataFrame([{"ID": "1", **PK_VALUES}])
    pd_fit = fitted(F.pd_spec(pk_ind, PK_VALUES, STEROID, "proportional", "M3"), PD_VALUES, [np.array([0.063])], cov_sd)
    return PkPdModel(pk, pd_fit)


def joint_model(cov_sd: float | None = 0.05) -> PkPdModel:
    """The simultaneous ``sc1cmt_mm+igg_turnover`` model."""
    spec = F.joint_spec(STEROID, {"pk": "proportional", "pd": "proportional"}, "M3")
    return PkPdModel(None, fitted(spec, {**PK_VALUES, **PD_VALUES}, [np.array([0.144]), np.array([0.063])], cov_sd))
