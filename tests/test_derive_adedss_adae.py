"""ADEDSS (baseline, CRIT1FL both branches) and ADAE (imputation, TEAE, first/max flags)."""

from __future__ import annotations

import pandas as pd
import pytest

from cutfactory import valid_cut_frames
from fcrnpipe.derive import ADAE_COLUMNS, ADEDSS_COLUMNS, derive_adae, derive_adedss, derive_adsl
from test_derive_helpers import ARMS, CONFIG, S1, S2, S3, UNITS, VISITS, cut_tables, row

T = pd.Timestamp
IMPROVEMENT = CONFIG["edss"]["improvement"]  # cut 5.5, large 1.0, small 0.5
RELATED = CONFIG["ae"]["related_terms"]


def adsl_of(t):
    return derive_adsl(t["dm"], t["ex"], t["ds"], t["vs"], t["lb"], t["pc"], t["qs"], UNITS, ARMS)


def adedss_of(t, improvement=IMPROVEMENT):
    return derive_adedss(adsl_of(t), t["qs"], VISITS, improvement)


def test_adedss_baseline_change_and_crit1fl():
    e = adedss_of(cut_tables())
    assert list(e.columns) == ADEDSS_COLUMNS and len(e) == 9
    assert e["ABLFL"].tolist() == ["Y", None, None] * 3  # day-1 score (date only, on the dose day)
    assert e["AVISIT"].tolist() == ["DAY 1", "WEEK 1", "WEEK 4"] * 3
    # S1 baseline 6.5 (> 5.5: 0.5 suffices); S2 4.0 (<= 5.5: needs 1.0); S3 7.0
    assert e["CHG"].tolist() == [0.0, -0.5, -2.0, 0.0, -0.5, -2.0, 0.0, 0.0, -0.5]
    assert e["CRIT1FL"].tolist() == [None, "Y", "Y", None, "N", "Y", None, "N", "Y"]
    assert e["PCHG"].iloc[2] == pytest.approx(-30.7692308)  # -2 / 6.5
    assert e["CRIT1"].iloc[0] == "EDSS improved: decrease >= 1 if baseline <= 5.5, >= 0.5 if baseline > 5.5"
    assert (e["ANL01FL"] == "Y").all() and (e["PARAMCD"] == "EDSS").all()
    assert row(e, USUBJID=S2, VISIT="WEEK 4")["ADT"] == T("2022-05-02")


def test_crit1fl_at_the_cut_and_with_another_definition():
    qs = valid_cut_frames()["qs"]
    m = qs["USUBJID"] == S2
    qs.loc[m, "QSORRES"] = ["5.5", "5.0", "4.5"]  # baseline exactly at the cut: needs a 1.0 decrease
    e = adedss_of(cut_tables(qs=qs))
    assert e.loc[e["USUBJID"] == S2, "CRIT1FL"].tolist() == [None, "N", "Y"]
    stricter = adedss_of(cut_tables(), {"cut": 6.5, "large": 1.0, "small": 0.5})
    assert stricter.loc[stricter["USUBJID"] == S1, "CRIT1FL"].tolist() == [None, "N", "Y"]  # 6.5 <= cut now


def test_adae_on_the_cut():
    t = cut_tables()
    a = derive_adae(adsl_of(t), t["ae"], RELATED, 190)
    assert list(a.columns) == ADAE_COLUMNS
    assert a[["USUBJID", "AESEQ"]].apply(tuple, axis=1).tolist() == [(S1, 1), (S2, 1), (S2, 2), (S3, 1)]
    partial = row(a, USUBJID=S2, AESEQ=2)  # "2022-05", ongoing; first dose 2022-04-04
    assert (partial["ASTDT"], partial["ASTDTF"], partial["ASTDY"]) == (T("2022-05-01"), "D", 28)
    assert pd.isna(partial["AENDT"]) and partial["AENDTF"] is None and partial["AENDY"] is pd.NA
    assert a["RELFL"].tolist() == ["Y", "N", "Y", "Y"]  # UNLIKELY RELATED is not related
    assert a["DISCFL"].tolist() == ["N", "N", "N", "Y"]  # DRUG WITHDRAWN
    assert a["TRTEMFL"].tolist() == ["Y"] * 4 and a["ATOXGR"].tolist() == [1, 1, 2, 2]
    assert str(a["ATOXGR"].dtype) == "Int64"
    s1 = row(a, USUBJID=S1, AESEQ=1)
    assert (s1["ASTDY"], s1["AENDY"], s1["ASTDTF"]) == (2, 3, None)


def _ae(rows):
    cols = [
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
    ]
    return pd.DataFrame(
        [[S1, str(i + 1), r[0], r[0], "SOC", r[1], r[2], r[3], "N", "NOT RELATED", r[4]] for i, r in enumerate(rows)],
        columns=cols,
    )


def test_teae_window_imputation_and_first_and_max_flags():
    # S1: first dose 2022-03-01, last dose 2022-03-22 (+190 days = 2022-09-28), end of study 2022-09-06
    ae = _ae(
        [
            ("Headache", "2022-02-27", "2022-02-28", "1", "DOSE NOT CHANGED"),  # before the first dose
            ("Headache", "2022-03-05", "2022-03-06", "1", "DOSE NOT CHANGED"),
            ("Headache", "2022-03-10", "2022-03-11", "3", "DOSE NOT CHANGED"),
            ("Headache", "2022-03-20", "2022-03-21", "3", "DRUG WITHDRAWN"),
            ("Rash", "2022-03", "2022-09", "2", "NOT APPLICABLE"),  # covers the first dose / the end of study
            ("Fatigue", "2022-09-28", "", "1", "NOT APPLICABLE"),  # last day of the TEAE window
            ("Fatigue", "2022-09-29", "", "2", "NOT APPLICABLE"),  # one day after it
        ]
    )
    t = cut_tables(ae=ae)
    a = derive_adae(adsl_of(t), t["ae"], RELATED, 190)
    assert a["TRTEMFL"].tolist() == [None, "Y", "Y", "Y", "Y", "Y", None]
    assert a["ASTDY"].tolist() == [-2, 5, 10, 20, 1, 212, 213]
    rash = a.iloc[4]
    assert (rash["ASTDT"], rash["ASTDTF"], rash["AENDT"], rash["AENDTF"]) == (
        T("2022-03-01"),
        "D",
        T("2022-09-06"),
        "D",
    )
    assert a["AOCCPFL"].tolist() == [None, "Y", None, None, "Y", "Y", None]
    assert a["MAXGRPFL"].tolist() == [None, None, "Y", None, "Y", "Y", None]  # ties: the first grade 3
    assert a["DISCFL"].tolist() == ["N", "N", "N", "Y", "N", "N", "N"] and (a["RELFL"] == "N").all()
    shorter = derive_adae(adsl_of(t), t["ae"], RELATED, 10)  # window ends 2022-04-01
    assert shorter["TRTEMFL"].tolist() == [None, "Y", "Y", "Y", "Y", None, None]


def test_subject_never_dosed_has_no_teae():
    f = valid_cut_frames()
    f["ex"] = f["ex"][~((f["ex"]["USUBJID"] == S3) & (f["ex"]["EXTRT"] == "BATOCLIMAB"))]
    t = cut_tables(ex=f["ex"])
    a = derive_adae(adsl_of(t), t["ae"], RELATED, 190)
    s3 = row(a, USUBJID=S3)
    assert s3["TRTEMFL"] is None and s3["ASTDY"] is pd.NA and s3["AOCCPFL"] is None
