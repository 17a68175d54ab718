"""Population PK and IgG-turnover PD fits of the pipeline (sequential PK -> PD, or simultaneous).

Model specifications (defaults of the pipeline; see :data:`PK_SPECS`, :data:`PD_SPEC`):

* ``sc1cmt_mm`` -- SC one-compartment PK with linear + Michaelis-Menten elimination; random
  effects on CL, V and Vmax; ``Km`` fixed at 1 mg/L (a Michaelis-Menten constant is not
  identifiable from 9 subjects with concentrations well above it for most of the profile:
  estimating it made the R matrix singular in the ka/Km direction on the reference study;
  1 mg/L is the literature value); no random effect on ka (estimated at ~0 on the reference
  study).
* ``oral1cmt`` -- one-compartment first-order absorption, linear elimination (closed form);
  random effects on ka, CL and V.
* ``igg_turnover`` -- indirect-response IgG model driven by the individual PK (EBEs) of the
  chosen PK model, with the IVMP suppression of IgG synthesis fixed from config
  ``pkpd.steroid_suppression``; random effects on IgG0, kout and EC50.
* ``sc1cmt_mm+igg_turnover`` -- both at once (``fit_mode: simultaneous``).

Residual error models and the BLQ method come from the configuration
(``pkpd.residual_error``, ``pkpd.blq_method``); optional covariate relations (power models,
e.g. body weight on CL and V) from ``pkpd.covariates`` (:func:`with_covariates`; none by
default).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.errors import UserError
from fcrnpipe.models.mab import Steroid
from fcrnpipe.nlme import (
    FitOptions,
    FitResult,
    NMData,
    fit,
    individual_table,
    population_table,
    predictions_table,
    summary,
)
from fcrnpipe.pkpd.state import FittedModel, build_population_model, pk_for_pd, write_state
from fcrnpipe.tableio import write_csv, write_json

log = logging.getLogger("fcrnpipe.pkpd")

CMT_CONC, CMT_IGG = 2, 3

#: Population-model specifications of the PK candidates (config ``pkpd.pk_candidates``).
PK_SPECS: dict[str, dict[str, Any]] = {
    "sc1cmt_mm": {"model": "sc1cmt_mm", "iiv": ["CL", "V", "Vmax"], "fixed": {"Km": 1.0}},
    "oral1cmt": {"model": "oral1cmt", "iiv": ["ka", "CL", "V"], "fixed": {}},
}
#: The IgG turnover model (sequential fit).
PD_SPEC: dict[str, Any] = {"model": "igg_turnover", "iiv": ["IgG0", "kout", "EC50"], "fixed": {}}
#: The simultaneous PK + PD model.
JOINT_SPEC: dict[str, Any] = {
    "model": "sc1cmt_mm+igg_turnover",
    "iiv": ["CL", "V", "Vmax", "IgG0", "kout", "EC50"],
    "fixed": {"Km": 1.0},
}

#: Estimation settings of the final fits. The OFV of these models is flat to 1e-4 long before
#: the largest gradient component falls below the library default (1e-3 per log-unit: the
#: well-determined ka has a curvature of ~2000 per log-unit^2, so a gradient of 1 is a
#: displacement of 5e-4 log-units), so the criterion is relaxed to keep the run times sane.
FINAL_FIT_OPTIONS: dict[str, Any] = {"gtol": 0.02, "max_iter": 200, "covariance": "hessian"}
#: Bootstrap replicates: warm-started from the final estimates, no covariance step; a budget
#: of OFV evaluations and a search box around the original estimates (config
#: ``pkpd.bootstrap.max_evaluations``/``search_range`` override these defaults).
BOOTSTRAP_FIT_OPTIONS: dict[str, Any] = {
    "gtol": 0.05, "max_iter": 60, "covariance": "none", "max_evaluations": 400, "search_range": 10.0,
}
#: The models whose parameters config ``pkpd.covariates`` may name (the joint model has the
#: parameters of sc1cmt_mm and igg_turnover).
PIPELINE_MODELS = ("sc1cmt_mm", "oral1cmt", "igg_turnover")
#: Models integrated on ODE grids (their specification carries the grid limit).
ODE_MODELS = ("sc1cmt_mm", "igg_turnover", "sc1cmt_mm+igg_turnover")


def fit_options(options: Mapping[str, Any] | None, default: Mapping[str, Any]) -> FitOptions:
    return FitOptions(**{**default, **(options or {})})


def with_grid_limit(spec: dict[str, Any], max_grid_factor: float | None) -> dict[str, Any]:
    """``spec`` with the ODE grid limit (config ``pkpd.limits.max_grid_factor``) for ODE models."""
    if max_grid_factor is None or spec["model"] not in ODE_MODELS:
        return spec
    return {**spec, "grid": {**spec.get("grid", {}), "max_factor": float(max_grid_factor)}}


def pk_spec(candidate: str, residual_error: str, blq_method: str) -> dict[str, Any]:
    """``fit.json`` specification of a PK candidate."""
    if candidate not in PK_SPECS:
        raise UserError(f"config pkpd.pk_candidates: unknown PK model {candidate!r} (one of {', '.join(PK_SPECS)})")
    spec = dict(PK_SPECS[candidate])
    spec.update(errors={str(CMT_CONC): residual_error}, blq=blq_method, omega="diag")
    return spec


def model_parameters(model: str) -> tuple[str, ...]:
    """Structural parameter names of a model of the pipeline."""
    from fcrnpipe.models import make_model
    from fcrnpipe.models.mab import PD_PARAMS, PK_PARAMS

    if model == "igg_turnover":  # (built only with the individual PK that drives it)
        return tuple(p.name for p in PD_PARAMS)
    if model == "sc1cmt_mm+igg_turnover":
        return tuple(p.name for p in PK_PARAMS + PD_PARAMS)
    return tuple(make_model(model).param_names)


def check_covariate_config(relations: Sequence[Mapping[str, Any]], models: Sequence[str]) -> None:
    """Config ``pkpd.covariates``: every relation names a parameter of at least one of the
    ``models`` that will be fitted, and no (parameter, covariate) pair twice; else a
    :class:`UserError` naming the relation."""
    known = {p for m in models for p in model_parameters(m)}
    seen: set[tuple[str, str]] = set()
    for i, rel in enumerate(relations):
        par, cov = str(rel["parameter"]), str(rel["covariate"]).upper()
        if par not in known:
            raise UserError(
                f"config pkpd.covariates[{i}]: parameter {par!r} is not a parameter of the fitted models "
                f"{', '.join(models)} ({', '.join(sorted(known))})"
            )
        if (par, cov) in seen:
            raise UserError(f"config pkpd.covariates[{i}]: {cov} on {par} is listed twice")
        seen.add((par, cov))


def covariate_spec(relations: Sequence[Mapping[str, Any]], model: str, data: NMData) -> list[dict[str, Any]]:
    """The relations of config ``pkpd.covariates`` that apply to ``model`` (those naming one of
    its parameters), as ``fit.json`` entries with the reference resolved: ``"median"`` is the
    median over the subjects of ``data`` of their first non-missing value (so bootstrap
    replicates and simulations reuse the number). Covariate names are upper-cased (the
    dataset's column names are)."""
    from fcrnpipe.nlme.estimate import subject_covariates

    names = set(model_parameters(model))
    out: list[dict[str, Any]] = []
    for rel in relations:
        if str(rel["parameter"]) not in names:
            continue
        cov = str(rel["covariate"]).upper()
        ref = rel["reference"]
        if ref == "median":
            ids = data.ids
            ref = float(np.median(subject_covariates(data, [cov], ids)[:, 0]))
        out.append({"parameter": str(rel["parameter"]), "covariate": cov, "reference": float(ref),
                    "exponent": float(rel["exponent"]), "estimate": bool(rel.get("estimate", False))})
    return out


def with_covariates(spec: dict[str, Any], relations: Sequence[Mapping[str, Any]] | None, data: NMData) -> dict[str, Any]:
    """``spec`` with the covariate relations (config ``pkpd.covariates``) of its model; the
    specification is unchanged (no ``covariates`` key) when none applies."""
    cov = covariate_spec(relations or [], spec["model"], data)
    return {**spec, "covariates": cov} if cov else spec


def steroid_spec(steroid_cfg: Mapping[str, Any]) -> dict[str, float]:
    """Config ``pkpd.steroid_suppression`` as the model's :class:`Steroid` (model days)."""
    return asdict(Steroid.from_config(dict(steroid_cfg)))


def pd_spec(
    pk_individual: pd.DataFrame,
    pk_typical: Mapping[str, float],
    steroid_cfg: Mapping[str, Any],
    residual_error: str,
    blq_method: str,
) -> dict[str, Any]:
    """``fit.json`` specification of the sequential IgG model on the given individual PK."""
    spec = dict(PD_SPEC)
    recs = pk_individual.copy()
    recs["ID"] = recs["ID"].astype(str)
    spec.update(
        errors={str(CMT_IGG): residual_error},
        blq=blq_method,
        omega="diag",
        steroid=steroid_spec(steroid_cfg),
        pk_individual={c: recs[c].tolist() for c in recs.columns},
        pk_typical={k: float(v) for k, v in pk_typical.items()},
    )
    return spec


def joint_spec(steroid_cfg: Mapping[str, Any], residual_error: Mapping[str, str], blq_method: str) -> dict[str, Any]:
    spec = dict(JOINT_SPEC)
    spec.update(
        errors={str(CMT_CONC): residual_error["pk"], str(CMT_IGG): residual_error["pd"]},
        blq=blq_method,
        omega="diag",
        steroid=steroid_spec(steroid_cfg),
    )
    return spec


def run_fit(
    data: NMData, spec: dict[str, Any], options: FitOptions, warm_start: Any = None, search_center: Any = None
) -> FitResult:
    """Fit the population model ``spec`` to ``data`` (model errors become :class:`UserError`;
    ``warm_start``, ``search_center``: see :func:`fcrnpipe.nlme.fit`)."""
    try:
        pm = build_population_model(spec)
    except ValueError as exc:
        raise UserError(f"population model {spec['model']}: {exc}") from None
    t0 = time.perf_counter()
    result = fit(data, pm, options, warm_start=warm_start, search_center=search_center)
    conv = "converged" if result.optimizer.get("converged") else "NOT converged"
    cov = result.covariance
    cov_txt = "not run" if cov is None else ("ok" if cov.ok else "FAILED: " + cov.message)
    log.info(
        "%s: OFV %.4f, AIC %.3f, %s (%d iterations), covariance step %s, %.1f s",
        spec["model"], result.ofv, result.aic, conv, result.optimizer.get("iterations", 0), cov_txt,
        time.perf_counter() - t0,
    )
    return result


def write_fit(
    result: FitResult, spec: dict[str, Any], out: Mapping[str, str | Path], extra: dict[str, Any] | None = None
) -> dict[str, pd.DataFrame]:
    """The deterministic files of one fit: ``fit`` (fit.json), ``population``, ``individual``,
    ``predictions`` (CSV) and ``summary`` (fit_summary.json). Run times go to the log only.
    Returns the tables written (``population``, ``individual``, ``predictions``), so that a
    caller need not read its own files back."""
    write_state(result, spec, out["fit"], extra)
    tables = {"population": population_table(result), "individual": individual_table(result),
              "predictions": predictions_table(result)}
    for key, table in tables.items():
        write_csv(table, out[key])
    write_json(summary(result, extra), out["summary"])
    log.info("fit timing: %s", {k: round(v, 1) for k, v in result.timing.items()})
    return tables


def pd_inputs_from_pk(pk: FittedModel, pk_individual: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """Individual (EBE) and typical PK of the chosen PK fit as inputs of the IgG model."""
    return pk_for_pd(pk_individual, pk.theta_natural, pk.model_name)


def newton_decrement(result: FitResult) -> float:
    """Predicted OFV decrease to the minimum from the final gradient and the covariance step
    (``g' Cov g / 4``, Cov = (Hessian/2)^-1): a scale-free convergence check (< 0.01: the
    estimates are at the minimum for all practical purposes). NaN without covariance."""
    cov = result.covariance
    g = np.asarray(result.optimizer.get("gradient", []), dtype=float)
    if cov is None or not cov.ok or g.size != cov.cov_x.shape[0]:
        return float("nan")
    c = np.nan_to_num(cov.cov_x, nan=0.0)
    v = float(g @ c @ g) / 4.0
    return v if math.isfinite(v) else float("nan")
