"""ADSL and ADEX on the 3-subject cut (tests/cutfactory.py) and variants; values computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cutfactory import valid_cut_frames
from fcrnpipe.derive import ADEX_COLUMNS, ADSL_COLUMNS, derive_adex, derive_adsl
from fcrnpipe.errors import UserError
from test_derive_helpers import ARMS, S1, S2, S3, UNITS, cut_tables, row

T = pd.Timestamp


def adsl_of(t):
    return derive_adsl(t["dm"], t["ex"], t["ds"], t["vs"], t["lb"], t["pc"], t["qs"], UNITS, ARMS)


@pytest.fixture(scope="module")
def adsl():
    return adsl_of(cut_tables())


def test_columns_rows_and_planned_treatment(adsl):
    assert list(adsl.columns) == ADSL_COLUMNS
    assert adsl["USUBJID"].tolist() == [S1, S2, S3]
    assert adsl["TRT01P"].tolist() == ["Batoclimab 340 mg", "Batoclimab 680 mg", "Batoclimab 680 mg"]
    assert adsl["TRT01PN"].tolist() == [340.0, 680.0, 680.0]
    assert adsl["TRT01A"].tolist() == adsl["TRT01P"].tolist()
    assert adsl["ATTACK"].tolist() == ["MYELITIS", "OPTIC NEURITIS", "AREA POSTREMA SYNDROME"]


def test_treatment_period_and_exposure(adsl):
    s1, s3 = row(adsl, USUBJID=S1), row(adsl, USUBJID=S3)
    assert (s1["TRTSDTM"], s1["TRTEDTM"]) == (T("2022-03-01 09:00"), T("2022-03-22 09:00"))
    assert (s1["TRTSDT"], s1["TRTEDT"]) == (T("2022-03-01"), T("2022-03-22"))
    assert (s1["TRTDURD"], s1["NDOSE"], s1["CUMDOSE"]) == (22, 4, 1360.0)
    assert (s3["TRTEDT"], s3["TRTDURD"], s3["NDOSE"], s3["CUMDOSE"]) == (T("2022-05-16"), 8, 2, 1360.0)
    assert row(adsl, USUBJID=S2)["CUMDOSE"] == 2720.0


def test_baseline_characteristics_in_standard_units(adsl):
    s1, s2, s3 = (row(adsl, USUBJID=s) for s in (S1, S2, S3))
    assert (s1["WEIGHTBL"], s1["HEIGHTBL"]) == (62.5, 165.0)
    assert s1["BMIBL"] == pytest.approx(62.5 / 1.65**2) and s1["BMIBL"] == pytest.approx(22.9568411)
    assert s2["WEIGHTBL"] == pytest.approx(154.3 * 0.45359237)  # lb -> kg: 69.98930
    assert s3["HEIGHTBL"] == pytest.approx(173.99)  # 68.5 in x 2.54
    assert s3["BMIBL"] == pytest.approx(80.0 / 1.7399**2)
    # IgG on day 1 before the dose (08:00 < 10:30); 1120 mg/dL = 11.2 g/L
    assert (s1["IGGBL"], s2["IGGBL"], s3["IGGBL"]) == (10.0, 11.2, 9.1)
    # EDSS on day 1 (date only = on the first-dose date)
    assert (s1["EDSSBL"], s2["EDSSBL"], s3["EDSSBL"]) == (6.5, 4.0, 7.0)


def test_disposition_and_last_alive(adsl):
    s1, s3 = row(adsl, USUBJID=S1), row(adsl, USUBJID=S3)
    assert (s1["EOTSTT"], s1["DCTREAS"], s1["EOTDT"]) == ("COMPLETED", None, T("2022-03-22"))
    assert (s1["EOSSTT"], s1["DCSREAS"], s1["EOSDT"]) == ("COMPLETED", None, T("2022-09-06"))
    assert (s3["EOTSTT"], s3["DCTREAS"], s3["EOTDT"]) == ("DISCONTINUED", "ADVERSE EVENT", T("2022-05-20"))
    assert s3["EOSSTT"] == "ONGOING" and s3["DCSREAS"] is None and pd.isna(s3["EOSDT"])
    assert s1["LSTALVDT"] == T("2022-09-06")
    assert s3["LSTALVDT"] == T("2022-06-06")  # week-4 visit (day 29); the AE end 06-15 is not read
    assert adsl[["SAFFL", "PKFL", "PDFL"]].eq("Y").all().all()


def _untreated_subject_frames():
    f = valid_cut_frames()
    dm = f["dm"]
    new = dm.iloc[[2]].copy()
    new["USUBJID"], new["RFSTDTC"], new["RFENDTC"] = "BATO-102-004", "", ""
    f["dm"] = pd.concat([dm, new], ignore_index=True)
    lb = f["lb"]
    igg = lb[(lb["USUBJID"] == S3) & (lb["LBTESTCD"] == "IGG")].copy()
    igg["USUBJID"] = "BATO-102-004"
    f["lb"] = pd.concat([lb, igg], ignore_index=True)
    ds = f["ds"]
    wd = ds.iloc[[1]].copy()
    wd["USUBJID"], wd["DSDECOD"], wd["DSTERM"], wd["DSSTDTC"] = (
        "BATO-102-004",
        "WITHDRAWAL BY SUBJECT",
        "WITHDRAWN",
        "2022-06-01",
    )
    f["ds"] = pd.concat([ds, wd], ignore_index=True)
    return f


def test_untreated_subject_flags_and_statuses():
    a = adsl_of(cut_tables(**_untreated_subject_frames()))
    s = row(a, USUBJID="BATO-102-004")
    assert (s["SAFFL"], s["PKFL"], s["PDFL"]) == ("N", "N", "N")
    assert (s["NDOSE"], s["CUMDOSE"]) == (0, 0.0) and pd.isna(s["TRTSDT"]) and pd.isna(s["TRTDURD"])
    assert s["TRT01A"] is None and s["TRT01P"] == "Batoclimab 680 mg"
    assert s["EOTSTT"] is None  # never dosed: no treatment status
    assert (s["EOSSTT"], s["DCSREAS"], s["EOSDT"]) == ("DISCONTINUED", "WITHDRAWAL BY SUBJECT", T("2022-06-01"))
    assert s["IGGBL"] == 5.2  # no first dose: every record counts as before it -> the last value
    assert s["LSTALVDT"] == T("2022-06-06")


def test_pdfl_needs_a_post_baseline_igg_and_pkfl_a_measurable_concentration():
    f = valid_cut_frames()
    lb, pc = f["lb"], f["pc"]
    lb.loc[(lb["USUBJID"] == S3) & (lb["LBTESTCD"] == "IGG") & lb["VISIT"].isin(["WEEK 1", "WEEK 4"]), "LBORRES"] = ""
    pc.loc[pc["USUBJID"] == S2, "PCORRES"] = "BLQ"
    a = adsl_of(cut_tables(lb=lb, pc=pc))
    assert a["PDFL"].tolist() == ["Y", "Y", "N"]
    assert a["PKFL"].tolist() == ["Y", "N", "Y"]


def test_actual_treatment_follows_the_first_dose():
    f = valid_cut_frames()
    ex = f["ex"]
    ex.loc[(ex["USUBJID"] == S2) & (ex["EXTRT"] == "BATOCLIMAB"), "EXDOSE"] = "340"
    a = adsl_of(cut_tables(ex=ex))
    s2 = row(a, USUBJID=S2)
    assert (s2["TRT01P"], s2["TRT01PN"], s2["TRT01A"]) == ("Batoclimab 680 mg", 680.0, "Batoclimab 340 mg")
    assert s2["CUMDOSE"] == 1360.0


def test_ds_without_dsscat_is_end_of_study():
    f = valid_cut_frames()
    ds = f["ds"]
    ds = ds[ds["DSSCAT"] == "STUDY PARTICIPATION"].drop(columns=["DSSCAT"])
    a = adsl_of(cut_tables(ds=ds))
    assert a["EOSSTT"].tolist() == ["COMPLETED", "COMPLETED", "ONGOING"]
    assert a["EOTSTT"].tolist() == ["ONGOING"] * 3


def test_user_errors_name_the_record():
    f = valid_cut_frames()
    f["dm"].loc[1, "ARMCD"] = "BATO999"
    with pytest.raises(UserError, match=f"validation/dm.parquet, USUBJID {S2}, column ARMCD: 'BATO999'"):
        adsl_of(cut_tables(dm=f["dm"]))
    ds = valid_cut_frames()["ds"]
    extra = ds.iloc[[0]].copy()
    extra["DSDECOD"] = "OTHER"
    with pytest.raises(UserError, match=f"ds.parquet, USUBJID {S1}, column DSDECOD: more than one STUDY TREATMENT"):
        adsl_of(cut_tables(ds=pd.concat([ds, extra], ignore_index=True)))


def test_adex_dose_numbers_and_times():
    t = cut_tables()
    adex = derive_adex(t["dm"], t["ex"], ARMS, "BATOCLIMAB")
    assert list(adex.columns) == ADEX_COLUMNS
    s1 = adex[adex["USUBJID"] == S1]
    assert s1["EXSEQ"].tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert s1["DOSENUM"].tolist() == [1, pd.NA, pd.NA, pd.NA, 2, 3, 4]
    assert s1["ADY"].tolist() == [1, 1, 2, 3, 8, 15, 22]
    assert s1["AFRLT"].tolist() == [0.0, 3.0, 27.0, 51.0, 168.0, 336.0, 504.0]  # MP at 12:00, doses at 09:00
    assert (adex["TRT01A"] == adex["ARMCD"].map({"BATO340": "Batoclimab 340 mg", "BATO680": "Batoclimab 680 mg"})).all()
    assert str(adex["ASTDTM"].dtype) == "datetime64[ns]" and str(adex["DOSENUM"].dtype) == "Int64"


def test_adex_orders_doses_by_time_and_skips_zero_doses():
    ex = pd.DataFrame(
        {
            "USUBJID": [S1] * 4,
            "EXSEQ": ["1", "2", "3", "4"],
            "EXTRT": ["BATOCLIMAB", "BATOCLIMAB", "BATOCLIMAB", "METHYLPREDNISOLONE"],
            "EXDOSE": ["340", "340", "0", "48"],
            "EXDOSU": ["mg"] * 4,
            "EXROUTE": ["SUBCUTANEOUS"] * 3 + ["ORAL"],
            "EXSTDTC": ["2022-03-08T09:00", "2022-03-01T09:00", "2022-03-15T09:00", "2022-03-06"],
            "EXENDTC": ["", "", "", "2022-03-20"],
            "VISIT": ["WEEK 1", "DAY 1", "WEEK 2", "DAY 6"],
        }
    )
    t = cut_tables(ex=ex)
    adex = derive_adex(t["dm"], t["ex"], ARMS, "BATOCLIMAB")
    s1 = adex[adex["USUBJID"] == S1]
    assert s1["DOSENUM"].tolist() == [2, 1, pd.NA, pd.NA]  # by time, not EXSEQ; 0 mg is no dose
    oral = s1.iloc[3]
    assert pd.isna(oral["ASTDTM"]) and oral["ASTDT"] == T("2022-03-06") and oral["ADY"] == 6
    assert np.isnan(oral["AFRLT"])  # date only: no hours
    a = adsl_of(t)
    assert row(a, USUBJID=S1)["TRTEDT"] == T("2022-03-08") and row(a, USUBJID=S1)["NDOSE"] == 2
