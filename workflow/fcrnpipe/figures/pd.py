"""Pharmacodynamic and efficacy figures: total IgG, AQP4-IgG titre, EDSS."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, MultipleLocator, NullLocator

from fcrnpipe.labels import drug_name, drug_title
from fcrnpipe.stats.descriptive import OVERALL, POPULATION_LABELS
from fcrnpipe.stats.efficacy import (
    AQP4_FIGURE_SUBJECTS,
    EDSS_PAIRED,
    EDSS_PAIRED_SUBJECTS,
    IGG_FIGURE_SUBJECTS,
    IGG_PCT_BY_VISIT,
    aqp4_figure_rows,
    aqp4_plotted,
    edss_pair_count_rows,
    edss_paired_rows,
    edss_pairs,
    igg_figure_rows,
)
from fcrnpipe.figures.common import (
    ard_arm_counts,
    ard_count_n,
    ard_visit_summary,
    display_ard,
    dodge,
    flag_yes,
    nominal_day,
    population,
    population_subtitle,
    require_columns,
    restrict,
    short_ids,
    summarise,
    to_float,
    visit_days,
)
from fcrnpipe.figures.style import (
    GREY,
    SUBJECT_MARKERS,
    Arm,
    add_header_footer,
    arms_from_config,
    as_overall_arm,
    day_axis,
    errorbar,
    mark_dosing,
    new_figure,
    no_data,
    reference_line,
    styled,
)

ArmsArg = Sequence[Mapping[str, Any] | Arm]


def _xlim(ax: Any, days: Sequence[float], dosing_days: Sequence[float]) -> None:
    """x limits covering the data and the doses (and day 0), ticks on nominal visit days."""
    values = [float(d) for d in list(days) + list(dosing_days) if not math.isnan(float(d))]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    pad = max(2.0, 0.03 * (hi - lo))
    ax.set_xlim(min(lo, 0.0) - pad, hi + pad)
    day_axis(ax, min(lo, 0.0), hi)


# ------------------------------------------------------------------------------------- IgG
def _igg_pct_records(lb: pd.DataFrame) -> pd.DataFrame:
    """The records with PCT (``100 + PCHG``, or ``100·AVAL/BASE`` when PCHG is empty) and a
    study day (ADY as float)."""
    if "PCHG" in lb.columns and to_float(lb["PCHG"]).notna().any():
        lb["PCT"] = 100.0 + to_float(lb["PCHG"])
    else:
        require_columns(lb, ["BASE"], "ADLB")
        lb["PCT"] = 100.0 * to_float(lb["AVAL"]) / to_float(lb["BASE"])
    lb["ADY"] = to_float(lb["ADY"])
    return lb[lb["PCT"].notna() & lb["ADY"].notna()]


def _igg_summary(
    ard: pd.DataFrame | None,
    lb: pd.DataFrame,
    visits: Sequence[Mapping[str, Any]] | None,
    population_flag: str,
    level: float,
) -> pd.DataFrame:
    """Mean % of baseline with CI and n by arm and nominal day: the ARD's (display rows of the
    stats stage) when given, else of the ANL01FL records ``lb`` at visits AVISITN >= 0."""
    if ard is not None:
        return ard_visit_summary(ard, IGG_PCT_BY_VISIT, POPULATION_LABELS[population_flag], visits)
    days = visit_days(visits)
    anl = lb[flag_yes(lb["ANL01FL"]) & (to_float(lb["AVISITN"]) >= 0)].copy()
    anl["DAY"] = nominal_day(anl["AVISITN"], days)
    return summarise(anl[anl["DAY"].notna()], ["ARMCD", "DAY"], "PCT", level)


def _draw_igg_arm_mean(ax: Any, s: pd.DataFrame, arm: Arm) -> None:
    """One arm's mean with CI by nominal day (``s``: DAY, mean, ci_low, ci_high, n) and the
    number of subjects per visit along the bottom."""
    if not len(s):
        return
    yerr = np.vstack([s["mean"] - s["ci_low"], s["ci_high"] - s["mean"]])
    errorbar(
        ax,
        s["DAY"],
        s["mean"],
        np.nan_to_num(yerr, nan=0.0),
        f"ci-{arm.armcd}",
        color=arm.color,
        lw=0,
        elinewidth=1.0,
        zorder=3,
    )
    ax.plot(
        s["DAY"],
        s["mean"],
        color=arm.color,
        lw=2.0,
        marker="o",
        ms=4.5,
        mec="white",
        mew=0.6,
        zorder=4,
        gid=f"mean-{arm.armcd}",
    )
    for day, n in zip(s["DAY"], s["n"]):
        ax.text(
            day,
            0.015,
            str(int(n)),
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=6,
            color=GREY,
        )


def _igg_panel_axes(
    ax: Any, arm: Arm, n: int, last: bool, dosing_days: Sequence[float], days: Sequence[float], ymax: float
) -> None:
    """One arm's panel: lines at 100%, 50% and 30% of baseline (labelled on the ``last`` panel),
    dose marks, x range over ``days`` and the doses, the arm (with its ``n``) as title, y axis 0
    to ``ymax`` by 20."""
    reference_line(ax, 100.0, None, ls="-", color="#bbbbbb")
    reference_line(ax, 50.0, "50% of baseline\n(50% reduction)" if last else None, side="outside")
    reference_line(ax, 30.0, "30% of baseline\n(70% reduction)" if last else None, side="outside")
    mark_dosing(ax, dosing_days)
    _xlim(ax, days, dosing_days)
    ax.set_title(f"{arm.label} (n = {n})", color=arm.color, loc="left")
    ax.set_xlabel("Study day")
    ax.yaxis.set_major_locator(MultipleLocator(20))
    ax.set_ylim(0, ymax)
    ax.grid(axis="y")


def _igg_legend(level: float, treatment: str | None) -> list[Line2D]:
    """Legend entries: individuals, the arm mean with its CI, the doses."""
    return [
        Line2D([], [], color=GREY, lw=0.7, alpha=0.6, label="Individual subjects"),
        Line2D([], [], color=GREY, lw=2.0, marker="o", ms=4.5, label=f"Arm mean ({level:.0%} CI, t)"),
        Line2D([], [], color="black", ls="none", marker="v", ms=4.5, label=f"{drug_title(treatment)} dose"),
    ]


def _igg_notes(treatment: str | None) -> list[str]:
    """The IgG figure's footnote."""
    return [
        "Individual values at the actual study day; means and confidence intervals of the analysis "
        "record of each visit (ANL01FL) at the nominal visit day; numbers along the bottom: subjects "
        "per visit; confidence intervals reaching beyond the axis are cut at its limits. Baseline: last value "
        f"on or before the first dose. Day 1 = first {drug_name(treatment)} dose.",
    ]


@styled
def plot_igg_pct_baseline(
    adlb: pd.DataFrame,
    adsl: pd.DataFrame,
    arms: ArmsArg,
    dosing_days: Sequence[float],
    visits: Sequence[Mapping[str, Any]] | None = None,
    *,
    data_cut: str = "",
    paramcd: str = "IGG",
    population_flag: str = "PDFL",
    level: float = 0.95,
    treatment: str | None = None,
    ard: pd.DataFrame | None = None,
) -> Figure:
    """Total IgG as % of baseline over study day, one panel per arm.

    Thin lines: each subject's ``100 + PCHG`` (or ``100·AVAL/BASE``) at its actual study day
    ADY. Thick line: arm mean with the t-based ``level`` CI of the ANL01FL records at each
    post-baseline analysis visit (AVISITN >= 0), drawn at the visit's nominal day
    (``visits`` from config; 7·AVISITN + 1 without it), with the number of subjects per visit
    along the bottom. Reference lines at 50% and 30% of baseline; triangles mark the doses.
    The subjects per arm (subtitle, panel titles) are the ARD's ``IGG: subjects with a result``
    (PD part); without ``ard``, computed by the stats stage's function first.
    """
    arm_list = arms_from_config(arms)
    require_columns(adlb, ["USUBJID", "PARAMCD", "ADY", "AVAL", "AVISITN", "ANL01FL"], "ADLB")
    pop = population(adsl, arm_list, population_flag)
    lb = _igg_pct_records(restrict(adlb[adlb["PARAMCD"].astype(str) == paramcd], pop))
    summary = _igg_summary(ard, lb, visits, population_flag, level)
    counts, total = ard_arm_counts(
        display_ard(ard, lambda: igg_figure_rows(adsl, adlb, [a.armcd for a in arm_list], population_flag)),
        IGG_FIGURE_SUBJECTS, POPULATION_LABELS[population_flag], arm_list,
    )  # fmt: skip

    fig = new_figure(3.0 + 3.2 * len(arm_list), 4.6)
    axes = fig.subplots(1, len(arm_list), sharey=True, squeeze=False)[0]
    ymax = max(120.0, float(np.nanmax(lb["PCT"])) + 5 if len(lb) else 120.0)
    for ax, arm in zip(axes, arm_list):
        sub = lb[lb["ARMCD"] == arm.armcd]
        for usubjid, rows in sub.groupby("USUBJID", sort=True):
            rows = rows.sort_values("ADY", kind="mergesort")
            ax.plot(
                rows["ADY"], rows["PCT"], color=arm.color, lw=0.7, alpha=0.45, zorder=2, gid=f"individual-{usubjid}"
            )
        _draw_igg_arm_mean(ax, summary[summary["ARMCD"] == arm.armcd].sort_values("DAY"), arm)
        if sub.empty:
            no_data(ax)
        _igg_panel_axes(ax, arm, counts[arm.armcd], arm is arm_list[-1], dosing_days, list(sub["ADY"]), ymax)
    axes[0].set_ylabel("Total IgG (% of baseline)")
    add_header_footer(
        fig,
        "Total IgG, percent of baseline over time",
        population_subtitle(population_flag, arm_list, counts, total=total),
        _igg_notes(treatment),
        data_cut,
        legend=_igg_legend(level, treatment),
        legend_ncols=3,
    )
    return fig


# ------------------------------------------------------------------------------------- AQP4
#: Dilution ladder of the AQP4-IgG cell-based assay (half-log steps).
DILUTIONS: tuple[int, ...] = (10, 32, 100, 320, 1000, 3200, 10000)
#: y position of NEGATIVE results: one half-log step below the lowest dilution.
NEGATIVE_Y = 10.0 / math.sqrt(10.0)


def _draw_aqp4_subjects(
    ax: Any,
    lb: pd.DataFrame,
    subjects: pd.DataFrame,
    colors: Mapping[str, str],
    labels: Mapping[str, str],
    offsets: np.ndarray,
) -> list[Line2D]:
    """One line per subject (its arm's colour, its own marker, offset vertically by the factor
    ``offsets[i]``); returns the lines, in subject order, for the legend."""
    handles: list[Line2D] = []
    for i, row in enumerate(subjects.itertuples(index=False)):
        rows = lb[lb["USUBJID"] == row.USUBJID].sort_values("ADY", kind="mergesort")
        marker = SUBJECT_MARKERS[i % len(SUBJECT_MARKERS)]
        (line,) = ax.plot(
            rows["ADY"],
            rows["Y"] * offsets[i],
            color=colors[row.ARMCD],
            lw=1.0,
            marker=marker,
            ms=4.5,
            mec="white",
            mew=0.5,
            label=labels[row.USUBJID],
            gid=f"subject-{row.USUBJID}",
        )
        handles.append(line)
    return handles


def _titre_axis(ax: Any, y: pd.Series) -> None:
    """Log y axis with the dilution ladder (up to 1:1000, or the first dilution at or above the
    largest titre ``y``) as ticks, the 'Negative' row below 1:10 and a grid line per dilution."""
    ymax = float(y.max()) if len(y) else 0.0
    upper = min([d for d in DILUTIONS if d >= ymax / 1.05] or [DILUTIONS[-1]])
    ladder = [d for d in DILUTIONS if d <= max(1000, upper)]
    ax.set_yscale("log")
    ax.set_ylim(NEGATIVE_Y / 1.8, ladder[-1] * 1.8)
    ax.yaxis.set_major_locator(FixedLocator([NEGATIVE_Y, *ladder]))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_yticklabels(["Negative\n(<1:10)"] + [f"1:{d}" for d in ladder])
    ax.axhline(math.sqrt(NEGATIVE_Y * 10.0), color=GREY, lw=0.6, ls=":", zorder=0)
    for d in ladder:
        ax.axhline(d, color="#e5e5e5", lw=0.5, zorder=0)


def _aqp4_legend(
    ax: Any, handles: Sequence[Line2D], subjects: pd.DataFrame, arm_list: Sequence[Arm], treatment: str | None
) -> None:
    """Legend right of the axes: the subjects under a bold header per arm, then the doses."""
    legend_handles: list[Any] = []
    for arm in arm_list:
        arm_handles = [h for h, r in zip(handles, subjects.itertuples(index=False)) if r.ARMCD == arm.armcd]
        if arm_handles:
            legend_handles.append(Line2D([], [], ls="none", label=f"{arm.label}:"))
            legend_handles.extend(arm_handles)
    legend_handles.append(Line2D([], [], color="black", ls="none", marker="v", ms=4.5, label=f"{drug_title(treatment)} dose"))
    leg = ax.legend(handles=legend_handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="Subject")
    for text in leg.get_texts():
        if text.get_text().endswith(":"):
            text.set_fontweight("bold")


def _aqp4_notes(treatment: str | None) -> list[str]:
    """The AQP4-IgG titre figure's footnote."""
    return [
        "Serum AQP4-IgG, cell-based assay at dilutions 1:10, 1:32, 1:100, 1:320, 1:1000; positive if "
        "reactive at 1:10. Negative results (below 1:10) are drawn on the 'Negative' row. Lines are offset "
        "vertically by a fixed small amount per subject so that equal titres do not hide each other. "
        f"Day 1 = first {drug_name(treatment)} dose.",
    ]


@styled
def plot_aqp4_titre(
    adlb: pd.DataFrame,
    adsl: pd.DataFrame,
    arms: ArmsArg,
    dosing_days: Sequence[float] = (),
    *,
    data_cut: str = "",
    paramcd: str = "AQP4AB",
    population_flag: str = "PDFL",
    treatment: str | None = None,
    ard: pd.DataFrame | None = None,
) -> Figure:
    """AQP4-IgG titre over study day, one line per subject coloured by arm.

    y: reciprocal titre (AVAL) on a log axis with the dilution ladder 1:10 ... as ticks;
    results with UNDETFL = "Y" (NEGATIVE, below the lowest dilution) on a "Negative" row below
    1:10. Subjects get distinct markers and a small deterministic vertical offset (±0.1 decade at
    most) so that equal titres of several subjects stay visible. The subjects per arm (N) are
    read from ``ard`` (the PD part's display rows ``AQP4AB: subjects with a result``); without
    one, computed by the stats stage's function first.
    """
    arm_list = arms_from_config(arms)
    require_columns(adlb, ["USUBJID", "PARAMCD", "ADY", "AVAL"], "ADLB")
    pop = population(adsl, arm_list, population_flag)
    lb = restrict(adlb[adlb["PARAMCD"].astype(str) == paramcd], pop)
    lb = lb[aqp4_plotted(lb)].copy()
    lb["ADY"] = to_float(lb["ADY"])
    negative = flag_yes(lb["UNDETFL"]) if "UNDETFL" in lb.columns else pd.Series(False, index=lb.index)
    lb["Y"] = np.where(negative, NEGATIVE_Y, to_float(lb["AVAL"]))
    subjects = pop[pop["USUBJID"].isin(lb["USUBJID"])]
    counts, total = ard_arm_counts(
        display_ard(ard, lambda: aqp4_figure_rows(adsl, adlb, [a.armcd for a in arm_list], population_flag)),
        AQP4_FIGURE_SUBJECTS, POPULATION_LABELS[population_flag], arm_list,
    )  # fmt: skip
    colors = {a.armcd: a.color for a in arm_list}
    labels = short_ids(subjects["USUBJID"])
    offsets = 10 ** dodge(len(subjects), min(0.03, 0.2 / max(1, len(subjects) - 1)))

    fig = new_figure(8.0, 5.0)
    ax = fig.subplots()
    handles = _draw_aqp4_subjects(ax, lb, subjects, colors, labels, offsets)
    _titre_axis(ax, lb["Y"])
    mark_dosing(ax, dosing_days)
    _xlim(ax, list(lb["ADY"]), dosing_days)
    if lb.empty:
        no_data(ax)
    ax.set_xlabel("Study day")
    ax.set_ylabel("AQP4-IgG titre (cell-based assay, end-point dilution)")
    _aqp4_legend(ax, handles, subjects, arm_list, treatment)
    add_header_footer(
        fig,
        "AQP4-IgG titre over time by subject",
        population_subtitle(population_flag, arm_list, counts, " with at least one AQP4-IgG result", total),
        _aqp4_notes(treatment),
        data_cut,
    )
    return fig


# ------------------------------------------------------------------------------------- EDSS
def _edss_legend() -> list[Line2D]:
    """The paired EDSS figure's legend entries (new artists for each figure)."""
    return [
        Line2D([], [], color=GREY, lw=0.8, marker="o", ms=4.0, label="Subject (baseline to follow-up)"),
        Line2D([], [], color=GREY, marker="D", ms=6, mec="black", mew=0.6, ls="none", label="Mean ± SD"),
    ]


def _edss_notes(visit_name: str, missing: int) -> list[str]:
    """The paired EDSS figure's footnote; ``missing``: subjects of the analysis set without both
    assessments."""
    notes = [
        f"EDSS at baseline (last assessment on or before the first dose) and at {visit_name} (analysis "
        "record of the visit, ANL01FL). Points of one arm are spread horizontally by fixed offsets so that "
        "equal scores stay visible; numbers beside the diamonds: mean (SD).",
    ]
    if missing:
        notes.append(f"{missing} subject(s) of the analysis set without both assessments are not shown.")
    return notes


def _edss_ard_summary(ard: pd.DataFrame, population_flag: str) -> dict[tuple[str, str], float]:
    """The paired display's estimates by (arm, statistic) from the ARD."""
    sel = ard[(ard["endpoint"] == EDSS_PAIRED) & (ard["population"] == POPULATION_LABELS[population_flag])]
    sel = sel[sel["component"] == "estimate"]
    return {(a, s): float(v) for a, s, v in zip(sel["arm"], sel["statistic"], sel["value"])}


def _edss_visit_name(adedss: pd.DataFrame, primary_visit: int) -> str:
    """The primary visit's AVISIT in title case (the first in sort order), else ``Week <n>``."""
    if "AVISIT" in adedss.columns:
        names = adedss.loc[to_float(adedss["AVISITN"]) == float(primary_visit), "AVISIT"].dropna().astype(str)
        if len(names):
            return sorted(names)[0].title()
    return f"Week {primary_visit}"


def _edss_groups(
    pairs: pd.DataFrame, arm_list: Sequence[Arm], overall: Mapping[str, Any] | Arm | None
) -> list[tuple[Arm, pd.DataFrame, bool]]:
    """(group, its pairs, individual lines drawn): one per arm, then the overall group when
    there are several arms."""
    groups: list[tuple[Arm, pd.DataFrame, bool]] = [(arm, pairs[pairs["ARMCD"] == arm.armcd], True) for arm in arm_list]
    if len(arm_list) > 1:
        groups.append((as_overall_arm(overall), pairs, False))
    return groups


def _draw_edss_mean_sd(
    ax: Any,
    arm: Arm,
    df: pd.DataFrame,
    individual: bool,
    x0: float,
    x1: float,
    summary: Mapping[tuple[str, str], float],
) -> None:
    """The group's mean ± SD at baseline and follow-up (diamonds with bars and their numbers;
    from ``summary``, the ARD's) and, for the overall group, the dashed line joining the means."""
    for x, col, side in ((x0, "BASELINE", -1), (x1, "FOLLOWUP", 1)):
        if df[col].isna().all():
            continue
        key = arm.armcd if individual else OVERALL
        mean = summary[(key, f"{col.lower()}_mean")]
        sd = summary.get((key, f"{col.lower()}_sd"), math.nan)
        sd = 0.0 if math.isnan(sd) else sd
        xm = x + side * (0.42 if individual else 0.0)
        errorbar(
            ax,
            [xm],
            [mean],
            [[sd], [sd]],
            f"meansd-{arm.armcd}-{col.lower()}",
            color=arm.color,
            marker="D",
            ms=6,
            mec="black",
            mew=0.6,
            elinewidth=1.2,
            zorder=4,
        )
        ax.text(
            xm + side * 0.12,
            mean,
            f"{mean:.1f}\n({sd:.1f})",
            ha="left" if side > 0 else "right",
            va="center",
            fontsize=6.5,
            color=arm.color,
        )
    if not individual and len(df):
        ax.plot(
            [x0, x1],
            [summary[(OVERALL, "baseline_mean")], summary[(OVERALL, "followup_mean")]],
            color=arm.color,
            lw=1.2,
            ls="--",
            zorder=3,
            gid=f"overall-{arm.armcd}",
        )


def _draw_edss_group(
    ax: Any,
    g: int,
    group: tuple[Arm, pd.DataFrame, bool],
    summary: Mapping[tuple[str, str], float],
    visit_name: str,
    n: int,
) -> tuple[list[float], list[str]]:
    """Group ``g`` at x = 3g (baseline) and 3g + 1 (follow-up): each subject's pair spread by
    fixed offsets (arms only), the mean ± SD and the group's label; returns its x ticks and labels
    (with the group's ``n`` subjects)."""
    arm, df, individual = group
    x0, x1 = 3.0 * g, 3.0 * g + 1.0
    df = df.sort_values(["BASELINE", "FOLLOWUP", "USUBJID"], kind="mergesort")
    if individual:
        off = dodge(len(df), min(0.07, 0.5 / max(1, len(df))))
        for dx, row in zip(off, df.itertuples(index=False)):
            ax.plot(
                [x0 + dx, x1 + dx],
                [row.BASELINE, row.FOLLOWUP],
                color=arm.color,
                lw=0.8,
                alpha=0.7,
                marker="o",
                ms=4.0,
                mec="white",
                mew=0.4,
                zorder=3,
                gid=f"pair-{row.USUBJID}",
            )
    _draw_edss_mean_sd(ax, arm, df, individual, x0, x1, summary)
    ax.text(
        (x0 + x1) / 2,
        1.0,
        arm.label,
        transform=ax.get_xaxis_transform(),
        ha="center",
        va="bottom",
        fontweight="bold",
        color=arm.color,
        fontsize=8,
    )
    return [x0, x1], [f"Baseline\n(n = {n})", f"{visit_name}\n(n = {n})"]


@styled
def plot_edss_paired(
    adedss: pd.DataFrame,
    adsl: pd.DataFrame,
    arms: ArmsArg,
    primary_visit: int,
    *,
    overall: Mapping[str, Any] | Arm | None = None,
    data_cut: str = "",
    population_flag: str = "SAFFL",
    ard: pd.DataFrame | None = None,
) -> Figure:
    """EDSS at baseline and at the primary visit, paired per subject, by arm.

    Each subject's two values are joined by a line; subjects of one arm are spread horizontally
    by fixed offsets ordered by (baseline, follow-up, USUBJID) so tied scores stay visible.
    Diamonds with bars: arm mean ± SD (and the overall group when there are several arms); from
    the ARD when ``ard`` (the EDSS part's display rows ``EDSS: paired baseline and primary
    visit``) is given. The subjects per arm (subtitle, axis labels) and those of the analysis set
    without both values (footnote) are the ARD's ``EDSS: subjects with baseline and primary
    visit`` (EDSS part); without ``ard``, both are computed by the stats stage's functions first.
    """
    arm_list = arms_from_config(arms)
    armcds = [a.armcd for a in arm_list]
    summary = _edss_ard_summary(
        display_ard(ard, lambda: edss_paired_rows(adsl, adedss, armcds, primary_visit, flag=population_flag)),
        population_flag,
    )
    pop = population(adsl, arm_list, population_flag)
    pairs = edss_pairs(restrict(adedss, pop), primary_visit).merge(pop[["USUBJID", "ARMCD"]], on="USUBJID")
    visit_name = _edss_visit_name(adedss, primary_visit)
    count_ard = display_ard(
        ard, lambda: edss_pair_count_rows(adsl, adedss, armcds, primary_visit, population_flag)
    )
    population_label = POPULATION_LABELS[population_flag]
    counts, total = ard_arm_counts(count_ard, EDSS_PAIRED_SUBJECTS, population_label, arm_list)
    missing = ard_count_n(count_ard, EDSS_PAIRED_SUBJECTS, population_label) - total
    groups = _edss_groups(pairs, arm_list, overall)
    group_n = [counts[a.armcd] for a in arm_list] + [total] * (len(groups) - len(arm_list))

    fig = new_figure(2.2 + 2.1 * len(groups), 4.8)
    ax = fig.subplots()
    ticks, ticklabels = [], []
    for g, group in enumerate(groups):
        t, labels = _draw_edss_group(ax, g, group, summary, visit_name, group_n[g])
        ticks += t
        ticklabels += labels
    if pairs.empty:
        no_data(ax)
    ax.set_xticks(ticks, ticklabels)
    ax.set_xlim(-0.9, 3.0 * (len(groups) - 1) + 1.9)
    top = max(6.0, float(pairs[["BASELINE", "FOLLOWUP"]].max().max()) + 1.0) if len(pairs) else 10.0
    ax.set_ylim(0, min(10.0, math.ceil(top)))
    ax.yaxis.set_major_locator(MultipleLocator(1.0))
    ax.yaxis.set_minor_locator(MultipleLocator(0.5))
    ax.grid(axis="y", which="both")
    ax.set_ylabel("EDSS score (0–10)")
    add_header_footer(
        fig,
        f"EDSS at baseline and {visit_name}, paired by subject",
        population_subtitle(population_flag, arm_list, counts, f" with EDSS at baseline and {visit_name}", total),
        _edss_notes(visit_name, missing),
        data_cut,
        legend=_edss_legend(),
        legend_ncols=2,
    )
    return fig
