"""ADPC: BLQ rules, actual and nominal relative times, dose assignment of pre-dose samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cutfactory import valid_cut_frames
from fcrnpipe.derive import ADPC_COLUMNS, derive_adex, derive_adpc, derive_adsl
from fcrnpipe.derive.adpc import nominal_offset
from fcrnpipe.errors import UserError
from test_derive_helpers import ARMS, CONFIG, S1, S2, S3, UNITS, VISITS, cut_tables, row

DOSING_DAYS = CONFIG["study"]["dosing_days"]  # 1, 8, 15, 22 -> nominal dose times 0, 168, 336, 504 h


def adpc_of(t, **options):
    adsl = derive_adsl(t["dm"], t["ex"], t["ds"], t["vs"], t["lb"], t["pc"], t["qs"], UNITS, ARMS)
    adex = derive_adex(t["dm"], t["ex"], ARMS, "BATOCLIMAB")
    return derive_adpc(adsl, adex, t["pc"], UNITS, VISITS, DOSING_DAYS, **options)


@pytest.fixture(scope="module")
def adpc():
    return adpc_of(cut_tables())


def test_columns_and_order(adpc):
    assert list(adpc.columns) == ADPC_COLUMNS
    assert adpc[["USUBJID", "PCSEQ"]].apply(tuple, axis=1).tolist() == [
        (s, k) for s in (S1, S2, S3) for k in (1, 2, 3, 4)
    ]
    assert str(adpc["DOSENUM"].dtype) == "Int64" and str(adpc["ADTM"].dtype) == "datetime64[ns]"


def test_times_and_doses_of_subject_1(adpc):
    s1 = adpc[adpc["USUBJID"] == S1]
    # pre-dose day 1 (1 h before dose 1), 48 h post-dose, pre-dose week 1 (1 h before dose 2), 168 h after dose 4
    assert s1["AFRLT"].tolist() == [-1.0, 48.0, 167.0, 672.0]
    assert s1["DOSENUM"].tolist() == [0, 1, 1, 4]  # a pre-dose sample belongs to the previous interval
    assert s1["ARRLT"].tolist() == [-1.0, 48.0, 167.0, 168.0]
    assert s1["NFRLT"].tolist() == [0.0, 48.0, 168.0, 672.0]
    assert s1["NRRLT"].tolist() == [0.0, 48.0, 168.0, 168.0]
    assert np.isnan(s1["DOSEA"].iloc[0]) and s1["DOSEA"].tolist()[1:] == [340.0] * 3
    assert s1["AVISIT"].tolist() == ["DAY 1", None, "WEEK 1", "WEEK 4"]  # day 3 is outside every window
    assert (s1["TRT01PN"] == 340.0).all() and (s1["AVALU"] == "mg/L").all()


def test_blq_flags_and_default_imputation(adpc):
    assert adpc["BLQFL"].tolist() == ["Y", "N", "N", "N"] * 2 + ["Y", "N", "N", "Y"]
    assert (adpc["LLOQ"] == 0.5).all()
    first = adpc[adpc["PCSEQ"] == 1]
    assert first["AVAL"].tolist() == [0.0, 0.0, 0.0]  # before the first measurable: zero
    late = row(adpc, USUBJID=S3, PCSEQ=4)  # "<0.5" after measurable ones: missing
    assert np.isnan(late["AVAL"]) and late["AVALC"] == "<0.5"
    # subject 3 stopped after dose 2: the week-4 sample is 504 h after dose 2, planned 168 h after dose 4
    assert (late["DOSENUM"], late["ARRLT"], late["NFRLT"], late["NRRLT"]) == (2, 504.0, 672.0, 168.0)


@pytest.mark.parametrize(
    "before, after, first, late",
    [("zero", "missing", 0.0, None), ("missing", "zero", None, 0.0), ("zero", "half_lloq", 0.0, 0.25)],
)
def test_blq_options(before, after, first, late):
    out = adpc_of(cut_tables(), pk_before_first_measurable=before, pk_after_first_measurable=after)
    a, b = row(out, USUBJID=S3, PCSEQ=1)["AVAL"], row(out, USUBJID=S3, PCSEQ=4)["AVAL"]
    assert (np.isnan(a) if first is None else a == first) and (np.isnan(b) if late is None else b == late)


def test_explicit_time_points_fallback_and_units():
    cols = [
        "USUBJID",
        "PCSEQ",
        "PCTESTCD",
        "PCORRES",
        "PCORRESU",
        "PCLLOQ",
        "VISIT",
        "PCTPT",
        "PCTPTNUM",
        "PCTPTREF",
        "PCDTC",
    ]
    rows = [
        # at the very time of dose 2 (09:00), labelled pre-dose: still dose 1's interval
        [S1, "1", "BATOCLIM", "6.2", "ug/mL", "0.5", "WEEK 1", "PRE-DOSE", "0", "DOSE 2", "2022-03-08T09:00"],
        [S1, "2", "BATOCLIM", "12300", "ng/mL", "50", "WEEK 1", "6 H POST-DOSE", "6", "DOSE 2", "2022-03-08T15:30"],
        [S1, "3", "BATOCLIM", "1.1", "ug/mL", "0.5", "WEEK 6", "FOLLOW-UP", "", "", "2022-04-12T09:00"],
        [S1, "4", "BATOCLIM", "0.9", "ug/mL", "0.5", "UNSCHEDULED", "FOLLOW-UP", "", "", "2022-04-03T09:00"],
    ]
    pc = valid_cut_frames()["pc"]
    pc = pd.concat([pc[pc["USUBJID"] != S1], pd.DataFrame(rows, columns=cols)], ignore_index=True).fillna("")
    out = adpc_of(cut_tables(pc=pc))
    s1 = out[out["USUBJID"] == S1]
    assert s1["DOSENUM"].tolist() == [1, 2, 4, 4]
    assert s1["AFRLT"].tolist() == [168.0, 174.5, 1008.0, 792.0]  # 2022-04-03 is 33 days after 03-01
    assert s1["ARRLT"].tolist() == [168.0, 6.5, 504.0, 288.0]
    # explicit DOSE 2 + 0 h pre-dose: 168 h; DOSE 2 + 6 h: 174 h; FOLLOW-UP on day 43 (WEEK 6 target):
    # (43 - 1) x 24 = 1008 h, 504 h after the last planned dose received (dose 4 at 504 h)
    assert s1["NFRLT"].tolist()[:3] == [168.0, 174.0, 1008.0] and s1["NRRLT"].tolist()[:3] == [168.0, 6.0, 504.0]
    assert s1[["NFRLT", "NRRLT"]].iloc[3].isna().all()  # day 34: outside every window, no time point
    conv = s1.iloc[1]
    assert (conv["AVAL"], conv["LLOQ"], conv["PCLLOQ"], conv["PCORRESU"]) == (12.3, 0.05, 50.0, "ng/mL")


def test_nominal_offset_parsing():
    assert nominal_offset("PRE-DOSE", "DOSE 2", "0") == (2, 0.0, True, False)
    assert nominal_offset("96 H POST-DOSE", "DOSE 1", "96") == (1, 96.0, False, False)
    assert nominal_offset("48H POST-DOSE", None, None) == (None, 48.0, False, False)
    assert nominal_offset("PREDOSE", None, None) == (None, 0.0, True, True)
    assert nominal_offset("FOLLOW-UP", "DOSE 3", "") == (None, None, False, False)


def test_bad_concentration_is_a_user_error():
    pc = valid_cut_frames()["pc"]
    pc.loc[1, "PCORRES"] = ">50"
    with pytest.raises(UserError, match=f"pc.parquet, USUBJID {S1}, PCSEQ 2, column PCORRES"):
        adpc_of(cut_tables(pc=pc))
