"""Baseline (ABLFL, BASE), change (CHG) and percent change (PCHG) from baseline.

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

from fcrnpipe.derive.common import yes_null
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


def derive_baseline(
    df: pd.DataFrame,
    by: Sequence[str],
    rule: str = "last_on_or_before_first_dose",
    same_day: str = "later",
    seq: str | None = None,
    average_blank: Sequence[str] = (),
) -> pd.DataFrame:
    """Add ``ABLFL``, ``BASE``, ``CHG``, ``PCHG`` and ``DTYPE`` (see the module docstring).

    ``df`` needs ``AVAL``, ``ADT``, ``ADTM`` (NaT for date-only), ``TRTSDT``, ``TRTSDTM`` (per
    record, NaT for untreated subjects), the ``by`` columns (e.g. USUBJID, PARAMCD) and the
    sequence column ``seq`` if given. With ``same_day = "mean"`` the result may have extra
    (derived) rows, appended after the input rows; ``average_blank`` lists the columns emptied
    on them (the sequence column always is).
    """
    if rule not in RULES:
        raise UserError(f"config.yaml baseline.rule: unknown rule {rule!r} (one of {', '.join(RULES)})")
    if same_day not in SAME_DAY:
        raise UserError(f"config.yaml baseline.same_day: unknown value {same_day!r} (one of {', '.join(SAME_DAY)})")
    out = df.copy()
    by = list(by)
    out["DTYPE"] = pd.Series([None] * len(out), index=out.index, dtype=object)
    pre = before_reference(
        out["ADTM"], out["ADT"], out["TRTSDTM"], out["TRTSDT"], strict=(rule == "last_before_first_dose")
    )
    post = ~pre & out["ADT"].notna() & out["TRTSDT"].notna()
    aval = pd.to_numeric(out["AVAL"], errors="coerce")
    cand = out[pre & aval.notna()].copy()
    base_idx: list = []
    derived: list[pd.Series] = []
    if len(cand):
        cand["_t"] = cand["ADTM"]
        cand["_s"] = pd.to_numeric(cand[seq], errors="coerce") if seq else 0.0
        last_date = cand.groupby(by, sort=False)["ADT"].transform("max")
        day = cand[cand["ADT"] == last_date].sort_values([*by, "_t", "_s"], na_position="first", kind="mergesort")
        for _, grp in day.groupby(by, sort=True):
            if same_day == "first":
                base_idx.append(grp.index[0])
            elif same_day == "later" or len(grp) == 1:
                base_idx.append(grp.index[-1])
            else:
                row = out.loc[grp.index[-1]].copy()
                row["AVAL"] = float(pd.to_numeric(grp["AVAL"]).mean())
                row["DTYPE"] = "AVERAGE"
                for col in [*average_blank, *([seq] if seq else [])]:
                    if col in row.index:
                        row[col] = np.nan if pd.api.types.is_numeric_dtype(out[col]) else None
                derived.append(row)
    if derived:
        extra = pd.DataFrame(derived)
        start = int(out.index.max()) + 1 if len(out) else 0
        extra.index = range(start, start + len(extra))
        base_idx += list(extra.index)
        out = pd.concat([out, extra.astype(out.dtypes.to_dict(), errors="ignore")])
        post = post.reindex(out.index, fill_value=False)
    is_base = pd.Series(out.index.isin(base_idx), index=out.index)
    out["ABLFL"] = yes_null(is_base)
    keys = out.loc[is_base, [*by, "AVAL"]].rename(columns={"AVAL": "_base"})
    merged = out[by].merge(keys, on=by, how="left")
    base = pd.Series(pd.to_numeric(merged["_base"], errors="coerce").to_numpy(), index=out.index, dtype="float64")
    base = base.where(is_base | post, np.nan)
    out["BASE"] = base
    out["CHG"] = pd.to_numeric(out["AVAL"], errors="coerce").astype("float64") - base
    with np.errstate(divide="ignore", invalid="ignore"):
        pchg = 100.0 * out["CHG"] / base
    out["PCHG"] = pchg.where(base != 0, np.nan).astype("float64")
    return out
