"""Reported text -> numbers with censoring (fcrnpipe.derive.results); expectations by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fcrnpipe.derive.results import (
    Result,
    impute_blq,
    impute_lab,
    impute_titre,
    parse_concentration,
    parse_numeric,
    parse_titre,
)
from fcrnpipe.errors import UserError


def test_parse_numeric_forms():
    assert parse_numeric("9.8") == Result(9.8)
    assert parse_numeric(" 12 ") == Result(12.0)
    assert parse_numeric("<0.5") == Result(0.5, "<")
    assert parse_numeric(">2000") == Result(2000.0, ">")
    assert parse_numeric("") is None and parse_numeric(None) is None
    for bad in ("abc", "1:100", "<", "NEGATIVE"):
        with pytest.raises(ValueError):
            parse_numeric(bad)


def test_parse_titre_forms():
    assert parse_titre("1:100") == Result(100.0, None, False)
    assert parse_titre("1:10") == Result(10.0, None, False)
    assert parse_titre("NEGATIVE") == Result(10.0, "<", True)  # below the lowest dilution 1:10
    pos = parse_titre("POSITIVE")
    assert math.isnan(pos.value) and pos.undetected is False
    for bad in ("1:0", "100", "<1:10"):
        with pytest.raises(ValueError):
            parse_titre(bad)


def test_parse_concentration_forms():
    assert parse_concentration("<LLOQ", 0.05) == Result(0.05, "<")
    assert parse_concentration("BLQ", 0.05) == Result(0.05, "<")
    assert parse_concentration("<0.5", 0.05) == Result(0.5, "<")  # the reported limit wins
    assert parse_concentration("12.3", 0.05) == Result(12.3)
    with pytest.raises(ValueError):
        parse_concentration(">50", 0.05)


@pytest.mark.parametrize("method, expected", [("half_limit", 0.25), ("limit", 0.5), ("zero", 0.0)])
def test_impute_lab(method, expected):
    assert impute_lab(0.5, method) == expected


def test_impute_lab_missing_and_unknown():
    assert math.isnan(impute_lab(0.5, "missing"))
    with pytest.raises(UserError, match="censoring.lab"):
        impute_lab(0.5, "third")


def test_impute_titre():
    assert impute_titre("half_lowest") == 5.0 and impute_titre("zero") == 0.0
    assert math.isnan(impute_titre("missing"))


def _profile(order):
    # BLQ, 1.0, BLQ, 2.0, BLQ in time order; LLOQ 0.1
    blq = pd.Series([True, False, True, False, True])
    values = pd.Series([np.nan, 1.0, np.nan, 2.0, np.nan])
    lloq = pd.Series([0.1] * 5)
    return blq, lloq, values, pd.Series(order, dtype=float)


@pytest.mark.parametrize(
    "before, after, expected",
    [
        ("zero", "missing", [0.0, 1.0, np.nan, 2.0, np.nan]),
        ("missing", "half_lloq", [np.nan, 1.0, 0.05, 2.0, 0.05]),
        ("zero", "zero", [0.0, 1.0, 0.0, 2.0, 0.0]),
    ],
)
def test_impute_blq_before_and_after_first_measurable(before, after, expected):
    out = impute_blq(*_profile([0, 1, 2, 3, 4]), before, after)
    np.testing.assert_array_equal(out.to_numpy(), np.array(expected))


def test_impute_blq_follows_time_order_not_row_order():
    # row 0 (BLQ) is taken last in time: it is after the first measurable value
    out = impute_blq(*_profile([9, 1, 0, 3, 4]), "zero", "missing")
    np.testing.assert_array_equal(out.to_numpy(), [np.nan, 1.0, 0.0, 2.0, np.nan])
    with pytest.raises(UserError, match="pk_after_first_measurable"):
        impute_blq(*_profile([0, 1, 2, 3, 4]), "zero", "limit")
