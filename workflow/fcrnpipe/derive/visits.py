"""Study day (ADY) and analysis visits (AVISIT/AVISITN, ANL01FL) from ``config.yaml: visits``.

* ``ADY`` = date - first-dose date + 1 on or after the first dose, date - first-dose date
  before it (there is no day 0).
* Windows are inclusive study-day ranges ``[lo, hi]`` with a target ``day``; a record outside
  every window has no analysis visit. Windows must not overlap (checked).
* ``ANL01FL = "Y"`` marks, per subject, parameter and analysis visit, the record closest to the
  target day among the eligible ones (a non-missing AVAL); ties go to the later record (later
  study day, then later time -- a date-only record counts as earlier than a timed one on the
  same date --, then the higher sequence number).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.derive.common import yes_null
from fcrnpipe.errors import UserError


@dataclass(frozen=True)
class Window:
    """One analysis visit: ``name`` (AVISIT), ``avisitn``, target study ``day``, inclusive ``lo``..``hi``."""

    name: str
    avisitn: int
    day: int
    lo: int
    hi: int


def parse_windows(visits: Sequence[Mapping[str, Any]]) -> list[Window]:
    """Windows from ``config.yaml: visits``; :class:`UserError` if one is empty or two overlap."""
    windows = [Window(str(v["name"]), int(v["avisitn"]), int(v["day"]), int(v["lo"]), int(v["hi"])) for v in visits]
    for w in windows:
        if w.lo > w.hi:
            raise UserError(f"config.yaml visits: window {w.name!r} has lo {w.lo} > hi {w.hi}")
    ordered = sorted(windows, key=lambda w: (w.lo, w.hi))
    for a, b in zip(ordered, ordered[1:]):
        if b.lo <= a.hi:
            raise UserError(
                f"config.yaml visits: windows {a.name!r} [{a.lo}, {a.hi}] and {b.name!r} [{b.lo}, {b.hi}] overlap"
            )
    names = [w.name for w in windows]
    if len(set(names)) != len(names):
        raise UserError("config.yaml visits: visit names must be unique")
    return windows


def study_day(dates: pd.Series, first_dose: pd.Series) -> pd.Series:
    """ADY (``Int64``): ``date - first_dose + 1`` on or after the first dose, ``date - first_dose`` before.

    Both series hold datetimes; only their dates count. Missing -> ``<NA>``.

    >>> d = pd.to_datetime(pd.Series(["2021-02-10", "2021-02-11", "2021-02-18"]))
    >>> study_day(d, pd.Series([pd.Timestamp("2021-02-11T10:20")] * 3)).tolist()
    [-1, 1, 8]
    """
    a = pd.to_datetime(dates).dt.normalize()
    b = pd.to_datetime(first_dose).dt.normalize()
    delta = (a - b).dt.days
    day = delta.where(delta < 0, delta + 1)
    return day.astype("Int64")


def assign_visits(ady: pd.Series, windows: Sequence[Window]) -> pd.DataFrame:
    """Columns ``AVISIT`` (text or ``None``), ``AVISITN`` and ``VISITDY`` (target day), ``Int64``."""
    n = len(ady)
    name = np.full(n, None, dtype=object)
    num = pd.array([pd.NA] * n, dtype="Int64")
    target = pd.array([pd.NA] * n, dtype="Int64")
    days = pd.to_numeric(ady, errors="coerce").astype("float64").to_numpy()
    for w in windows:
        m = (days >= w.lo) & (days <= w.hi)
        name[m] = w.name
        num[m] = w.avisitn
        target[m] = w.day
    return pd.DataFrame({"AVISIT": name, "AVISITN": num, "VISITDY": target}, index=ady.index)


def flag_analysis_records(
    df: pd.DataFrame,
    by: Sequence[str],
    eligible: pd.Series,
    seq: str | None = None,
) -> pd.Series:
    """ANL01FL: ``"Y"`` on the record closest to the visit's target day per ``by`` + AVISITN.

    ``df`` needs ``ADY``, ``VISITDY`` (target day), ``AVISITN``, ``ADT`` and optionally ``ADTM``
    and the sequence column ``seq``. Only ``eligible`` records with an analysis visit compete.
    Ties (same distance): the later study day, then the later ``ADTM`` (date-only first), then
    the higher ``seq``.
    """
    cand = df[eligible.fillna(False).astype(bool) & df["AVISITN"].notna() & df["ADY"].notna()].copy()
    if cand.empty:
        return yes_null(pd.Series(False, index=df.index))
    cand["_dist"] = (cand["ADY"].astype("float64") - cand["VISITDY"].astype("float64")).abs()
    cand["_ady"] = cand["ADY"].astype("float64")
    cand["_t"] = cand["ADTM"] if "ADTM" in cand.columns else pd.NaT
    cand["_seq"] = pd.to_numeric(cand[seq], errors="coerce") if seq else 0.0
    keys = [*by, "AVISITN"]
    # best first: smallest distance, then latest day, latest time (NaT = earliest), highest seq
    cand = cand.sort_values(
        [*keys, "_dist", "_ady", "_t", "_seq"],
        ascending=[True] * len(keys) + [True, False, False, False],
        na_position="last",
        kind="mergesort",
    )
    chosen = cand.drop_duplicates(keys, keep="first").index
    return yes_null(pd.Series(df.index.isin(chosen), index=df.index))
