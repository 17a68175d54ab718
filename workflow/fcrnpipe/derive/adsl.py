"""ADSL: one row per DM subject (screen failures and subjects not assigned to an arm included).

* Demographics from DM (RACE, ATTACK empty when the export has no such column; BRTHDTC never
  reaches this stage).
* ``TRT01P``/``TRT01PN``: label and dose (mg) of the subject's ARMCD in ``config.yaml:
  study.arms`` (a placebo arm has dose 0); subjects not assigned to an arm (ARMCD SCRNFAIL /
  NOTASSGN, any case, or ARMCD empty with ARMNRS) keep their ARMCD, get TRT01P = ARM (else
  ARMNRS, else ``Not assigned``), no TRT01PN and ``N`` population flags: they leave the analysis
  sets and are counted in the disposition table. ``TRT01A``: see
  :func:`fcrnpipe.derive.adex.actual_treatment`.
* Treatment period, NDOSE, CUMDOSE: :func:`fcrnpipe.derive.adex.treatment_period` (study drug
  or placebo administrations; ``TRTDURD = TRTEDT - TRTSDT + 1``; subjects never dosed: NDOSE 0,
  CUMDOSE 0).
* ``WEIGHTBL`` (kg), ``HEIGHTBL`` (cm), ``IGGBL`` (g/L, censoring as ``censoring.lab``),
  ``EDSSBL``: the baseline values under ``config.yaml: baseline`` (the same rule as ADLB and
  ADEDSS); ``BMIBL = WEIGHTBL / (HEIGHTBL / 100)^2``.
* Disposition: ``EOTSTT``/``DCTREAS``/``EOTDT`` from the ``STUDY TREATMENT`` record,
  ``EOSSTT``/``DCSREAS``/``EOSDT`` from ``STUDY PARTICIPATION`` (records without DSSCAT are
  end-of-study records): ``COMPLETED`` when DSDECOD is COMPLETED, else ``DISCONTINUED`` with
  the reason DSDECOD; ``ONGOING`` when the record is absent -- except EOTSTT of a subject never
  dosed, which stays empty (there is no treatment to be on).
* ``LSTALVDT``: the latest complete date of the subject in DM (RFSTDTC, RFENDTC, RFICDTC), EX,
  VS, LB, PC, QS and DS (DEATH records excluded). AE dates are not used (ADSL does not read
  AE, so that an AE update does not rerun ADSL).
* Population flags (``Y``/``N``): ``SAFFL`` at least one administration of the study drug or
  placebo; ``PKFL`` at least one study-drug dose (CUMDOSE > 0: placebo subjects are not in the PK
  population) and at least one measurable concentration of ``config.yaml: study.pk_analyte`` (a
  number > 0, not below the LLOQ); ``PDFL`` an IgG baseline and at least one post-baseline IgG
  value (placebo subjects included).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.derive.adex import subject_treatment
from fcrnpipe.derive.adlb import add_dates, lab_baseline_frame, unit_factors
from fcrnpipe.derive.baseline import derive_baseline
from fcrnpipe.derive.common import NS, clean_float, column_or_none, record, require_columns, shape, text, yes_no
from fcrnpipe.derive.dates import parse_dtc
from fcrnpipe.derive.adedss import edss_records
from fcrnpipe.errors import UserError
from fcrnpipe.validation.terms import not_assigned

log = logging.getLogger("fcrnpipe.derive")

ADSL_COLUMNS = [
    "STUDYID",
    "USUBJID",
    "SITEID",
    "AGE",
    "AGEU",
    "SEX",
    "RACE",
    "ATTACK",
    "ARMCD",
    "ARM",
    "TRT01P",
    "TRT01A",
    "TRT01PN",
    "RFSTDTC",
    "RFENDTC",
    "TRTSDTM",
    "TRTEDTM",
    "TRTSDT",
    "TRTEDT",
    "TRTDURD",
    "NDOSE",
    "CUMDOSE",
    "WEIGHTBL",
    "HEIGHTBL",
    "BMIBL",
    "IGGBL",
    "EDSSBL",
    "EOTSTT",
    "DCTREAS",
    "EOTDT",
    "EOSSTT",
    "DCSREAS",
    "EOSDT",
    "LSTALVDT",
    "SAFFL",
    "PKFL",
    "PDFL",
]
TREATMENT_CAT = "STUDY TREATMENT"
STUDY_CAT = "STUDY PARTICIPATION"
IGG = "IGG"


def planned_treatment(dm: pd.DataFrame, arms: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """USUBJID, TRT01P, TRT01PN from ARMCD and ``config.yaml: study.arms`` (unknown ARMCD -> UserError).

    Subjects not assigned to an arm get TRT01P = ARM (else ARMNRS, else ``Not assigned``) and no
    TRT01PN.
    """
    by_code = {str(a["armcd"]): a for a in arms}
    unassigned = not_assigned(dm)
    arm_text = column_or_none(dm, "ARM")
    nrs = column_or_none(dm, "ARMNRS").str.capitalize()
    rows = []
    for subj, armcd, free, label, reason in zip(dm["USUBJID"], text(dm["ARMCD"]), unassigned, arm_text, nrs):
        if free:
            rows.append((subj, label or reason or "Not assigned", np.nan))
            continue
        arm = by_code.get(armcd) if armcd is not None else None
        if arm is None:
            raise UserError(
                f"validation/dm.parquet, USUBJID {subj}, column ARMCD: {armcd!r} is not an arm of "
                f"config.yaml study.arms ({', '.join(by_code)})"
            )
        rows.append((subj, str(arm["label"]), float(arm["dose_mg"])))
    return pd.DataFrame(rows, columns=["USUBJID", "TRT01P", "TRT01PN"]).astype({"TRT01PN": "float64"})


def disposition(ds: pd.DataFrame) -> pd.DataFrame:
    """Per subject with a DS record: EOTSTT, DCTREAS, EOTDT, EOSSTT, DCSREAS, EOSDT (absent -> missing)."""
    require_columns(ds, ["USUBJID", "DSDECOD", "DSSTDTC"], "validation/ds.parquet")
    d = ds.copy()
    d["_cat"] = column_or_none(d, "DSSCAT").fillna(STUDY_CAT).str.upper()
    d["_decod"] = text(d["DSDECOD"]).str.upper()
    labels = pd.Series([record(d, i, ["USUBJID", "DSSCAT", "DSDECOD"]) for i in d.index], index=d.index)
    d["_dt"] = parse_dtc(d["DSSTDTC"], where="validation/ds.parquet, column DSSTDTC", labels=labels)["DT"]
    parts = []
    for cat, (stt, reas, dt) in {
        TREATMENT_CAT: ("EOTSTT", "DCTREAS", "EOTDT"),
        STUDY_CAT: ("EOSSTT", "DCSREAS", "EOSDT"),
    }.items():
        sub = d[d["_cat"] == cat]
        dup = sub[sub.duplicated("USUBJID", keep=False)]
        if len(dup):
            subj = dup["USUBJID"].iloc[0]
            codes = ", ".join(sorted(dup.loc[dup["USUBJID"] == subj, "_decod"].astype(str)))
            raise UserError(
                f"validation/ds.parquet, USUBJID {subj}, column DSDECOD: more than one {cat} record ({codes})"
            )
        completed = sub["_decod"] == "COMPLETED"
        parts.append(
            pd.DataFrame(
                {
                    "USUBJID": sub["USUBJID"].to_numpy(),
                    stt: np.where(completed, "COMPLETED", "DISCONTINUED"),
                    reas: sub["_decod"].where(~completed, None).to_numpy(),
                    dt: sub["_dt"].to_numpy(),
                }
            )
        )
    out = parts[0].merge(parts[1], on="USUBJID", how="outer")
    for col in ("EOTDT", "EOSDT"):
        out[col] = pd.to_datetime(out[col]).astype(NS)
    return out


def last_alive_date(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """USUBJID, LSTALVDT: latest complete date over the ``*DTC`` variables of the given tables."""
    columns = {
        "dm": ["RFICDTC", "RFSTDTC", "RFENDTC"],
        "ex": ["EXSTDTC", "EXENDTC"],
        "vs": ["VSDTC"],
        "lb": ["LBDTC"],
        "pc": ["PCDTC"],
        "qs": ["QSDTC"],
        "ds": ["DSSTDTC"],
    }
    parts = []
    for name, cols in columns.items():
        df = frames.get(name)
        if df is None or df.empty:
            continue
        if name == "ds" and "DSDECOD" in df.columns:
            df = df[text(df["DSDECOD"]).str.upper() != "DEATH"]
        for col in cols:
            if col in df.columns:
                p = parse_dtc(df[col], where=f"validation/{name}.parquet, column {col}")
                parts.append(pd.DataFrame({"USUBJID": df["USUBJID"].to_numpy(), "d": p["DT"].to_numpy()}))
    if not parts:
        return pd.DataFrame({"USUBJID": pd.Series([], dtype=object), "LSTALVDT": pd.Series([], dtype=NS)})
    all_dates = pd.concat(parts, ignore_index=True).dropna(subset=["d"])
    out = all_dates.groupby("USUBJID", sort=True)["d"].max().rename("LSTALVDT").reset_index()
    out["LSTALVDT"] = out["LSTALVDT"].astype(NS)
    return out


def vs_baselines(
    vs: pd.DataFrame, period: pd.DataFrame, units: pd.DataFrame, baseline_rule: str, same_day: str
) -> pd.DataFrame:
    """USUBJID, WEIGHTBL (kg), HEIGHTBL (cm): baseline VS values in the standard unit."""
    require_columns(vs, ["USUBJID", "VSTESTCD", "VSORRES", "VSORRESU", "VSDTC"], "validation/vs.parquet")
    key = ["USUBJID", "VSTESTCD", "VSDTC"]
    v = vs.copy()
    factor, _ = unit_factors(v, "VSTESTCD", "VSORRESU", units, "VS", "validation/vs.parquet", key)
    v["AVAL"] = clean_float(pd.to_numeric(v["VSORRES"], errors="coerce") * factor)
    v["PARAMCD"] = text(v["VSTESTCD"])
    v = v.merge(period, on="USUBJID", how="left")
    v = add_dates(v, "VSDTC", "validation/vs.parquet", key, None)
    v = derive_baseline(v, ["USUBJID", "PARAMCD"], baseline_rule, same_day)
    b = v[v["ABLFL"] == "Y"].pivot(index="USUBJID", columns="PARAMCD", values="AVAL")
    out = pd.DataFrame(index=b.index)
    out["WEIGHTBL"] = b["WEIGHT"] if "WEIGHT" in b.columns else np.nan
    out["HEIGHTBL"] = b["HEIGHT"] if "HEIGHT" in b.columns else np.nan
    return out.astype("float64").rename_axis("USUBJID").reset_index()


def igg_baseline(
    lb: pd.DataFrame,
    period: pd.DataFrame,
    units: pd.DataFrame,
    baseline_rule: str,
    same_day: str,
    lab_censoring: str,
) -> pd.DataFrame:
    """USUBJID, IGGBL (standard unit), PDFL (``Y``/``N``) from the IgG records of LB."""
    lbi = lb[text(lb["LBTESTCD"]) == IGG] if "LBTESTCD" in lb.columns else lb.iloc[0:0]
    if lbi.empty:
        return pd.DataFrame({"USUBJID": pd.Series([], dtype=object), "IGGBL": [], "PDFL": []})
    f = lab_baseline_frame(lbi, period, units, None, baseline_rule, same_day, lab_censoring, "half_lowest")
    f = f[f["PARAMCD"] == IGG]
    base = f[f["ABLFL"] == "Y"].set_index("USUBJID")["AVAL"].rename("IGGBL")
    post = f[(f["ABLFL"] != "Y") & f["BASE"].notna() & f["AVAL"].notna()]
    subjects = sorted(set(f["USUBJID"]))
    out = pd.DataFrame({"USUBJID": subjects})
    out["IGGBL"] = out["USUBJID"].map(base).astype("float64")
    out["PDFL"] = yes_no(out["IGGBL"].notna() & out["USUBJID"].isin(set(post["USUBJID"])))
    return out


def edss_baseline(
    qs: pd.DataFrame, period: pd.DataFrame, baseline_rule: str, same_day: str, qstestcd: str = "EDSS"
) -> pd.DataFrame:
    """USUBJID, EDSSBL (the efficacy-scale records: QSTESTCD = ``qstestcd``)."""
    e = edss_records(qs, qstestcd)
    if e.empty:
        return pd.DataFrame({"USUBJID": pd.Series([], dtype=object), "EDSSBL": pd.Series([], dtype="float64")})
    e = e.merge(period, on="USUBJID", how="left")
    e = add_dates(e, "QSDTC", "validation/qs.parquet", ["USUBJID", "QSTESTCD", "QSDTC"], None)
    e = derive_baseline(e, ["USUBJID", "PARAMCD"], baseline_rule, same_day)
    b = e[e["ABLFL"] == "Y"][["USUBJID", "AVAL"]].rename(columns={"AVAL": "EDSSBL"})
    return b.astype({"EDSSBL": "float64"})


def measurable_subjects(pc: pd.DataFrame, analyte: str) -> set[str]:
    """Subjects with at least one measurable concentration (a number > 0) of ``analyte``."""
    if pc is None or pc.empty:
        return set()
    require_columns(pc, ["USUBJID", "PCTESTCD", "PCORRES"], "validation/pc.parquet")
    res = pd.to_numeric(text(pc["PCORRES"]), errors="coerce")
    m = (text(pc["PCTESTCD"]).str.upper() == analyte.upper()) & (res > 0)
    return set(pc.loc[m, "USUBJID"])


def _dm_columns(dm: pd.DataFrame) -> pd.DataFrame:
    """DM with its ADSL columns present (None where absent or blank) and AGE numeric."""
    require_columns(dm, ["STUDYID", "USUBJID", "SITEID", "AGE", "AGEU", "SEX", "ARMCD", "ARM"], "validation/dm.parquet")
    out = dm.copy()
    for col in ("STUDYID", "SITEID", "AGEU", "SEX", "ARMCD", "ARM", "RFSTDTC", "RFENDTC"):
        out[col] = column_or_none(out, col)
    out["RACE"] = column_or_none(out, "RACE")
    out["ATTACK"] = column_or_none(out, "ATTACK")
    out["AGE"] = pd.to_numeric(out["AGE"], errors="coerce").astype("float64")
    return out


def _with_ongoing_status(out: pd.DataFrame, dosed: pd.Series) -> pd.DataFrame:
    """EOTSTT (dosed subjects) and EOSSTT ``ONGOING`` where DS has no end of treatment or study;
    missing DCTREAS and DCSREAS as None."""
    out = out.copy()
    out["EOTSTT"] = out["EOTSTT"].astype(object).where(out["EOTSTT"].notna(), np.where(dosed, "ONGOING", None))
    out["EOSSTT"] = out["EOSSTT"].astype(object).where(out["EOSSTT"].notna(), "ONGOING")
    for col in ("DCTREAS", "DCSREAS"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


def derive_adsl(
    dm: pd.DataFrame,
    ex: pd.DataFrame,
    ds: pd.DataFrame,
    vs: pd.DataFrame,
    lb: pd.DataFrame,
    pc: pd.DataFrame,
    qs: pd.DataFrame,
    units: pd.DataFrame,
    arms: Sequence[Mapping[str, Any]],
    treatment: str = "BATOCLIMAB",
    pk_analyte: str = "BATOCLIM",
    baseline_rule: str = "last_on_or_before_first_dose",
    same_day: str = "later",
    lab_censoring: str = "half_limit",
    placebo: str = "PLACEBO",
    qstestcd: str = "EDSS",
) -> pd.DataFrame:
    """ADSL from the validated DM, EX, DS, VS, LB, PC, QS tables (columns :data:`ADSL_COLUMNS`).

    ``units`` from :func:`fcrnpipe.units.load_unit_table`; ``arms`` = ``config.yaml: study.arms``;
    the other arguments are config values (``study.treatment``, ``study.pk_analyte``,
    ``baseline.rule``, ``baseline.same_day``, ``censoring.lab``, ``study.placebo``,
    ``edss.qstestcd``). Sorted by USUBJID.
    """
    out = _dm_columns(dm).merge(planned_treatment(dm, arms), on="USUBJID", how="left")
    subj = subject_treatment(dm, ex, arms, treatment, placebo).drop(columns=["ARMCD"])
    out = out.merge(subj, on="USUBJID", how="left")
    out["NDOSE"] = out["NDOSE"].fillna(0).astype("Int64")
    out["CUMDOSE"] = out["CUMDOSE"].fillna(0.0).astype("float64")
    days = (out["TRTEDT"] - out["TRTSDT"]).dt.days
    out["TRTDURD"] = (days + 1).astype("Int64")
    period = out[["USUBJID", "TRTSDT", "TRTSDTM"]]
    out = out.merge(vs_baselines(vs, period, units, baseline_rule, same_day), on="USUBJID", how="left")
    out["BMIBL"] = (out["WEIGHTBL"] / (out["HEIGHTBL"] / 100.0) ** 2).astype("float64")
    out = out.merge(igg_baseline(lb, period, units, baseline_rule, same_day, lab_censoring), on="USUBJID", how="left")
    out = out.merge(edss_baseline(qs, period, baseline_rule, same_day, qstestcd), on="USUBJID", how="left")
    out = out.merge(disposition(ds), on="USUBJID", how="left")
    dosed = out["NDOSE"] > 0
    out = _with_ongoing_status(out, dosed)
    frames = {"dm": dm, "ex": ex, "vs": vs, "lb": lb, "pc": pc, "qs": qs, "ds": ds}
    out = out.merge(last_alive_date(frames), on="USUBJID", how="left")
    for col in ("TRTSDTM", "TRTEDTM", "TRTSDT", "TRTEDT", "EOTDT", "EOSDT", "LSTALVDT"):
        out[col] = pd.to_datetime(out[col]).astype(NS)
    active = out["CUMDOSE"] > 0
    out["SAFFL"] = yes_no(dosed)
    out["PKFL"] = yes_no(dosed & active & out["USUBJID"].isin(measurable_subjects(pc, pk_analyte)))
    out["PDFL"] = out["PDFL"].where(out["PDFL"].notna() & ~not_assigned(out).to_numpy(), "N")
    for col in ("WEIGHTBL", "HEIGHTBL", "BMIBL", "IGGBL", "EDSSBL"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    n_free = int(not_assigned(out).sum())
    log.info("ADSL: %d subjects, %d dosed, %d not assigned to an arm", len(out), int(dosed.sum()), n_free)
    return shape(out, ADSL_COLUMNS, ["USUBJID"])
