"""Diagnostic figures of the population PK/PD model (house style of :mod:`fcrnpipe.figures`).

Every builder returns a :class:`matplotlib.figure.Figure`; write it with
:func:`fcrnpipe.figures.save` (PNG 300 dpi + SVG, byte-deterministic). Colours are the arm
colours of the configuration.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, NullFormatter

from fcrnpipe.figures import add_header_footer, arms_from_config, day_axis, mark_dosing, new_figure, no_data, reference_line, styled
from fcrnpipe.figures.common import short_ids
from fcrnpipe.figures.style import GREY, LIGHT_GREY
from fcrnpipe.labels import drug_title

#: Per CMT: name, axis label (``{drug}`` = :func:`~fcrnpipe.labels.drug_title` of config
#: ``study.treatment``), short name, log axis.
ENDPOINTS = {
    2: {"name": "concentration", "label": "{drug} concentration (mg/L)", "short": "PK", "log": True},
    3: {"name": "IgG", "label": "Total IgG (g/L)", "short": "IgG", "log": False},
}
_LOG_FMT = FuncFormatter(lambda v, _pos: f"{v:g}")


def endpoint_style(cmt: int, treatment: str | None = None) -> dict[str, Any]:
    """:data:`ENDPOINTS` of ``cmt`` with the drug's name (config ``study.treatment``) in the label."""
    ep = dict(ENDPOINTS[cmt])
    ep["label"] = str(ep["label"]).format(drug=drug_title(treatment))
    return ep


def _arm_color(arms: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    return {a.armcd: a.color for a in arms_from_config(arms)}


def _legend_arms(arms: Sequence[Mapping[str, Any]], present: set[str]) -> list[Any]:
    return [
        Line2D([], [], ls="none", marker="o", ms=4, color=a.color, label=a.label)
        for a in arms_from_config(arms)
        if a.armcd in present
    ]


def _subtitle(n: int, what: str, model: str) -> str:
    return f"{what} (N = {n} subjects); model: {model}"


# --------------------------------------------------------------------------------------- GOF
@styled
def plot_gof(
    predictions: pd.DataFrame,
    arms: Sequence[Mapping[str, Any]],
    cmt: int,
    *,
    model: str = "",
    data_cut: str = "",
    treatment: str | None = None,
) -> Figure:
    """DV vs PRED, DV vs IPRED (identity lines), CWRES vs time and vs PRED (zero and +-2 lines)."""
    ep = endpoint_style(cmt, treatment)
    p = predictions[(predictions["CMT"] == cmt)].copy()
    p = p[p["DV"].notna() & (p["BLQ"] == 0)]
    colors = _arm_color(arms)
    p["color"] = p["ARMCD"].map(colors).fillna(GREY)
    fig = new_figure(8.0, 7.2)
    axes = fig.subplots(2, 2)
    log = ep["log"]
    panels = [
        (axes[0, 0], "PRED", "DV", f"Population prediction ({ep['label'].split('(')[-1].rstrip(')')})", "Observed", True),
        (axes[0, 1], "IPRED", "DV", f"Individual prediction ({ep['label'].split('(')[-1].rstrip(')')})", "Observed", True),
        (axes[1, 0], "TIME_D", "CWRES", "Time after first dose (days)", "CWRES", False),
        (axes[1, 1], "PRED", "CWRES", "Population prediction", "CWRES", False),
    ]
    p["TIME_D"] = p["TIME"] / 24.0
    for k, (ax, xc, yc, xl, yl, identity) in enumerate(panels):
        d = p[np.isfinite(p[xc]) & np.isfinite(p[yc])]
        if log and xc in ("PRED", "IPRED"):
            d = d[d[xc] > 0]
        if d.empty:
            no_data(ax)
            continue
        ax.scatter(d[xc], d[yc], s=9, c=d["color"], alpha=0.75, linewidths=0, zorder=3, gid=f"points-{k}")
        if identity:
            _identity_panel(ax, d[xc], d[yc], k, log)
        else:
            _residual_panel(ax, d[xc].to_numpy(), d[yc].to_numpy(), k, log and xc == "PRED")
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.grid(True, which="major")
    n = int(p["ID"].nunique())
    legend = _legend_arms(arms, set(p["ARMCD"].dropna())) + [Line2D([], [], color="#ff7f0e", lw=1.4, label="Running median")]
    add_header_footer(
        fig,
        f"Goodness of fit: {ep['name']} ({ep['short']} model)",
        _subtitle(n, "Observations used in the fit", model),
        [
            "Top: observed versus population (PRED, random effects 0) and individual (IPRED, empirical Bayes "
            "estimates) predictions with the line of identity" + (" (log scales)." if log else ".") + " Bottom: "
            "conditional weighted residuals (CWRES) versus time after the first dose and versus PRED, with "
            "reference lines at 0 and +-2. BLQ records (handled as censored) are not shown.",
        ],
        data_cut,
        legend=legend,
    )
    return fig


def _log_axes(ax: Any, x: bool, y: bool) -> None:
    """Log scale on the x and/or y axis, plain tick labels, no minor labels (on narrow ranges
    matplotlib labels minor ticks too, and they overlap)."""
    if x:
        ax.set_xscale("log")
    if y:
        ax.set_yscale("log")
    if x:
        ax.xaxis.set_major_formatter(_LOG_FMT)
    if y:
        ax.yaxis.set_major_formatter(_LOG_FMT)
    if x:
        ax.xaxis.set_minor_formatter(NullFormatter())
    if y:
        ax.yaxis.set_minor_formatter(NullFormatter())


def _identity_panel(ax: Any, x: pd.Series, y: pd.Series, k: int, log: bool) -> None:
    """The line of identity of an observed-versus-predicted panel of :func:`plot_gof` and its
    limits (log scales if ``log``)."""
    lo = float(min(x.min(), y.min()))
    hi = float(max(x.max(), y.max()))
    if log:
        lo = max(lo, 1e-3)
        _log_axes(ax, True, True)
    ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, zorder=2, gid=f"identity-{k}")
    ax.set_xlim(lo / (1.5 if log else 1.0) if log else 0, hi * 1.1)
    ax.set_ylim(lo / (1.5 if log else 1.0) if log else 0, hi * 1.1)


def running_median(xs: np.ndarray, ys: np.ndarray) -> tuple[list[float], list[float]]:
    """Running median trend of ``ys`` over ``xs`` (sorted): medians of x and y within the
    sextiles of x that hold at least 3 points; nothing for fewer than 8 points.

    >>> running_median(np.arange(24.0), np.arange(24.0) * 2)
    ([1.5, 5.5, 9.5, 13.5, 17.5, 21.5], [3.0, 11.0, 19.0, 27.0, 35.0, 43.0])
    >>> running_median(np.arange(7.0), np.arange(7.0))
    ([], [])
    """
    mids: list[float] = []
    meds: list[float] = []
    if xs.size < 8:
        return mids, meds
    edges = np.unique(np.quantile(xs, np.linspace(0, 1, 7)))
    for a, b in zip(edges[:-1], edges[1:]):
        m = (xs >= a) & (xs <= b)
        if m.sum() >= 3:
            mids.append(float(np.median(xs[m])))
            meds.append(float(np.median(ys[m])))
    return mids, meds


def _residual_panel(ax: Any, x: np.ndarray, y: np.ndarray, k: int, log_x: bool) -> None:
    """Reference lines (0, +-2), symmetric limits and the running median trend of a residual
    panel of :func:`plot_gof`."""
    reference_line(ax, 0.0, None, color="black", ls="-")
    reference_line(ax, 2.0, None)
    reference_line(ax, -2.0, None)
    lim = max(3.0, float(np.nanmax(np.abs(y))) * 1.1)
    ax.set_ylim(-lim, lim)
    if log_x:
        _log_axes(ax, True, False)
    order = np.argsort(x, kind="mergesort")
    mids, meds = running_median(x[order], y[order])
    if len(mids) >= 2:
        ax.plot(mids, meds, color="#ff7f0e", lw=1.4, zorder=4, gid=f"trend-{k}")


# --------------------------------------------------------------------------- individual fits
@styled
def plot_individual_fits(
    observed: pd.DataFrame,
    curves: pd.DataFrame,
    id_map: pd.DataFrame,
    arms: Sequence[Mapping[str, Any]],
    cmt: int,
    dosing: pd.DataFrame | None = None,
    *,
    model: str = "",
    data_cut: str = "",
    treatment: str | None = None,
) -> Figure:
    """One panel per subject: observations, IPRED and PRED curves over time.

    ``observed``: ID, TIME (h), CMT, DV, BLQ, LLOQ; ``curves``: ID, TIME (h), CMT, IPRED,
    PRED; ``dosing``: ID, TIME (h) of the doses (triangles).
    """
    ep = endpoint_style(cmt, treatment)
    colors = _arm_color(arms)
    idm = id_map.copy()
    idm["ID"] = idm["ID"].astype(str)
    labels = short_ids(idm["USUBJID"])
    obs = observed[observed["CMT"] == cmt].copy()
    obs["ID"] = obs["ID"].astype(str)
    cur = curves[curves["CMT"] == cmt].copy()
    cur["ID"] = cur["ID"].astype(str)
    ids = [i for i in idm["ID"] if i in set(cur["ID"])]
    n = len(ids)
    ncol = 3 if n > 4 else max(1, n)
    nrow = max(1, math.ceil(n / ncol))
    fig = new_figure(8.5, 1.9 * nrow + 1.6)
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    for k, sid in enumerate(ids):
        ax = axes[k]
        row = idm[idm["ID"] == sid].iloc[0]
        col = colors.get(row["ARMCD"], GREY)
        c = cur[cur["ID"] == sid].sort_values("TIME")
        d = None if dosing is None else dosing[dosing["ID"].astype(str) == sid]
        _subject_panel(ax, c, obs[obs["ID"] == sid], d, sid, col, ep["log"],
                       f"{labels.get(row['USUBJID'], sid)} ({row['ARMCD']})")
        if k % ncol == 0:
            ax.set_ylabel(ep["label"])
        if k >= n - ncol:
            ax.set_xlabel("Time after first dose (days)")
    if n == 0:
        no_data(axes[0])
    legend = _individual_legend(ep["log"], treatment)
    pred_note = _PRED_NOTES[2 if cmt == 2 else 3]
    add_header_footer(
        fig,
        f"Individual fits: {ep['name']}",
        _subtitle(n, "Subjects in the model fit", model),
        [f"Lines are model predictions on a fine time grid with the subject's actual doses. IPRED: empirical Bayes "
         f"estimates of the subject. {pred_note} Panel titles: subject (arm); colour: arm."],
        data_cut,
        legend=legend,
    )
    return fig


#: What PRED is in :func:`plot_individual_fits`, by CMT (2: PK; otherwise the PD marker).
_PRED_NOTES = {
    2: "PRED: typical PK parameters (random effects 0).",
    3: "PRED: the subject's individual PK with the typical IgG-model parameters (as in the sequential fit); "
    "for a simultaneous fit, typical PK and PD parameters.",
}


def _subject_panel(
    ax: Any, c: pd.DataFrame, o: pd.DataFrame, dosing: pd.DataFrame | None, sid: str, col: str, log: bool, title: str
) -> None:
    """One subject's panel of :func:`plot_individual_fits`: IPRED and PRED curves ``c`` (sorted
    by time), observations ``o`` (BLQ ones at LLOQ/2), doses, the y axis, ``title`` and the time
    axis (at least days 0 to 14)."""
    td = c["TIME"] / 24.0
    ipred, pred = c["IPRED"].astype(float), c["PRED"].astype(float)
    if log:  # no line down to the zero concentration before the first dose
        ipred, pred = ipred.where(ipred > 0), pred.where(pred > 0)
    ax.plot(td, ipred, color=col, lw=1.2, zorder=3, gid=f"ipred-{sid}")
    ax.plot(td, pred, color=GREY, lw=1.0, ls="--", zorder=2, gid=f"pred-{sid}")
    meas = o[(o["BLQ"] == 0) & o["DV"].notna()]
    ax.plot(meas["TIME"] / 24.0, meas["DV"], ls="none", marker="o", ms=3, color=col, zorder=4, gid=f"obs-{sid}")
    blq = o[o["BLQ"] == 1]
    if len(blq):
        ax.plot(blq["TIME"] / 24.0, blq["LLOQ"] / 2.0, ls="none", marker="o", ms=3.5, mfc="none", mec=col, zorder=4,
                gid=f"blq-{sid}")
    if dosing is not None:
        mark_dosing(ax, (dosing["TIME"] / 24.0).tolist())
    if log:
        _log_axes(ax, False, True)
        pos = pd.concat([c["IPRED"], c["PRED"], meas["DV"], blq["LLOQ"] / 2.0]).astype(float)
        pos = pos[pos > 0]
        if len(pos):
            ax.set_ylim(max(float(pos.min()), float(pos.max()) * 1e-4) / 1.5, float(pos.max()) * 1.5)
    else:
        ax.set_ylim(bottom=0)
    ax.set_title(title, loc="left", fontsize=7.5)
    first = float(min(td.min(), 0.0))
    last = float(max(td.max(), 14.0))
    ax.set_xlim(first - 0.03 * (last - first), last + 0.03 * (last - first))
    day_axis(ax, first, last, offset=0.0)


def _individual_legend(log: bool, treatment: str | None) -> list[Any]:
    """Legend of :func:`plot_individual_fits` (BLQ marker on log axes only)."""
    legend = [
        Line2D([], [], color=GREY, ls="none", marker="o", ms=3, label="Observed"),
        Line2D([], [], color=GREY, lw=1.2, label="Individual prediction (IPRED)"),
        Line2D([], [], color=GREY, lw=1.0, ls="--", label="Population prediction (PRED)"),
        Line2D([], [], color="black", ls="none", marker="v", ms=4.5, label=f"{drug_title(treatment)} dose"),
    ]
    if log:
        legend.insert(1, Line2D([], [], color=GREY, ls="none", marker="o", mfc="none", ms=3.5, label="BLQ (at LLOQ/2)"))
    return legend


# ---------------------------------------------------------------------- eta distributions
@styled
def plot_eta(
    individual: pd.DataFrame,
    omegas: Mapping[str, tuple[str, float]],
    arms: Sequence[Mapping[str, Any]],
    *,
    data_cut: str = "",
) -> Figure:
    """Histogram and strip of each random effect's EBEs with the N(0, omega^2) density.

    ``omegas``: eta column (``ETA_CL``) -> (part label, omega^2).
    """
    colors = _arm_color(arms)
    names = [c for c in omegas if c in individual.columns]
    n = len(names)
    ncol = 3 if n > 2 else max(1, n)
    nrow = max(1, math.ceil(n / ncol))
    fig = new_figure(8.0, 2.3 * nrow + 1.5)
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    for k, name in enumerate(names):
        ax = axes[k]
        part, om2 = omegas[name]
        sd = math.sqrt(om2) if om2 > 0 else float("nan")
        d = individual[["ARMCD", name]].dropna()
        vals = d[name].to_numpy(dtype=float)
        _eta_distribution(ax, vals, d["ARMCD"].map(colors).fillna(GREY), sd, name)
        shr = 100.0 * (1.0 - np.std(vals, ddof=1) / sd) if vals.size > 1 and np.isfinite(sd) and sd > 0 else float("nan")
        label = name.replace("ETA_", "")
        ax.set_title(f"{part}: eta({label})", loc="left")
        ax.text(0.98, 0.95, f"omega = {sd:.3g}\nshrinkage {shr:.0f}% (SD, n-1)" if np.isfinite(shr) else f"omega = {sd:.3g}",
                transform=ax.transAxes, ha="right", va="top", fontsize=6.5)
        ax.set_xlabel("Empirical Bayes estimate (log scale)")
        if k % ncol == 0:
            ax.set_ylabel("Density")
    if n == 0:
        no_data(axes[0])
    legend = _legend_arms(arms, set(individual["ARMCD"].dropna())) + [
        Patch(color=LIGHT_GREY, label="Histogram of EBEs"),
        Line2D([], [], color="black", lw=1.0, label="N(0, omega^2)"),
    ]
    add_header_footer(
        fig,
        "Distribution of the random effects (empirical Bayes estimates)",
        f"Subjects in the model fits (N = {len(individual)})",
        ["Histogram and strip (one dot per subject, arm colour) of the conditional modes of each random effect, "
         "against the normal density with the estimated variance. Shrinkage = 1 - SD(EBE)/omega, the SD over "
         "the subjects with n - 1 (NONMEM's ETASHRINKSD): with high shrinkage the EBEs are pulled to 0 and "
         "their spread understates the variability."],
        data_cut,
        legend=legend,
    )
    return fig


def _eta_distribution(ax: Any, vals: np.ndarray, colors: pd.Series, sd: float, name: str) -> None:
    """Histogram, N(0, ``sd``^2) density and strip (dots coloured ``colors``) of one random
    effect's EBEs ``vals`` (a panel of :func:`plot_eta`)."""
    span = max(3.0 * (sd if np.isfinite(sd) else 0.0), float(np.max(np.abs(vals))) * 1.15 if vals.size else 0.1, 0.05)
    bins = np.linspace(-span, span, 13)
    ax.hist(vals, bins=bins, density=True, color=LIGHT_GREY, edgecolor="white", zorder=2, gid=f"hist-{name}")
    if np.isfinite(sd) and sd > 0:
        xs = np.linspace(-span, span, 201)
        ax.plot(xs, np.exp(-0.5 * (xs / sd) ** 2) / (sd * math.sqrt(2 * math.pi)), color="black", lw=1.0, zorder=3,
                gid=f"density-{name}")
    top = ax.get_ylim()[1]
    jitter = np.linspace(-0.02, 0.02, max(len(vals), 1))[: len(vals)] * top
    ax.scatter(vals, np.full(len(vals), -0.06 * top) + jitter, s=12, c=colors, zorder=4,
               clip_on=False, linewidths=0, gid=f"strip-{name}")
    ax.axvline(0.0, color=GREY, lw=0.6, ls=":")
    ax.set_ylim(-0.12 * top, top)


# ----------------------------------------------------------------------------------- VPC
def _ordinal(p: float) -> str:
    v = f"{p:g}"
    if v.endswith(("11", "12", "13")) or "." in v:
        return f"{v}th"
    return v + {"1": "st", "2": "nd", "3": "rd"}.get(v[-1], "th")


def _pcol(p: float) -> str:
    return f"p{int(p):02d}" if float(p).is_integer() else f"p{p:g}"


@styled
def plot_vpc(
    vpc: pd.DataFrame,
    observed: pd.DataFrame,
    *,
    title: str,
    ylabel: str,
    log: bool,
    n_subjects: int,
    dosing_days: Sequence[float] = (),
    data_cut: str = "",
    reference: Sequence[float] = (),
    levels: Sequence[float] = (5.0, 50.0, 95.0),
    percentile_reason: str = "",
    stratify_on: str | None = None,
) -> Figure:
    """VPC, one panel per stratum (``vpc["stratum"]``, in table order): observed percentiles
    ``levels`` (lines) against the 95% prediction intervals of the simulated percentiles
    (bands), by nominal time; observations (prediction-corrected when the table is) as grey
    dots: pass them corrected, :func:`fcrnpipe.pkpd.vpc.corrected_observations`).
    ``percentile_reason``: why these percentiles (printed in the footnote)."""
    levels = tuple(float(p) for p in levels)
    mid = levels[len(levels) // 2]
    strata = list(pd.unique(vpc["stratum"])) if "stratum" in vpc.columns and len(vpc) else ["All subjects"]
    corrected = bool(vpc["prediction_corrected"].iloc[0]) if "prediction_corrected" in vpc.columns and len(vpc) else False
    n_panels = len(strata)
    fig = new_figure(8.0 if n_panels <= 2 else 3.6 * n_panels, 5.0)
    axes = np.atleast_1d(fig.subplots(1, n_panels, sharey=True, squeeze=False)).ravel()
    band = {p: ("#fc9272" if p == mid else "#9ecae1") for p in levels}
    obs_all = observed.copy()
    if "STRATUM" not in obs_all.columns:
        obs_all["STRATUM"] = strata[0]
    last = 28.0
    for k, (ax, stratum) in enumerate(zip(axes, strata)):
        v = vpc[vpc["stratum"] == stratum] if "stratum" in vpc.columns else vpc
        v = v.sort_values("time_day")
        x = v["time_day"].to_numpy(dtype=float)
        obs = obs_all[obs_all["STRATUM"].astype(str) == str(stratum)]
        meas = obs[(obs["BLQ"] == 0) & obs["DV"].notna()]
        _vpc_panel(ax, v, meas, k, levels, band)
        _vpc_axes(ax, v, corrected, reference, dosing_days, log)
        if x.size:
            last = max(last, float(np.nanmax(x)))
        if len(meas):
            last = max(last, float(meas["TIME"].max()) / 24.0)
        n_sub = int(obs["ID"].nunique()) if "ID" in obs.columns else 0
        if n_panels > 1 or stratify_on is not None:
            ax.set_title(f"{stratum} (N = {n_sub})", loc="left", gid=f"stratum-{k}")
        ax.set_xlabel("Nominal time after first dose (days)")
        if k == 0:
            ax.set_ylabel(ylabel)
        ax.grid(True, which="major", axis="y")
        if v.empty:
            no_data(ax)
    for ax in axes:
        ax.set_xlim(-2.0, last + max(2.0, 0.03 * last))
        day_axis(ax, 0.0, last, offset=0.0)
    n_rep = int(vpc["n_replicates"].iloc[0]) if len(vpc) else 0
    add_header_footer(
        fig,
        title,
        f"Subjects in the model fit (N = {n_subjects}); {n_rep} simulated replicates of the study design",
        _vpc_footnote(levels, corrected, stratify_on, percentile_reason),
        data_cut,
        legend=_vpc_legend(levels, band),
        legend_ncols=3,
    )
    return fig


def _vpc_panel(ax: Any, v: pd.DataFrame, meas: pd.DataFrame, k: int, levels: tuple[float, ...],
               band: dict[float, str]) -> None:
    """The observations ``meas`` (grey dots), prediction intervals (bands) and observed
    percentiles (lines) of the ``k``-th panel of :func:`plot_vpc` (``v``: its rows, by time)."""
    mid = levels[len(levels) // 2]
    x = v["time_day"].to_numpy(dtype=float)
    ax.scatter(meas["TIME"] / 24.0, meas["DV"], s=6, color=GREY, alpha=0.45, linewidths=0, zorder=2,
               gid="observations" if k == 0 else f"observations-{k}")
    for p in levels:
        c = _pcol(p)
        lo, hi = v[f"sim_{c}_lo"].to_numpy(float), v[f"sim_{c}_hi"].to_numpy(float)
        ok = np.isfinite(lo) & np.isfinite(hi)
        tag = c[1:] if k == 0 else f"{c[1:]}-{k}"
        ax.fill_between(x, np.where(ok, lo, np.nan), np.where(ok, hi, np.nan), color=band[p], alpha=0.55, lw=0,
                        zorder=1, gid=f"pi-{tag}")
        ax.plot(x, v[f"obs_{c}"], color="black" if p == mid else "#08306b", lw=1.4 if p == mid else 1.0,
                ls="-" if p == mid else "--", marker="o", ms=2.5, zorder=4, gid=f"observed-{c}" + ("" if k == 0 else f"-{k}"))


def _vpc_axes(ax: Any, v: pd.DataFrame, corrected: bool, reference: Sequence[float], dosing_days: Sequence[float],
              log: bool) -> None:
    """Reference lines (LLOQ, ``reference``), dose marks and y scale of a panel of :func:`plot_vpc`."""
    if "lloq" in v.columns and v["lloq"].notna().any():
        reference_line(ax, float(v["lloq"].dropna().min()), "LLOQ" + (" (corrected)" if corrected else ""))
    for r in reference:
        reference_line(ax, float(r), f"{r:g}")
    mark_dosing(ax, [float(d) - 1.0 for d in dosing_days])
    if log:
        _log_axes(ax, False, True)
    else:
        ax.set_ylim(bottom=0)


def _vpc_legend(levels: tuple[float, ...], band: dict[float, str]) -> list[Any]:
    """Legend of :func:`plot_vpc`: the middle percentile, the outer ones (if any), observations."""
    mid = levels[len(levels) // 2]
    outer = [p for p in levels if p != mid]
    outer_txt = "/".join(_ordinal(p) for p in outer)
    mid_txt = "median" if mid == 50.0 else f"{_ordinal(mid)} percentile"
    legend = [
        Line2D([], [], color="black", lw=1.4, marker="o", ms=2.5, label=f"Observed {mid_txt}"),
        Patch(color=band[mid], alpha=0.55, label=f"95% PI of simulated {mid_txt}"),
    ]
    if outer:
        legend[1:1] = [Line2D([], [], color="#08306b", lw=1.0, ls="--", marker="o", ms=2.5,
                              label=f"Observed {outer_txt} percentile{'s' if len(outer) > 1 else ''}")]
        legend.append(Patch(color="#9ecae1", alpha=0.55,
                            label=f"95% PI of simulated {outer_txt} percentile{'s' if len(outer) > 1 else ''}"))
    legend.append(Line2D([], [], color=GREY, ls="none", marker="o", ms=3, alpha=0.6, label="Observations"))
    return legend


def _vpc_footnote(levels: tuple[float, ...], corrected: bool, stratify_on: str | None,
                  percentile_reason: str) -> list[str]:
    """Footnote paragraphs of :func:`plot_vpc`."""
    strata_txt = (
        f"Panels: strata by {stratify_on}{' (planned dose of the arm)' if str(stratify_on).upper() == 'DOSE' else ''}. "
        if stratify_on is not None else ""
    )
    pc_txt = (
        "Prediction-corrected (Bergstrand et al. 2011): observed and simulated values multiplied by the bin's median "
        "population prediction over the record's own population prediction (lower bound 0). " if corrected else ""
    )
    return [f"{strata_txt}{pc_txt}The {'/'.join(_ordinal(p) for p in levels)} percentiles of the observations per "
            "nominal-time bin (lines) against the 95% prediction intervals (2.5th-97.5th percentiles over replicates) "
            "of the same percentiles in studies simulated from the final model (new subjects, residual error, actual "
            "doses and sampling times). Values below the LLOQ count as censored; a percentile below the LLOQ is not "
            "drawn.",
            *([f"Percentiles {'/'.join(f'{p:g}' for p in levels)}: {percentile_reason}."] if percentile_reason else [])]


# ------------------------------------------------------------------------------ regimens
REGIMEN_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _regimen_bands(ax: Any, p: pd.DataFrame, col: str, k: int) -> None:
    """Between-subject interval, uncertainty band of the median (if given) and median of one
    regimen's profile ``p`` (by day; the ``k``-th panel of :func:`plot_regimens`)."""
    ax.fill_between(p["day"], p["pct_p05"], p["pct_p95"], color=col, alpha=0.13, lw=0, zorder=1, gid=f"pi-{k}")
    if "pct_median_lo" in p.columns:
        ax.fill_between(p["day"], p["pct_median_lo"], p["pct_median_hi"], color=col, alpha=0.45, lw=0, zorder=2,
                        gid=f"uband-{k}")
    ax.plot(p["day"], p["pct_p05"], color=col, lw=0.6, ls=":", zorder=2, gid=f"pi-lo-{k}")
    ax.plot(p["day"], p["pct_p95"], color=col, lw=0.6, ls=":", zorder=2, gid=f"pi-hi-{k}")
    ax.plot(p["day"], p["pct_median"], color=col, lw=1.6, zorder=3, gid=f"median-{k}")


@styled
def plot_regimens(
    profiles: pd.DataFrame,
    table: pd.DataFrame,
    regimens: Sequence[Mapping[str, Any]],
    *,
    data_cut: str = "",
) -> Figure:
    """One panel per regimen: the median IgG % of baseline (median of the simulated trials'
    medians) with its uncertainty band across trials (parameter uncertainty) and the
    between-subject 90% prediction interval, with dose marks."""
    names = [str(r["name"]) for r in regimens]
    n = len(names)
    fig = new_figure(8.5, 1.9 * n + 2.6)
    axes = np.atleast_1d(fig.subplots(n, 1, sharex=True, sharey=True, squeeze=False)).ravel()
    last = float(profiles["day"].max()) if len(profiles) else 28.0
    for k, name in enumerate(names):
        ax = axes[k]
        col = REGIMEN_COLORS[k % len(REGIMEN_COLORS)]
        _regimen_bands(ax, profiles[profiles["regimen"] == name].sort_values("day"), col, k)
        days = sorted({float(d) - 1.0 for b in regimens[k]["doses"] for d in b["days"]})
        ax.plot(days, [1.0] * len(days), transform=ax.get_xaxis_transform(), ls="none", marker="v", ms=4.5, color=col,
                clip_on=False, zorder=5, gid=f"doses-{k}")
        for lvl, txt in ((50.0, "50% reduction"), (30.0, "70% reduction"), (80.0, "80% of baseline")):
            reference_line(ax, lvl, txt if k == 0 else None, side="right")
        ax.set_title(name, loc="left", gid=f"regimen-{k}")
        ax.set_ylim(0, 110)
        ax.set_ylabel("IgG (% of baseline)")
        ax.grid(True, axis="y")
        ax.set_xlim(-2.0, last + 2.0)
        day_axis(ax, 0.0, last, offset=0.0)
    axes[-1].set_xlabel("Time after first dose (days)")
    n_trials = int(table["n_trials"].iloc[0]) if len(table) and "n_trials" in table.columns else 1
    per_trial = int(table["subjects_per_trial"].iloc[0]) if len(table) and "subjects_per_trial" in table.columns else 0
    unc = str(table["uncertainty"].iloc[0]) if len(table) else ""
    legend = [
        Line2D([], [], color=GREY, lw=1.6, label="Median (median of the trial medians)"),
        Patch(color=GREY, alpha=0.55, label=f"Uncertainty of the median: 5th-95th percentiles across {n_trials} trials"),
        Patch(color=GREY, alpha=0.2, label="Between-subject 90% prediction interval (5th-95th percentiles of subjects)"),
        Line2D([], [], color=GREY, ls="none", marker="v", ms=4.5, label="Dose"),
    ]
    add_header_footer(
        fig,
        "Simulated total IgG (% of baseline) by dosing regimen",
        [f"{n_trials} simulated trials x {per_trial} virtual subjects per regimen; one population parameter set per "
         "trial, random effects per subject", f"Population parameter sets: {unc}"],
        ["Dark band: uncertainty of the median -- 5th-95th percentiles across simulated trials of each trial's median "
         "(parameter uncertainty). Light band (dotted edges): between-subject variability -- the 5th and 95th "
         "percentiles over the subjects of a trial, median over trials. True IgG (no residual error) as % of each "
         "subject's baseline, including the fixed IVMP suppression of IgG synthesis; the same virtual subjects "
         "receive every regimen. Metrics (time to 50%/70% reduction, nadir, recovery to 80%) in "
         "pkpd/regimen_simulation.csv."],
        data_cut,
        legend=legend,
        legend_ncols=2,
    )
    return fig
