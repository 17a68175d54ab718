"""Visual predictive checks: observed percentiles against the prediction intervals of the same
percentiles in replicates of the study simulated from the final model, per stratum (dose
level by default), optionally prediction-corrected.

Design: the observed subjects' own doses and sampling times (ID, TIME of the modelling
dataset). Each replicate draws new subjects (random effects from Omega) and residual errors,
at the final estimates (no parameter uncertainty). Bins: the nominal time of the records
(``NTIME``; a record without one joins the bin of the nearest nominal time of its endpoint).

Strata (:func:`record_strata`): the value of a column of the modelling dataset on each record
(config ``pkpd.vpc.stratify_on``, default ``DOSE``, the planned dose of the subject's arm --
340 and 680 mg in the reference study -- as PsN's ``-stratify_on``); ``null`` pools all records
in one stratum. Every statistic below is computed per stratum and bin; the replicates are
simulated once for the whole study, so the strata of a replicate are the same simulated
subjects a pooled VPC would use.

Percentiles (:func:`choose_percentiles`, config ``pkpd.vpc.percentiles``): a configured list,
or ``auto`` (default): the 5th, 50th and 95th when every bin of every stratum holds at least
``pkpd.vpc.min_bin_observations`` (20) observations, else the 10th, 50th and 90th (with fewer
than 20 values the 5th/95th percentiles are interpolated between the two most extreme values
and say little about the tails). The choice and its reason are returned with the table and
printed on the figure. Per bin: the observed percentiles, and for each of them the median and
the 95% interval (2.5th-97.5th percentiles) of the same percentile over the replicates.
Percentiles are numpy's default (linear interpolation, R type 7).

Prediction correction (Bergstrand et al. 2011, AAPS J 13:143; config
``pkpd.vpc.prediction_corrected``, default false): observed and simulated values of record
``j`` in bin ``b`` of a stratum become ``lb + (y_j - lb) (PRED_b - lb) / (PRED_j - lb)`` with
``PRED_j`` the population prediction of the record (typical parameters, no random effects,
no residual error), ``PRED_b`` the median ``PRED_j`` of the bin's records in the stratum and
the lower bound ``lb`` = 0 (concentrations and % of baseline are non-negative); a record with
``PRED_j = lb`` (or not finite) is left as it is (as the R ``vpc`` package). This removes
the variability that comes from differences in dose and sampling time within a bin.

Censoring: concentrations below the LLOQ (BLQ records; simulated values below the record's
LLOQ) count as the lower bound 0 when percentiles are taken -- decided on the uncorrected
value, so prediction correction leaves them at 0 -- and a percentile (observed or simulated)
below the bin's limit is not reported (NaN): it lies somewhere below the limit. The bin's
limit is the largest LLOQ of its records, each multiplied by its correction factor
``PRED_b / PRED_j`` when prediction-corrected. The fraction of BLQ records per bin
(observed, and the simulated median and 95% interval) is reported alongside.

IgG is checked as % of baseline: every value divided by the subject's baseline (its last
record at or before the first dose, observed or simulated alike; the population prediction
likewise); the records after the first dose enter the VPC.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from fcrnpipe.errors import UserError
from fcrnpipe.nlme import NMData
from fcrnpipe.pkpd.simulation import PkPdModel

LEVELS = (5.0, 50.0, 95.0)
#: Percentiles of ``auto`` when a bin holds fewer than ``min_bin_observations`` records.
SMALL_BIN_LEVELS = (10.0, 50.0, 90.0)
MIN_BIN_OBSERVATIONS = 20
PI = (2.5, 50.0, 97.5)
ALL_SUBJECTS = "All subjects"
LEAD_COLUMNS = ["endpoint", "stratum", "stratum_value", "bin", "ntime_h", "time_day", "n_obs", "n_subjects", "lloq",
                "pred_bin"]
TAIL_COLUMNS = ["obs_blq_pct", "sim_blq_pct_lo", "sim_blq_pct_med", "sim_blq_pct_hi", "n_replicates", "percentiles",
                "prediction_corrected"]
HOURS_PER_DAY = 24.0


def pname(p: float) -> str:
    """Column tag of percentile ``p``: ``5 -> "p05"``, ``50 -> "p50"``, ``97.5 -> "p97.5"``."""
    return f"p{int(p):02d}" if float(p).is_integer() else f"p{p:g}"


def vpc_columns(levels: Sequence[float] = LEVELS) -> list[str]:
    """Columns of the VPC table for the percentiles ``levels``."""
    return (
        LEAD_COLUMNS
        + [f"obs_{pname(p)}" for p in levels]
        + [f"sim_{pname(p)}_{s}" for p in levels for s in ("lo", "med", "hi")]
        + TAIL_COLUMNS
    )


#: The columns with the default percentiles (5th, 50th, 95th).
VPC_COLUMNS = vpc_columns(LEVELS)


def assign_bins(ntime: np.ndarray, time: np.ndarray) -> np.ndarray:
    """Nominal time of each record; missing ones take the nominal time nearest their actual time."""
    nt = np.asarray(ntime, dtype=float).copy()
    t = np.asarray(time, dtype=float)
    known = np.unique(nt[np.isfinite(nt)])
    miss = ~np.isfinite(nt)
    if miss.any():
        if known.size == 0:
            return np.round(t, 0)
        idx = np.abs(t[miss][:, None] - known[None, :]).argmin(axis=1)
        nt[miss] = known[idx]
    return nt


def stratum_label(column: str | None, value: float) -> str:
    """Label of a stratum: ``DOSE`` 340 -> ``"340 mg"``; another column ``"SEX = 1"``."""
    if column is None:
        return ALL_SUBJECTS
    if not np.isfinite(value):
        return f"{column} missing"
    return f"{value:g} mg" if column.upper() == "DOSE" else f"{column} = {value:g}"


def record_strata(values: np.ndarray | None, column: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Stratum label and value of each record from the ``column`` values of the records
    (``column`` None: every record in :data:`ALL_SUBJECTS`, value NaN)."""
    if column is None or values is None:
        n = 0 if values is None else len(values)
        return np.full(n, ALL_SUBJECTS, dtype=object), np.full(n, np.nan)
    v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    return np.array([stratum_label(column, x) for x in v], dtype=object), v


def choose_percentiles(
    bin_sizes: Sequence[int],
    configured: str | Sequence[float] = "auto",
    min_bin_observations: int = MIN_BIN_OBSERVATIONS,
) -> tuple[tuple[float, ...], str]:
    """The percentiles of the VPC and why (see the module docstring). ``bin_sizes``: number
    of records of every bin of every stratum."""
    if not (isinstance(configured, str)):
        levels = tuple(sorted(float(p) for p in configured))
        if not levels or any(not 0.0 < p < 100.0 for p in levels) or len(set(levels)) != len(levels):
            raise UserError(f"config pkpd.vpc.percentiles: {list(configured)} must be distinct values in (0, 100)")
        return levels, "as configured (pkpd.vpc.percentiles)"
    if configured != "auto":
        raise UserError(f"config pkpd.vpc.percentiles: {configured!r} is neither 'auto' nor a list of percentiles")
    sizes = [int(n) for n in bin_sizes]
    smallest = min(sizes) if sizes else 0
    if smallest < int(min_bin_observations):
        return SMALL_BIN_LEVELS, (
            f"auto: the smallest bin holds {smallest} observation(s), fewer than {int(min_bin_observations)}, "
            "so the 10th/90th rather than the 5th/95th percentiles"
        )
    return LEVELS, f"auto: every bin holds at least {int(min_bin_observations)} observations"


def levels_text(levels: Sequence[float]) -> str:
    """``(10, 50, 90)`` -> ``"10/50/90"``."""
    return "/".join(f"{p:g}" for p in levels)


def prediction_correct(
    values: np.ndarray, pred: np.ndarray, groups: np.ndarray, lower_bound: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Prediction-corrected ``values`` (one column per record; a vector or ``(R, n)``) and the
    bin median ``PRED_b`` of each record: ``lb + (y - lb) (PRED_b - lb) / (PRED_j - lb)``,
    ``PRED_b`` the median of ``pred`` over the records of the same ``groups`` value
    (stratum and bin); records with ``PRED_j = lb`` or a non-finite ``PRED_j`` unchanged."""
    pred = np.asarray(pred, dtype=float)
    groups = np.asarray(groups)
    pred_b = np.full(pred.shape, np.nan)
    for g in pd.unique(groups):
        m = groups == g
        p = pred[m]
        pred_b[m] = np.median(p[np.isfinite(p)]) if np.isfinite(p).any() else np.nan
    factor = np.ones_like(pred)
    ok = np.isfinite(pred) & np.isfinite(pred_b) & (pred != lower_bound)
    factor[ok] = (pred_b[ok] - lower_bound) / (pred[ok] - lower_bound)
    y = np.asarray(values, dtype=float)
    return lower_bound + (y - lower_bound) * factor, pred_b


def _groups(strata: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """One key per (stratum, bin) of the records."""
    return np.array([f"{s}\x1f{b!r}" for s, b in zip(strata, bins)], dtype=object)


def corrected_observations(obs: pd.DataFrame, lower_bound: float = 0.0) -> pd.DataFrame:
    """``obs`` with ``DV`` prediction-corrected as in :func:`vpc_summary` (columns ``BIN``,
    ``PRED`` and optionally ``STRATUM``), e.g. to draw the observations of a pcVPC."""
    out = obs.copy()
    strata = out["STRATUM"].to_numpy(dtype=object) if "STRATUM" in out.columns else np.full(len(out), ALL_SUBJECTS)
    out["DV"], _ = prediction_correct(out["DV"].to_numpy(dtype=float), out["PRED"].to_numpy(dtype=float),
                                      _groups(strata, out["BIN"].to_numpy(dtype=float)), lower_bound)
    return out


def _first_finite(v: np.ndarray) -> float:
    f = v[np.isfinite(v)]
    return float(f[0]) if f.size else float("inf")


def _corrected(
    o: np.ndarray,
    s: np.ndarray,
    lim: np.ndarray,
    lloq: np.ndarray,
    pred: np.ndarray,
    groups: np.ndarray,
    lower_bound: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Prediction-corrected observed values ``o``, simulated values ``s`` and censoring limits
    ``lim`` (``-inf`` where there is no ``lloq``), and the bin median PRED of each record."""
    o, pred_b = prediction_correct(o, pred, groups, lower_bound)
    s, _ = prediction_correct(s, pred, groups, lower_bound)
    lim, _ = prediction_correct(lim, pred, groups, lower_bound)
    return o, s, np.where(np.isfinite(lloq), lim, -np.inf), pred_b


def _hide_below(v: np.ndarray | float, limit: float) -> np.ndarray:
    """``v`` with values below ``limit`` (if finite) as NaN (a percentile below the LLOQ)."""
    v = np.asarray(v, dtype=float)
    return np.where(v < limit, np.nan, v) if np.isfinite(limit) else v


def _percentile_columns(
    o: np.ndarray, s: np.ndarray, levels: Sequence[float], pi: Sequence[float], limit: float
) -> dict[str, float]:
    """The observed percentiles ``levels`` of one bin's values ``o`` and the ``pi`` percentiles
    over replicates of the simulated ones (``s``: ``(n_rep, n)``), NaN below ``limit``."""
    row = {}
    for p in levels:
        row[f"obs_{pname(p)}"] = float(_hide_below(np.percentile(o, p), limit))
        per_rep = np.percentile(s, p, axis=1)
        lo, med, hi = np.percentile(per_rep, list(pi))
        row.update(
            {
                f"sim_{pname(p)}_lo": float(_hide_below(lo, limit)),
                f"sim_{pname(p)}_med": float(_hide_below(med, limit)),
                f"sim_{pname(p)}_hi": float(_hide_below(hi, limit)),
            }
        )
    return row


def _blq_columns(o_blq: np.ndarray, s_blq: np.ndarray, pi: Sequence[float]) -> dict[str, float]:
    """Observed % BLQ of one bin and the ``pi`` percentiles over replicates of the simulated %."""
    frac = 100.0 * s_blq.mean(axis=1)
    lo, med, hi = (float(v) for v in np.percentile(frac, list(pi)))
    return {"obs_blq_pct": 100.0 * float(o_blq.mean()), "sim_blq_pct_lo": lo, "sim_blq_pct_med": med,
            "sim_blq_pct_hi": hi}


def vpc_summary(
    obs: pd.DataFrame,
    sim: np.ndarray,
    endpoint: str,
    levels: Sequence[float] = LEVELS,
    pi: Sequence[float] = PI,
    pred: np.ndarray | None = None,
    lower_bound: float = 0.0,
) -> pd.DataFrame:
    """The VPC table of one endpoint (:func:`vpc_columns` of ``levels``), rows by stratum
    (in order of its value) and bin.

    ``obs``: one row per record with ``BIN`` (nominal time, h), ``DV`` (NaN if BLQ), ``BLQ``
    (0/1), ``LLOQ`` (NaN if none), optionally ``ID`` and ``STRATUM``/``STRATUM_VALUE``
    (default: one stratum of all records); ``sim``: simulated values ``(n_rep, len(obs))`` in
    the same record order; ``pred``: the records' population predictions -- given, the table
    is prediction-corrected (module docstring).
    """
    sim = np.asarray(sim, dtype=float)
    if sim.ndim != 2 or sim.shape[1] != len(obs):
        raise ValueError("sim must have one column per observed record")
    n_rep = sim.shape[0]
    levels = tuple(float(p) for p in levels)
    n = len(obs)
    strata = obs["STRATUM"].to_numpy(dtype=object) if "STRATUM" in obs.columns else np.full(n, ALL_SUBJECTS, dtype=object)
    svalue = obs["STRATUM_VALUE"].to_numpy(dtype=float) if "STRATUM_VALUE" in obs.columns else np.full(n, np.nan)
    ids = obs["ID"].astype(str).to_numpy() if "ID" in obs.columns else np.arange(n).astype(str)
    lloq_all = obs["LLOQ"].to_numpy(dtype=float)
    bins = obs["BIN"].to_numpy(dtype=float)
    lim_rec = np.where(np.isfinite(lloq_all), lloq_all, -np.inf)
    dv_all = obs["DV"].to_numpy(dtype=float)
    # censoring on the uncorrected values; censored values count as the lower bound
    o_blq_all = (obs["BLQ"].to_numpy(dtype=int) == 1) | (dv_all < lim_rec)
    s_blq_all = sim < lim_rec[None, :]
    o_all = np.where(o_blq_all, lower_bound, dv_all)
    s_all = np.where(s_blq_all, lower_bound, sim)
    pred_b = np.full(n, np.nan)
    corrected = pred is not None
    if corrected:
        o_all, s_all, lim_rec, pred_b = _corrected(o_all, s_all, lim_rec, lloq_all, np.asarray(pred, dtype=float),
                                                   _groups(strata, bins), lower_bound)
    order = sorted(pd.unique(strata), key=lambda s: (_first_finite(svalue[strata == s]), str(s)))
    rows = []
    for stratum in order:
        in_s = strata == stratum
        sval = svalue[in_s]
        for k, b in enumerate(np.unique(bins[in_s])):
            m = in_s & (bins == b)
            limit = float(np.max(lim_rec[m])) if np.isfinite(lloq_all[m]).any() else float("nan")
            row = {
                "endpoint": endpoint,
                "stratum": str(stratum),
                "stratum_value": _first_finite(sval) if np.isfinite(sval).any() else float("nan"),
                "bin": k + 1,
                "ntime_h": float(b),
                "time_day": float(b) / HOURS_PER_DAY,
                "n_obs": int(m.sum()),
                "n_subjects": int(pd.unique(ids[m]).size),
                "lloq": limit,
                "pred_bin": float(pred_b[m][0]) if corrected else float("nan"),
            }
            row.update(_percentile_columns(o_all[m], s_all[:, m], levels, pi, limit))
            row.update(_blq_columns(o_blq_all[m], s_blq_all[:, m], pi))
            row["n_replicates"] = n_rep
            row["percentiles"] = levels_text(levels)
            row["prediction_corrected"] = bool(corrected)
            rows.append(row)
    return pd.DataFrame(rows, columns=vpc_columns(levels))


def _observed(data: NMData, cmt: int, stratify_on: str | None = None) -> tuple[object, pd.DataFrame]:
    design = data.design((cmt,))
    rec = data.records
    mask = design.obs_mask
    rows = design.obs_row[mask]
    if stratify_on is not None and stratify_on not in rec.columns:
        raise UserError(
            f"config pkpd.vpc.stratify_on: column {stratify_on!r} is not in the modelling dataset "
            f"({', '.join(map(str, rec.columns))})"
        )
    label, value = record_strata(rec[stratify_on].to_numpy()[rows] if stratify_on is not None else np.zeros(rows.size),
                                 stratify_on)
    obs = pd.DataFrame(
        {
            "ID": np.repeat(design.ids, mask.sum(axis=1)).astype(str),
            "TIME": design.obs_time[mask],
            "NTIME": rec["NTIME"].to_numpy(float)[rows] if "NTIME" in rec.columns else np.nan,
            "DV": rec["DV"].to_numpy(float)[rows],
            "BLQ": rec["BLQ"].to_numpy(int)[rows],
            "LLOQ": rec["LLOQ"].to_numpy(float)[rows],
            "STRATUM": label,
            "STRATUM_VALUE": value,
        }
    )
    return design, obs


def simulate_vpc(
    data: NMData,
    model: PkPdModel,
    cmt: int,
    n_rep: int,
    rng: np.random.Generator,
    stratify_on: str | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Observed records of endpoint ``cmt`` (with ``BIN``, ``STRATUM``, ``STRATUM_VALUE`` and
    ``PRED``, the population prediction: typical parameters, no random numbers drawn for it)
    and ``n_rep`` simulated replicates ``(n_rep, n_obs)``."""
    design, obs = _observed(data, cmt, stratify_on)
    if obs.empty:
        raise UserError(f"VPC: the modelling dataset has no observation in compartment {cmt}")
    n = design.n_subjects
    covs = None
    if model.covariate_names:  # the observed subjects, each with its own covariate values
        from fcrnpipe.nlme.estimate import subject_covariates

        vals = subject_covariates(data, model.covariate_names, design.ids)
        covs = {c: vals[:, j] for j, c in enumerate(model.covariate_names)}
    params = np.concatenate([model.sample(n, rng, iiv=True, covariates=covs) for _ in range(n_rep)])
    sid = np.tile(np.arange(n), n_rep)
    f = model.predict(design, params, sid)
    y = model.add_residual(f, np.tile(design.obs_cmt, (n_rep, 1)), rng)
    y = y.reshape(n_rep, n, -1)[:, design.obs_mask]
    obs["BIN"] = assign_bins(obs["NTIME"].to_numpy(), obs["TIME"].to_numpy())
    obs["PRED"] = model.predict(design, model.typical(n, covariates=covs))[design.obs_mask]
    return obs, y


def percent_of_baseline(obs: pd.DataFrame, sim: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Observed and simulated values as % of each subject's baseline (last record at or
    before TIME 0); returns the post-dose records only (subjects without a baseline dropped).
    A ``PRED`` column (population predictions) becomes % of the prediction at the same
    baseline record."""
    ids = obs["ID"].to_numpy()
    t = obs["TIME"].to_numpy(dtype=float)
    base_idx = np.full(len(obs), -1)
    for sid in pd.unique(ids):
        idx = np.flatnonzero((ids == sid) & (t <= 0) & np.isfinite(obs["DV"].to_numpy(dtype=float)))
        if idx.size:
            base_idx[ids == sid] = idx[np.argmax(t[idx])]
    keep = (t > 0) & (base_idx >= 0)
    dv = obs["DV"].to_numpy(dtype=float)
    out = obs[keep].copy()
    out["DV"] = 100.0 * dv[keep] / dv[base_idx[keep]]
    out["BLQ"] = 0
    out["LLOQ"] = np.nan
    if "PRED" in obs.columns:
        pr = obs["PRED"].to_numpy(dtype=float)
        out["PRED"] = 100.0 * pr[keep] / pr[base_idx[keep]]
    s = 100.0 * sim[:, keep] / sim[:, base_idx[keep]]
    return out.reset_index(drop=True), s
