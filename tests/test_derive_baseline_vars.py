"""One derivation per variable (derive/baseline.py): DTYPE, ABLFL, BASE, CHG, PCHG, each
compared as a whole table with hand-checked values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fcrnpipe.derive.baseline import derive_base, derive_chg, derive_dtype, derive_pchg, flag_baseline
from fcrnpipe.errors import UserError

T = pd.Timestamp
BY = ["USUBJID", "PARAMCD"]
N = None


def _frame() -> pd.DataFrame:
    """S1 dosed 2021-02-11 10:20: screening, two retests on the dose day (08:00, 08:35), a record
    at the dose time (10:20), week 1. S2 dosed 2021-02-11 (date only): a date-only record on the
    dose day, week 1. S3 never dosed: two records."""
    rows = [
        ("S1", 1.0, 10.0, "2021-02-08 08:00", "2021-02-11 10:20"),
        ("S1", 2.0, 8.0, "2021-02-11 08:00", "2021-02-11 10:20"),
        ("S1", 3.0, 9.0, "2021-02-11 08:35", "2021-02-11 10:20"),
        ("S1", 4.0, 6.0, "2021-02-11 10:20", "2021-02-11 10:20"),
        ("S1", 5.0, 4.0, "2021-02-18 08:00", "2021-02-11 10:20"),
        ("S2", 1.0, 0.0, "2021-02-11", "2021-02-11"),
        ("S2", 2.0, 3.0, "2021-02-18", "2021-02-11"),
        ("S3", 1.0, 5.0, "2021-02-01", None),
        ("S3", 2.0, 7.0, "2021-02-08", None),
    ]
    df = pd.DataFrame(
        {"USUBJID": [r[0] for r in rows], "PARAMCD": "IGG", "LBSEQ": [r[1] for r in rows], "AVAL": [r[2] for r in rows]}
    )
    df["ADTM"] = pd.Series([T(r[3]) if len(r[3]) > 10 else pd.NaT for r in rows], dtype="datetime64[ns]")
    df["ADT"] = pd.Series([T(r[3]).normalize() for r in rows], dtype="datetime64[ns]")
    df["TRTSDTM"] = pd.Series([T(r[4]) if r[4] and len(r[4]) > 10 else pd.NaT for r in rows], dtype="datetime64[ns]")
    df["TRTSDT"] = pd.Series([T(r[4]) if r[4] else pd.NaT for r in rows], dtype="datetime64[ns]")
    return df


def _expect(base: pd.DataFrame, **cols) -> pd.DataFrame:
    out = base.copy()
    for name, values in cols.items():
        dtype = object if name in ("DTYPE", "ABLFL") else "float64"
        out[name] = pd.Series(values, index=out.index, dtype=dtype)
    return out


def test_derive_dtype_adds_one_average_per_group_with_retests_on_the_baseline_day():
    df = _frame()
    got = derive_dtype(df, BY, same_day="mean", seq="LBSEQ", average_blank=["ADTM"])
    # S1 on the dose day: 8.0 (08:00), 9.0 (08:35), 6.0 (10:20, on the dose) -> mean 23/3, a copy
    # of the 10:20 record with LBSEQ and ADTM blanked; S2 and S3 have one record on their date
    extra = df.loc[[3]].copy()
    extra.index = [9]
    extra["AVAL"] = 23.0 / 3.0
    extra["LBSEQ"] = np.nan
    extra["ADTM"] = pd.NaT
    want = pd.concat([_expect(df, DTYPE=[N] * 9), _expect(extra, DTYPE=["AVERAGE"])])
    pd.testing.assert_frame_equal(got, want)
    # not "mean": an empty DTYPE, no rows added
    pd.testing.assert_frame_equal(derive_dtype(df, BY, same_day="later"), _expect(df, DTYPE=[N] * 9))


@pytest.mark.parametrize(
    ("rule", "same_day", "flags"),
    [
        # S1: the 10:20 record is on the dose; S2: the date-only record on the dose day is "on" it;
        # S3 (no dose): the last record
        ("last_on_or_before_first_dose", "later", [N, N, N, "Y", N, "Y", N, N, "Y"]),
        ("last_on_or_before_first_dose", "first", [N, "Y", N, N, N, "Y", N, N, "Y"]),
        # strictly before: S1 08:35 (later) / 08:00 (first); S2 has no candidate
        ("last_before_first_dose", "later", [N, N, "Y", N, N, N, N, N, "Y"]),
        ("last_before_first_dose", "first", [N, "Y", N, N, N, N, N, N, "Y"]),
    ],
)
def test_flag_baseline(rule, same_day, flags):
    df = _frame()
    got = flag_baseline(df, BY, rule=rule, same_day=same_day, seq="LBSEQ")
    pd.testing.assert_frame_equal(got, _expect(df, ABLFL=flags))


def test_flag_baseline_takes_the_derived_average():
    df = derive_dtype(_frame(), BY, same_day="mean", seq="LBSEQ")
    got = flag_baseline(df, BY, same_day="mean", seq="LBSEQ")
    pd.testing.assert_frame_equal(got, _expect(df, ABLFL=[N, N, N, N, N, "Y", N, N, "Y", "Y"]))


def test_derive_base_fills_the_baseline_and_post_baseline_records():
    df = flag_baseline(_frame(), BY, seq="LBSEQ")
    got = derive_base(df, BY)
    # S1: 6.0 on the baseline (10:20) and week 1; S2: 0.0; S3 (no dose): only its baseline record
    want = _expect(df, BASE=[np.nan, np.nan, np.nan, 6.0, 6.0, 0.0, 0.0, np.nan, 7.0])
    pd.testing.assert_frame_equal(got, want)
    # under the strict rule the 10:20 record is post-baseline
    strict = flag_baseline(_frame(), BY, rule="last_before_first_dose", seq="LBSEQ")
    got = derive_base(strict, BY, rule="last_before_first_dose")
    want = _expect(strict, BASE=[np.nan, np.nan, 9.0, 9.0, 9.0, np.nan, np.nan, np.nan, 7.0])
    pd.testing.assert_frame_equal(got, want)


def test_derive_chg():
    df = pd.DataFrame({"AVAL": [6.0, 4.0, 3.0, np.nan, 5.0], "BASE": [6.0, 6.0, 0.0, 6.0, np.nan]})
    pd.testing.assert_frame_equal(derive_chg(df), _expect(df, CHG=[0.0, -2.0, 3.0, np.nan, np.nan]))


def test_derive_pchg():
    df = pd.DataFrame({"BASE": [6.0, 6.0, 0.0, 0.0, np.nan], "CHG": [0.0, -2.0, 3.0, 0.0, np.nan]})
    want = _expect(df, PCHG=[0.0, -100.0 / 3.0, np.nan, np.nan, np.nan])
    pd.testing.assert_frame_equal(derive_pchg(df), want)


def test_argument_checks_come_first():
    df = _frame()
    with pytest.raises(UserError, match="same_day"):
        derive_dtype(df, BY, same_day="median")
    with pytest.raises(UserError, match="rule"):
        flag_baseline(df, BY, rule="first")
    with pytest.raises(UserError, match="ABLFL"):
        derive_base(df, BY)
    with pytest.raises(UserError, match="DTYPE"):
        flag_baseline(df, BY, same_day="mean")
    with pytest.raises(UserError, match="BASE"):
        derive_chg(df)
    with pytest.raises(UserError, match="CHG"):
        derive_pchg(df.assign(BASE=1.0))
