"""One pandera schema per domain: the single-file rules of the raw-data contract.

The rules are those of docs/datasets.md, section 1: required variables, numeric variables,
controlled terms, ranges, ISO 8601 dates (partial only in ``AESTDTC``/``AEENDTC``; empty only
where the contract allows), unique keys, units known to the unit table for the test, the form
of ``LBORRES`` allowed by the test's ``result_type`` and the form of ``PCORRES``. Columns that
identify a person directly are refused. Extra columns are kept and never an error.

Schemas validate the *text* table read by :mod:`fcrnpipe.rawio` (every cell a ``str`` or
``None``) with ``lazy=True``, so every failure is collected; :func:`schema_failures` turns
pandera's ``SchemaErrors`` into rows of the failures table
(:mod:`fcrnpipe.validation.failures`) whose ``check`` is one of the rule ids in :data:`RULES`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from fcrnpipe.units import known_tests, result_type
from fcrnpipe.validation.dates import parse_iso
from fcrnpipe.validation.failures import make_failures

#: Rule ids of the failures table and what each checks (shown in the validation report).
RULES: dict[str, str] = {
    "file_missing": "the data cut has an export for the domain (<domain>.csv or <domain>.xpt)",
    "file_empty": "the export is not empty (0 bytes or blank)",
    "header_only": "the export has at least one data row",
    "wrong_delimiter": "CSV exports are comma-separated (not ';', tab or '|')",
    "not_utf8": "the export is UTF-8 encoded",
    "csv_syntax": "the CSV is syntactically valid (quotes balanced)",
    "ragged_row": "every CSV row has as many fields as the header",
    "duplicate_column": "no column name appears twice (names compared upper-cased)",
    "column_name": "every header column has a name",
    "xpt_unreadable": "a .xpt export is a readable SAS transport file",
    "file_format": "the export is .csv or .xpt",
    "direct_identifier": "no column identifies a person directly (NAME, INITIALS, BRTHDTC, ...)",
    "required_column": "every required variable of the domain is present",
    "required_value": "required variables are not empty (except where the contract allows it)",
    "numeric": "numeric variables (AGE, --SEQ, EXDOSE, VSORRES, VISITNUM, PCLLOQ, AETOXGR, ...) are numbers",
    "integer": "sequence numbers (--SEQ) are whole numbers",
    "range": "AGE 0-120, EXDOSE >= 0, PCORRES >= 0, PCLLOQ > 0, EDSS 0-10, AETOXGR integer 1-5",
    "edss_half_step": "EDSS scores are multiples of 0.5",
    "controlled_term": "coded variables use the contract's controlled terms (SEX, EXTRT, AEREL, DSDECOD, ARMCD, ...)",
    "iso8601": "dates are ISO 8601 (YYYY-MM-DD[Thh:mm[:ss]]); partial dates only in AESTDTC/AEENDTC",
    "date_order": "RFSTDTC is on or before RFENDTC",
    "unique_key": "the domain's key identifies one row",
    "test_known": "test codes (LBTESTCD, PCTESTCD, VSTESTCD) are listed in the unit table",
    "unit_known": "units are listed in the unit table for the test (and given when there is a result)",
    "result_form": "LBORRES has the form allowed by the test's result_type; PCORRES is a number, <LLOQ, BLQ or <x",
    "orphan_subject": "every USUBJID exists in DM",
    "exposure_after_rfstdtc": "exposure (EXSTDTC) is on or after RFSTDTC (date part)",
    "date_in_study_period": "dates lie in [RFSTDTC - screening window, RFENDTC + follow-up grace]",
    "baseline_igg": "each treated subject has a non-missing IgG on or before the first dose",
}

#: Column names refused wherever they appear (compared upper-cased).
DIRECT_IDENTIFIERS: frozenset[str] = frozenset(
    "NAME FIRSTNAME LASTNAME SURNAME PATNAME INITIALS INIT BRTHDTC BIRTHDATE DOB ADDRESS STREET "
    "ZIP POSTCODE PHONE TELEPHONE EMAIL MRN".split()
)

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

AEREL_TERMS = ("RELATED", "POSSIBLY RELATED", "PROBABLY RELATED", "UNLIKELY RELATED", "NOT RELATED")
AEACN_TERMS = (
    "DRUG WITHDRAWN",
    "DOSE NOT CHANGED",
    "DOSE REDUCED",
    "DRUG INTERRUPTED",
    "NOT APPLICABLE",
    "UNKNOWN",
)
DSDECOD_TERMS = (
    "COMPLETED",
    "ADVERSE EVENT",
    "WITHDRAWAL BY SUBJECT",
    "LOST TO FOLLOW-UP",
    "PHYSICIAN DECISION",
    "DEATH",
    "OTHER",
)
DSSCAT_TERMS = ("STUDY TREATMENT", "STUDY PARTICIPATION")
EXROUTE_TERMS = ("SUBCUTANEOUS", "INTRAVENOUS", "ORAL")
DEFAULT_TREATMENTS = ("BATOCLIMAB", "METHYLPREDNISOLONE")
PC_CENSORED_TERMS = ("<LLOQ", "BLQ")
TITRE_WORDS = ("NEGATIVE", "POSITIVE")

_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_CENSORED = re.compile(r"^[<>](?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$")
_TITRE = re.compile(r"^1:(?P<dil>[1-9]\d*)$")


@dataclass(frozen=True)
class DomainSpec:
    """The contract of one domain: key, required/optional variables, variables that may be empty."""

    domain: str
    key: tuple[str, ...]
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    may_be_empty: frozenset[str] = frozenset()
    partial_dates: frozenset[str] = frozenset()


SPECS: dict[str, DomainSpec] = {
    "dm": DomainSpec(
        "dm",
        key=("USUBJID",),
        required=("STUDYID", "USUBJID", "SITEID", "AGE", "AGEU", "SEX", "ARMCD", "ARM", "RFSTDTC", "RFENDTC"),
        optional=("RACE", "ETHNIC", "COUNTRY", "RFICDTC", "ATTACK"),
        may_be_empty=frozenset({"RFENDTC"}),
    ),
    "ex": DomainSpec(
        "ex",
        key=("USUBJID", "EXSEQ"),
        required=("USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXDOSU", "EXROUTE", "EXSTDTC", "VISIT"),
        optional=("EXENDTC",),
    ),
    "vs": DomainSpec(
        "vs",
        key=("USUBJID", "VSTESTCD", "VSDTC"),
        required=("USUBJID", "VSTESTCD", "VSORRES", "VSORRESU", "VISIT", "VSDTC"),
        may_be_empty=frozenset({"VSORRES", "VSORRESU"}),
    ),
    "lb": DomainSpec(
        "lb",
        key=("USUBJID", "LBSEQ"),
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
        optional=("LBSPEC", "LBMETHOD"),
        may_be_empty=frozenset({"LBORRES", "LBORRESU", "LBORNRLO", "LBORNRHI"}),
    ),
    "pc": DomainSpec(
        "pc",
        key=("USUBJID", "PCSEQ"),
        required=("USUBJID", "PCSEQ", "PCTESTCD", "PCORRES", "PCORRESU", "PCLLOQ", "VISIT", "PCTPT", "PCDTC"),
        optional=("PCSPEC",),
        may_be_empty=frozenset({"PCORRES"}),
    ),
    "qs": DomainSpec(
        "qs",
        key=("USUBJID", "QSTESTCD", "QSDTC"),
        required=("USUBJID", "QSTESTCD", "QSORRES", "VISIT", "VISITNUM", "QSDTC"),
        may_be_empty=frozenset({"QSORRES"}),
    ),
    "ae": DomainSpec(
        "ae",
        key=("USUBJID", "AESEQ"),
        required=(
            "USUBJID",
            "AESEQ",
            "AETERM",
            "AEDECOD",
            "AEBODSYS",
            "AESTDTC",
            "AEENDTC",
            "AETOXGR",
            "AESER",
            "AEREL",
            "AEACN",
        ),
        optional=("AEOUT",),
        may_be_empty=frozenset({"AEENDTC"}),
        partial_dates=frozenset({"AESTDTC", "AEENDTC"}),
    ),
    "ds": DomainSpec(
        "ds",
        key=("USUBJID", "DSSCAT", "DSDECOD"),
        required=("USUBJID", "DSDECOD", "DSTERM", "DSSTDTC"),
        optional=("DSSCAT", "DSCAT"),
        may_be_empty=frozenset({"DSSTDTC"}),
    ),
}

DOMAINS: tuple[str, ...] = tuple(SPECS)


@dataclass(frozen=True)
class StudyRules:
    """The configuration values the validation rules use (``config.yaml: study``).

    ``arms`` empty means ARMCD is not checked against a list.
    """

    arms: tuple[str, ...] = ()
    treatments: tuple[str, ...] = DEFAULT_TREATMENTS
    treatment: str = "BATOCLIMAB"
    screening_window_days: int = 42
    followup_grace_days: int = 30

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> StudyRules:
        """Build from a (possibly partial) mapping, e.g. a rule's ``params.study``."""
        values = dict(values or {})
        for name in ("arms", "treatments"):
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
        out["treatments"] = [study["treatment"], study["comedication"]]
    if domain == "lb":
        out["treatment"] = study["treatment"]
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
    """A titre ``1:N`` (N a positive integer) or ``NEGATIVE``/``POSITIVE``."""
    return bool(_TITRE.match(value)) or value in TITRE_WORDS


def is_pc_result(value: str) -> bool:
    """A concentration as reported: a number, ``<LLOQ``, ``BLQ`` or ``<x``."""
    return is_number(value) or value in PC_CENSORED_TERMS or (value.startswith("<") and is_censored(value))


# ----------------------------------------------------------------------------- checks
def _element(check_id: str, error: str, fn: Callable[[str], bool]) -> pa.Check:
    """An element-wise check on text values; empty cells are left to ``required_value``."""
    return pa.Check(fn, element_wise=True, ignore_na=True, name=check_id, error=error)


def _numeric_check() -> pa.Check:
    return _element("numeric", "must be a number", is_number)


def _range_check(lo: float | None, hi: float | None, error: str, lo_open: bool = False) -> pa.Check:
    def within(value: str) -> bool:
        x = to_number(value)
        if x is None:
            return True  # reported by 'numeric'
        if lo is not None and (x <= lo if lo_open else x < lo):
            return False
        return hi is None or x <= hi

    return _element("range", error, within)


def _integer_check() -> pa.Check:
    def whole(value: str) -> bool:
        x = to_number(value)
        return x is None or x.is_integer()

    return _element("integer", "must be a whole number", whole)


def _terms_check(terms: Iterable[str]) -> pa.Check:
    terms = tuple(terms)
    return pa.Check.isin(terms, name="controlled_term", error=f"must be one of: {', '.join(terms)}")


def _iso_check(allow_partial: bool) -> pa.Check:
    if allow_partial:
        error = "must be an ISO 8601 date: YYYY-MM-DD[Thh:mm[:ss]], or partial YYYY-MM / YYYY"
    else:
        error = (
            "must be an ISO 8601 date YYYY-MM-DD or date-time YYYY-MM-DDThh:mm[:ss] (no partial dates here)"
        )
    return _element("iso8601", error, lambda v: parse_iso(v, allow_partial=allow_partial) is not None)


def _half_step_check() -> pa.Check:
    def half(value: str) -> bool:
        x = to_number(value)
        return x is None or (2 * x).is_integer()

    return _element("edss_half_step", "must be a multiple of 0.5 (EDSS steps)", half)


def _aetoxgr_range() -> pa.Check:
    def grade(value: str) -> bool:
        x = to_number(value)
        return x is None or (x.is_integer() and 1 <= x <= 5)

    return _element("range", "must be an integer grade from 1 to 5 (CTCAE)", grade)


def _pc_form_check() -> pa.Check:
    return _element("result_form", "must be a number, <LLOQ, BLQ or <x (x the limit)", is_pc_result)


def _pc_nonnegative() -> pa.Check:
    def nonneg(value: str) -> bool:
        x = to_number(value)
        return x is None or x >= 0

    return _element("range", "a concentration must not be negative", nonneg)


@dataclass
class _FrameCheck:
    """A dataframe-level (cross-column) check and the column it blames."""

    check_id: str
    column: str
    fn: Callable[[pd.DataFrame], pd.Series]
    error: str | Callable[[pd.DataFrame], pd.Series] = ""
    needs: tuple[str, ...] = field(default_factory=tuple)

    def to_pandera(self) -> pa.Check:
        needs = self.needs

        def wrapped(df: pd.DataFrame) -> pd.Series:
            if any(col not in df.columns for col in needs):
                return pd.Series(True, index=df.index)
            return self.fn(df).astype(bool)

        check = pa.Check(wrapped, ignore_na=False, name=self.check_id, error=self.check_id)
        check.frame_check = self  # type: ignore[attr-defined]
        return check


def _unit_checks(
    domain: str, testcd: str, result: str, unit: str, units: pd.DataFrame, unit_may_be_empty: bool
) -> list[_FrameCheck]:
    """Units listed in the unit table for the row's test (and given when there is a result).

    When the unit column is not allowed to be empty at all, the schema's not-null rule
    reports empty units, so the "given when there is a result" check is left out.
    """
    sub = units[units["domain"] == domain.upper()]
    accepted = {(t, u) for t, u in zip(sub["TESTCD"], sub["unit"])}
    tests = set(sub["TESTCD"])

    def unit_ok(df: pd.DataFrame) -> pd.Series:
        ok = [t not in tests or u is None or (t, u) in accepted for t, u in zip(df[testcd], df[unit])]
        return pd.Series(ok, index=df.index)

    def unit_given(df: pd.DataFrame) -> pd.Series:
        return ~(df[unit].isna() & df[result].notna())

    def unit_message(df: pd.DataFrame) -> pd.Series:
        msgs = []
        for t in df[testcd]:
            listed = sorted(sub.loc[sub["TESTCD"] == t, "unit"])
            msgs.append(f"not a unit of {t} in the unit table (accepted: {', '.join(listed)})")
        return pd.Series(msgs, index=df.index)

    checks = [_FrameCheck("unit_known", unit, unit_ok, unit_message, needs=(testcd, unit))]
    if unit_may_be_empty:
        checks.append(
            _FrameCheck(
                "required_value",
                unit,
                unit_given,
                f"a unit is required when {result} has a value",
                needs=(unit, result),
            )
        )
    return checks


def _lb_result_form(units: pd.DataFrame) -> _FrameCheck:
    types = {t: result_type(units, t, "LB") for t in known_tests(units, "LB")}

    def form_ok(df: pd.DataFrame) -> pd.Series:
        ok = []
        for t, v in zip(df["LBTESTCD"], df["LBORRES"]):
            kind = types.get(t)
            if v is None or kind is None:
                ok.append(True)
            elif kind == "titre":
                ok.append(is_titre(v))
            else:
                ok.append(is_number(v) or is_censored(v))
        return pd.Series(ok, index=df.index)

    def message(df: pd.DataFrame) -> pd.Series:
        msgs = []
        for t in df["LBTESTCD"]:
            if types.get(t) == "titre":
                msgs.append(f"not a titre result for {t} (expected 1:N, NEGATIVE or POSITIVE)")
            else:
                msgs.append(f"not a numeric result for {t} (expected a number, <x or >x)")
        return pd.Series(msgs, index=df.index)

    return _FrameCheck("result_form", "LBORRES", form_ok, message, needs=("LBTESTCD", "LBORRES"))


def _dm_date_order() -> _FrameCheck:
    def ordered(df: pd.DataFrame) -> pd.Series:
        ok = []
        for start, end in zip(df["RFSTDTC"], df["RFENDTC"]):
            a, b = parse_iso(start), parse_iso(end)
            ok.append(a is None or b is None or a.first <= b.last)
        return pd.Series(ok, index=df.index)

    def message(df: pd.DataFrame) -> pd.Series:
        return pd.Series(
            [f"before RFSTDTC {s}; RFENDTC must be on or after RFSTDTC" for s in df["RFSTDTC"]],
            index=df.index,
        )

    return _FrameCheck("date_order", "RFENDTC", ordered, message, needs=("RFSTDTC", "RFENDTC"))


def _column_rules(domain: str, units: pd.DataFrame, study: StudyRules) -> dict[str, list[pa.Check]]:
    """The value checks of each variable of ``domain``."""
    rules: dict[str, list[pa.Check]] = {}

    def add(col: str, *checks: pa.Check) -> None:
        rules.setdefault(col, []).extend(checks)

    for seq in ("EXSEQ", "LBSEQ", "PCSEQ", "AESEQ"):
        if seq.startswith(domain.upper()):
            add(seq, _numeric_check(), _integer_check())
    if domain == "dm":
        add("AGE", _numeric_check(), _range_check(0, 120, "must be between 0 and 120 years"))
        add("AGEU", _terms_check(["YEARS"]))
        add("SEX", _terms_check(["F", "M", "U"]))
        if study.arms:
            add("ARMCD", _terms_check(study.arms))
    elif domain == "ex":
        add("EXTRT", _terms_check(study.treatments))
        add("EXDOSE", _numeric_check(), _range_check(0, None, "must not be negative"))
        add("EXDOSU", _terms_check(["mg"]))
        add("EXROUTE", _terms_check(EXROUTE_TERMS))
    elif domain == "vs":
        add("VSTESTCD", _test_known(units, "VS"))
        add("VSORRES", _numeric_check())
    elif domain == "lb":
        add("LBTESTCD", _test_known(units, "LB"))
        add("LBORNRLO", _numeric_check())
        add("LBORNRHI", _numeric_check())
    elif domain == "pc":
        add("PCTESTCD", _test_known(units, "PC"))
        add("PCORRES", _pc_form_check(), _pc_nonnegative())
        add("PCLLOQ", _numeric_check(), _range_check(0, None, "must be a positive number", lo_open=True))
    elif domain == "qs":
        add("QSTESTCD", _terms_check(["EDSS"]))
        add(
            "QSORRES",
            _numeric_check(),
            _range_check(0, 10, "EDSS must be between 0 and 10"),
            _half_step_check(),
        )
    elif domain == "ae":
        add("AETOXGR", _numeric_check(), _aetoxgr_range())
        add("AESER", _terms_check(["Y", "N"]))
        add("AEREL", _terms_check(AEREL_TERMS))
        add("AEACN", _terms_check(AEACN_TERMS))
    elif domain == "ds":
        add("DSDECOD", _terms_check(DSDECOD_TERMS))
        add("DSSCAT", _terms_check(DSSCAT_TERMS))
    return rules


def _test_known(units: pd.DataFrame, unit_domain: str) -> pa.Check:
    tests = known_tests(units, unit_domain)
    return pa.Check.isin(
        tests,
        name="test_known",
        error=f"not a {unit_domain} test code of the unit table (known: {', '.join(tests)})",
    )


def frame_checks(domain: str, units: pd.DataFrame) -> list[_FrameCheck]:
    """The cross-column checks of ``domain`` (units, LBORRES form, RFSTDTC <= RFENDTC)."""
    if domain == "dm":
        return [_dm_date_order()]
    spec = SPECS[domain]
    if domain == "vs":
        return _unit_checks("VS", "VSTESTCD", "VSORRES", "VSORRESU", units, "VSORRESU" in spec.may_be_empty)
    if domain == "lb":
        return [
            *_unit_checks("LB", "LBTESTCD", "LBORRES", "LBORRESU", units, "LBORRESU" in spec.may_be_empty),
            _lb_result_form(units),
        ]
    if domain == "pc":
        return _unit_checks("PC", "PCTESTCD", "PCORRES", "PCORRESU", units, "PCORRESU" in spec.may_be_empty)
    return []


def key_columns(domain: str, columns: Iterable[str]) -> tuple[str, ...]:
    """The unique key of ``domain`` given the columns present (DS: DSDECOD alone without DSSCAT)."""
    key = SPECS[domain].key
    if domain == "ds" and "DSSCAT" not in set(columns):
        return ("USUBJID", "DSDECOD")
    return key


def domain_schema(
    domain: str,
    units: pd.DataFrame,
    study: StudyRules | None = None,
    columns: Iterable[str] = (),
) -> pa.DataFrameSchema:
    """The pandera schema of ``domain`` for a text table with ``columns``.

    ``columns`` (the columns actually present) lets the schema add the rules that apply to
    extra columns: any other ``--DTC`` variable must be ISO 8601 and any other variable of
    :data:`NUMERIC_VARIABLES` (e.g. ``VISITNUM``) must be numeric. Extra columns are allowed.
    """
    spec = SPECS[domain]
    study = study or StudyRules()
    columns = list(columns)
    rules = _column_rules(domain, units, study)
    for col in [*spec.required, *spec.optional, *columns]:
        if col.endswith("DTC") and not any(c.name == "iso8601" for c in rules.get(col, [])):
            rules.setdefault(col, []).append(_iso_check(col in spec.partial_dates))
        if col in NUMERIC_VARIABLES and not any(c.name == "numeric" for c in rules.get(col, [])):
            rules.setdefault(col, []).append(_numeric_check())
    schema_columns: dict[str, pa.Column] = {}
    for col in dict.fromkeys([*spec.required, *spec.optional, *rules]):
        required = col in spec.required
        nullable = not required or col in spec.may_be_empty
        schema_columns[col] = pa.Column(
            None, checks=rules.get(col, []), nullable=nullable, required=required, name=col
        )
    key = key_columns(domain, columns)
    unique = list(key) if key and all(k in columns for k in key) else None
    return pa.DataFrameSchema(
        schema_columns,
        checks=[fc.to_pandera() for fc in frame_checks(domain, units)],
        unique=unique,
        report_duplicates="all",
        strict=False,
        name=domain,
    )


# ----------------------------------------------------------------------------- failures
def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


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


def _value_message(column: str, value: str, error: str) -> str:
    """``COL is 'value': <error>`` (or ``COL is empty: <error>``)."""
    return f"{column} is {value!r}: {error}" if value else f"{column} is empty: {error}"


def _schema_error_rows(err: Any, df: pd.DataFrame, file: str, domain: str) -> list[dict[str, Any]]:
    """Rows of the failures table for one pandera ``SchemaError``."""
    reason = getattr(err.reason_code, "name", str(err.reason_code))
    cases = err.failure_cases
    if reason == "COLUMN_NOT_IN_DATAFRAME":
        if isinstance(cases, pd.DataFrame):
            col = _text(cases["failure_case"].iloc[0])
        elif isinstance(cases, pd.Series):
            col = _text(cases.iloc[0])
        else:
            col = _text(cases)
        return [
            {
                "file": file,
                "column": col,
                "check": "required_column",
                "value": "",
                "message": f"required column {col} is missing from {file} "
                f"(required in {domain.upper()}: {', '.join(SPECS[domain].required)})",
            }
        ]
    if reason == "DUPLICATES":
        key = list(key_columns(domain, df.columns))
        rows = sorted({int(i) for i in cases["index"]})
        out = []
        groups = df.loc[rows, key].astype(object).where(df.loc[rows, key].notna(), "")
        for idx in rows:
            values = tuple(groups.loc[idx])
            same = [i + 1 for i in rows if tuple(groups.loc[i]) == values]
            shown = ", ".join(values)
            out.append(
                {
                    "file": file,
                    "row": idx + 1,
                    "column": "+".join(key),
                    "check": "unique_key",
                    "value": shown,
                    "message": f"key {'+'.join(key)} = ({shown}) is not unique: rows {', '.join(map(str, same))}",
                }
            )
        return out
    if reason == "SERIES_CONTAINS_NULLS":
        col = err.schema.name
        return [
            {
                "file": file,
                "row": int(i) + 1,
                "column": col,
                "check": "required_value",
                "value": "",
                "message": f"{col} is empty; a value is required",
            }
            for i in cases["index"]
        ]
    check = err.check
    frame_check = getattr(check, "frame_check", None)
    if frame_check is not None:
        rows = sorted({int(i) for i in cases["index"]})
        col = frame_check.column
        sub = df.loc[rows]
        errors = (
            frame_check.error(sub)
            if callable(frame_check.error)
            else pd.Series(frame_check.error, index=sub.index)
        )
        return [
            {
                "file": file,
                "row": idx + 1,
                "column": col,
                "check": frame_check.check_id,
                "value": _text(sub.at[idx, col]),
                "message": _value_message(col, _text(sub.at[idx, col]), errors.loc[idx]),
            }
            for idx in rows
        ]
    if reason in ("DATAFRAME_CHECK", "CHECK_ERROR") and check is not None:
        col = err.schema.name
        name = getattr(check, "name", str(check))
        error = getattr(check, "error", None) or name
        out = []
        for idx, value in zip(cases["index"], cases["failure_case"]):
            value = _text(value)
            out.append(
                {
                    "file": file,
                    "row": int(idx) + 1 if idx is not None and not pd.isna(idx) else None,
                    "column": col,
                    "check": name,
                    "value": value,
                    "message": _value_message(col, value, error),
                }
            )
        return out
    # anything else pandera may report (should not happen with these schemas)
    return [
        {
            "file": file,
            "column": _text(getattr(err.schema, "name", "")),
            "check": "schema",
            "value": "",
            "message": str(err).splitlines()[0],
        }
    ]


def schema_failures(
    df: pd.DataFrame,
    domain: str,
    file: str,
    units: pd.DataFrame,
    study: StudyRules | None = None,
) -> pd.DataFrame:
    """Validate the text table of ``domain`` (lazily) and return its failures table.

    Refused identifier columns give one ``direct_identifier`` failure each and are not
    validated further. The frame's index must be the 0-based data row (as
    :func:`fcrnpipe.rawio.inspect_export` returns it).
    """
    records = identifier_failures(df.columns, file)
    data = df[[c for c in df.columns if not is_direct_identifier(c)]]
    schema = domain_schema(domain, units, study, columns=data.columns)
    try:
        schema.validate(data, lazy=True)
    except SchemaErrors as exc:
        for err in exc.schema_errors:
            records.extend(_schema_error_rows(err, data, file, domain))
    return make_failures(records)
