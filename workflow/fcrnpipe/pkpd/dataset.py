"""The NONMEM-style modelling dataset built from the analysis datasets (ADSL, ADEX, ADPC, ADLB).

One record per batoclimab dose, concentration and total-IgG result of the dosed subjects
(``SAFFL = "Y"`` with at least one study-drug dose), columns :data:`NM_COLUMNS`:

========  =================================================================================
column    meaning
========  =================================================================================
ID        integer 1..N, subjects in USUBJID order (map: :func:`id_map`, ``nm_id_map.csv``)
TIME      hours since the subject's first study-drug dose (ADSL ``TRTSDTM``), actual times;
          pre-dose records keep their actual *negative* time (e.g. the day-1 pre-dose IgG
          at -1.4 h, the screening IgG at about -72 h). The IgG models start every subject
          at steady state (``IgG0``) at its earliest record, so a pre-dose value informs
          ``IgG0`` exactly where it was measured; nothing is moved to TIME 0.
NTIME     nominal hours since the first dose: ADPC ``NFRLT``; for IgG the target day of the
          analysis visit (config ``visits``), empty outside every visit window; for doses the
          planned day of the dose (config ``study.dosing_days``). Used for the VPC bins only.
AMT       dose (mg) on dose records, 0 otherwise
DV        concentration (mg/L, ADPC ``AVAL``) or IgG (g/L, ADLB ``AVAL``); empty on dose
          records and on BLQ records
EVID      1 dose, 0 observation
MDV       1 on dose records and on concentrations at or before the first dose (pre-dose
          samples carry no information on the drug's kinetics and a model predicts exactly
          0 there), else 0
CMT       1 dose (SC depot), 2 concentration, 3 IgG
BLQ       1 if the result is below the limit of quantification (ADPC ``BLQFL``, ADLB
          ``CENSFL``), else 0; BLQ records keep MDV 0 so the estimator can handle them by
          the configured method (M1 drops them, M3 uses the likelihood of being < LLOQ)
LLOQ      the limit (mg/L or g/L) where known, else empty
DOSE      planned dose of the arm (ADSL ``TRT01PN``, mg)
WT        baseline weight (kg), AGE (years), SEX (1 female, 0 male, empty unknown)
========  =================================================================================

Sorted by ID, TIME, CMT (a dose before an observation at the same time: the structural models
see the state before a dose at an observation of the same time anyway), then by the source
sequence number. Every column is numeric so that the file can be read by NONMEM as is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.frames import flag_yes, require_columns, to_float
from fcrnpipe.errors import UserError

NM_COLUMNS = ["ID", "TIME", "NTIME", "AMT", "DV", "EVID", "MDV", "CMT", "BLQ", "LLOQ", "DOSE", "WT", "AGE", "SEX"]
ID_MAP_COLUMNS = ["ID", "USUBJID", "ARMCD", "DOSE"]
CMT_DOSE, CMT_CONC, CMT_IGG = 1, 2, 3
HOURS_PER_DAY = 24.0
#: Decimals of the time columns in the dataset (1e-6 h is 3.6 ms).
TIME_DECIMALS = 6


def _require(df: pd.DataFrame, cols: Sequence[str], name: str) -> None:
    require_columns(df, cols, name, "needed for the modelling dataset")


#: Shared helpers (one home: :mod:`fcrnpipe.frames`).
_yes, _num = flag_yes, to_float


def nominal_hours(study_day: float) -> float:
    """Nominal hours after the first dose of a study day (day 1 = 0 h; there is no day 0)."""
    d = float(study_day)
    return (d - 1.0) * HOURS_PER_DAY if d >= 1 else d * HOURS_PER_DAY


def id_map(adsl: pd.DataFrame, adex: pd.DataFrame, treatment: str) -> pd.DataFrame:
    """``ID, USUBJID, ARMCD, DOSE`` of the dosed subjects, IDs 1..N in USUBJID order."""
    _require(adsl, ["USUBJID", "ARMCD", "TRT01PN", "TRTSDTM", "SAFFL"], "ADSL")
    _require(adex, ["USUBJID", "EXTRT", "EXDOSE"], "ADEX")
    dosed = adex[(adex["EXTRT"].astype(str).str.upper() == treatment.upper()) & (_num(adex["EXDOSE"]) > 0)]
    ok = _yes(adsl["SAFFL"]) & adsl["USUBJID"].isin(set(dosed["USUBJID"])) & adsl["TRTSDTM"].notna()
    subj = adsl.loc[ok, ["USUBJID", "ARMCD", "TRT01PN"]].drop_duplicates("USUBJID")
    subj = subj.sort_values("USUBJID", kind="stable").reset_index(drop=True)
    if subj.empty:
        raise UserError(f"ADSL/ADEX: no subject received {treatment}; nothing to model")
    return pd.DataFrame(
        {
            "ID": np.arange(1, len(subj) + 1, dtype=int),
            "USUBJID": subj["USUBJID"].astype(str).to_numpy(),
            "ARMCD": subj["ARMCD"].astype(object).to_numpy(),
            "DOSE": _num(subj["TRT01PN"]).to_numpy(),
        }
    )


def _hours_since(t: pd.Series, t0: pd.Series) -> pd.Series:
    return (pd.to_datetime(t) - pd.to_datetime(t0)).dt.total_seconds() / 3600.0


def _dose_records(
    adex: pd.DataFrame, key: Mapping[str, int], t0: Mapping[str, Any], treatment: str, dosing_days: Sequence[float]
) -> pd.DataFrame:
    """The study drug's doses (``EVID = 1``); nominal time from ``dosing_days`` by ``DOSENUM``,
    else from the study day ``ADY``, else the actual time."""
    _require(adex, ["USUBJID", "EXTRT", "EXDOSE", "ASTDTM"], "ADEX")
    ex = adex[
        (adex["EXTRT"].astype(str).str.upper() == treatment.upper())
        & (_num(adex["EXDOSE"]) > 0)
        & adex["USUBJID"].isin(key)
    ].copy()
    if ex["ASTDTM"].isna().any():
        bad = ex[ex["ASTDTM"].isna()].iloc[0]
        where = f"{bad['USUBJID']} (EXSEQ {bad.get('EXSEQ', '?')})"
        raise UserError(f"ADEX: {treatment} dose of {where} has no start date/time ASTDTM")
    ex["TIME"] = _hours_since(ex["ASTDTM"], ex["USUBJID"].map(t0))
    seq = _num(ex["EXSEQ"]) if "EXSEQ" in ex.columns else pd.Series(0.0, index=ex.index)
    nt = _num(ex["ADY"]).map(nominal_hours) if "ADY" in ex.columns else ex["TIME"].astype(float)
    if "DOSENUM" in ex.columns and len(dosing_days):
        def planned_hours(v: float) -> float:
            return nominal_hours(dosing_days[int(v) - 1]) if pd.notna(v) and 1 <= int(v) <= len(dosing_days) else np.nan

        planned = _num(ex["DOSENUM"]).map(planned_hours)
        nt = planned.where(planned.notna(), nt)
    return pd.DataFrame(
        {
            "USUBJID": ex["USUBJID"],
            "TIME": ex["TIME"],
            "NTIME": nt,
            "AMT": _num(ex["EXDOSE"]),
            "DV": np.nan,
            "EVID": 1,
            "MDV": 1,
            "CMT": CMT_DOSE,
            "BLQ": 0,
            "LLOQ": np.nan,
            "SEQ": seq,
        }
    )


def _concentration_records(
    adpc: pd.DataFrame, key: Mapping[str, int], t0: Mapping[str, Any], analyte: str
) -> pd.DataFrame:
    """The drug's concentrations (``CMT_CONC``): measured or BLQ, with a time after the first
    dose (``AFRLT``, else from ``ADTM``); pre-dose records are ``MDV = 1``."""
    _require(adpc, ["USUBJID", "PARAMCD", "AVAL", "BLQFL", "LLOQ", "AFRLT", "NFRLT"], "ADPC")
    pc = adpc[(adpc["PARAMCD"].astype(str) == analyte) & adpc["USUBJID"].isin(key)].copy()
    pc_blq = _yes(pc["BLQFL"])
    pc_val = _num(pc["AVAL"])
    pc = pc[pc_blq | pc_val.notna()]
    pc_blq, pc_val = _yes(pc["BLQFL"]), _num(pc["AVAL"])
    pc_t = _num(pc["AFRLT"])
    if "ADTM" in pc.columns:  # AFRLT is ADTM - first dose; recompute where it is missing
        pc_t = pc_t.where(pc_t.notna(), _hours_since(pc["ADTM"], pc["USUBJID"].map(t0)))
    pc = pc[pc_t.notna()]
    pc_t, pc_blq, pc_val = pc_t[pc.index], pc_blq[pc.index], pc_val[pc.index]
    return pd.DataFrame(
        {
            "USUBJID": pc["USUBJID"],
            "TIME": pc_t,
            "NTIME": _num(pc["NFRLT"]),
            "AMT": 0.0,
            "DV": pc_val.where(~pc_blq),
            "EVID": 0,
            "MDV": (pc_t <= 0).astype(int),
            "CMT": CMT_CONC,
            "BLQ": pc_blq.astype(int),
            "LLOQ": _num(pc["LLOQ"]),
            "SEQ": _num(pc["PCSEQ"]) if "PCSEQ" in pc.columns else 0.0,
        }
    )


def _igg_records(
    adlb: pd.DataFrame,
    key: Mapping[str, int],
    t0: Mapping[str, Any],
    visits: Sequence[Mapping[str, Any]],
    igg_paramcd: str,
) -> pd.DataFrame:
    """Total IgG (``CMT_IGG``): dated results, numeric or censored with a limit; nominal time
    from the visit's planned day."""
    _require(adlb, ["USUBJID", "PARAMCD", "AVAL", "ADTM"], "ADLB")
    lb = adlb[(adlb["PARAMCD"].astype(str) == igg_paramcd) & adlb["USUBJID"].isin(key)].copy()
    lb_cens = _yes(lb["CENSFL"]) if "CENSFL" in lb.columns else pd.Series(False, index=lb.index)
    lb_lloq = _num(lb["LLOQ"]) if "LLOQ" in lb.columns else pd.Series(np.nan, index=lb.index)
    lb_t = _hours_since(lb["ADTM"], lb["USUBJID"].map(t0))
    keep = lb_t.notna() & (_num(lb["AVAL"]).notna() | (lb_cens & lb_lloq.notna()))
    lb, lb_cens, lb_lloq, lb_t = lb[keep], lb_cens[keep], lb_lloq[keep], lb_t[keep]
    day_of = {int(v["avisitn"]): float(v["day"]) for v in visits}
    avisitn = _num(lb["AVISITN"]) if "AVISITN" in lb.columns else pd.Series(np.nan, index=lb.index)
    lb_nt = avisitn.map(lambda v: nominal_hours(day_of[int(v)]) if pd.notna(v) and int(v) in day_of else np.nan)
    return pd.DataFrame(
        {
            "USUBJID": lb["USUBJID"],
            "TIME": lb_t,
            "NTIME": lb_nt.astype(float),
            "AMT": 0.0,
            "DV": _num(lb["AVAL"]).where(~lb_cens),
            "EVID": 0,
            "MDV": 0,
            "CMT": CMT_IGG,
            "BLQ": lb_cens.astype(int),
            "LLOQ": lb_lloq.where(lb_cens, np.nan),
            "SEQ": _num(lb["LBSEQ"]) if "LBSEQ" in lb.columns else 0.0,
        }
    )


def _finish(parts: Sequence[pd.DataFrame], key: Mapping[str, int], a: pd.DataFrame) -> pd.DataFrame:
    """The records with ID and the ADSL covariates, rounded times, sorted; a BLQ observation
    the models fit must have a positive limit."""
    nm = pd.concat([p for p in parts if len(p)], ignore_index=True)
    nm["ID"] = nm["USUBJID"].map(key).astype(int)
    for col, src in (("DOSE", "TRT01PN"), ("WT", "WEIGHTBL"), ("AGE", "AGE")):
        vals = _num(a[src]) if src in a.columns else pd.Series(np.nan, index=a.index)
        nm[col] = nm["USUBJID"].map(vals).astype(float)
    sex = a["SEX"].astype(str).str.upper().map({"F": 1.0, "M": 0.0}) if "SEX" in a.columns else None
    nm["SEX"] = nm["USUBJID"].map(sex).astype(float) if sex is not None else np.nan
    nm["TIME"] = nm["TIME"].astype(float).round(TIME_DECIMALS)
    nm["NTIME"] = nm["NTIME"].astype(float).round(TIME_DECIMALS)
    nm = nm.sort_values(["ID", "TIME", "CMT", "SEQ"], kind="mergesort").reset_index(drop=True)
    for c in ("EVID", "MDV", "CMT", "BLQ"):
        nm[c] = nm[c].astype(int)
    bad = (nm["BLQ"] == 1) & (nm["MDV"] == 0) & ~(nm["LLOQ"] > 0)
    if bad.any():
        r = nm[bad].iloc[0]
        what = "ADPC" if r["CMT"] == CMT_CONC else "ADLB"
        raise UserError(f"{what}: BLQ result of {r['USUBJID']} at {r['TIME']:.2f} h has no LLOQ")
    return nm[NM_COLUMNS].copy()


def build_nm_dataset(
    adsl: pd.DataFrame,
    adex: pd.DataFrame,
    adpc: pd.DataFrame,
    adlb: pd.DataFrame,
    *,
    treatment: str,
    analyte: str,
    visits: Sequence[Mapping[str, Any]],
    dosing_days: Sequence[float] = (),
    igg_paramcd: str = "IGG",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The modelling dataset and its ID map (see the module docstring).

    ``treatment``: ADEX ``EXTRT`` of the study drug; ``analyte``: ADPC ``PARAMCD`` of its
    concentration; ``visits``: config ``visits`` (nominal day of each ``AVISITN``);
    ``dosing_days``: config ``study.dosing_days`` (nominal time of dose ``DOSENUM``; without
    it, or beyond it, the dose's study day ``ADY``).
    """
    ids = id_map(adsl, adex, treatment)
    key = dict(zip(ids["USUBJID"], ids["ID"]))
    a = adsl.drop_duplicates("USUBJID").set_index("USUBJID")
    t0 = {u: a.at[u, "TRTSDTM"] for u in ids["USUBJID"]}
    parts = [
        _dose_records(adex, key, t0, treatment, dosing_days),
        _concentration_records(adpc, key, t0, analyte),
        _igg_records(adlb, key, t0, visits, igg_paramcd),
    ]
    return _finish(parts, key, a), ids


def nm_frame_as_text(nm: pd.DataFrame) -> pd.DataFrame:
    """The dataset as the text table :func:`fcrnpipe.nlme.validate_nm_frame` reads."""
    out = nm.astype(object).where(nm.notna(), "")
    return out.astype(str)
