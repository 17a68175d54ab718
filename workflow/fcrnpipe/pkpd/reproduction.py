"""The model against the published pharmacodynamics of the reference study.

Published (Wang et al. 2023 and the assumptions of :mod:`fcrnpipe.stats.published`): at
680 mg, mean total IgG reduction > 50% at week 1 and > 70% at week 3, and IgG back to about
80% of baseline (75-90%) at week 12 (9 weeks after the last dose). For every arm and these
visits the table gives the observed mean % of baseline (the subject's record nearest the
visit's nominal time, within the visit window), the mean individual prediction (IPRED) of the
same records as % of the IPRED at the subject's baseline record, and the population prediction
of the arm's planned regimen from the regimen simulation's simulated trials (one population
parameter set per trial, between-subject variability per subject, no residual error; see
:mod:`fcrnpipe.pkpd.regimen`): the mean over all virtual subjects (``model_mean_pct``, on
which the criterion is checked), its uncertainty band -- 5th-95th percentiles *across trials*
of the trial means (``model_mean_lo_pct``, ``model_mean_hi_pct``) -- and the between-subject
90% prediction interval -- the 5th and 95th percentiles over the subjects of a trial, median
over trials (``model_p05_pct``, ``model_p95_pct``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.stats.published import IGG_FOLLOWUP_RANGE, IGG_WEEK1_MIN_REDUCTION, IGG_WEEK3_MIN_REDUCTION

REPRODUCTION_COLUMNS = [
    "arm",
    "dose_mg",
    "visit",
    "nominal_day",
    "observed_n",
    "observed_mean_pct",
    "ipred_mean_pct",
    "model_mean_pct",
    "model_mean_lo_pct",
    "model_mean_hi_pct",
    "model_p05_pct",
    "model_p95_pct",
    "published",
    "criterion",
    "observed_holds",
    "model_holds",
]
HIGH_DOSE_MG = 680.0


def published_criteria(visits: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The checked visits: (visit name, AVISITN, nominal day after the first dose, window in
    days after the first dose, published text, test on the mean % of baseline)."""
    by_n = {int(v["avisitn"]): v for v in visits}
    out = []
    specs = [
        (1, f"> {IGG_WEEK1_MIN_REDUCTION:g}% reduction", f"mean % of baseline < {100 - IGG_WEEK1_MIN_REDUCTION:g}",
         lambda m: m < 100 - IGG_WEEK1_MIN_REDUCTION),
        (3, f"> {IGG_WEEK3_MIN_REDUCTION:g}% reduction", f"mean % of baseline < {100 - IGG_WEEK3_MIN_REDUCTION:g}",
         lambda m: m < 100 - IGG_WEEK3_MIN_REDUCTION),
        (12, f"~80% of baseline ({IGG_FOLLOWUP_RANGE[0]:g}-{IGG_FOLLOWUP_RANGE[1]:g}%)",
         f"{IGG_FOLLOWUP_RANGE[0]:g} <= mean % of baseline <= {IGG_FOLLOWUP_RANGE[1]:g}",
         lambda m: IGG_FOLLOWUP_RANGE[0] <= m <= IGG_FOLLOWUP_RANGE[1]),
    ]
    for n, pub, crit, test in specs:
        v = by_n.get(n)
        if v is None:
            continue
        out.append(
            {
                "visit": str(v["name"]),
                "avisitn": n,
                "day": float(v["day"]) - 1.0,
                "lo": float(v["lo"]) - 1.0,
                "hi": float(v["hi"]) - 1.0,
                "published": pub,
                "criterion": crit,
                "test": test,
            }
        )
    return out


def observed_pct(records: pd.DataFrame, value: str, day: float, lo: float, hi: float) -> pd.Series:
    """Per subject: ``value`` at the IgG record nearest ``day`` within [lo, hi] (days after the
    first dose) as % of the same column at the subject's baseline record (last at or before
    TIME 0). ``records``: ID, TIME (h), CMT, and ``value``."""
    r = records[records["CMT"] == 3]
    out = {}
    for sid, g in r.groupby("ID", sort=True):
        g = g[np.isfinite(g[value].to_numpy(dtype=float))]
        base = g[g["TIME"] <= 0]
        if base.empty:
            continue
        b = float(base.sort_values("TIME")[value].iloc[-1])
        tday = g["TIME"].to_numpy(dtype=float) / 24.0
        w = g[(tday >= lo) & (tday <= hi + 1.0) & (g["TIME"] > 0)]
        if w.empty or b <= 0:
            continue
        dist = np.abs(w["TIME"].to_numpy(dtype=float) / 24.0 - day)
        out[sid] = 100.0 * float(w[value].iloc[int(np.argmin(dist))]) / b
    return pd.Series(out, dtype=float)


def reproduction_table(
    nm: pd.DataFrame,
    predictions: pd.DataFrame,
    id_map: pd.DataFrame,
    arms: Sequence[Mapping[str, Any]],
    visits: Sequence[Mapping[str, Any]],
    arm_curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
) -> pd.DataFrame:
    """The table (:data:`REPRODUCTION_COLUMNS`). ``arm_curves``: ARMCD -> (days, % of
    baseline curves ``(trials, subjects, n_days)``, or ``(subjects, n_days)`` for one trial)
    of the arm's planned regimen."""
    nm = nm.copy()
    nm["ID"] = nm["ID"].astype(str)
    pr = predictions.copy()
    pr["ID"] = pr["ID"].astype(str)
    idm = id_map.copy()
    idm["ID"] = idm["ID"].astype(str)
    arm_of = dict(zip(idm["ID"], idm["ARMCD"]))
    obs = nm[(nm["EVID"] == 0) & (nm["MDV"] == 0) & (nm["BLQ"] == 0)]
    rows = []
    for crit in published_criteria(visits):
        o = observed_pct(obs, "DV", crit["day"], crit["lo"], crit["hi"])
        ip = observed_pct(pr, "IPRED", crit["day"], crit["lo"], crit["hi"]) if not pr.empty else pd.Series(dtype=float)
        for arm in arms:
            code = str(arm["armcd"])
            o_a = o[[arm_of.get(s) == code for s in o.index]]
            ip_a = ip[[arm_of.get(s) == code for s in ip.index]]
            days, curves = arm_curves[code]
            j = int(np.argmin(np.abs(np.asarray(days) - crit["day"])))
            col = np.asarray(curves, dtype=float)[..., j]
            col = col[None, :] if col.ndim == 1 else col  # (trials, subjects)
            trial_means = col.mean(axis=1)
            high = float(arm["dose_mg"]) == HIGH_DOSE_MG
            om = float(o_a.mean()) if len(o_a) else float("nan")
            mm = float(col.mean())
            rows.append(
                {
                    "arm": code,
                    "dose_mg": float(arm["dose_mg"]),
                    "visit": crit["visit"],
                    "nominal_day": crit["day"],
                    "observed_n": int(len(o_a)),
                    "observed_mean_pct": om,
                    "ipred_mean_pct": float(ip_a.mean()) if len(ip_a) else float("nan"),
                    "model_mean_pct": mm,
                    "model_mean_lo_pct": float(np.percentile(trial_means, 5)),
                    "model_mean_hi_pct": float(np.percentile(trial_means, 95)),
                    "model_p05_pct": float(np.median(np.percentile(col, 5, axis=1))),
                    "model_p95_pct": float(np.median(np.percentile(col, 95, axis=1))),
                    "published": crit["published"] if high else "",
                    "criterion": crit["criterion"] if high else "",
                    "observed_holds": (bool(crit["test"](om)) if np.isfinite(om) else False) if high else None,
                    "model_holds": bool(crit["test"](mm)) if high else None,
                }
            )
    df = pd.DataFrame(rows, columns=REPRODUCTION_COLUMNS)
    order = {str(a["armcd"]): i for i, a in enumerate(arms)}
    return df.sort_values(["nominal_day"], kind="stable").sort_values(
        "arm", key=lambda s: s.map(order), kind="stable"
    ).reset_index(drop=True)
