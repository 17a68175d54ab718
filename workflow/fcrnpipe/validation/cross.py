"""Cross-domain checks: rules that need a second export (DM, and EX for the IgG baseline).

Each check runs in the validation job of the *dependent* domain (e.g. "AE subject exists in
DM" in the AE job), so a change to ``ae.csv`` reruns the AE checks only, and DM problems are
reported once, by the DM job. Inputs are the text tables of :mod:`fcrnpipe.rawio` (index =
0-based data row), restricted to the records the analysis uses. Values that do not parse (a bad
date, a missing RFSTDTC) are skipped here: the single-domain schema reports them. Every check is
a join or a column operation (no per-row Python).

Checks (rule ids of the failures table; severity in parentheses):

* ``orphan_subject`` (error): every USUBJID of the domain exists in DM;
* ``exposure_after_rfstdtc`` (error): EXSTDTC (date part) on or after the subject's RFSTDTC (date part);
* ``date_in_study_period`` (warning): the dates of EX, VS, LB, PC, QS, AE lie in the subject's
  study period: from RFSTDTC date - ``screening_window_days`` to RFPENDTC (end of participation)
  when DM has it for the subject, else RFENDTC date + ``followup_grace_days`` (no upper bound when
  both are empty). Partial AE dates are compared at their precision, i.e. they are reported only
  when the whole month/year lies outside the period. Subjects without RFSTDTC (not assigned to an
  arm) have no period;
* ``baseline_igg`` (error): each subject with at least one dose of the study drug (EXTRT =
  ``treatment``, any case) has a non-missing IGG result dated on or before the first dose
  (date-time when both have a time, else date).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fcrnpipe.validation.dates import iso_frame
from fcrnpipe.validation.columns import upper
from fcrnpipe.validation.failures import concat_failures, empty_failures, failure_rows, make_failures
from fcrnpipe.validation.schemas import PARTIAL_DATES, StudyRules, value_messages

#: Dates checked against the study period, per domain.
PERIOD_DATES: dict[str, tuple[str, ...]] = {
    "ex": ("EXSTDTC", "EXENDTC"),
    "vs": ("VSDTC",),
    "lb": ("LBDTC",),
    "pc": ("PCDTC",),
    "qs": ("QSDTC",),
    "ae": ("AESTDTC", "AEENDTC"),
}
#: The lab test whose pre-dose value must exist for every treated subject.
BASELINE_TEST = "IGG"
PERIOD_COLUMNS = ["rfstdtc", "start", "lo", "hi", "end_rule"]


def _upper(s: pd.Series) -> pd.Series:
    return upper(s)


def subject_periods(dm: pd.DataFrame, screening_window_days: int, followup_grace_days: int) -> pd.DataFrame:
    """Study period of each DM subject with a valid RFSTDTC (the first record of a duplicated USUBJID).

    Indexed by USUBJID; columns ``rfstdtc`` (text), ``start`` (RFSTDTC date), ``lo``, ``hi``
    (``NaT`` = no upper bound) and ``end_rule`` (how ``hi`` was set, for messages).
    """
    if "USUBJID" not in dm.columns or "RFSTDTC" not in dm.columns:
        return pd.DataFrame(columns=PERIOD_COLUMNS, index=pd.Index([], name="USUBJID"))
    d = dm[dm["USUBJID"].notna()].drop_duplicates("USUBJID", keep="first")
    start = iso_frame(d["RFSTDTC"])["first"]
    none = pd.Series(None, index=d.index, dtype=object)
    end = iso_frame(d["RFENDTC"] if "RFENDTC" in d.columns else none)["last"]
    pend = iso_frame(d["RFPENDTC"] if "RFPENDTC" in d.columns else none)["last"]
    grace = pd.Timedelta(days=int(followup_grace_days))
    hi = pend.where(pend.notna(), end + grace)
    rule = pd.Series(
        np.where(pend.notna(), "RFPENDTC", np.where(end.notna(), f"RFENDTC + {followup_grace_days} days", "ongoing")),
        index=d.index,
    )
    out = pd.DataFrame(
        {
            "rfstdtc": d["RFSTDTC"],
            "start": start,
            "lo": start - pd.Timedelta(days=int(screening_window_days)),
            "hi": hi,
            "end_rule": rule,
        }
    )
    out.index = pd.Index(d["USUBJID"].to_numpy(), name="USUBJID")
    return out[out["start"].notna()]


def dm_subjects(dm: pd.DataFrame) -> set[str]:
    """The USUBJIDs of DM (empty set if DM has no USUBJID column)."""
    if "USUBJID" not in dm.columns:
        return set()
    return set(dm["USUBJID"].dropna())


def orphan_subjects(df: pd.DataFrame, dm: pd.DataFrame, file: str, dm_file: str = "dm") -> pd.DataFrame:
    """``orphan_subject``: one failure per row whose USUBJID is not in DM."""
    if "USUBJID" not in df.columns or "USUBJID" not in dm.columns:
        return empty_failures()
    bad = df["USUBJID"].notna() & ~df["USUBJID"].isin(dm_subjects(dm))
    if not bad.any():
        return empty_failures()
    values = df.loc[bad, "USUBJID"]
    messages = "USUBJID " + values.map(repr) + f" does not exist in DM ({dm_file})"
    return failure_rows(file, values.index, "USUBJID", "orphan_subject", values, messages)


def exposure_after_reference(ex: pd.DataFrame, dm: pd.DataFrame, file: str, dm_file: str = "dm") -> pd.DataFrame:
    """``exposure_after_rfstdtc``: EXSTDTC (date part) before the subject's RFSTDTC (date part)."""
    if not {"USUBJID", "EXSTDTC"} <= set(ex.columns):
        return empty_failures()
    periods = subject_periods(dm, 0, 0)
    start = ex["USUBJID"].map(periods["start"])
    first = iso_frame(ex["EXSTDTC"])["first"]
    bad = start.notna() & first.notna() & (first < start)
    if not bad.any():
        return empty_failures()
    rows = ex.index[bad.to_numpy()]
    values = ex.loc[rows, "EXSTDTC"]
    errors = (
        "before RFSTDTC "
        + ex.loc[rows, "USUBJID"].map(periods["rfstdtc"]).astype(str)
        + " of "
        + ex.loc[rows, "USUBJID"].astype(str)
        + f" in {dm_file}; exposure must start on or after the reference start date"
    )
    return failure_rows(
        file, rows, "EXSTDTC", "exposure_after_rfstdtc", values, value_messages("EXSTDTC", values, errors)
    )


def dates_in_study_period(
    df: pd.DataFrame,
    domain: str,
    dm: pd.DataFrame,
    file: str,
    screening_window_days: int,
    followup_grace_days: int,
) -> pd.DataFrame:
    """``date_in_study_period`` (warning): dates of ``domain`` outside the subject's study period."""
    columns = [c for c in PERIOD_DATES.get(domain, ()) if c in df.columns]
    if "USUBJID" not in df.columns or not columns:
        return empty_failures()
    periods = subject_periods(dm, screening_window_days, followup_grace_days)
    if periods.empty:
        return empty_failures()
    lo = df["USUBJID"].map(periods["lo"])
    hi = df["USUBJID"].map(periods["hi"])
    partial = PARTIAL_DATES.get(domain, frozenset())
    parts = []
    for col in columns:
        value = iso_frame(df[col], allow_partial=col in partial)
        before = lo.notna() & value["last"].notna() & (value["last"] < lo)
        after = hi.notna() & value["first"].notna() & (value["first"] > hi)
        bad = before | after
        if not bad.any():
            continue
        rows = df.index[bad.to_numpy()]
        subj = df.loc[rows, "USUBJID"]
        hi_text = hi[rows].dt.strftime("%Y-%m-%d").fillna("ongoing")
        errors = (
            "outside the study period of "
            + subj.astype(str)
            + " ["
            + lo[rows].dt.strftime("%Y-%m-%d")
            + " to "
            + hi_text
            + f"] (RFSTDTC - {screening_window_days} days to "
            + subj.map(periods["end_rule"]).astype(str)
            + ")"
        )
        values = df.loc[rows, col]
        parts.append(failure_rows(file, rows, col, "date_in_study_period", values, value_messages(col, values, errors)))
    return concat_failures(parts)


def first_doses(ex: pd.DataFrame, treatment: str) -> pd.DataFrame:
    """First dose of ``treatment`` (EXTRT, any case) per subject: ``text``, ``first``/``last`` (dates)
    and ``moment`` (``NaT`` without a time); unparseable dates are ignored. Indexed by USUBJID."""
    cols = ["text", "first", "last", "moment"]
    if not {"USUBJID", "EXTRT", "EXSTDTC"} <= set(ex.columns):
        return pd.DataFrame(columns=cols)
    d = ex[(_upper(ex["EXTRT"]) == treatment.upper()).fillna(False).to_numpy() & ex["USUBJID"].notna().to_numpy()]
    p = iso_frame(d["EXSTDTC"])
    d = pd.DataFrame(
        {"USUBJID": d["USUBJID"], "text": d["EXSTDTC"], "first": p["first"], "last": p["last"], "moment": p["moment"]}
    )
    d = d[d["first"].notna()]
    d["_instant"] = d["moment"].where(d["moment"].notna(), d["first"])
    d = d.sort_values(["USUBJID", "_instant"], kind="mergesort").drop_duplicates("USUBJID", keep="first")
    return d.set_index("USUBJID")[cols]


def baseline_igg(lb: pd.DataFrame, ex: pd.DataFrame, file: str, treatment: str, ex_file: str = "ex") -> pd.DataFrame:
    """``baseline_igg``: treated subjects (>= 1 dose of ``treatment``) without a pre-dose IgG.

    A record counts when LBTESTCD is IGG, LBORRES is not empty (a censored ``<x`` counts) and
    LBDTC is on or before the first dose (by date-time when both have a time, else by date). One
    failure per subject (no row number).
    """
    doses = first_doses(ex, treatment)
    if doses.empty:
        return empty_failures()
    have: set[str] = set()
    if {"USUBJID", "LBTESTCD", "LBORRES", "LBDTC"} <= set(lb.columns):
        igg = lb[(_upper(lb["LBTESTCD"]) == BASELINE_TEST).fillna(False).to_numpy() & lb["LBORRES"].notna().to_numpy()]
        igg = igg[igg["USUBJID"].isin(doses.index)]
        when = iso_frame(igg["LBDTC"])
        dose = doses.reindex(igg["USUBJID"].to_numpy())
        dose.index = igg.index
        by_time = when["moment"].notna() & dose["moment"].notna()
        ok = np.where(by_time, when["moment"] <= dose["moment"], when["first"] <= dose["last"])
        ok &= when["first"].notna().to_numpy()
        have = set(igg.loc[ok, "USUBJID"])
    missing = sorted(set(doses.index) - have)
    return make_failures(
        {
            "file": file,
            "column": "LBORRES",
            "check": "baseline_igg",
            "value": subject,
            "message": f"subject {subject} received {treatment} (first dose {doses.at[subject, 'text']} in {ex_file}) "
            f"but has no non-missing {BASELINE_TEST} result on or before it",
        }
        for subject in missing
    )


def cross_failures(
    domain: str,
    df: pd.DataFrame,
    file: str,
    dm: pd.DataFrame | None,
    ex: pd.DataFrame | None = None,
    study: StudyRules | None = None,
    dm_file: str = "dm",
    ex_file: str = "ex",
) -> pd.DataFrame:
    """All cross-domain checks of ``domain`` (DM itself has none here: its rules are in its schema).

    ``dm`` / ``ex`` are the text tables of the other exports, or ``None`` when they could not be
    read (their own jobs report why; the checks that need them are skipped).
    """
    study = study or StudyRules()
    parts: list[pd.DataFrame] = []
    if domain != "dm" and dm is not None:
        parts.append(orphan_subjects(df, dm, file, dm_file))
        if domain == "ex":
            parts.append(exposure_after_reference(df, dm, file, dm_file))
        if domain in PERIOD_DATES:
            parts.append(
                dates_in_study_period(df, domain, dm, file, study.screening_window_days, study.followup_grace_days)
            )
    if domain == "lb" and ex is not None:
        parts.append(baseline_igg(df, ex, file, study.treatment, ex_file))
    return concat_failures(parts)
