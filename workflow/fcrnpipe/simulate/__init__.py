"""Mechanistic simulator of the reference study (raw exports of the input contract).

* :mod:`~fcrnpipe.simulate.model`: PK/PD truth model (batoclimab PK, IgG, AQP4-IgG, albumin,
  lipids, EDSS), true population parameters, vectorised integrator;
* :mod:`~fcrnpipe.simulate.design`: arms, subjects, sites, visit schedule;
* :mod:`~fcrnpipe.simulate.labs`: site units, ranges, reporting rules;
* :mod:`~fcrnpipe.simulate.events`: adverse events and disposition;
* :mod:`~fcrnpipe.simulate.study`: :func:`simulate_study` (everything together) and :func:`write_raw`;
* :mod:`~fcrnpipe.simulate.findings`: the published findings computed from a raw data cut.

Typical use::

    from fcrnpipe.simulate import simulate_study, write_raw
    study = simulate_study(config)                     # the reference study (9 subjects, config seed)
    write_raw(study.tables, "resources/reference_study/raw")
    study.truth()                                      # true population + individual parameters
"""

from fcrnpipe.simulate.model import TRUE_POPULATION, PopulationParameters, population_from_config, simulate
from fcrnpipe.simulate.study import SimulatedStudy, simulate_study, write_raw

__all__ = [
    "TRUE_POPULATION",
    "PopulationParameters",
    "SimulatedStudy",
    "population_from_config",
    "simulate",
    "simulate_study",
    "write_raw",
]
