"""Per-domain pandera schemas: a good cut passes; each broken value fails with the expected
column and rule id; every failure is collected (lazy); extra columns are kept; refused columns
are reported once each. Also the unit table API the schemas (and the derive stage) use.
(The rules added for real SDTM exports -- records set aside, severities, natural keys, CDISC
terms, placebo and screen failures -- are in test_validation_rules.py.)"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest
from cutfactory import SUBJECTS, valid_cut_frames

from conftest import ROOT
from fcrnpipe.errors import UserError
from fcrnpipe.units import (
    accepted_units,
    for_analyte,
    known_tests,
    load_unit_table,
    param_info,
    result_type,
    standardise,
)
from fcrnpipe.validation import domain_findings, type_table
from fcrnpipe.validation.failures import FAILURE_COLUMNS
from fcrnpipe.validation.schemas import DIRECT_IDENTIFIERS, RULES, SEVERITY, StudyRules, study_params

UNITS_CSV = ROOT / "resources" / "units.csv"
STUDY = StudyRules(arms=("BATO340", "BATO680"))


@pytest.fixture(scope="module")
def units() -> pd.DataFrame:
    return load_unit_table(UNITS_CSV)


def text_frame(domain: str) -> pd.DataFrame:
    """The valid cut's table as rawio returns it: None for empty cells."""
    df = valid_cut_frames()[domain]
    return df.astype(object).where(df != "", None)


def failures_of(
    domain: str, df: pd.DataFrame, units: pd.DataFrame, study: StudyRules = STUDY
) -> pd.DataFrame:
    return domain_findings(domain, df, f"{domain}.csv", units, study)[1]


def as_tuples(failures: pd.DataFrame) -> list[tuple]:
    return [
        (r["file"], None if pd.isna(r["row"]) else int(r["row"]), r["column"], r["check"], r["value"])
        for r in failures.to_dict("records")
    ]


# ----------------------------------------------------------------------------- good data
@pytest.mark.parametrize("domain", ["dm", "ex", "vs", "lb", "pc", "qs", "ae", "ds"])
def test_valid_cut_passes(domain, units):
    failures = failures_of(domain, text_frame(domain), units)
    assert list(failures.columns) == FAILURE_COLUMNS
    assert failures.empty, failures.to_string()


def test_every_reported_rule_is_documented():
    for rule in [
        "required_column",
        "numeric",
        "range",
        "controlled_term",
        "iso8601",
        "unit_known",
        "unique_key",
        "edss_half_step",
        "direct_identifier",
        "result_form",
        "set_aside",
        "required_test",
        "plausibility",
        "cdisc_term",
        "not_assigned",
        "severity_scale",
        "identifier_dropped",
        "value_missing",
        "baseline_igg",
        "orphan_subject",
        "date_in_study_period",
        "file_missing",
        "not_utf8",
    ]:
        assert rule in RULES
    assert set(SEVERITY) == set(RULES) and set(SEVERITY.values()) == {"error", "warning", "notice"}


# ----------------------------------------------------------------------------- one bad value
def _set(row: int, column: str, value: str | None) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def mutate(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[row, column] = value
        return df

    return mutate


CASES = [
    # domain, mutation (0-based index), expected (row, column, check, value)
    ("dm", _set(2, "AGE", "abc"), (3, "AGE", "numeric", "abc")),
    ("dm", _set(0, "AGE", "121"), (1, "AGE", "range", "121")),
    ("dm", _set(0, "AGE", "-1"), (1, "AGE", "range", "-1")),
    ("dm", _set(1, "SEX", "FEMALE"), (2, "SEX", "controlled_term", "FEMALE")),
    ("dm", _set(1, "AGEU", "MONTHS"), (2, "AGEU", "controlled_term", "MONTHS")),
    ("dm", _set(1, "ARMCD", "PLACEBO"), (2, "ARMCD", "controlled_term", "PLACEBO")),
    ("dm", _set(0, "RFSTDTC", "01/03/2022"), (1, "RFSTDTC", "iso8601", "01/03/2022")),
    ("dm", _set(0, "RFSTDTC", "2022-03"), (1, "RFSTDTC", "iso8601", "2022-03")),  # partial: AE only
    ("dm", _set(0, "RFSTDTC", None), (1, "RFSTDTC", "required_value", "")),
    ("dm", _set(0, "RFENDTC", "2022-02-28"), (1, "RFENDTC", "date_order", "2022-02-28")),
    ("dm", _set(2, "STUDYID", None), (3, "STUDYID", "required_value", "")),
    ("ex", _set(4, "EXDOSE", "abc"), (5, "EXDOSE", "numeric", "abc")),
    ("ex", _set(4, "EXDOSE", "-340"), (5, "EXDOSE", "range", "-340")),
    ("ex", _set(0, "EXSEQ", "1.5"), (1, "EXSEQ", "integer", "1.5")),
    ("ex", _set(0, "EXTRT", "NIPOCALIMAB"), (1, "EXTRT", "controlled_term", "NIPOCALIMAB")),
    ("ex", _set(0, "EXDOSU", "g"), (1, "EXDOSU", "controlled_term", "g")),
    ("ex", _set(0, "EXROUTE", "IV"), (1, "EXROUTE", "cdisc_term", "IV")),  # a warning: ROUTE is extensible
    ("ex", _set(0, "EXSTDTC", "2022-03-01 09:00"), (1, "EXSTDTC", "iso8601", "2022-03-01 09:00")),
    ("ex", _set(0, "EXSTDTC", "2022-03-01T24:00"), (1, "EXSTDTC", "iso8601", "2022-03-01T24:00")),
    ("ex", _set(0, "EXENDTC", "2022-02-30"), (1, "EXENDTC", "iso8601", "2022-02-30")),
    ("vs", _set(0, "VSORRESU", "stone"), (1, "VSORRESU", "unit_known", "stone")),
    ("vs", _set(0, "VSORRESU", "cm"), (1, "VSORRESU", "unit_known", "cm")),  # cm is a unit, not of WEIGHT
    ("vs", _set(0, "VSORRESU", None), (1, "VSORRESU", "required_value", "")),
    ("vs", _set(1, "VSTESTCD", "BMI"), (None, "VSTESTCD", "set_aside", "BMI")),  # a notice, not a failure
    ("vs", _set(2, "VSORRES", "63,1"), (3, "VSORRES", "numeric", "63,1")),
    ("lb", _set(0, "LBORRESU", "mmol/L"), (1, "LBORRESU", "unit_known", "mmol/L")),
    ("lb", _set(1, "LBTESTCD", "XYZ"), (None, "LBTESTCD", "set_aside", "XYZ")),
    ("lb", _set(0, "LBORRES", "1:100"), (1, "LBORRES", "result_form", "1:100")),  # titre for a numeric test
    ("lb", _set(0, "LBORRES", "POSITIVE"), (1, "LBORRES", "result_form", "POSITIVE")),
    ("lb", _set(0, "LBORRES", "< 0.5"), (1, "LBORRES", "result_form", "< 0.5")),
    ("lb", _set(3, "LBORRES", "12"), (4, "LBORRES", "result_form", "12")),  # number for a titre test
    ("lb", _set(3, "LBORRES", "1:0"), (4, "LBORRES", "result_form", "1:0")),
    ("lb", _set(0, "LBORNRLO", "low"), (1, "LBORNRLO", "numeric", "low")),
    ("lb", _set(0, "VISITNUM", "one"), (1, "VISITNUM", "numeric", "one")),
    ("lb", _set(0, "LBSEQ", "x"), (1, "LBSEQ", "numeric", "x")),
    ("lb", _set(0, "LBDTC", "2022-02"), (1, "LBDTC", "iso8601", "2022-02")),
    ("lb", _set(0, "LBORRESU", None), (1, "LBORRESU", "required_value", "")),
    ("pc", _set(1, "PCORRES", "-3.2"), (2, "PCORRES", "range", "-3.2")),
    ("pc", _set(1, "PCORRES", "ND"), (2, "PCORRES", "result_form", "ND")),
    ("pc", _set(1, "PCORRES", "<"), (2, "PCORRES", "result_form", "<")),
    ("pc", _set(1, "PCLLOQ", "0"), (2, "PCLLOQ", "range", "0")),
    ("pc", _set(1, "PCLLOQ", "half"), (2, "PCLLOQ", "numeric", "half")),
    ("pc", _set(1, "PCORRESU", "ng"), (2, "PCORRESU", "unit_known", "ng")),
    ("pc", _set(1, "PCTESTCD", "NIPOCAL"), (None, "PCTESTCD", "set_aside", "NIPOCAL")),
    ("pc", _set(1, "PCTPT", None), (2, "PCTPT", "required_value", "")),
    ("pc", _set(1, "PCORRESU", None), (2, "PCORRESU", "required_value", "")),  # reported once
    ("qs", _set(0, "QSORRES", "11"), (1, "QSORRES", "range", "11")),
    ("qs", _set(0, "QSORRES", "-0.5"), (1, "QSORRES", "range", "-0.5")),
    ("qs", _set(1, "QSORRES", "2.3"), (2, "QSORRES", "edss_half_step", "2.3")),
    ("qs", _set(1, "QSORRES", "four"), (2, "QSORRES", "numeric", "four")),
    ("qs", _set(1, "QSTESTCD", "MSFC"), (None, "QSTESTCD", "set_aside", "MSFC")),
    ("ae", _set(0, "AETOXGR", "6"), (1, "AETOXGR", "range", "6")),
    ("ae", _set(0, "AETOXGR", "0"), (1, "AETOXGR", "range", "0")),
    ("ae", _set(0, "AETOXGR", "2.5"), (1, "AETOXGR", "range", "2.5")),
    ("ae", _set(0, "AETOXGR", "II"), (1, "AETOXGR", "numeric", "II")),
    ("ae", _set(1, "AESER", "YES"), (2, "AESER", "controlled_term", "YES")),
    ("ae", _set(1, "AEREL", "DEFINITELY"), (2, "AEREL", "controlled_term", "DEFINITELY")),
    ("ae", _set(1, "AEACN", "NONE"), (2, "AEACN", "controlled_term", "NONE")),
    ("ae", _set(1, "AESTDTC", "2022-13"), (2, "AESTDTC", "iso8601", "2022-13")),
    ("ae", _set(1, "AESTDTC", None), (2, "AESTDTC", "required_value", "")),
    ("ae", _set(1, "AEENDTC", "2022-4-27"), (2, "AEENDTC", "iso8601", "2022-4-27")),
    ("ds", _set(0, "DSDECOD", "DONE"), (1, "DSDECOD", "cdisc_term", "DONE")),  # NCOMPLT is extensible
    ("ds", _set(0, "DSSCAT", "STUDY"), (1, "DSSCAT", "controlled_term", "STUDY")),
    ("ds", _set(0, "DSSTDTC", "2022"), (1, "DSSTDTC", "iso8601", "2022")),
]


@pytest.mark.parametrize(
    "domain, mutate, expected", CASES, ids=[f"{c[0]}-{c[2][1]}-{c[2][2]}-{i}" for i, c in enumerate(CASES)]
)
def test_one_bad_value_fails_with_column_and_rule(domain, mutate, expected, units):
    failures = failures_of(domain, mutate(text_frame(domain)), units)
    assert as_tuples(failures) == [(f"{domain}.csv", *expected)]
    message = failures["message"].iloc[0]
    assert expected[1] in message


@pytest.mark.parametrize(
    "domain, column, value",
    [
        ("dm", "RFENDTC", None),  # ongoing subject
        ("ae", "AEENDTC", None),  # ongoing AE
        ("ae", "AESTDTC", "2022"),  # partial (year) start
        ("ae", "AESTDTC", "2022-03-02T14:30:15"),
        ("ds", "DSSTDTC", None),
        ("lb", "LBORRES", None),  # not done: the unit may then be empty too
        ("lb", "LBORNRLO", None),
        ("lb", "LBORRES", ">2000"),
        ("pc", "PCORRES", "BLQ"),
        ("pc", "PCORRES", "<0.25"),
        ("pc", "PCORRES", "0"),
        ("qs", "QSORRES", "10"),
        ("qs", "QSORRES", "0"),
        ("ae", "AETOXGR", "5"),
        ("dm", "AGE", "0"),
        ("ex", "EXDOSE", "0"),
    ],
)
def test_allowed_values_pass(domain, column, value, units):
    df = text_frame(domain)
    df.loc[0, column] = value
    if (domain, column) == ("lb", "LBORRES") and value is None:
        df.loc[0, "LBORRESU"] = None
    assert failures_of(domain, df, units).empty


def test_missing_required_column_is_one_column_level_failure(units):
    df = text_frame("dm").drop(columns=["SITEID"])
    failures = failures_of("dm", df, units)
    assert as_tuples(failures) == [("dm.csv", None, "SITEID", "required_column", "")]
    assert "required column SITEID is missing from dm.csv" in failures["message"].iloc[0]


def test_missing_key_column_does_not_crash_the_other_checks(units):
    df = text_frame("lb").drop(columns=["LBTESTCD"])
    df.loc[2, "LBDTC"] = "yesterday"
    assert as_tuples(failures_of("lb", df, units)) == [
        ("lb.csv", None, "LBTESTCD", "required_column", ""),
        ("lb.csv", 3, "LBDTC", "iso8601", "yesterday"),
    ]


def test_duplicate_keys_name_every_row_of_the_key(units):
    df = text_frame("ex")
    df.loc[5, "EXSEQ"] = df.loc[1, "EXSEQ"]  # rows 2 and 6, same subject
    failures = failures_of("ex", df, units)
    assert as_tuples(failures) == [
        ("ex.csv", 2, "USUBJID+EXSEQ", "unique_key", f"{SUBJECTS[0]}, 2"),
        ("ex.csv", 6, "USUBJID+EXSEQ", "unique_key", f"{SUBJECTS[0]}, 2"),
    ]
    assert "rows 2, 6" in failures["message"].iloc[0]


def test_ds_key_without_dsscat_is_one_disposition_event_per_subject(units):
    df = text_frame("ds").drop(columns=["DSSCAT"])
    # without DSSCAT (and EPOCH) every disposition event is an end-of-study record: subjects 1 and 2
    # have two each (rows 1-2, 3-4)
    assert as_tuples(failures_of("ds", df, units)) == [
        ("ds.csv", 1, "USUBJID", "unique_key", SUBJECTS[0]),
        ("ds.csv", 2, "USUBJID", "unique_key", SUBJECTS[0]),
        ("ds.csv", 3, "USUBJID", "unique_key", SUBJECTS[1]),
        ("ds.csv", 4, "USUBJID", "unique_key", SUBJECTS[1]),
    ]
    assert "rows 3, 4" in failures_of("ds", df, units)["message"].iloc[2]


def test_lazy_validation_reports_every_failure(units):
    df = text_frame("ae")
    df.loc[0, "AETOXGR"] = "7"
    df.loc[1, "AESER"] = "maybe"
    df.loc[3, "AESTDTC"] = "2022-02-30"
    df = df.drop(columns=["AEBODSYS"])
    assert as_tuples(failures_of("ae", df, units)) == [
        ("ae.csv", None, "AEBODSYS", "required_column", ""),
        ("ae.csv", 1, "AETOXGR", "range", "7"),
        ("ae.csv", 2, "AESER", "controlled_term", "maybe"),
        ("ae.csv", 4, "AESTDTC", "iso8601", "2022-02-30"),
    ]


@pytest.mark.parametrize("name", ["NAME", "email", "Dob", "INITIALS", "MRN"])
def test_direct_identifier_is_refused_without_quoting_its_values(name, units):
    df = text_frame("dm")
    df[name] = ["Jane Doe", "John Roe", "Ann Poe"]
    failures = failures_of("dm", df, units)
    assert as_tuples(failures) == [("dm.csv", None, name, "direct_identifier", name)]
    assert "Jane" not in failures.to_csv()
    assert name not in type_table(df).columns


def test_every_listed_identifier_gives_one_failure(units):
    df = text_frame("ae")
    for name in sorted(DIRECT_IDENTIFIERS):
        df[name] = "x"
    failures = failures_of("ae", df, units)
    assert sorted(failures["column"]) == sorted(DIRECT_IDENTIFIERS)
    assert set(failures["check"]) == {"direct_identifier"}


def test_extra_columns_are_kept_and_never_an_error(units):
    df = text_frame("lb")
    df["LBCOMMENT"] = "haemolysed"
    df["LBNAM"] = "central lab"
    assert failures_of("lb", df, units).empty
    typed = type_table(df)
    assert typed["LBCOMMENT"].tolist()[0] == "haemolysed"


def test_extra_dates_must_be_iso_and_extra_numeric_variables_numeric(units):
    df = text_frame("vs")
    df["VSENDTC"] = "2022/03/01"
    df["VISITNUM"] = "x"
    tuples = as_tuples(failures_of("vs", df, units))
    assert ("vs.csv", 1, "VSENDTC", "iso8601", "2022/03/01") in tuples
    assert ("vs.csv", 1, "VISITNUM", "numeric", "x") in tuples
    assert len(tuples) == 2 * len(df)


def test_armcd_is_free_when_no_arms_are_configured(units):
    df = text_frame("dm")
    df.loc[0, "ARMCD"] = "OTHER"
    assert failures_of("dm", df, units, StudyRules()).empty


def test_treatments_come_from_the_study_rules(units):
    df = text_frame("ex")
    rules = StudyRules(treatments=("NIPOCALIMAB", "METHYLPREDNISOLONE"))
    failures = failures_of("ex", df, units, rules)
    bato_rows = [i + 1 for i in df.index[df["EXTRT"] == "BATOCLIMAB"]]
    assert len(bato_rows) == 10  # 4 + 4 + 2 doses
    assert as_tuples(failures) == [("ex.csv", r, "EXTRT", "controlled_term", "BATOCLIMAB") for r in bato_rows]


def test_study_params_give_each_domain_only_what_it_uses(config):
    assert study_params(config, "dm") == {"arms": ["BATO340", "BATO680"]}
    assert study_params(config, "ds") == {}
    assert study_params(config, "lb") == {
        "treatment": "BATOCLIMAB",
        "screening_window_days": 42,
        "followup_grace_days": 30,
    }
    assert study_params(config, "ex")["treatments"] == ["BATOCLIMAB", "METHYLPREDNISOLONE", "PLACEBO"]
    assert study_params(config, "pc")["pk_analyte"] == "BATOCLIM"
    assert study_params(config, "qs")["efficacy_testcd"] == "EDSS"
    assert study_params(config, "ae")["aerel_terms"] == [
        "RELATED",
        "POSSIBLY RELATED",
        "PROBABLY RELATED",
        "UNLIKELY RELATED",
        "NOT RELATED",
    ]


def test_type_table_types_numeric_variables_only():
    df = text_frame("lb")
    df.loc[0, "LBSEQ"] = "x"
    typed = type_table(df)
    assert typed["LBSEQ"].dtype == "float64" and typed["VISITNUM"].dtype == "float64"
    assert pd.isna(typed["LBSEQ"].iloc[0]) and typed["LBSEQ"].iloc[1] == 2.0
    assert typed["LBORRES"].dtype == object and typed["LBORRES"].iloc[0] == "10.2"
    assert typed["LBORNRLO"].iloc[2] is None


# ----------------------------------------------------------------------------- unit table
def test_unit_table_lookups(units):
    assert known_tests(units, "PC") == ["*"]  # concentration units of whatever analyte config names
    assert known_tests(for_analyte(units, "BATO"), "PC") == ["BATO"]
    assert accepted_units(for_analyte(units, "BATO"), "BATO", "PC") == ["g/L", "mg/L", "mg/mL", "ng/mL", "ug/L", "ug/mL"]
    assert known_tests(units, "VS") == ["HEIGHT", "WEIGHT"]
    assert accepted_units(units, "IGG") == ["g/L", "mg/dL"]
    assert accepted_units(units, "NOPE") == []
    assert result_type(units, "AQP4AB") == "titre" and result_type(units, "IGG") == "numeric"
    assert result_type(units, "NOPE") is None
    info = param_info(units, "LB").set_index("TESTCD")
    assert info.loc["CHOL", "standard_unit"] == "mmol/L" and info.loc["IGG", "decimals"] == 2


def test_standardise_converts_with_the_table_factor(units):
    values = pd.Series([1050.0, 10.5, float("nan"), 154.3, 68.5], index=[10, 11, 12, 13, 14])
    tests = pd.Series(["IGG", "IGG", "IGG", "WEIGHT", "HEIGHT"], index=values.index)
    unit = pd.Series(["MG/DL", "g/L", "g/l", "lb", "IN"], index=values.index)  # units match in any case
    std, std_unit = standardise(values, tests, unit, units)
    assert list(std.index) == [10, 11, 12, 13, 14]
    assert std.iloc[0] == pytest.approx(10.5, abs=1e-12)
    assert std.iloc[1] == 10.5
    assert pd.isna(std.iloc[2])
    assert std.iloc[3] == pytest.approx(69.98930269, abs=1e-8)  # 154.3 lb x 0.45359237
    assert std.iloc[4] == pytest.approx(173.99, abs=1e-12)  # 68.5 in x 2.54
    assert std_unit.tolist() == ["g/L", "g/L", "g/L", "kg", "cm"]


def test_standardise_scalar_test_and_unit(units):
    std, std_unit = standardise([200.0], "CHOL", "mg/dL", units, domain="LB")
    assert std.iloc[0] == pytest.approx(5.1719678, abs=1e-7)
    assert std_unit.iloc[0] == "mmol/L"


def test_standardise_refuses_unknown_pairs(units):
    with pytest.raises(UserError, match=r"IGG in 'mmol/L'"):
        standardise(pd.Series([1.0, 2.0]), pd.Series(["IGG", "IGG"]), pd.Series(["g/L", "mmol/L"]), units)


def test_unit_table_errors_name_row_and_column(tmp_path):
    bad = tmp_path / "units.csv"
    text = UNITS_CSV.read_text(encoding="utf-8").splitlines()
    assert text[4].startswith("LB,ALB,ALB,Albumin (g/L),g/dL,g/L,10,")
    text[4] = text[4].replace(",10,numeric", ",ten,numeric")  # ALB g/dL factor (data row 4)
    bad.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"units.csv, row 4, column factor: 'ten'"):
        load_unit_table(bad)
    dup = tmp_path / "dup.csv"
    lines = UNITS_CSV.read_text(encoding="utf-8").splitlines()
    dup.write_text("\n".join(lines + [lines[1]]) + "\n", encoding="utf-8")
    with pytest.raises(UserError, match="listed twice"):
        load_unit_table(dup)
