"""Regimen metrics (fcrnpipe.pkpd.regimen) on hand-made IgG % of baseline curves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fcrnpipe.pkpd.regimen import (
    REGIMEN_COLUMNS,
    curve_metrics,
    first_crossing,
    regimen_doses,
    regimen_row,
    summarise_times,
)


def vcurve(t):
    """100% -> 20% at day 8 (10 points/day), flat to day 30, back up 2 points/day to 100%."""
    t = np.asarray(t, dtype=float)
    return np.where(t <= 8, 100 - 10 * t, np.where(t <= 30, 20.0, np.minimum(100.0, 20 + 2 * (t - 30))))


@pytest.mark.parametrize("step", [0.25, 0.5, 2.0])  # grids through the kinks of the curve
def test_metrics_of_a_hand_made_curve(step):
    t = np.arange(0, 100 + 1e-9, step)
    m = curve_metrics(t, vcurve(t), last_dose_day=21.0)
    assert m["t50"] == pytest.approx(5.0)  # 100 - 10 t = 50
    assert m["t70"] == pytest.approx(7.0)  # <= 30% of baseline
    assert m["nadir_pct"] == pytest.approx(20.0)
    assert m["recovery80"] == pytest.approx(60.0 - 21.0)  # 20 + 2 (t - 30) = 80 at day 60
    assert 8.0 <= m["nadir_day"] <= 9.0  # the first grid point at the nadir


def test_never_reached_and_never_recovered():
    t = np.arange(0, 60.0, 0.5)
    shallow = 100 - 40 * (1 - np.exp(-t / 5))  # nadir ~60%: no 50% or 70% reduction
    m = curve_metrics(t, shallow, last_dose_day=21.0)
    assert math.isnan(m["t50"]) and math.isnan(m["t70"])
    assert math.isnan(m["recovery80"])  # below 80% until the end of the simulation
    mild = 100 - 10 * np.sin(np.pi * t / 60)  # never below 80%: recovery 0
    assert curve_metrics(t, mild, 21.0)["recovery80"] == 0.0


def test_recovery_counts_from_the_last_dose_after_the_nadir():
    t = np.arange(0, 200.0, 1.0)
    pct = vcurve(t)
    # doses until day 40 (after the nadir plateau): recovery from day 40 to day 60
    assert curve_metrics(t, pct, last_dose_day=40.0)["recovery80"] == pytest.approx(20.0)


def test_first_crossing_interpolates_and_rises():
    t = np.array([0.0, 1.0, 2.0])
    assert first_crossing(t, np.array([100.0, 60.0, 40.0]), 50.0) == pytest.approx(1.5)
    assert first_crossing(t, np.array([10.0, 70.0, 90.0]), 80.0, below=False) == pytest.approx(1.5)
    assert first_crossing(t, np.array([10.0, 70.0, 90.0]), 80.0, below=False, start=2.0) == 2.0
    assert math.isnan(first_crossing(t, np.array([100.0, 90.0, 95.0]), 50.0))


def test_summaries_treat_never_as_later_than_everything():
    (p05, med, p95), reached = summarise_times(np.array([1.0, 2.0, 3.0, np.nan]))
    assert (p05, med) == (1.0, 2.0)
    assert math.isnan(p95)  # the 95th percentile falls on a subject who never got there
    assert reached == 75.0
    (p05, med, p95), reached = summarise_times(np.array([np.nan, np.nan, 4.0]))
    assert p05 == 4.0 and math.isnan(med) and reached == pytest.approx(100 / 3)


def test_regimen_doses_from_config():
    reg = {"name": "x", "doses": [{"mg": 680, "days": [1, 8, 15, 22]}, {"mg": 340, "days": [36, 50, 64, 78]}]}
    times, amts = regimen_doses(reg)
    assert times.tolist() == [0, 7, 14, 21, 35, 49, 63, 77]
    assert amts.tolist() == [680] * 4 + [340] * 4


def test_regimen_row_summarises_subjects():
    t = np.arange(0, 100 + 1e-9, 0.5)
    curves = np.vstack([vcurve(t), vcurve(t * 2.0), 100 - 0.1 * t])  # fast, faster, hardly any effect
    row = regimen_row("r", t, curves, np.array([0.0, 7.0, 14.0, 21.0]), np.full(4, 680.0), "none")
    assert set(row) == set(REGIMEN_COLUMNS)
    assert row["t50_reached_pct"] == pytest.approx(200 / 3)
    assert row["t50_median_day"] == pytest.approx(5.0)  # subjects: 2.5, 5.0, never
    assert row["t50_p05_day"] == pytest.approx(2.5)
    assert math.isnan(row["t50_p95_day"])
    assert row["total_dose_mg"] == 2720.0 and row["last_dose_day"] == 21.0
