"""Nonparametric (subject) bootstrap of the final PK/PD model, run in chunks.

Replicate ``r`` (1..R) draws its subjects with ``numpy.random.default_rng([seed, r])`` (a
``SeedSequence`` of the configured seed and the replicate number): its numbers do not depend
on how the replicates are split into chunks, on the chunk that runs it, or on the order of the
jobs. Chunk ``i`` of ``n`` runs the contiguous block :func:`chunk_replicates`. The draws are
stratified (config ``pkpd.bootstrap.stratify_on``, a column of the modelling dataset, default
``DOSE``; PsN's ``-stratify_on``): within each stratum as many subjects as it has, so every
replicate keeps the design's 2 + 7 subjects at 340 and 680 mg -- and with them the dose
contrast that separates the linear from the saturable clearance. The drawn subject IDs of
every replicate are in its ``subjects`` column.

Each replicate refits the final model to its resampled dataset, warm-started from the final
estimates, without a covariance step: sequential mode refits the PK model, then the IgG
model on the replicate's own individual PK; simultaneous mode refits the joint model. A fit
that stops without meeting its convergence criterion (iteration limit, BFGS "precision loss")
is restarted from where it stopped, with a fresh optimiser, up to ``restarts`` times
(config ``pkpd.bootstrap.restarts``, default 1; PsN's ``-retries`` in spirit, but from the
end point, not from perturbed initial estimates, so the result stays deterministic); a
replicate's restarts are in its ``restarts`` column (and, when it converged only after one, in
``message``); the summary counts the ok replicates that needed one (``n_restarted``). A
replicate whose fit raises, whose optimiser still does not meet its convergence criterion, or
that ends with a non-finite OFV or estimate is recorded with status ``failed``, the reason in
``message`` and no estimates (the OFVs and ``*_converged`` flags of the fits that ran are
kept) -- it never stops the chunk (reproducibility issue #5: a failing replicate is reported
without corrupting the gathered result). Only a crash of the whole job (killed, out of
memory) fails the chunk: Snakemake then removes its output and retries it (``retries`` in
the profile); the chunk CSV is written once, after all its replicates.

Bounded work: every refit has a deterministic budget of OFV evaluations
(``pkpd.bootstrap.max_evaluations``) and explores only a box around the original estimates
(``pkpd.bootstrap.search_range``: each fixed effect within that factor either way, each IIV
SD at most that factor above), and its ODE grids may not grow beyond
``pkpd.limits.max_grid_factor`` times their design grid. A refit that exceeds a limit fails
(the replicate is recorded as failed, with the reason); one whose estimates end on the box
has them listed in ``at_bound`` (status ``ok``).

The gather step (:func:`gather`) checks that every replicate is present once, writes all of
them (``bootstrap.csv``) and adds to each parameter the 95% percentile interval (2.5th and
97.5th percentiles, linear interpolation) over the *used* replicates -- ``ok`` and, with
``exclude_at_bound`` (config ``pkpd.bootstrap.exclude_at_bound``, default true, as PsN's
boundary skipping), no estimate at its bound -- (``boot_ci_low``, ``boot_ci_high``) and their
number (``boot_n_ok``). Parameters held fixed get no interval. Failed and excluded
replicates are counted and listed in the summary (``n_failed``, ``failed_replicates``,
``n_at_bound``, ``n_used``); if none is used the intervals are NaN (no crash), and
:func:`check_failed_share` fails the step when more than ``max_failed_share`` of them are
unusable.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.errors import UserError
from fcrnpipe.nlme import FitOptions, NMData, individual_table, population_table, resample_subjects
from fcrnpipe.nlme.results import round_sig
from fcrnpipe.pkpd.fitting import run_fit
from fcrnpipe.pkpd.state import FittedModel, pk_for_pd

log = logging.getLogger("fcrnpipe.pkpd")

META_COLUMNS = ["replicate", "seed", "status", "message", "pk_ofv", "pk_converged", "pd_ofv", "pd_converged", "restarts",
                "at_bound", "subjects"]
CI_LEVEL = 0.95


def replicate_rng(seed: int, replicate: int) -> np.random.Generator:
    """The generator of bootstrap replicate ``replicate`` (see the module docstring)."""
    return np.random.default_rng([int(seed), int(replicate)])


def parse_scatteritem(item: str) -> tuple[int, int]:
    """``"3-of-20"`` (Snakemake's scatter item) -> ``(3, 20)``."""
    m = re.fullmatch(r"(\d+)-of-(\d+)", str(item))
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise UserError(f"bootstrap chunk {item!r}: expected 'i-of-n' with 1 <= i <= n")
    return int(m.group(1)), int(m.group(2))


def chunk_replicates(replicates: int, chunks: int, chunk: int) -> list[int]:
    """Replicates (1-based) run by chunk ``chunk`` (1-based) of ``chunks``: contiguous blocks
    whose sizes differ by at most one."""
    if chunks < 1 or not 1 <= chunk <= chunks:
        raise ValueError("chunk must be in 1..chunks")
    lo = (chunk - 1) * replicates // chunks
    hi = chunk * replicates // chunks
    return list(range(lo + 1, hi + 1))


class NotConverged(RuntimeError):
    """A replicate's fit ended without meeting its convergence criterion."""


def _check_converged(res: Any, what: str, options: FitOptions) -> None:
    opt = res.optimizer
    if not opt.get("converged"):
        raise NotConverged(
            f"{what} fit did not converge: {opt.get('message', '')} (largest |OFV gradient| "
            f"{float(opt.get('gradient_max_abs', float('nan'))):.3g}, tolerance {options.gtol:g})"
        )


def _fit_with_restarts(
    fit_fn: Callable[..., Any], data: NMData, spec: Any, options: FitOptions, warm_start: Any, restarts: int
) -> tuple[Any, int]:
    """``fit_fn`` warm-started from ``warm_start``; while it ends not converged (with finite
    estimates and OFV) and restarts remain, refit warm-started from its own end point (the
    search box of ``options.search_range`` stays centred on ``warm_start``, the original
    estimates). Returns the last fit and the number of restarts used."""
    res = fit_fn(data, spec, options, warm_start=warm_start, search_center=warm_start)
    used = 0
    while (
        used < restarts
        and not res.optimizer.get("converged")
        and math.isfinite(float(res.ofv))
        and bool(np.all(np.isfinite(np.asarray(res.x, dtype=float))))
    ):
        used += 1
        log.info("%s fit not converged (%s): restart %d of %d from its end point",
                 spec["model"], res.optimizer.get("message", ""), used, restarts)
        res = fit_fn(data, spec, options, warm_start=res, search_center=warm_start)
    return res, used


def _at_bound(res: Any, part: str) -> list[str]:
    return [f"{part} {name}" for name in res.optimizer.get("at_bound", [])]


def _estimates(fit: Any) -> dict[str, float]:
    tab = population_table(fit)
    return dict(zip(tab["parameter"], tab["estimate"].astype(float)))


def _replicate_row(replicate: int, seed: int) -> dict[str, Any]:
    """The status row of a replicate before its fits (status ok, no results yet)."""
    return {
        "replicate": int(replicate),
        "seed": int(seed),
        "status": "ok",
        "message": "",
        "pk_ofv": float("nan"),
        "pk_converged": None,
        "pd_ofv": float("nan"),
        "pd_converged": None,
        "restarts": 0,
        "at_bound": "",
        "subjects": "",
    }


def _pd_spec_on(pd_fit: FittedModel, pk_res: Any, pk_model: str) -> dict[str, Any]:
    """The PD model's spec driven by the individual and typical PK of the replicate's PK fit."""
    ind = individual_table(pk_res)
    ind["ID"] = ind["ID"].astype(str)
    pki, pkt = pk_for_pd(ind, pk_res.theta_natural, pk_model)
    spec = dict(pd_fit.spec)
    spec["pk_individual"] = {c: pki[c].tolist() for c in pki.columns}
    spec["pk_typical"] = {k: float(v) for k, v in pkt.items()}
    return spec


def _check_finite(row: dict[str, Any], est: dict[str, float], pk: FittedModel | None, pd_fit: FittedModel) -> None:
    """``FloatingPointError`` if a replicate's OFV or an estimated (not fixed) parameter is not finite."""
    ofvs = [row["pd_ofv"]] + ([row["pk_ofv"]] if pk is not None else [])
    if not all(math.isfinite(v) for v in ofvs):
        raise FloatingPointError("non-finite objective function value")
    fixed = set(pd_fit.spec.get("fixed", {})) | (set(pk.spec.get("fixed", {})) if pk is not None else set())
    bad = sorted(k for k, v in est.items() if not math.isfinite(v) and k not in fixed)
    if bad:
        raise FloatingPointError(f"non-finite estimate(s): {', '.join(bad)}")


def run_replicate(
    data: NMData,
    pk: FittedModel | None,
    pd_fit: FittedModel,
    replicate: int,
    seed: int,
    options: FitOptions,
    fit_fn: Callable[..., Any] | None = None,
    restarts: int = 1,
    strata: dict[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, float]]:
    """Refit one replicate; returns its status row and its estimates (empty if failed).

    ``fit_fn``: the fitting function (default :func:`fcrnpipe.pkpd.fitting.run_fit`; tests
    inject failing ones). ``restarts``: see the module docstring. ``strata``: subject ID ->
    stratum (:func:`fcrnpipe.nlme.simulate.subject_strata`); the replicate's subjects are
    drawn within them. The row's ``subjects`` lists the drawn IDs (``;``-separated, in
    draw order)."""
    row = _replicate_row(replicate, seed)
    est: dict[str, float] = {}
    notes: list[str] = []
    bounds_hit: list[str] = []
    fit_fn = fit_fn or run_fit
    t0 = time.perf_counter()
    try:
        boot = resample_subjects(data, replicate_rng(seed, replicate), strata)
        row["subjects"] = ";".join(boot.records.groupby("ID", sort=False)["ORIG_ID"].first().astype(str))
        if pk is not None:
            pk_res, n_restart = _fit_with_restarts(fit_fn, boot, pk.spec, options, pk, restarts)
            row["restarts"] += n_restart
            if n_restart and pk_res.optimizer.get("converged"):
                notes.append(f"PK converged after {n_restart} restart(s)")
            row["pk_ofv"], row["pk_converged"] = float(pk_res.ofv), bool(pk_res.optimizer.get("converged"))
            _check_converged(pk_res, f"PK ({pk.model_name})", options)
            bounds_hit += _at_bound(pk_res, "PK")
            est.update(_estimates(pk_res))
            spec = _pd_spec_on(pd_fit, pk_res, pk.model_name)
        else:
            spec = pd_fit.spec
        pd_res, n_restart = _fit_with_restarts(fit_fn, boot, spec, options, pd_fit, restarts)
        row["restarts"] += n_restart
        if n_restart and pd_res.optimizer.get("converged"):
            notes.append(f"{'PD' if pk is not None else 'PK/PD'} converged after {n_restart} restart(s)")
        row["pd_ofv"], row["pd_converged"] = float(pd_res.ofv), bool(pd_res.optimizer.get("converged"))
        _check_converged(pd_res, f"{'PD' if pk is not None else 'PK/PD'} ({pd_fit.model_name})", options)
        bounds_hit += _at_bound(pd_res, "PD" if pk is not None else "PK/PD")
        est.update(_estimates(pd_res))
        _check_finite(row, est, pk, pd_fit)
        row["at_bound"] = "; ".join(bounds_hit)
        if bounds_hit:
            notes.append(f"estimate(s) on the search bound: {row['at_bound']}")
        row["message"] = "; ".join(notes)
    except Exception as exc:  # noqa: BLE001 - a failed replicate is data, not a crash
        msg = " ".join(f"{type(exc).__name__}: {exc}".split())
        row.update(status="failed", message=msg[:300])
        est = {}
        log.warning("bootstrap replicate %d failed: %s", replicate, msg)
    log.info("bootstrap replicate %d: %s (%.1f s)", replicate, row["status"], time.perf_counter() - t0)
    return row, est


def run_chunk(
    data: NMData,
    pk: FittedModel | None,
    pd_fit: FittedModel,
    parameters: Sequence[str],
    replicates: Sequence[int],
    seed: int,
    options: FitOptions,
    fit_fn: Callable[..., Any] | None = None,
    restarts: int = 1,
    strata: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The replicate table of a chunk: :data:`META_COLUMNS` + one column per parameter
    (``fit_fn``, ``restarts``, ``strata``: see :func:`run_replicate`)."""
    rows = []
    for r in replicates:
        row, est = run_replicate(data, pk, pd_fit, r, seed, options, fit_fn, restarts, strata)
        row.update({p: est.get(p, float("nan")) for p in parameters})
        rows.append(row)
    return replicate_frame(rows, parameters)


def replicate_frame(rows: list[dict[str, Any]], parameters: Sequence[str]) -> pd.DataFrame:
    cols = META_COLUMNS + list(parameters)
    df = pd.DataFrame(rows, columns=cols)
    df["replicate"] = df["replicate"].astype(int)
    df["seed"] = df["seed"].astype(int)
    df["restarts"] = df["restarts"].astype(int)
    df["at_bound"] = df["at_bound"].fillna("").astype(str)
    df["subjects"] = df["subjects"].fillna("").astype(str)
    for c in ("pk_converged", "pd_converged"):
        df[c] = df[c].astype(object)
    for c in ["pk_ofv", "pd_ofv", *parameters]:
        df[c] = round_sig(df[c].to_numpy(dtype=float))
    return df


def percentile_ci(values: np.ndarray, level: float = CI_LEVEL) -> tuple[float, float]:
    """Percentile interval of the finite ``values`` (NaN if fewer than 2)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return float("nan"), float("nan")
    a = 100.0 * (1.0 - level) / 2.0
    lo, hi = np.percentile(v, [a, 100.0 - a])
    return float(lo), float(hi)


def used_replicates(allr: pd.DataFrame, exclude_at_bound: bool = True) -> pd.Series:
    """The replicates the intervals use: ``ok``, and (``exclude_at_bound``) with no estimate
    on its search bound."""
    used = allr["status"].astype(str) == "ok"
    if exclude_at_bound and "at_bound" in allr.columns:
        used &= allr["at_bound"].fillna("").astype(str).str.strip() == ""
    return used


def check_failed_share(info: dict[str, Any], max_failed_share: float) -> None:
    """:class:`UserError` when the share of unusable replicates (failed, or excluded at a
    bound) exceeds ``max_failed_share`` (config ``pkpd.bootstrap.max_failed_share``)."""
    n = int(info["replicates"])
    bad = int(info["n_failed"]) + int(info["n_excluded_at_bound"])
    if n and bad / n > max_failed_share:
        raise UserError(
            f"bootstrap: {bad} of {n} replicates are unusable ({info['n_failed']} failed, "
            f"{info['n_excluded_at_bound']} with an estimate on the search bound) = {100.0 * bad / n:.1f}%, more than "
            f"config pkpd.bootstrap.max_failed_share = {100.0 * max_failed_share:g}%: intervals from the remaining "
            "replicates would not represent the resampling distribution. The reasons are in "
            "pkpd/bootstrap/chunk_*.csv (status, message, at_bound); the chunks are kept, so raising the share "
            "reruns only this step"
        )


def _all_replicates(chunks: Sequence[pd.DataFrame], params: list[str], replicates: int) -> pd.DataFrame:
    """The chunks' replicate rows, checked (each of ``1..replicates`` exactly once), sorted by
    replicate, with a column per parameter after the status columns."""
    frames = [c for c in chunks if len(c)]
    if frames:
        allr = pd.concat(frames, ignore_index=True)
    else:
        allr = pd.DataFrame(columns=META_COLUMNS + params)
    missing_cols = [c for c in META_COLUMNS if c not in allr.columns]
    if missing_cols:
        raise UserError(f"bootstrap chunks: column(s) {', '.join(missing_cols)} missing")
    allr["replicate"] = allr["replicate"].astype(int)
    dup = sorted(allr.loc[allr["replicate"].duplicated(), "replicate"].unique().tolist())
    if dup:
        raise UserError(f"bootstrap chunks: replicate(s) {dup[:10]} appear more than once")
    got = set(allr["replicate"].tolist())
    want = set(range(1, int(replicates) + 1))
    if got != want:
        missing = sorted(want - got)[:10]
        extra = sorted(got - want)[:10]
        raise UserError(f"bootstrap chunks: replicates missing {missing} / unexpected {extra} (config pkpd.bootstrap.replicates = {replicates})")
    allr = allr.sort_values("replicate", kind="stable").reset_index(drop=True)
    for p in params:
        if p not in allr.columns:
            allr[p] = np.nan
    allr = allr[META_COLUMNS + params + [c for c in allr.columns if c not in META_COLUMNS + params]]
    allr["at_bound"] = allr["at_bound"].fillna("").astype(str)
    allr["subjects"] = allr["subjects"].fillna("").astype(str)
    return allr


def _with_intervals(
    population: pd.DataFrame, allr: pd.DataFrame, used: pd.Series, fixed: Sequence[str]
) -> pd.DataFrame:
    """``population`` with the percentile interval of each parameter over the ``used``
    replicates (NaN for a ``fixed`` one) and the number of finite estimates behind it."""
    pop = population.copy()
    lows, highs, ns = [], [], []
    fixed_set = set(fixed)
    for p in population["parameter"]:
        vals = pd.to_numeric(allr.loc[used, p], errors="coerce").to_numpy(dtype=float)
        n_ok = int(np.isfinite(vals).sum())
        lo, hi = (float("nan"), float("nan")) if p in fixed_set else percentile_ci(vals)
        lows.append(lo)
        highs.append(hi)
        ns.append(n_ok)
    pop["boot_ci_low"] = round_sig(np.asarray(lows))
    pop["boot_ci_high"] = round_sig(np.asarray(highs))
    pop["boot_n_ok"] = np.asarray(ns, dtype=int)
    return pop


def _bootstrap_info(allr: pd.DataFrame, used: pd.Series, replicates: int, exclude_at_bound: bool) -> dict[str, Any]:
    """The bootstrap summary of :func:`gather`: counts of ok, failed, at-bound, used,
    restarted and not converged replicates."""
    ok = allr["status"].astype(str) == "ok"
    failed = allr.loc[~ok, "replicate"].astype(int).tolist()
    bound = ok & (allr["at_bound"].str.strip() != "")
    return {
        "replicates": int(replicates),
        "n_ok": int(ok.sum()),
        "n_failed": int((~ok).sum()),
        "failed_replicates": failed,
        "n_at_bound": int(bound.sum()),
        "at_bound_replicates": allr.loc[bound, "replicate"].astype(int).tolist(),
        "exclude_at_bound": bool(exclude_at_bound),
        "n_excluded_at_bound": int(bound.sum()) if exclude_at_bound else 0,
        "n_used": int(used.sum()),
        "ci": "95% percentile interval (2.5th-97.5th percentiles, linear interpolation) over the used replicates "
              "(ok" + (", no estimate on its search bound)" if exclude_at_bound else ")"),
        # replicates failed because a fit did not converge (part of n_failed)
        # ok replicates whose fit converged only after a restart
        "n_restarted": int((ok & (pd.to_numeric(allr["restarts"], errors="coerce").fillna(0) > 0)).sum()),
        "n_not_converged": {
            part: int((allr[f"{part}_converged"].astype(str).str.lower() == "false").sum())
            for part in ("pk", "pd")
        },
    }


def gather(
    chunks: Sequence[pd.DataFrame],
    population: pd.DataFrame,
    replicates: int,
    fixed: Sequence[str] = (),
    exclude_at_bound: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """All replicates (sorted), the population table with ``boot_ci_low``, ``boot_ci_high``,
    ``boot_n_ok`` (the number of replicates the interval uses: :func:`used_replicates`)
    added, and the bootstrap summary (counts, failed and excluded replicates)."""
    allr = _all_replicates(chunks, [p for p in population["parameter"]], replicates)
    used = used_replicates(allr, exclude_at_bound)
    pop = _with_intervals(population, allr, used, fixed)
    return allr, pop, _bootstrap_info(allr, used, replicates, exclude_at_bound)
