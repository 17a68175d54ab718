"""ADPC: one row per concentration record (PC), with actual and nominal times.

Values: AVAL in the standard unit (mg/L, ``units.csv``); ``BLQFL = "Y"`` for ``<LLOQ``, ``BLQ``
or ``<x``; ``LLOQ`` = PCLLOQ (``<x``: x) in mg/L; BLQ records imputed per subject in time order
(:func:`fcrnpipe.derive.results.impute_blq`, ``config.yaml: censoring.pk_*``).

Actual times (hours; missing when PCDTC or the dose has no time):

* ``AFRLT`` = sample time - first study-drug dose (ADSL TRTSDTM);
* the sample's dose (``DOSENUM``, ``DOSEA`` mg) is the most recent study-drug dose given
  *strictly before* the sample (ADEX): a pre-dose sample, even one taken at the dose time,
  belongs to the previous dosing interval; ``ARRLT`` = sample time - that dose;
* a sample before the first dose has ``DOSENUM = 0``, no DOSEA and ``ARRLT = AFRLT`` (<= 0).

Nominal times (hours) from the nominal dosing schedule ``config.yaml: study.dosing_days``
(dose k at ``T_k = (day_k - 1) x 24``):

1. the sample's reference dose k and nominal offset h: ``PCTPTREF = "DOSE k"`` with
   ``PCTPTNUM = h`` when both are present; else h from PCTPT (``PRE-DOSE`` -> 0, before the
   dose; ``<n> H ...`` -> n hours after it) and k the scheduled dose whose planned sample time
   ``T_k + h`` is closest to the actual AFRLT (ties: the earlier dose; without AFRLT: k =
   DOSENUM + 1 for a pre-dose sample, DOSENUM otherwise) -- so a mislabelled or late sample
   keeps its planned time on the protocol schedule;
2. a pre-dose sample (PCTPT contains ``PRE``, or h < 0): ``NFRLT = T_k + h`` and, as for the
   actual times, it belongs to the previous interval: ``NRRLT = NFRLT - T_(k-1)`` (k >= 2) or
   ``NRRLT = NFRLT`` (k = 1);
3. otherwise ``NFRLT = T_k + h``, ``NRRLT = h``;
4. without a usable time point (e.g. ``FOLLOW-UP`` with no PCTPTNUM): the target day of the
   sample's analysis visit, ``NFRLT = (day - 1) x 24`` (``day x 24`` before day 1), and
   ``NRRLT = NFRLT - T_j`` for the last nominal dose j before it that the subject received
   (j <= NDOSE); missing outside every visit window;
5. a reference dose beyond the schedule leaves both missing (logged).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.derive.adex import hours_between
from fcrnpipe.derive.adlb import add_dates, subject_columns, unit_factors
from fcrnpipe.derive.common import clean_float, int_column, record, require_columns, shape, text
from fcrnpipe.derive.results import impute_blq, parse_concentration
from fcrnpipe.derive.visits import parse_windows
from fcrnpipe.errors import UserError
from fcrnpipe.units import for_analyte, param_info

log = logging.getLogger("fcrnpipe.derive")

ADPC_COLUMNS = [
    "USUBJID",
    "ARMCD",
    "TRT01A",
    "TRT01PN",
    "PCSEQ",
    "PCTESTCD",
    "PARAMCD",
    "PCORRES",
    "PCORRESU",
    "PCLLOQ",
    "VISIT",
    "PCTPT",
    "PCDTC",
    "ADTM",
    "ADY",
    "AVISIT",
    "AVISITN",
    "AVAL",
    "AVALU",
    "AVALC",
    "BLQFL",
    "LLOQ",
    "AFRLT",
    "ARRLT",
    "NFRLT",
    "NRRLT",
    "DOSENUM",
    "DOSEA",
]
PC_SOURCE = "validation/pc.parquet"
PC_KEY = ["USUBJID", "PCSEQ"]
_REF = re.compile(r"^DOSE\s*(\d+)$", re.IGNORECASE)
_HOURS = re.compile(r"^(\d+(?:\.\d+)?)\s*(?:H|HR|HRS|HOUR|HOURS)\b", re.IGNORECASE)


def dose_times(adex: pd.DataFrame, treatment: str) -> pd.DataFrame:
    """Study-drug doses of ADEX: USUBJID, DOSENUM (int), ASTDTM, EXDOSE; sorted."""
    require_columns(adex, ["USUBJID", "EXTRT", "EXDOSE", "ASTDTM", "DOSENUM"], "adam/adex.parquet")
    d = adex[(text(adex["EXTRT"]).str.upper() == treatment.upper()) & adex["DOSENUM"].notna()]
    d = d[["USUBJID", "DOSENUM", "ASTDTM", "EXDOSE"]].copy()
    d["DOSENUM"] = d["DOSENUM"].astype("int64")
    return d.sort_values(["USUBJID", "DOSENUM"], kind="mergesort").reset_index(drop=True)


def assign_doses(samples: pd.DataFrame, doses: pd.DataFrame) -> pd.DataFrame:
    """DOSENUM (Int64), DOSEA, ARRLT for samples (USUBJID, ADTM, AFRLT) given :func:`dose_times`.

    Most recent dose strictly before the sample; none -> DOSENUM 0, ARRLT = AFRLT. Samples
    without a time get missing values.
    """
    n = len(samples)
    num = pd.array([pd.NA] * n, dtype="Int64")
    amt = np.full(n, np.nan)
    arr = np.full(n, np.nan)
    by_subject = {s: g for s, g in doses.groupby("USUBJID", sort=False)}
    for pos, (subj, t, afrlt) in enumerate(zip(samples["USUBJID"], samples["ADTM"], samples["AFRLT"])):
        if pd.isna(t):
            continue
        g = by_subject.get(subj)
        prior = g[g["ASTDTM"].notna() & (g["ASTDTM"] < t)] if g is not None else None
        if prior is None or prior.empty:
            num[pos] = 0
            arr[pos] = afrlt
            continue
        last = prior.iloc[-1]
        num[pos] = int(last["DOSENUM"])
        amt[pos] = float(last["EXDOSE"])
        arr[pos] = (t - last["ASTDTM"]).total_seconds() / 3600.0
    return pd.DataFrame({"DOSENUM": num, "DOSEA": amt, "ARRLT": arr}, index=samples.index)


def nominal_offset(
    tpt: str | None, tptref: str | None, tptnum: str | None
) -> tuple[int | None, float | None, bool, bool]:
    """``(k, h, pre, relative_to_next)`` from PCTPTREF/PCTPTNUM or PCTPT (rule 1 of the module doc).

    ``k`` is the reference dose when given explicitly (else ``None``: the caller takes it from
    DOSENUM); ``relative_to_next`` is True for a PRE-DOSE without an explicit reference.

    >>> nominal_offset("PRE-DOSE", "DOSE 2", "0")
    (2, 0.0, True, False)
    >>> nominal_offset("6 H POST-DOSE", None, None)
    (None, 6.0, False, False)
    >>> nominal_offset("PRE-DOSE", None, None)
    (None, 0.0, True, True)
    >>> nominal_offset("FOLLOW-UP", None, None)
    (None, None, False, False)
    """
    label = (tpt or "").strip().upper()
    is_pre = "PRE" in label
    m = _REF.match((tptref or "").strip())
    h = pd.to_numeric(tptnum, errors="coerce") if tptnum is not None else np.nan
    if m and np.isfinite(h):
        return int(m.group(1)), float(h), bool(is_pre or h < 0), False
    if is_pre:
        return None, 0.0, True, True
    mh = _HOURS.match(label)
    if mh:
        return None, float(mh.group(1)), False, False
    return None, None, False, False


def nominal_times(samples: pd.DataFrame, dosing_days: Sequence[int], ndose: Mapping[str, int]) -> pd.DataFrame:
    """NFRLT and NRRLT (hours) per sample; see the module docstring.

    ``samples`` needs USUBJID, PCTPT, AFRLT, DOSENUM, VISITDY and optionally PCTPTREF, PCTPTNUM;
    ``ndose`` = doses received per subject.
    """
    t_dose = [(float(d) - 1.0) * 24.0 for d in dosing_days]
    nf = np.full(len(samples), np.nan)
    nr = np.full(len(samples), np.nan)
    tpt = text(samples["PCTPT"]) if "PCTPT" in samples else pd.Series([None] * len(samples), index=samples.index)
    ref = text(samples["PCTPTREF"]) if "PCTPTREF" in samples else pd.Series([None] * len(samples), index=samples.index)
    num = text(samples["PCTPTNUM"]) if "PCTPTNUM" in samples else pd.Series([None] * len(samples), index=samples.index)
    beyond = 0
    for pos, i in enumerate(samples.index):
        k, h, pre, to_next = nominal_offset(tpt[i], ref[i], num[i])
        afrlt = samples.at[i, "AFRLT"]
        actual = samples.at[i, "DOSENUM"]
        if h is not None and k is None and t_dose and not pd.isna(afrlt):
            # the scheduled dose whose planned sample time is closest to the actual time
            k = int(np.argmin([abs(t + h - float(afrlt)) for t in t_dose])) + 1
        elif h is not None and k is None and not pd.isna(actual):
            k = int(actual) + 1 if to_next else int(actual)
        if h is not None and k is not None and k >= 1:
            if k > len(t_dose):
                beyond += 1
                continue
            nf[pos] = t_dose[k - 1] + h
            if pre:
                nr[pos] = nf[pos] - t_dose[k - 2] if k >= 2 else nf[pos]
            else:
                nr[pos] = h
            continue
        day = samples.at[i, "VISITDY"]
        if pd.isna(day):
            continue
        day = float(day)
        nf[pos] = (day - 1.0) * 24.0 if day > 0 else day * 24.0
        received = int(ndose.get(samples.at[i, "USUBJID"], 0))
        before = [j for j, t in enumerate(t_dose, start=1) if t < nf[pos] and j <= received]
        nr[pos] = nf[pos] - t_dose[before[-1] - 1] if before else nf[pos]
    if beyond:
        log.warning("ADPC: %d sample(s) refer to a dose beyond config study.dosing_days: no nominal time", beyond)
    return pd.DataFrame({"NFRLT": nf, "NRRLT": nr}, index=samples.index)


def _concentrations(
    p: pd.DataFrame, orres: pd.Series, factor: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each PC record's value and LLOQ in standard units (``factor``: from the reported unit)
    and its BLQ flag (``Y``/``N``, None if not reported), from PCORRES (``orres``) and PCLLOQ;
    a ``<x`` result gives the LLOQ ``x``. ``UserError`` for an unreadable result."""
    lloq_rep = pd.to_numeric(p["PCLLOQ"], errors="coerce").astype("float64")
    value = np.full(len(p), np.nan)
    lloq = np.full(len(p), np.nan)
    blq = np.full(len(p), None, dtype=object)
    for pos, i in enumerate(p.index):
        try:
            r = parse_concentration(orres[i], lloq_rep[i])
        except ValueError as exc:
            raise UserError(f"{PC_SOURCE}, {record(p, i, PC_KEY)}, column PCORRES: {exc}") from None
        lloq[pos] = lloq_rep[i] * factor[i] if np.isfinite(factor[i]) else np.nan
        if r is None:
            continue
        if r.censor == "<":
            blq[pos] = "Y"
            lloq[pos] = r.value * factor[i]
        else:
            blq[pos] = "N"
            value[pos] = r.value * factor[i]
    return value, lloq, blq


def _imputed_aval(p: pd.DataFrame, before: str, after: str) -> pd.Series:
    """AVAL: each subject's concentrations in time order (``_order``, ADT, PCSEQ) with BLQ
    values imputed (:func:`impute_blq`; ``before``/``after`` the first measurable one)."""
    aval = pd.Series(np.nan, index=p.index, dtype="float64")
    for _, g in p.groupby("USUBJID", sort=True):
        g = g.sort_values(["_order", "ADT", "PCSEQ"], kind="mergesort")
        order = pd.Series(np.arange(len(g), dtype=float), index=g.index)
        aval[g.index] = impute_blq(g["BLQFL"] == "Y", g["LLOQ"], g["_VALUE"], order, before, after)
    return aval


def derive_adpc(
    adsl: pd.DataFrame,
    adex: pd.DataFrame,
    pc: pd.DataFrame,
    units: pd.DataFrame,
    visits: Sequence[Mapping[str, Any]],
    dosing_days: Sequence[int],
    pk_before_first_measurable: str = "zero",
    pk_after_first_measurable: str = "missing",
    treatment: str = "BATOCLIMAB",
    pk_analyte: str = "BATOCLIM",
) -> pd.DataFrame:
    """ADPC (columns :data:`ADPC_COLUMNS`, sorted by USUBJID, PCSEQ).

    ``pk_analyte`` (``config.yaml: study.pk_analyte``) is the PCTESTCD whose concentration units
    are the analyte-generic rows of the unit table (:func:`fcrnpipe.units.for_analyte`).
    """
    require_columns(pc, ["USUBJID", "PCSEQ", "PCTESTCD", "PCORRES", "PCORRESU", "PCLLOQ", "PCDTC"], PC_SOURCE)
    units = for_analyte(units, pk_analyte)
    windows = parse_windows(visits)
    subj = subject_columns(adsl, ["ARMCD", "TRT01A", "TRT01PN", "TRTSDT", "TRTSDTM", "NDOSE"])
    p = pc.copy()
    factor, std_unit = unit_factors(p, "PCTESTCD", "PCORRESU", units, "PC", PC_SOURCE, PC_KEY)
    info = param_info(units, "PC").set_index("TESTCD")
    p["PARAMCD"] = text(p["PCTESTCD"]).map(info["PARAMCD"]).astype(object)
    p["AVALU"] = std_unit
    orres = text(p["PCORRES"])
    value, lloq, blq = _concentrations(p, orres, factor)
    p["AVALC"] = orres
    p["BLQFL"] = pd.Series(blq, index=p.index, dtype=object)
    p["LLOQ"] = clean_float(pd.Series(lloq, index=p.index))
    p["_VALUE"] = clean_float(pd.Series(value, index=p.index))
    idx = p.index
    p = p.merge(subj, on="USUBJID", how="left")
    p.index = idx
    p = add_dates(p, "PCDTC", PC_SOURCE, PC_KEY, windows)
    p["AFRLT"] = hours_between(p["ADTM"], p["TRTSDTM"])
    p = p.join(assign_doses(p, dose_times(adex, treatment)))
    missing_time = p["ADTM"].isna() & p["ADT"].notna()
    if missing_time.any():
        log.warning("ADPC: %d sample(s) without a time in PCDTC: no actual relative times", int(missing_time.sum()))
    p["_order"] = p["AFRLT"].where(p["AFRLT"].notna(), np.inf)
    p["AVAL"] = _imputed_aval(p, pk_before_first_measurable, pk_after_first_measurable)
    ndose = {s: int(n) for s, n in zip(subj["USUBJID"], subj["NDOSE"].fillna(0))}
    p = p.join(nominal_times(p, dosing_days, ndose))
    p["PCSEQ"] = int_column(p["PCSEQ"])
    p["PCLLOQ"] = pd.to_numeric(p["PCLLOQ"], errors="coerce").astype("float64")
    for col in ("AFRLT", "ARRLT", "NFRLT", "NRRLT", "DOSEA"):
        p[col] = clean_float(p[col])
    log.info("ADPC: %d concentrations, %d BLQ", len(p), int((p["BLQFL"] == "Y").sum()))
    return shape(p, ADPC_COLUMNS, ["USUBJID", "PCSEQ"])
