"""Cross-domain checks: rules that need a second export (DM, and EX for the IgG baseline).

Each check runs in the validation job of the *dependent* domain (e.g. "AE subject exists in
DM" in the AE job), so a change to ``ae.csv`` reruns the AE checks only, and DM problems are
reported once, by the DM job. Inputs are the text tables of :mod:`fcrnpipe.rawio` (index =
0-based data row). Values that do not parse (a bad date, a missing RFSTDTC) are skipped here:
the single-domain schema reports them.

Checks (rule ids of the failures table):

* ``orphan_subject``: every USUBJID of the domain exists in DM;
* ``exposure_after_rfstdtc``: EXSTDTC (date part) on or after the subject's RFSTDTC (date part);
* ``date_in_study_period``: the dates of EX, VS, LB, PC, QS, AE lie in
  [RFSTDTC date - ``screening_window_days``, RFENDTC date + ``followup_grace_days``]
  (no upper bound when RFENDTC is empty); partial AE dates are compared at their precision,
  i.e. they fail only when the whole month/year lies outside the period;
* ``baseline_igg``: each subject with at least one dose of the study drug (EXTRT =
  ``treatment``) has a non-missing IGG result dated on or before the first dose (date-time
  when both have a time, else date).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd

from fcrnpipe.validation.dates import IsoValue, on_or_before, parse_iso
from fcrnpipe.validation.failures import concat_failures, make_failures
from fcrnpipe.validation.schemas import SPECS, StudyRules

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


@dataclass(frozen=True)
class SubjectPeriod:
    """A subject's reference dates and study period (``hi`` is ``None`` while ongoing)."""

    rfstdtc: str
    rfendtc: str | None
    start: date
    lo: date
    hi: date | None


def _rows(df: pd.DataFrame) -> list[tuple[int, dict[str, Any]]]:
    return [(int(idx), rec) for idx, rec in zip(df.index, df.to_dict("records"))]


def subject_periods(
    dm: pd.DataFrame, screening_window_days: int, followup_grace_days: int
) -> dict[str, SubjectPeriod]:
    """Study period of each DM subject with a valid RFSTDTC (the first record of a duplicated USUBJID)."""
    out: dict[str, SubjectPeriod] = {}
    if "USUBJID" not in dm.columns or "RFSTDTC" not in dm.columns:
        return out
    for _, rec in _rows(dm):
        subject = rec["USUBJID"]
        if subject is None or subject in out:
            continue
        start = parse_iso(rec["RFSTDTC"])
        if start is None:
            continue
        end_text = rec.get("RFENDTC")
        end = parse_iso(end_text) if end_text is not None else None
        hi = end.last + timedelta(days=followup_grace_days) if end is not None else None
        out[subject] = SubjectPeriod(
            rfstdtc=rec["RFSTDTC"],
            rfendtc=end_text,
            start=start.first,
            lo=start.first - timedelta(days=screening_window_days),
            hi=hi,
        )
    return out


def dm_subjects(dm: pd.DataFrame) -> set[str]:
    """The USUBJIDs of DM (empty set if DM has no USUBJID column)."""
    if "USUBJID" not in dm.columns:
        return set()
    return {s for s in dm["USUBJID"] if s is not None}


def orphan_subjects(df: pd.DataFrame, dm: pd.DataFrame, file: str, dm_file: str = "dm") -> pd.DataFrame:
    """``orphan_subject``: one failure per row whose USUBJID is not in DM."""
    if "USUBJID" not in df.columns or "USUBJID" not in dm.columns:
        return make_failures([])
    known = dm_subjects(dm)
    records = [
        {
            "file": file,
            "row": idx + 1,
            "column": "USUBJID",
            "check": "orphan_subject",
            "value": rec["USUBJID"],
            "message": f"USUBJID {rec['USUBJID']!r} does not exist in DM ({dm_file})",
        }
        for idx, rec in _rows(df)
        if rec["USUBJID"] is not None and rec["USUBJID"] not in known
    ]
    return make_failures(records)


def exposure_after_reference(
    ex: pd.DataFrame, dm: pd.DataFrame, file: str, dm_file: str = "dm"
) -> pd.DataFrame:
    """``exposure_after_rfstdtc``: EXSTDTC (date part) before the subject's RFSTDTC (date part)."""
    if not {"USUBJID", "EXSTDTC"} <= set(ex.columns):
        return make_failures([])
    periods = subject_periods(dm, 0, 0)
    records = []
    for idx, rec in _rows(ex):
        period = periods.get(rec["USUBJID"])
        start = parse_iso(rec["EXSTDTC"])
        if period is None or start is None:
            continue
        if start.first < period.start:
            records.append(
                {
                    "file": file,
                    "row": idx + 1,
                    "column": "EXSTDTC",
                    "check": "exposure_after_rfstdtc",
                    "value": rec["EXSTDTC"],
                    "message": f"EXSTDTC is {rec['EXSTDTC']!r}: before RFSTDTC {period.rfstdtc} of "
                    f"{rec['USUBJID']} in {dm_file}; exposure must start on or after the reference start date",
                }
            )
    return make_failures(records)


def dates_in_study_period(
    df: pd.DataFrame,
    domain: str,
    dm: pd.DataFrame,
    file: str,
    screening_window_days: int,
    followup_grace_days: int,
) -> pd.DataFrame:
    """``date_in_study_period``: dates of ``domain`` outside the subject's study period."""
    columns = [c for c in PERIOD_DATES.get(domain, ()) if c in df.columns]
    if "USUBJID" not in df.columns or not columns:
        return make_failures([])
    periods = subject_periods(dm, screening_window_days, followup_grace_days)
    partial = SPECS[domain].partial_dates
    records = []
    for idx, rec in _rows(df):
        period = periods.get(rec["USUBJID"])
        if period is None:
            continue
        for col in columns:
            value: IsoValue | None = parse_iso(rec[col], allow_partial=col in partial)
            if value is None:
                continue
            before = value.last < period.lo
            after = period.hi is not None and value.first > period.hi
            if before or after:
                hi = period.hi.isoformat() if period.hi is not None else "ongoing"
                records.append(
                    {
                        "file": file,
                        "row": idx + 1,
                        "column": col,
                        "check": "date_in_study_period",
                        "value": rec[col],
                        "message": f"{col} is {rec[col]!r}: outside the study period of {rec['USUBJID']} "
                        f"[{period.lo.isoformat()} to {hi}] (RFSTDTC - {screening_window_days} days "
                        f"to RFENDTC + {followup_grace_days} days)",
                    }
                )
    return make_failures(records)


def _instant(value: IsoValue) -> datetime:
    return value.moment if value.moment is not None else datetime.combine(value.first, time.min)


def first_doses(ex: pd.DataFrame, treatment: str) -> dict[str, tuple[str, IsoValue]]:
    """First dose (text and parsed) of ``treatment`` per subject; unparseable dates are ignored."""
    out: dict[str, tuple[str, IsoValue]] = {}
    if not {"USUBJID", "EXTRT", "EXSTDTC"} <= set(ex.columns):
        return out
    for _, rec in _rows(ex):
        if rec["EXTRT"] != treatment or rec["USUBJID"] is None:
            continue
        when = parse_iso(rec["EXSTDTC"])
        if when is None:
            continue
        current = out.get(rec["USUBJID"])
        if current is None or _instant(when) < _instant(current[1]):
            out[rec["USUBJID"]] = (rec["EXSTDTC"], when)
    return out


def baseline_igg(
    lb: pd.DataFrame, ex: pd.DataFrame, file: str, treatment: str, ex_file: str = "ex"
) -> pd.DataFrame:
    """``baseline_igg``: treated subjects (>= 1 dose of ``treatment``) without a pre-dose IgG.

    A record counts when LBTESTCD is IGG, LBORRES is not empty (a censored ``<x`` counts) and
    LBDTC is on or before the first dose. One failure per subject (no row number).
    """
    doses = first_doses(ex, treatment)
    if not doses:
        return make_failures([])
    have: set[str] = set()
    if {"USUBJID", "LBTESTCD", "LBORRES", "LBDTC"} <= set(lb.columns):
        for _, rec in _rows(lb):
            if rec["LBTESTCD"] != BASELINE_TEST or rec["LBORRES"] is None or rec["USUBJID"] not in doses:
                continue
            when = parse_iso(rec["LBDTC"])
            if when is not None and on_or_before(when, doses[rec["USUBJID"]][1]):
                have.add(rec["USUBJID"])
    records = [
        {
            "file": file,
            "column": "LBORRES",
            "check": "baseline_igg",
            "value": subject,
            "message": f"subject {subject} received {treatment} (first dose {text} in {ex_file}) but has no "
            f"non-missing {BASELINE_TEST} result on or before it",
        }
        for subject, (text, _when) in sorted(doses.items())
        if subject not in have
    ]
    return make_failures(records)


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
                dates_in_study_period(
                    df, domain, dm, file, study.screening_window_days, study.followup_grace_days
                )
            )
    if domain == "lb" and ex is not None:
        parts.append(baseline_igg(df, ex, file, study.treatment, ex_file))
    return concat_failures(parts)
