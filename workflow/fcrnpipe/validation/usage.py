"""Which records of each domain the analysis uses; the rest is set aside with a notice.

Real exports carry more than the analysis reads: other lab panels, vital signs, questionnaires,
protocol milestones. Those records are valid SDTM and are never failed: they are left out of the
validated table and reported as one ``set_aside`` notice per (domain, code[, qualifier]) with its
record count, so that a typo in a test code is visible but harmless. The records the analysis
uses are validated strictly (:mod:`fcrnpipe.validation.schemas`).

| domain | used records | set aside |
|---|---|---|
| DM, EX, AE | all | -- |
| VS | VSTESTCD of the unit table (WEIGHT, HEIGHT) | other vital signs (blood pressure, pulse, ...) |
| LB | LBTESTCD of the unit table, blood specimen (LBSPEC empty, SERUM, PLASMA, BLOOD) | other tests; urine and other specimens |
| PC | PCTESTCD = ``study.pk_analyte``, blood specimen | other analytes, other specimens |
| QS | QSTESTCD = ``edss.qstestcd`` (the efficacy scale) | other instruments and items |
| DS | DSCAT = DISPOSITION EVENT (or DSCAT absent/empty) | protocol milestones, other events |

A record whose code is empty is *used* (so that ``required_value`` reports it). A test or
instrument the analysis requires (IgG, the PK analyte, the efficacy scale) without any used
record is a ``required_test`` error naming it and the codes that were set aside.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from fcrnpipe.units import known_tests
from fcrnpipe.validation import terms as T
from fcrnpipe.validation.columns import upper
from fcrnpipe.validation.failures import concat_failures, empty_failures, failure_rows, make_failures
from fcrnpipe.validation.schemas import StudyRules

#: Tests the analysis cannot do without, per domain (LB: the PD model's IgG; PC and QS from config).
REQUIRED_LB_TEST = "IGG"


def _upper(s: pd.Series) -> pd.Series:
    return upper(s)


def _blood(df: pd.DataFrame, column: str) -> pd.Series:
    """True where the specimen is empty/absent or a blood specimen (:data:`~.terms.BLOOD_SPECIMENS`)."""
    if column not in df.columns:
        return pd.Series(True, index=df.index)
    spec = _upper(df[column])
    return (spec.isna() | spec.isin(set(T.BLOOD_SPECIMENS))).astype(bool)


def used_mask(domain: str, df: pd.DataFrame, units: pd.DataFrame, study: StudyRules) -> pd.Series:
    """Boolean per record: the analysis uses it (see the module table)."""
    everything = pd.Series(True, index=df.index)

    def code_in(column: str, codes: Sequence[str]) -> pd.Series:
        if column not in df.columns:
            return everything
        code = _upper(df[column])
        return (code.isna() | code.isin({c.upper() for c in codes})).astype(bool)

    if domain == "vs":
        return code_in("VSTESTCD", known_tests(units, "VS"))
    if domain == "lb":
        return code_in("LBTESTCD", known_tests(units, "LB")) & _blood(df, "LBSPEC")
    if domain == "pc":
        return code_in("PCTESTCD", [study.pk_analyte]) & _blood(df, "PCSPEC")
    if domain == "qs":
        return code_in("QSTESTCD", [study.efficacy_testcd])
    if domain == "ds":
        if "DSCAT" not in df.columns:
            return everything
        cat = _upper(df["DSCAT"])
        return (cat.isna() | (cat == T.DISPOSITION_EVENT)).astype(bool)
    return everything


def _reason(domain: str, study: StudyRules, units: pd.DataFrame, codes: pd.Series | None = None) -> pd.Series | str:
    """Why records are set aside (per notice for LB and PC: the test, or only its specimen)."""
    blood = f"a specimen the analysis does not use (it uses {', '.join(T.BLOOD_SPECIMENS)})"
    if domain == "vs":
        return f"not a vital sign the analysis uses (resources/units.csv: {', '.join(known_tests(units, 'VS'))})"
    if domain in ("lb", "pc") and codes is not None:
        analysed = {c.upper() for c in known_tests(units, "LB")} if domain == "lb" else {study.pk_analyte.upper()}
        other = (
            "not a test of resources/units.csv"
            if domain == "lb"
            else f"not the PK analyte (config study.pk_analyte: {study.pk_analyte})"
        )
        return pd.Series(other, index=codes.index).where(~codes.str.upper().isin(analysed), blood)
    if domain == "qs":
        return f"not the efficacy scale (config edss.qstestcd: {study.efficacy_testcd})"
    if domain == "ds":
        return (
            "not a disposition event (DSCAT = DISPOSITION EVENT): protocol milestones and other events are not analysed"
        )
    return "not used by the analysis"


#: The columns each set-aside notice is grouped by (the code first, then a qualifier if present).
NOTICE_GROUPS: dict[str, tuple[str, ...]] = {
    "vs": ("VSTESTCD",),
    "lb": ("LBTESTCD", "LBSPEC"),
    "pc": ("PCTESTCD", "PCSPEC"),
    "qs": ("QSTESTCD", "QSCAT"),
    "ds": ("DSDECOD", "DSCAT"),
}


def set_aside_notices(
    domain: str, df: pd.DataFrame, used: pd.Series, file: str, units: pd.DataFrame, study: StudyRules
) -> pd.DataFrame:
    """One ``set_aside`` notice per (code, qualifier) of the records left out, with their count."""
    aside = df[~used]
    if aside.empty:
        return empty_failures()
    cols = [c for c in NOTICE_GROUPS.get(domain, ()) if c in df.columns]
    code = cols[0]
    keys = aside[cols].astype(object).where(aside[cols].notna(), "")
    counts = keys.groupby(cols, sort=True).size().reset_index(name="n")
    first = keys.reset_index().groupby(cols, sort=True)["index"].min().reset_index(name="first")
    counts = counts.merge(first, on=cols)
    label = counts[code].astype(str)
    reason = _reason(domain, study, units, label)
    what = f"{code} " + label.map(repr)
    for extra in cols[1:]:
        what = what + counts[extra].map(lambda v, e=extra: f", {e} {v!r}" if v else "")
    messages = (
        counts["n"].map("{:,}".format)
        + " record(s) with "
        + what
        + " set aside (not validated, not in the validated table): "
        + reason
        + "; first at row "
        + (counts["first"] + 1).astype(str)
    )
    return failure_rows(file, [None] * len(counts), code, "set_aside", label, messages)


def required_test_failures(
    domain: str, df: pd.DataFrame, used: pd.Series, file: str, study: StudyRules
) -> pd.DataFrame:
    """``required_test``: the test/instrument the analysis needs has at least one used record."""
    needed = {"lb": ("LBTESTCD", REQUIRED_LB_TEST, "the PD analysis and model (total IgG)"),
              "pc": ("PCTESTCD", study.pk_analyte, "the PK analysis (config study.pk_analyte)"),
              "qs": ("QSTESTCD", study.efficacy_testcd, "the efficacy analysis (config edss.qstestcd)")}  # fmt: skip
    if domain not in needed:
        return empty_failures()
    column, code, what = needed[domain]
    if column not in df.columns or df.empty:
        return empty_failures()
    present = _upper(df.loc[used, column]) == code.upper()
    if present.any():
        return empty_failures()
    others = _upper(df[column]).dropna().value_counts().sort_index()
    listed = ", ".join(f"{c} ({n})" for c, n in list(others.items())[:15]) or "none"
    return make_failures(
        [
            {
                "file": file,
                "column": column,
                "check": "required_test",
                "value": code,
                "message": f"no usable {column} {code!r} record: {what} needs it; {column} values present: "
                f"{listed}. Fix the data or the config",
            }
        ]
    )


def usage_findings(
    domain: str, df: pd.DataFrame, units: pd.DataFrame, study: StudyRules, file: str
) -> tuple[pd.Series, pd.DataFrame]:
    """``(used mask, notices and required-test errors)`` of a domain's text table."""
    used = used_mask(domain, df, units, study)
    found = concat_failures(
        [
            set_aside_notices(domain, df, used, file, units, study),
            required_test_failures(domain, df, used, file, study),
        ]
    )
    return used, found
