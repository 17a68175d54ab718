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
from importlib import import_module
from pathlib import Path
from typing import Any

import pandas as pd

from fcrnpipe.errors import ValidationFailed
from fcrnpipe.validation.failures import (
    FAILURE_COLUMNS,
    concat_failures,
    describe_failure,
    empty_failures,
    errors_only,
    read_failures,
    write_failures,
)
from fcrnpipe.validation.report import FileSummary, render_report, summarise, write_report
from fcrnpipe.validation.rules import RULES, SEVERITY

#: Domains whose checks use the unit table.
UNIT_DOMAINS = ("lb", "pc", "vs")
#: Names loaded on first use (they need pandera): name -> module.
_LAZY: dict[str, str] = {
    **{n: "fcrnpipe.validation.stage" for n in ("check_domain", "domain_findings", "type_table", "validate_export")},
    **{
        n: "fcrnpipe.validation.schemas"
        for n in ("DOMAINS", "NUMERIC_VARIABLES", "SPECS", "StudyRules", "study_params")
    },
}


def __getattr__(name: str) -> Any:
    """The heavy names of :data:`_LAZY`, imported on first use (PEP 562)."""
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
