"""Normal ranges and CTCAE v5.0 lab grades (``resources/ctcae.csv``, ``resources/reference_ranges.csv``).

* ``ANRLO``/``ANRHI``: the record's ``LBORNRLO``/``LBORNRHI`` converted to the standard unit;
  when both are empty, the parameter's row of ``reference_ranges.csv`` (a record with one
  limit keeps its one-sided range: lipids often have only an upper limit).
* ``ANRIND``: ``LOW`` (AVAL < ANRLO), ``HIGH`` (AVAL > ANRHI), else ``NORMAL``; empty without
  AVAL or without any limit.
* ``ATOXGR``: the highest grade whose threshold is crossed -- ``value < threshold`` for
  ``direction = low``, ``value > threshold`` for ``high``; ``LLN``/``ULN`` thresholds are the
  record's ANRLO/ANRHI (a grade whose LLN/ULN is unknown is not assessed); 0 when no threshold
  is crossed; empty for parameters without CTCAE rows or without AVAL.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fcrnpipe.resource_tables import (
    CTCAE_COLUMNS,
    RANGE_COLUMNS,
    check_standard_units,
    ctcae_schema,
    numbers,
    range_schema,
    read_resource,
)


def load_ctcae(path: str | Path) -> pd.DataFrame:
    """The CTCAE table: PARAMCD, term, direction (low|high), grade (int 1-5), threshold (text), limit
    (float; NaN for LLN/ULN), unit. Validated against :func:`fcrnpipe.resource_tables.ctcae_schema`:
    a broken rule raises :class:`UserError` naming file, row, column and rule."""
    t = read_resource(path, ctcae_schema())
    out = t[CTCAE_COLUMNS].copy()
    out["grade"] = pd.to_numeric(out["grade"]).astype("int64")
    out["limit"] = numbers(out["threshold"]).astype("float64")
    return out


def load_reference_ranges(path: str | Path) -> pd.DataFrame:
    """Fallback normal ranges: PARAMCD, ANRLO, ANRHI (float, NaN if empty), unit (standard unit).
    Validated against :func:`fcrnpipe.resource_tables.range_schema`."""
    t = read_resource(path, range_schema())
    out = t[RANGE_COLUMNS].copy()
    for col in ("ANRLO", "ANRHI"):
        out[col] = numbers(out[col]).astype("float64")
    return out


def check_units(table: pd.DataFrame, std_units: dict[str, str], name: str) -> None:
    """Every row of ``table`` (ctcae or reference ranges) for a parameter in ``std_units`` must be
    in that parameter's standard unit (:func:`fcrnpipe.resource_tables.check_standard_units`)."""
    check_standard_units(table, std_units, name)


def normal_ranges(
    paramcd: pd.Series, lo_std: pd.Series, hi_std: pd.Series, reference: pd.DataFrame
) -> tuple[pd.Series, pd.Series]:
    """ANRLO/ANRHI: the record's limits (standard unit), else the reference row when both are empty."""
    ref = reference.set_index("PARAMCD")
    none = lo_std.isna() & hi_std.isna()
    ref_lo = paramcd.map(ref["ANRLO"]).astype("float64")
    ref_hi = paramcd.map(ref["ANRHI"]).astype("float64")
    lo = lo_std.astype("float64").where(~none, ref_lo)
    hi = hi_std.astype("float64").where(~none, ref_hi)
    return lo, hi


def range_indicator(aval: pd.Series, lo: pd.Series, hi: pd.Series) -> pd.Series:
    """ANRIND: LOW / NORMAL / HIGH, ``None`` without AVAL or without limits."""
    out = np.full(len(aval), None, dtype=object)
    a, l, h = (s.astype("float64").to_numpy() for s in (aval, lo, hi))
    has = ~np.isnan(a) & (~np.isnan(l) | ~np.isnan(h))
    out[has] = "NORMAL"
    out[has & ~np.isnan(l) & (a < l)] = "LOW"
    out[has & ~np.isnan(h) & (a > h)] = "HIGH"
    return pd.Series(out, index=aval.index, dtype=object)


def grade(paramcd: pd.Series, aval: pd.Series, anrlo: pd.Series, anrhi: pd.Series, ctcae: pd.DataFrame) -> pd.Series:
    """ATOXGR (``Int64``) per record, see the module docstring.

    >>> t = pd.DataFrame({"PARAMCD": ["ALB"] * 3, "direction": ["low"] * 3, "grade": [1, 2, 3],
    ...                   "limit": [float("nan"), 30.0, 20.0]})
    >>> s = lambda *v: pd.Series(list(v), dtype="float64")
    >>> grade(pd.Series(["ALB"] * 3), s(30.0, 29.9, 36.0), s(35.0, 35.0, 35.0), s(50.0, 50.0, 50.0), t).tolist()
    [1, 2, 0]
    """
    n = len(paramcd)
    result = pd.array([pd.NA] * n, dtype="Int64")
    a = aval.astype("float64").to_numpy()
    lo = anrlo.astype("float64").to_numpy()
    hi = anrhi.astype("float64").to_numpy()
    codes = paramcd.to_numpy(dtype=object)
    for code, rows in ctcae.groupby("PARAMCD", sort=True):
        m = (codes == code) & ~np.isnan(a)
        if not m.any():
            continue
        g = np.zeros(n, dtype="int64")
        for r in rows.itertuples(index=False):
            if r.direction == "low":
                thr = lo if np.isnan(r.limit) else np.full(n, r.limit)
                crossed = a < thr
            else:
                thr = hi if np.isnan(r.limit) else np.full(n, r.limit)
                crossed = a > thr
            crossed = crossed & ~np.isnan(thr)
            g = np.where(crossed & (int(r.grade) > g), int(r.grade), g)
        result[m] = g[m]
    return pd.Series(result, index=paramcd.index)
