"""Cross-domain checks: subjects in DM, exposure after RFSTDTC, dates in the study period
(partial AE dates at their precision), baseline IgG of treated subjects."""

from __future__ import annotations

import pandas as pd
import pytest
from cutfactory import SUBJECTS, valid_cut_frames

from fcrnpipe.validation.cross import (
    baseline_igg,
    cross_failures,
    dates_in_study_period,
    exposure_after_reference,
    orphan_subjects,
    subject_periods,
)
from fcrnpipe.validation.schemas import StudyRules

S1, S2, S3 = SUBJECTS  # RFSTDTC 2022-03-01T09:00 / 2022-04-04T10:30 / 2022-05-09T09:15 (ongoing)


def text(domain: str) -> pd.DataFrame:
    df = valid_cut_frames()[domain]
    return df.astype(object).where(df != "", None)


def tuples(failures: pd.DataFrame) -> list[tuple]:
    return [
        (r["file"], None if pd.isna(r["row"]) else int(r["row"]), r["column"], r["check"], r["value"])
        for r in failures.to_dict("records")
    ]


@pytest.mark.parametrize("domain", ["ex", "vs", "lb", "pc", "qs", "ae", "ds"])
def test_valid_cut_has_no_cross_failures(domain):
    failures = cross_failures(domain, text(domain), f"{domain}.csv", text("dm"), text("ex"), StudyRules())
    assert failures.empty, failures.to_string()


def test_subject_periods_use_the_config_margins():
    periods = subject_periods(text("dm"), screening_window_days=42, followup_grace_days=30)
    assert str(periods.at[S1, "lo"].date()) == "2022-01-18"  # 2022-03-01 - 42 days
    assert str(periods.at[S1, "hi"].date()) == "2022-10-06"  # 2022-09-06 + 30 days
    assert pd.isna(periods.at[S3, "hi"])  # ongoing


def test_orphan_subject():
    ae = text("ae")
    ae.loc[2, "USUBJID"] = "BATO-999-999"
    failures = orphan_subjects(ae, text("dm"), "ae.csv", "dm.csv")
    assert tuples(failures) == [("ae.csv", 3, "USUBJID", "orphan_subject", "BATO-999-999")]
    assert "does not exist in DM (dm.csv)" in failures["message"].iloc[0]


def test_orphan_check_in_every_dependent_domain():
    dm = text("dm").iloc[:2]  # S3 removed from DM
    for domain in ["ex", "vs", "lb", "pc", "qs", "ae", "ds"]:
        df = text(domain)
        failures = cross_failures(domain, df, f"{domain}.csv", dm, None, StudyRules())
        expected_rows = [i + 1 for i in df.index[df["USUBJID"] == S3]]
        assert expected_rows, domain
        assert tuples(failures) == [
            (f"{domain}.csv", r, "USUBJID", "orphan_subject", S3) for r in expected_rows
        ]


def test_exposure_before_rfstdtc_date_part():
    ex = text("ex")
    ex.loc[0, "EXSTDTC"] = "2022-02-28T12:00"  # day before S1's RFSTDTC
    ex.loc[1, "EXSTDTC"] = "2022-03-01T07:00"  # same date, earlier time: date part is compared -> fine
    failures = exposure_after_reference(ex, text("dm"), "ex.csv", "dm.csv")
    assert tuples(failures) == [("ex.csv", 1, "EXSTDTC", "exposure_after_rfstdtc", "2022-02-28T12:00")]
    assert "RFSTDTC 2022-03-01T09:00" in failures["message"].iloc[0]


@pytest.mark.parametrize(
    "value, fails",
    [
        ("2022-01-18", False),  # RFSTDTC - 42 days: first day of the period
        ("2022-01-17", True),
        ("2022-10-06T23:59", False),  # RFENDTC + 30 days: last day of the period
        ("2022-10-07", True),
    ],
)
def test_lb_date_in_study_period_bounds(value, fails):
    lb = text("lb")
    row = int(lb.index[(lb["USUBJID"] == S1) & (lb["LBTESTCD"] == "ALB")][0])
    lb.loc[row, "LBDTC"] = value
    failures = dates_in_study_period(lb, "lb", text("dm"), "lb.csv", 42, 30)
    expected = [("lb.csv", row + 1, "LBDTC", "date_in_study_period", value)] if fails else []
    assert tuples(failures) == expected


def test_period_follows_the_configured_margins():
    qs = text("qs")
    qs.loc[0, "QSDTC"] = "2022-02-01"  # 28 days before S1's RFSTDTC
    assert len(dates_in_study_period(qs, "qs", text("dm"), "qs.csv", 42, 30)) == 0
    failures = dates_in_study_period(qs, "qs", text("dm"), "qs.csv", 14, 30)
    assert tuples(failures) == [("qs.csv", 1, "QSDTC", "date_in_study_period", "2022-02-01")]
    assert "[2022-02-15 to 2022-10-06]" in failures["message"].iloc[0]


def test_ongoing_subject_has_no_upper_bound():
    pc = text("pc")
    row = int(pc.index[pc["USUBJID"] == S3][-1])
    pc.loc[row, "PCDTC"] = "2030-01-01T10:00"
    assert dates_in_study_period(pc, "pc", text("dm"), "pc.csv", 42, 30).empty
    pc.loc[row, "PCDTC"] = "2022-03-01T10:00"  # 69 days before S3's RFSTDTC
    assert tuples(dates_in_study_period(pc, "pc", text("dm"), "pc.csv", 42, 30)) == [
        ("pc.csv", row + 1, "PCDTC", "date_in_study_period", "2022-03-01T10:00")
    ]


@pytest.mark.parametrize(
    "value, fails",
    [
        ("2022-01", False),  # January 2022 overlaps [2022-01-18, 2022-10-06]
        ("2021-12", True),
        ("2022", False),
        ("2021", True),
        ("2022-10", False),
        ("2022-11", True),
        ("2022-01-17", True),
    ],
)
def test_partial_ae_dates_are_compared_at_their_precision(value, fails):
    ae = text("ae")
    ae.loc[0, "AESTDTC"] = value  # S1
    ae.loc[0, "AEENDTC"] = None
    failures = dates_in_study_period(ae, "ae", text("dm"), "ae.csv", 42, 30)
    assert tuples(failures) == ([("ae.csv", 1, "AESTDTC", "date_in_study_period", value)] if fails else [])


def test_ex_and_vs_dates_are_checked_too():
    ex, vs = text("ex"), text("vs")
    ex.loc[2, "EXENDTC"] = "2023-01-01T09:00"  # S1, after RFENDTC + 30
    vs.loc[0, "VSDTC"] = "2021-06-01"
    assert tuples(cross_failures("ex", ex, "ex.csv", text("dm"), None, StudyRules())) == [
        ("ex.csv", 3, "EXENDTC", "date_in_study_period", "2023-01-01T09:00")
    ]
    assert tuples(cross_failures("vs", vs, "vs.csv", text("dm"), None, StudyRules())) == [
        ("vs.csv", 1, "VSDTC", "date_in_study_period", "2021-06-01")
    ]


def _drop_pre_dose_igg(lb: pd.DataFrame, subject: str) -> pd.DataFrame:
    pre = (lb["USUBJID"] == subject) & (lb["LBTESTCD"] == "IGG") & lb["VISIT"].isin(["SCREENING", "DAY 1"])
    assert pre.sum() == 2
    return lb[~pre]


def test_baseline_igg_missing_for_a_treated_subject():
    lb = _drop_pre_dose_igg(text("lb"), S2)
    failures = baseline_igg(lb, text("ex"), "lb.csv", "BATOCLIMAB", "ex.csv")
    assert tuples(failures) == [("lb.csv", None, "LBORRES", "baseline_igg", S2)]
    assert "first dose 2022-04-04T10:30 in ex.csv" in failures["message"].iloc[0]


def test_baseline_igg_must_be_non_missing():
    lb = text("lb")
    pre = (lb["USUBJID"] == S1) & (lb["LBTESTCD"] == "IGG") & lb["VISIT"].isin(["SCREENING", "DAY 1"])
    lb.loc[pre, "LBORRES"] = None
    assert tuples(baseline_igg(lb, text("ex"), "lb.csv", "BATOCLIMAB")) == [
        ("lb.csv", None, "LBORRES", "baseline_igg", S1)
    ]


@pytest.mark.parametrize(
    "lbdtc, fails",
    [
        ("2022-03-01T08:59", False),  # before the first dose (09:00)
        ("2022-03-01T09:00", False),  # at the dose: "on or before"
        ("2022-03-01T09:01", True),  # after it
        ("2022-03-01", False),  # date only, on the dose day: compared by date
        ("2022-03-02", True),
    ],
)
def test_baseline_igg_timing(lbdtc, fails):
    lb = _drop_pre_dose_igg(text("lb"), S1)
    extra = {c: None for c in lb.columns} | {
        "USUBJID": S1,
        "LBSEQ": "99",
        "LBTESTCD": "IGG",
        "LBORRES": "<2.0",
        "LBORRESU": "g/L",
        "VISIT": "DAY 1",
        "VISITNUM": "2",
        "LBDTC": lbdtc,
    }
    lb = pd.concat([lb, pd.DataFrame([extra], index=[999])])
    failures = baseline_igg(lb, text("ex"), "lb.csv", "BATOCLIMAB")
    assert tuples(failures) == ([("lb.csv", None, "LBORRES", "baseline_igg", S1)] if fails else [])


def test_untreated_subject_needs_no_baseline():
    ex = text("ex")
    ex = ex[~((ex["USUBJID"] == S3) & (ex["EXTRT"] == "BATOCLIMAB"))]  # S3: methylprednisolone only
    lb = _drop_pre_dose_igg(text("lb"), S3)
    assert baseline_igg(lb, ex, "lb.csv", "BATOCLIMAB").empty
    assert tuples(baseline_igg(lb, text("ex"), "lb.csv", "BATOCLIMAB")) == [
        ("lb.csv", None, "LBORRES", "baseline_igg", S3)
    ]


def test_cross_checks_are_skipped_when_dm_or_ex_are_unreadable():
    lb = _drop_pre_dose_igg(text("lb"), S1)
    lb.loc[lb.index[0], "USUBJID"] = "BATO-999-999"
    assert cross_failures("lb", lb, "lb.csv", None, None, StudyRules()).empty
    with_ex = cross_failures("lb", lb, "lb.csv", None, text("ex"), StudyRules())
    assert set(with_ex["check"]) == {"baseline_igg"}


def test_subject_without_valid_rfstdtc_is_not_period_checked():
    dm = text("dm")
    dm.loc[0, "RFSTDTC"] = "March 2022"  # reported by the DM schema, not here
    qs = text("qs")
    qs.loc[0, "QSDTC"] = "1999-01-01"
    assert dates_in_study_period(qs, "qs", dm, "qs.csv", 42, 30).empty
