"""Reading a raw export (CSV or SAS transport) as a table of text.

The contract (docs/datasets.md, section 1): one file per domain, CSV (UTF-8, comma, one header
row) or SAS transport (``.xpt``). Every value is read as text; the validation stage types them.

:func:`inspect_export` never raises for a malformed file: it returns the rows it could read
together with a list of :class:`ReadProblem` (missing file, 0-byte file, header only, wrong
delimiter, bytes that are not UTF-8, ragged rows, ...). :func:`read_export` is the strict
variant for callers that need a clean file: it raises :class:`MalformedExport` (a
:class:`~fcrnpipe.errors.UserError`) carrying the same problems.

Conventions of the returned frame:

* column names upper-cased and stripped (``" usubjid"`` -> ``"USUBJID"``);
* every cell is a ``str`` stripped of surrounding blanks, or ``None`` when empty
  (``object`` dtype);
* the index is the 0-based data row of the file (header not counted), so ``index + 1`` is
  the row number quoted in failure messages, even when ragged rows were left out.

XPT files are read with ``pyreadstat`` rather than ``pandas.read_sas``: pandas' xport reader
silently drops the last record when a record is at most 80 bytes long and the last 80-byte
card contains a blank 8-byte block (tests/test_rawio.py shows the case). Character values are
decoded as UTF-8 (bytes that are not UTF-8 are reported with their row), numbers are turned
into text without float noise (``9.8`` -> ``"9.8"``, ``3.0`` -> ``"3"``).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fcrnpipe.errors import UserError

#: Extensions of the accepted export formats.
EXPORT_EXTENSIONS = (".csv", ".xpt")

_OTHER_DELIMITERS = {";": "';' (semicolon)", "\t": "a tab", "|": "'|' (pipe)"}


@dataclass(frozen=True)
class ReadProblem:
    """A structural problem of an export file.

    ``row`` is the 1-based data row (header not counted) or ``None`` for a file-level
    problem; ``check`` is the rule id reported in the failures table.
    """

    check: str
    message: str
    row: int | None = None
    column: str | None = None
    value: str | None = None


@dataclass
class RawExport:
    """An export as read: the text table (``None`` if nothing usable) and its problems."""

    path: Path
    data: pd.DataFrame | None
    problems: list[ReadProblem] = field(default_factory=list)

    @property
    def file(self) -> str:
        """The file name as quoted in messages (e.g. ``ae.csv``)."""
        return self.path.name


class MalformedExport(UserError):
    """The export could not be read cleanly; ``problems`` lists why."""

    def __init__(self, path: Path, problems: list[ReadProblem]):
        self.path = path
        self.problems = problems
        first = problems[0]
        where = f" (row {first.row})" if first.row is not None else ""
        more = f" and {len(problems) - 1} more problem(s)" if len(problems) > 1 else ""
        super().__init__(f"{path.name}{where}: {first.message}{more}")


def format_number(x: float) -> str | None:
    """Text of a number without float noise: ``9.8`` -> ``"9.8"``, ``3.0`` -> ``"3"``.

    ``NaN`` (a SAS missing value) gives ``None``. Integral values below 1e15 print without a
    decimal point; anything else uses Python's shortest round-trip representation.
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    x = float(x)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def _clean_cell(value: str) -> str | None:
    value = value.strip()
    return value if value else None


def _clean_column(values: pd.Series) -> pd.Series:
    """:func:`_clean_cell` of every cell, computed once per distinct value (``object``, ``None`` = empty)."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    cleaned = np.empty(len(uniques) + 1, dtype=object)
    for i, u in enumerate(uniques):
        cleaned[i] = _clean_cell(str(u))
    cleaned[len(uniques)] = None
    return pd.Series(cleaned[codes], index=values.index, dtype=object)


def _normalise_columns(names: list[str], path: Path) -> tuple[list[str], list[int], list[ReadProblem]]:
    """Upper-case and strip names; keep the first of duplicated names; report problems.

    Returns the kept names, the positions of the kept columns and the problems found.
    """
    kept: list[str] = []
    positions: list[int] = []
    problems: list[ReadProblem] = []
    for pos, raw in enumerate(names):
        name = raw.strip().upper()
        if name in kept:
            problems.append(
                ReadProblem(
                    "duplicate_column",
                    f"column {name} appears more than once in the header of {path.name} "
                    f"(column {pos + 1}: {raw!r}); only the first one is used",
                    column=name,
                    value=raw,
                )
            )
            continue
        kept.append(name)
        positions.append(pos)
    return kept, positions, problems


def _decode_utf8(data: bytes, path: Path) -> tuple[str | None, ReadProblem | None]:
    """Decode bytes as UTF-8 (a BOM is allowed); on failure name the line and the byte."""
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 1]
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line_end = data.find(b"\n", exc.start)
        snippet = data[line_start : line_end if line_end >= 0 else len(data)]
        shown = snippet.decode("latin-1").strip()[:80]
        row = line - 1 if line > 1 else None
        message = (
            f"{path.name} is not UTF-8: line {line} has byte 0x{bad.hex()} "
            f"(probably Latin-1/Windows-1252); re-export the file as UTF-8"
        )
        return None, ReadProblem("not_utf8", message, row=row, value=shown)


def _header_delimiter_problem(header: list[str], path: Path) -> ReadProblem | None:
    if len(header) != 1:
        return None
    for delim, label in _OTHER_DELIMITERS.items():
        if delim in header[0]:
            return ReadProblem(
                "wrong_delimiter",
                f"{path.name} has a single column whose name contains {label}: the file is "
                f"not comma-separated; re-export it with ',' as the delimiter",
                value=header[0][:200],
            )
    return None


def _read_csv(path: Path) -> RawExport:
    data = path.read_bytes()
    text, problem = _decode_utf8(data, path)
    if problem is not None:
        return RawExport(path, None, [problem])
    assert text is not None
    if not text.strip():
        return RawExport(
            path, None, [ReadProblem("file_empty", f"{path.name} is empty (no header, no data)")]
        )
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=",", quotechar='"', strict=True))
    except csv.Error as exc:
        return RawExport(path, None, [ReadProblem("csv_syntax", f"{path.name} is not valid CSV: {exc}")])
    header = records[0]
    body = records[1:]
    delim = _header_delimiter_problem(header, path)
    if delim is not None:
        return RawExport(path, None, [delim])
    names, positions, problems = _normalise_columns(header, path)
    if "" in names:
        idx = names.index("")
        problems.append(
            ReadProblem(
                "column_name",
                f"{path.name}: header column {positions[idx] + 1} has no name",
                value="",
            )
        )
    width = len(header)
    # whole-column operations from here on: a record's length, then each column cleaned once
    # per distinct value; only ragged rows (rare) are looked at one by one
    lengths = np.fromiter(map(len, body), dtype=np.int64, count=len(body))
    ragged = np.flatnonzero((lengths > 0) & (lengths != width))
    for i in ragged:
        rec = body[i]
        if not any(cell.strip() for cell in rec):
            continue  # a blank line (e.g. ",,") is not a record
        problems.append(
            ReadProblem(
                "ragged_row",
                f"{path.name}: data row {i + 1} has {len(rec)} field(s) but the header has "
                f"{width}; check for unquoted commas or missing fields",
                row=int(i) + 1,
                value=",".join(rec)[:200],
            )
        )
    keep = np.flatnonzero(lengths == width)
    rows = body if len(keep) == len(body) else [body[i] for i in keep]
    table = pd.DataFrame(rows, columns=range(width), dtype=object) if len(rows) else pd.DataFrame(columns=range(width))
    cleaned = {p: _clean_column(table[p]) for p in range(width)}
    filled = np.zeros(len(table), dtype=bool)
    for col in cleaned.values():
        filled |= col.notna().to_numpy()  # blank lines (only empty cells) are not records
    frame = pd.DataFrame({n: cleaned[p].to_numpy()[filled] for n, p in zip(names, positions)}, columns=names)
    frame = frame.astype(object)
    frame.index = pd.Index(keep[filled], dtype="int64")
    if not filled.any() and not any(any(cell.strip() for cell in body[i]) for i in ragged):
        problems.append(ReadProblem("header_only", f"{path.name} has a header but no data rows"))
    return RawExport(path, frame, problems)


def _read_xpt(path: Path) -> RawExport:
    import pyreadstat

    if path.stat().st_size == 0:
        return RawExport(path, None, [ReadProblem("file_empty", f"{path.name} is empty (0 bytes)")])
    try:
        # latin-1 maps every byte to one character, so the original bytes can be recovered
        # and decoded as UTF-8 cell by cell (pyreadstat's own UTF-8 decoding drops bad bytes)
        table, _meta = pyreadstat.read_xport(str(path), encoding="latin1", disable_datetime_conversion=True)
    except Exception as exc:  # pyreadstat raises its own ReadstatError/PyreadstatError types
        return RawExport(
            path,
            None,
            [ReadProblem("xpt_unreadable", f"{path.name} is not a readable SAS transport (XPT) file: {exc}")],
        )
    names, positions, problems = _normalise_columns([str(c) for c in table.columns], path)
    out: dict[str, np.ndarray] = {}
    for name, pos in zip(names, positions):
        # each distinct value converted once (numbers to text, latin-1 bytes decoded as UTF-8)
        col = table.iloc[:, pos]
        codes, uniques = pd.factorize(col.to_numpy(dtype=object), use_na_sentinel=True)
        converted = np.empty(len(uniques) + 1, dtype=object)
        converted[len(uniques)] = None
        bad: dict[int, tuple[bytes, UnicodeDecodeError]] = {}
        for k, v in enumerate(uniques):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                converted[k] = format_number(v)
                continue
            raw = str(v).encode("latin-1")
            try:
                converted[k] = _clean_cell(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                converted[k] = None
                bad[k] = (raw, exc)
        for k, (raw, exc) in bad.items():
            for i in np.flatnonzero(codes == k):
                problems.append(
                    ReadProblem(
                        "not_utf8",
                        f"{path.name} is not UTF-8: data row {i + 1}, variable {name} has byte "
                        f"0x{raw[exc.start:exc.start + 1].hex()} (probably Latin-1); "
                        f"re-export the file as UTF-8",
                        row=int(i) + 1,
                        column=name,
                        value=raw.decode("latin-1").strip()[:80],
                    )
                )
        out[name] = converted[codes]
    frame = pd.DataFrame(out, columns=names, dtype=object)
    frame.index = pd.RangeIndex(len(frame)).astype("int64")
    if len(frame) == 0:
        problems.append(ReadProblem("header_only", f"{path.name} defines variables but has no data rows"))
    return RawExport(path, frame, problems)


def inspect_export(path: str | Path) -> RawExport:
    """Read an export leniently: the text table plus every structural problem found.

    ``data`` is ``None`` when nothing usable could be read (missing, empty, not UTF-8,
    wrong delimiter, unreadable XPT); a header-only file gives an empty frame with its
    columns; ragged rows are left out of ``data`` (the other rows keep their row numbers).
    """
    path = Path(path)
    if not path.exists():
        return RawExport(path, None, [ReadProblem("file_missing", f"{path.name} does not exist ({path})")])
    suffix = path.suffix.lower()
    if suffix not in EXPORT_EXTENSIONS:
        return RawExport(
            path,
            None,
            [ReadProblem("file_format", f"{path.name}: unknown export format {suffix!r} (use .csv or .xpt)")],
        )
    if path.stat().st_size == 0:
        return RawExport(path, None, [ReadProblem("file_empty", f"{path.name} is empty (0 bytes)")])
    return _read_xpt(path) if suffix == ".xpt" else _read_csv(path)


def read_export(path: str | Path) -> pd.DataFrame:
    """Read an export as a table of text (``object`` dtype, ``None`` for an empty cell).

    Raises :class:`MalformedExport` (a ``UserError``) listing the problems if the file is
    missing, empty, has no data rows, is not comma-separated, is not UTF-8, has ragged rows
    or duplicated column names.
    """
    export = inspect_export(path)
    if export.problems or export.data is None:
        raise MalformedExport(Path(path), export.problems)
    return export.data
