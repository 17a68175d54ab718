"""The pkpd stage, one function per Snakemake rule (files in, files out).

The rule scripts (``scripts/pkpd_*.py``) pass ``snakemake.input``/``output``/``params``
through; the logic is in the modules of this package. Every output is written
deterministically (:mod:`fcrnpipe.tableio`, :func:`fcrnpipe.figures.save`); run times go to
the rule's log only.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.errors import UserError
from fcrnpipe.labels import drug_name
from fcrnpipe.models import is_joint, make_design
from fcrnpipe.nlme import read_nm_dataset
from fcrnpipe.nlme.simulate import subject_strata
from fcrnpipe.pkpd import bootstrap as B
from fcrnpipe.pkpd import fitting as F
from fcrnpipe.pkpd import outputs as O
from fcrnpipe.pkpd import regimen as R
from fcrnpipe.pkpd import vpc as V
from fcrnpipe.pkpd.dataset import build_nm_dataset
from fcrnpipe.pkpd.selection import chosen_model, selection_table
from fcrnpipe.pkpd.simulation import PkPdModel
from fcrnpipe.pkpd.state import load_state
from fcrnpipe.tableio import read_parquet, write_csv, write_json

log = logging.getLogger("fcrnpipe.pkpd")


def _figures():
    """The plotting modules, imported on first use: the fit and bootstrap jobs need no
    matplotlib (its import costs about a second per job)."""
    from fcrnpipe.figures import save
    from fcrnpipe.pkpd import plots

    return plots, save

FIT_FILES = ("fit", "population", "individual", "predictions", "summary")
ENDPOINT_CMT = {"pk": 2, "igg": 3}


def _read_json(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _read_nm(path: str | Path) -> pd.DataFrame:
    return pd.read_csv(path)


# ------------------------------------------------------------------------------- dataset
def nm_dataset(inp: Mapping[str, str], out: Mapping[str, str], *, treatment: str, analyte: str,
               visits: Sequence[Mapping[str, Any]], dosing_days: Sequence[float] = (), igg_paramcd: str = "IGG") -> None:
    nm, ids = build_nm_dataset(
        read_parquet(inp["adsl"]), read_parquet(inp["adex"]), read_parquet(inp["adpc"]), read_parquet(inp["adlb"]),
        treatment=treatment, analyte=analyte, visits=visits, dosing_days=dosing_days, igg_paramcd=igg_paramcd,
    )
    write_csv(nm, out["dataset"])
    write_csv(ids, out["id_map"])
    read_nm_dataset(out["dataset"])  # the estimator must accept what we wrote
    log.info("modelling dataset: %d records, %d subjects", len(nm), len(ids))


# ------------------------------------------------------------------------------ PK fits
def _limits(limits: Mapping[str, Any] | None, options: Mapping[str, Any] | None) -> tuple[float | None, dict[str, Any]]:
    """Config ``pkpd.limits`` as (grid limit for the specification, fit options)."""
    limits = dict(limits or {})
    opts = dict(options or {})
    if "max_evaluations" in limits:
        opts.setdefault("max_evaluations", int(limits["max_evaluations"]))
    return limits.get("max_grid_factor"), opts


def fit_pk(nm_path: str, out: Mapping[str, str], *, candidate: str, residual_error: str, blq_method: str,
           options: Mapping[str, Any] | None = None, limits: Mapping[str, Any] | None = None,
           covariates: Sequence[Mapping[str, Any]] | None = None, threads: int = 1) -> None:
    """Fit one PK candidate; ``threads``: the rule's (rows of the model calls side by side,
    :attr:`fcrnpipe.nlme.FitOptions.threads`; the files do not depend on it)."""
    data = read_nm_dataset(nm_path)
    grid_factor, options = _limits(limits, options)
    F.check_covariate_config(covariates or [], F.PIPELINE_MODELS)
    spec = F.with_grid_limit(F.pk_spec(candidate, residual_error, blq_method), grid_factor)
    spec = F.with_covariates(spec, covariates, data)
    result = F.run_fit(data, spec, F.fit_options({**options, "threads": int(threads)}, F.FINAL_FIT_OPTIONS))
    F.write_fit(result, spec, out, extra={"candidate": candidate, "newton_decrement": F.newton_decrement(result)})


def select_pk(summaries: Sequence[str], candidates: Sequence[str], out: Mapping[str, str]) -> None:
    """``model_selection.csv`` and a copy of the chosen candidate's files (the folder of its
    ``fit_summary.json``) into ``pkpd/pk/``."""
    summ = {c: _read_json(p) for c, p in zip(candidates, summaries)}
    table = selection_table(summ, candidates)
    write_csv(table, out["selection"])
    best = chosen_model(table)
    src = Path(summaries[list(candidates).index(best)]).parent
    names = {"fit": "fit.json", "population": "population_parameters.csv", "individual": "individual_parameters.csv",
             "predictions": "predictions.csv", "summary": "fit_summary.json"}
    for key, fname in names.items():
        shutil.copyfile(src / fname, out[key])
    log.info("chosen PK model: %s\n%s", best, table.to_string(index=False))


# ------------------------------------------------------------------------------ PD fit
def fit_pd(nm_path: str, pk_dir: Mapping[str, str], id_map_path: str, out: Mapping[str, str], *, fit_mode: str,
           steroid: Mapping[str, Any], residual_error: Mapping[str, str], blq_method: str,
           pd_model: str = "igg_turnover", options: Mapping[str, Any] | None = None,
           limits: Mapping[str, Any] | None = None, covariates: Sequence[Mapping[str, Any]] | None = None,
           threads: int = 1) -> None:
    """The IgG model on the chosen PK (sequential) or the joint model (simultaneous); writes
    the fit's files (``pkpd/pd/``) and the combined individual and prediction tables.
    ``threads``: as :func:`fit_pk`."""
    if pd_model != "igg_turnover":
        raise UserError(f"config pkpd.pd_model: {pd_model!r} is not supported (igg_turnover)")
    data = read_nm_dataset(nm_path)
    pk = load_state(pk_dir["fit"])
    pk_ind = pd.read_csv(pk_dir["individual"], dtype={"ID": str})
    if fit_mode == "simultaneous":
        if pk.model_name != "sc1cmt_mm":
            raise UserError(
                f"config pkpd.fit_mode simultaneous needs the sc1cmt_mm PK model, but {pk.model_name} was chosen "
                "(pkpd/model_selection.csv); use fit_mode sequential or pk_candidates [sc1cmt_mm]"
            )
        spec = F.joint_spec(steroid, residual_error, blq_method)
        spec["init"] = {k: v for k, v in pk.theta_natural.items() if k not in spec["fixed"]}
        parts = "PKPD"
    elif fit_mode == "sequential":
        pki, pkt = F.pd_inputs_from_pk(pk, pk_ind)
        spec = F.pd_spec(pki, pkt, steroid, residual_error["pd"], blq_method)
        parts = "PD"
    else:
        raise UserError(f"config pkpd.fit_mode: {fit_mode!r} is not sequential or simultaneous")
    grid_factor, options = _limits(limits, options)
    F.check_covariate_config(covariates or [], F.PIPELINE_MODELS)
    spec = F.with_covariates(F.with_grid_limit(spec, grid_factor), covariates, data)
    if fit_mode == "simultaneous" and pk.pm.covariates:  # estimated exponents start from the PK fit's
        start = {r.name: float(b) for r, b in zip(pk.pm.covariates, pk.beta)}
        spec["covariates"] = [{**c, "exponent": start.get(f"{c['covariate']}_on_{c['parameter']}", c["exponent"])}
                              if c["estimate"] else c for c in spec.get("covariates", [])]
    result = F.run_fit(data, spec, F.fit_options({**options, "threads": int(threads)}, F.FINAL_FIT_OPTIONS))
    tables = F.write_fit(result, spec, out, extra={"fit_mode": fit_mode, "pk_model": pk.model_name,
                                                  "newton_decrement": F.newton_decrement(result)})
    idm = pd.read_csv(id_map_path)
    pd_ind, pd_pred = tables["individual"], tables["predictions"]  # the frames just written, not re-read
    if parts == "PKPD":
        ind = O.combine_individual(idm, [pd_ind])
        pred = O.combine_predictions(idm, [("PKPD", pd_pred)])
    else:
        pk_pred = pd.read_csv(pk_dir["predictions"], dtype={"ID": str})
        ind = O.combine_individual(idm, [pk_ind, pd_ind])
        pred = O.combine_predictions(idm, [("PK", pk_pred), ("PD", pd_pred)])
    write_csv(ind, out["individual_all"])
    write_csv(pred, out["predictions_all"])


def _parts(pk_dir: Mapping[str, str], pd_dir: Mapping[str, str]) -> list[tuple[str, str, pd.DataFrame]]:
    pd_summ = _read_json(pd_dir["summary"])
    pd_pop = pd.read_csv(pd_dir["population"])
    if is_joint(pd_summ["model"]):
        return [("PKPD", pd_summ["model"], pd_pop)]
    pk_summ = _read_json(pk_dir["summary"])
    return [("PK", pk_summ["model"], pd.read_csv(pk_dir["population"])), ("PD", pd_summ["model"], pd_pop)]


# ----------------------------------------------------------------------------- bootstrap
def _strata(data: Any, stratify_on: str | None) -> dict[str, str] | None:
    """Subject -> stratum for config ``pkpd.bootstrap.stratify_on`` (None: unstratified)."""
    if stratify_on is None:
        return None
    try:
        return subject_strata(data, stratify_on)
    except ValueError as exc:
        raise UserError(f"config pkpd.bootstrap.stratify_on: {exc}") from None


def bootstrap_replicates(nm_path: str, pk_dir: Mapping[str, str], pd_dir: Mapping[str, str], replicates: Sequence[int],
                         *, seed: int, options: Mapping[str, Any] | None = None, restarts: int = 1,
                         stratify_on: str | None = None) -> pd.DataFrame:
    """The replicate table (:func:`fcrnpipe.pkpd.bootstrap.run_chunk`) of the given bootstrap
    replicates of a finished fit (its dataset and the ``pkpd/pk``, ``pkpd/pd`` files), the
    subjects drawn within the strata of the dataset column ``stratify_on``."""
    params = list(O.combine_population(_parts(pk_dir, pd_dir))["parameter"])
    if not len(replicates):
        return B.replicate_frame([], params)
    data = read_nm_dataset(nm_path)
    pd_fit = load_state(pd_dir["fit"])
    pk = None if is_joint(pd_fit.model_name) else load_state(pk_dir["fit"])
    return B.run_chunk(data, pk, pd_fit, params, [int(r) for r in replicates], int(seed),
                       F.fit_options(options, F.BOOTSTRAP_FIT_OPTIONS), restarts=int(restarts),
                       strata=_strata(data, stratify_on))


def bootstrap_chunk(nm_path: str, pk_dir: Mapping[str, str], pd_dir: Mapping[str, str], out_csv: str, *,
                    scatteritem: str, replicates: int, seed: int, options: Mapping[str, Any] | None = None,
                    restarts: int = 1, stratify_on: str | None = None) -> None:
    chunk, chunks = B.parse_scatteritem(scatteritem)
    reps = B.chunk_replicates(int(replicates), chunks, chunk)
    t0 = time.perf_counter()
    table = bootstrap_replicates(nm_path, pk_dir, pd_dir, reps, seed=seed, options=options, restarts=restarts,
                                 stratify_on=stratify_on)
    write_csv(table, out_csv)
    log.info("chunk %s: replicates %s, %d failed, %.1f s", scatteritem, reps,
             int((table["status"] != "ok").sum()), time.perf_counter() - t0)


def bootstrap_gather(chunks: Sequence[str], pk_dir: Mapping[str, str], pd_dir: Mapping[str, str], selection: str,
                     out: Mapping[str, str], *, replicates: int, seed: int, fit_mode: str,
                     exclude_at_bound: bool = True, max_failed_share: float = 0.10, nm_path: str | None = None,
                     stratify_on: str | None = None) -> None:
    parts = _parts(pk_dir, pd_dir)
    pop = O.combine_population(parts)
    frames = [pd.read_csv(c, keep_default_na=True, dtype={"at_bound": str, "subjects": str}) for c in chunks]
    fixed: list[str] = []
    for d in (pk_dir, pd_dir):
        fixed += list(_read_json(d["fit"])["spec"].get("fixed", {}))
    allr, pop_b, info = B.gather(frames, pop, int(replicates), fixed, exclude_at_bound=bool(exclude_at_bound))
    B.check_failed_share(info, float(max_failed_share))
    info.update(seed=int(seed), chunks=len(chunks), seeding="numpy.random.default_rng([seed, replicate])",
                stratify_on=stratify_on)
    if nm_path is not None and stratify_on is not None:
        strata = _strata(read_nm_dataset(nm_path), stratify_on)
        info["strata"] = {label: sum(1 for v in strata.values() if v == label) for label in sorted(set(strata.values()))}
    write_csv(allr, out["bootstrap"])
    write_csv(pop_b, out["population"])
    pd_summ = _read_json(pd_dir["summary"])
    pk_summ = None if len(parts) == 1 else _read_json(pk_dir["summary"])
    summ = O.combine_summary(pk_summ, pd_summ, pd.read_csv(selection), fit_mode, bootstrap=info)
    write_json(summ, out["summary"])
    log.info("bootstrap: %d ok (%d with an estimate on its search bound), %d failed of %d; %d used",
             info["n_ok"], info["n_at_bound"], info["n_failed"], replicates, info["n_used"])
    if info["n_failed"] or info["n_excluded_at_bound"]:
        log.warning("bootstrap: replicate(s) %s failed and %s excluded at a bound (see bootstrap.csv, status/message/"
                    "at_bound); the intervals use the %d other replicate(s)%s", info["failed_replicates"],
                    info["at_bound_replicates"] if info["exclude_at_bound"] else [], info["n_used"],
                    "" if info["n_used"] >= 2 else ": too few, intervals are NaN")


# ---------------------------------------------------------------------------------- VPC
def vpc(nm_path: str, pk_fit: str, pd_fit: str, out: Mapping[str, str], *, endpoint: str, replicates: int, seed: int,
        dosing_days: Sequence[float], data_cut: str, stratify_on: str | None = "DOSE",
        prediction_corrected: bool = False, percentiles: str | Sequence[float] = "auto",
        min_bin_observations: int = V.MIN_BIN_OBSERVATIONS, treatment: str | None = None) -> None:
    """The VPC of one endpoint (``pk``, ``igg``) per stratum, optionally prediction-corrected
    (:mod:`fcrnpipe.pkpd.vpc`): ``pkpd/vpc_{endpoint}.csv`` and its figure."""
    P, save = _figures()
    cmt = ENDPOINT_CMT[endpoint]
    data = read_nm_dataset(nm_path)
    model = PkPdModel.load(pk_fit, pd_fit)
    rng = np.random.default_rng([int(seed), cmt])
    obs, sim = V.simulate_vpc(data, model, cmt, int(replicates), rng, stratify_on=stratify_on)
    if cmt == 3:
        obs, sim = V.percent_of_baseline(obs, sim)
    sizes = obs.groupby(["STRATUM", "BIN"], sort=False).size().tolist()
    levels, why = V.choose_percentiles(sizes, percentiles, int(min_bin_observations))
    pred = obs["PRED"].to_numpy(dtype=float) if prediction_corrected else None
    shown = V.corrected_observations(obs) if prediction_corrected else obs
    what, ylabel = (("total IgG (% of baseline)", "total IgG (% of baseline)") if cmt == 3
                    else (f"{drug_name(treatment)} concentration", f"{drug_name(treatment)} concentration (mg/L)"))
    if prediction_corrected:
        title, ylabel = f"Prediction-corrected visual predictive check: {what}", f"Prediction-corrected {ylabel}"
    else:
        title, ylabel = f"Visual predictive check: {what}", ylabel[0].upper() + ylabel[1:]
    table = V.vpc_summary(obs, sim, "IgG % of baseline" if cmt == 3 else "concentration", levels, pred=pred)
    fig = P.plot_vpc(table, shown, title=title, ylabel=ylabel, log=cmt == 2, n_subjects=int(obs["ID"].nunique()),
                     dosing_days=dosing_days, data_cut=data_cut, reference=(100.0,) if cmt == 3 else (),
                     levels=levels, percentile_reason=why, stratify_on=stratify_on)
    write_csv(_rounded(table), out["table"])
    save(fig, out["png"], out["svg"])
    log.info("VPC %s: strata %s; percentiles %s (%s)%s", endpoint, sorted(set(table["stratum"])),
             V.levels_text(levels), why, "; prediction-corrected" if prediction_corrected else "")


def _rounded(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if out[c].dtype.kind == "f":
            out[c] = B.round_sig(out[c].to_numpy())
    return out


# ------------------------------------------------------------------------- diagnostics
def gof(predictions: str, pk_summary: str, pd_summary: str, out: Mapping[str, str], *, endpoint: str,
        arms: Sequence[Mapping[str, Any]], data_cut: str, treatment: str | None = None) -> None:
    P, save = _figures()
    pred = pd.read_csv(predictions)
    pd_model = _read_json(pd_summary)["model"]
    model = _read_json(pk_summary)["model"] if endpoint == "pk" and not is_joint(pd_model) else pd_model
    fig = P.plot_gof(pred, arms, ENDPOINT_CMT[endpoint], model=model, data_cut=data_cut, treatment=treatment)
    save(fig, out["png"], out["svg"])


def individual_curves(model: PkPdModel, nm: pd.DataFrame, cmt: int, step_h: float = 6.0) -> pd.DataFrame:
    """IPRED and PRED of every fitted subject on a grid (every ``step_h`` h from the first
    dose, or its earliest record, to its last record of endpoint ``cmt``)."""
    ind = model.individual()
    pred_par = model.individual(typical_pd=True, typical_pk=(cmt == 2) or model.simultaneous)
    nm = nm.copy()
    nm["ID"] = nm["ID"].astype(str)
    obs = nm[(nm["EVID"] == 0) & (nm["MDV"] == 0) & (nm["CMT"] == cmt)]
    ids = [i for i in ind["ID"] if i in set(obs["ID"])]
    if not ids:
        return pd.DataFrame(columns=["ID", "TIME", "CMT", "IPRED", "PRED"])
    times, doses = [], []
    for sid in ids:
        o = obs[obs["ID"] == sid]["TIME"].to_numpy(float)
        t0 = min(0.0, float(o.min()))
        grid = np.unique(np.concatenate([np.arange(t0, float(o.max()) + 1e-9, step_h), o]))
        times.append(grid)
        doses.append(nm[(nm["ID"] == sid) & (nm["EVID"] == 1)])
    design = make_design(ids, times, [np.full(t.size, cmt) for t in times], [d["TIME"].to_numpy(float) for d in doses],
                         [d["AMT"].to_numpy(float) for d in doses])
    cols = [c for c in ind.columns if c != "ID"]
    p_i = ind.set_index("ID").loc[ids, cols].to_numpy(float)
    p_p = pred_par.set_index("ID").loc[ids, cols].to_numpy(float)
    n = len(ids)
    f = model.predict(design, np.concatenate([p_i, p_p]), np.concatenate([np.arange(n), np.arange(n)]))
    rows = []
    for k, sid in enumerate(ids):
        m = design.obs_mask[k]
        rows.append(pd.DataFrame({"ID": sid, "TIME": design.obs_time[k][m], "CMT": cmt, "IPRED": f[k][m], "PRED": f[n + k][m]}))
    return pd.concat(rows, ignore_index=True)


def individual_fits(nm_path: str, id_map_path: str, pk_fit: str, pd_fit: str, out: Mapping[str, str], *, endpoint: str,
                    arms: Sequence[Mapping[str, Any]], data_cut: str, treatment: str | None = None) -> None:
    P, save = _figures()
    cmt = ENDPOINT_CMT[endpoint]
    nm = _read_nm(nm_path)
    model = PkPdModel.load(pk_fit, pd_fit)
    curves = individual_curves(model, nm, cmt)
    obs = nm[(nm["EVID"] == 0) & (nm["MDV"] == 0)]
    doses = nm[nm["EVID"] == 1][["ID", "TIME"]]
    name = model.pd.model_name if (cmt == 3 or model.simultaneous) else model.pk.model_name  # type: ignore[union-attr]
    fig = P.plot_individual_fits(obs, curves, pd.read_csv(id_map_path), arms, cmt, doses, model=name, data_cut=data_cut,
                                 treatment=treatment)
    save(fig, out["png"], out["svg"])


def eta_figure(individual: str, pk_population: str, pd_population: str, pd_summary: str, out: Mapping[str, str], *,
               arms: Sequence[Mapping[str, Any]], data_cut: str) -> None:
    P, save = _figures()
    ind = pd.read_csv(individual)
    omegas: dict[str, tuple[str, float]] = {}
    for part, path in _eta_sources(_read_json(pd_summary)["model"], pk_population, pd_population):
        pop = pd.read_csv(path)
        for _, r in pop[pop["parameter"].astype(str).str.startswith("omega2(")].iterrows():
            omegas["ETA_" + str(r["parameter"])[7:-1]] = (part, float(r["estimate"]))
    save(P.plot_eta(ind, omegas, arms, data_cut=data_cut), out["png"], out["svg"])


def _eta_sources(pd_model: str, pk_population: str, pd_population: str) -> list[tuple[str, str]]:
    """(part, population table) of the fits whose omegas the ETA figure shows: the joint
    model's one table, else the PK and the PD fit's."""
    return [("PK/PD", pd_population)] if is_joint(pd_model) else [("PK", pk_population), ("PD", pd_population)]


# ---------------------------------------------------------------------------- regimens
def regimen_simulation(nm_path: str, id_map_path: str, predictions: str, pk_fit: str, pd_fit: str,
                       out: Mapping[str, str], *, regimens: Sequence[Mapping[str, Any]], trials: int, subjects: int,
                       days: int, seed: int, arms: Sequence[Mapping[str, Any]], dosing_days: Sequence[int],
                       visits: Sequence[Mapping[str, Any]], data_cut: str, uncertainty: str = "bootstrap",
                       bootstrap: str | None = None, exclude_at_bound: bool = True, workers: int = 1) -> None:
    """Simulated trials of every regimen (:mod:`fcrnpipe.pkpd.regimen`): the regimen table,
    the profiles, their figure and the model against the published PD (``pd_reproduction.csv``)
    from the same virtual subjects on each arm's planned regimen. ``bootstrap``: path of
    ``pkpd/bootstrap.csv`` (None: the pipeline ran no bootstrap). ``workers``: threads that
    integrate blocks of virtual subjects at the same time (the rule's ``threads``; the
    numbers do not depend on it)."""
    P, save = _figures()
    model = PkPdModel.load(pk_fit, pd_fit)
    boot = pd.read_csv(bootstrap, dtype={"at_bound": str}) if bootstrap else None
    pops = R.trial_populations(model, int(trials), uncertainty, boot, exclude_at_bound=bool(exclude_at_bound))
    pool = R.covariate_pool(model, read_nm_dataset(nm_path)) if model.covariate_names else None
    params = R.simulate_trials(model, pops, int(trials), int(subjects), int(seed), pool)
    table, profiles, curves = R.simulate_regimens(model, regimens, params, float(days), pops.text, workers=int(workers))
    arm_regs = [{"name": a["armcd"], "doses": [{"mg": a["dose_mg"], "days": list(dosing_days)}]} for a in arms]
    arm_curves = R.curves_for(model, arm_regs, params, float(days), curves, regimens, workers=int(workers))
    from fcrnpipe.pkpd.reproduction import reproduction_table  # scipy.stats: imported where used

    repro = reproduction_table(_read_nm(nm_path), pd.read_csv(predictions), pd.read_csv(id_map_path), arms, visits,
                               arm_curves)
    write_csv(_rounded(table), out["table"])
    write_csv(_rounded(profiles), out["profiles"])
    write_csv(_rounded(repro), out["reproduction"])
    save(P.plot_regimens(profiles, table, regimens, data_cut=data_cut), out["png"], out["svg"])
    log.info("regimen simulation: %d trials x %d subjects; population parameter sets: %s%s\n%s\nreproduction:\n%s",
             int(trials), int(subjects), pops.text,
             f" (replicates {pops.replicates[:10]}{' ...' if len(pops.replicates) > 10 else ''})" if pops.replicates else "",
             table.to_string(index=False), repro.to_string(index=False))
