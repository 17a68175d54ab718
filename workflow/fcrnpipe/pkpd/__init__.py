"""The pkpd stage: population PK/PD modelling of the trial (NONMEM-style dataset, PK model
selection, sequential or simultaneous IgG turnover fit, bootstrap, VPC, diagnostics figures,
regimen simulation). Built on the estimator :mod:`fcrnpipe.nlme` and the structural models
:mod:`fcrnpipe.models`.

Modules: :mod:`~fcrnpipe.pkpd.dataset` (modelling dataset from ADaM),
:mod:`~fcrnpipe.pkpd.fitting` (model specifications, fits), :mod:`~fcrnpipe.pkpd.state`
(a fit as a file), :mod:`~fcrnpipe.pkpd.selection` (AIC choice of the PK model),
:mod:`~fcrnpipe.pkpd.bootstrap`, :mod:`~fcrnpipe.pkpd.simulation` (the final model as a
simulator), :mod:`~fcrnpipe.pkpd.vpc`, :mod:`~fcrnpipe.pkpd.regimen`,
:mod:`~fcrnpipe.pkpd.reproduction` (published PD check), :mod:`~fcrnpipe.pkpd.outputs`
(combined result files), :mod:`~fcrnpipe.pkpd.plots` (figures), :mod:`~fcrnpipe.pkpd.stage`
(one function per rule).
"""

from fcrnpipe.pkpd.bootstrap import chunk_replicates, gather, percentile_ci, replicate_rng
from fcrnpipe.pkpd.dataset import NM_COLUMNS, build_nm_dataset
from fcrnpipe.pkpd.regimen import curve_metrics, first_crossing, summarise_times
from fcrnpipe.pkpd.selection import chosen_model, selection_table

__all__ = [
    "NM_COLUMNS",
    "build_nm_dataset",
    "chosen_model",
    "chunk_replicates",
    "curve_metrics",
    "first_crossing",
    "gather",
    "percentile_ci",
    "replicate_rng",
    "selection_table",
    "summarise_times",
]
