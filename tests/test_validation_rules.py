"""The validation rules for real SDTM exports (issue #9), each with valid SDTM that must pass and
records that must still fail: records set aside, severities, natural keys, CDISC terminology,
units in any case, AEREL from config, AESEV, the PK analyte from config, the study period with
RFPENDTC, ISO 8601 as SDTMIG allows it, screen failures, BRTHDTC, placebo, and the report."""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
import pytest
from cutfactory import SUBJECTS, valid_cut_frames

from conftest import ROOT
from fcrnpipe.errors import ValidationFailed
from fcrnpipe.units import load_unit_table
from fcrnpipe.validation import build_report, domain_findings, gate, type_table
from fcrnpipe.validation.cross import cross_failures, dates_in_study_period
from fcrnpipe.validation.dates import iso_frame, parse_iso
from fcrnpipe.validation.failures import make_failures
from fcrnpipe.validation.report import MAX_PER_CHECK
from fcrnpipe.validation.schemas import StudyRules, duplicate_failures, study_params

S1, S2, S3 = SUBJECTS
STUDY = StudyRules(arms=("BATO340", "BATO680", "PBO"))


@pytest.fixture(scope="module")
def units() -> pd.DataFrame:
    return load_unit_table(ROOT / "resources" / "units.csv")


def text(domain: str) -> pd.DataFrame:
    df = valid_cut_frames()[domain]
    return df.astype(object).where(df != "", None)


def findings(domain: str, df: pd.DataFrame, units: pd.DataFrame, study: StudyRules = STUDY) -> pd.DataFrame:
    return domain_findings(domain, df, f"{domain}.csv", units, study)[1]


def used(domain: str, df: pd.DataFrame, units: pd.DataFrame, study: StudyRules = STUDY) -> pd.Series:
    return domain_findings(domain, df, f"{domain}.csv", units, study)[0]


def keys(f: pd.DataFrame) -> list[tuple]:
    return [
        (None if pd.isna(r["row"]) else int(r["row"]), r["column"], r["check"], r["severity"], r["value"])
        for r in f.to_dict("records")
    ]


def add_rows(df: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    """Append rows (missing columns None) with fresh 0-based row numbers after the last."""
    start = int(df.index.max()) + 1
    extra = pd.DataFrame([{c: r.get(c) for c in df.columns} | r for r in rows], index=range(start, start + len(rows)))
    return pd.concat([df, extra.astype(object).where(extra.notna(), None)])


# ----------------------------------------------------------------------------- records set aside
def test_unused_lab_tests_and_specimens_are_set_aside_with_one_notice_per_code(units):
    lb = add_rows(
        text("lb"),
        [
            {"USUBJID": S1, "LBSEQ": str(90 + i), "LBTESTCD": code, "LBORRES": res, "LBORRESU": unit, "LBSPEC": spec,
             "VISIT": "DAY 1", "VISITNUM": "2", "LBDTC": "2022-03-01T08:00"}
            for i, (code, res, unit, spec) in enumerate([
                ("COLOR", "N", None, "URINE"),  # categorical urinalysis: not a number, not a failure
                ("COLOR", "YELLOW", None, "URINE"),
                ("HGB", "130", "g/L", "BLOOD"),
                ("CREAT", "9.1", "mmol/L", "URINE"),  # a known test in a specimen the analysis does not use
                ("IGGG", "10.1", "g/L", "SERUM"),  # a typo: visible, harmless
            ])
        ],
    )  # fmt: skip
    f = findings("lb", lb, units)
    assert set(f["severity"]) == {"notice"} and set(f["check"]) == {"set_aside"}
    notes = {r["value"]: r["message"] for r in f.to_dict("records")}
    assert sorted(notes) == ["COLOR", "CREAT", "HGB", "IGGG"]
    assert notes["COLOR"].startswith("2 record(s) with LBTESTCD 'COLOR', LBSPEC 'URINE' set aside")
    assert "first at row" in notes["IGGG"]
    assert used("lb", lb, units).sum() == len(text("lb"))
    # a used test in a blood specimen is still validated strictly
    lb.loc[0, "LBORRESU"] = "g/ml"
    assert ("lb.csv", "unit_known") in set(zip(findings("lb", lb, units)["file"], findings("lb", lb, units)["check"]))


def test_other_vital_signs_instruments_and_milestones_are_set_aside(units):
    vs = add_rows(text("vs"), [{"USUBJID": S1, "VSTESTCD": "SYSBP", "VSORRES": "high", "VSORRESU": "mmHg",
                                "VISIT": "DAY 1", "VSDTC": "2022-03-01"}])  # fmt: skip
    qs = add_rows(text("qs"), [{"USUBJID": S1, "QSTESTCD": "MSQOL01", "QSORRES": "Good", "VISIT": "DAY 1",
                                "VISITNUM": "2", "QSDTC": "2022-03-01"}])  # fmt: skip
    ds = add_rows(text("ds"), [{"USUBJID": S1, "DSCAT": "PROTOCOL MILESTONE", "DSDECOD": "RANDOMIZED",
                                "DSTERM": "RANDOMIZED", "DSSTDTC": "2022-03-01"}])  # fmt: skip
    for domain, df, code in (("vs", vs, "SYSBP"), ("qs", qs, "MSQOL01"), ("ds", ds, "RANDOMIZED")):
        assert keys(findings(domain, df, units)) == [(None, df.columns[df.columns.str.endswith(("TESTCD", "DECOD"))][0],
                                                      "set_aside", "notice", code)]  # fmt: skip
    # EDSS rules still apply to the EDSS records
    qs.loc[1, "QSORRES"] = "3.2"
    assert (2, "QSORRES", "edss_half_step", "error", "3.2") in keys(findings("qs", qs, units))
    # a disposition event with a milestone term is a warning (NCOMPLT is extensible), not set aside
    ds.loc[0, "DSDECOD"] = "RANDOMIZED"
    assert (1, "DSDECOD", "cdisc_term", "warning", "RANDOMIZED") in keys(findings("ds", ds, units))


def test_a_required_test_without_records_is_an_error_naming_it(units):
    lb = text("lb")
    lb = lb[lb["LBTESTCD"] != "IGG"]
    f = findings("lb", lb, units)
    assert keys(f) == [(None, "LBTESTCD", "required_test", "error", "IGG")]
    assert "ALB (9), AQP4AB (6), CHOL (9)" in f["message"].iloc[0]
    pc = findings("pc", text("pc"), units, StudyRules(pk_analyte="BATO"))  # config names another analyte
    assert keys(pc)[0] == (None, "PCTESTCD", "required_test", "error", "BATO")
    assert "BATOCLIM (12)" in pc["message"].iloc[0]
    assert set(pc["check"]) == {"required_test", "set_aside"}


def test_set_aside_records_are_not_in_the_typed_table(tmp_path, units):
    from fcrnpipe.rawio import RawExport
    from fcrnpipe.validation import validate_export

    vs = add_rows(text("vs"), [{"USUBJID": S1, "VSTESTCD": "PULSE", "VSORRES": "72", "VSORRESU": "beats/min",
                                "VISIT": "DAY 1", "VSDTC": "2022-03-01"}])  # fmt: skip
    typed, f = validate_export("vs", RawExport(tmp_path / "vs.csv", vs), units, None, None, STUDY)
    assert len(typed) == len(text("vs")) and "PULSE" not in set(typed["VSTESTCD"])
    assert list(f["check"]) == ["set_aside"]


# ----------------------------------------------------------------------------- severities
def test_out_of_period_dates_are_warnings_and_do_not_stop_the_gate(units):
    lb = text("lb")
    lb.loc[8, "LBDTC"] = "2023-06-01T08:00"  # S1, after RFENDTC + 30 days
    f = cross_failures("lb", lb, "lb.csv", text("dm"), text("ex"), STUDY)
    assert keys(f) == [(9, "LBDTC", "date_in_study_period", "warning", "2023-06-01T08:00")]
    out = gate("lb", type_table(lb), f, "report.html", "failures.csv")
    assert len(out) == len(lb)
    errors = make_failures([{"file": "lb.csv", "row": 3, "column": "LBORRES", "check": "result_form", "value": "x",
                             "message": "m"}])  # fmt: skip
    with pytest.raises(ValidationFailed, match=r"lb.csv: 1 error\(s\) \(and 1 warning\(s\)/notice\(s\)\)"):
        gate("lb", type_table(lb), pd.concat([f, errors]), "report.html", "failures.csv")


def test_empty_aeacn_aerel_and_uncoded_terms_are_warnings(units):
    ae = text("ae")
    ae.loc[0, "AEACN"] = None
    ae.loc[1, "AEDECOD"] = None
    assert keys(findings("ae", ae, units)) == [
        (1, "AEACN", "value_missing", "warning", ""),
        (2, "AEDECOD", "value_missing", "warning", ""),
    ]


def test_implausible_values_are_warnings_in_the_standard_unit(units):
    vs = text("vs")
    vs.loc[3, "VSORRES"] = "15.3"  # 15.3 lb = 6.9 kg
    vs.loc[0, "VSORRES"] = "250"  # 250 kg: plausible
    f = findings("vs", vs, units)
    assert keys(f) == [(4, "VSORRES", "plausibility", "warning", "15.3")]
    assert "implausible WEIGHT (6.94 kg; plausible 20-300 kg)" in f["message"].iloc[0]


# ----------------------------------------------------------------------------- keys
def test_vital_signs_by_position_and_time_point_are_separate_records(units):
    rows = [
        {"USUBJID": S1, "VSTESTCD": "WEIGHT", "VSORRES": "63.0", "VSORRESU": "kg", "VISIT": "DAY 1",
         "VSDTC": "2022-03-01T08:00", "VSPOS": pos, "VSTPTNUM": tpt}
        for pos in ("SUPINE", "STANDING") for tpt in ("0", "2")
    ]  # fmt: skip
    vs = add_rows(text("vs"), rows)
    assert findings("vs", vs, units).empty
    vs.loc[vs.index[-1], "VSPOS"] = "SUPINE"  # same position, time point and date as the record before the last but one
    f = findings("vs", vs, units)
    assert set(f["check"]) == {"unique_key"} and len(f) == 2
    assert f["column"].iloc[0] == "USUBJID+VSTESTCD+VSPOS+VSTPTNUM+VSDTC"
    assert f["message"].iloc[0].endswith(f"rows {len(vs) - 2}, {len(vs)}")


def test_seq_is_unique_per_subject_not_across_subjects(units):
    ae = text("ae")
    assert ae.loc[0, "AESEQ"] == ae.loc[1, "AESEQ"] == "1"  # two subjects, AESEQ 1 each: fine
    assert findings("ae", ae, units).empty
    ae.loc[2, "AESEQ"] = "1"  # now subject 2 has AESEQ 1 twice
    f = findings("ae", ae, units)
    assert [r[:3] for r in keys(f)] == [(2, "USUBJID+AESEQ", "unique_key"), (3, "USUBJID+AESEQ", "unique_key")]
    assert "sequence number USUBJID+AESEQ" in f["message"].iloc[0]


def test_duplicate_messages_are_built_in_linear_time():
    n = 30000  # the old message builder rescanned every duplicate for every duplicate (hours at this size)
    df = pd.DataFrame({"USUBJID": np.repeat([f"S{i}" for i in range(n // 3)], 3), "VSTESTCD": "SYSBP"})
    t0 = time.perf_counter()
    f = duplicate_failures(df, ["USUBJID", "VSTESTCD"], "vs.csv")
    assert time.perf_counter() - t0 < 10  # about 0.2 s
    assert len(f) == n and f["message"].iloc[0] == "key USUBJID+VSTESTCD = (S0, SYSBP) is not unique: rows 1, 2, 3"
    many = duplicate_failures(pd.DataFrame({"K": ["a"] * 8}), ["K"], "x.csv")
    assert many["message"].iloc[0].endswith("rows 1, 2, 3, 4, 5 and 3 more")


# ----------------------------------------------------------------------------- terminology and units
@pytest.mark.parametrize("route, check", [("TRANSDERMAL", None), ("INTRAMUSCULAR", None), ("subcutaneous", None),
                                          ("SUBQ", "cdisc_term")])  # fmt: skip
def test_exroute_uses_the_cdisc_route_codelist(route, check, units):
    ex = text("ex")
    ex.loc[0, "EXROUTE"] = route
    f = findings("ex", ex, units)
    assert list(f["check"]) == ([check] if check else [])
    assert set(f["severity"]) <= {"warning"}


@pytest.mark.parametrize(
    "term", ["SCREEN FAILURE", "PROTOCOL VIOLATION", "LACK OF EFFICACY", "STUDY TERMINATED BY SPONSOR"]
)
def test_cdisc_disposition_terms_are_accepted(term, units):
    ds = text("ds")
    ds.loc[4, "DSDECOD"] = term
    assert findings("ds", ds, units).empty


@pytest.mark.parametrize("acn, check", [("DOSE INCREASED", None), ("dose rate reduced", None),
                                        ("STOPPED", "controlled_term")])  # fmt: skip
def test_aeacn_uses_the_cdisc_acn_codelist(acn, check, units):
    ae = text("ae")
    ae.loc[0, "AEACN"] = acn
    assert list(findings("ae", ae, units)["check"]) == ([check] if check else [])


@pytest.mark.parametrize(
    "domain, row, column, value, ok",
    [
        ("vs", 3, "VSORRESU", "LB", True),  # CDISC pound
        ("vs", 7, "VSORRESU", "IN", True),  # CDISC inch, any case
        ("lb", 1, "LBORRESU", "G/L", True),
        ("lb", 3, "LBORRESU", "titer", True),
        ("pc", 1, "PCORRESU", "µg/mL", True),  # micro sign
        ("pc", 1, "PCORRESU", "ng/mL", True),
        ("vs", 3, "VSORRESU", "stone", False),
        ("pc", 1, "PCORRESU", "mmol/L", False),  # not a mass concentration
    ],
)
def test_units_match_case_insensitively_with_cdisc_spellings(domain, row, column, value, ok, units):
    df = text(domain)
    df.loc[row, column] = value
    f = findings(domain, df, units)
    if domain == "vs" and value == "LB":
        f = f[f["check"] != "plausibility"]
    assert keys(f) == ([] if ok else [(row + 1, column, "unit_known", "error", value)])


def test_pk_analyte_comes_from_config_and_its_units_are_concentration_units(units):
    pc = text("pc")
    pc["PCTESTCD"] = "BATO"
    study = StudyRules(pk_analyte="BATO")
    assert findings("pc", pc, units, study).empty
    pc.loc[2, "PCORRESU"] = "kg"
    f = findings("pc", pc, units, study)
    assert keys(f) == [(3, "PCORRESU", "unit_known", "error", "kg")]
    assert "accepted: g/L, mg/L, mg/mL, ng/mL, ug/L, ug/mL" in f["message"].iloc[0]


@pytest.mark.parametrize("value", ["<BLQ", "blq", "<LLOQ", "<0.25"])
def test_pcorres_below_the_lloq_forms(value, units):
    pc = text("pc")
    pc.loc[1, "PCORRES"] = value
    assert findings("pc", pc, units).empty


def test_aerel_terms_come_from_config(config, units):
    ae = text("ae")
    ae["AEREL"] = "Y"
    rules = StudyRules(aerel_terms=("Y", "N"))
    assert findings("ae", ae, units, rules).empty
    ae.loc[0, "AEREL"] = "RELATED"
    assert keys(findings("ae", ae, units, rules)) == [(1, "AEREL", "controlled_term", "error", "RELATED")]
    cfg = {**config, "ae": {**config["ae"], "related_terms": ["Y"], "unrelated_terms": ["N"]}}
    assert study_params(cfg, "ae")["aerel_terms"] == ["Y", "N"]


def test_aesev_is_accepted_without_aetoxgr_with_a_notice(units):
    ae = text("ae").drop(columns=["AETOXGR"])
    ae["AESEV"] = ["MILD", "moderate", "SEVERE", "MILD"]
    assert keys(findings("ae", ae, units)) == [(None, "AESEV", "severity_scale", "notice", "AESEV")]
    ae.loc[1, "AESEV"] = "GRADE 2"
    assert (2, "AESEV", "controlled_term", "error", "GRADE 2") in keys(findings("ae", ae, units))
    empty_grade = text("ae").assign(AETOXGR=None, AESEV="MILD")  # exported but never collected
    assert list(findings("ae", empty_grade, units)["check"]) == ["severity_scale"]
    neither = text("ae").drop(columns=["AETOXGR"])
    f = findings("ae", neither, units)
    assert keys(f) == [(None, "AETOXGR", "required_column", "error", "")]
    assert "AETOXGR (or AESEV" in f["message"].iloc[0]


# ----------------------------------------------------------------------------- study period and dates
def test_study_period_ends_at_rfpendtc_when_present():
    dm = text("dm")
    qs = text("qs")
    qs.loc[2, "QSDTC"] = "2022-12-01"  # S1: after RFENDTC 2022-09-06 + 30 days
    assert len(dates_in_study_period(qs, "qs", dm, "qs.csv", 42, 30)) == 1
    dm["RFPENDTC"] = ["2022-12-15", None, None]  # end of participation later: in the period
    assert dates_in_study_period(qs, "qs", dm, "qs.csv", 42, 30).empty
    dm["RFPENDTC"] = ["2022-11-30", None, None]
    f = dates_in_study_period(qs, "qs", dm, "qs.csv", 42, 30)
    assert keys(f) == [(3, "QSDTC", "date_in_study_period", "warning", "2022-12-01")]
    assert "to 2022-11-30] (RFSTDTC - 42 days to RFPENDTC)" in f["message"].iloc[0]


@pytest.mark.parametrize(
    "value, partial, precision",
    [
        ("2014-01-02T11", False, "hour"),
        ("2014-01-02T11:30", False, "minute"),
        ("2014-01-02T11:30:15", False, "second"),
        ("2014-01-02T11:30:15.123", False, "second"),
        ("2014-01", True, "month"),
        ("2014---02", True, "year"),  # SDTMIG: month missing
        ("2014-01-02T25", False, None),
        ("2014-01", False, None),
        ("2014-02-30", True, None),
    ],
)
def test_iso8601_as_sdtmig_allows_it(value, partial, precision):
    p = parse_iso(value, allow_partial=partial)
    assert (p.precision if p else None) == precision
    frame = iso_frame(pd.Series([value, None, value]), allow_partial=partial)
    assert frame["ok"].tolist() == [precision is not None, True, precision is not None]


def test_dates_the_analysis_needs_must_be_complete_others_may_be_partial(units):
    lb = text("lb").assign(LBENDTC="2022-03")  # an extra date variable: partial allowed
    lb.loc[0, "LBDTC"] = "2022-02-26T08:00:00.5"
    assert findings("lb", lb, units).empty
    lb.loc[1, "LBDTC"] = "2022-02"
    assert keys(findings("lb", lb, units)) == [(2, "LBDTC", "iso8601", "error", "2022-02")]


# ----------------------------------------------------------------------------- DM: screen failures, BRTHDTC
def test_screen_failures_are_not_errors(units):
    dm = add_rows(text("dm"), [
        {"STUDYID": "NCT04227470", "USUBJID": "BATO-103-901", "SITEID": "103", "AGE": "30", "AGEU": "YEARS",
         "SEX": "F", "ARMCD": "Scrnfail", "ARM": "Screen Failure", "RFICDTC": "2022-05-01"},
        {"STUDYID": "NCT04227470", "USUBJID": "BATO-103-902", "SITEID": "103", "AGE": "33", "AGEU": "YEARS",
         "SEX": "F", "RFICDTC": "2022-05-02", "ARMNRS": "SCREEN FAILURE"},  # SDTMIG 3.3: ARMCD empty
    ])  # fmt: skip
    f = findings("dm", dm, units)
    assert keys(f) == [(None, "ARMCD", "not_assigned", "notice", "2")]
    assert "(SCREEN FAILURE: 1, SCRNFAIL: 1)" in f["message"].iloc[0]
    dm.loc[0, "RFSTDTC"] = None  # an assigned subject still needs RFSTDTC
    assert (1, "RFSTDTC", "required_value", "error", "") in keys(findings("dm", dm, units))
    dm.loc[3, "ARMCD"] = "SCRNFAILED"
    assert (4, "ARMCD", "controlled_term", "error", "SCRNFAILED") in keys(findings("dm", dm, units))


def test_brthdtc_is_read_checked_and_never_written(units):
    dm = text("dm").assign(BRTHDTC=["1981", "1987-03", "1970-01-15"])
    assert keys(findings("dm", dm, units)) == [(None, "BRTHDTC", "identifier_dropped", "notice", "BRTHDTC")]
    assert "BRTHDTC" not in type_table(dm).columns
    dm.loc[1, "BRTHDTC"] = "03/1987"
    f = findings("dm", dm, units)
    assert (2, "BRTHDTC", "iso8601", "error", "") in keys(f)  # reported, the value not quoted
    assert "03/1987" not in f.to_csv() and "BRTHDTC (value not shown): must be an ISO 8601 date" in f.to_csv()
    dm = text("dm").assign(DOB="1981")  # not an SDTM variable: still refused
    assert [r[2] for r in keys(findings("dm", dm, units))] == ["direct_identifier"]


def test_placebo_administrations_and_arm_are_accepted(units):
    ex = text("ex")
    rows = ex["USUBJID"] == S3
    ex.loc[rows & (ex["EXTRT"] == "BATOCLIMAB"), ["EXTRT", "EXDOSE"]] = ["PLACEBO", "0"]
    assert findings("ex", ex, units).empty
    dm = text("dm")
    dm.loc[2, ["ARMCD", "ARM"]] = ["PBO", "Placebo"]
    assert findings("dm", dm, units).empty
    assert study_params({"study": {"treatment": "X", "comedication": "Y", "screening_window_days": 1,
                                   "followup_grace_days": 2}}, "ex")["treatments"] == ["X", "Y", "PLACEBO"]  # fmt: skip


# ----------------------------------------------------------------------------- the report
def test_report_opens_with_a_summary_and_caps_rows_per_check():
    n = MAX_PER_CHECK + 25
    many = make_failures(
        [{"file": "qs.csv", "row": i + 1, "column": "QSORRES", "check": "range", "value": "11", "message": "m"}
         for i in range(n)]
        + [{"file": "lb.csv", "column": "LBTESTCD", "check": "set_aside", "value": "HGB",
            "message": "1,234 record(s) with LBTESTCD 'HGB' set aside"},
           {"file": "lb.csv", "row": 7, "column": "LBDTC", "check": "date_in_study_period", "value": "2030-01-01",
            "message": "w"}]
    )  # fmt: skip
    from fcrnpipe.validation import DOMAINS

    failures = {d: many[many["file"] == f"{d}.csv"] for d in DOMAINS}
    typed = {d: pd.DataFrame({"A": [1]}) for d in DOMAINS}
    _merged, html = build_report(DOMAINS, {d: f"{d}.csv" for d in DOMAINS}, typed, failures)
    summary = html[html.index("Summary of findings") : html.index("Summary per file")]
    rows = re.findall(r"<tr><td><code>(\w+\.csv)</code></td><td><a href=\"#[^\"]+\"><code>(\w+)</code></a></td>\s*"
                      r"<td class=\"(\w+)\">\w+</td><td class=\"num\">(\d+)</td><td>([^<]*)</td></tr>", summary)  # fmt: skip
    assert [r[:4] for r in rows] == [
        ("qs.csv", "range", "error", str(n)),
        ("lb.csv", "date_in_study_period", "warning", "1"),
        ("lb.csv", "set_aside", "notice", "1"),
    ]
    assert rows[0][4] == "row 1: &#39;11&#39;; row 2: &#39;11&#39;; row 3: &#39;11&#39;"
    assert html.count("<td>qs.csv</td>") == MAX_PER_CHECK and "25 more in" in html
    assert '<a href="failures.csv">' in html
    lb_row = re.search(r"<tr><td>LB</td>.*?</tr>", html, re.S).group(0)
    assert re.findall(r'class="num">(\d+)<', lb_row) == ["1", "1234", "1", "0", "1", "1"] and "WARN" in lb_row
    assert "FAIL: 75 error(s) in 1 of 8 export(s)" in html
