"""ADEDSS: one row per EDSS assessment (QS, ``QSTESTCD = EDSS``).

AVAL = QSORRES as a number; ADT/ADY, AVISIT/AVISITN from the windows; baseline, CHG, PCHG
(:mod:`.baseline`, the assessment time counts when QSDTC has one); ANL01FL as for labs.

``CRIT1FL`` (``config.yaml: edss.improvement``): on post-baseline records with a CHG,
``"Y"`` when the score decreased by at least ``large`` points if BASE <= ``cut``, or by at
least ``small`` points if BASE > ``cut``; else ``"N"``. Baseline and earlier records have no
CRIT1FL. ``CRIT1`` describes the criterion on every record.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.derive.adlb import add_dates, subject_columns
from fcrnpipe.derive.baseline import derive_baseline
from fcrnpipe.derive.common import record, require_columns, shape, text
from fcrnpipe.derive.visits import flag_analysis_records, parse_windows
from fcrnpipe.errors import UserError

log = logging.getLogger("fcrnpipe.derive")

ADEDSS_COLUMNS = [
    "USUBJID",
    "ARMCD",
    "TRT01A",
    "PARAMCD",
    "QSORRES",
    "VISIT",
    "VISITNUM",
    "QSDTC",
    "ADT",
    "ADY",
    "AVISIT",
    "AVISITN",
    "AVAL",
    "BASE",
    "CHG",
    "PCHG",
    "ABLFL",
    "ANL01FL",
    "CRIT1",
    "CRIT1FL",
    "DTYPE",
]
QS_SOURCE = "validation/qs.parquet"
QS_KEY = ["USUBJID", "QSTESTCD", "QSDTC"]
EDSS = "EDSS"


def edss_records(qs: pd.DataFrame, qstestcd: str = EDSS) -> pd.DataFrame:
    """The EDSS records of QS (QSTESTCD = ``qstestcd``, ``config.yaml: edss.qstestcd``, any case)
    with ``PARAMCD = "EDSS"`` and numeric ``AVAL`` (index kept)."""
    require_columns(qs, ["USUBJID", "QSTESTCD", "QSORRES", "QSDTC"], QS_SOURCE)
    e = qs[text(qs["QSTESTCD"]).str.upper() == qstestcd.upper()].copy()
    e["PARAMCD"] = EDSS
    res = text(e["QSORRES"])
    aval = pd.to_numeric(res, errors="coerce")
    bad = res.notna() & aval.isna()
    if bad.any():
        i = bad[bad].index[0]
        raise UserError(f"{QS_SOURCE}, {record(e, i, QS_KEY)}, column QSORRES: {res[i]!r} is not a number")
    e["AVAL"] = aval.astype("float64")
    e["QSORRES"] = res
    return e


def improvement_text(cut: float, large: float, small: float) -> str:
    """CRIT1 text, e.g. ``EDSS improved: decrease >= 1 if baseline <= 5.5, >= 0.5 if baseline > 5.5``."""
    return f"EDSS improved: decrease >= {large:g} if baseline <= {cut:g}, >= {small:g} if baseline > {cut:g}"


def improved(base: pd.Series, chg: pd.Series, cut: float, large: float, small: float) -> pd.Series:
    """Boolean per record: ``-CHG >= large`` if BASE <= cut, ``-CHG >= small`` if BASE > cut (NaN -> False)."""
    b = base.astype("float64")
    need = np.where(b <= cut, large, small)
    return pd.Series((-chg.astype("float64")) >= need, index=base.index) & b.notna() & chg.notna()


def derive_adedss(
    adsl: pd.DataFrame,
    qs: pd.DataFrame,
    visits: Sequence[Mapping[str, Any]],
    improvement: Mapping[str, float],
    baseline_rule: str = "last_on_or_before_first_dose",
    same_day: str = "later",
    qstestcd: str = EDSS,
) -> pd.DataFrame:
    """ADEDSS (columns :data:`ADEDSS_COLUMNS`, sorted by USUBJID, ADT, QSDTC).

    ``improvement`` = ``config.yaml: edss.improvement`` (``cut``, ``large``, ``small``);
    ``qstestcd`` = ``edss.qstestcd`` (the QSTESTCD of the EDSS records).
    """
    windows = parse_windows(visits)
    cut, large, small = (float(improvement[k]) for k in ("cut", "large", "small"))
    subj = subject_columns(adsl, ["ARMCD", "TRT01A", "TRTSDT", "TRTSDTM"])
    e = edss_records(qs, qstestcd)
    idx = e.index
    e = e.merge(subj, on="USUBJID", how="left")
    e.index = idx
    e = add_dates(e, "QSDTC", QS_SOURCE, QS_KEY, windows)
    blank = ["QSORRES", "QSDTC", "VISIT", "VISITNUM"]
    e = derive_baseline(e, ["USUBJID", "PARAMCD"], baseline_rule, same_day, average_blank=blank)
    e["ANL01FL"] = flag_analysis_records(e, ["USUBJID", "PARAMCD"], e["AVAL"].notna() & e["DTYPE"].isna())
    post = (e["ABLFL"] != "Y") & e["BASE"].notna() & e["CHG"].notna()
    e["CRIT1"] = improvement_text(cut, large, small)
    flag = np.where(improved(e["BASE"], e["CHG"], cut, large, small), "Y", "N")
    e["CRIT1FL"] = pd.Series(flag, index=e.index, dtype=object).where(post, None)
    e["VISITNUM"] = pd.to_numeric(e["VISITNUM"], errors="coerce").astype("float64") if "VISITNUM" in e else np.nan
    e["_dt"] = e["DTYPE"].notna().astype(int)
    e["_t"] = e["ADTM"]
    log.info("ADEDSS: %d assessments, %d baselines", len(e), int((e["ABLFL"] == "Y").sum()))
    return shape(e, ADEDSS_COLUMNS, ["USUBJID", "PARAMCD", "ADT", "_t", "_dt"])
