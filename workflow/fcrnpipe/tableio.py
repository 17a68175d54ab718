"""Deterministic reading and writing of tables (parquet + CSV) and JSON.

pandas and pyarrow are imported by the functions that need them: the estimator's command line
writes its results with :func:`write_columns_csv` and :func:`write_json` without loading them
(its start-up cost, docs/nlme.md).
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Write CSV byte-deterministically: no index, '\\n' line ends, full float precision."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def write_columns_csv(columns: Mapping[str, np.ndarray], path: str | Path) -> None:
    """Write a table given as named, equal-length columns without pandas, byte for byte as
    :func:`write_csv` writes ``pandas.DataFrame(columns)``: each value as numpy's ``str`` (floats
    the shortest repr), NaN and None empty, quotes only where needed."""
    cells = []
    for values in columns.values():
        v = np.asarray(values)
        missing = np.array([x is None or (isinstance(x, float) and x != x) for x in v.tolist()], dtype=bool)
        text = v.astype(str).astype(object)
        text[missing] = ""
        cells.append(text.tolist())
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(list(columns))
        out.writerows(zip(*cells))


def write_parquet(df: pd.DataFrame, path: str | Path) -> None:
    """Write parquet deterministically (no index, fixed compression, no timestamps)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    df = df.reset_index(drop=True)
    # An all-missing text column would be typed 'null' by arrow and change type between
    # data cuts; keep it a string column.
    fields = []
    for name in df.columns:
        col = df[name]
        if col.dtype == object and col.isna().all():
            fields.append(pa.field(str(name), pa.string()))
        else:
            fields.append(pa.field(str(name), pa.Array.from_pandas(col).type))
    table = pa.Table.from_pandas(df, schema=pa.schema(fields), preserve_index=False)
    pq.write_table(table, str(path), compression="snappy", store_schema=True)


def write_table(df: pd.DataFrame, parquet_path: str | Path, csv_path: str | Path | None = None) -> None:
    """Write a data set as parquet (typed) and, if given, CSV (for people and other tools)."""
    write_parquet(df, parquet_path)
    if csv_path is not None:
        write_csv(df, csv_path)


def read_parquet(path: str | Path) -> pd.DataFrame:
    import pandas as pd

    return pd.read_parquet(path)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    pd = sys.modules.get("pandas")  # a Timestamp exists only when pandas is loaded
    if pd is not None and isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(obj: Any, path: str | Path) -> None:
    """Write JSON with sorted keys and a trailing newline (byte-deterministic)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=2, sort_keys=True, default=_json_default)
        fh.write("\n")
