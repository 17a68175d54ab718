"""Visual predictive checks: observed percentiles against the prediction intervals of the same
percentiles in replicates of the study simulated from the final model.

Design: the observed subjects' own doses and sampling times (ID, TIME of the modelling
dataset). Each replicate draws new subjects (random effects from Omega) and residual errors,
at the final estimates (no parameter uncertainty). Bins: the nominal time of the records
(``NTIME``; a record without one joins the bin of the nearest nominal time of its endpoint).
Per bin: the 5th, 50th and 95th percentiles of the observations, and for each of these the
median and the 95% interval (2.5th-97.5th percentiles) of the same percentile over the
replicates.

Censoring: concentrations below the LLOQ (BLQ records; simulated values below the record's
LLOQ) count as 0 when percentiles are taken, and a percentile (observed or simulated) below
the LLOQ is not reported (NaN): it lies somewhere below the limit. The fraction of BLQ records
per bin (observed, and the simulated median and 95% interval) is reported alongside.

IgG is checked as % of baseline: every value divided by the subject's baseline (its last
record at or before the first dose, observed or simulated alike); the records after the first
dose enter the VPC.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from fcrnpipe.errors import UserError
from fcrnpipe.nlme import NMData
from fcrnpipe.pkpd.simulation import PkPdModel

LEVELS = (5.0, 50.0, 95.0)
PI = (2.5, 50.0, 97.5)
VPC_COLUMNS = (
    ["endpoint", "bin", "ntime_h", "time_day", "n_obs", "lloq"]
    + [f"obs_p{int(p):02d}" for p in LEVELS]
    + [f"sim_p{int(p):02d}_{s}" for p in LEVELS for s in ("lo", "med", "hi")]
    + ["obs_blq_pct", "sim_blq_pct_lo", "sim_blq_pct_med", "sim_blq_pct_hi", "n_replicates"]
)
HOURS_PER_DAY = 24.0


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


def vpc_summary(
    obs: pd.DataFrame, sim: np.ndarray, endpoint: str, levels: Sequence[float] = LEVELS, pi: Sequence[float] = PI
) -> pd.DataFrame:
    """The VPC table of one endpoint.

    ``obs``: one row per record with ``BIN`` (nominal time, h), ``DV`` (NaN if BLQ), ``BLQ``
    (0/1), ``LLOQ`` (NaN if none); ``sim``: simulated values ``(n_rep, len(obs))`` in the
    same record order.
    """
    sim = np.asarray(sim, dtype=float)
    if sim.shape[1] != len(obs):
        raise ValueError("sim must have one column per observed record")
    n_rep = sim.shape[0]
    lloq_all = obs["LLOQ"].to_numpy(dtype=float)
    blq_all = obs["BLQ"].to_numpy(dtype=int) == 1
    dv_all = obs["DV"].to_numpy(dtype=float)
    bins = obs["BIN"].to_numpy(dtype=float)
    rows = []
    for k, b in enumerate(np.unique(bins)):
        m = bins == b
        lloq = lloq_all[m]
        limit = float(np.nanmax(lloq)) if np.isfinite(lloq).any() else float("nan")
        lim_rec = np.where(np.isfinite(lloq), lloq, -np.inf)
        o_blq = blq_all[m] | (dv_all[m] < lim_rec)
        o = np.where(o_blq, 0.0, dv_all[m])
        s = sim[:, m]
        s_blq = s < lim_rec[None, :]
        s = np.where(s_blq, 0.0, s)

        def hide(v: np.ndarray | float) -> np.ndarray:
            v = np.asarray(v, dtype=float)
            return np.where(np.isfinite(limit) & (v < limit), np.nan, v) if np.isfinite(limit) else v

        row = {
            "endpoint": endpoint,
            "bin": k + 1,
            "ntime_h": float(b),
            "time_day": float(b) / HOURS_PER_DAY,
            "n_obs": int(m.sum()),
            "lloq": limit,
        }
        for p in levels:
            row[f"obs_p{int(p):02d}"] = float(hide(np.percentile(o, p)))
            per_rep = np.percentile(s, p, axis=1)
            lo, med, hi = np.percentile(per_rep, list(pi))
            row.update(
                {
                    f"sim_p{int(p):02d}_lo": float(hide(lo)),
                    f"sim_p{int(p):02d}_med": float(hide(med)),
                    f"sim_p{int(p):02d}_hi": float(hide(hi)),
                }
            )
        frac = 100.0 * s_blq.mean(axis=1)
        row["obs_blq_pct"] = 100.0 * float(o_blq.mean())
        row["sim_blq_pct_lo"], row["sim_blq_pct_med"], row["sim_blq_pct_hi"] = (float(v) for v in np.percentile(frac, list(pi)))
        row["n_replicates"] = n_rep
        rows.append(row)
    return pd.DataFrame(rows, columns=VPC_COLUMNS)


def _observed(data: NMData, cmt: int) -> tuple[object, pd.DataFrame]:
    design = data.design((cmt,))
    rec = data.records
    mask = design.obs_mask
    rows = design.obs_row[mask]
    obs = pd.DataFrame(
        {
            "ID": np.repeat(design.ids, mask.sum(axis=1)).astype(str),
            "TIME": design.obs_time[mask],
            "NTIME": rec["NTIME"].to_numpy(float)[rows] if "NTIME" in rec.columns else np.nan,
            "DV": rec["DV"].to_numpy(float)[rows],
            "BLQ": rec["BLQ"].to_numpy(int)[rows],
            "LLOQ": rec["LLOQ"].to_numpy(float)[rows],
        }
    )
    return design, obs


def simulate_vpc(
    data: NMData, model: PkPdModel, cmt: int, n_rep: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    """Observed records of endpoint ``cmt`` and ``n_rep`` simulated replicates ``(n_rep, n_obs)``."""
    design, obs = _observed(data, cmt)
    if obs.empty:
        raise UserError(f"VPC: the modelling dataset has no observation in compartment {cmt}")
    n = design.n_subjects
    params = np.concatenate([model.sample(n, rng, iiv=True) for _ in range(n_rep)])
    sid = np.tile(np.arange(n), n_rep)
    f = model.predict(design, params, sid)
    y = model.add_residual(f, np.tile(design.obs_cmt, (n_rep, 1)), rng)
    y = y.reshape(n_rep, n, -1)[:, design.obs_mask]
    obs["BIN"] = assign_bins(obs["NTIME"].to_numpy(), obs["TIME"].to_numpy())
    return obs, y


def percent_of_baseline(obs: pd.DataFrame, sim: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Observed and simulated values as % of each subject's baseline (last record at or
    before TIME 0); returns the post-dose records only (subjects without a baseline dropped)."""
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
    s = 100.0 * sim[:, keep] / sim[:, base_idx[keep]]
    return out.reset_index(drop=True), s
