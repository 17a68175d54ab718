"""Result tables of a fit and their deterministic output files.

``population_parameters.csv`` -- columns exactly ``parameter, estimate, se, rse_pct, ci_low,
ci_high, unit, kind`` (kind: ``fixed`` / ``iiv`` / ``residual``):

* ``fixed``: one row per structural parameter on its natural scale (``CL``, ``V`` ...), or on
  its estimation scale when the parameterisation names it so (``lKe``, ``lKa``, ``lCl`` of the
  SSfol parameterisation, unit ``log(...)``) -- with covariate relations the typical value at the
  reference covariate value; then one row per covariate exponent (``WT_on_CL``, unit ``-``; no
  SE if it is held fixed); then derived quantities (e.g. ``t_half_IgG =
  ln 2 / kout``). A parameter held fixed (not estimated) has no SE and no CI.
* ``iiv``: ``omega2(P)`` = variance of the random effect of ``P`` (log scale for log-normal
  parameters) and, in an extra row, ``cv_pct(P)`` = ``100 sqrt(exp(omega2) - 1)``, the exact
  CV% of the log-normal distribution; with a block Omega also ``omega(P,Q)`` (covariance) and
  ``corr(P,Q)``.
* ``residual``: ``sigma_add(<output>)`` (SD, unit of the output) and/or
  ``sigma_prop(<output>)`` (SD of the proportional error, a fraction).

SE by the delta method from the covariance of the estimation vector; ``rse_pct = 100 SE /
|estimate|``; 95% Wald CI on the estimation scale, back-transformed (for log parameters,
variances, CVs and SDs: ``exp(log(est) +- 1.96 SE/est)``; covariances, correlations and
estimation-scale parameters: ``est +- 1.96 SE``).

All floats are rounded to 10 significant digits so that the files are byte-identical across
runs; run times go to a separate ``fit_timing.json``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fcrnpipe.nlme.dataset import parse_numbers, unique_in_order
from fcrnpipe.nlme.diagnostics import SHRINKAGE_CONVENTION, compute_diagnostics, epsilon_shrinkage, eta_shrinkage
from fcrnpipe.nlme.estimate import FitResult
from fcrnpipe.tableio import write_columns_csv, write_json

if TYPE_CHECKING:  # the tables are built as columns; pandas loads only for the data frames
    import pandas as pd

#: A table as named, equal-length columns (a ``pandas.DataFrame(columns)`` is the same table).
Columns = dict[str, np.ndarray]

POP_COLUMNS = ["parameter", "estimate", "se", "rse_pct", "ci_low", "ci_high", "unit", "kind"]
Z975 = 1.959963984540054
SIG_DIGITS = 10


def round_sig(a: Any, sig: int = SIG_DIGITS) -> Any:
    """Round to ``sig`` significant digits (arrays elementwise; NaN/inf kept)."""
    arr = np.asarray(a, dtype=float)
    out = arr.copy()
    m = np.isfinite(arr) & (arr != 0)
    if np.any(m):
        mag = np.floor(np.log10(np.abs(arr[m])))
        scale = 10.0 ** (sig - 1 - mag)
        out[m] = np.round(arr[m] * scale) / scale
    return out if out.ndim else float(out)


def _clean(obj: Any) -> Any:
    """JSON-ready copy with rounded floats and NaN/inf as None."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_clean(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return round_sig(v) if math.isfinite(v) else None
    return obj


def _output_name(fit: FitResult, cmt: int) -> tuple[str, str]:
    for o in fit.pm.model.outputs:
        if o.cmt == cmt:
            return o.name, o.unit
    return f"cmt{cmt}", ""


def _quantities(fit: FitResult) -> list[dict[str, Any]]:
    """Reported quantities as functions of ``x`` (name, kind, unit, signed, function)."""
    model = fit.pm.model
    lay = fit.layout
    specs = model.params
    names = model.param_names
    free = set(lay.free.tolist())
    rows: list[dict[str, Any]] = []
    for k, spec in enumerate(specs):
        if spec.estimate_name:
            rows.append(dict(parameter=spec.estimate_name, unit=f"log({spec.unit})", kind="fixed", signed=True,
                             fn=lambda x, k=k: lay.theta(x)[k], estimated=k in free))
        else:
            rows.append(dict(parameter=spec.name, unit=spec.unit, kind="fixed", signed=spec.transform != "log",
                             fn=lambda x, k=k, s=spec: float(s.to_nat(lay.theta(x)[k])), estimated=k in free))

    for c, rel in enumerate(fit.pm.covariates):
        rows.append(dict(parameter=rel.name, unit="-", kind="fixed", signed=True,
                         fn=lambda x, c=c: float(lay.beta(x)[c]), estimated=bool(lay.cov_estimated[c])))

    def nat(x: np.ndarray) -> dict[str, float]:
        th = lay.theta(x)
        return {s.name: float(s.to_nat(t)) for s, t in zip(specs, th)}

    for dname, (_, dunit) in model.derived(nat(fit.x)).items():
        rows.append(dict(parameter=dname, unit=dunit, kind="fixed", signed=False,
                         fn=lambda x, d=dname: model.derived(nat(x))[d][0], estimated=True))
    eta_names = [names[k] for k in lay.iiv_index]
    for i, en in enumerate(eta_names):
        is_log = specs[lay.iiv_index[i]].transform == "log"
        rows.append(dict(parameter=f"omega2({en})", unit="-", kind="iiv", signed=False,
                         fn=lambda x, i=i: lay.omega(x)[i, i], estimated=True))
        if is_log:
            rows.append(dict(parameter=f"cv_pct({en})", unit="%", kind="iiv", signed=False,
                             fn=lambda x, i=i: 100.0 * math.sqrt(math.expm1(lay.omega(x)[i, i])), estimated=True))
    if lay.block:
        for i in range(lay.q):
            for j in range(i):
                rows.append(dict(parameter=f"omega({eta_names[i]},{eta_names[j]})", unit="-", kind="iiv", signed=True,
                                 fn=lambda x, i=i, j=j: lay.omega(x)[i, j], estimated=True))
                rows.append(dict(parameter=f"corr({eta_names[i]},{eta_names[j]})", unit="-", kind="iiv", signed=True,
                                 fn=lambda x, i=i, j=j: lay.omega(x)[i, j] / math.sqrt(lay.omega(x)[i, i] * lay.omega(x)[j, j]),
                                 estimated=True))
    pos = 0
    for e_i, c in enumerate(lay.endpoints):
        oname, ounit = _output_name(fit, c)
        for pname in fit.pm.errors[c].param_names:
            unit = ounit if pname == "sigma_add" else "fraction"
            rows.append(dict(parameter=f"{pname}({oname})", unit=unit, kind="residual", signed=False,
                             fn=lambda x, e_i=e_i, j=pname: lay.sigmas(x)[e_i][fit.pm.errors[lay.endpoints[e_i]].param_names.index(j)],
                             estimated=True))
            pos += 1
    return rows


def _frame(columns: Mapping[str, np.ndarray]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(dict(columns))


def population_table(fit: FitResult) -> pd.DataFrame:
    """``population_parameters.csv`` (see the module docstring)."""
    return _frame(population_columns(fit))


def population_columns(fit: FitResult) -> Columns:
    """The columns of :func:`population_table`."""
    rows = _quantities(fit)
    x = fit.x
    cov = fit.covariance.cov_x if fit.covariance is not None and fit.covariance.ok else None
    out = []
    for r in rows:
        v = float(r["fn"](x))
        se = float("nan")
        if cov is not None and r["estimated"]:
            jac = np.zeros(x.size)
            for j in range(x.size):
                h = 1e-6 * max(1.0, abs(x[j]))
                e = np.zeros(x.size)
                e[j] = h
                jac[j] = (r["fn"](x + e) - r["fn"](x - e)) / (2 * h)
            used = np.abs(jac) > 1e-12 * max(1.0, np.max(np.abs(jac)))
            sub = cov[np.ix_(used, used)]
            if used.any() and np.all(np.isfinite(sub)):
                se = float(math.sqrt(max(jac[used] @ sub @ jac[used], 0.0)))
        if np.isfinite(se):
            if r["signed"] or v <= 0:
                lo, hi = v - Z975 * se, v + Z975 * se
            else:
                lo, hi = v * math.exp(-Z975 * se / v), v * math.exp(Z975 * se / v)
            rse = 100.0 * se / abs(v) if v != 0 else float("nan")
        else:
            lo = hi = rse = float("nan")
        out.append(dict(parameter=r["parameter"], estimate=v, se=se, rse_pct=rse, ci_low=lo, ci_high=hi, unit=r["unit"], kind=r["kind"]))
    cols: Columns = {}
    for c in POP_COLUMNS:
        values = [o[c] for o in out]
        text = c in ("parameter", "unit", "kind")
        cols[c] = np.array(values, dtype=object) if text else round_sig(np.array(values, dtype=float))
    return cols


def _id_order(ids: np.ndarray) -> np.ndarray:
    """Subjects in numeric order of their IDs when every ID is a number, else in text order."""
    s = np.array([str(i) for i in ids], dtype=object)
    num, bad = parse_numbers(s.tolist())
    if bad is None and not np.isnan(num).any():
        return np.lexsort((s, num))
    return np.argsort(s, kind="stable")


def individual_table(fit: FitResult) -> pd.DataFrame:
    """``individual_parameters.csv``: ID, the EBEs (``ETA_<P>``), individual parameters, derived."""
    return _frame(individual_columns(fit))


def individual_columns(fit: FitResult) -> Columns:
    """The columns of :func:`individual_table`."""
    model = fit.pm.model
    lay = fit.layout
    nat = fit.individual_natural()
    ids = fit.problem.design.ids
    data: dict[str, Any] = {"ID": ids}
    for i, k in enumerate(lay.iiv_index):
        data[f"ETA_{model.param_names[k]}"] = fit.eta[:, i]
    for k, name in enumerate(model.param_names):
        data[name] = nat[:, k]
    derived = [model.derived(dict(zip(model.param_names, row))) for row in nat]
    if derived and derived[0]:
        for dname in derived[0]:
            data[dname] = [d[dname][0] for d in derived]
    order = _id_order(ids)
    return {c: np.asarray(v)[order] if c == "ID" else round_sig(np.asarray(v, dtype=float)[order]) for c, v in data.items()}


def predictions_table(fit: FitResult) -> pd.DataFrame:
    """``predictions.csv``: one row per observation record the model fits."""
    return _frame(predictions_columns(fit))


def predictions_columns(fit: FitResult) -> Columns:
    """The columns of :func:`predictions_table`."""
    p = fit.problem
    d = compute_diagnostics(p, fit.typical, fit.omega, fit.sigmas, fit.eta)
    mask = p.design.obs_mask
    rec = fit_records(fit)
    rows = p.design.obs_row[mask]
    cols: Columns = {
            "ID": np.repeat(p.design.ids, mask.sum(axis=1)),
            "TIME": p.design.obs_time[mask],
            "CMT": p.design.obs_cmt[mask],
            "DV": np.asarray(rec["DV"], dtype=float)[rows],
            "BLQ": np.asarray(rec["BLQ"], dtype=int)[rows],
            "PRED": d.pred[mask],
            "IPRED": d.ipred[mask],
            "CPRED": d.cpred[mask],
            "RES": d.res[mask],
            "IRES": d.ires[mask],
            "WRES": d.wres[mask],
            "IWRES": d.iwres[mask],
            "CWRES": d.cwres[mask],
            "ROW": np.asarray(rec["ROW"], dtype=int)[rows],
    }
    uniq = unique_in_order(cols["ID"])
    rank = {sid: r for r, sid in enumerate(uniq[_id_order(uniq)].tolist())}
    key_id = np.array([rank[i] for i in cols["ID"].tolist()])
    order = np.lexsort((cols["ROW"], cols["CMT"], cols["TIME"], key_id))
    floats = ("TIME", "DV", "PRED", "IPRED", "CPRED", "RES", "IRES", "WRES", "IWRES", "CWRES")
    return {c: round_sig(np.asarray(v, dtype=float)[order]) if c in floats else v[order] for c, v in cols.items()}


def fit_records(fit: FitResult) -> Mapping[str, np.ndarray]:
    """The dataset records the fit was built from (:attr:`fcrnpipe.nlme.dataset.NMData.columns`)."""
    return fit.problem.records


def _convergence_info(fit: FitResult, names: list[str]) -> dict[str, Any]:
    """The ``convergence`` entry of :func:`summary` (``names``: of the estimated components)."""
    opt = fit.optimizer
    return {
        "converged": bool(opt.get("converged", False)),
        "optimizer": opt.get("method", ""),
        "status": int(opt.get("status", -1)),
        "message": opt.get("message", ""),
        "gradient_max_abs": opt.get("gradient_max_abs", float("nan")),
        "gradient": dict(zip(names, np.asarray(opt.get("gradient", np.full(len(names), np.nan))).tolist())),
        "conditional_modes_converged": f"{int(fit.inner.converged.sum())}/{fit.problem.n_subjects}",
        "grid_refits": int(opt.get("grid_refits", 0)),
    }


def _covariance_info(fit: FitResult, names: list[str]) -> dict[str, Any]:
    """The ``covariance_step`` entry of :func:`summary` (``names``: of the estimated components)."""
    cov = fit.covariance
    if cov is None:
        return {"status": "not run"}
    return {
        "status": "ok" if cov.ok else "failed",
        "method": cov.method,
        "message": cov.message,
        "condition_number": cov.condition_number,
        "boundary": [names[i] for i in cov.boundary],
    }


def _covariate_info(fit: FitResult) -> list[dict[str, Any]]:
    """The ``covariates`` entry of :func:`summary`: each relation with its exponent."""
    return [
        {"name": r.name, "parameter": r.parameter, "covariate": r.covariate, "reference": r.reference,
         "model": f"{r.parameter}_i = {r.parameter}_typ * ({r.covariate}_i / {r.reference:g})^{r.name}",
         "estimated": bool(r.estimate), "exponent": float(b)}
        for r, b in zip(fit.pm.covariates, fit.beta)
    ]


def summary(fit: FitResult, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``fit_summary.json`` content (deterministic; no run times)."""
    p = fit.problem
    lay = fit.layout
    model = fit.pm.model
    d = compute_diagnostics(p, fit.typical, fit.omega, fit.sigmas, fit.eta)
    eta_names = [model.param_names[k] for k in lay.iiv_index]
    sh_eta = eta_shrinkage(fit.eta, fit.omega)
    sh_eps = epsilon_shrinkage(d.iwres, p)
    opt = fit.optimizer
    names = lay.x_names(fit.pm)
    out = {
        "model": model.name,
        "method": fit.pm.method,
        "estimation": "FOCE with interaction (Laplace approximation, first-order Hessian)"
        if fit.pm.method == "FOCE-I"
        else "FOCE (Laplace approximation, first-order Hessian; additive error: no interaction)",
        "time_unit": model.time_unit,
        "error_models": {str(c): fit.pm.errors[c].kind for c in lay.endpoints},
        "blq_method": fit.pm.blq,
        "omega_structure": fit.pm.omega,
        "iiv": eta_names,
        "fixed_parameters": {k: v for k, v in sorted(fit.pm.fixed.items())},
        "ofv": fit.ofv,
        "ofv_convention": "OFV = -2 log L - n_uncensored * log(2 pi) (NONMEM); log_likelihood includes 2 pi (R nlme logLik)",
        "log_likelihood": fit.loglik,
        "aic": fit.aic,
        "bic": fit.bic,
        "n_obs": int(p.n_uncensored + p.n_censored),
        "n_obs_censored_m3": int(p.n_censored),
        "n_obs_blq_dropped_m1": int((p.design.obs_mask & ~p.use & ~p.cens).sum()) if fit.pm.blq == "M1" else 0,
        "n_subjects": int(p.n_subjects),
        "n_parameters": int(fit.n_parameters),
        "iterations": int(opt.get("iterations", 0)),
        "function_evaluations": int(opt.get("function_evaluations", 0)),
        "convergence": _convergence_info(fit, names),
        "covariance_step": _covariance_info(fit, names),
        "shrinkage": {
            "eta_pct": dict(zip(eta_names, sh_eta.tolist())),
            "epsilon_pct": {_output_name(fit, c)[0]: v for c, v in sh_eps.items()},
            "convention": SHRINKAGE_CONVENTION,
        },
    }
    if fit.pm.covariates:
        out["covariates"] = _covariate_info(fit)
    if extra:
        out.update(extra)
    return _clean(out)


def write_outputs(fit: FitResult, out_dir: str | Path, extra: dict[str, Any] | None = None, timing: dict[str, float] | None = None) -> None:
    """Write the four result files and ``fit_timing.json`` to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_columns_csv(population_columns(fit), out / "population_parameters.csv")
    write_columns_csv(individual_columns(fit), out / "individual_parameters.csv")
    write_columns_csv(predictions_columns(fit), out / "predictions.csv")
    write_json(summary(fit, extra), out / "fit_summary.json")
    t = dict(fit.timing)
    if timing:
        t.update(timing)
    write_json({k: round(float(v), 3) for k, v in t.items()}, out / "fit_timing.json")
