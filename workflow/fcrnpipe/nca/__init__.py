"""Non-compartmental analysis (NCA) per subject and dosing interval.

* :mod:`fcrnpipe.nca.core` - one profile: :func:`auc`, :func:`lambda_z`, :func:`nca_profile`.
* :mod:`fcrnpipe.nca.dataset` - the analysis datasets (ADPC, ADEX, ADSL) to the long
  parameter table: :func:`run_nca` (interval selection, BLQ rules, C(0) imputation, Rac).
* :mod:`fcrnpipe.nca.acceptance` - PKNCA's acceptance rules for lambda_z and AUCinf.
* :mod:`fcrnpipe.nca.summary` - :func:`summarise_nca` (by arm), :func:`missing_reasons` and
  :func:`dose_proportionality` (power model).

Units: concentrations mg/L, times h, doses mg, so AUC h*mg/L, CL/F L/h, Vz/F L.
"""

from __future__ import annotations

from fcrnpipe.nca.acceptance import AcceptanceRules, acceptance_flags
from fcrnpipe.nca.core import (
    AUC_METHODS,
    PARAMETERS,
    UNITS,
    LambdaZ,
    ProfileResult,
    analyse_profile,
    auc,
    auc_interval,
    auc_to,
    conc_at,
    lambda_z,
    nca_profile,
)
from fcrnpipe.nca.dataset import NCA_COLUMNS, Interval, NCAOptions, run_nca
from fcrnpipe.nca.summary import (
    DOSE_PROPORTIONALITY_COLUMNS,
    REASON_COLUMNS,
    SUMMARY_COLUMNS,
    dose_proportionality,
    missing_reasons,
    summarise_nca,
)

__all__ = [
    "AUC_METHODS",
    "DOSE_PROPORTIONALITY_COLUMNS",
    "NCA_COLUMNS",
    "PARAMETERS",
    "REASON_COLUMNS",
    "SUMMARY_COLUMNS",
    "UNITS",
    "AcceptanceRules",
    "Interval",
    "LambdaZ",
    "NCAOptions",
    "ProfileResult",
    "acceptance_flags",
    "analyse_profile",
    "auc",
    "auc_interval",
    "auc_to",
    "conc_at",
    "dose_proportionality",
    "lambda_z",
    "missing_reasons",
    "nca_profile",
    "run_nca",
    "summarise_nca",
]
