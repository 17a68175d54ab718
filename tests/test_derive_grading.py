"""CTCAE grades at the boundaries, normal ranges and their fallback (fcrnpipe.derive.grading)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fcrnpipe.derive.grading import check_units, grade, load_ctcae, normal_ranges, range_indicator
from fcrnpipe.errors import UserError
from test_derive_helpers import CTCAE, RANGES


def _grade(code, values, lo, hi):
    n = len(values)
    return grade(
        pd.Series([code] * n),
        pd.Series(values, dtype="float64"),
        pd.Series([lo] * n, dtype="float64"),
        pd.Series([hi] * n, dtype="float64"),
        CTCAE,
    ).tolist()


def test_ctcae_table_loads():
    assert len(CTCAE) == 7
    alb = CTCAE[CTCAE["PARAMCD"] == "ALB"]
    assert alb["grade"].tolist() == [1, 2, 3] and np.isnan(alb["limit"].iloc[0]) and alb["limit"].iloc[1] == 30.0


def test_albumin_grades_at_the_boundaries():
    # LLN 35: grade 1 < 35, grade 2 < 30, grade 3 < 20 (g/L)
    values = [50.0, 35.0, 34.9, 30.0, 29.9, 20.0, 19.9, np.nan]
    assert _grade("ALB", values, 35.0, 50.0) == [0, 0, 1, 1, 2, 2, 3, pd.NA]


def test_albumin_without_lln_grades_only_the_fixed_thresholds():
    assert _grade("ALB", [32.0, 25.0], np.nan, np.nan) == [0, 2]
    # a site LLN of 40 (site 103 ranges) makes 38 g/L grade 1
    assert _grade("ALB", [38.0, 40.0], 40.0, 55.0) == [1, 0]


def test_cholesterol_grades_at_the_boundaries():
    # ULN 5.2: grade 1 > ULN, 2 > 7.75, 3 > 10.34, 4 > 12.92 (mmol/L)
    values = [5.2, 5.21, 7.75, 7.76, 10.34, 10.35, 12.92, 12.93]
    assert _grade("CHOL", values, np.nan, 5.2) == [0, 1, 1, 2, 2, 3, 3, 4]


def test_parameters_without_ctcae_rows_have_no_grade():
    assert _grade("IGG", [1.0, 20.0], 7.0, 16.0) == [pd.NA, pd.NA]


def test_normal_range_fallback_only_when_the_record_has_none():
    code = pd.Series(["IGG", "IGG", "CHOL", "ALB"])
    lo = pd.Series([np.nan, 7.51, np.nan, np.nan])
    hi = pd.Series([np.nan, 15.6, 5.0, np.nan])
    anrlo, anrhi = normal_ranges(code, lo, hi, RANGES)
    assert anrlo.tolist()[:2] == [7.0, 7.51] and np.isnan(anrlo[2]) and anrlo[3] == 35.0
    assert anrhi.tolist() == [16.0, 15.6, 5.0, 50.0]  # CHOL keeps its one-sided record range


def test_range_indicator():
    a = pd.Series([3.0, 7.0, 16.0, 17.0, np.nan, 5.0])
    lo = pd.Series([7.0, 7.0, 7.0, 7.0, 7.0, np.nan])
    hi = pd.Series([16.0, 16.0, 16.0, 16.0, 16.0, np.nan])
    assert range_indicator(a, lo, hi).tolist() == ["LOW", "NORMAL", "NORMAL", "HIGH", None, None]


def test_bad_tables_are_user_errors(tmp_path):
    p = tmp_path / "ctcae.csv"
    p.write_text("PARAMCD,term,direction,grade,threshold,unit\nALB,x,down,1,LLN,g/L\n", encoding="utf-8")
    with pytest.raises(UserError, match="ctcae.csv, row 1, column direction: 'down'"):
        load_ctcae(p)
    p.write_text("PARAMCD,term,direction,grade,threshold,unit\nALB,x,low,2,thirty,g/L\n", encoding="utf-8")
    with pytest.raises(UserError, match="row 1, column threshold: 'thirty' is not a number"):
        load_ctcae(p)
    with pytest.raises(UserError, match="ctcae.csv, row 4, column unit: 'mg/dL' for CHOL"):
        t = CTCAE.copy()
        t.loc[3, "unit"] = "mg/dL"
        check_units(t, {"CHOL": "mmol/L", "ALB": "g/L"}, "ctcae.csv")
