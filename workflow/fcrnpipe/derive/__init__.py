"""Derive stage: validated SDTM-like tables -> ADaM-like analysis datasets (docs/datasets.md §3).

One entry point per dataset (one job each of ``rule derive``, workflow/rules/derive.smk, through
:mod:`.registry`):

=========  ==========================================  =====================================
dataset    function                                    reads
=========  ==========================================  =====================================
ADSL       :func:`derive_adsl`                          dm, ex, ds, vs, lb, pc, qs (not ae)
ADEX       :func:`derive_adex`                          dm, ex
ADLB       :func:`derive_adlb`                          ADSL, lb
ADPC       :func:`derive_adpc`                          ADSL, ADEX, pc
ADEDSS     :func:`derive_adedss`                        ADSL, qs
ADAE       :func:`derive_adae`                          ADSL, ae
=========  ==========================================  =====================================

Building blocks: :mod:`.dates` (ISO 8601, partial-date imputation), :mod:`.visits` (ADY,
analysis visits, ANL01FL), :mod:`.results` (reported text -> numbers, censoring),
:mod:`.baseline` (ABLFL/BASE/CHG/PCHG), :mod:`.grading` (normal ranges, CTCAE grades).

Conventions of every dataset:

* Column order as in docs/datasets.md (plus ``DTYPE`` on ADLB/ADEDSS: ``AVERAGE`` on a derived
  baseline record with ``baseline.same_day: mean``, else empty); rows sorted by key.
* Datetimes (``*DTM``) and dates (``*DT``) are ``datetime64[ns]`` in parquet (a date at
  midnight; ``*DTM`` is empty when the source has no time: no time is imputed); in CSV they
  are ISO 8601 text (``YYYY-MM-DDThh:mm:ss`` / ``YYYY-MM-DD``), see :func:`write_dataset`.
* Whole numbers that may be missing (ADY, AVISITN, --SEQ, DOSENUM, ATOXGR, ...) are ``Int64``.
* Flags: population flags and property flags (SAFFL, PKFL, PDFL, CENSFL, BLQFL, UNDETFL,
  RELFL, DISCFL, CRIT1FL) are ``Y``/``N`` (empty when not determinable); record-selection
  flags (ABLFL, ANL01FL, TRTEMFL, AOCCPFL, MAXGRPFL) are ``Y`` or empty.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fcrnpipe.derive.adae import ADAE_COLUMNS, derive_adae
from fcrnpipe.derive.adedss import ADEDSS_COLUMNS, derive_adedss
from fcrnpipe.derive.adex import ADEX_COLUMNS, derive_adex
from fcrnpipe.derive.adlb import ADLB_COLUMNS, derive_adlb
from fcrnpipe.derive.adpc import ADPC_COLUMNS, derive_adpc
from fcrnpipe.derive.adsl import ADSL_COLUMNS, derive_adsl
from fcrnpipe.derive.common import csv_view
from fcrnpipe.derive.grading import load_ctcae, load_reference_ranges
from fcrnpipe.tableio import write_csv, write_parquet

__all__ = [
    "ADAE_COLUMNS",
    "ADEDSS_COLUMNS",
    "ADEX_COLUMNS",
    "ADLB_COLUMNS",
    "ADPC_COLUMNS",
    "ADSL_COLUMNS",
    "csv_view",
    "derive_adae",
    "derive_adedss",
    "derive_adex",
    "derive_adlb",
    "derive_adpc",
    "derive_adsl",
    "load_ctcae",
    "load_reference_ranges",
    "write_dataset",
]


def write_dataset(df: pd.DataFrame, parquet_path: str | Path, csv_path: str | Path) -> None:
    """Write an analysis dataset: typed parquet (:func:`fcrnpipe.tableio.write_parquet`) and CSV
    with ISO 8601 date/time text (:func:`csv_view` then :func:`fcrnpipe.tableio.write_csv`)."""
    write_parquet(df, parquet_path)
    write_csv(csv_view(df), csv_path)
