"""The NONMEM-style modelling dataset (fcrnpipe.pkpd.dataset) from a hand-made ADaM: exact rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fcrnpipe.errors import UserError
from fcrnpipe.nlme import read_nm_dataset
from fcrnpipe.pkpd.dataset import NM_COLUMNS, build_nm_dataset, nominal_hours
from fcrnpipe.tableio import write_csv

T = pd.Timestamp
NaN = float("nan")
VISITS = [
    {"name": "SCREENING", "avisitn": -1, "day": -7, "lo": -42, "hi": 0},
    {"name": "DAY 1", "avisitn": 0, "day": 1, "lo": 1, "hi": 1},
    {"name": "WEEK 1", "avisitn": 1, "day": 8, "lo": 5, "hi": 11},
]
DOSING_DAYS = [1, 8, 15, 22]


def adam():
    adsl = pd.DataFrame(
        {
            "USUBJID": ["ST-002", "ST-001", "ST-003"],  # not sorted on purpose
            "ARMCD": ["BATO680", "BATO340", "BATO680"],
            "TRT01PN": [680.0, 340.0, 680.0],
            "TRTSDTM": [T("2021-02-01 09:00"), T("2021-01-04 10:00"), pd.NaT],
            "SAFFL": ["Y", "Y", "N"],  # ST-003 never dosed
            "AGE": [50.0, 40.0, 33.0],
            "SEX": ["M", "F", "F"],
            "WEIGHTBL": [60.5, 70.0, 55.0],
        }
    )
    adex = pd.DataFrame(
        {
            "USUBJID": ["ST-001", "ST-001", "ST-001", "ST-002"],
            "EXSEQ": [1, 2, 3, 1],
            "EXTRT": ["BATOCLIMAB", "METHYLPREDNISOLONE", "BATOCLIMAB", "BATOCLIMAB"],
            "EXDOSE": [340.0, 1000.0, 340.0, 680.0],
            "ASTDTM": [T("2021-01-04 10:00"), T("2021-01-04 11:00"), T("2021-01-11 10:30"), T("2021-02-01 09:00")],
            "ADY": [1, 1, 8, 1],
            "DOSENUM": pd.array([1, pd.NA, 2, 1], dtype="Int64"),
        }
    )
    adpc = pd.DataFrame(
        {
            "USUBJID": ["ST-001"] * 4 + ["ST-002", "ST-002"],
            "PCSEQ": [1, 2, 3, 4, 1, 2],
            "PARAMCD": ["BATOCLIM"] * 5 + ["OTHER"],
            "AVAL": [0.0, 5.5, NaN, NaN, 12.0, 1.0],
            "BLQFL": ["Y", "N", "Y", "N", "N", "N"],  # PCSEQ 4: no result and not BLQ -> dropped
            "LLOQ": [0.05] * 6,
            "AFRLT": [-1.0, 24.0, 500.0, 600.0, 6.0, 6.0],
            "NFRLT": [0.0, 24.0, 504.0, 672.0, 6.0, 6.0],
        }
    )
    adlb = pd.DataFrame(
        {
            "USUBJID": ["ST-001", "ST-001", "ST-001", "ST-001", "ST-002", "ST-002", "ST-003"],
            "LBSEQ": [1, 2, 3, 4, 1, 2, 1],
            "PARAMCD": ["IGG", "IGG", "IGG", "ALB", "IGG", "IGG", "IGG"],
            "AVAL": [12.0, 11.0, 6.0, 40.0, 9.0, 0.5, 10.0],
            "ADTM": [
                T("2021-01-01 08:00"),  # screening, -74 h
                T("2021-01-04 09:00"),  # pre-dose, -1 h
                T("2021-01-11 09:30"),  # 167.5 h
                T("2021-01-11 09:30"),  # albumin: not IgG
                T("2021-02-03 09:00"),  # 48 h, outside every window
                T("2021-02-08 09:00"),  # 168 h, censored "<1"
                T("2021-03-01 09:00"),
            ],
            "AVISITN": pd.array([-1, 0, 1, 1, pd.NA, 1, 0], dtype="Int64"),
            "CENSFL": ["N", "N", "N", "N", "N", "Y", "N"],
            "LLOQ": [NaN, NaN, NaN, NaN, NaN, 1.0, NaN],
        }
    )
    return adsl, adex, adpc, adlb


def build(**kw):
    adsl, adex, adpc, adlb = adam()
    return build_nm_dataset(
        adsl, adex, adpc, adlb, treatment="BATOCLIMAB", analyte="BATOCLIM", visits=VISITS, dosing_days=DOSING_DAYS, **kw
    )


# ID, TIME, NTIME, AMT, DV, EVID, MDV, CMT, BLQ, LLOQ (covariates checked separately)
EXPECTED = [
    (1, -74.0, -168.0, 0.0, 12.0, 0, 0, 3, 0, NaN),  # screening IgG at its actual (negative) time
    (1, -1.0, 0.0, 0.0, NaN, 0, 1, 2, 1, 0.05),  # pre-dose concentration: MDV 1
    (1, -1.0, 0.0, 0.0, 11.0, 0, 0, 3, 0, NaN),  # pre-dose (baseline) IgG
    (1, 0.0, 0.0, 340.0, NaN, 1, 1, 1, 0, NaN),
    (1, 24.0, 24.0, 0.0, 5.5, 0, 0, 2, 0, 0.05),
    (1, 167.5, 168.0, 0.0, 6.0, 0, 0, 3, 0, NaN),
    (1, 168.5, 168.0, 340.0, NaN, 1, 1, 1, 0, NaN),  # dose 2: nominal day 8 (config dosing_days)
    (1, 500.0, 504.0, 0.0, NaN, 0, 0, 2, 1, 0.05),  # BLQ kept for M3 (MDV 0)
    (2, 0.0, 0.0, 680.0, NaN, 1, 1, 1, 0, NaN),
    (2, 6.0, 6.0, 0.0, 12.0, 0, 0, 2, 0, 0.05),
    (2, 48.0, NaN, 0.0, 9.0, 0, 0, 3, 0, NaN),  # outside every visit window: no nominal time
    (2, 168.0, 168.0, 0.0, NaN, 0, 0, 3, 1, 1.0),  # censored IgG
]


def _same(a, b):
    if isinstance(b, float) and math.isnan(b):
        return isinstance(a, float) and math.isnan(a)
    return a == b


def test_exact_rows():
    nm, ids = build()
    assert list(nm.columns) == NM_COLUMNS
    got = [tuple(r) for r in nm[NM_COLUMNS[:10]].itertuples(index=False)]
    assert len(got) == len(EXPECTED)
    for g, e in zip(got, EXPECTED):
        assert all(_same(float(x) if isinstance(y, float) else x, y) for x, y in zip(g, e)), (g, e)
    for c in ("ID", "EVID", "MDV", "CMT", "BLQ"):
        assert nm[c].dtype.kind == "i"


def test_covariates_and_id_map():
    nm, ids = build()
    assert ids.to_dict(orient="list") == {
        "ID": [1, 2],
        "USUBJID": ["ST-001", "ST-002"],
        "ARMCD": ["BATO340", "BATO680"],
        "DOSE": [340.0, 680.0],
    }
    cov = nm.groupby("ID")[["DOSE", "WT", "AGE", "SEX"]].first()
    assert cov.loc[1].tolist() == [340.0, 70.0, 40.0, 1.0]
    assert cov.loc[2].tolist() == [680.0, 60.5, 50.0, 0.0]
    assert (nm.groupby("ID")[["DOSE", "WT", "AGE", "SEX"]].nunique() == 1).all().all()


def test_deterministic_and_readable_by_the_estimator(tmp_path):
    a, _ = build()
    b, _ = build()
    write_csv(a, tmp_path / "a.csv")
    write_csv(b, tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    data = read_nm_dataset(tmp_path / "a.csv")
    assert data.n_subjects == 2
    # the estimator's view: concentrations used = 2 measurable + 1 BLQ (pre-dose has MDV 1)
    assert len(data.observations((2,))) == 3
    assert len(data.observations((3,))) == 5


def test_nominal_hours():
    assert nominal_hours(1) == 0.0
    assert nominal_hours(8) == 168.0
    assert nominal_hours(-7) == -168.0


def test_blq_without_limit_is_a_user_error():
    adsl, adex, adpc, adlb = adam()
    adpc.loc[2, "LLOQ"] = np.nan
    with pytest.raises(UserError, match="ST-001.*no LLOQ"):
        build_nm_dataset(adsl, adex, adpc, adlb, treatment="BATOCLIMAB", analyte="BATOCLIM", visits=VISITS)


def test_missing_column_and_no_dosed_subject():
    adsl, adex, adpc, adlb = adam()
    with pytest.raises(UserError, match="ADPC: missing column"):
        build_nm_dataset(adsl, adex, adpc.drop(columns=["AFRLT"]), adlb, treatment="BATOCLIMAB", analyte="BATOCLIM",
                         visits=VISITS)
    with pytest.raises(UserError, match="no subject received"):
        build_nm_dataset(adsl, adex, adpc, adlb, treatment="PLACEBO", analyte="BATOCLIM", visits=VISITS)
