"""ADLB on the 3-subject cut and variants: units, censoring, titres, baseline, grades, visits."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cutfactory import valid_cut_frames
from fcrnpipe.derive import ADLB_COLUMNS, derive_adlb, derive_adsl
from fcrnpipe.errors import UserError
from test_derive_helpers import ARMS, CTCAE, RANGES, S1, S2, S3, UNITS, VISITS, cut_tables, row

T = pd.Timestamp


def adlb_of(t, **options):
    adsl = derive_adsl(t["dm"], t["ex"], t["ds"], t["vs"], t["lb"], t["pc"], t["qs"], UNITS, ARMS)
    return derive_adlb(adsl, t["lb"], UNITS, RANGES, CTCAE, VISITS, **options)


def lb_with(changes):
    """The cut's LB text frame with ``{(subject, test, visit): {column: value}}`` applied."""
    lb = valid_cut_frames()["lb"]
    for (subj, test, visit), values in changes.items():
        m = (lb["USUBJID"] == subj) & (lb["LBTESTCD"] == test) & (lb["VISIT"] == visit)
        assert m.sum() == 1
        for col, v in values.items():
            lb.loc[m, col] = v
    return lb


@pytest.fixture(scope="module")
def adlb():
    return adlb_of(cut_tables())


def test_shape_order_and_types(adlb):
    assert list(adlb.columns) == ADLB_COLUMNS
    assert len(adlb) == 36 and adlb["DTYPE"].isna().all()
    key = adlb[["USUBJID", "PARAMCD", "ADT"]].astype(str).apply(tuple, axis=1).tolist()
    assert key == sorted(key)
    for col, dtype in {
        "LBSEQ": "Int64",
        "ADY": "Int64",
        "AVISITN": "Int64",
        "ATOXGR": "Int64",
        "ADTM": "datetime64[ns]",
        "ADT": "datetime64[ns]",
        "AVAL": "float64",
    }.items():
        assert str(adlb[col].dtype) == dtype, col
    r = row(adlb, USUBJID=S1, PARAMCD="IGG", VISIT="WEEK 1")
    assert (r["ADTM"], r["ADT"], r["ADY"], r["AVISIT"], r["AVISITN"]) == (
        T("2022-03-08 08:00"),
        T("2022-03-08"),
        8,
        "WEEK 1",
        1,
    )
    assert (r["ARMCD"], r["TRT01A"], r["SITEID"], r["PARAM"]) == (
        "BATO340",
        "Batoclimab 340 mg",
        "101",
        "Immunoglobulin G (g/L)",
    )


def test_unit_conversion_to_standard_units(adlb):
    igg = row(adlb, USUBJID=S2, PARAMCD="IGG", VISIT="DAY 1")  # 1120 mg/dL
    assert (igg["AVAL"], igg["AVALU"], igg["AVALC"], igg["LBORRESU"]) == (11.2, "g/L", "1120", "mg/dL")
    assert (igg["ANRLO"], igg["ANRHI"]) == (7.0, 16.0)  # 700-1600 mg/dL
    alb = row(adlb, USUBJID=S2, PARAMCD="ALB", VISIT="WEEK 4")  # 3.6 g/dL
    assert (alb["AVAL"], alb["AVALU"], alb["ANRLO"]) == (36.0, "g/L", 35.0)
    chol = row(adlb, USUBJID=S2, PARAMCD="CHOL", VISIT="WEEK 4")  # 240 mg/dL
    assert chol["AVAL"] == pytest.approx(240 * 0.025859839) and chol["AVAL"] == pytest.approx(6.2063614)
    assert chol["AVALU"] == "mmol/L" and chol["ANRHI"] == pytest.approx(5.1719678) and np.isnan(chol["ANRLO"])


def test_censored_lab_value_and_change(adlb):
    r = row(adlb, USUBJID=S2, PARAMCD="IGG", VISIT="WEEK 4")  # "<250" mg/dL
    assert (r["CENSFL"], r["LLOQ"], r["AVAL"], r["AVALC"]) == ("Y", 2.5, 1.25, "<250")
    assert (r["BASE"], r["CHG"]) == (11.2, pytest.approx(-9.95)) and r["PCHG"] == pytest.approx(-88.8392857)
    plain = row(adlb, USUBJID=S2, PARAMCD="IGG", VISIT="WEEK 1")
    assert plain["CENSFL"] == "N" and np.isnan(plain["LLOQ"]) and plain["UNDETFL"] is None


@pytest.mark.parametrize("method, expected", [("half_limit", 1.25), ("limit", 2.5), ("zero", 0.0), ("missing", None)])
def test_lab_censoring_options(method, expected):
    r = row(adlb_of(cut_tables(), lab_censoring=method), USUBJID=S2, PARAMCD="IGG", VISIT="WEEK 4")
    assert r["LLOQ"] == 2.5 and r["CENSFL"] == "Y"
    if expected is None:
        assert np.isnan(r["AVAL"]) and np.isnan(r["CHG"]) and r["ANL01FL"] == "Y"  # still the visit's result
    else:
        assert r["AVAL"] == expected


def test_titres(adlb):
    pos = row(adlb, USUBJID=S1, PARAMCD="AQP4AB", VISIT="SCREENING")
    assert (pos["AVAL"], pos["UNDETFL"], pos["CENSFL"], pos["AVALU"]) == (100.0, "N", "N", "titre")
    assert pos["LOG2AVAL"] == pytest.approx(math.log2(100)) and pos["ABLFL"] == "Y"
    wk4 = row(adlb, USUBJID=S1, PARAMCD="AQP4AB", VISIT="WEEK 4")
    assert (wk4["AVAL"], wk4["CHG"], wk4["PCHG"]) == (40.0, -60.0, -60.0)
    neg = row(adlb, USUBJID=S3, PARAMCD="AQP4AB", VISIT="WEEK 4")
    assert (neg["AVAL"], neg["UNDETFL"], neg["CENSFL"], neg["LLOQ"]) == (5.0, "Y", "Y", 10.0)
    assert neg["LOG2AVAL"] == pytest.approx(2.3219281) and neg["AVALC"] == "NEGATIVE"
    assert neg["ATOXGR"] is pd.NA and neg["ANRIND"] is None
    zero = row(adlb_of(cut_tables(), titre_censoring="zero"), USUBJID=S3, PARAMCD="AQP4AB", VISIT="WEEK 4")
    assert zero["AVAL"] == 0.0 and np.isnan(zero["LOG2AVAL"]) and zero["UNDETFL"] == "Y"
    miss = row(adlb_of(cut_tables(), titre_censoring="missing"), USUBJID=S3, PARAMCD="AQP4AB", VISIT="WEEK 4")
    assert np.isnan(miss["AVAL"]) and miss["UNDETFL"] == "Y" and miss["ANL01FL"] == "Y"


def test_right_censored_value():
    t = cut_tables(lb=lb_with({(S2, "IGG", "WEEK 1"): {"LBORRES": ">2000"}}))
    r = row(adlb_of(t), USUBJID=S2, PARAMCD="IGG", VISIT="WEEK 1")
    assert (r["AVAL"], r["CENSFL"]) == (20.0, "Y") and np.isnan(r["LLOQ"])


def test_baseline_flags_and_visits(adlb):
    igg = adlb[(adlb["USUBJID"] == S1) & (adlb["PARAMCD"] == "IGG")]
    assert igg["VISIT"].tolist() == ["SCREENING", "DAY 1", "WEEK 1", "WEEK 4"]
    assert igg["ABLFL"].tolist() == [None, "Y", None, None]  # day 1 08:00, before the 09:00 dose
    assert igg["BASE"].isna().tolist() == [True, False, False, False]
    assert igg["CHG"].tolist()[1:] == [0.0, pytest.approx(-2.9), pytest.approx(-4.0)]
    assert igg["PCHG"].tolist()[1:] == [0.0, pytest.approx(-29.0), pytest.approx(-40.0)]
    assert igg["ADY"].tolist() == [-3, 1, 8, 29] and igg["AVISITN"].tolist() == [-1, 0, 1, 4]
    assert (adlb["ANL01FL"] == "Y").all()


def test_same_day_retest_later_first_mean():
    lb = valid_cut_frames()["lb"]
    retest = lb[(lb["USUBJID"] == S1) & (lb["LBTESTCD"] == "IGG") & (lb["VISIT"] == "DAY 1")].copy()
    retest["LBSEQ"], retest["LBORRES"], retest["LBDTC"] = "13", "9.6", "2022-03-01T08:30"
    t = cut_tables(lb=pd.concat([lb, retest], ignore_index=True))
    later = adlb_of(t)
    day1 = later[(later["USUBJID"] == S1) & (later["PARAMCD"] == "IGG") & (later["AVISIT"] == "DAY 1")]
    assert day1["LBSEQ"].tolist() == [5, 13] and day1["ABLFL"].tolist() == [None, "Y"]
    assert day1["ANL01FL"].tolist() == [None, "Y"]  # same day: the later one
    assert row(later, USUBJID=S1, PARAMCD="IGG", VISIT="WEEK 1")["CHG"] == pytest.approx(-2.5)
    first = adlb_of(t, same_day="first")
    assert row(first, USUBJID=S1, PARAMCD="IGG", VISIT="WEEK 1")["CHG"] == pytest.approx(-2.9)
    mean = adlb_of(t, same_day="mean")
    avg = row(mean, DTYPE="AVERAGE")
    assert (avg["USUBJID"], avg["PARAMCD"], avg["AVAL"], avg["ABLFL"]) == (S1, "IGG", pytest.approx(9.8), "Y")
    assert avg["LBSEQ"] is pd.NA and avg["LBORRES"] is None and avg["ANL01FL"] is None
    assert avg["AVISIT"] == "DAY 1" and avg["ATOXGR"] is pd.NA
    wk1 = row(mean, USUBJID=S1, PARAMCD="IGG", VISIT="WEEK 1")
    assert wk1["BASE"] == pytest.approx(9.8) and wk1["CHG"] == pytest.approx(-2.7)
    assert len(mean) == 38 and mean["ABLFL"].eq("Y").sum() == 12  # one baseline per subject and parameter


def test_grades_ranges_and_fallback(adlb):
    s3 = row(adlb, USUBJID=S3, PARAMCD="ALB", VISIT="WEEK 4")  # 31 g/L, LLN 35
    assert (s3["ATOXGR"], s3["BTOXGR"], s3["ANRIND"]) == (1, 0, "LOW")
    chol = row(adlb, USUBJID=S2, PARAMCD="CHOL", VISIT="WEEK 4")  # 6.21 > ULN 5.17 mmol/L
    assert (chol["ATOXGR"], chol["BTOXGR"], chol["ANRIND"]) == (1, 0, "HIGH")
    scr = row(adlb, USUBJID=S2, PARAMCD="CHOL", VISIT="SCREENING")
    assert scr["ATOXGR"] == 0 and scr["BTOXGR"] is pd.NA  # before baseline: no BASE, no BTOXGR
    assert row(adlb, USUBJID=S1, PARAMCD="IGG", VISIT="WEEK 4")["ATOXGR"] is pd.NA  # IgG is not graded
    t = cut_tables(
        lb=lb_with(
            {
                (S1, "IGG", "DAY 1"): {"LBORNRLO": "", "LBORNRHI": ""},  # no range -> reference_ranges.csv
                (S1, "IGG", "WEEK 1"): {"LBORNRLO": "7.51", "LBORNRHI": "15.60"},  # the lab's own range
            }
        )
    )
    out = adlb_of(t)
    assert (row(out, USUBJID=S1, PARAMCD="IGG", VISIT="DAY 1")[["ANRLO", "ANRHI"]] == [7.0, 16.0]).all()
    wk1 = row(out, USUBJID=S1, PARAMCD="IGG", VISIT="WEEK 1")
    assert (wk1["ANRLO"], wk1["ANRHI"], wk1["ANRIND"]) == (7.51, 15.6, "LOW")  # 7.1 < 7.51


@pytest.mark.parametrize(
    "reported, aval, grade", [("3.0", 30.0, 1), ("2.99", 29.9, 2), ("1.99", 19.9, 3), ("3.5", 35.0, 0)]
)
def test_albumin_grade_boundaries_after_conversion(reported, aval, grade):
    # g/dL x 10 -> g/L, exact (2.99 * 10 is 29.900000000000002 in binary floating point)
    t = cut_tables(lb=lb_with({(S2, "ALB", "WEEK 4"): {"LBORRES": reported}}))  # LLN 3.5 g/dL = 35 g/L
    r = row(adlb_of(t), USUBJID=S2, PARAMCD="ALB", VISIT="WEEK 4")
    assert r["AVAL"] == aval and r["ATOXGR"] == grade


def test_bad_values_are_user_errors():
    t = cut_tables(lb=lb_with({(S1, "ALB", "WEEK 4"): {"LBORRESU": "g/ml"}}))  # g/dl would be g/dL in any case
    with pytest.raises(UserError, match=f"lb.parquet, USUBJID {S1}, LBSEQ 10, column LBORRESU: 'g/ml'"):
        adlb_of(t)
    t = cut_tables(lb=lb_with({(S1, "IGG", "WEEK 4"): {"LBORRES": "1:100"}}))
    with pytest.raises(UserError, match=f"USUBJID {S1}, LBSEQ 9, column LBORRES: '1:100' is not a number"):
        adlb_of(t)
    t = cut_tables(lb=lb_with({(S1, "AQP4AB", "WEEK 4"): {"LBORRES": "40"}}))
    with pytest.raises(UserError, match="column LBORRES: '40' is not a titre"):
        adlb_of(t)
