"""The stage's combined result files (PK and PD in one table each).

* ``population_parameters.csv``: the leading columns of the DESIGN contract (``parameter,
  estimate, se, rse_pct, ci_low, ci_high, unit, kind``), then ``part`` (``PK``/``PD``, or
  ``PKPD`` for a simultaneous fit) and ``model`` (structural model), then -- after the
  bootstrap -- ``boot_ci_low, boot_ci_high, boot_n_ok``. Rows: PK then PD, each in the
  estimator's order (fixed effects, derived quantities, IIV, residual error).
* ``individual_parameters.csv``: one row per subject (``ID, USUBJID, ARMCD``), the PK
  columns then the PD columns of the two fits (EBEs ``ETA_<P>``, individual parameters,
  derived quantities).
* ``predictions.csv``: the records each fit used (concentrations from the PK fit, IgG from the
  PD fit) with PRED, IPRED, CWRES, ...; plus ``USUBJID``, ``ARMCD``, ``part``; sorted by ID,
  TIME, CMT.
* ``fit_summary.json``: ``pk`` and ``pd`` summaries of the estimator (OFV, AIC, BIC,
  iterations, convergence, covariance step, shrinkage), ``model_selection``, ``fit_mode``,
  ``bootstrap``; no run times.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

POP_COLUMNS = ["parameter", "estimate", "se", "rse_pct", "ci_low", "ci_high", "unit", "kind"]
BOOT_COLUMNS = ["boot_ci_low", "boot_ci_high", "boot_n_ok"]


def combine_population(parts: Sequence[tuple[str, str, pd.DataFrame]]) -> pd.DataFrame:
    """``[(part, model, population table), ...]`` -> one table (see the module docstring)."""
    frames = []
    for part, model, tab in parts:
        t = tab[POP_COLUMNS].copy()
        t["part"] = part
        t["model"] = model
        frames.append(t)
    out = pd.concat(frames, ignore_index=True)
    dup = out["parameter"][out["parameter"].duplicated()].tolist()
    if dup:  # cannot happen with the pipeline's models; keep names unique for the bootstrap columns
        out.loc[out["parameter"].duplicated(keep=False), "parameter"] = (
            out["part"] + ":" + out["parameter"]
        )[out["parameter"].duplicated(keep=False)]
    return out


def _order_ids(ids: pd.Series) -> np.ndarray:
    num = pd.to_numeric(ids, errors="coerce")
    return np.lexsort((ids.astype(str).to_numpy(), num.to_numpy()))


def combine_individual(id_map: pd.DataFrame, tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Subjects of ``id_map`` with the columns of each fit's individual table (outer join)."""
    out = id_map[["ID", "USUBJID", "ARMCD"]].copy()
    out["ID"] = out["ID"].astype(str)
    for t in tables:
        t = t.copy()
        t["ID"] = t["ID"].astype(str)
        clash = [c for c in t.columns if c != "ID" and c in out.columns]
        t = t.drop(columns=clash)
        out = out.merge(t, on="ID", how="left")
    out = out.iloc[_order_ids(out["ID"])].reset_index(drop=True)
    out["ID"] = pd.to_numeric(out["ID"], errors="coerce").astype("Int64") if out["ID"].str.isdigit().all() else out["ID"]
    return out


def combine_predictions(id_map: pd.DataFrame, parts: Sequence[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """The predictions tables of the fits, labelled, with USUBJID/ARMCD; sorted by ID, TIME, CMT."""
    idm = id_map[["ID", "USUBJID", "ARMCD"]].copy()
    idm["ID"] = idm["ID"].astype(str)
    frames = []
    for part, t in parts:
        t = t.copy()
        t["ID"] = t["ID"].astype(str)
        t["part"] = part
        frames.append(t)
    out = pd.concat(frames, ignore_index=True).merge(idm, on="ID", how="left")
    key = pd.to_numeric(out["ID"], errors="coerce").to_numpy()
    order = np.lexsort((out["ROW"].to_numpy(), out["CMT"].to_numpy(), out["TIME"].to_numpy(), key))
    out = out.iloc[order].reset_index(drop=True)
    cols = ["ID", "USUBJID", "ARMCD", "part"] + [c for c in out.columns if c not in ("ID", "USUBJID", "ARMCD", "part")]
    out = out[cols]
    if out["ID"].str.isdigit().all():
        out["ID"] = out["ID"].astype(int)
    return out


def combine_summary(
    pk: Mapping[str, Any] | None,
    pd_: Mapping[str, Any],
    selection: pd.DataFrame,
    fit_mode: str,
    bootstrap: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``fit_summary.json`` (see the module docstring)."""
    sel = []
    for r in selection.to_dict(orient="records"):
        sel.append({k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()})
    out: dict[str, Any] = {
        "fit_mode": fit_mode,
        "model_selection": sel,
        "chosen_pk_model": next((r["model"] for r in sel if bool(r["chosen"])), None),
        "pk": dict(pk) if pk is not None else None,
        "pd": dict(pd_),
    }
    if bootstrap is not None:
        out["bootstrap"] = dict(bootstrap)
    if extra:
        out.update(extra)
    return out
