"""Simulation of dosing regimens with the final model: IgG as % of baseline over time.

Virtual subjects: ``subjects`` per regimen, each with its own draw of the population
parameters from the covariance step's asymptotic distribution (parameter uncertainty; at the
estimates if the covariance step failed -- said in the table) and its own random effects
(between-subject variability); no residual error (the quantity of interest is the true IgG).
The same virtual subjects (same random numbers) receive every regimen, so regimens differ by
the dosing only. The IVMP suppression of IgG synthesis is part of the model, as in the trial.

Times are days after the first dose (day 0 = first dose = study day 1); a dose on study day
``d`` is given at day ``d - 1``. IgG is expressed as % of the subject's baseline (``IgG0``).

Metrics per virtual subject (:func:`curve_metrics`), summarised over subjects as median and
90% interval (5th-95th percentiles); a subject that never reaches a threshold within the
simulated days counts as "later than everything", so a percentile falling on such subjects is
reported as NA, and the percentage of subjects reaching it is given:

* ``t50``/``t70``: first time IgG falls to <= 50% / <= 30% of baseline (50% / 70% reduction);
* ``nadir``: the lowest % of baseline, and its day;
* ``recovery80``: days from the last dose until IgG is back to >= 80% of baseline (after the
  nadir); 0 if it never fell below 80%.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.models import make_design
from fcrnpipe.pkpd.simulation import PkPdModel

HOURS_PER_DAY = 24.0
#: Output grid of the regimen simulation (days).
STEP_DAYS = 0.25
QUANTILES = (5.0, 50.0, 95.0)
REGIMEN_COLUMNS = [
    "regimen",
    "n_subjects",
    "uncertainty",
    "total_dose_mg",
    "last_dose_day",
    "t50_median_day",
    "t50_p05_day",
    "t50_p95_day",
    "t50_reached_pct",
    "t70_median_day",
    "t70_p05_day",
    "t70_p95_day",
    "t70_reached_pct",
    "nadir_pct_median",
    "nadir_pct_p05",
    "nadir_pct_p95",
    "nadir_day_median",
    "recovery80_median_day",
    "recovery80_p05_day",
    "recovery80_p95_day",
    "recovery80_reached_pct",
]
PROFILE_COLUMNS = ["regimen", "day", "pct_median", "pct_p05", "pct_p95", "pct_mean"]


def regimen_doses(regimen: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Dose times (days after the first dose) and amounts (mg) of a config regimen, sorted."""
    times, amts = [], []
    for block in regimen["doses"]:
        for d in block["days"]:
            times.append(float(d) - 1.0)
            amts.append(float(block["mg"]))
    order = np.argsort(times, kind="stable")
    return np.asarray(times)[order], np.asarray(amts)[order]


def first_crossing(t: np.ndarray, y: np.ndarray, level: float, below: bool = True, start: float = -np.inf) -> float:
    """First time ``>= start`` at which ``y`` reaches ``level`` (falls to ``<=`` it if
    ``below``, else rises to ``>=``), linearly interpolated between grid points; NaN if never."""
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = t >= start
    t, y = t[ok], y[ok]
    if t.size == 0:
        return float("nan")
    hit = y <= level if below else y >= level
    if not hit.any():
        return float("nan")
    i = int(np.argmax(hit))
    if i == 0:
        return float(t[0])
    t0, t1, y0, y1 = t[i - 1], t[i], y[i - 1], y[i]
    if y1 == y0:
        return float(t1)
    return float(t0 + (level - y0) * (t1 - t0) / (y1 - y0))


def curve_metrics(t: np.ndarray, pct: np.ndarray, last_dose_day: float) -> dict[str, float]:
    """Metrics of one IgG % of baseline curve (see the module docstring); NaN = never."""
    t = np.asarray(t, dtype=float)
    pct = np.asarray(pct, dtype=float)
    i_min = int(np.argmin(pct))
    nadir_day = float(t[i_min])
    if pct.min() >= 80.0:
        rec = 0.0
    else:
        start = max(last_dose_day, nadir_day)
        back = first_crossing(t, pct, 80.0, below=False, start=start)
        rec = back - last_dose_day if np.isfinite(back) else float("nan")
    return {
        "t50": first_crossing(t, pct, 50.0),
        "t70": first_crossing(t, pct, 30.0),
        "nadir_pct": float(pct[i_min]),
        "nadir_day": nadir_day,
        "recovery80": rec,
    }


def summarise_times(values: np.ndarray, q: Sequence[float] = QUANTILES) -> tuple[list[float], float]:
    """Percentiles of event times where NaN means "never" (later than every time), and the
    percentage of subjects with the event. A percentile that falls on "never" is NaN."""
    v = np.asarray(values, dtype=float)
    reached = np.isfinite(v)
    if v.size == 0:
        return [float("nan")] * len(q), float("nan")
    filled = np.where(reached, v, np.inf)
    out = []
    for p in q:
        val = float(np.percentile(filled, p, method="inverted_cdf"))
        out.append(val if np.isfinite(val) else float("nan"))
    return out, 100.0 * float(reached.mean())


def regimen_design(times_day: np.ndarray, amts: np.ndarray, n: int, days: float, step: float = STEP_DAYS):
    """``n`` identical subjects dosed at ``times_day`` with IgG observed every ``step`` days
    from day 0 to ``days``."""
    grid = np.round(np.arange(0.0, float(days) + 1e-9, step), 10) * HOURS_PER_DAY
    return make_design(
        list(range(1, n + 1)),
        [grid] * n,
        [np.full(grid.size, 3)] * n,
        [times_day * HOURS_PER_DAY] * n,
        [amts] * n,
    ), grid / HOURS_PER_DAY


def sample_virtual_subjects(
    model: PkPdModel, subjects: int, rng: np.random.Generator, uncertainty: bool = True
) -> tuple[np.ndarray, str]:
    """Parameters of the virtual subjects (see the module docstring) and how parameter
    uncertainty entered."""
    use_unc = bool(uncertainty and model.uncertainty_available)
    text = "covariance step (MVN)" if use_unc else ("none (covariance step failed)" if uncertainty else "none")
    return model.sample(subjects, rng, iiv=True, uncertainty=use_unc), text


def regimen_curves(model: PkPdModel, regimen: Mapping[str, Any], params: np.ndarray, days: float) -> tuple[np.ndarray, np.ndarray]:
    """Days and IgG % of baseline ``(subjects, n_days)`` of the virtual subjects ``params``."""
    times, amts = regimen_doses(regimen)
    design, tday = regimen_design(times, amts, params.shape[0], days)
    f = model.predict(design, params)
    return tday, 100.0 * f / params[:, 5][:, None]


def simulate_regimens(
    model: PkPdModel,
    regimens: Sequence[Mapping[str, Any]],
    params: np.ndarray,
    days: float,
    uncertainty_text: str,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Regimen table (:data:`REGIMEN_COLUMNS`), profiles (:data:`PROFILE_COLUMNS`) and the
    curves (days, % of baseline ``(subjects, n_days)``) per regimen name."""
    rows, profiles, curves = [], [], {}
    for reg in regimens:
        times, amts = regimen_doses(reg)
        tday, pct = regimen_curves(model, reg, params, days)
        curves[str(reg["name"])] = (tday, pct)
        row = regimen_row(str(reg["name"]), tday, pct, times, amts, uncertainty_text)
        rows.append(row)
        qs = np.percentile(pct, QUANTILES, axis=0)
        profiles.append(
            pd.DataFrame(
                {
                    "regimen": str(reg["name"]),
                    "day": tday,
                    "pct_median": qs[1],
                    "pct_p05": qs[0],
                    "pct_p95": qs[2],
                    "pct_mean": pct.mean(axis=0),
                }
            )
        )
    return pd.DataFrame(rows, columns=REGIMEN_COLUMNS), pd.concat(profiles, ignore_index=True)[PROFILE_COLUMNS], curves


def regimen_row(
    name: str, tday: np.ndarray, pct: np.ndarray, times: np.ndarray, amts: np.ndarray, uncertainty_text: str
) -> dict[str, Any]:
    """One row of the regimen table from the curves ``pct`` ``(subjects, n_days)``."""
    last = float(np.max(times))
    mets = [curve_metrics(tday, pct[i], last) for i in range(pct.shape[0])]
    m = {k: np.array([d[k] for d in mets]) for k in mets[0]}
    row: dict[str, Any] = {
        "regimen": name,
        "n_subjects": int(pct.shape[0]),
        "uncertainty": uncertainty_text,
        "total_dose_mg": float(np.sum(amts)),
        "last_dose_day": last,
    }
    for key in ("t50", "t70", "recovery80"):
        (p05, med, p95), reached = summarise_times(m[key])
        row.update({f"{key}_median_day": med, f"{key}_p05_day": p05, f"{key}_p95_day": p95, f"{key}_reached_pct": reached})
    p05, med, p95 = np.percentile(m["nadir_pct"], QUANTILES)
    row.update(
        {
            "nadir_pct_median": float(med),
            "nadir_pct_p05": float(p05),
            "nadir_pct_p95": float(p95),
            "nadir_day_median": float(np.median(m["nadir_day"])),
        }
    )
    return row
