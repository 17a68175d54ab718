"""Simulation of dosing regimens with the final model: IgG as % of baseline over time, as
simulated trials with parameter uncertainty per trial and between-subject variability per
subject.

Simulated trials (``trials``, config ``pkpd.regimen_simulation.trials``) of ``subjects``
virtual subjects each (``pkpd.regimen_simulation.subjects``). Trial ``t`` (1..T) has one
population parameter set (fixed effects, Omega; :func:`trial_populations`):

* ``bootstrap`` (default, config ``pkpd.regimen_simulation.uncertainty``): the estimates of a
  bootstrap replicate of ``pkpd/bootstrap.csv`` -- the replicates the bootstrap intervals use
  (status ok and, with ``pkpd.bootstrap.exclude_at_bound``, no estimate on its search bound),
  trial ``t`` the ``t``-th of them in replicate order, starting again from the first when
  there are more trials than replicates (said in the ``uncertainty`` column). Replicates are
  random resamples already, so taking them in order is a random choice without repeats;
* ``covariance`` (or ``bootstrap`` when the pipeline ran no bootstrap, or none of its
  replicates is usable): a draw from the covariance step's asymptotic distribution
  ``N(x_hat, Cov)`` on the estimation scale;
* at the final estimates (no parameter uncertainty) when neither exists (the covariance step
  failed; said in the table) or with ``none``.

Its subjects get their own random effects from that set's Omega (between-subject
variability); no residual error (the quantity of interest is the true IgG). Random numbers:
trial ``t`` uses only ``numpy.random.default_rng([seed, t])`` -- first its covariance-step
draw (if any), then the random effects of its subjects (PK, then PD) -- so a trial's numbers
do not depend on how many trials are simulated together (:data:`MAX_ROWS_PER_CALL`) or in
which order. The same virtual subjects (same trial parameter sets and random effects) receive
every regimen, so regimens differ by the dosing only. The IVMP suppression of IgG synthesis
is part of the model, as in the trial.

Times are days after the first dose (day 0 = first dose = study day 1); a dose on study day
``d`` is given at day ``d - 1``. IgG is expressed as % of the subject's baseline (``IgG0``).

Two intervals are reported, and they answer different questions:

* the **uncertainty band of the median** (``*_median_lo``/``*_median_hi``, profiles
  ``pct_median_lo``/``pct_median_hi``): 5th-95th percentiles *across trials* of each trial's
  median over its subjects -- how well the model knows the typical response (parameter
  uncertainty); the reported median (``*_median``) is the median of the trial medians;
* the **between-subject prediction interval** (``*_p05``/``*_p95``, profiles
  ``pct_p05``/``pct_p95``): the 5th and 95th percentiles *over the subjects of a trial*, the
  median of each over trials -- where 90% of patients of a typical trial fall (between-subject
  variability).

Metrics per virtual subject (:func:`curve_metrics`); for event times a subject that never
reaches a threshold within the simulated days counts as "later than everything", so a
percentile (over subjects or over trials) falling on such subjects is reported as NA, and
the percentage of all virtual subjects reaching it is given:

* ``t50``/``t70``: first time IgG falls to <= 50% / <= 30% of baseline (50% / 70% reduction);
* ``nadir``: the lowest % of baseline, and its day;
* ``recovery80``: days from the last dose until IgG is back to >= 80% of baseline (after the
  nadir); 0 if it never fell below 80%.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.errors import UserError
from fcrnpipe.models import make_design
from fcrnpipe.models.threads import map_threads
from fcrnpipe.nlme import NMData
from fcrnpipe.pkpd.bootstrap import used_replicates
from fcrnpipe.pkpd.simulation import PkPdModel

HOURS_PER_DAY = 24.0
#: Output grid of the regimen simulation (days).
STEP_DAYS = 0.25
#: Percentiles of the between-subject prediction interval and of the uncertainty band.
QUANTILES = (5.0, 50.0, 95.0)
#: Virtual subjects integrated in one model call (whole trials; memory bound only).
MAX_ROWS_PER_CALL = 1000
UNCERTAINTY_SOURCES = ("bootstrap", "covariance", "none")
METRIC_TIMES = ("t50", "t70", "recovery80")
REGIMEN_COLUMNS = [
    "regimen",
    "n_trials",
    "subjects_per_trial",
    "uncertainty",
    "total_dose_mg",
    "last_dose_day",
]
for _k in ("t50", "t70"):
    REGIMEN_COLUMNS += [f"{_k}_median_day", f"{_k}_median_lo_day", f"{_k}_median_hi_day", f"{_k}_p05_day",
                        f"{_k}_p95_day", f"{_k}_reached_pct"]
REGIMEN_COLUMNS += ["nadir_pct_median", "nadir_pct_median_lo", "nadir_pct_median_hi", "nadir_pct_p05", "nadir_pct_p95",
                    "nadir_day_median"]
REGIMEN_COLUMNS += ["recovery80_median_day", "recovery80_median_lo_day", "recovery80_median_hi_day",
                    "recovery80_p05_day", "recovery80_p95_day", "recovery80_reached_pct"]
PROFILE_COLUMNS = ["regimen", "day", "pct_median", "pct_median_lo", "pct_median_hi", "pct_p05", "pct_p95", "pct_mean"]


def regimen_doses(regimen: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Dose times (days after the first dose) and amounts (mg) of a config regimen, sorted."""
    times, amts = [], []
    for block in regimen["doses"]:
        for d in block["days"]:
            times.append(float(d) - 1.0)
            amts.append(float(block["mg"]))
    order = np.argsort(times, kind="stable")
    return np.asarray(times)[order], np.asarray(amts)[order]


def dose_key(regimen: Mapping[str, Any]) -> tuple[tuple[float, float], ...]:
    """The doses of a config regimen as sorted ``(day after the first dose, mg)`` pairs: two
    regimens with the same key give the same curves for the same virtual subjects."""
    times, amts = regimen_doses(regimen)
    return tuple(zip(times.tolist(), amts.tolist()))


def curves_for(
    model: PkPdModel,
    wanted: Sequence[Mapping[str, Any]],
    params: np.ndarray,
    days: float,
    simulated: Mapping[str, tuple[np.ndarray, np.ndarray]],
    regimens: Sequence[Mapping[str, Any]],
    workers: int = 1,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Curves (:func:`regimen_curves`) of the regimens ``wanted`` for the virtual subjects
    ``params``, by name: taken from ``simulated`` (curves of ``regimens`` for the same
    subjects and days, by name) when one of ``regimens`` has the same doses, else simulated."""
    known = {dose_key(reg): simulated[str(reg["name"])] for reg in regimens if str(reg["name"]) in simulated}
    out = {}
    for reg in wanted:
        key = dose_key(reg)
        out[str(reg["name"])] = known[key] if key in known else regimen_curves(model, reg, params, days, workers=workers)
    return out


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
    percentage of values with the event. A percentile that falls on "never" is NaN."""
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


def across_trials(values: np.ndarray, times: bool, q: Sequence[float] = QUANTILES) -> dict[str, float]:
    """Median and uncertainty band of the median, and the between-subject interval, of one
    metric ``values`` ``(trials, subjects)`` (see the module docstring): per trial the
    percentiles ``q`` over its subjects, then over trials the median and the ``q[0]``-``q[-1]``
    percentiles of the trial medians and the medians of the trial ``q[0]``/``q[-1]``
    percentiles. ``times``: NaN means "never" (:func:`summarise_times`), else plain
    (linearly interpolated) percentiles."""
    v = np.atleast_2d(np.asarray(values, dtype=float))
    mid_q = q[1]

    def pct(a: np.ndarray, qs: Sequence[float]) -> list[float]:
        if times:
            return summarise_times(a, qs)[0]
        return [float(x) for x in np.percentile(a, list(qs))]

    per_trial = np.array([pct(row, q) for row in v])  # (trials, 3): p_lo, median, p_hi over subjects
    m_lo, m_med, m_hi = pct(per_trial[:, 1], q)
    return {
        "median": m_med,
        "median_lo": m_lo,
        "median_hi": m_hi,
        "p_lo": pct(per_trial[:, 0], (mid_q,))[0],
        "p_hi": pct(per_trial[:, 2], (mid_q,))[0],
    }


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


# --------------------------------------------------------------------- simulated trials
def trial_rng(seed: int, trial: int) -> np.random.Generator:
    """The generator of simulated trial ``trial`` (1-based; see the module docstring)."""
    return np.random.default_rng([int(seed), int(trial)])


@dataclass
class TrialPopulations:
    """Where the population parameter set of each simulated trial comes from.

    ``source``: ``bootstrap`` (``sets[t - 1]`` is trial ``t``'s set, ``replicates[t - 1]``
    its replicate), ``covariance`` (drawn per trial from its generator) or ``none`` (the final
    estimates, ``sets`` holds them once). ``text``: the ``uncertainty`` column.
    """

    source: str
    text: str
    sets: list[dict[str, np.ndarray]] = field(default_factory=list)
    replicates: list[int] = field(default_factory=list)


def bootstrap_sets(model: PkPdModel, bootstrap: pd.DataFrame, exclude_at_bound: bool = True) -> list[tuple[int, dict[str, np.ndarray]]]:
    """(replicate, population parameter set) of the usable replicates of ``bootstrap.csv``:
    status ``ok`` and, with ``exclude_at_bound``, no estimate on its search bound (as the
    bootstrap intervals), in replicate order; a row whose estimates cannot make a set (missing,
    not finite) is skipped."""
    if bootstrap is None or bootstrap.empty:
        return []
    b = bootstrap.sort_values("replicate", kind="stable")
    used = used_replicates(b, exclude_at_bound)
    out = []
    for _, row in b[used].iterrows():
        est = {str(k): v for k, v in row.items() if isinstance(v, (int, float, np.integer, np.floating))}
        try:
            out.append((int(row["replicate"]), model.population_from_estimates(est)))
        except ValueError:
            continue
    return out


def trial_populations(
    model: PkPdModel,
    trials: int,
    source: str = "bootstrap",
    bootstrap: pd.DataFrame | None = None,
    exclude_at_bound: bool = True,
) -> TrialPopulations:
    """The population parameter sets of ``trials`` simulated trials (module docstring)."""
    if source not in UNCERTAINTY_SOURCES:
        raise UserError(f"config pkpd.regimen_simulation.uncertainty: {source!r} is not one of {', '.join(UNCERTAINTY_SOURCES)}")
    if trials < 1:
        raise UserError("config pkpd.regimen_simulation.trials must be at least 1")
    note = ""
    if source == "bootstrap":
        usable = bootstrap_sets(model, bootstrap, exclude_at_bound) if bootstrap is not None else []
        n_rows = 0 if bootstrap is None else len(bootstrap)
        if usable:
            reps = [usable[(t - 1) % len(usable)] for t in range(1, trials + 1)]
            reuse = "" if trials <= len(usable) else f"; {trials} trials, so replicates are reused in turn"
            return TrialPopulations(
                "bootstrap",
                f"bootstrap replicates ({len(usable)} usable of {n_rows}{reuse})",
                [r[1] for r in reps],
                [r[0] for r in reps],
            )
        note = " (no usable bootstrap replicate)" if n_rows else " (no bootstrap run)"
        source = "covariance"
    if source == "covariance":
        if model.uncertainty_available:
            return TrialPopulations("covariance", "covariance step (multivariate normal)" + note)
        return TrialPopulations("none", f"none: covariance step failed{note}", [model.estimates()])
    return TrialPopulations("none", "none (final estimates)", [model.estimates()])


def trial_parameters(model: PkPdModel, populations: TrialPopulations, trial: int, subjects: int, seed: int,
                     pool: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """Natural parameters ``(subjects, 9)`` of the virtual subjects of trial ``trial``
    (1-based), from its generator :func:`trial_rng` only. With covariate relations, each
    virtual subject's covariate values are drawn with replacement from ``pool`` (the observed
    subjects', :func:`covariate_pool`; None: the reference values)."""
    rng = trial_rng(seed, trial)
    if populations.source == "covariance":
        pop = model.draw_population(rng)
    elif populations.source == "bootstrap":
        pop = populations.sets[trial - 1]
    else:
        pop = populations.sets[0]
    return model.sample_at(int(subjects), rng, pop, pool=pool)


def covariate_pool(model: PkPdModel, data: NMData) -> dict[str, np.ndarray] | None:
    """The covariate values (one per subject of the modelling dataset ``data``) that virtual
    subjects are resampled from; None when the model has no covariate relations."""
    names = model.covariate_names
    if not names:
        return None
    from fcrnpipe.nlme.estimate import subject_covariates

    vals = subject_covariates(data, names, data.ids)
    return {c: vals[:, j] for j, c in enumerate(names)}


def simulate_trials(
    model: PkPdModel, populations: TrialPopulations, trials: int, subjects: int, seed: int,
    pool: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Parameters ``(trials, subjects, 9)`` of every simulated trial (:func:`trial_parameters`)."""
    return np.stack([trial_parameters(model, populations, t, subjects, seed, pool) for t in range(1, int(trials) + 1)])


def regimen_curves(
    model: PkPdModel,
    regimen: Mapping[str, Any],
    params: np.ndarray,
    days: float,
    max_rows: int = MAX_ROWS_PER_CALL,
    workers: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Days and IgG % of baseline of the virtual subjects ``params``: ``(subjects, 9)`` ->
    ``(subjects, n_days)``; ``(trials, subjects, 9)`` -> ``(trials, subjects, n_days)``,
    integrated whole trials at a time: as many as fit in ``max_rows`` subjects per model call
    (at least one). ``workers`` > 1 integrates that many blocks at a time in threads
    (:func:`~fcrnpipe.models.threads.map_threads`; the compiled kernels release the GIL); every
    block is computed alone and the blocks are put back in order, so the result does not depend
    on ``workers``."""
    params = np.asarray(params, dtype=float)
    if params.ndim == 2:
        tday, pct = regimen_curves(model, regimen, params[None], days, max_rows, workers)
        return tday, pct[0]
    times, amts = regimen_doses(regimen)
    n_trials, n_sub, _ = params.shape
    per_call = max(1, int(max_rows) // max(n_sub, 1))
    blocks = [params[a : a + per_call].reshape(-1, params.shape[2]) for a in range(0, n_trials, per_call)]

    def curves(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        design, tday = regimen_design(times, amts, block.shape[0], days)
        f = model.predict(design, block)
        return tday, (100.0 * f / block[:, 5][:, None]).reshape(-1, n_sub, f.shape[1])

    done = map_threads(curves, blocks, int(workers))
    return done[-1][0], np.concatenate([pct for _, pct in done])


def simulate_regimens(
    model: PkPdModel,
    regimens: Sequence[Mapping[str, Any]],
    params: np.ndarray,
    days: float,
    uncertainty_text: str,
    max_rows: int = MAX_ROWS_PER_CALL,
    workers: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Regimen table (:data:`REGIMEN_COLUMNS`), profiles (:data:`PROFILE_COLUMNS`) and the
    curves (days, % of baseline ``(trials, subjects, n_days)``) per regimen name, for the
    virtual subjects ``params`` ``(trials, subjects, 9)`` (or ``(subjects, 9)``: one trial)."""
    params = np.asarray(params, dtype=float)
    if params.ndim == 2:
        params = params[None]
    rows, profiles, curves = [], [], {}
    for reg in regimens:
        times, amts = regimen_doses(reg)
        tday, pct = regimen_curves(model, reg, params, days, max_rows, workers)
        curves[str(reg["name"])] = (tday, pct)
        rows.append(regimen_row(str(reg["name"]), tday, pct, times, amts, uncertainty_text))
        profiles.append(regimen_profile(str(reg["name"]), tday, pct))
    return pd.DataFrame(rows, columns=REGIMEN_COLUMNS), pd.concat(profiles, ignore_index=True)[PROFILE_COLUMNS], curves


def regimen_profile(name: str, tday: np.ndarray, pct: np.ndarray) -> pd.DataFrame:
    """Profile rows (:data:`PROFILE_COLUMNS`) of curves ``(trials, subjects, n_days)`` (or
    ``(subjects, n_days)``: one trial): per day the median of the trial medians with its
    5th-95th percentile band across trials, the median over trials of the trial 5th and 95th
    percentiles over subjects, and the mean over all virtual subjects."""
    pct = np.asarray(pct, dtype=float)
    if pct.ndim == 2:
        pct = pct[None]
    mid_q = QUANTILES[1]
    per_trial = np.percentile(pct, QUANTILES, axis=1)  # (3, trials, n_days)
    band = np.percentile(per_trial[1], QUANTILES, axis=0)  # (3, n_days)
    return pd.DataFrame(
        {
            "regimen": name,
            "day": tday,
            "pct_median": band[1],
            "pct_median_lo": band[0],
            "pct_median_hi": band[2],
            "pct_p05": np.percentile(per_trial[0], mid_q, axis=0),
            "pct_p95": np.percentile(per_trial[2], mid_q, axis=0),
            "pct_mean": pct.mean(axis=(0, 1)),
        }
    )


def regimen_row(
    name: str, tday: np.ndarray, pct: np.ndarray, times: np.ndarray, amts: np.ndarray, uncertainty_text: str
) -> dict[str, Any]:
    """One row of the regimen table from the curves ``pct`` ``(trials, subjects, n_days)``
    (or ``(subjects, n_days)``: one trial; its band is then the median itself)."""
    pct = np.asarray(pct, dtype=float)
    if pct.ndim == 2:
        pct = pct[None]
    n_trials, n_sub, _ = pct.shape
    last = float(np.max(times))
    mets = [[curve_metrics(tday, pct[t, i], last) for i in range(n_sub)] for t in range(n_trials)]
    m = {k: np.array([[d[k] for d in trial] for trial in mets]) for k in mets[0][0]}
    row: dict[str, Any] = {
        "regimen": name,
        "n_trials": int(n_trials),
        "subjects_per_trial": int(n_sub),
        "uncertainty": uncertainty_text,
        "total_dose_mg": float(np.sum(amts)),
        "last_dose_day": last,
    }
    for key in METRIC_TIMES:
        s = across_trials(m[key], times=True)
        row.update({
            f"{key}_median_day": s["median"],
            f"{key}_median_lo_day": s["median_lo"],
            f"{key}_median_hi_day": s["median_hi"],
            f"{key}_p05_day": s["p_lo"],
            f"{key}_p95_day": s["p_hi"],
            f"{key}_reached_pct": 100.0 * float(np.isfinite(m[key]).mean()),
        })
    s = across_trials(m["nadir_pct"], times=False)
    row.update(
        {
            "nadir_pct_median": s["median"],
            "nadir_pct_median_lo": s["median_lo"],
            "nadir_pct_median_hi": s["median_hi"],
            "nadir_pct_p05": s["p_lo"],
            "nadir_pct_p95": s["p_hi"],
            "nadir_day_median": float(np.median(np.median(m["nadir_day"], axis=1))),
        }
    )
    return row
