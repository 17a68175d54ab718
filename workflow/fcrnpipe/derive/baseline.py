"""Baseline (ABLFL, BASE), change (CHG) and percent change (PCHG) from baseline.

One pure function per variable, admiral-style, each with a runnable example:
:func:`derive_dtype` (derived same-day averages), :func:`flag_baseline` (ABLFL),
:func:`derive_base`, :func:`derive_chg`, :func:`derive_pchg`; :func:`derive_baseline`
composes them in that order.

Rules (``config.yaml: baseline``; docs/datasets.md section 3):

* ``rule: last_on_or_before_first_dose`` -- the candidates are the records with a non-missing
  AVAL on or before the first dose; ``last_before_first_dose`` -- strictly before it.
  "Before" compares date-times when both the record and the first dose have a time, else
  dates (a date-only record on the first-dose day is "on" the first dose: a candidate under
  the first rule, not under the second). A subject without any dose has no reference: all
  its records are candidates (a baseline, no post-baseline records).
* The baseline is on the latest candidate date. Several records on that date (retests):
  ``same_day: later`` -- the later one (by time; date-only records count as earlier than timed
  ones, then by sequence number), ``first`` -- the earlier one, ``mean`` -- a derived record
  (``DTYPE = "AVERAGE"``, AVAL = the mean, a copy of the later record otherwise, with the
  source-only variables blanked) becomes the baseline record.
* ``BASE``, ``CHG = AVAL - BASE`` and ``PCHG = 100 * CHG / BASE`` (missing if BASE is 0) are
  filled on the baseline record and on the post-baseline records (those that are not on or
  before the first dose); earlier records keep them empty.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from fcrnpipe.derive.common import require_columns, yes_null
from fcrnpipe.errors import UserError

RULES = ("last_on_or_before_first_dose", "last_before_first_dose")
SAME_DAY = ("later", "first", "mean")


def before_reference(
    dtm: pd.Series, dt: pd.Series, ref_dtm: pd.Series, ref_dt: pd.Series, strict: bool = False
) -> pd.Series:
    """Record on or before (``strict``: before) the reference (first dose), per record.

    Date-times are compared when both are known, else dates; a missing reference (no dose)
    counts as +infinity (True); a record without a date is False.

    >>> t = pd.to_datetime(pd.Series(["2021-02-11T09:00", None]))
    >>> d = pd.to_datetime(pd.Series(["2021-02-11", "2021-02-11"]))
    >>> ref = pd.Series(pd.to_datetime(["2021-02-11T10:20"] * 2))
    >>> before_reference(t, d, ref, ref.dt.normalize(), strict=True).tolist()
    [True, False]
    """
    both = dtm.notna() & ref_dtm.notna()
    if strict:
        by_time = dtm < ref_dtm
        by_date = dt.dt.normalize() < ref_dt.dt.normalize()
    else:
        by_time = dtm <= ref_dtm
        by_date = dt.dt.normalize() <= ref_dt.dt.normalize()
    res = by_time.where(both, by_date).astype(bool)
    res = res & dt.notna()
    no_ref = ref_dt.isna() & ref_dtm.isna()
    return (res | (no_ref & dt.notna())).astype(bool)


#: Variables every baseline derivation reads (besides the ``by`` columns and ``seq``).
DATES = ("ADT", "ADTM", "TRTSDT", "TRTSDTM")


def _example() -> pd.DataFrame:
    """A tiny lab frame for the examples: one subject dosed 2021-02-11 10:20, a screening value,
    two pre-dose retests on the dose day (08:00 and 08:35) and a week-1 value.

    >>> _example()[["LBSEQ", "AVAL", "ADTM"]]
       LBSEQ  AVAL                ADTM
    0    1.0  10.2 2021-02-08 08:00:00
    1    2.0  10.0 2021-02-11 08:00:00
    2    3.0   9.6 2021-02-11 08:35:00
    3    4.0   7.1 2021-02-18 08:00:00
    """
    adtm = pd.to_datetime(pd.Series(["2021-02-08 08:00", "2021-02-11 08:00", "2021-02-11 08:35", "2021-02-18 08:00"]))
    return pd.DataFrame(
        {
            "USUBJID": "S1",
            "PARAMCD": "IGG",
            "LBSEQ": [1.0, 2.0, 3.0, 4.0],
            "AVAL": [10.2, 10.0, 9.6, 7.1],
            "ADTM": adtm,
            "ADT": adtm.dt.normalize(),
            "TRTSDTM": pd.Timestamp("2021-02-11 10:20"),
            "TRTSDT": pd.Timestamp("2021-02-11"),
        }
    )


def _check(
    df: pd.DataFrame,
    columns: Sequence[str],
    rule: str | None = None,
    same_day: str | None = None,
) -> None:
    """Argument checks shared by the derivations: the options (config errors) and the columns."""
    if rule is not None and rule not in RULES:
        raise UserError(f"config.yaml baseline.rule: unknown rule {rule!r} (one of {', '.join(RULES)})")
    if same_day is not None and same_day not in SAME_DAY:
        raise UserError(f"config.yaml baseline.same_day: unknown value {same_day!r} (one of {', '.join(SAME_DAY)})")
    require_columns(df, [c for c in columns if c], "the baseline derivation's input")


def _pre_dose(df: pd.DataFrame, rule: str) -> pd.Series:
    """Records on or before (``last_before_first_dose``: before) the first dose."""
    strict = rule == "last_before_first_dose"
    return before_reference(df["ADTM"], df["ADT"], df["TRTSDTM"], df["TRTSDT"], strict=strict)


def _post_dose(df: pd.DataFrame, rule: str) -> pd.Series:
    """Post-baseline records: dated, of a dosed subject, and not on or before the first dose."""
    return ~_pre_dose(df, rule) & df["ADT"].notna() & df["TRTSDT"].notna()


def _baseline_day(df: pd.DataFrame, by: list[str], rule: str, seq: str | None) -> pd.DataFrame:
    """The candidates (pre-dose, non-missing AVAL) on the latest candidate date of each ``by``
    group, sorted by ``by``, derived averages last, then time (date-only first) and ``seq``."""
    aval = pd.to_numeric(df["AVAL"], errors="coerce")
    cand = df[_pre_dose(df, rule) & aval.notna()].copy()
    if not len(cand):
        return cand
    cand["_a"] = cand["DTYPE"].eq("AVERAGE") if "DTYPE" in cand.columns else False
    cand["_t"] = cand["ADTM"]
    cand["_s"] = pd.to_numeric(cand[seq], errors="coerce") if seq else 0.0
    last_date = cand.groupby(by, sort=False)["ADT"].transform("max")
    day = cand[cand["ADT"] == last_date]
    return day.sort_values([*by, "_a", "_t", "_s"], na_position="first", kind="mergesort")


def derive_dtype(
    df: pd.DataFrame,
    by: Sequence[str],
    rule: str = "last_on_or_before_first_dose",
    same_day: str = "later",
    seq: str | None = None,
    average_blank: Sequence[str] = (),
) -> pd.DataFrame:
    """Add ``DTYPE`` (empty) and, with ``same_day = "mean"``, one derived record per ``by`` group
    with several candidates on its baseline date: ``DTYPE = "AVERAGE"``, AVAL = their mean, a
    copy of the later candidate otherwise, with ``average_blank`` and ``seq`` emptied. The
    derived records are appended after the input rows (new index labels).

    >>> out = derive_dtype(_example(), ["USUBJID", "PARAMCD"], same_day="mean", seq="LBSEQ")
    >>> out[["LBSEQ", "AVAL", "ADTM", "DTYPE"]]
       LBSEQ  AVAL                ADTM    DTYPE
    0    1.0  10.2 2021-02-08 08:00:00     None
    1    2.0  10.0 2021-02-11 08:00:00     None
    2    3.0   9.6 2021-02-11 08:35:00     None
    3    4.0   7.1 2021-02-18 08:00:00     None
    4    NaN   9.8 2021-02-11 08:35:00  AVERAGE
    >>> derive_dtype(_example(), ["USUBJID", "PARAMCD"])["DTYPE"].tolist()
    [None, None, None, None]
    """
    by = list(by)
    _check(df, [*by, "AVAL", *DATES, seq], rule, same_day)
    out = df.copy()
    out["DTYPE"] = pd.Series([None] * len(out), index=out.index, dtype=object)
    if same_day != "mean":
        return out
    derived: list[pd.Series] = []
    for _, grp in _baseline_day(out, by, rule, seq).groupby(by, sort=True):
        if len(grp) == 1:
            continue
        row = out.loc[grp.index[-1]].copy()
        row["AVAL"] = float(pd.to_numeric(grp["AVAL"]).mean())
        row["DTYPE"] = "AVERAGE"
        for col in [*average_blank, *([seq] if seq else [])]:
            if col in row.index:
                row[col] = np.nan if pd.api.types.is_numeric_dtype(out[col]) else None
        derived.append(row)
    if not derived:
        return out
    extra = pd.DataFrame(derived)
    start = int(out.index.max()) + 1 if len(out) else 0
    extra.index = range(start, start + len(extra))
    return pd.concat([out, extra.astype(out.dtypes.to_dict(), errors="ignore")])


def flag_baseline(
    df: pd.DataFrame,
    by: Sequence[str],
    rule: str = "last_on_or_before_first_dose",
    same_day: str = "later",
    seq: str | None = None,
) -> pd.DataFrame:
    """Add ``ABLFL``: ``"Y"`` on one record per ``by`` group, the latest candidate (see the module
    docstring); on the baseline date ``later`` takes the later record, ``first`` the earlier
    one and ``mean`` the derived average (:func:`derive_dtype`; a lone record otherwise).

    >>> ex = _example()
    >>> flag_baseline(ex, ["USUBJID", "PARAMCD"], seq="LBSEQ")["ABLFL"].tolist()
    [None, None, 'Y', None]
    >>> flag_baseline(ex, ["USUBJID", "PARAMCD"], same_day="first", seq="LBSEQ")["ABLFL"].tolist()
    [None, 'Y', None, None]
    >>> avg = derive_dtype(ex, ["USUBJID", "PARAMCD"], same_day="mean", seq="LBSEQ")
    >>> flag_baseline(avg, ["USUBJID", "PARAMCD"], same_day="mean", seq="LBSEQ")["ABLFL"].tolist()
    [None, None, None, None, 'Y']
    """
    by = list(by)
    _check(df, [*by, "AVAL", *DATES, seq, "DTYPE" if same_day == "mean" else None], rule, same_day)
    out = df.copy()
    base_idx = [
        grp.index[0] if same_day == "first" else grp.index[-1]
        for _, grp in _baseline_day(out, by, rule, seq).groupby(by, sort=True)
    ]
    out["ABLFL"] = yes_null(pd.Series(out.index.isin(base_idx), index=out.index))
    return out


def derive_base(df: pd.DataFrame, by: Sequence[str], rule: str = "last_on_or_before_first_dose") -> pd.DataFrame:
    """Add ``BASE``: the AVAL of the ``ABLFL = "Y"`` record of the ``by`` group, on that record
    and on the post-baseline records (not on or before the first dose); earlier records and
    groups without a baseline keep it empty.

    >>> ex = flag_baseline(_example(), ["USUBJID", "PARAMCD"], seq="LBSEQ")
    >>> derive_base(ex, ["USUBJID", "PARAMCD"])[["AVAL", "ABLFL", "BASE"]]
       AVAL ABLFL  BASE
    0  10.2  None   NaN
    1  10.0  None   NaN
    2   9.6     Y   9.6
    3   7.1  None   9.6
    """
    by = list(by)
    _check(df, [*by, "AVAL", "ABLFL", *DATES], rule)
    out = df.copy()
    is_base = out["ABLFL"].eq("Y")
    keys = out.loc[is_base, [*by, "AVAL"]].rename(columns={"AVAL": "_base"})
    merged = out[by].merge(keys, on=by, how="left")
    base = pd.Series(pd.to_numeric(merged["_base"], errors="coerce").to_numpy(), index=out.index, dtype="float64")
    out["BASE"] = base.where(is_base | _post_dose(out, rule), np.nan)
    return out


def derive_chg(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``CHG = AVAL - BASE`` (empty where either is).

    >>> derive_chg(pd.DataFrame({"AVAL": [9.6, 7.1, 5.0], "BASE": [9.6, 9.6, np.nan]}))
       AVAL  BASE  CHG
    0   9.6   9.6  0.0
    1   7.1   9.6 -2.5
    2   5.0   NaN  NaN
    """
    _check(df, ["AVAL", "BASE"])
    out = df.copy()
    out["CHG"] = pd.to_numeric(out["AVAL"], errors="coerce").astype("float64") - out["BASE"]
    return out


def derive_pchg(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``PCHG = 100 * CHG / BASE`` (empty where either is empty or BASE is 0).

    >>> derive_pchg(pd.DataFrame({"BASE": [8.0, 8.0, 0.0, np.nan], "CHG": [-2.0, 0.0, 1.0, np.nan]}))
       BASE  CHG  PCHG
    0   8.0 -2.0 -25.0
    1   8.0  0.0   0.0
    2   0.0  1.0   NaN
    3   NaN  NaN   NaN
    """
    _check(df, ["BASE", "CHG"])
    out = df.copy()
    base = out["BASE"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pchg = 100.0 * out["CHG"] / base
    out["PCHG"] = pchg.where(base != 0, np.nan).astype("float64")
    return out


def derive_baseline(
    df: pd.DataFrame,
    by: Sequence[str],
    rule: str = "last_on_or_before_first_dose",
    same_day: str = "later",
    seq: str | None = None,
    average_blank: Sequence[str] = (),
) -> pd.DataFrame:
    """Add ``DTYPE``, ``ABLFL``, ``BASE``, ``CHG`` and ``PCHG`` (see the module docstring): the
    composition of :func:`derive_dtype`, :func:`flag_baseline`, :func:`derive_base`,
    :func:`derive_chg` and :func:`derive_pchg`.

    ``df`` needs ``AVAL``, ``ADT``, ``ADTM`` (NaT for date-only), ``TRTSDT``, ``TRTSDTM`` (per
    record, NaT for untreated subjects), the ``by`` columns (e.g. USUBJID, PARAMCD) and the
    sequence column ``seq`` if given. With ``same_day = "mean"`` the result may have extra
    (derived) rows, appended after the input rows; ``average_blank`` lists the columns emptied
    on them (the sequence column always is).

    >>> out = derive_baseline(_example(), ["USUBJID", "PARAMCD"], same_day="mean", seq="LBSEQ")
    >>> out[["AVAL", "DTYPE", "ABLFL", "BASE", "CHG", "PCHG"]].round(2)
       AVAL    DTYPE ABLFL  BASE  CHG   PCHG
    0  10.2     None  None   NaN  NaN    NaN
    1  10.0     None  None   NaN  NaN    NaN
    2   9.6     None  None   NaN  NaN    NaN
    3   7.1     None  None   9.8 -2.7 -27.55
    4   9.8  AVERAGE     Y   9.8  0.0   0.00
    """
    by = list(by)
    _check(df, [*by, "AVAL", *DATES, seq], rule, same_day)
    out = derive_dtype(df, by, rule, same_day, seq, average_blank)
    out = flag_baseline(out, by, rule, same_day, seq)
    out = derive_base(out, by, rule)
    return derive_pchg(derive_chg(out))
