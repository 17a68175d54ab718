"""Synthetic NONMEM-style datasets from the project's truth model (tests, benchmarks).

:func:`simulate_nm_dataset` draws subjects from a :class:`~fcrnpipe.simulate.model.PopulationParameters`
(default :data:`~fcrnpipe.simulate.TRUE_POPULATION`), integrates the simulator's own truth model
(:func:`fcrnpipe.simulate.model.simulate`, RK4 -- independent of the estimator's RODAS4
integrator), adds the simulator's proportional residual errors and writes the records in the
dataset contract of :mod:`fcrnpipe.nlme.dataset` (TIME in hours from the first dose; doses CMT 1,
concentrations CMT 2 in mg/L, total IgG CMT 3 in g/L; BLQ/LLOQ for concentrations).

The sampling design defaults to the reference study's (docs: resources/reference_study/README.md):
PK pre-dose on days 0, 7, 14, 21, at 6, 24, 48, 72, 96 h after the first and the fourth dose,
168 h after the fourth dose and at weeks 6 and 8; IgG at day 0 and weeks 1-4, 6, 8, 12, 16, 20, 27.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from fcrnpipe.models.mab import Steroid

#: Default PK sampling times (days from the first dose).
PK_DAYS: tuple[float, ...] = (
    0.0, 0.25, 1.0, 2.0, 3.0, 4.0, 7.0, 14.0, 21.0, 21.25, 22.0, 23.0, 24.0, 25.0, 28.0, 42.0, 56.0,
)
#: Default IgG sampling times (days from the first dose).
PD_DAYS: tuple[float, ...] = (0.0, 7.0, 14.0, 21.0, 28.0, 42.0, 56.0, 84.0, 112.0, 140.0, 182.0)
#: Default dosing days (weekly x 4).
DOSING_DAYS: tuple[float, ...] = (0.0, 7.0, 14.0, 21.0)
#: Names of the estimator's parameters in the simulator's individual table.
SIM_NAMES: dict[str, str] = {
    "ka": "ka", "CL": "cl_f", "V": "v_f", "Vmax": "vmax_f", "Km": "km",
    "IgG0": "igg0", "kout": "kout", "Emax": "emax", "EC50": "ec50",
}


@dataclass(frozen=True)
class SyntheticStudy:
    """A simulated NONMEM-style dataset and its truth.

    ``records``: the dataset (text-ready frame in the dataset contract); ``individual``: true
    individual parameters (estimator names, one row per ``ID``); ``typical``: true typical
    values; ``omega2``: true IIV variances (log scale); ``sigma``: true proportional residual
    SDs (``pk``, ``igg``); ``steroid``: the steroid effect as the estimator's models take it.
    """

    records: pd.DataFrame
    individual: pd.DataFrame
    typical: dict[str, float]
    omega2: dict[str, float]
    sigma: dict[str, float]
    steroid: Steroid

    def write(self, path) -> None:
        self.records.to_csv(path, index=False)


def _subject_records(
    sid: str,
    dose: float,
    dosing_days: Sequence[float],
    pk_t: np.ndarray,
    pd_t: np.ndarray,
    y_pk: np.ndarray,
    y_pd: np.ndarray,
    lloq: float,
) -> list[dict]:
    """The records of one subject (doses of ``dose`` mg on ``dosing_days``, concentrations
    ``y_pk`` on days ``pk_t`` -- BLQ below ``lloq`` -- and IgG ``y_pd`` on days ``pd_t``) in
    time order, an observation before a dose at the same time (a pre-dose sample)."""
    recs = []
    for d in dosing_days:
        recs.append((d, 0, dict(ID=sid, TIME=d * 24.0, AMT=dose, DV="", EVID=1, MDV=1, CMT=1, BLQ=0, LLOQ="")))
    for j, t in enumerate(pk_t):
        blq = bool(y_pk[j] < lloq)
        recs.append((t, -1, dict(ID=sid, TIME=t * 24.0, AMT="", DV="" if blq else float(y_pk[j]), EVID=0,
                                 MDV=0, CMT=2, BLQ=int(blq), LLOQ=lloq)))
    for j, t in enumerate(pd_t):
        recs.append((t, -1, dict(ID=sid, TIME=t * 24.0, AMT="", DV=float(y_pd[j]), EVID=0, MDV=0, CMT=3,
                                 BLQ=0, LLOQ="")))
    recs.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in recs]


def simulate_nm_dataset(
    n_subjects: int = 36,
    doses_mg: tuple[float, ...] = (340.0, 680.0),
    seed: int = 1,
    population=None,
    pk_days: tuple[float, ...] = PK_DAYS,
    pd_days: tuple[float, ...] = PD_DAYS,
    dosing_days: tuple[float, ...] = DOSING_DAYS,
    lloq: float = 0.05,
    residual: bool = True,
    weight_range: tuple[float, float] = (40.0, 120.0),
) -> SyntheticStudy:
    """Simulate ``n_subjects`` (dose groups ``doses_mg`` in turn: 340, 680, 340, ...).

    ``population``: a :class:`~fcrnpipe.simulate.model.PopulationParameters` (default the
    simulator's true population). Random numbers: ``numpy.random.default_rng(seed)`` only --
    and, for a population with a weight effect (``weight_exponents``), the subjects' weights
    (uniform on ``weight_range`` kg, rounded to 0.1 kg; column ``WT`` of the records and of
    ``individual``) from the separate stream ``default_rng([seed, 1])``, so that the other
    draws are those of the same study without the weight effect.
    """
    from fcrnpipe.simulate.model import TRUE_POPULATION, sample_individuals, simulate

    pop = TRUE_POPULATION if population is None else population
    rng = np.random.default_rng(seed)
    weight = None
    if pop.weight_exponents:
        lo, hi = weight_range
        weight = np.round(np.random.default_rng([seed, 1]).uniform(lo, hi, n_subjects), 1)
    ind = sample_individuals(pop, n_subjects, rng, weight=weight)
    dose = np.asarray([doses_mg[i % len(doses_mg)] for i in range(n_subjects)], dtype=float)
    dt = np.tile(np.asarray(dosing_days, dtype=float), (n_subjects, 1))
    da = dose[:, None] * np.ones(len(dosing_days))[None, :]
    pk_t = np.asarray(pk_days, dtype=float)
    pd_t = np.asarray(pd_days, dtype=float)
    obs_t = np.tile(np.concatenate([pk_t, pd_t]), (n_subjects, 1))
    steroid = (pop.steroid_fraction, pop.steroid_decay, pop.steroid_start)
    traj = simulate(ind, dt, da, obs_t, steroid)
    conc = traj.conc[:, : pk_t.size]
    igg = ind["igg0"].to_numpy()[:, None] * traj.igg_rel(pop.steroid_fraction)[:, pk_t.size :]
    sd_pk, sd_igg = float(pop.sigma["pk"]), float(pop.sigma["igg"])
    z = rng.standard_normal((n_subjects, pk_t.size + pd_t.size))
    if residual:
        y_pk = conc * (1.0 + sd_pk * z[:, : pk_t.size])
        y_pd = igg * (1.0 + sd_igg * z[:, pk_t.size :])
    else:
        y_pk, y_pd = conc.copy(), igg.copy()
    ids = [str(i + 1) for i in range(n_subjects)]
    rows: list[dict] = []
    for i, sid in enumerate(ids):
        rows += _subject_records(sid, dose[i], dosing_days, pk_t, pd_t, y_pk[i], y_pd[i], lloq)
    records = pd.DataFrame(rows, columns=["ID", "TIME", "AMT", "DV", "EVID", "MDV", "CMT", "BLQ", "LLOQ"])
    individual = pd.DataFrame({"ID": ids, "DOSE": dose})
    if weight is not None:
        records["WT"] = records["ID"].map(dict(zip(ids, weight)))
        individual["WT"] = weight
    for est, sim in SIM_NAMES.items():
        individual[est] = ind[sim].to_numpy()
    typ = pop.typical()
    om = pop.omega2()
    return SyntheticStudy(
        records=records,
        individual=individual,
        typical={est: float(typ[sim]) for est, sim in SIM_NAMES.items()},
        omega2={est: float(om.get(sim, 0.0)) for est, sim in SIM_NAMES.items()},
        sigma={"pk": sd_pk, "igg": sd_igg},
        steroid=Steroid(pop.steroid_fraction, pop.steroid_decay, pop.steroid_start),
    )


def with_iiv(population, **cv: float):
    """``population`` with some IIV CVs replaced (e.g. ``emax=0.0``)."""
    return replace(population, iiv_cv={**population.iiv_cv, **cv})
