"""ADLB: one row per lab result (plus derived baseline averages with ``same_day: mean``).

Steps (docs/datasets.md section 3; each in its own function):

1. :func:`standardise_lab` -- PARAMCD/PARAM from ``units.csv``, the reported text parsed
   (:mod:`.results`), AVAL in the standard unit (reported x factor, cleaned of float noise),
   AVALU, AVALC (as reported), CENSFL/LLOQ, the configured imputation of censored values,
   LOG2AVAL and UNDETFL for titres, the record's normal range in the standard unit.
   A result ``>x`` is right-censored: ``CENSFL = "Y"``, AVAL = x, no LLOQ.
2. Dates: ADTM (``NaT`` when LBDTC has no time), ADT, ADY; AVISIT/AVISITN from the windows.
3. Baseline, CHG, PCHG (:mod:`.baseline`), by USUBJID and PARAMCD.
4. ANRLO/ANRHI (record range, else ``reference_ranges.csv``), ANRIND, ATOXGR (``ctcae.csv``),
   BTOXGR (the baseline record's grade, on the records that carry BASE).
5. ANL01FL per USUBJID, PARAMCD, AVISITN among the records with a reported result.

Flags: ``CENSFL``/``UNDETFL`` are ``Y``/``N`` on records with a result (``UNDETFL`` only for
titres), empty otherwise; ``ABLFL``/``ANL01FL`` are ``Y`` or empty.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.derive.baseline import derive_baseline
from fcrnpipe.derive.common import clean_float, column_or_none, int_column, record, require_columns, shape, text
from fcrnpipe.derive.dates import parse_dtc
from fcrnpipe.derive.grading import check_units, grade, normal_ranges, range_indicator
from fcrnpipe.derive.results import LOWEST_DILUTION, impute_lab, impute_titre, parse_numeric, parse_titre
from fcrnpipe.derive.visits import assign_visits, flag_analysis_records, parse_windows, study_day
from fcrnpipe.errors import UserError
from fcrnpipe.units import param_info, standardise, unit_key

log = logging.getLogger("fcrnpipe.derive")

ADLB_COLUMNS = [
    "USUBJID",
    "ARMCD",
    "TRT01A",
    "SITEID",
    "LBSEQ",
    "LBTESTCD",
    "PARAMCD",
    "PARAM",
    "LBORRES",
    "LBORRESU",
    "LBORNRLO",
    "LBORNRHI",
    "VISIT",
    "VISITNUM",
    "LBDTC",
    "ADTM",
    "ADT",
    "ADY",
    "AVISIT",
    "AVISITN",
    "AVAL",
    "AVALU",
    "AVALC",
    "CENSFL",
    "LLOQ",
    "LOG2AVAL",
    "BASE",
    "CHG",
    "PCHG",
    "ABLFL",
    "ANL01FL",
    "ANRLO",
    "ANRHI",
    "ANRIND",
    "ATOXGR",
    "BTOXGR",
    "UNDETFL",
    "DTYPE",
]
LB_SOURCE = "validation/lb.parquet"
LB_KEY = ["USUBJID", "LBSEQ"]
#: Variables emptied on a derived (DTYPE = AVERAGE) baseline record: they describe one sample.
AVERAGE_BLANK = [
    "LBORRES",
    "LBORRESU",
    "LBORNRLO",
    "LBORNRHI",
    "VISIT",
    "VISITNUM",
    "LBDTC",
    "AVALC",
    "CENSFL",
    "LLOQ",
    "UNDETFL",
]


def unit_factors(
    df: pd.DataFrame,
    test_col: str,
    unit_col: str,
    units: pd.DataFrame,
    domain: str,
    source: str,
    key: Sequence[str],
) -> tuple[pd.Series, pd.Series]:
    """Conversion factor (``units.csv``) and standard unit per record; factor NaN where the unit is empty.

    Units are matched case-insensitively (:func:`fcrnpipe.units.unit_key`).

    A test code missing from the unit table raises :class:`UserError` naming the record.
    """
    testcd, unit = text(df[test_col]), text(df[unit_col])
    info = param_info(units, domain).set_index("TESTCD")
    unknown = ~testcd.isin(info.index)
    if unknown.any():
        i = unknown[unknown].index[0]
        raise UserError(f"{source}, {record(df, i, key)}, column {test_col}: {testcd[i]!r} is not in units.csv")
    has = unit.notna()
    sub = units[units["domain"] == domain]
    accepted = pd.MultiIndex.from_arrays([sub["TESTCD"].to_numpy(), unit_key(sub["unit"]).to_numpy()])
    pairs = pd.MultiIndex.from_arrays([testcd.to_numpy(dtype=object), unit_key(unit).to_numpy()])
    bad = has & ~pd.Series(pairs.isin(accepted), index=testcd.index)
    if bad.any():
        i = bad[bad].index[0]
        raise UserError(
            f"{source}, {record(df, i, key)}, column {unit_col}: {unit[i]!r} is not a unit of {testcd[i]} in units.csv"
        )
    factor = pd.Series(np.nan, index=testcd.index, dtype="float64")
    std_unit = testcd.map(info["standard_unit"]).astype(object)
    if has.any():
        f, _ = standardise(pd.Series(1.0, index=testcd[has].index), testcd[has], unit[has], units, domain=domain)
        factor[has] = f
    return factor, std_unit


def standardise_lab(
    lb: pd.DataFrame,
    units: pd.DataFrame,
    lab_censoring: str = "half_limit",
    titre_censoring: str = "half_lowest",
    lowest_dilution: float = LOWEST_DILUTION,
) -> pd.DataFrame:
    """LB records with PARAMCD, PARAM, AVAL, AVALU, AVALC, CENSFL, LLOQ, LOG2AVAL, UNDETFL and the
    record's normal range in the standard unit (``_LO``, ``_HI``). Index kept.

    >>> # "<0.5" g/L IgG with lab_censoring="half_limit" -> AVAL 0.25, CENSFL "Y", LLOQ 0.5
    """
    require_columns(lb, ["USUBJID", "LBSEQ", "LBTESTCD", "LBORRES", "LBORRESU", "LBDTC"], LB_SOURCE)
    out = lb.copy()
    testcd = text(out["LBTESTCD"])
    factor, std_unit = unit_factors(out, "LBTESTCD", "LBORRESU", units, "LB", LB_SOURCE, LB_KEY)
    info = param_info(units, "LB").set_index("TESTCD")
    out["PARAMCD"] = testcd.map(info["PARAMCD"]).astype(object)
    out["PARAM"] = testcd.map(info["PARAM"]).astype(object)
    rtype = testcd.map(info["result_type"])
    orres = text(out["LBORRES"])
    aval, lloq, cens, undet = _lab_results(out, orres, rtype, factor, lab_censoring, titre_censoring, lowest_dilution)
    out["AVAL"] = clean_float(pd.Series(aval, index=out.index))
    out["AVALU"] = std_unit
    out["AVALC"] = orres
    out["CENSFL"] = pd.Series(cens, index=out.index, dtype=object)
    out["LLOQ"] = clean_float(pd.Series(lloq, index=out.index))
    out["UNDETFL"] = pd.Series(undet, index=out.index, dtype=object)
    out["_TITRE"] = (rtype == "titre").to_numpy()
    out["LOG2AVAL"] = log2_titre(out["AVAL"], out["_TITRE"])
    for src, dst in (("LBORNRLO", "_LO"), ("LBORNRHI", "_HI")):
        out[dst] = _standard_limit(out, src, factor)
    return out


def _lab_results(
    out: pd.DataFrame,
    orres: pd.Series,
    rtype: pd.Series,
    factor: np.ndarray,
    lab_censoring: str,
    titre_censoring: str,
    lowest_dilution: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """AVAL, LLOQ (standard units, ``factor``: from the reported unit), CENSFL and UNDETFL of
    each LB record from its result ``orres`` (numeric or titre by ``rtype``); censored values
    imputed (:func:`impute_lab`, :func:`impute_titre`). ``UserError`` for an unreadable result."""
    n = len(out)
    aval = np.full(n, np.nan)
    lloq = np.full(n, np.nan)
    cens = np.full(n, None, dtype=object)
    undet = np.full(n, None, dtype=object)
    titre_value = impute_titre(titre_censoring, lowest_dilution)
    for pos, i in enumerate(out.index):
        v = orres[i]
        if v is None:
            continue
        try:
            if rtype[i] == "titre":
                r = parse_titre(v, lowest_dilution)
            else:
                r = parse_numeric(v)
        except ValueError as exc:
            raise UserError(f"{LB_SOURCE}, {record(out, i, LB_KEY)}, column LBORRES: {exc}") from None
        assert r is not None
        f = factor[i]
        if rtype[i] == "titre":
            undet[pos] = "Y" if r.undetected else "N"
            cens[pos] = "Y" if r.censor == "<" else "N"
            if r.censor == "<":
                lloq[pos] = r.value * f
                aval[pos] = titre_value
            else:
                aval[pos] = r.value * f
        else:
            cens[pos] = "N" if r.censor is None else "Y"
            if r.censor == "<":
                lloq[pos] = r.value * f
                aval[pos] = impute_lab(r.value * f, lab_censoring)
            else:
                aval[pos] = r.value * f
    return aval, lloq, cens, undet


def _standard_limit(out: pd.DataFrame, src: str, factor: np.ndarray) -> pd.Series:
    """A normal-range limit column (LBORNRLO or LBORNRHI) in the standard unit; ``UserError``
    for a value that is not a number."""
    raw = column_or_none(out, src)
    num = pd.to_numeric(raw, errors="coerce")
    bad = raw.notna() & num.isna()
    if bad.any():
        i = bad[bad].index[0]
        raise UserError(f"{LB_SOURCE}, {record(out, i, LB_KEY)}, column {src}: {raw[i]!r} is not a number")
    return clean_float(num * factor)


def log2_titre(aval: pd.Series, is_titre: pd.Series) -> pd.Series:
    """LOG2AVAL: log2(AVAL) for titre records with AVAL > 0, else NaN."""
    a = pd.to_numeric(aval, errors="coerce").astype("float64")
    ok = is_titre.astype(bool) & (a > 0)
    return pd.Series(np.where(ok, np.log2(a.where(ok, 1.0)), np.nan), index=aval.index, dtype="float64")


def add_dates(
    df: pd.DataFrame, dtc: str, source: str, key: Sequence[str], windows: Sequence[Any] | None
) -> pd.DataFrame:
    """ADTM, ADT, ADY and (when ``windows`` are given) AVISIT, AVISITN, VISITDY; needs TRTSDT."""
    out = df.copy()
    labels = pd.Series([record(out, i, key) for i in out.index], index=out.index, dtype=object)
    p = parse_dtc(out[dtc], where=f"{source}, column {dtc}", labels=labels)
    out["ADTM"], out["ADT"] = p["DTM"], p["DT"]
    out["ADY"] = study_day(out["ADT"], out["TRTSDT"])
    if windows is not None:
        v = assign_visits(out["ADY"], windows)
        out["AVISIT"], out["AVISITN"], out["VISITDY"] = v["AVISIT"], v["AVISITN"], v["VISITDY"]
    return out


def subject_columns(adsl: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """ADSL variables to merge onto a BDS dataset (one row per USUBJID)."""
    require_columns(adsl, ["USUBJID", *columns], "adam/adsl.parquet")
    return adsl[["USUBJID", *columns]].drop_duplicates("USUBJID")


def lab_baseline_frame(
    lb: pd.DataFrame,
    period: pd.DataFrame,
    units: pd.DataFrame,
    windows: Sequence[Any] | None,
    baseline_rule: str,
    same_day: str,
    lab_censoring: str,
    titre_censoring: str,
) -> pd.DataFrame:
    """Standardised LB records with dates and baseline (shared by ADLB and ADSL's IGGBL/PDFL).

    ``period`` has USUBJID, TRTSDT, TRTSDTM (+ any subject variables to carry).
    """
    std = standardise_lab(lb, units, lab_censoring, titre_censoring)
    std = std.merge(period, on="USUBJID", how="left")
    std.index = lb.index
    std = add_dates(std, "LBDTC", LB_SOURCE, LB_KEY, windows)
    std = derive_baseline(
        std, ["USUBJID", "PARAMCD"], baseline_rule, same_day, seq="LBSEQ", average_blank=AVERAGE_BLANK
    )
    # derived averages of titres need their own log2
    std["LOG2AVAL"] = log2_titre(std["AVAL"], std["_TITRE"].fillna(False))
    return std


def derive_adlb(
    adsl: pd.DataFrame,
    lb: pd.DataFrame,
    units: pd.DataFrame,
    reference_ranges: pd.DataFrame,
    ctcae: pd.DataFrame,
    visits: Sequence[Mapping[str, Any]],
    baseline_rule: str = "last_on_or_before_first_dose",
    same_day: str = "later",
    lab_censoring: str = "half_limit",
    titre_censoring: str = "half_lowest",
) -> pd.DataFrame:
    """ADLB (columns :data:`ADLB_COLUMNS`; sorted by USUBJID, PARAMCD, ADT, ADTM, LBSEQ, DTYPE).

    ``units`` from :func:`fcrnpipe.units.load_unit_table`; ``reference_ranges``/``ctcae`` from
    :mod:`.grading`; the other arguments are the config values (``visits``, ``baseline.*``,
    ``censoring.lab``, ``censoring.titre``).
    """
    windows = parse_windows(visits)
    info = param_info(units, "LB")
    std_units = dict(zip(info["PARAMCD"], info["standard_unit"]))
    check_units(reference_ranges, std_units, "reference_ranges.csv")
    check_units(ctcae, std_units, "ctcae.csv")
    subj = subject_columns(adsl, ["ARMCD", "TRT01A", "SITEID", "TRTSDT", "TRTSDTM"])
    out = lab_baseline_frame(lb, subj, units, windows, baseline_rule, same_day, lab_censoring, titre_censoring)
    out["ANRLO"], out["ANRHI"] = normal_ranges(out["PARAMCD"], out["_LO"], out["_HI"], reference_ranges)
    out["ANRIND"] = range_indicator(out["AVAL"], out["ANRLO"], out["ANRHI"])
    out["ATOXGR"] = grade(out["PARAMCD"], out["AVAL"], out["ANRLO"], out["ANRHI"], ctcae)
    base = out[out["ABLFL"] == "Y"][["USUBJID", "PARAMCD", "ATOXGR"]].rename(columns={"ATOXGR": "_BTOX"})
    merged = out[["USUBJID", "PARAMCD"]].merge(base, on=["USUBJID", "PARAMCD"], how="left")
    btox = pd.Series(merged["_BTOX"].to_numpy(), index=out.index).astype("Int64")
    out["BTOXGR"] = btox.where(out["BASE"].notna(), pd.NA)
    has_result = out["AVALC"].notna() | out["AVAL"].notna()
    out["ANL01FL"] = flag_analysis_records(out, ["USUBJID", "PARAMCD"], has_result & out["DTYPE"].isna(), seq="LBSEQ")
    out["LBSEQ"] = int_column(out["LBSEQ"])
    out["VISITNUM"] = pd.to_numeric(out["VISITNUM"], errors="coerce").astype("float64")
    out["_dt"] = out["DTYPE"].notna().astype(int)
    n_avg = int((out["DTYPE"] == "AVERAGE").sum())
    if n_avg:
        log.info("ADLB: %d derived baseline record(s) (DTYPE = AVERAGE, same_day = mean)", n_avg)
    log.info("ADLB: %d records, %d parameters", len(out), out["PARAMCD"].nunique())
    return shape(out, ADLB_COLUMNS, ["USUBJID", "PARAMCD", "ADT", "ADTM", "_dt", "LBSEQ"])
