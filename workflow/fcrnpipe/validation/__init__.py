"""Validation stage: raw exports -> typed tables + failures table + HTML report.

Entry points (one per Snakemake rule of workflow/rules/validate.smk):

* :func:`check_domain` (rule ``check_domain``): read one export, set aside the records the
  analysis does not use (:mod:`.usage`, one notice per code), apply the domain's pandera schema,
  frame rules and cross-domain checks to the used records, return the typed table and the
  findings (errors, warnings, notices). Never fails on bad data: problems are *recorded*.
* :func:`build_report` (rule ``validation_report``): merge the per-domain findings into
  ``failures.csv`` and render ``report.html``.
* :func:`gate` (rule ``validated``): raise :class:`~fcrnpipe.errors.ValidationFailed` with a short
  message if the domain has errors (warnings and notices pass), else return the typed table
  sorted by its key.

Typed table: the used records; the variables of
:data:`~fcrnpipe.validation.schemas.NUMERIC_VARIABLES` as float64, every other column as text
(``object`` dtype, ``None`` for missing), all columns of the export kept except refused direct
identifiers and ``BRTHDTC`` (read and checked, never written).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from fcrnpipe.errors import ValidationFailed
from fcrnpipe.rawio import RawExport, inspect_export
from fcrnpipe.units import UNIT_COLUMNS, load_unit_table
from fcrnpipe.validation.cross import cross_failures
from fcrnpipe.validation.failures import (
    FAILURE_COLUMNS,
    concat_failures,
    describe_failure,
    empty_failures,
    errors_only,
    failure_rows,
    read_failures,
    write_failures,
)
from fcrnpipe.validation.report import FileSummary, render_report, summarise, write_report
from fcrnpipe.validation.schemas import (
    DOMAINS,
    NUMERIC_VARIABLES,
    RULES,
    SEVERITY,
    SPECS,
    StudyRules,
    is_dropped,
    numbers,
    schema_failures,
    study_params,
)
from fcrnpipe.validation.usage import usage_findings

#: Domains whose checks use the unit table.
UNIT_DOMAINS = ("lb", "pc", "vs")

#: Columns the validated tables are sorted by (stable: file order within ties).
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "dm": ("USUBJID",),
    "ex": ("USUBJID", "EXSEQ"),
    "vs": ("USUBJID", "VSTESTCD", "VSDTC"),
    "lb": ("USUBJID", "LBSEQ"),
    "pc": ("USUBJID", "PCSEQ"),
    "qs": ("USUBJID", "QSTESTCD", "QSDTC"),
    "ae": ("USUBJID", "AESEQ"),
    "ds": ("USUBJID", "DSSCAT", "DSDECOD"),
}

__all__ = [
    "UNIT_DOMAINS",
    "DOMAINS",
    "FAILURE_COLUMNS",
    "NUMERIC_VARIABLES",
    "RULES",
    "SEVERITY",
    "SORT_KEYS",
    "SPECS",
    "FileSummary",
    "StudyRules",
    "build_report",
    "check_domain",
    "domain_findings",
    "export_name",
    "first_path",
    "gate",
    "read_failures",
    "sort_by_key",
    "study_params",
    "type_table",
    "validate_export",
    "write_failures",
    "write_report",
]


def first_path(value: Any) -> str | None:
    """A Snakemake input that may be a path or an empty list -> the path or ``None``."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return str(value[0]) if value else None
    text = str(value)
    return text or None


def export_name(domain: str, raw: str | None) -> str:
    """The file name quoted for ``domain``: the export's name, or ``<domain>.csv`` when missing."""
    return Path(raw).name if raw else f"{domain}.csv"


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


def sort_by_key(typed: pd.DataFrame, domain: str) -> pd.DataFrame:
    """Rows sorted by :data:`SORT_KEYS` of the domain (numbers numerically, missing first), stable."""
    key = [k for k in SORT_KEYS[domain] if k in typed.columns]
    if not key or typed.empty:
        return typed.reset_index(drop=True)
    return typed.sort_values(key, kind="mergesort", na_position="first").reset_index(drop=True)


def gate(
    domain: str,
    typed: pd.DataFrame,
    failures: pd.DataFrame,
    report: str,
    failures_csv: str,
) -> pd.DataFrame:
    """Stop on errors, else return the typed table sorted by key (warnings and notices pass).

    Raises :class:`ValidationFailed` with ``Validation failed for ae.csv: 3 error(s); see
    <report> and <failures_csv>. First: row 4, column AETOXGR (range): ...``.
    """
    errors = errors_only(failures)
    if len(errors):
        first = errors.iloc[0].to_dict()
        file = first.get("file") or export_name(domain, None)
        others = len(failures) - len(errors)
        also = f" (and {others} warning(s)/notice(s))" if others else ""
        raise ValidationFailed(
            f"Validation failed for {file}: {len(errors)} error(s){also}; see {report} and {failures_csv}. "
            f"First: {describe_failure(first)}"
        )
    return sort_by_key(typed, domain)


def build_report(
    domains: Sequence[str],
    files: Mapping[str, str],
    typed: Mapping[str, pd.DataFrame | None],
    failures: Mapping[str, pd.DataFrame],
    data_cut: str = "",
) -> tuple[pd.DataFrame, str]:
    """All findings (one sorted table) and the HTML report for the per-domain results."""
    summaries = [
        summarise(d, files.get(d, export_name(d, None)), typed.get(d), failures.get(d, empty_failures()))
        for d in domains
    ]
    merged = concat_failures(failures.get(d, empty_failures()) for d in domains)
    html = render_report(summaries, merged, RULES, data_cut=data_cut)
    return merged, html
