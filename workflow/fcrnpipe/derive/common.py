"""Small helpers shared by the derivations: text cleaning, flags, column checks, output shaping."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from fcrnpipe import frames

NS = "datetime64[ns]"


#: Stripped text with ``None`` for missing or blank cells (:func:`fcrnpipe.frames.text_or_none`;
#: the statistics keep blanks as ``""``: :func:`fcrnpipe.frames.text_or_empty`).
text = frames.text_or_none


def column_or_none(df: pd.DataFrame, name: str) -> pd.Series:
    """``df[name]`` as cleaned text, or an all-``None`` column when the variable is absent."""
    if name in df.columns:
        return text(df[name])
    return pd.Series([None] * len(df), index=df.index, dtype=object)


def require_columns(df: pd.DataFrame, columns: Iterable[str], source: str) -> None:
    """Raise :class:`UserError` naming ``source`` (e.g. ``validation/lb.parquet``) and the missing columns."""
    frames.require_columns(df, columns, source)


def record(df: pd.DataFrame, i: object, key: Sequence[str]) -> str:
    """``USUBJID X, LBSEQ 3``: the key of row ``i`` (an index label) for error messages."""
    parts = []
    for col in key:
        if col in df.columns:
            v = df.at[i, col]
            if isinstance(v, float) and float(v).is_integer():
                v = int(v)
            parts.append(f"{col} {v}")
    return ", ".join(parts) if parts else f"row {i}"


def yes_no(mask: pd.Series, known: pd.Series | None = None) -> pd.Series:
    """``"Y"``/``"N"`` from a boolean mask; ``None`` where ``known`` is False."""
    out = pd.Series(np.where(mask.fillna(False).astype(bool), "Y", "N"), index=mask.index, dtype=object)
    if known is not None:
        out[~known.fillna(False).astype(bool)] = None
    return out


def yes_null(mask: pd.Series) -> pd.Series:
    """``"Y"`` where ``mask`` is True, ``None`` elsewhere (ADaM record-selection flags)."""
    m = mask.fillna(False).astype(bool)
    return pd.Series(np.where(m, "Y", None), index=mask.index, dtype=object)


def int_column(series: pd.Series) -> pd.Series:
    """Nullable ``Int64`` copy of a numeric series of whole numbers (non-integers are rounded)."""
    x = pd.to_numeric(series, errors="coerce").astype("float64")
    return pd.Series(np.round(x.to_numpy()), index=series.index).astype("Int64")


def clean_float(values: pd.Series) -> pd.Series:
    """Floats cleaned of binary noise from unit conversion (12 significant digits).

    ``3.0 g/dL x 10`` must be exactly ``30.0`` g/L so that a CTCAE boundary is not crossed by a
    rounding artefact.
    """
    x = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
    out = np.array([float(f"{v:.12g}") if np.isfinite(v) else v for v in x], dtype="float64")
    return pd.Series(out, index=values.index, dtype="float64")


def shape(df: pd.DataFrame, columns: Sequence[str], sort_by: Sequence[str]) -> pd.DataFrame:
    """The spec's columns in order (absent ones as ``None``), rows sorted stably by ``sort_by``."""
    out = df.copy()
    for c in columns:
        if c not in out.columns:
            out[c] = pd.Series([None] * len(out), index=out.index, dtype=object)
    out = out.sort_values(list(sort_by), kind="mergesort", na_position="last") if len(out) else out
    return out[list(columns)].reset_index(drop=True)


def csv_view(df: pd.DataFrame) -> pd.DataFrame:
    """A copy for CSV output: date-times as ISO 8601 ``YYYY-MM-DDThh:mm:ss``, dates as ``YYYY-MM-DD``.

    Columns of datetime dtype whose name ends in ``DTM`` keep the time; other datetime columns
    (``ADT``, ``TRTSDT``, ...) are dates. Missing values become empty cells.
    """
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            fmt = "%Y-%m-%dT%H:%M:%S" if str(c).endswith("DTM") else "%Y-%m-%d"
            s = out[c].dt.strftime(fmt)
            out[c] = s.astype(object).where(out[c].notna(), None)
    return out
