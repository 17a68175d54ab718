"""Prediction and simulation from fitted models; subject resampling for the bootstrap.

* :func:`predict_design` -- predictions of a model for a design and given individual parameters.
* :func:`sample_parameters` -- individual parameters of virtual subjects: typical values
  (optionally drawn from the estimates' uncertainty, ``N(x_hat, Cov(x_hat))`` on the
  estimation scale) with or without IIV (``eta ~ N(0, Omega)``).
* :func:`simulate` -- replicates of a design (VPC, regimen simulation), with IIV, parameter
  uncertainty (one draw of the population parameters per replicate) and residual error.
* :func:`simulate_sequential` -- the same from a sequential PK fit + PD fit (the PD model of
  a sequential fit knows the individual PK of the fitted subjects only).
* :func:`resample_subjects` -- a bootstrap dataset (subjects drawn with replacement and
  renumbered); refit it with ``fit(..., warm_start=original_fit)``.

Random numbers come only from the ``numpy.random.Generator`` passed in (determinism).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from fcrnpipe.models.base import Design, StructuralModel
from fcrnpipe.models.mab import Sc1CmtMMIggTurnover, Steroid
from fcrnpipe.nlme.dataset import NMData, validate_nm_frame
from fcrnpipe.nlme.estimate import FitResult
from fcrnpipe.nlme.foce import individual_params

if TYPE_CHECKING:  # loaded by the functions that build data frames, not by a plain fit (docs/nlme.md)
    import pandas as pd


def predict_design(model: StructuralModel, design: Design, params: np.ndarray, sid: np.ndarray | None = None) -> np.ndarray:
    """Predictions ``(R, M)`` of ``model`` for natural-scale ``params`` ``(R, p)``; row ``r``
    uses subject ``sid[r]`` of ``design`` (default: one row per subject)."""
    params = np.asarray(params, dtype=float)
    sid = np.arange(design.n_subjects) if sid is None else np.asarray(sid, dtype=int)
    prep = model.prepare(design)
    prep = model.refine(prep, params, sid)
    return model.predict(prep, params, sid)


def _draw_x(fit: FitResult, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` draws of the estimation vector from ``N(x_hat, Cov)`` (NaN entries: held fixed)."""
    if fit.covariance is None or not fit.covariance.ok:
        raise ValueError("parameter uncertainty needs a successful covariance step")
    cov = np.nan_to_num(fit.covariance.cov_x, nan=0.0)
    w, v = np.linalg.eigh(0.5 * (cov + cov.T))
    root = v * np.sqrt(np.maximum(w, 0.0))
    return fit.x[None, :] + rng.standard_normal((n, fit.x.size)) @ root.T


def sample_parameters(
    fit: FitResult,
    n: int,
    rng: np.random.Generator,
    iiv: bool = True,
    x: np.ndarray | None = None,
    z: np.ndarray | None = None,
) -> np.ndarray:
    """Natural-scale parameters ``(n, p)`` of ``n`` virtual subjects at estimates ``x``
    (default: the fit's). With covariate relations, ``z`` ``(n, C)`` are the subjects'
    covariate effects ``log(cov / reference)`` (default 0: subjects at the reference values)."""
    lay = fit.layout
    x = fit.x if x is None else x
    theta = lay.theta(x)
    if lay.n_cov and z is not None:
        theta = lay.typical(theta, lay.beta(x), z)
    eta = np.zeros((n, lay.q))
    if iiv and lay.q:
        eta = rng.standard_normal((n, lay.q)) @ lay.chol(x).T
    return individual_params(lay, fit.pm, theta, eta)


def _residual(fit: FitResult, f: np.ndarray, cmt: np.ndarray, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    lay = fit.layout
    out = f.copy()
    eps = rng.standard_normal(f.shape)
    for k, c in enumerate(lay.endpoints):
        m = cmt == c
        if m.any():
            v, _ = fit.pm.errors[c].variance(f[m], lay.sigmas(x)[k])
            out[m] = f[m] + np.sqrt(v) * eps[m]
    return out


def _long(design: Design, f: np.ndarray, y: np.ndarray | None, n_rep: int) -> pd.DataFrame:
    n = design.n_subjects
    mask = np.tile(design.obs_mask, (n_rep, 1))
    rep = np.repeat(np.arange(1, n_rep + 1), n)[:, None] * np.ones(design.max_obs, dtype=int)[None, :]
    data = {
        "REP": rep[mask],
        "ID": np.repeat(np.tile(design.ids, n_rep), mask.sum(axis=1)),
        "TIME": np.tile(design.obs_time, (n_rep, 1))[mask],
        "CMT": np.tile(design.obs_cmt, (n_rep, 1))[mask],
        "IPRED": f[mask],
    }
    if y is not None:
        data["DV"] = y[mask]
    import pandas as pd

    return pd.DataFrame(data)


def simulate(
    fit: FitResult,
    design: Design,
    n_rep: int,
    rng: np.random.Generator,
    iiv: bool = True,
    uncertainty: bool = False,
    residual: bool = True,
) -> pd.DataFrame:
    """Simulate ``n_rep`` replicates of ``design`` from ``fit``.

    Returns a long table ``REP, ID, TIME, CMT, IPRED`` (+ ``DV`` with residual error), ordered
    by replicate and the design's subject/record order. Each replicate draws new etas; with
    ``uncertainty`` also new population parameters. Covariate relations: the virtual subjects
    are at the reference values (the pipeline's simulations give them covariates:
    :class:`fcrnpipe.pkpd.simulation.PkPdModel`).
    """
    n = design.n_subjects
    xs = _draw_x(fit, rng, n_rep) if uncertainty else np.repeat(fit.x[None, :], n_rep, axis=0)
    params = np.concatenate([sample_parameters(fit, n, rng, iiv, xs[r]) for r in range(n_rep)])
    sid = np.tile(np.arange(n), n_rep)
    f = predict_design(fit.pm.model, design, params, sid)
    y = None
    if residual:
        cmt = np.tile(design.obs_cmt, (n_rep, 1))
        y = np.concatenate([_residual(fit, f[r * n : (r + 1) * n], cmt[r * n : (r + 1) * n], xs[r], rng) for r in range(n_rep)])
    return _long(design, f, y, n_rep)


def simulate_sequential(
    pk_fit: FitResult,
    pd_fit: FitResult,
    design: Design,
    n_rep: int,
    rng: np.random.Generator,
    steroid: Steroid | None,
    iiv: bool = True,
    uncertainty: bool = False,
    residual: bool = True,
) -> pd.DataFrame:
    """Simulate concentrations (CMT 2) and IgG (CMT 3) of virtual subjects from a sequential
    ``sc1cmt_mm`` fit and ``igg_turnover`` fit (independent random effects)."""
    n = design.n_subjects
    xs_pk = _draw_x(pk_fit, rng, n_rep) if uncertainty else np.repeat(pk_fit.x[None, :], n_rep, axis=0)
    xs_pd = _draw_x(pd_fit, rng, n_rep) if uncertainty else np.repeat(pd_fit.x[None, :], n_rep, axis=0)
    blocks = []
    for r in range(n_rep):
        pk = sample_parameters(pk_fit, n, rng, iiv, xs_pk[r])
        pd_ = sample_parameters(pd_fit, n, rng, iiv, xs_pd[r])
        blocks.append(np.concatenate([pk, pd_], axis=1))
    params = np.concatenate(blocks)
    sid = np.tile(np.arange(n), n_rep)
    f = predict_design(Sc1CmtMMIggTurnover(steroid=steroid), design, params, sid)
    y = None
    if residual:
        cmt = np.tile(design.obs_cmt, (n_rep, 1))
        y = f.copy()
        for r in range(n_rep):
            blk = slice(r * n, (r + 1) * n)
            y_pk = _residual(pk_fit, f[blk], cmt[blk], xs_pk[r], rng)
            y_pd = _residual(pd_fit, f[blk], cmt[blk], xs_pd[r], rng)
            y[blk] = np.where(cmt[blk] == 2, y_pk, np.where(cmt[blk] == 3, y_pd, f[blk]))
    return _long(design, f, y, n_rep)


def subject_strata(data: NMData, column: str | None) -> dict[str, str]:
    """The stratum of every subject: the first value of ``column`` among its records, as
    text (PsN's ``-stratify_on``); one stratum for all when ``column`` is None."""
    if column is None:
        return {str(i): "" for i in data.ids}
    rec = data.records
    if column not in rec.columns:
        raise ValueError(f"stratify on {column!r}: no such column in the dataset (columns: {', '.join(rec.columns)})")
    first = rec.groupby("ID", sort=False)[column].first()
    return {str(i): _stratum_text(first[i]) for i in data.ids}


def _stratum_text(v: object) -> str:
    try:
        f = float(v)  # 340 and 340.0 are one stratum
    except (TypeError, ValueError):
        return str(v)
    return repr(f) if f == f else "nan"


def draw_subjects(ids: list[str], strata: dict[str, str], rng: np.random.Generator) -> list[str]:
    """Subjects of a bootstrap sample: within each stratum (in sorted order of the stratum
    labels), as many as it has, drawn with replacement -- so every sample keeps the strata
    sizes of the data. One stratum: plain resampling of all subjects."""
    out: list[str] = []
    for label in sorted(set(strata[i] for i in ids)):
        members = [i for i in ids if strata[i] == label]
        draw = rng.integers(0, len(members), size=len(members))
        out += [members[j] for j in draw]
    return out


def resample_subjects(data: NMData, rng: np.random.Generator, strata: dict[str, str] | None = None) -> NMData:
    """A bootstrap dataset: as many subjects as ``data``, drawn with replacement (within the
    ``strata`` of :func:`subject_strata`, when given: :func:`draw_subjects`).

    Drawn subjects get new IDs ``1..N`` (in draw order); ``ORIG_ID`` keeps the original.
    """
    import pandas as pd

    rec = data.records
    ids = [str(i) for i in data.ids]
    if strata is None:
        draw = rng.integers(0, len(ids), size=len(ids))
        chosen = [ids[j] for j in draw]
    else:
        chosen = draw_subjects(ids, strata, rng)
    groups = {str(k): g for k, g in rec.groupby("ID", sort=False)}
    parts = []
    for new_id, sid in enumerate(chosen, start=1):
        g = groups[sid].copy()
        g["ORIG_ID"] = g["ID"]
        g["ID"] = str(new_id)
        parts.append(g)
    out = pd.concat(parts, ignore_index=True).drop(columns=["ROW"])
    table = out.astype(object).where(out.notna(), "")
    return validate_nm_frame(table.astype(str), f"{data.path} (bootstrap)")
