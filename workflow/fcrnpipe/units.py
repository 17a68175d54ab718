"""The unit table (``resources/units.csv``): accepted units per test and conversion factors.

One row per accepted (domain, test code, reported unit): ``domain (LB|PC|VS), TESTCD, PARAMCD,
PARAM, unit, standard_unit, factor, result_type (numeric|titre), decimals``.
Value in the standard unit = reported value x ``factor`` (docs/datasets.md, section 2).

Units are matched case-insensitively (``LB`` = ``lb``, ``titer`` = ``TITER``; the table lists the
CDISC spellings), with the micro sign written ``u`` (``µg/mL`` = ``ug/mL``): see :func:`unit_key`.
The PK analyte has no row of its own: the ``PC`` rows with ``TESTCD`` ``*`` are the accepted
concentration units of whatever analyte ``config.yaml: study.pk_analyte`` names, and
:func:`for_analyte` turns them into rows of that analyte.

Typical use::

    table = load_unit_table("resources/units.csv")
    aval, avalu = standardise(df["LBORRES_NUM"], df["LBTESTCD"], df["LBORRESU"], table, domain="LB")
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fcrnpipe.errors import UserError

UNIT_COLUMNS = [
    "domain",
    "TESTCD",
    "PARAMCD",
    "PARAM",
    "unit",
    "standard_unit",
    "factor",
    "result_type",
    "decimals",
]
RESULT_TYPES = ("numeric", "titre")
UNIT_DOMAINS = ("LB", "PC", "VS")
#: TESTCD (and PARAMCD) of the unit-table rows that apply to the configured PK analyte.
ANY_ANALYTE = "*"
#: The repository's unit table (the default of ``config.yaml: resources_dir``).
UNIT_TABLE = Path(__file__).resolve().parents[2] / "resources" / "units.csv"


def unit_key(units: pd.Series) -> pd.Series:
    """Units as compared: stripped, upper-cased, micro sign (``µ``/``μ``) as ``U``; missing stays missing."""
    s = units.astype("string").str.strip().str.replace("[µμ]", "u", regex=True).str.upper()
    return s.astype(object).where(s.notna(), None)


def for_analyte(table: pd.DataFrame, analyte: str) -> pd.DataFrame:
    """The unit table with its analyte-generic PC rows (``TESTCD`` ``*``) made rows of ``analyte``.

    Explicit PC rows of ``analyte`` (a table written before the generic rows existed) win: the
    generic rows are then dropped. Other domains are unchanged.

    >>> t = pd.DataFrame({"domain": ["PC"], "TESTCD": ["*"], "PARAMCD": ["*"], "PARAM": ["Concentration (mg/L)"],
    ...                   "unit": ["ug/mL"], "standard_unit": ["mg/L"], "factor": [1.0], "result_type": ["numeric"],
    ...                   "decimals": [3]})
    >>> for_analyte(t, "BATO")[["TESTCD", "PARAMCD", "PARAM"]].iloc[0].tolist()
    ['BATO', 'BATO', 'BATO concentration (mg/L)']
    """
    generic = (table["domain"] == "PC") & (table["TESTCD"] == ANY_ANALYTE)
    explicit = (table["domain"] == "PC") & (table["TESTCD"] == analyte)
    if explicit.any() or not generic.any():
        return table[~generic].reset_index(drop=True)
    out = table.copy()
    out.loc[generic, "TESTCD"] = analyte
    out.loc[generic, "PARAMCD"] = analyte
    out.loc[generic, "PARAM"] = [
        f"{analyte} {p[0].lower()}{p[1:]}" if p else f"{analyte} concentration" for p in out.loc[generic, "PARAM"]
    ]
    return out.sort_values(["domain", "TESTCD", "unit"], kind="mergesort").reset_index(drop=True)


def load_unit_table(path: str | Path) -> pd.DataFrame:
    """Load and check the unit table.

    Returns one row per (domain, TESTCD, unit) with ``factor`` as float64 and ``decimals`` as
    int64, everything else text, sorted by domain, TESTCD, unit. The table is validated against
    :func:`fcrnpipe.resource_tables.unit_schema` (missing column, empty cell, factor not a
    positive number, decimals not a non-negative integer, unknown domain/result_type, duplicated
    (domain, TESTCD, unit), a test whose rows disagree on standard unit, PARAMCD, result type or
    decimals): a broken rule raises ``UserError`` naming the file, row, column and rule.
    """
    # imported here: resource_tables builds on this module's vocabulary (UNIT_DOMAINS, unit_key)
    from fcrnpipe.resource_tables import read_resource, unit_schema

    table = read_resource(path, unit_schema())[UNIT_COLUMNS].copy()
    table["factor"] = pd.to_numeric(table["factor"]).astype("float64")
    table["decimals"] = pd.to_numeric(table["decimals"]).astype("int64")
    return table.sort_values(["domain", "TESTCD", "unit"], kind="mergesort").reset_index(drop=True)


def _subset(table: pd.DataFrame, domain: str | None) -> pd.DataFrame:
    return table if domain is None else table[table["domain"] == domain.upper()]


def known_tests(table: pd.DataFrame, domain: str | None = None) -> list[str]:
    """Sorted test codes of ``domain`` (``LB``, ``PC``, ``VS``; all domains if ``None``)."""
    return sorted(_subset(table, domain)["TESTCD"].unique().tolist())


def accepted_units(table: pd.DataFrame, testcd: str, domain: str | None = None) -> list[str]:
    """Sorted units accepted for ``testcd`` as the table spells them (empty list for an unknown test)."""
    sub = _subset(table, domain)
    return sorted(sub.loc[sub["TESTCD"] == testcd, "unit"].tolist())


def result_type(table: pd.DataFrame, testcd: str, domain: str | None = None) -> str | None:
    """``numeric`` or ``titre`` for a known test, ``None`` for an unknown one."""
    sub = _subset(table, domain)
    types = sub.loc[sub["TESTCD"] == testcd, "result_type"].unique()
    return str(types[0]) if len(types) else None


def param_info(table: pd.DataFrame, domain: str | None = None) -> pd.DataFrame:
    """One row per test: ``domain, TESTCD, PARAMCD, PARAM, standard_unit, result_type, decimals``."""
    cols = ["domain", "TESTCD", "PARAMCD", "PARAM", "standard_unit", "result_type", "decimals"]
    return _subset(table, domain)[cols].drop_duplicates(["domain", "TESTCD"]).reset_index(drop=True)


def _as_series(x: object, index: pd.Index, name: str) -> pd.Series:
    if isinstance(x, pd.Series):
        return x.reindex(index) if not x.index.equals(index) else x
    if np.ndim(x) == 0:
        return pd.Series([x] * len(index), index=index, name=name, dtype=object)
    return pd.Series(list(x), index=index, name=name, dtype=object)  # type: ignore[call-overload]


def standardise(
    values: pd.Series | list[float] | float,
    testcd: pd.Series | list[str] | str,
    unit: pd.Series | list[str] | str,
    table: pd.DataFrame,
    domain: str | None = None,
) -> tuple[pd.Series, pd.Series]:
    """Convert reported numbers to the standard unit of their test.

    ``values`` are numbers (NaN allowed) in ``unit``; ``testcd``/``unit`` are per value or one
    scalar for all; units are matched with :func:`unit_key` (case-insensitive). Returns
    ``(values_std, std_unit)`` aligned with ``values``: float64 values (reported x factor, not
    rounded) and the standard unit as text. A missing value keeps NaN
    but still gets its standard unit. A (test, unit) pair not in the table raises ``UserError``
    listing the unknown pairs (validated data never has one).

    >>> t = load_unit_table(UNIT_TABLE)  # the repository's table
    >>> v, u = standardise(pd.Series([1050.0]), "IGG", "mg/dL", t)
    >>> v.tolist(), u.tolist()
    ([10.5], ['g/L'])
    """
    if isinstance(values, pd.Series):
        vals = pd.to_numeric(values, errors="coerce").astype("float64")
    else:
        vals = pd.Series(np.atleast_1d(np.asarray(values, dtype="float64")))
    index = vals.index
    tests = _as_series(testcd, index, "TESTCD").astype(object)
    units = _as_series(unit, index, "unit").astype(object)
    sub = _subset(table, domain)
    lookup = sub.assign(unit=unit_key(sub["unit"])).set_index(["TESTCD", "unit"])[["factor", "standard_unit"]]
    keys = pd.MultiIndex.from_arrays([tests.to_numpy(), unit_key(units).to_numpy()], names=["TESTCD", "unit"])
    found = lookup.reindex(keys)
    unknown = found["factor"].isna().to_numpy()
    if unknown.any():
        pairs = sorted({(str(t), str(u)) for t, u, bad in zip(tests, units, unknown) if bad})
        listed = ", ".join(f"{t} in {u!r}" for t, u in pairs[:10])
        where = f" ({domain})" if domain else ""
        raise UserError(f"no conversion in the unit table{where} for: {listed}")
    factor = found["factor"].to_numpy(dtype="float64")
    values_std = pd.Series(vals.to_numpy() * factor, index=index, dtype="float64")
    std_unit = pd.Series(found["standard_unit"].to_numpy(), index=index, dtype=object)
    return values_std, std_unit
