"""The failures table: one row per problem found by the validation stage.

Columns (``DESIGN.md``): ``file, row, column, check, value, message``.

* ``file``: the export's file name (``ae.csv``);
* ``row``: 1-based data row (header not counted), empty for file- or column-level problems;
* ``column``: the SDTM variable (``USUBJID+EXSEQ`` for a compound key), empty if none;
* ``check``: the rule id (see :data:`fcrnpipe.validation.schemas.RULES`);
* ``value``: the offending value as text (never the content of a refused identifier column);
* ``message``: a sentence saying what is wrong and what is expected.

Rows are sorted by file, row (file/column-level problems first), column, check, value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from fcrnpipe.tableio import write_csv

FAILURE_COLUMNS = ["file", "row", "column", "check", "value", "message"]
_TEXT_COLUMNS = [c for c in FAILURE_COLUMNS if c != "row"]


def empty_failures() -> pd.DataFrame:
    """A failures table without rows (``row`` as nullable Int64, the rest text)."""
    return make_failures([])


def make_failures(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build a sorted failures table from dicts with (some of) the failure columns.

    Missing keys become empty; ``row`` becomes a nullable integer; duplicates are dropped.
    """
    frame = pd.DataFrame(list(records), columns=FAILURE_COLUMNS)
    return normalise_failures(frame)


def normalise_failures(frame: pd.DataFrame) -> pd.DataFrame:
    """Coerce a failures table to the canonical types, drop duplicate rows and sort it."""
    out = pd.DataFrame(index=frame.index)
    for col in FAILURE_COLUMNS:
        series = frame[col] if col in frame.columns else pd.Series([None] * len(frame), index=frame.index)
        if col == "row":
            out[col] = pd.to_numeric(series, errors="coerce").astype("Int64")
        else:
            out[col] = series.map(
                lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)
            ).astype(object)
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


def write_failures(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a failures table as CSV (deterministic bytes, empty cells for missing)."""
    write_csv(normalise_failures(frame), path)


def read_failures(path: str | Path) -> pd.DataFrame:
    """Read a failures CSV written by :func:`write_failures` (values kept verbatim, e.g. ``NA``)."""
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
