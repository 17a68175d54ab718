"""Baseline, CHG, PCHG: the on-or-before rule with dates and date-times, same-day retests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fcrnpipe.derive.baseline import before_reference, derive_baseline
from fcrnpipe.errors import UserError

T = pd.Timestamp
DOSE = T("2021-02-11 10:20")


def test_before_reference_compares_datetimes_only_when_both_have_a_time():
    dtm = pd.Series(
        [T("2021-02-11 09:00"), T("2021-02-11 10:20"), T("2021-02-11 11:00"), pd.NaT, pd.NaT, T("2021-02-11 11:00")]
    )
    dt = pd.Series([T("2021-02-11")] * 5 + [T("2021-02-11")])
    dt[4] = T("2021-02-10")
    ref_dtm = pd.Series([DOSE] * 5 + [pd.NaT])  # last: the first dose has no time
    ref_dt = pd.Series([T("2021-02-11")] * 6)
    assert before_reference(dtm, dt, ref_dtm, ref_dt).tolist() == [True, True, False, True, True, True]
    assert before_reference(dtm, dt, ref_dtm, ref_dt, strict=True).tolist() == [True, False, False, False, True, False]
    # no dose at all: every dated record is "before"
    none = pd.Series([pd.NaT] * 6)
    assert before_reference(dtm, dt, none, none).all()


def _igg(times, values, seqs=None):
    n = len(times)
    df = pd.DataFrame(
        {
            "USUBJID": ["S1"] * n,
            "PARAMCD": ["IGG"] * n,
            "LBSEQ": [float(s) for s in (seqs or range(1, n + 1))],
            "AVAL": values,
            "NOTE": [f"n{i}" for i in range(n)],
        }
    )
    p = [T(t) for t in times]
    df["ADTM"] = pd.Series([x if len(t) > 10 else pd.NaT for x, t in zip(p, times)], dtype="datetime64[ns]")
    df["ADT"] = pd.Series([x.normalize() for x in p], dtype="datetime64[ns]")
    df["TRTSDTM"] = DOSE
    df["TRTSDT"] = DOSE.normalize()
    return df


# screening, two pre-dose retests on day 1 (08:00, 08:35), week 1
TIMES = ["2021-02-08 08:00", "2021-02-11 08:00", "2021-02-11 08:35", "2021-02-18 08:00"]
VALUES = [10.2, 10.0, 9.6, 7.1]


def test_same_day_later_first():
    later = derive_baseline(_igg(TIMES, VALUES), ["USUBJID", "PARAMCD"], same_day="later", seq="LBSEQ")
    assert later["ABLFL"].tolist() == [None, None, "Y", None]
    assert np.isnan(later["BASE"].iloc[0]) and np.isnan(later["BASE"].iloc[1])  # pre-baseline: empty
    assert later["BASE"].iloc[2] == 9.6 and later["CHG"].iloc[2] == 0.0 and later["PCHG"].iloc[2] == 0.0
    assert later["CHG"].iloc[3] == pytest.approx(-2.5) and later["PCHG"].iloc[3] == pytest.approx(-26.0416666667)
    first = derive_baseline(_igg(TIMES, VALUES), ["USUBJID", "PARAMCD"], same_day="first", seq="LBSEQ")
    assert first["ABLFL"].tolist() == [None, "Y", None, None]
    assert first["CHG"].iloc[3] == pytest.approx(-2.9) and first["PCHG"].iloc[3] == pytest.approx(-29.0)
    assert first["DTYPE"].isna().all()


def test_same_day_mean_adds_a_derived_baseline_record():
    out = derive_baseline(
        _igg(TIMES, VALUES), ["USUBJID", "PARAMCD"], same_day="mean", seq="LBSEQ", average_blank=["NOTE"]
    )
    assert len(out) == 5
    avg = out.iloc[4]
    assert avg["DTYPE"] == "AVERAGE" and avg["ABLFL"] == "Y" and avg["AVAL"] == pytest.approx(9.8)
    assert np.isnan(avg["LBSEQ"]) and avg["NOTE"] is None
    assert avg["ADTM"] == T("2021-02-11 08:35")  # a copy of the later record
    assert out["ABLFL"].iloc[:4].isna().all()
    assert out["CHG"].iloc[3] == pytest.approx(-2.7) and out["PCHG"].iloc[3] == pytest.approx(-27.5510204082)
    # a single record on the baseline date needs no derived record
    single = derive_baseline(
        _igg(TIMES[:2] + TIMES[3:], [10.2, 10.0, 7.1]), ["USUBJID", "PARAMCD"], same_day="mean", seq="LBSEQ"
    )
    assert len(single) == 3 and single["ABLFL"].tolist() == [None, "Y", None]


def test_record_at_the_dose_time_and_the_strict_rule():
    times = ["2021-02-10 08:00", "2021-02-11 10:20", "2021-02-18 08:00"]
    on = derive_baseline(_igg(times, [11.0, 10.0, 8.0]), ["USUBJID", "PARAMCD"])
    assert on["ABLFL"].tolist() == [None, "Y", None] and on["CHG"].iloc[2] == pytest.approx(-2.0)
    strict = derive_baseline(_igg(times, [11.0, 10.0, 8.0]), ["USUBJID", "PARAMCD"], rule="last_before_first_dose")
    assert strict["ABLFL"].tolist() == ["Y", None, None]
    # the record at the dose time is now post-baseline
    assert strict["CHG"].tolist()[1:] == [pytest.approx(-1.0), pytest.approx(-3.0)]


def test_date_only_record_on_the_dose_day():
    times = ["2021-02-08", "2021-02-11", "2021-02-18"]
    on = derive_baseline(_igg(times, [11.0, 10.0, 8.0]), ["USUBJID", "PARAMCD"])
    assert on["ABLFL"].tolist() == [None, "Y", None]
    strict = derive_baseline(_igg(times, [11.0, 10.0, 8.0]), ["USUBJID", "PARAMCD"], rule="last_before_first_dose")
    assert strict["ABLFL"].tolist() == ["Y", None, None] and strict["CHG"].iloc[1] == pytest.approx(-1.0)


def test_last_non_missing_zero_base_and_untreated_subjects():
    times = ["2021-02-08 08:00", "2021-02-11 08:00", "2021-02-18 08:00"]
    out = derive_baseline(_igg(times, [0.0, np.nan, 5.0]), ["USUBJID", "PARAMCD"])
    assert out["ABLFL"].tolist() == ["Y", None, None]  # the day-1 value is missing
    assert out["CHG"].iloc[2] == 5.0 and np.isnan(out["PCHG"].iloc[2])  # BASE 0: no percent change
    untreated = _igg(times, [1.0, 2.0, 3.0])
    untreated["TRTSDTM"] = pd.NaT
    untreated["TRTSDT"] = pd.NaT
    u = derive_baseline(untreated, ["USUBJID", "PARAMCD"])
    assert u["ABLFL"].tolist() == [None, None, "Y"] and u["BASE"].isna().tolist() == [True, True, False]


def test_unknown_options_are_config_errors():
    with pytest.raises(UserError, match="baseline.same_day"):
        derive_baseline(_igg(TIMES, VALUES), ["USUBJID"], same_day="median")
    with pytest.raises(UserError, match="baseline.rule"):
        derive_baseline(_igg(TIMES, VALUES), ["USUBJID"], rule="first")
