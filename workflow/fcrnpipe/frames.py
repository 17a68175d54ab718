"""One home for the small data-frame helpers every stage uses: column checks, Y flags, numbers,
text (issue 12: these were copied, with diverging meaning, into derive, stats, figures, nca and
pkpd).

The two text cleaners differ on purpose and say so in their names: :func:`text_or_none` (ADaM
derivations: a blank cell is missing, ``None``) and :func:`text_or_empty` (statistics and
figures: a blank cell is the empty string, so it can be compared and grouped).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from fcrnpipe.errors import UserError

#: Where the datasets' variables are specified (quoted by the missing-column messages).
DATASETS_DOC = "docs/datasets.md, section 3"


def missing_columns(df: pd.DataFrame, columns: Iterable[str]) -> list[str]:
    """The ``columns`` that ``df`` lacks, in the given order."""
    return [c for c in columns if c not in df.columns]


def require_columns(df: pd.DataFrame, columns: Iterable[str], dataset: str, why: str = "") -> None:
    """Raise :class:`UserError` naming the dataset and the columns it lacks:
    ``"<dataset>: missing column(s) A, B[ <why>]"``.

    >>> require_columns(pd.DataFrame({"A": [1]}), ["A"], "ADSL")
    >>> require_columns(pd.DataFrame({"A": [1]}), ["A", "B"], "ADSL", "needed for the figure")
    Traceback (most recent call last):
    fcrnpipe.errors.UserError: ADSL: missing column(s) B needed for the figure
    """
    missing = missing_columns(df, columns)
    if missing:
        raise UserError(f"{dataset}: missing column(s) {', '.join(missing)}" + (f" {why}" if why else ""))


def flag_yes(series: pd.Series) -> pd.Series:
    """Boolean mask of ``"Y"`` flags (case and blanks ignored; missing values count as not set).

    >>> flag_yes(pd.Series(["Y", " y", "N", None, ""])).tolist()
    [True, True, False, False, False]
    """
    return series.astype("string").str.strip().str.upper().eq("Y").fillna(False).astype(bool)


def to_float(series: pd.Series) -> pd.Series:
    """Numeric float series (non-numbers become NaN).

    >>> to_float(pd.Series(["1.5", "x", None])).tolist()
    [1.5, nan, nan]
    """
    return pd.to_numeric(series, errors="coerce").astype(float)


def text_or_empty(series: pd.Series) -> pd.Series:
    """Stripped text (``object`` dtype) with ``""`` for missing values.

    >>> text_or_empty(pd.Series([" a ", None, 3])).tolist()
    ['a', '', '3']
    """
    return series.astype("string").fillna("").str.strip().astype(object)


def text_or_none(series: pd.Series) -> pd.Series:
    """Stripped text (``object`` dtype) with ``None`` for missing or blank cells.

    >>> text_or_none(pd.Series([" a ", None, "  ", float("nan")])).tolist()
    ['a', None, None, None]
    """
    out = []
    for v in series:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
            out.append(None)
            continue
        s = str(v).strip()
        out.append(s if s else None)
    return pd.Series(out, index=series.index, dtype=object)


__all__ = [
    "DATASETS_DOC",
    "flag_yes",
    "missing_columns",
    "require_columns",
    "text_or_empty",
    "text_or_none",
    "to_float",
]
