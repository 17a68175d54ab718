"""Common structures of the structural (PK/PD) models: parameter specs, the dosing/sampling design.

A structural model maps individual parameters to predictions at the observation records of a
:class:`Design`. Everything is vectorised over *rows*: a row is one parameter set applied to one
subject's design (``sid[r]`` = the subject), so the estimator can evaluate many parameter sets
of many subjects (e.g. finite-difference perturbations) in a single call.

Conventions
-----------
* Times in a :class:`Design` are in the dataset's unit (hours for a NONMEM-style dataset).
  A model declares ``time_scale`` (model time = dataset time x ``time_scale``): ``1`` for
  ``oral1cmt`` (works in the dataset's unit), ``1/24`` for the antibody models (per day).
* Doses go to compartment 1 (SC/oral depot); concentrations are observed as compartment 2,
  the PD marker (IgG) as compartment 3 (``CMT`` of the NONMEM-style dataset).
* An observation at the same time as a dose sees the state before the dose (pre-dose
  sample). For extravascular dosing this does not matter for the concentration (the dose
  enters the depot), and the PD marker is continuous.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Compartment numbers of the NONMEM-style dataset.
CMT_DEPOT = 1
CMT_CENTRAL = 2
CMT_PD = 3


@dataclass(frozen=True)
class ParamSpec:
    """One structural parameter.

    ``transform`` is the scale on which it is estimated and on which its random effect is
    additive (``"log"``: ``P_i = exp(theta + eta_i)``, i.e. log-normal IIV; ``"identity"``:
    ``P_i = theta + eta_i``). ``init`` is a natural-scale starting value; ``estimate_name`` is
    the name of the estimated quantity (e.g. ``lKe`` for ``log(ke)``).
    """

    name: str
    unit: str
    init: float
    transform: str = "log"
    description: str = ""
    estimate_name: str | None = None

    def to_est(self, value: np.ndarray | float) -> np.ndarray:
        """Natural scale -> estimation scale."""
        v = np.asarray(value, dtype=float)
        return np.log(v) if self.transform == "log" else v

    def to_nat(self, value: np.ndarray | float) -> np.ndarray:
        """Estimation scale -> natural scale."""
        v = np.asarray(value, dtype=float)
        return np.exp(v) if self.transform == "log" else v


@dataclass(frozen=True)
class Output:
    """An observed model output: dataset compartment, name and unit."""

    cmt: int
    name: str
    unit: str


@dataclass(frozen=True)
class Design:
    """Doses and observation records of ``N`` subjects, padded to rectangular arrays.

    ``obs_*`` have shape ``(N, M)`` (``obs_mask`` False = padding), ``dose_*`` shape ``(N, K)``
    (``dose_amt`` 0 and ``dose_time`` NaN = padding). Times in the dataset's unit.
    ``obs_row`` gives the 0-based row of each observation in the source table (-1 = padding).
    """

    ids: np.ndarray
    obs_time: np.ndarray
    obs_cmt: np.ndarray
    obs_mask: np.ndarray
    dose_time: np.ndarray
    dose_amt: np.ndarray
    dose_cmt: np.ndarray
    obs_row: np.ndarray = field(default=None)  # type: ignore[assignment]

    @property
    def n_subjects(self) -> int:
        return int(self.obs_time.shape[0])

    @property
    def max_obs(self) -> int:
        return int(self.obs_time.shape[1])

    def subset(self, index: np.ndarray) -> "Design":
        """The design of the subjects ``index`` (in that order; repeats allowed, e.g. bootstrap)."""
        index = np.asarray(index, dtype=int)
        return Design(
            ids=self.ids[index],
            obs_time=self.obs_time[index],
            obs_cmt=self.obs_cmt[index],
            obs_mask=self.obs_mask[index],
            dose_time=self.dose_time[index],
            dose_amt=self.dose_amt[index],
            dose_cmt=self.dose_cmt[index],
            obs_row=None if self.obs_row is None else self.obs_row[index],
        )


def make_design(
    ids: list | np.ndarray,
    obs_times: list[np.ndarray],
    obs_cmts: list[np.ndarray],
    dose_times: list[np.ndarray],
    dose_amts: list[np.ndarray],
    dose_cmts: list[np.ndarray] | None = None,
) -> Design:
    """Build a padded :class:`Design` from per-subject lists (dataset time unit)."""
    n = len(ids)
    m = max([len(t) for t in obs_times] + [1])
    k = max([len(t) for t in dose_times] + [1])
    ot = np.full((n, m), np.nan)
    oc = np.zeros((n, m), dtype=int)
    om = np.zeros((n, m), dtype=bool)
    dt = np.full((n, k), np.nan)
    da = np.zeros((n, k))
    dc = np.zeros((n, k), dtype=int)
    for i in range(n):
        t = np.asarray(obs_times[i], dtype=float)
        ot[i, : t.size] = t
        oc[i, : t.size] = np.asarray(obs_cmts[i], dtype=int)
        om[i, : t.size] = True
        d = np.asarray(dose_times[i], dtype=float)
        dt[i, : d.size] = d
        da[i, : d.size] = np.asarray(dose_amts[i], dtype=float)
        dc[i, : d.size] = CMT_DEPOT if dose_cmts is None else np.asarray(dose_cmts[i], dtype=int)
    return Design(np.asarray(ids), ot, oc, om, dt, da, dc, obs_row=np.full((n, m), -1))


class StructuralModel(ABC):
    """A structural model: parameters, observed outputs and a vectorised ``predict``."""

    name: str = ""
    params: tuple[ParamSpec, ...] = ()
    outputs: tuple[Output, ...] = ()
    time_scale: float = 1.0
    time_unit: str = ""
    dose_cmts: tuple[int, ...] = (CMT_DEPOT,)
    #: True for a joint model: one model that predicts both the PK (``CMT_CENTRAL``) and the
    #: PD marker (``CMT_PD``), i.e. a simultaneous PK/PD fit is a single fit of this model.
    joint: bool = False

    @property
    def param_names(self) -> list[str]:
        return [p.name for p in self.params]

    @property
    def output_cmts(self) -> tuple[int, ...]:
        return tuple(o.cmt for o in self.outputs)

    def default_iiv(self) -> tuple[str, ...]:
        """Parameters with a random effect unless the user says otherwise."""
        return tuple(p.name for p in self.params)

    @abstractmethod
    def prepare(self, design: Design) -> Any:
        """Precompute what depends on the design only (grids, padded dose arrays)."""

    @abstractmethod
    def predict(self, prep: Any, params: np.ndarray, sid: np.ndarray) -> np.ndarray:
        """Predictions ``(R, M)`` at the design's observation records.

        ``params`` is ``(R, p)`` on the natural scale (columns in :attr:`params` order),
        ``sid`` ``(R,)`` the subject of each row. Padding records get 0; the prediction of an
        observation whose ``CMT`` the model does not produce is NaN.
        """

    #: Exact derivatives of the predictions, if the model has them:
    #: ``derivatives(prep, params, sid, diff, log_scale, second) -> (f, df, d2f)`` with ``f``
    #: ``(R, M)``, ``df`` ``(R, M, D)`` and (``second``) ``d2f`` ``(R, M, D, D)`` with respect to
    #: the estimation-scale values of the parameters ``diff`` (indices into :attr:`params`;
    #: ``log_scale[k]``: parameter ``diff[k]`` is estimated on the log scale). None: the
    #: estimator differentiates :meth:`predict` by central differences.
    derivatives: Any = None

    def refine(self, prep: Any, params: np.ndarray, sid: np.ndarray) -> Any:
        """Make the numerical solution accurate for these parameter rows (ODE models refine
        their integration grids); closed-form models return ``prep`` unchanged."""
        return prep

    def derived(self, values: dict[str, float]) -> dict[str, tuple[float, str]]:
        """Derived quantities (name -> (value, unit)) from natural-scale parameters."""
        return {}

    def describe(self) -> str:
        return self.name
