"""ISO 8601 parsing and partial-date imputation (fcrnpipe.derive.dates); expectations by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from fcrnpipe.derive.dates import impute_dates, impute_end, impute_start, parse_dtc
from fcrnpipe.errors import UserError

T = pd.Timestamp


def test_parse_complete_and_partial_values():
    s = pd.Series(["2021-02-11T10:20", "2021-02-11T10:20:30", "2021-02-11", "2022-02", "2024-02", "2021", None, ""])
    p = parse_dtc(s, allow_partial=True)
    assert p["PRECISION"].tolist() == ["minute", "second", "day", "month", "month", "year", None, None]
    assert p["DTM"].iloc[0] == T("2021-02-11 10:20") and p["DTM"].iloc[1] == T("2021-02-11 10:20:30")
    assert pd.isna(p["DTM"].iloc[2])  # date only: no time is imputed
    assert p["DT"].tolist()[:3] == [T("2021-02-11")] * 3
    assert pd.isna(p["DT"].iloc[3]) and pd.isna(p["DT"].iloc[5])  # partial: no date
    assert (p["FIRST"].iloc[3], p["LAST"].iloc[3]) == (T("2022-02-01"), T("2022-02-28"))
    assert p["LAST"].iloc[4] == T("2024-02-29")  # leap year
    assert (p["FIRST"].iloc[5], p["LAST"].iloc[5]) == (T("2021-01-01"), T("2021-12-31"))
    assert p[["DTM", "DT", "FIRST", "LAST"]].iloc[6:].isna().all().all()
    assert str(p["DTM"].dtype) == "datetime64[ns]" and str(p["DT"].dtype) == "datetime64[ns]"


def test_parse_errors_name_file_column_and_record():
    labels = pd.Series(["USUBJID S1, LBSEQ 4"])
    with pytest.raises(UserError, match=r"validation/lb.parquet, column LBDTC, USUBJID S1, LBSEQ 4: '2022-02'"):
        parse_dtc(pd.Series(["2022-02"]), where="validation/lb.parquet, column LBDTC", labels=labels)
    with pytest.raises(UserError, match="'2022-02-30'"):
        parse_dtc(pd.Series(["2022-02-30"]), allow_partial=True)


@pytest.mark.parametrize(
    "dtc, first_dose, end, expected, flag",
    [
        ("2022-02", T("2022-02-15 10:20"), None, T("2022-02-15"), "D"),  # period covers the first dose
        ("2022-02", T("2022-03-15"), None, T("2022-02-01"), "D"),  # first dose later: first of month
        ("2022-02", T("2022-01-20"), None, T("2022-02-01"), "D"),  # first dose earlier
        ("2022-02", None, None, T("2022-02-01"), "D"),  # never dosed
        ("2022", T("2022-06-10"), None, T("2022-06-10"), "M"),  # year covers the first dose
        ("2022", T("2021-12-01"), None, T("2022-01-01"), "M"),
        ("2022-02", T("2022-02-15"), T("2022-02-10"), T("2022-02-01"), "D"),  # ended before dosing
        ("2022-02", T("2022-02-15"), T("2022-02-15"), T("2022-02-15"), "D"),  # ended on the dose day
        ("2022-02-20", T("2022-02-15"), None, T("2022-02-20"), None),  # complete date kept
        ("2022-02-20T08:00", T("2022-02-15"), None, T("2022-02-20"), None),
        (None, T("2022-02-15"), None, pd.NaT, None),
    ],
)
def test_impute_start(dtc, first_dose, end, expected, flag):
    got, f = impute_start(dtc, first_dose, end)
    assert (got is pd.NaT and expected is pd.NaT) or got == expected
    assert f == flag


@pytest.mark.parametrize(
    "dtc, cap, expected, flag",
    [
        ("2022-02", None, T("2022-02-28"), "D"),
        ("2022-02", T("2022-02-10"), T("2022-02-10"), "D"),  # capped at the end of study
        ("2022-02", T("2022-03-05"), T("2022-02-28"), "D"),  # cap after the period: no effect
        ("2022-02", T("2022-01-31"), T("2022-02-28"), "D"),  # cap before the period: ignored
        ("2021", None, T("2021-12-31"), "M"),
        ("2021", T("2021-08-17"), T("2021-08-17"), "M"),
        ("2021-05-24", T("2021-05-01"), T("2021-05-24"), None),  # complete dates are never capped
        ("", T("2021-05-01"), pd.NaT, None),  # empty = ongoing
    ],
)
def test_impute_end(dtc, cap, expected, flag):
    got, f = impute_end(dtc, cap)
    assert (got is pd.NaT and expected is pd.NaT) or got == expected
    assert f == flag


def test_impute_dates_uses_the_imputed_end_for_the_start():
    start = pd.Series(["2022-02", "2022-02", "2021-06-04"])
    end = pd.Series(["2022-02", None, "2021"])
    first = pd.Series([T("2022-02-15 09:00")] * 2 + [T("2021-02-11")])
    cap = pd.Series([T("2022-02-10"), pd.NaT, T("2021-08-18")])
    out = impute_dates(start, end, first, cap)
    # row 0: end capped at 02-10 (< first dose 02-15) -> the event ended before dosing -> 02-01
    assert out.loc[0].tolist() == [T("2022-02-01"), "D", T("2022-02-10"), "D"]
    # row 1: ongoing, so the start is the first-dose date
    assert out.loc[1, "ASTDT"] == T("2022-02-15") and pd.isna(out.loc[1, "AENDT"]) and out.loc[1, "AENDTF"] is None
    assert out.loc[2].tolist() == [T("2021-06-04"), None, T("2021-08-18"), "M"]
    with pytest.raises(UserError, match="validation/ae.parquet.*USUBJID X.*'2022-13'"):
        impute_dates(
            pd.Series(["2022-13"]),
            pd.Series([None]),
            pd.Series([pd.NaT]),
            pd.Series([pd.NaT]),
            where="validation/ae.parquet",
            labels=pd.Series(["USUBJID X"]),
        )
