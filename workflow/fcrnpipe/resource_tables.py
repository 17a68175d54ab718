"""The resource tables and their schemas: ``units.csv``, ``ctcae.csv``, ``reference_ranges.csv``.

A user may point ``config.yaml: resources_dir`` at their own tables, so a table that breaks its
contract is a :class:`~fcrnpipe.errors.UserError`, not a crash. Each table is read as text
(surrounding blanks stripped, extra columns such as ``source`` kept) and validated *lazily* against
its pandera schema (:func:`unit_schema`, :func:`ctcae_schema`, :func:`range_schema`), so one
error lists every broken rule, one line each, naming the file, the row (1 = the first data row,
as in the validation failures table), the column, the value and the rule::

    /data/units.csv, row 4, column factor: 'ten' is not a positive number (rule positive_number)

The rules are those of :data:`RULES`; :func:`check_standard_units` adds the one rule that needs
two tables (CTCAE thresholds and reference ranges in the unit table's standard unit). The loaders
that type the tables are :func:`fcrnpipe.units.load_unit_table`,
:func:`fcrnpipe.derive.grading.load_ctcae` and :func:`fcrnpipe.derive.grading.load_reference_ranges`.

pandera is imported when a schema is first built, not with this module: importing
:mod:`fcrnpipe.units` stays light for the jobs that never read a resource table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fcrnpipe.errors import UserError
from fcrnpipe.units import RESULT_TYPES, UNIT_DOMAINS, unit_key

if TYPE_CHECKING:
    import pandera.pandas as pa

#: Rule id -> what it requires (the ids appear in the messages as ``(rule <id>)``).
RULES: dict[str, str] = {
    "required_column": "the table has every column of its contract",
    "required_value": "the cell is not empty",
    "controlled_term": "the value is one of the listed terms",
    "positive_number": "a finite number above 0",
    "non_negative_integer": "a whole number, 0 or more",
    "number": "a finite number (or empty where the column may be empty)",
    "grade": "a whole number from 1 to 5 (CTCAE grade)",
    "threshold": "a finite number, or LLN (direction low) / ULN (direction high)",
    "unique_key": "no two rows share the table's key",
    "one_per_test": "the rows of one test agree on its standard unit, PARAMCD, result type and decimals",
    "range_order": "ANRLO is not above ANRHI",
    "standard_unit": "a threshold or range is in the standard unit of its parameter in units.csv",
}

#: Columns of the CTCAE table (one row per parameter, direction and grade).
CTCAE_COLUMNS = ["PARAMCD", "term", "direction", "grade", "threshold", "unit"]
DIRECTIONS = ("low", "high")
#: The normal-range limits a CTCAE threshold may name, by direction.
LIMIT_OF_DIRECTION = {"low": "LLN", "high": "ULN"}
#: Columns of the reference-range table (one row per parameter).
RANGE_COLUMNS = ["PARAMCD", "ANRLO", "ANRHI", "unit"]

#: Lines of a resource-table error shown before "... and N more".
MAX_LINES = 20


# ----------------------------------------------------------------------------- value tests
def numbers(s: pd.Series) -> pd.Series:
    """The finite numbers of a text column (NaN where empty, not a number, NaN or infinite).

    >>> numbers(pd.Series(["1", "0.5", "ten", "", "inf", "1e2"])).tolist()
    [1.0, 0.5, nan, nan, nan, 100.0]
    """
    x = pd.to_numeric(s, errors="coerce").astype("float64")
    return x.where(x.abs() != float("inf"))


def _column_check(rule: str, error: str, ok: Callable[[pd.Series], pd.Series]) -> pa.Check:
    """A check of one text column; empty cells pass (``required_value`` covers them)."""
    import pandera.pandas as pa

    return pa.Check(lambda s: ok(s) | (s == ""), name=rule, error=error)


def _required() -> pa.Check:
    import pandera.pandas as pa

    return pa.Check(lambda s: s != "", name="required_value", error="is empty; a value is required")


def _terms(terms: Sequence[str]) -> pa.Check:
    return _column_check("controlled_term", f"is not one of {', '.join(terms)}", lambda s: s.isin(terms))


def _frame_check(rule: str, columns: Sequence[str], error: str, ok: Callable[[pd.DataFrame], pd.Series]) -> pa.Check:
    """A check across columns: ``ok`` is True for the rows that pass; ``columns`` are shown as the
    failing row's column and value. Rows are not checked while a column of the rule is missing
    (``required_column`` reports it)."""
    import pandera.pandas as pa

    def check(df: pd.DataFrame) -> pd.Series:
        if not set(columns) <= set(df.columns):
            return pd.Series(True, index=df.index)
        return ok(df).reindex(df.index).fillna(True).astype(bool)

    return pa.Check(check, name=rule, error=error, statistics={"columns": tuple(columns)})


def _unique(
    columns: Sequence[str], error: str, normalise: Mapping[str, Callable[[pd.Series], pd.Series]] | None = None
) -> pa.Check:
    """``unique_key``: no two rows share ``columns`` (compared after ``normalise`` where given)."""
    how = normalise or {}

    def ok(df: pd.DataFrame) -> pd.Series:
        key = pd.DataFrame({c: how[c](df[c]) if c in how else df[c] for c in columns})
        return ~key.duplicated(keep=False)

    return _frame_check("unique_key", columns, error, ok)


def _schema(
    name: str, columns: Mapping[str, Sequence[pa.Check]], checks: Sequence[pa.Check] = ()
) -> pa.DataFrameSchema:
    import pandera.pandas as pa

    return pa.DataFrameSchema(
        {c: pa.Column(None, checks=list(col_checks), name=c) for c, col_checks in columns.items()},
        checks=list(checks),
        strict=False,
        name=name,
    )


# ----------------------------------------------------------------------------- the schemas
@cache
def unit_schema() -> pa.DataFrameSchema:
    """``units.csv``: one row per accepted (domain, test, reported unit); see :mod:`fcrnpipe.units`."""

    def one_per_test(column: str) -> pa.Check:
        def ok(df: pd.DataFrame) -> pd.Series:
            return df.groupby(["domain", "TESTCD"])[column].transform("nunique") <= 1

        return _frame_check(
            "one_per_test", [column], "differs between the rows of the same domain and TESTCD (one value per test)", ok
        )

    def positive(s: pd.Series) -> pd.Series:
        return numbers(s) > 0

    def non_negative_integer(s: pd.Series) -> pd.Series:
        x = numbers(s)
        return (x >= 0) & (x % 1 == 0)

    return _schema(
        "unit table",
        {
            "domain": [_required(), _terms(UNIT_DOMAINS)],
            "TESTCD": [_required()],
            "PARAMCD": [_required()],
            "PARAM": [],
            "unit": [_required()],
            "standard_unit": [_required()],
            "factor": [_required(), _column_check("positive_number", "is not a positive number", positive)],
            "result_type": [_required(), _terms(RESULT_TYPES)],
            "decimals": [
                _required(),
                _column_check("non_negative_integer", "is not a non-negative integer", non_negative_integer),
            ],
        },
        [
            _unique(
                ["domain", "TESTCD", "unit"],
                "is listed twice (units are compared case-insensitively, µ as u)",
                {"unit": unit_key},
            ),
            *(one_per_test(c) for c in ("standard_unit", "PARAMCD", "result_type", "decimals")),
        ],
    )


@cache
def ctcae_schema() -> pa.DataFrameSchema:
    """``ctcae.csv``: one row per (PARAMCD, direction, grade) with its threshold and unit."""

    def grade(s: pd.Series) -> pd.Series:
        x = numbers(s)
        return (x % 1 == 0) & (x >= 1) & (x <= 5)

    def threshold(s: pd.Series) -> pd.Series:
        return numbers(s).notna() | s.isin(LIMIT_OF_DIRECTION.values())

    def limit_matches_direction(df: pd.DataFrame) -> pd.Series:
        named = df["threshold"].isin(LIMIT_OF_DIRECTION.values())
        return ~named | (df["threshold"] == df["direction"].map(LIMIT_OF_DIRECTION))

    return _schema(
        "CTCAE table",
        {
            "PARAMCD": [_required()],
            "term": [],
            "direction": [_required(), _terms(DIRECTIONS)],
            "grade": [_required(), _column_check("grade", "is not an integer 1-5", grade)],
            "threshold": [_required(), _column_check("threshold", "is not a number, LLN or ULN", threshold)],
            "unit": [_required()],
        },
        [
            _frame_check(
                "threshold",
                ["threshold", "direction"],
                "names the wrong limit for its direction (LLN goes with low, ULN with high)",
                limit_matches_direction,
            ),
            _unique(["PARAMCD", "direction", "grade"], "is listed twice (one threshold per grade)"),
        ],
    )


@cache
def range_schema() -> pa.DataFrameSchema:
    """``reference_ranges.csv``: one row per PARAMCD, limits in its standard unit (either may be empty)."""

    def number(s: pd.Series) -> pd.Series:
        return numbers(s).notna()

    def ordered(df: pd.DataFrame) -> pd.Series:
        return ~(numbers(df["ANRLO"]) > numbers(df["ANRHI"]))

    return _schema(
        "reference-range table",
        {
            "PARAMCD": [_required()],
            "ANRLO": [_column_check("number", "is not a number", number)],
            "ANRHI": [_column_check("number", "is not a number", number)],
            "unit": [_required()],
        },
        [
            _unique(["PARAMCD"], "is listed twice (one range per parameter)"),
            _frame_check("range_order", ["ANRLO", "ANRHI"], "ANRLO is above ANRHI", ordered),
        ],
    )


# ----------------------------------------------------------------------------- reading
def _line(path: Path, row: int | None, column: str, value: str | None, error: str, rule: str) -> str:
    """``<path>, row <r>, column <c>: <value> <error> (rule <rule>)`` (``value`` already quoted)."""
    where = f"{path}" + (f", row {row}" if row is not None else "") + (f", column {column}" if column else "")
    what = f"{value} {error}" if value else error
    return f"{where}: {what} (rule {rule})"


def _shown(values: Sequence[str]) -> str:
    """A cell as ``'x'`` (nothing when empty), several as ``('LB', 'IGG', 'g/L')``."""
    if len(values) == 1:
        return repr(values[0]) if values[0] else ""
    return "(" + ", ".join(repr(v) for v in values) + ")"


def schema_problems(table: pd.DataFrame, schema: pa.DataFrameSchema, path: Path) -> list[str]:
    """One line per broken rule of ``schema`` in the text ``table`` read from ``path``, sorted by row.

    The rules are reported in three tiers, each only when the one before passes: missing columns
    (the other rules need the columns), then the cells, then the rules across columns or rows
    (a duplicate or a test whose rows disagree is judged on valid cells only).
    """
    from pandera.errors import SchemaErrors

    try:
        schema.validate(table, lazy=True)
    except SchemaErrors as exc:
        errors = exc.schema_errors
    else:
        return []
    missing = []
    found: list[tuple[int, int, str]] = []  # cell rules: (row, column order, line)
    across: list[tuple[int, int, str]] = []  # rules across columns or rows
    order = {c: i for i, c in enumerate(schema.columns)}
    for err in errors:
        reason = getattr(err.reason_code, "name", str(err.reason_code))
        cases = err.failure_cases
        if reason == "COLUMN_NOT_IN_DATAFRAME":
            missing.append(str(cases["failure_case"].iloc[0] if isinstance(cases, pd.DataFrame) else cases))
            continue
        check = err.check
        rule = getattr(check, "name", None) or "schema"
        error = getattr(check, "error", None) or RULES.get(rule, rule)
        if not isinstance(cases, pd.DataFrame) or "index" not in cases or cases["index"].isna().all():
            found.append((0, -1, _line(path, None, str(getattr(err.schema, "name", "") or ""), None, error, rule)))
            continue
        rows = pd.unique(pd.to_numeric(cases["index"].dropna()).astype("int64"))
        columns = list((getattr(check, "statistics", None) or {}).get("columns", ())) or [str(err.schema.name)]
        label = "+".join(columns)
        out = across if type(err.schema).__name__ == "DataFrameSchema" else found
        for i in rows:
            value = _shown([str(table.at[i, c]) for c in columns])
            out.append((int(i) + 1, order.get(columns[0], 99), _line(path, int(i) + 1, label, value, error, rule)))
    if missing:
        listed = ", ".join(sorted(missing, key=lambda c: order.get(c, 99)))
        return [_line(path, None, "", None, f"missing column(s) {listed}", "required_column")]
    return [line for _, _, line in sorted(found or across)]


def raise_problems(problems: Sequence[str], path: Path, what: str) -> None:
    """Raise one :class:`UserError` listing ``problems`` (at most :data:`MAX_LINES` of them)."""
    if not problems:
        return
    if len(problems) == 1:
        raise UserError(problems[0])
    shown = list(problems[:MAX_LINES])
    if len(problems) > MAX_LINES:
        shown.append(f"... and {len(problems) - MAX_LINES} more")
    raise UserError(f"{what} {path} breaks {len(problems)} rules of its schema:\n  " + "\n  ".join(shown))


def read_resource(path: str | Path, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Read the resource table at ``path`` as text and validate it against ``schema``.

    Returns every column as text (``""`` for an empty cell), surrounding blanks stripped, in file
    order. Raises :class:`UserError` if the file is missing or breaks a rule of ``schema``.
    """
    path = Path(path)
    what = str(schema.name)
    if not path.exists():
        raise UserError(f"{what} {path} does not exist")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{what} {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise UserError(f"{what} {path} is not a CSV table with a header row ({exc})") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    table = raw.fillna("").apply(lambda s: s.str.strip()) if len(raw.columns) else raw
    raise_problems(schema_problems(table, schema, path), path, what)
    return table


def check_standard_units(table: pd.DataFrame, std_units: Mapping[str, str], name: str) -> None:
    """Rule ``standard_unit``: every row of ``table`` (CTCAE or reference ranges) for a parameter in
    ``std_units`` (PARAMCD -> its standard unit in ``units.csv``) is in that unit.

    Raises :class:`UserError` naming ``name`` (the table's file), the rows and the units.
    """
    want = table["PARAMCD"].map(dict(std_units))
    bad = np.flatnonzero((want.notna() & (table["unit"] != want)).to_numpy())
    problems = [
        _line(
            Path(name), int(i) + 1, "unit", _shown([str(table["unit"].iloc[i])]),
            f"for {table['PARAMCD'].iloc[i]}, but the standard unit of {table['PARAMCD'].iloc[i]} in units.csv "
            f"is {want.iloc[i]!r}", "standard_unit",
        )
        for i in bad
    ]  # fmt: skip
    raise_problems(problems, Path(name), "table")
