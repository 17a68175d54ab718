"""ADAE: one row per adverse event.

* ``ASTDT``/``ASTDTF``, ``AENDT``/``AENDTF``: :func:`fcrnpipe.derive.dates.impute_dates` with the
  first-dose date (ADSL TRTSDT) and the end of study (ADSL EOSDT; no cap when missing).
* ``ASTDY``/``AENDY``: study days; ``ATOXGR`` = AETOXGR as an integer (empty when AE has no
  CTCAE grades). When AE has AESEV, ``ASEV`` (MILD, MODERATE, SEVERE) and ``ASEVN`` (1, 2, 3) are
  added after ATOXGR (ADaM permissible variables: present only when collected); a study without
  AETOXGR is analysed on this severity scale (tables and figures say so).
* ``RELFL``: ``Y`` when AEREL is one of ``config.yaml: ae.related_terms`` (case-insensitive),
  ``N`` otherwise, empty without AEREL. ``DISCFL``: ``Y`` when AEACN is ``DRUG WITHDRAWN``.
* ``TRTEMFL = "Y"``: ASTDT on or after TRTSDT and not after TRTEDT + ``ae.teae_window_days``
  (dates; subjects never dosed have no TEAE).
* Among the TEAEs of a subject and preferred term (AEDECOD): ``AOCCPFL = "Y"`` on the first
  (earliest ASTDT, then lowest AESEQ); ``MAXGRPFL = "Y"`` on the one with the highest
  ATOXGR -- ASEVN when there are no grades -- (ties: the first).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from fcrnpipe.derive.adlb import subject_columns
from fcrnpipe.derive.common import int_column, record, require_columns, shape, text, yes_no, yes_null
from fcrnpipe.derive.dates import impute_dates
from fcrnpipe.derive.visits import study_day
from fcrnpipe.errors import UserError

log = logging.getLogger("fcrnpipe.derive")

ADAE_COLUMNS = [
    "USUBJID",
    "ARMCD",
    "TRT01A",
    "AESEQ",
    "AETERM",
    "AEDECOD",
    "AEBODSYS",
    "AESTDTC",
    "AEENDTC",
    "ASTDT",
    "ASTDTF",
    "AENDT",
    "AENDTF",
    "ASTDY",
    "AENDY",
    "ATOXGR",
    "AESER",
    "AEREL",
    "RELFL",
    "AEACN",
    "DISCFL",
    "TRTEMFL",
    "AOCCPFL",
    "MAXGRPFL",
]
AE_SOURCE = "validation/ae.parquet"
WITHDRAWN = "DRUG WITHDRAWN"
#: AESEV -> ASEVN.
SEVERITY_LEVELS: dict[str, int] = {"MILD": 1, "MODERATE": 2, "SEVERE": 3}


def teae_flag(astdt: pd.Series, trtsdt: pd.Series, trtedt: pd.Series, window_days: int) -> pd.Series:
    """TRTEMFL (``Y``/``None``): TRTSDT <= ASTDT <= TRTEDT + ``window_days``.

    >>> d = lambda *v: pd.Series(pd.to_datetime(list(v)))
    >>> teae_flag(d("2021-02-10", "2021-02-11", "2021-03-05", "2021-03-06"), d(*["2021-02-11"] * 4),
    ...           d(*["2021-03-04"] * 4), 1).tolist()
    [None, 'Y', 'Y', None]
    """
    end = trtedt + pd.to_timedelta(int(window_days), unit="D")
    m = astdt.notna() & trtsdt.notna() & (astdt >= trtsdt.dt.normalize()) & (astdt <= end.dt.normalize())
    return yes_null(m)


def first_per_term(df: pd.DataFrame, eligible: pd.Series, by_grade: bool, grade: str = "ATOXGR") -> pd.Series:
    """``Y`` on the first eligible record per USUBJID + AEDECOD (by ASTDT, AESEQ), or on the one
    with the highest ``grade`` (``by_grade``; ties: the first)."""
    cand = df[eligible.fillna(False).astype(bool)].copy()
    if cand.empty:
        return yes_null(pd.Series(False, index=df.index))
    cand["_g"] = -pd.to_numeric(cand[grade], errors="coerce").astype("float64").fillna(-np.inf)
    cand["_s"] = pd.to_numeric(cand["AESEQ"], errors="coerce")
    cols = ["USUBJID", "AEDECOD", *(["_g"] if by_grade else []), "ASTDT", "_s"]
    chosen = cand.sort_values(cols, kind="mergesort", na_position="last").drop_duplicates(
        ["USUBJID", "AEDECOD"], keep="first"
    )
    return yes_null(pd.Series(df.index.isin(chosen.index), index=df.index))


def derive_adae(
    adsl: pd.DataFrame, ae: pd.DataFrame, related_terms: Sequence[str], teae_window_days: int
) -> pd.DataFrame:
    """ADAE (columns :data:`ADAE_COLUMNS`, sorted by USUBJID, AESEQ).

    ``related_terms`` = ``config.yaml: ae.related_terms``; ``teae_window_days`` =
    ``ae.teae_window_days``.
    """
    require_columns(ae, ["USUBJID", "AESEQ", "AEDECOD", "AESTDTC"], AE_SOURCE)
    if "AETOXGR" not in ae.columns and "AESEV" not in ae.columns:
        raise UserError(f"{AE_SOURCE}: missing column AETOXGR (or AESEV)")
    subj = subject_columns(adsl, ["ARMCD", "TRT01A", "TRTSDT", "TRTEDT", "EOSDT"])
    a = ae.copy()
    idx = a.index
    a = a.merge(subj, on="USUBJID", how="left")
    a.index = idx
    labels = pd.Series([record(a, i, ["USUBJID", "AESEQ"]) for i in a.index], index=a.index)
    end_dtc = a["AEENDTC"] if "AEENDTC" in a.columns else pd.Series([None] * len(a), index=a.index)
    imp = impute_dates(
        a["AESTDTC"], end_dtc, a["TRTSDT"], a["EOSDT"], where=f"{AE_SOURCE}, AESTDTC/AEENDTC", labels=labels
    )
    a = a.join(imp)
    a["ASTDY"] = study_day(a["ASTDT"], a["TRTSDT"])
    a["AENDY"] = study_day(a["AENDT"], a["TRTSDT"])
    a["ATOXGR"] = int_column(a["AETOXGR"]) if "AETOXGR" in a.columns else pd.Series(pd.NA, index=a.index, dtype="Int64")
    columns = list(ADAE_COLUMNS)
    if "AESEV" in a.columns:
        a["ASEV"] = text(a["AESEV"]).str.upper()
        a["ASEVN"] = a["ASEV"].map(SEVERITY_LEVELS).astype("Int64")
        columns[columns.index("ATOXGR") + 1 : columns.index("ATOXGR") + 1] = ["ASEV", "ASEVN"]
    grade = "ATOXGR" if a["ATOXGR"].notna().any() or "ASEVN" not in a.columns else "ASEVN"
    a["AESEQ"] = int_column(a["AESEQ"])
    for col in ("AETERM", "AEDECOD", "AEBODSYS", "AESTDTC", "AEENDTC", "AESER", "AEREL", "AEACN"):
        if col in a.columns:
            a[col] = text(a[col])
    related = {t.strip().upper() for t in related_terms}
    rel = text(a["AEREL"]) if "AEREL" in a.columns else pd.Series([None] * len(a), index=a.index)
    a["RELFL"] = yes_no(rel.str.upper().isin(related), rel.notna())
    acn = text(a["AEACN"]) if "AEACN" in a.columns else pd.Series([None] * len(a), index=a.index)
    a["DISCFL"] = yes_no(acn.str.upper() == WITHDRAWN, acn.notna())
    a["TRTEMFL"] = teae_flag(a["ASTDT"], a["TRTSDT"], a["TRTEDT"], teae_window_days)
    teae = a["TRTEMFL"] == "Y"
    a["AOCCPFL"] = first_per_term(a, teae, by_grade=False)
    a["MAXGRPFL"] = first_per_term(a, teae, by_grade=True, grade=grade)
    log.info("ADAE: %d events, %d treatment-emergent", len(a), int(teae.sum()))
    return shape(a, columns, ["USUBJID", "AESEQ"])
