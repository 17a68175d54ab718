"""The heavy half of the validation stage: reading and checking one export (pandera, the frame
rules, the cross-domain checks). :mod:`fcrnpipe.validation` exposes these names lazily, so that
the gates and the report -- and the derive stage, which parses dates with
:mod:`fcrnpipe.validation.dates` -- do not import pandera.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from fcrnpipe.rawio import RawExport, inspect_export
from fcrnpipe.units import UNIT_COLUMNS, load_unit_table
from fcrnpipe.validation import UNIT_DOMAINS, export_name
from fcrnpipe.validation.cross import cross_failures
from fcrnpipe.validation.failures import concat_failures, empty_failures, failure_rows
from fcrnpipe.validation.schemas import (
    DOMAINS,
    NUMERIC_VARIABLES,
    SPECS,
    StudyRules,
    is_dropped,
    numbers,
    schema_failures,
)
from fcrnpipe.validation.usage import usage_findings


def type_table(df: pd.DataFrame | None) -> pd.DataFrame:
    """Typed copy of a text table: numeric SDTM variables float64, the rest text (``None`` = missing).

    Refused identifier columns and ``BRTHDTC`` are dropped; the index becomes 0..n-1 (file order
    kept). A value that is not a number becomes NaN (the schema has reported it).
    """
    if df is None:
        return pd.DataFrame()
    out = df[[c for c in df.columns if not is_dropped(c)]].copy().reset_index(drop=True)
    for col in out.columns:
        if col in NUMERIC_VARIABLES:
            out[col] = numbers(out[col]).astype("float64")
        else:
            s = out[col].astype(object)
            notna = s.notna()
            s = s.where(notna, None)
            if notna.any():
                s[notna] = s[notna].astype(str)
            out[col] = s.astype(object)
    return out


def _problem_failures(export: RawExport) -> pd.DataFrame:
    """The structural problems of an export (missing, not UTF-8, ragged rows, ...) as findings."""
    problems = export.problems
    if not problems:
        return empty_failures()
    frame = failure_rows(
        export.file,
        [None if p.row is None else p.row - 1 for p in problems],
        pd.Series([p.column for p in problems], dtype=object),
        "",
        pd.Series([p.value for p in problems], dtype=object),
        pd.Series([p.message for p in problems], dtype=object),
    )
    frame["check"] = [p.check for p in problems]
    return concat_failures([frame])


def domain_findings(
    domain: str, df: pd.DataFrame, file: str, units: pd.DataFrame, study: StudyRules | None = None
) -> tuple[pd.Series, pd.DataFrame]:
    """The single-domain findings of a text table: ``(used mask, set-aside notices + schema and frame rules)``.

    The cross-domain checks are not included (:func:`validate_export` adds them).
    """
    study = study or StudyRules()
    used, found = usage_findings(domain, df, units, study, file)
    return used, concat_failures([found, schema_failures(df[used.to_numpy()], domain, file, units, study)])


def validate_export(
    domain: str,
    export: RawExport,
    units: pd.DataFrame,
    dm: RawExport | None = None,
    ex: RawExport | None = None,
    study: StudyRules | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validate one export already read; return ``(typed table of the used records, findings)``.

    ``dm`` is needed for the cross-domain checks of every domain but DM, ``ex`` for the IgG
    baseline check of LB; pass ``None`` to skip them (or when they could not be read).
    """
    if domain not in SPECS:
        raise ValueError(f"unknown domain {domain!r} (known: {', '.join(DOMAINS)})")
    if domain in UNIT_DOMAINS and units.empty:
        raise ValueError(f"the checks of {domain.upper()} need the unit table")
    study = study or StudyRules()
    parts = [_problem_failures(export)]
    data = export.data
    if data is not None:
        used, found = domain_findings(domain, data, export.file, units, study)
        data = data[used.to_numpy()]
        parts.append(found)
        parts.append(
            cross_failures(
                domain,
                data,
                export.file,
                dm.data if dm is not None and domain != "dm" else None,
                ex.data if ex is not None else None,
                study,
                dm_file=dm.file if dm is not None else "dm",
                ex_file=ex.file if ex is not None else "ex",
            )
        )
    return type_table(data), concat_failures(parts)


def check_domain(
    domain: str,
    raw: str | None,
    expected: str,
    units: str | Path | None,
    dm: str | None = None,
    ex: str | None = None,
    study: Mapping[str, Any] | StudyRules | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read and validate the export of ``domain``; return ``(typed table, findings)``.

    ``raw`` is the export path or ``None`` when the data cut has none (then one
    ``file_missing`` failure names ``expected``). ``units`` is the unit table's path (needed by
    LB, PC and VS only; ``None`` for the others). ``dm``/``ex`` are the paths of the exports the
    cross checks need (``None`` to skip). ``study`` holds the config values the checks use
    (see :func:`~fcrnpipe.validation.schemas.study_params`). Bad data never raises.
    """
    rules = study if isinstance(study, StudyRules) else StudyRules.from_mapping(study)
    unit_table = load_unit_table(units) if units else pd.DataFrame(columns=UNIT_COLUMNS)
    if raw is None:
        name = export_name(domain, None)
        message = (
            f"the data cut has no {domain.upper()} export: expected {expected} "
            f"(or {Path(expected).with_suffix('.xpt').name})"
        )
        missing = failure_rows(name, [None], "", "file_missing", str(expected), message)
        return type_table(None), concat_failures([missing])
    export = inspect_export(raw)
    dm_export = inspect_export(dm) if dm and domain != "dm" else None
    ex_export = inspect_export(ex) if ex and domain == "lb" else None
    return validate_export(domain, export, unit_table, dm_export, ex_export, rules)
