"""The failures table: one row per finding of the validation stage.

Columns (``DESIGN.md``): ``file, row, column, check, severity, value, message``.

* ``file``: the export's file name (``ae.csv``);
* ``row``: 1-based data row (header not counted), empty for file-, column- or domain-level findings;
* ``column``: the SDTM variable (``USUBJID+EXSEQ`` for a compound key), empty if none;
* ``check``: the rule id (see :data:`fcrnpipe.validation.schemas.RULES`);
* ``severity``: ``error`` (blocks the domain), ``warning`` (reported, the run goes on) or
  ``notice`` (for information: records set aside, a substitute variable used);
* ``value``: the offending value as text (never the content of a refused identifier column);
* ``message``: a sentence saying what is wrong and what is expected.

Rows are sorted by file, row (file/column-level findings first), column, check, value, message.
Every function here works on whole columns (no per-row Python), so a table of several hundred
thousand findings is built and written in seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.tableio import write_csv
from fcrnpipe.validation.rules import SEVERITY

FAILURE_COLUMNS = ["file", "row", "column", "check", "severity", "value", "message"]
SEVERITIES = ("error", "warning", "notice")
_TEXT_COLUMNS = [c for c in FAILURE_COLUMNS if c != "row"]


def empty_failures() -> pd.DataFrame:
    """A failures table without rows (``row`` as nullable Int64, the rest text)."""
    out = pd.DataFrame({c: pd.Series([], dtype="Int64" if c == "row" else object) for c in FAILURE_COLUMNS})
    return out


def make_failures(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build a sorted failures table from dicts with (some of) the failure columns.

    Missing keys become empty; a missing ``severity`` is looked up from the check id
    (:func:`fcrnpipe.validation.schemas.severity_of`); ``row`` becomes a nullable integer;
    duplicates are dropped.
    """
    records = list(records)
    if not records:
        return empty_failures()
    frame = pd.DataFrame(records, columns=FAILURE_COLUMNS)
    return normalise_failures(frame)


def failure_rows(
    file: str,
    index: pd.Index | np.ndarray | list[int],
    column: str | pd.Series,
    check: str,
    values: pd.Series | list[Any] | str,
    messages: pd.Series | list[str] | str,
) -> pd.DataFrame:
    """Failures of one check on many rows at once (``index`` = 0-based data rows, ``None`` = no row).

    ``column``, ``values`` and ``messages`` are one value for all rows or one per row.
    """
    idx = np.asarray(index, dtype=object)
    n = len(idx)

    def col(x: Any) -> Any:
        if isinstance(x, pd.Series):
            return x.to_numpy(dtype=object)
        if isinstance(x, (list, np.ndarray)):
            return np.asarray(x, dtype=object)
        return np.full(n, x, dtype=object)

    rows = (pd.to_numeric(pd.Series(idx, dtype=object), errors="coerce") + 1).astype("Int64").to_numpy()
    frame = pd.DataFrame(
        {
            "file": np.full(n, file, dtype=object),
            "row": rows,
            "column": col(column),
            "check": np.full(n, check, dtype=object),
            "severity": np.full(n, None, dtype=object),
            "value": col(values),
            "message": col(messages),
        }
    )
    return frame


def _as_text(series: pd.Series) -> pd.Series:
    """Text with ``""`` for missing (vectorised)."""
    s = series.astype(object)
    return s.where(s.notna(), "").astype(str).astype(object)


def normalise_failures(frame: pd.DataFrame) -> pd.DataFrame:
    """Coerce a failures table to the canonical types, fill severities, drop duplicates and sort."""
    if frame.empty:
        return empty_failures()
    out = pd.DataFrame(index=frame.index)
    for col in FAILURE_COLUMNS:
        series = frame[col] if col in frame.columns else pd.Series([None] * len(frame), index=frame.index)
        if col == "row":
            out[col] = pd.to_numeric(series, errors="coerce").astype("Int64")
        else:
            out[col] = _as_text(series)
    missing = out["severity"] == ""
    if missing.any():
        out.loc[missing, "severity"] = out.loc[missing, "check"].map(SEVERITY).fillna("error")
    out = out.drop_duplicates(ignore_index=True)
    return sort_failures(out)


def sort_failures(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort deterministically: file, row (empty first), column, check, value, message."""
    if frame.empty:
        return frame.reset_index(drop=True)
    key = frame.assign(_norow=frame["row"].notna(), _row=frame["row"].fillna(0))
    key = key.sort_values(["file", "_norow", "_row", "column", "check", "value", "message"], kind="mergesort")
    return frame.loc[key.index].reset_index(drop=True)


def concat_failures(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate failures tables into one sorted table."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_failures()
    return normalise_failures(pd.concat(frames, ignore_index=True))


def errors_only(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of severity ``error`` (the ones that block a domain)."""
    return frame[frame["severity"] == "error"].reset_index(drop=True)


def write_failures(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a failures table as CSV (deterministic bytes, empty cells for missing)."""
    write_csv(normalise_failures(frame), path)


def read_failures(path: str | Path) -> pd.DataFrame:
    """Read a failures CSV written by :func:`write_failures` (values kept verbatim, e.g. ``NA``).

    A table written before the ``severity`` column existed reads with every row an error.
    """
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    return normalise_failures(frame.replace({"row": {"": None}}))


def describe_failure(failure: Mapping[str, Any]) -> str:
    """One failure in words: ``row 4, column AETOXGR (range): <message>``."""
    parts = []
    row = failure.get("row")
    if row is not None and not pd.isna(row):
        parts.append(f"row {int(row)}")
    if failure.get("column"):
        parts.append(f"column {failure['column']}")
    where = ", ".join(parts) if parts else "file"
    return f"{where} ({failure.get('check', '')}): {failure.get('message', '')}"
