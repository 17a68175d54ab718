"""ADEX (one row per administration) and the treatment period shared with ADSL.

* Study-treatment administrations are the EX records of ``config.yaml: study.treatment``
  (``EXTRT``, compared case-insensitively) with ``EXDOSE > 0`` and the records of
  ``study.placebo`` (any EXDOSE; a placebo administration counts as 0 mg of the study drug);
  ``DOSENUM`` numbers them 1.. in time order (start date, then start time, then EXSEQ). Other
  records (comedication, a 0 mg study-drug record) have no DOSENUM. A subject has either.
* ``ASTDTM`` is the start date-time (``NaT`` when EXSTDTC has no time), ``ASTDT`` its date.
* Treatment period: ``TRTSDTM``/``TRTSDT`` = start of dose 1; ``TRTEDTM``/``TRTEDT`` = end of
  the last dose (EXENDTC when given, else EXSTDTC); ``NDOSE`` = number of administrations,
  ``CUMDOSE`` = sum of EXDOSE of the study drug (mg; 0 for placebo).
* ``ADY`` = study day of ASTDT; ``AFRLT`` = hours from the first dose (missing when either
  has no time).
* ``TRT01A`` (actual treatment): the label of the configured arm whose ``dose_mg`` equals the
  first dose received (placebo: 0 mg), else ``"<Treatment> <dose> mg"`` (``"Placebo"``); empty
  for subjects never dosed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.derive.common import NS, int_column, record, require_columns, shape, text
from fcrnpipe.derive.dates import parse_dtc
from fcrnpipe.derive.visits import study_day

log = logging.getLogger("fcrnpipe.derive")

ADEX_COLUMNS = [
    "USUBJID",
    "ARMCD",
    "TRT01A",
    "EXSEQ",
    "EXTRT",
    "EXDOSE",
    "EXDOSU",
    "EXROUTE",
    "ASTDTM",
    "ASTDT",
    "ADY",
    "AFRLT",
    "DOSENUM",
]
PERIOD_COLUMNS = ["USUBJID", "TRTSDTM", "TRTSDT", "TRTEDTM", "TRTEDT", "NDOSE", "CUMDOSE", "FIRSTDOSE"]
EX_SOURCE = "validation/ex.parquet"


def hours_between(later: pd.Series, earlier: pd.Series) -> pd.Series:
    """``(later - earlier)`` in hours (float64; NaN when either is NaT)."""
    return ((pd.to_datetime(later) - pd.to_datetime(earlier)).dt.total_seconds() / 3600.0).astype("float64")


def exposure_records(ex: pd.DataFrame, treatment: str, placebo: str = "PLACEBO") -> pd.DataFrame:
    """EX records with ``ASTDTM``, ``ASTDT``, ``_ENDTM``, ``_ENDT``, ``_MG`` (study-drug mg; 0 for
    placebo) and ``DOSENUM`` (``Int64``)."""
    require_columns(ex, ["USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXSTDTC"], EX_SOURCE)
    out = ex.copy()
    labels = pd.Series([record(out, i, ["USUBJID", "EXSEQ"]) for i in out.index], index=out.index)
    start = parse_dtc(out["EXSTDTC"], where=f"{EX_SOURCE}, column EXSTDTC", labels=labels)
    out["ASTDTM"], out["ASTDT"] = start["DTM"], start["DT"]
    if "EXENDTC" in out.columns:
        end = parse_dtc(out["EXENDTC"], where=f"{EX_SOURCE}, column EXENDTC", labels=labels)
        has_end = end["DT"].notna()
        out["_ENDTM"] = end["DTM"].where(has_end, start["DTM"])
        out["_ENDT"] = end["DT"].where(has_end, start["DT"])
    else:
        out["_ENDTM"], out["_ENDT"] = start["DTM"], start["DT"]
    trt = text(out["EXTRT"]).str.upper()
    dose = pd.to_numeric(out["EXDOSE"], errors="coerce")
    is_placebo = trt == placebo.upper()
    out["_MG"] = dose.where(~is_placebo, 0.0)
    is_dose = (((trt == treatment.upper()) & (dose > 0)) | is_placebo) & out["ASTDT"].notna()
    d = out[is_dose].assign(_seq=pd.to_numeric(out["EXSEQ"], errors="coerce"))
    d = d.sort_values(["USUBJID", "ASTDT", "ASTDTM", "_seq"], na_position="first", kind="mergesort")
    num = d.groupby("USUBJID", sort=False).cumcount() + 1
    out["DOSENUM"] = pd.Series(pd.NA, index=out.index, dtype="Int64")
    out.loc[num.index, "DOSENUM"] = num.astype("Int64")
    return out


def treatment_period(ex: pd.DataFrame, treatment: str, placebo: str = "PLACEBO") -> pd.DataFrame:
    """One row per dosed subject: :data:`PERIOD_COLUMNS` (``FIRSTDOSE`` = mg of dose 1; 0 for placebo)."""
    rec = exposure_records(ex, treatment, placebo)
    doses = rec[rec["DOSENUM"].notna()].sort_values(["USUBJID", "DOSENUM"], kind="mergesort")
    if doses.empty:
        return pd.DataFrame(
            {
                "USUBJID": pd.Series([], dtype=object),
                "TRTSDTM": pd.Series([], dtype=NS),
                "TRTSDT": pd.Series([], dtype=NS),
                "TRTEDTM": pd.Series([], dtype=NS),
                "TRTEDT": pd.Series([], dtype=NS),
                "NDOSE": pd.Series([], dtype="Int64"),
                "CUMDOSE": pd.Series([], dtype="float64"),
                "FIRSTDOSE": pd.Series([], dtype="float64"),
            }
        )
    g = doses.groupby("USUBJID", sort=True)
    first, last = g.head(1).set_index("USUBJID"), g.tail(1).set_index("USUBJID")
    out = pd.DataFrame(
        {
            "TRTSDTM": first["ASTDTM"],
            "TRTSDT": first["ASTDT"],
            "TRTEDTM": last["_ENDTM"],
            "TRTEDT": last["_ENDT"],
            "NDOSE": g.size().astype("Int64"),
            "CUMDOSE": g["_MG"].sum().astype("float64"),
            "FIRSTDOSE": pd.to_numeric(first["_MG"]).astype("float64"),
        }
    )
    return out.rename_axis("USUBJID").reset_index()


def actual_treatment(first_dose_mg: float, arms: Sequence[Mapping[str, Any]], treatment: str) -> str | None:
    """TRT01A: label of the arm with ``dose_mg == first_dose_mg``; ``None`` if never dosed.

    >>> actual_treatment(680.0, [{"armcd": "BATO680", "label": "Batoclimab 680 mg", "dose_mg": 680}], "BATOCLIMAB")
    'Batoclimab 680 mg'
    >>> actual_treatment(510.0, [], "BATOCLIMAB")
    'Batoclimab 510 mg'
    >>> actual_treatment(0.0, [], "BATOCLIMAB")
    'Placebo'
    """
    if first_dose_mg is None or pd.isna(first_dose_mg):
        return None
    for arm in arms:
        if float(arm["dose_mg"]) == float(first_dose_mg):
            return str(arm["label"])
    if float(first_dose_mg) == 0:
        return "Placebo"
    return f"{treatment.capitalize()} {float(first_dose_mg):g} mg"


def subject_treatment(
    dm: pd.DataFrame, ex: pd.DataFrame, arms: Sequence[Mapping[str, Any]], treatment: str, placebo: str = "PLACEBO"
) -> pd.DataFrame:
    """Per DM subject: ARMCD, TRT01A and the treatment period (:data:`PERIOD_COLUMNS`)."""
    require_columns(dm, ["USUBJID", "ARMCD"], "validation/dm.parquet")
    period = treatment_period(ex, treatment, placebo)
    subj = dm[["USUBJID", "ARMCD"]].merge(period, on="USUBJID", how="left")
    subj["TRT01A"] = [actual_treatment(d, arms, treatment) for d in subj["FIRSTDOSE"]]
    return subj


def derive_adex(
    dm: pd.DataFrame, ex: pd.DataFrame, arms: Sequence[Mapping[str, Any]], treatment: str, placebo: str = "PLACEBO"
) -> pd.DataFrame:
    """ADEX from the validated DM and EX tables (columns :data:`ADEX_COLUMNS`, sorted by USUBJID, EXSEQ)."""
    rec = exposure_records(ex, treatment, placebo)
    subj = subject_treatment(dm, ex, arms, treatment, placebo)
    out = rec.merge(subj[["USUBJID", "ARMCD", "TRT01A", "TRTSDT", "TRTSDTM"]], on="USUBJID", how="left")
    out["ADY"] = study_day(out["ASTDT"], out["TRTSDT"])
    out["AFRLT"] = hours_between(out["ASTDTM"], out["TRTSDTM"])
    out["EXSEQ"] = int_column(out["EXSEQ"])
    out["EXDOSE"] = pd.to_numeric(out["EXDOSE"], errors="coerce").astype("float64")
    for col in ("EXTRT", "EXDOSU", "EXROUTE"):
        if col in out.columns:
            out[col] = text(out[col])
    out["AFRLT"] = out["AFRLT"].where(np.isfinite(out["AFRLT"]), np.nan)
    log.info("ADEX: %d administrations, %d study-treatment doses", len(out), int(out["DOSENUM"].notna().sum()))
    return shape(out, ADEX_COLUMNS, ["USUBJID", "EXSEQ"])
