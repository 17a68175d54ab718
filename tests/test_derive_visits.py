"""Study day, analysis-visit windows and ANL01FL tie-breaking (fcrnpipe.derive.visits)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fcrnpipe.derive.visits import assign_visits, flag_analysis_records, parse_windows, study_day
from fcrnpipe.errors import UserError
from test_derive_helpers import VISITS

T = pd.Timestamp


def test_study_day_has_no_day_zero_and_ignores_the_time():
    first = pd.Series([T("2021-02-11 23:50")] * 6)
    dates = pd.Series(
        [T("2021-02-08"), T("2021-02-10"), T("2021-02-11"), T("2021-02-12 00:10"), T("2021-02-18"), pd.NaT]
    )
    assert study_day(dates, first).tolist() == [-3, -1, 1, 2, 8, pd.NA]
    assert str(study_day(dates, first).dtype) == "Int64"
    assert study_day(pd.Series([T("2021-02-12")]), pd.Series([pd.NaT])).isna().all()  # never dosed


def test_config_windows_assign_visits():
    w = parse_windows(VISITS)
    ady = pd.Series([-43, -42, -1, 1, 2, 4, 5, 11, 12, 22, 33, 85, 220, 221, np.nan])
    v = assign_visits(ady, w)
    assert v["AVISIT"].tolist() == [
        None,
        "SCREENING",
        "SCREENING",
        "DAY 1",
        None,
        None,
        "WEEK 1",
        "WEEK 1",
        "WEEK 2",
        "WEEK 3",
        None,
        "WEEK 12",
        "WEEK 27",
        None,
        None,
    ]
    assert v["AVISITN"].tolist()[:9] == [pd.NA, -1, -1, 0, pd.NA, pd.NA, 1, 1, 2]
    assert v["VISITDY"].tolist()[5:10] == [pd.NA, 8, 8, 15, 22]


def test_overlapping_or_empty_windows_are_config_errors():
    with pytest.raises(UserError, match="'A' \\[1, 5\\] and 'B' \\[5, 9\\] overlap"):
        parse_windows(
            [
                {"name": "A", "avisitn": 0, "day": 1, "lo": 1, "hi": 5},
                {"name": "B", "avisitn": 1, "day": 8, "lo": 5, "hi": 9},
            ]
        )
    with pytest.raises(UserError, match="lo 9 > hi 5"):
        parse_windows([{"name": "A", "avisitn": 0, "day": 1, "lo": 9, "hi": 5}])


def _records(rows):
    df = pd.DataFrame(rows, columns=["USUBJID", "PARAMCD", "ADY", "ADTM", "SEQ", "AVAL"])
    df["ADTM"] = pd.to_datetime(df["ADTM"])
    df["ADY"] = df["ADY"].astype("Int64")
    v = assign_visits(df["ADY"], parse_windows(VISITS))
    return pd.concat([df, v], axis=1)


def test_anl01fl_closest_to_target_then_later():
    df = _records(
        [
            # WEEK 1 (target day 8): days 7 and 9 are equally close -> the later (day 9)
            ("S1", "IGG", 5, "2021-01-05 08:00", 1, 1.0),
            ("S1", "IGG", 7, "2021-01-07 08:00", 2, 2.0),
            ("S1", "IGG", 9, "2021-01-09 08:00", 3, 3.0),
            # WEEK 2 (target 15): two records on day 15 -> the later time; date-only counts as earlier
            ("S1", "IGG", 15, "2021-01-15 14:00", 4, 4.0),
            ("S1", "IGG", 15, None, 5, 5.0),
            ("S1", "IGG", 15, "2021-01-15 08:00", 6, 6.0),
            # WEEK 3: same day and time -> the higher sequence number
            ("S1", "IGG", 22, "2021-01-22 08:00", 8, 7.0),
            ("S1", "IGG", 22, "2021-01-22 08:00", 7, 8.0),
            # WEEK 4: the closest record has no value -> the next closest one
            ("S1", "IGG", 29, "2021-01-29 08:00", 9, np.nan),
            ("S1", "IGG", 31, "2021-01-31 08:00", 10, 9.0),
            # another parameter / subject are separate groups; outside every window -> no flag
            ("S1", "ALB", 7, "2021-01-07 08:00", 11, 1.0),
            ("S2", "IGG", 7, "2021-01-07 08:00", 1, 1.0),
            ("S2", "IGG", 34, "2021-02-03 08:00", 2, 1.0),
        ]
    )
    flag = flag_analysis_records(df, ["USUBJID", "PARAMCD"], df["AVAL"].notna(), seq="SEQ")
    assert df.loc[flag == "Y", "SEQ"].tolist() == [3, 4, 8, 10, 11, 1]
    assert flag[flag != "Y"].isna().all()  # Y or empty
