"""One pandera schema per domain, plus the frame-level rules: the single-file rules of the contract.

The rules are those of docs/datasets.md, section 1. They apply to the records the analysis uses
(:mod:`fcrnpipe.validation.usage` sets the others aside with a notice): required variables,
numeric variables, controlled terms (CDISC codelists where SDTM has one, config values where the
terms are sponsor-defined), ranges, ISO 8601 dates (complete where the analysis needs a date,
partial where SDTM permits it and the analysis does not), the SDTMIG natural key with the timing
and qualifier variables that are present, ``--SEQ`` unique per subject, units known to the unit
table for the test, the form of ``LBORRES``/``PCORRES``. Columns that identify a person directly
are refused (``BRTHDTC`` is an SDTM variable: it is checked, then dropped from the typed table).
Extra columns are kept and never an error.

Every finding has a severity (:data:`SEVERITY`): ``error`` blocks the domain, ``warning`` is
reported and the run goes on, ``notice`` informs. Schemas validate the *text* table read by
:mod:`fcrnpipe.rawio` (every cell a ``str`` or ``None``) with ``lazy=True``; every check is a
vectorised function of a whole column or frame, so a domain of several hundred thousand rows
validates in seconds. :func:`schema_failures` returns the findings as rows of the failures table
(:mod:`fcrnpipe.validation.failures`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from fcrnpipe.keys import KEYS
from fcrnpipe.units import for_analyte, param_info, unit_key
from fcrnpipe.validation import terms as T
from fcrnpipe.validation.columns import matches, parse_numbers, upper
from fcrnpipe.validation.dates import iso_frame
from fcrnpipe.validation.failures import concat_failures, empty_failures, failure_rows, make_failures
from fcrnpipe.validation.rules import RULE_TABLE, RULES, SEVERITY, severity_of  # noqa: F401 (re-exported)
from fcrnpipe.validation.terms import not_assigned

#: Column names refused wherever they appear (compared upper-cased). BRTHDTC is not here: it is
#: an SDTM DM variable, read and checked, never written (see :data:`DROPPED_COLUMNS`).
DIRECT_IDENTIFIERS: frozenset[str] = frozenset(
    "NAME FIRSTNAME LASTNAME SURNAME PATNAME INITIALS INIT BIRTHDATE DOB ADDRESS STREET "
    "ZIP POSTCODE PHONE TELEPHONE EMAIL MRN".split()
)
#: SDTM variables read and checked but never written to any output (the typed tables drop them).
DROPPED_COLUMNS: frozenset[str] = frozenset({"BRTHDTC"})

#: SDTM variables typed as float64 in the validated tables (text everywhere else).
NUMERIC_VARIABLES: tuple[str, ...] = (
    "AGE",
    "EXSEQ",
    "EXDOSE",
    "VSORRES",
    "LBSEQ",
    "VISITNUM",
    "PCSEQ",
    "PCLLOQ",
    "AESEQ",
    "AETOXGR",
)

#: Default AEREL terms (``config.yaml: ae.related_terms`` + ``ae.unrelated_terms``).
AEREL_TERMS = ("RELATED", "POSSIBLY RELATED", "PROBABLY RELATED", "UNLIKELY RELATED", "NOT RELATED")
DEFAULT_TREATMENTS = ("BATOCLIMAB", "METHYLPREDNISOLONE", "PLACEBO")
PC_CENSORED_TERMS = T.PC_BLQ_TERMS
TITRE_WORDS = T.TITRE_WORDS

_NUM = r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER = re.compile(rf"^[+-]?{_NUM}$")
_CENSORED = re.compile(rf"^[<>](?P<num>{_NUM})$")
_TITRE = re.compile(r"^1:(?P<dil>[1-9]\d*)$")
_NUMBER_PAT = rf"[+-]?{_NUM}"
_CENSORED_PAT = rf"[<>]{_NUM}"
_TITRE_PAT = r"1:[1-9]\d*"

#: Date variables the analysis needs as complete dates (others may be partial where SDTM allows).
COMPLETE_DATES: frozenset[str] = frozenset(
    {"RFSTDTC", "RFENDTC", "RFPENDTC", "RFICDTC", "EXSTDTC", "EXENDTC", "VSDTC", "LBDTC", "PCDTC", "QSDTC", "DSSTDTC"}
)

@dataclass(frozen=True)
class DomainSpec:
    """The contract of one domain: required/optional variables, variables that may be empty,
    the variable naming the test (``code``), the sequence variable and the natural key (the last
    three from :data:`fcrnpipe.keys.KEYS`, the one home of the domain keys)."""

    domain: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    may_be_empty: frozenset[str] = frozenset()
    code: str | None = None
    seq: str | None = None
    base_key: tuple[str, ...] = ("USUBJID",)
    qualifiers: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, ...]:
        """The natural key when every qualifier is present (see :func:`key_columns`)."""
        return (*self.base_key, *self.qualifiers)


def _keys(domain: str) -> dict[str, Any]:
    """The key fields of ``domain``'s spec, from :data:`fcrnpipe.keys.KEYS` (their one home)."""
    k = KEYS[domain]
    return {"seq": k.seq, "base_key": k.base, "qualifiers": k.qualifiers}


SPECS: dict[str, DomainSpec] = {
    "dm": DomainSpec(
        "dm",
        **_keys("dm"),
        required=("STUDYID", "USUBJID", "SITEID", "AGE", "AGEU", "SEX", "ARMCD", "ARM", "RFSTDTC", "RFENDTC"),
        optional=("RACE", "ETHNIC", "COUNTRY", "RFICDTC", "RFPENDTC", "ARMNRS", "BRTHDTC", "ATTACK"),
        # ARMCD, ARM, RFSTDTC may be empty for subjects not assigned to an arm (rule not_assigned)
        may_be_empty=frozenset({"RFENDTC", "ARMCD", "ARM", "RFSTDTC"}),
    ),
    "ex": DomainSpec(
        "ex",
        **_keys("ex"),
        required=("USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXDOSU", "EXROUTE", "EXSTDTC", "VISIT"),
        optional=("EXENDTC",),
        code="EXTRT",
    ),
    "vs": DomainSpec(
        "vs",
        **_keys("vs"),
        required=("USUBJID", "VSTESTCD", "VSORRES", "VSORRESU", "VISIT", "VSDTC"),
        may_be_empty=frozenset({"VSORRES", "VSORRESU"}),
        code="VSTESTCD",
    ),
    "lb": DomainSpec(
        "lb",
        **_keys("lb"),
        required=(
            "USUBJID",
            "LBSEQ",
            "LBTESTCD",
            "LBORRES",
            "LBORRESU",
            "LBORNRLO",
            "LBORNRHI",
            "VISIT",
            "VISITNUM",
            "LBDTC",
        ),
        optional=("LBSPEC", "LBMETHOD", "LBSTAT", "LBREASND"),
        may_be_empty=frozenset({"LBORRES", "LBORRESU", "LBORNRLO", "LBORNRHI"}),
        code="LBTESTCD",
    ),
    "pc": DomainSpec(
        "pc",
        **_keys("pc"),
        required=("USUBJID", "PCSEQ", "PCTESTCD", "PCORRES", "PCORRESU", "PCLLOQ", "VISIT", "PCTPT", "PCDTC"),
        optional=("PCSPEC", "PCTPTNUM", "PCTPTREF"),
        may_be_empty=frozenset({"PCORRES"}),
        code="PCTESTCD",
    ),
    "qs": DomainSpec(
        "qs",
        **_keys("qs"),
        required=("USUBJID", "QSTESTCD", "QSORRES", "VISIT", "VISITNUM", "QSDTC"),
        optional=("QSCAT",),
        may_be_empty=frozenset({"QSORRES"}),
        code="QSTESTCD",
    ),
    "ae": DomainSpec(
        "ae",
        **_keys("ae"),
        # AETOXGR or AESEV: one of them is required (see severity_variable)
        required=(
            "USUBJID",
            "AESEQ",
            "AETERM",
            "AEDECOD",
            "AEBODSYS",
            "AESTDTC",
            "AEENDTC",
            "AESER",
            "AEREL",
            "AEACN",
        ),
        optional=("AETOXGR", "AESEV", "AEOUT"),
        # empty AEDECOD/AEBODSYS/AEREL/AEACN are warnings (value_missing), AEENDTC = ongoing
        may_be_empty=frozenset({"AEENDTC", "AEDECOD", "AEBODSYS", "AEREL", "AEACN", "AETOXGR", "AESEV"}),
    ),
    "ds": DomainSpec(
        "ds",
        **_keys("ds"),
        required=("USUBJID", "DSDECOD", "DSTERM", "DSSTDTC"),
        optional=("DSSCAT", "DSCAT", "EPOCH"),
        may_be_empty=frozenset({"DSSTDTC"}),
        code="DSDECOD",
    ),
}

DOMAINS: tuple[str, ...] = tuple(SPECS)
#: Variables whose partial dates the analysis accepts (imputed in ADAE).
PARTIAL_DATES: dict[str, frozenset[str]] = {"ae": frozenset({"AESTDTC", "AEENDTC"})}


@dataclass(frozen=True)
class StudyRules:
    """The configuration values the validation rules use (``config.yaml: study``, ``ae``, ``edss``).

    ``arms`` empty means ARMCD is not checked against a list. ``treatments`` are the accepted
    EXTRT (study drug, comedication, placebo); ``aerel_terms`` the accepted AEREL
    (``ae.related_terms`` + ``ae.unrelated_terms``).
    """

    arms: tuple[str, ...] = ()
    treatments: tuple[str, ...] = DEFAULT_TREATMENTS
    treatment: str = "BATOCLIMAB"
    pk_analyte: str = "BATOCLIM"
    efficacy_testcd: str = "EDSS"
    aerel_terms: tuple[str, ...] = AEREL_TERMS
    screening_window_days: int = 42
    followup_grace_days: int = 30

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> StudyRules:
        """Build from a (possibly partial) mapping, e.g. a rule's ``params.study``."""
        values = dict(values or {})
        for name in ("arms", "treatments", "aerel_terms"):
            if name in values:
                values[name] = tuple(values[name])
        return cls(**values)


def study_params(config: Mapping[str, Any], domain: str) -> dict[str, Any]:
    """The config values the checks of ``domain`` use (a rule's ``params``).

    Only what the domain's checks read is returned, so that changing e.g. the arms reruns the
    DM check only, and changing the study-period margins reruns the dated domains only.
    """
    study = config["study"]
    out: dict[str, Any] = {}
    if domain == "dm":
        out["arms"] = [arm["armcd"] for arm in study["arms"]]
    if domain == "ex":
        out["treatments"] = [study["treatment"], study["comedication"], study.get("placebo", "PLACEBO")]
    if domain == "lb":
        out["treatment"] = study["treatment"]
    if domain == "pc":
        out["pk_analyte"] = study["pk_analyte"]
    if domain == "qs":
        out["efficacy_testcd"] = config.get("edss", {}).get("qstestcd", "EDSS")
    if domain == "ae":
        ae = config["ae"]
        out["aerel_terms"] = list(dict.fromkeys([*ae["related_terms"], *ae.get("unrelated_terms", [])]))
    if domain in ("ex", "vs", "lb", "pc", "qs", "ae"):
        out["screening_window_days"] = int(study["screening_window_days"])
        out["followup_grace_days"] = int(study["followup_grace_days"])
    return out


# ----------------------------------------------------------------------------- value tests
def is_number(value: str) -> bool:
    """A plain decimal number (sign, decimals and exponent allowed; no NaN/inf, no spaces)."""
    return bool(_NUMBER.match(value))


def to_number(value: str | None) -> float | None:
    """The number in ``value`` or ``None`` when it is empty or not a number."""
    if value is None or not is_number(value):
        return None
    return float(value)


def is_censored(value: str) -> bool:
    """``<x`` or ``>x`` with ``x`` a non-negative number."""
    return bool(_CENSORED.match(value))


def is_titre(value: str) -> bool:
    """A titre ``1:N`` (N a positive integer) or ``NEGATIVE``/``POSITIVE`` (any case)."""
    return bool(_TITRE.match(value)) or value.upper() in TITRE_WORDS


def is_pc_result(value: str) -> bool:
    """A concentration as reported: a number, ``<LLOQ``, ``BLQ`` (any case, :data:`PC_CENSORED_TERMS`) or ``<x``."""
    return is_number(value) or value.upper() in PC_CENSORED_TERMS or (value.startswith("<") and is_censored(value))


def numbers(s: pd.Series) -> pd.Series:
    """The numbers of a text column (vectorised; NaN where empty or not a plain number)."""
    return parse_numbers(s, _NUMBER_PAT)


def _matches(s: pd.Series, pattern: str) -> pd.Series:
    """Boolean: the text matches ``pattern`` entirely (missing -> True, left to required_value)."""
    return matches(s, pattern, missing=True)


def _upper(s: pd.Series) -> pd.Series:
    return upper(s)


# ----------------------------------------------------------------------------- column checks
def _check(check_id: str, error: str, fn: Callable[[pd.Series], pd.Series]) -> pa.Check:
    """A vectorised check on a text column; empty cells pass (``required_value`` covers them)."""

    def wrapped(s: pd.Series) -> pd.Series:
        return fn(s).reindex(s.index).fillna(True).astype(bool) | s.isna()

    return pa.Check(wrapped, ignore_na=False, name=check_id, error=error)


def _numeric_check() -> pa.Check:
    return _check("numeric", "must be a number", lambda s: _matches(s, _NUMBER_PAT))


def _range_check(lo: float | None, hi: float | None, error: str, lo_open: bool = False) -> pa.Check:
    def within(s: pd.Series) -> pd.Series:
        x = numbers(s)
        bad = pd.Series(False, index=s.index)
        if lo is not None:
            bad |= (x <= lo) if lo_open else (x < lo)
        if hi is not None:
            bad |= x > hi
        return ~bad  # NaN comparisons are False: non-numbers are left to 'numeric'

    return _check("range", error, within)


def _integer_check() -> pa.Check:
    def whole(s: pd.Series) -> pd.Series:
        x = numbers(s)
        return x.isna() | (x % 1 == 0)

    return _check("integer", "must be a whole number", whole)


def _terms_check(terms: Iterable[str], check_id: str = "controlled_term", case_sensitive: bool = True) -> pa.Check:
    terms = tuple(terms)
    shown = ", ".join(terms) if len(terms) <= 12 else ", ".join(terms[:12]) + f", ... ({len(terms)} terms)"
    where = {"controlled_term": "", "cdisc_term": " (CDISC codelist, extensible: the value is kept)"}.get(check_id, "")
    error = f"must be one of: {shown}{where}" + ("" if case_sensitive else " (any case)")
    if case_sensitive:
        return _check(check_id, error, lambda s: s.isin(terms))
    upper = {t.upper() for t in terms}
    return _check(check_id, error, lambda s: _upper(s).isin(upper))


def _iso_check(allow_partial: bool) -> pa.Check:
    if allow_partial:
        error = "must be an ISO 8601 date: YYYY-MM-DD[Thh[:mm[:ss[.fff]]]], or partial YYYY-MM / YYYY / YYYY---DD"
    else:
        error = "must be a complete ISO 8601 date YYYY-MM-DD or date-time YYYY-MM-DDThh[:mm[:ss[.fff]]] (no partial date here: the analysis needs the day)"
    return _check("iso8601", error, lambda s: iso_frame(s, allow_partial=allow_partial)["ok"])


def _half_step_check(scale: str) -> pa.Check:
    def half(s: pd.Series) -> pd.Series:
        x = numbers(s)
        return x.isna() | ((2 * x) % 1 == 0)

    return _check("edss_half_step", f"must be a multiple of 0.5 ({scale} steps)", half)


def _aetoxgr_range() -> pa.Check:
    def grade(s: pd.Series) -> pd.Series:
        x = numbers(s)
        return x.isna() | ((x % 1 == 0) & (x >= 1) & (x <= 5))

    return _check("range", "must be an integer grade from 1 to 5 (CTCAE)", grade)


def _pc_form_check() -> pa.Check:
    def form(s: pd.Series) -> pd.Series:
        return _matches(s, _NUMBER_PAT) | _upper(s).isin(set(PC_CENSORED_TERMS)) | _matches(s, rf"<{_NUM}")

    return _check("result_form", "must be a number, <LLOQ, BLQ or <x (x the limit)", form)


def _pc_nonnegative() -> pa.Check:
    return _check("range", "a concentration must not be negative", lambda s: ~(numbers(s) < 0))


# ----------------------------------------------------------------------------- the schema
def severity_variable(columns: Iterable[str], ae: pd.DataFrame | None = None) -> str | None:
    """``AETOXGR`` when AE has CTCAE grades, else ``AESEV`` when present, else ``None``.

    AETOXGR counts as absent when the column is missing or entirely empty (an export that
    carries the variable but never collected it).
    """
    cols = set(columns)
    has_grade = "AETOXGR" in cols and (ae is None or ae["AETOXGR"].notna().any())
    if has_grade:
        return "AETOXGR"
    if "AESEV" in cols:
        return "AESEV"
    return "AETOXGR" if "AETOXGR" in cols else None


def _column_rules(domain: str, study: StudyRules, columns: Sequence[str]) -> dict[str, list[pa.Check]]:
    """The value checks of each variable of ``domain`` (applied to the used records)."""
    rules: dict[str, list[pa.Check]] = {}

    def add(col: str, *checks: pa.Check) -> None:
        rules.setdefault(col, []).extend(checks)

    spec = SPECS[domain]
    if spec.seq and (spec.seq in spec.required or spec.seq in columns):
        add(spec.seq, _numeric_check(), _integer_check())
    if domain == "dm":
        add("AGE", _numeric_check(), _range_check(0, 120, "must be between 0 and 120 years"))
        add("AGEU", _terms_check(T.AGEU))
        add("SEX", _terms_check(T.SEX))
        if study.arms:
            add("ARMCD", _armcd_check(study.arms))
    elif domain == "ex":
        add("EXTRT", _terms_check(study.treatments, case_sensitive=False))
        add("EXDOSE", _numeric_check(), _range_check(0, None, "must not be negative"))
        add("EXDOSU", _terms_check(T.EXDOSU, case_sensitive=False))
        add("EXROUTE", _terms_check(T.ROUTE, "cdisc_term", case_sensitive=False))
    elif domain == "vs":
        add("VSORRES", _numeric_check())
    elif domain == "lb":
        add("LBORNRLO", _numeric_check())
        add("LBORNRHI", _numeric_check())
    elif domain == "pc":
        add("PCORRES", _pc_form_check(), _pc_nonnegative())
        add("PCLLOQ", _numeric_check(), _range_check(0, None, "must be a positive number", lo_open=True))
    elif domain == "qs":
        scale = study.efficacy_testcd
        add(
            "QSORRES",
            _numeric_check(),
            _range_check(0, 10, f"{scale} must be between 0 and 10"),
            _half_step_check(scale),
        )
    elif domain == "ae":
        sev = severity_variable(columns)
        if sev == "AETOXGR":
            add("AETOXGR", _numeric_check(), _aetoxgr_range())
        if "AESEV" in columns:
            add("AESEV", _terms_check(T.AESEV, case_sensitive=False))
        add("AESER", _terms_check(T.NY, case_sensitive=False))
        add("AEREL", _terms_check(study.aerel_terms, case_sensitive=False))
        add("AEACN", _terms_check(T.ACN, case_sensitive=False))
    elif domain == "ds":
        add("DSDECOD", _terms_check(T.NCOMPLT, "cdisc_term", case_sensitive=False))
        add("DSSCAT", _terms_check(T.DSSCAT, case_sensitive=False))
    return rules


def _armcd_check(arms: Sequence[str]) -> pa.Check:
    """ARMCD: a configured arm (exact) or a not-assigned code (SCRNFAIL, NOTASSGN; any case)."""
    arms = tuple(arms)
    error = f"must be one of: {', '.join(arms)} (config study.arms), or {', '.join(T.NOT_ASSIGNED_ARMCD)} for subjects not assigned to an arm"
    return _check("controlled_term", error, lambda s: s.isin(arms) | _upper(s).isin(set(T.NOT_ASSIGNED_ARMCD)))


def domain_schema(domain: str, study: StudyRules | None = None, columns: Iterable[str] = ()) -> pa.DataFrameSchema:
    """The pandera schema of ``domain`` for a text table with ``columns`` (the used records).

    ``columns`` (the columns actually present) lets the schema add the rules that apply to
    extra columns: any ``--DTC`` variable must be ISO 8601 (complete for :data:`COMPLETE_DATES`,
    partial allowed otherwise except where the analysis needs the day) and any variable of
    :data:`NUMERIC_VARIABLES` (e.g. ``VISITNUM``) must be numeric. Extra columns are allowed.
    Uniqueness is not part of the schema: see :func:`key_failures`.
    """
    spec = SPECS[domain]
    study = study or StudyRules()
    columns = list(columns)
    rules = _column_rules(domain, study, columns)
    partial = PARTIAL_DATES.get(domain, frozenset())
    for col in dict.fromkeys([*spec.required, *spec.optional, *columns]):
        if col.endswith("DTC") and not any(c.name == "iso8601" for c in rules.get(col, [])):
            allow = col in partial or col not in COMPLETE_DATES
            rules.setdefault(col, []).append(_iso_check(allow))
        if col in NUMERIC_VARIABLES and not any(c.name == "numeric" for c in rules.get(col, [])):
            rules.setdefault(col, []).append(_numeric_check())
    required = list(spec.required)
    if domain == "ae":
        sev = severity_variable(columns)
        required.append(sev or "AETOXGR")
    schema_columns: dict[str, pa.Column] = {}
    for col in dict.fromkeys([*required, *spec.optional, *rules]):
        is_required = col in required
        nullable = not is_required or col in spec.may_be_empty
        schema_columns[col] = pa.Column(
            None, checks=rules.get(col, []), nullable=nullable, required=is_required, name=col
        )
    return pa.DataFrameSchema(schema_columns, strict=False, name=domain)


# ----------------------------------------------------------------------------- failures
def identifier_failures(columns: Iterable[str], file: str) -> list[dict[str, Any]]:
    """One ``direct_identifier`` failure per refused column (the values are never quoted)."""
    return [
        {
            "file": file,
            "column": col,
            "check": "direct_identifier",
            "value": col,
            "message": f"column {col} identifies a person directly and is refused; remove it from the export",
        }
        for col in columns
        if is_direct_identifier(col)
    ]


def is_direct_identifier(column: str) -> bool:
    """``True`` for a refused column name (case-insensitive, surrounding blanks ignored)."""
    return column.strip().upper() in DIRECT_IDENTIFIERS


def is_dropped(column: str) -> bool:
    """``True`` for a column the typed tables leave out (refused identifiers and :data:`DROPPED_COLUMNS`)."""
    name = column.strip().upper()
    return name in DIRECT_IDENTIFIERS or name in DROPPED_COLUMNS


def quote(values: pd.Series) -> pd.Series:
    """``'value'`` as Python's repr quotes it (each distinct value once)."""
    codes, uniques = pd.factorize(values.astype(object).where(values.notna(), ""))
    quoted = np.array([repr(str(u)) for u in uniques], dtype=object)
    return pd.Series(quoted[codes] if len(codes) else [], index=values.index, dtype=object)


def value_messages(column: str, values: pd.Series, error: str | pd.Series) -> pd.Series:
    """``COL is 'value': <error>`` (``COL is empty: <error>`` for an empty cell), vectorised.

    The values of :data:`DROPPED_COLUMNS` (BRTHDTC) are never quoted: ``COL (value not shown): <error>``.
    """
    text = values.astype(object).where(values.notna(), "").astype(str)
    err = error if isinstance(error, pd.Series) else pd.Series(error, index=values.index)
    if column.upper() in DROPPED_COLUMNS:
        return (f"{column} (value not shown): " + err.astype(str)).astype(object)
    filled = f"{column} is " + quote(text) + ": " + err.astype(str)
    empty = f"{column} is empty: " + err.astype(str)
    return filled.where(text != "", empty)


def _schema_error_failures(err: Any, df: pd.DataFrame, file: str, domain: str, required: Sequence[str]) -> pd.DataFrame:
    """Rows of the failures table for one pandera ``SchemaError`` (vectorised over its failure cases)."""
    reason = getattr(err.reason_code, "name", str(err.reason_code))
    cases = err.failure_cases
    if reason == "COLUMN_NOT_IN_DATAFRAME":
        if isinstance(cases, pd.DataFrame):
            col = str(cases["failure_case"].iloc[0])
        elif isinstance(cases, pd.Series):
            col = str(cases.iloc[0])
        else:
            col = str(cases)
        also = " (or AESEV, severity mild/moderate/severe)" if domain == "ae" and col == "AETOXGR" else ""
        return make_failures(
            [
                {
                    "file": file,
                    "column": col,
                    "check": "required_column",
                    "value": "",
                    "message": f"required column {col}{also} is missing from {file} "
                    f"(required in {domain.upper()}: {', '.join(required)})",
                }
            ]
        )
    if reason == "SERIES_CONTAINS_NULLS":
        col = err.schema.name
        rows = pd.Index(pd.to_numeric(cases["index"]).astype("int64"))
        return failure_rows(file, rows, col, "required_value", "", f"{col} is empty; a value is required")
    check = err.check
    if reason in ("DATAFRAME_CHECK", "CHECK_ERROR") and check is not None:
        col = err.schema.name
        name = getattr(check, "name", str(check))
        error = getattr(check, "error", None) or name
        cases = cases[cases["index"].notna()]
        rows = pd.Index(pd.to_numeric(cases["index"]).astype("int64"))
        values = df.loc[rows, col] if col in df.columns else cases["failure_case"]
        values = pd.Series(values.to_numpy(dtype=object), index=rows)
        return failure_rows(file, rows, col, name, values.where(values.notna(), ""), value_messages(col, values, error))
    # anything else pandera may report (should not happen with these schemas)
    return make_failures(
        [
            {
                "file": file,
                "column": str(getattr(err.schema, "name", "") or ""),
                "check": "required_column",
                "value": "",
                "message": str(err).splitlines()[0],
            }
        ]
    )


# ----------------------------------------------------------------------------- frame rules
def key_columns(domain: str, columns: Iterable[str]) -> tuple[str, ...]:
    """The natural key of ``domain`` given the columns present (absent qualifiers are left out)."""
    cols = set(columns)
    spec = SPECS[domain]
    return tuple(c for c in (*spec.base_key, *spec.qualifiers) if c in cols or c in spec.base_key)


def _row_lists(rows: pd.Series, groups: pd.Series, limit: int = 5) -> pd.Series:
    """Per row: the 1-based rows of its group, ``"3, 7, 12 and 4 more"`` (linear in the rows)."""
    order = np.lexsort((rows.to_numpy(), groups.to_numpy()))
    g_sorted = groups.to_numpy()[order]
    r_sorted = rows.to_numpy()[order] + 1
    rank = pd.Series(g_sorted).groupby(g_sorted).cumcount().to_numpy()
    shown = pd.DataFrame({"g": g_sorted[rank < limit], "r": r_sorted[rank < limit].astype(str)})
    joined = shown.groupby("g", sort=False)["r"].agg(", ".join)
    sizes = pd.Series(g_sorted).value_counts()
    more = (" and " + (sizes - limit).astype(str) + " more").where(sizes > limit, "")
    return (groups.map(joined) + groups.map(more)).astype(object)


def duplicate_failures(df: pd.DataFrame, key: Sequence[str], file: str, what: str = "key") -> pd.DataFrame:
    """``unique_key``: every row whose ``key`` values are shared with another row (vectorised).

    The message names the other rows (at most 5, then how many more). Empty cells are compared
    as empty text.
    """
    key = [k for k in key if k in df.columns]
    if not key or df.empty:
        return empty_failures()
    values = df[key].astype(object).where(df[key].notna(), "").astype(str)
    dup = values.duplicated(keep=False)
    if not dup.any():
        return empty_failures()
    sub = values[dup]
    groups = sub.groupby(key, sort=False, dropna=False).ngroup()
    rows = pd.Series(sub.index.to_numpy(), index=sub.index)
    lists = _row_lists(rows, groups)
    shown = sub[key[0]]
    for k in key[1:]:
        shown = shown + ", " + sub[k]
    label = "+".join(key)
    messages = f"{what} {label} = (" + shown + ") is not unique: rows " + lists
    return failure_rows(file, sub.index, label, "unique_key", shown, messages)


def key_failures(domain: str, df: pd.DataFrame, file: str) -> pd.DataFrame:
    """Natural-key duplicates and ``--SEQ`` duplicates within a subject (used records)."""
    spec = SPECS[domain]
    parts = []
    key = list(key_columns(domain, df.columns))
    data = df
    if domain == "ds" and "DSSCAT" in df.columns:
        # a disposition event without DSSCAT is an end-of-study record (as ADSL reads it)
        data = df.assign(DSSCAT=_upper(df["DSSCAT"]).fillna(T.DSSCAT[1]).astype(object))
    if all(k in df.columns for k in spec.base_key):
        parts.append(duplicate_failures(data, key, file))
    if spec.seq and spec.seq in df.columns and "USUBJID" in df.columns:
        parts.append(duplicate_failures(df, ["USUBJID", spec.seq], file, what="sequence number"))
    return concat_failures(parts)


def _rows_with(df: pd.DataFrame, mask: pd.Series) -> pd.Index:
    return df.index[mask.fillna(False).to_numpy(dtype=bool)]


def unit_failures(
    df: pd.DataFrame,
    file: str,
    testcd: str,
    result: str,
    unit: str,
    units: pd.DataFrame,
    unit_domain: str,
    unit_may_be_empty: bool,
) -> pd.DataFrame:
    """``unit_known``: the unit is listed for the record's test (case-insensitive); ``required_value``:
    a unit is given when there is a result (vectorised)."""  # fmt: skip
    if not {testcd, unit} <= set(df.columns):
        return empty_failures()
    sub = units[units["domain"] == unit_domain]
    accepted = pd.MultiIndex.from_arrays([sub["TESTCD"].to_numpy(), unit_key(sub["unit"]).to_numpy()])
    pairs = pd.MultiIndex.from_arrays([df[testcd].to_numpy(dtype=object), unit_key(df[unit]).to_numpy()])
    known_test = df[testcd].isin(set(sub["TESTCD"]))
    bad = df[unit].notna() & known_test & ~pd.Series(pairs.isin(accepted), index=df.index)
    parts = []
    if bad.any():
        rows = _rows_with(df, bad)
        listed = sub.groupby("TESTCD")["unit"].agg(lambda u: ", ".join(sorted(u)))
        tests = df.loc[rows, testcd]
        errors = "not a unit of " + tests.astype(str) + " in the unit table (accepted: " + tests.map(listed) + ")"
        values = df.loc[rows, unit]
        parts.append(failure_rows(file, rows, unit, "unit_known", values, value_messages(unit, values, errors)))
    if unit_may_be_empty and result in df.columns:
        missing = df[unit].isna() & df[result].notna()
        if missing.any():
            rows = _rows_with(df, missing)
            msg = f"{unit} is empty: a unit is required when {result} has a value"
            parts.append(failure_rows(file, rows, unit, "required_value", "", msg))
    return concat_failures(parts)


def lb_result_failures(df: pd.DataFrame, file: str, units: pd.DataFrame) -> pd.DataFrame:
    """``result_form``: LBORRES has the form of the test's ``result_type`` (vectorised)."""
    if not {"LBTESTCD", "LBORRES"} <= set(df.columns):
        return empty_failures()
    info = param_info(units, "LB").set_index("TESTCD")["result_type"]
    kind = df["LBTESTCD"].map(info)
    res = df["LBORRES"]
    titre_ok = _matches(res, _TITRE_PAT) | _upper(res).isin(set(TITRE_WORDS))
    numeric_ok = _matches(res, _NUMBER_PAT) | _matches(res, _CENSORED_PAT)
    bad = res.notna() & (((kind == "titre") & ~titre_ok) | ((kind == "numeric") & ~numeric_ok))
    if not bad.any():
        return empty_failures()
    rows = _rows_with(df, bad)
    tests = df.loc[rows, "LBTESTCD"].astype(str)
    errors = ("not a titre result for " + tests + " (expected 1:N, NEGATIVE or POSITIVE)").where(
        kind[rows] == "titre", "not a numeric result for " + tests + " (expected a number, <x or >x)"
    )
    values = df.loc[rows, "LBORRES"]
    return failure_rows(file, rows, "LBORRES", "result_form", values, value_messages("LBORRES", values, errors))


def plausibility_failures(
    df: pd.DataFrame, file: str, testcd: str, result: str, unit: str, units: pd.DataFrame, unit_domain: str
) -> pd.DataFrame:
    """``plausibility`` warnings: numeric results outside :data:`~fcrnpipe.validation.terms.PLAUSIBLE`
    (compared in the standard unit; unknown units are left to ``unit_known``)."""
    ranges = {t: r for (d, t), r in T.PLAUSIBLE.items() if d == unit_domain}
    if not ranges or not {testcd, result, unit} <= set(df.columns):
        return empty_failures()
    sub = units[units["domain"] == unit_domain]
    factors = pd.Series(
        sub["factor"].to_numpy(), index=pd.MultiIndex.from_arrays([sub["TESTCD"], unit_key(sub["unit"])])
    )
    std = sub.drop_duplicates("TESTCD").set_index("TESTCD")["standard_unit"]
    keys = pd.MultiIndex.from_arrays([df[testcd].to_numpy(dtype=object), unit_key(df[unit]).to_numpy()])
    factor = pd.Series(factors.reindex(keys).to_numpy(), index=df.index)
    value = numbers(df[result]) * factor
    lo = df[testcd].map({t: r[0] for t, r in ranges.items()})
    hi = df[testcd].map({t: r[1] for t, r in ranges.items()})
    bad = value.notna() & lo.notna() & ((value < lo) | (value > hi))
    if not bad.any():
        return empty_failures()
    rows = _rows_with(df, bad)
    t = df.loc[rows, testcd].astype(str)
    su = t.map(std).astype(str)
    errors = (
        "implausible "
        + t
        + " ("
        + value[rows].map("{:.4g}".format)
        + " "
        + su
        + "; plausible "
        + lo[rows].map("{:g}".format)
        + "-"
        + hi[rows].map("{:g}".format)
        + " "
        + su
        + "): check the value and its unit"
    )
    values = df.loc[rows, result]
    return failure_rows(file, rows, result, "plausibility", values, value_messages(result, values, errors))


def _dm_required_failures(df: pd.DataFrame, file: str, unassigned: pd.Series) -> list[pd.DataFrame]:
    """``required_value`` errors: ARMCD, ARM or RFSTDTC empty for a subject assigned to an arm."""
    parts = []
    for col in ("ARMCD", "ARM", "RFSTDTC"):
        if col in df.columns:
            missing = df[col].isna() & ~unassigned
            if missing.any():
                rows = _rows_with(df, missing)
                msg = f"{col} is empty; a value is required (empty only for subjects not assigned to an arm: ARMCD SCRNFAIL/NOTASSGN or ARMNRS)"
                parts.append(failure_rows(file, rows, col, "required_value", "", msg))
    return parts


def _dm_date_order_failures(df: pd.DataFrame, file: str) -> list[pd.DataFrame]:
    """``date_order`` errors: RFENDTC before RFSTDTC (earliest start after latest end for
    partial dates)."""
    if not {"RFSTDTC", "RFENDTC"} <= set(df.columns):
        return []
    a = iso_frame(df["RFSTDTC"])
    b = iso_frame(df["RFENDTC"])
    bad = a["first"].notna() & b["last"].notna() & (a["first"] > b["last"])
    if not bad.any():
        return []
    rows = _rows_with(df, bad)
    errors = "before RFSTDTC " + df.loc[rows, "RFSTDTC"].astype(str) + "; RFENDTC must be on or after RFSTDTC"
    values = df.loc[rows, "RFENDTC"]
    return [failure_rows(file, rows, "RFENDTC", "date_order", values, value_messages("RFENDTC", values, errors))]


def _dm_not_assigned_notice(df: pd.DataFrame, file: str, unassigned: pd.Series) -> list[pd.DataFrame]:
    """The ``not_assigned`` notice: how many subjects are not assigned to an arm, by ARMCD (or
    ARMNRS when ARMCD is empty)."""
    n = int(unassigned.sum())
    if not n:
        return []
    codes = _upper(df.loc[unassigned, "ARMCD"]).fillna("") if "ARMCD" in df.columns else pd.Series("", index=df.index)
    if "ARMNRS" in df.columns:
        codes = codes.where(codes != "", _upper(df.loc[unassigned, "ARMNRS"]).fillna(""))
    counts = codes.value_counts().sort_index()
    listed = ", ".join(f"{c or '(empty)'}: {k}" for c, k in counts.items())
    notice = {
        "file": file,
        "column": "ARMCD",
        "check": "not_assigned",
        "value": str(n),
        "message": f"{n} subject(s) not assigned to an arm ({listed}) stay in DM and leave the "
        "analysis sets; they are counted in the disposition table",
    }
    return [make_failures([notice])]


def dm_failures(df: pd.DataFrame, file: str) -> pd.DataFrame:
    """DM frame rules: ARMCD/ARM/RFSTDTC required for assigned subjects; RFSTDTC <= RFENDTC;
    the ``not_assigned`` and ``identifier_dropped`` notices."""
    unassigned = not_assigned(df)
    parts = _dm_required_failures(df, file, unassigned)
    parts += _dm_date_order_failures(df, file)
    parts += _dm_not_assigned_notice(df, file, unassigned)
    if "BRTHDTC" in df.columns:
        parts.append(
            make_failures(
                [
                    {
                        "file": file,
                        "column": "BRTHDTC",
                        "check": "identifier_dropped",
                        "value": "BRTHDTC",
                        "message": "BRTHDTC is checked (ISO 8601, partial allowed) and left out of every output; "
                        "AGE is used",
                    }
                ]
            )
        )
    return concat_failures(parts)


def ae_failures(df: pd.DataFrame, file: str) -> pd.DataFrame:
    """AE frame rules: empty AEDECOD/AEBODSYS/AEREL/AEACN (warnings), the severity variable
    (AETOXGR required per record when used; AESEV otherwise, with a notice)."""
    parts = []
    for col, shown in (
        ("AEDECOD", "reported as 'Not coded'"),
        ("AEBODSYS", "reported as 'Not coded'"),
        ("AEREL", "counted as not related (RELFL empty)"),
        ("AEACN", "not counted as leading to discontinuation (DISCFL empty)"),
    ):
        if col in df.columns and df[col].isna().any():
            rows = _rows_with(df, df[col].isna())
            parts.append(failure_rows(file, rows, col, "value_missing", "", f"{col} is empty: {shown}"))
    sev = severity_variable(df.columns, df)
    if sev is not None and sev in df.columns and df[sev].isna().any():
        rows = _rows_with(df, df[sev].isna())
        parts.append(failure_rows(file, rows, sev, "required_value", "", f"{sev} is empty; a value is required"))
    if sev == "AESEV":
        parts.append(
            make_failures(
                [
                    {
                        "file": file,
                        "column": "AESEV",
                        "check": "severity_scale",
                        "value": "AESEV",
                        "message": "AE has no CTCAE grade (AETOXGR absent or empty): severity AESEV (MILD, MODERATE, "
                        "SEVERE) is analysed instead and labelled as severity in tables and figures",
                    }
                ]
            )
        )
    return concat_failures(parts)


def frame_failures(domain: str, df: pd.DataFrame, file: str, units: pd.DataFrame, study: StudyRules) -> pd.DataFrame:
    """The cross-column rules of ``domain`` on its used records (keys, units, result forms, ...)."""
    parts = [key_failures(domain, df, file)]
    spec = SPECS[domain]
    if domain == "dm":
        parts.append(dm_failures(df, file))
    elif domain == "ae":
        parts.append(ae_failures(df, file))
    elif domain in ("vs", "lb", "pc"):
        prefix = domain.upper()
        table = for_analyte(units, study.pk_analyte) if domain == "pc" else units
        testcd, result, unit = f"{prefix}TESTCD", f"{prefix}ORRES", f"{prefix}ORRESU"
        parts.append(unit_failures(df, file, testcd, result, unit, table, prefix, unit in spec.may_be_empty))
        if domain == "lb":
            parts.append(lb_result_failures(df, file, table))
        if domain != "pc":
            parts.append(plausibility_failures(df, file, testcd, result, unit, table, prefix))
    return concat_failures(parts)


def schema_failures(
    df: pd.DataFrame,
    domain: str,
    file: str,
    units: pd.DataFrame,
    study: StudyRules | None = None,
) -> pd.DataFrame:
    """Validate the text table of ``domain`` (its used records, lazily) and return its failures.

    Refused identifier columns give one ``direct_identifier`` failure each and are not
    validated further. The frame's index must be the 0-based data row (as
    :func:`fcrnpipe.rawio.inspect_export` returns it). The records the analysis does not use
    must already be left out (:func:`fcrnpipe.validation.usage.used_records`).
    """
    study = study or StudyRules()
    parts = [make_failures(identifier_failures(df.columns, file))]
    data = df[[c for c in df.columns if not is_direct_identifier(c)]]
    schema = domain_schema(domain, study, columns=data.columns)
    required = [name for name, col in schema.columns.items() if col.required]
    try:
        schema.validate(data, lazy=True)
    except SchemaErrors as exc:
        for err in exc.schema_errors:
            parts.append(_schema_error_failures(err, data, file, domain, required))
    parts.append(frame_failures(domain, data, file, units, study))
    out = concat_failures(parts)
    hidden = out["column"].str.upper().isin(DROPPED_COLUMNS) & (out["check"] != "identifier_dropped")
    out.loc[hidden, "value"] = ""  # BRTHDTC is never written, not even when it is wrong
    return out
