"""Safety figures: albumin and cholesterol over time, adverse-event swimmer plot."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from fcrnpipe.labels import drug_name, drug_title
from fcrnpipe.errors import UserError
from fcrnpipe.stats.demographics import ANALYSIS_SET, analysis_set_rows
from fcrnpipe.stats.descriptive import POPULATION_LABELS
from fcrnpipe.stats.safety import LAB_FIGURE_ENDPOINTS, ae_scale, lab_figure_count_rows, lab_figure_subjects
from fcrnpipe.figures.common import (
    ard_arm_counts,
    ard_visit_summary,
    display_ard,
    flag_yes,
    nominal_day,
    population,
    population_subtitle,
    require_columns,
    restrict,
    sentence_case,
    short_ids,
    study_day,
    summarise,
    to_float,
    visit_days,
)
from fcrnpipe.figures.style import (
    GRADE_COLORS,
    GREY,
    LIGHT_GREY,
    Arm,
    add_header_footer,
    arms_from_config,
    day_axis,
    errorbar,
    mark_dosing,
    new_figure,
    no_data,
    reference_line,
    styled,
)

ArmsArg = Sequence[Mapping[str, Any] | Arm]


def ctcae_threshold(ctcae: pd.DataFrame, paramcd: str, grade: int) -> float:
    """Numeric threshold of ``grade`` for ``paramcd`` in ``resources/ctcae.csv``."""
    require_columns(ctcae, ["PARAMCD", "grade", "threshold"], "ctcae.csv")
    rows = ctcae[(ctcae["PARAMCD"].astype(str) == paramcd) & (to_float(ctcae["grade"]) == grade)]
    value = to_float(rows["threshold"]).dropna()
    if value.empty:
        raise UserError(f"ctcae.csv: no numeric grade-{grade} threshold for {paramcd}")
    return float(value.iloc[0])


# ----------------------------------------------------------------------------- albumin/lipids
LIPID_PANELS: tuple[tuple[str, str], ...] = (
    ("ALB", "Albumin"),
    ("CHOL", "Total cholesterol"),
    ("LDL", "LDL cholesterol"),
)


def _lab_records(
    adlb: pd.DataFrame, pop: pd.DataFrame, codes: Sequence[str], visits: Sequence[Mapping[str, Any]] | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The population's records of the ``codes`` (ADY, AVAL and PCHG as floats), and their
    ANL01FL records at an analysis visit with the visit's nominal day (DAY)."""
    lb = restrict(adlb[adlb["PARAMCD"].astype(str).isin(codes)], pop)
    lb["ADY"] = to_float(lb["ADY"])
    lb["AVAL"] = to_float(lb["AVAL"])
    lb["PCHG"] = to_float(lb["PCHG"]) if "PCHG" in lb.columns else np.nan
    days = visit_days(visits)
    anl = lb[flag_yes(lb["ANL01FL"])].copy()
    anl["DAY"] = nominal_day(anl["AVISITN"], days)
    return lb, anl[anl["DAY"].notna()]


def _arm_shifts(arm_list: Sequence[Arm], step: float = 0.8) -> dict[str, float]:
    """Horizontal offset of each arm's mean ± SD symbols (days, centred on zero)."""
    n = len(arm_list)
    return dict(zip([a.armcd for a in arm_list], (np.arange(n) - (n - 1) / 2) * step * 2))


def _draw_individual_values(ax: Any, rows: pd.DataFrame, arm: Arm, code: str) -> None:
    """Thin lines: each subject's values of one arm at the actual study day."""
    for usubjid, ind in rows[rows["ARMCD"] == arm.armcd].groupby("USUBJID", sort=True):
        ind = ind[ind["AVAL"].notna()].sort_values("ADY", kind="mergesort")
        ax.plot(
            ind["ADY"],
            ind["AVAL"],
            color=arm.color,
            lw=0.5,
            alpha=0.25,
            zorder=1,
            gid=f"individual-{code}-{usubjid}",
        )


def _draw_arm_mean_sd(ax: Any, s: pd.DataFrame, arm: Arm, shift: float, gid: str) -> None:
    """One arm's mean ± SD by nominal day (``s``: ARMCD, DAY, mean, sd), shifted by ``shift`` days."""
    sa = s[s["ARMCD"] == arm.armcd].sort_values("DAY")
    if len(sa):
        errorbar(
            ax,
            sa["DAY"] + shift,
            sa["mean"],
            sa["sd"].fillna(0.0),
            gid,
            color=arm.color,
            lw=1.6,
            marker="o",
            ms=3.8,
            mec="white",
            mew=0.5,
            elinewidth=0.9,
            zorder=3,
        )


def _albumin_threshold_line(ax: Any, threshold: float, unit: str) -> None:
    """The CTCAE grade-2 hypoalbuminaemia line, the y range extended to show it."""
    reference_line(ax, threshold, f"CTCAE grade 2 (<{threshold:g} {unit or 'g/L'})", color="#a50f15", side="right")
    lo, hi = ax.get_ylim()
    ax.set_ylim(min(lo, threshold - 0.08 * (hi - min(lo, threshold))), hi)


def _lab_panel_summary(
    ard: pd.DataFrame | None,
    anl: pd.DataFrame,
    value: str,
    code: str,
    population_flag: str,
    visits: Sequence[Mapping[str, Any]] | None,
) -> pd.DataFrame:
    """Mean and SD of ``value`` by arm and nominal day: the ARD's (lab part display rows) when
    given, else computed from the analysis records ``anl`` of ``code``."""
    if ard is not None:
        endpoint = LAB_FIGURE_ENDPOINTS[value].format(code)
        return ard_visit_summary(ard, endpoint, POPULATION_LABELS[population_flag], visits)
    return summarise(anl, ["ARMCD", "DAY"], value)


def _draw_lab_panel(
    ax: Any,
    rows: pd.DataFrame,
    s: pd.DataFrame,
    arm_list: Sequence[Arm],
    shift: Mapping[str, float],
    code: str,
    value: str,
) -> None:
    """One panel's data: individual lines (absolute values only) and each arm's mean ± SD."""
    for arm in arm_list:
        if value == "AVAL":
            _draw_individual_values(ax, rows, arm, code)
        _draw_arm_mean_sd(ax, s, arm, shift[arm.armcd], f"mean-{code}-{value.lower()}-{arm.armcd}")


def _lab_panel_axes(
    ax: Any, value: str, name: str, ylabel: str, empty: bool, dosing_days: Sequence[float], xs: np.ndarray
) -> None:
    """One panel's zero line (% change row), no-data note, dose marks, study-day axis over the
    days ``xs``, labels and grid; the top row's panels carry the parameter's name as title."""
    if value == "PCHG":
        reference_line(ax, 0.0, None, ls="-", color="#bbbbbb")
    if empty:
        no_data(ax)
    mark_dosing(ax, dosing_days)
    day_axis(ax, float(np.nanmin(xs)), float(np.nanmax(xs)))
    ax.set_ylabel(ylabel)
    ax.grid(axis="y")
    if value == "AVAL":
        ax.set_title(name, loc="left")
    else:
        ax.set_xlabel("Study day")


def _lab_legend(arm_list: Sequence[Arm], counts: Mapping[str, int], treatment: str | None) -> list[Any]:
    """Legend entries: each arm's mean ± SD with its N, individual subjects, the doses."""
    handles: list[Any] = [
        Line2D([], [], color=a.color, lw=1.6, marker="o", ms=3.8, label=f"{a.label} (n = {counts[a.armcd]}), mean ± SD")
        for a in arm_list
    ]
    handles += [
        Line2D([], [], color=GREY, lw=0.5, alpha=0.5, label="Individual subjects"),
        Line2D([], [], color="black", ls="none", marker="v", ms=4.5, label=f"{drug_title(treatment)} dose"),
    ]
    return handles


def _lab_notes(albumin_threshold: float) -> list[str]:
    """The albumin/cholesterol figure's footnote."""
    return [
        "Top: absolute values (thin lines: individual values at the actual study day). Bottom: percent change "
        "from baseline. Symbols with bars: arm mean ± SD of the analysis record of each visit (ANL01FL) at the "
        "nominal visit day, arms shifted by ±0.8 day for legibility. Dashed red line: CTCAE v5.0 grade-2 "
        f"hypoalbuminaemia threshold ({albumin_threshold:g} g/L).",
    ]


@styled
def plot_albumin_cholesterol(
    adlb: pd.DataFrame,
    adsl: pd.DataFrame,
    arms: ArmsArg,
    dosing_days: Sequence[float] = (),
    visits: Sequence[Mapping[str, Any]] | None = None,
    *,
    albumin_threshold: float = 30.0,
    data_cut: str = "",
    population_flag: str = "SAFFL",
    params: Sequence[tuple[str, str]] = LIPID_PANELS,
    treatment: str | None = None,
    ard: pd.DataFrame | None = None,
) -> Figure:
    """Albumin, total and LDL cholesterol: absolute values (top) and % change from baseline (bottom).

    Mean ± SD by arm of the ANL01FL record at each analysis visit (from the ARD when ``ard``, the
    lab part's display rows, is given), at the visit's nominal day
    (arms shifted by a fixed ±0.8 day so the bars do not overlap); thin lines in the top row are
    the individual values at the actual study day. Albumin panel: CTCAE grade-2 threshold.
    The subjects per arm (subtitle, legend) are the ARD's ``ALB/CHOL/LDL: subjects with a result``
    (lab part); without ``ard``, computed by the stats stage's function first.
    """
    arm_list = arms_from_config(arms)
    require_columns(adlb, ["USUBJID", "PARAMCD", "ADY", "AVAL", "AVISITN", "ANL01FL"], "ADLB")
    pop = population(adsl, arm_list, population_flag)
    lb, anl = _lab_records(adlb, pop, [p for p, _ in params], visits)
    codes = [p for p, _ in params]
    counts, total = ard_arm_counts(
        display_ard(ard, lambda: lab_figure_count_rows(adsl, adlb, [a.armcd for a in arm_list], codes, population_flag)),
        lab_figure_subjects(codes), POPULATION_LABELS[population_flag], arm_list,
    )  # fmt: skip
    shift = _arm_shifts(arm_list)
    xs = np.concatenate(
        [lb["ADY"].to_numpy(dtype=float), anl["DAY"].to_numpy(dtype=float), np.asarray(dosing_days, dtype=float)]
        + [[0.0, 1.0]]
    )
    fig = new_figure(10.0, 6.6)
    axes = fig.subplots(2, len(params), sharex=True, squeeze=False)
    for j, (code, name) in enumerate(params):
        rows = lb[lb["PARAMCD"].astype(str) == code]
        unit = str(rows["AVALU"].dropna().iloc[0]) if "AVALU" in rows.columns and rows["AVALU"].notna().any() else ""
        a = anl[anl["PARAMCD"].astype(str) == code]
        for i, (value, label) in enumerate(
            (("AVAL", f"{name} ({unit})" if unit else name), ("PCHG", f"{name}, % change from baseline"))
        ):
            ax = axes[i, j]
            s = _lab_panel_summary(ard, a, value, code, population_flag, visits)
            _draw_lab_panel(ax, rows, s, arm_list, shift, code, value)
            if i == 0 and code == "ALB":
                _albumin_threshold_line(ax, albumin_threshold, unit)
            _lab_panel_axes(ax, value, name, label, rows.empty, dosing_days, xs)
    handles = _lab_legend(arm_list, counts, treatment)
    add_header_footer(
        fig,
        "Serum albumin, total cholesterol and LDL cholesterol over time",
        population_subtitle(population_flag, arm_list, counts, total=total),
        _lab_notes(albumin_threshold),
        data_cut,
        legend=handles,
        legend_ncols=min(4, len(handles)),
    )
    return fig


# ------------------------------------------------------------------------------------ swimmer
def _pack_lanes(intervals: Sequence[tuple[float, float]]) -> list[int]:
    """Greedy lane per interval (intervals in display order); overlapping ones get new lanes."""
    ends: list[float] = []
    lanes = []
    for start, end in intervals:
        for k, e in enumerate(ends):
            if start > e + 0.5:
                ends[k] = end
                lanes.append(k)
                break
        else:
            ends.append(end)
            lanes.append(len(ends) - 1)
    return lanes


def _swimmer_subjects(pop: pd.DataFrame) -> pd.DataFrame:
    """USUBJID, ARMCD, END_DAY (last contact, at least day 1), EOT_DAY/EOT_REASON and
    EOS_DAY/EOS_REASON (set only when treatment/study was discontinued) of the population."""
    first = pop["TRTSDT"]
    end_dates = pd.concat(
        [pd.to_datetime(pop[c], errors="coerce") for c in ("LSTALVDT", "EOSDT", "TRTEDT") if c in pop.columns], axis=1
    )
    subj = pop[["USUBJID", "ARMCD"]].copy()
    subj["END_DAY"] = study_day(end_dates.max(axis=1), first) if end_dates.shape[1] else 1.0
    subj["END_DAY"] = subj["END_DAY"].fillna(1.0).clip(lower=1.0)
    for status, date, reason, out in (("EOTSTT", "EOTDT", "DCTREAS", "EOT"), ("EOSSTT", "EOSDT", "DCSREAS", "EOS")):
        disc = pop[status].astype(str).str.upper().eq("DISCONTINUED") if status in pop.columns else False
        day = study_day(pop[date], first) if date in pop.columns else pd.Series(np.nan, index=pop.index)
        subj[f"{out}_DAY"] = day.where(disc)
        subj[f"{out}_REASON"] = pop[reason].where(disc) if reason in pop.columns else None
    return subj


def _swimmer_aes(
    adae: pd.DataFrame, pop: pd.DataFrame, subj: pd.DataFrame, teae_only: bool, label_days_per_char: float
) -> pd.DataFrame:
    """The population's AEs (see swimmer_data) in subject, onset and AESEQ order, with lanes."""
    require_columns(adae, ["USUBJID", "AEDECOD", "ASTDY"], "ADAE")
    ae = restrict(adae, pop)
    if teae_only and "TRTEMFL" in ae.columns:
        ae = ae[flag_yes(ae["TRTEMFL"])]
    ae = ae.merge(subj[["USUBJID", "END_DAY"]], on="USUBJID", how="left")
    ae["START"] = to_float(ae["ASTDY"])
    ae["END"] = to_float(ae["AENDY"]) if "AENDY" in ae.columns else np.nan
    ae["ONGOING"] = ae["END"].isna()
    ae["END"] = ae["END"].fillna(ae["END_DAY"]).clip(lower=ae["START"])
    scale = ae_scale(adae)
    ae["GRADE"] = to_float(ae[scale.variable]) if scale.variable in ae.columns else np.nan
    ae["SERIOUS"] = flag_yes(ae["AESER"]) if "AESER" in ae.columns else False
    ae = ae[ae["START"].notna()]
    seq = to_float(ae["AESEQ"]) if "AESEQ" in ae.columns else pd.Series(0.0, index=ae.index)
    ae = ae.assign(_seq=seq).sort_values(["USUBJID", "START", "_seq"], kind="mergesort").drop(columns="_seq")
    ae["LABEL"] = [
        sentence_case(str(t)) + (" (serious)" if ser else "") for t, ser in zip(ae["AEDECOD"], ae["SERIOUS"])
    ]
    ae["LANE"] = 0
    for usubjid, grp in ae.groupby("USUBJID", sort=False):
        ends = grp["END"] + 1.0 + (2.0 if label_days_per_char else 0.0) + grp["LABEL"].str.len() * label_days_per_char
        ae.loc[grp.index, "LANE"] = _pack_lanes(list(zip(grp["START"], ends)))
    return ae.reset_index(drop=True)


def _swimmer_doses(adex: pd.DataFrame, pop: pd.DataFrame, treatment: str) -> pd.DataFrame:
    """USUBJID and ADY of the population's ``treatment`` administrations, sorted."""
    require_columns(adex, ["USUBJID", "ADY"], "ADEX")
    ex = restrict(adex, pop)
    if "EXTRT" in ex.columns:
        ex = ex[ex["EXTRT"].astype(str).str.upper() == treatment.upper()]
    ex = ex.assign(ADY=to_float(ex["ADY"]))[["USUBJID", "ADY"]].dropna().sort_values(["USUBJID", "ADY"])
    return ex.reset_index(drop=True)


def swimmer_data(
    adsl: pd.DataFrame,
    adae: pd.DataFrame,
    adex: pd.DataFrame,
    arms: Sequence[Arm],
    treatment: str,
    population_flag: str = "SAFFL",
    teae_only: bool = True,
    label_days_per_char: float = 0.0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Subjects, AEs and doses for the swimmer plot, in study days.

    Subjects (arm then USUBJID order): USUBJID, ARMCD, END_DAY (last contact), EOT_DAY/EOT_REASON
    and EOS_DAY/EOS_REASON (set only when treatment/study was discontinued). AEs: START, END
    (AENDY, or END_DAY when ongoing), ONGOING, GRADE, SERIOUS, LABEL and LANE: events of a subject
    whose bars (plus ``label_days_per_char`` days per label character) would overlap get
    different lanes. Doses: USUBJID, ADY of the ``treatment`` administrations."""
    require_columns(adsl, ["USUBJID", "ARMCD", "TRTSDT"], "ADSL")
    pop = population(adsl, arms, population_flag)
    subj = _swimmer_subjects(pop)
    ae = _swimmer_aes(adae, pop, subj, teae_only, label_days_per_char)
    return subj.reset_index(drop=True), ae, _swimmer_doses(adex, pop, treatment)


#: Height of one AE lane and the gap between subjects (y units of the swimmer plot).
SWIMMER_LANE_H, SWIMMER_GAP = 0.42, 0.35


def _swimmer_layout(
    subj: pd.DataFrame, lanes: pd.Series, arm_list: Sequence[Arm]
) -> tuple[dict[str, float], list[tuple[Arm, float]], float]:
    """y layout from the top: a header row per arm, then each subject's block of lanes. Returns
    the centre of each subject's block, each arm's header position and the total height."""
    y = 0.0
    ypos: dict[str, float] = {}
    headers: list[tuple[Arm, float]] = []
    for arm in arm_list:
        ids = subj.loc[subj["ARMCD"] == arm.armcd, "USUBJID"]
        headers.append((arm, y + 0.35))
        y += 0.8
        for u in ids:
            height = lanes[u] * SWIMMER_LANE_H + SWIMMER_GAP
            ypos[u] = y + height / 2
            y += height
    return ypos, headers, y


def _draw_subject_bars(
    ax: Any, subj: pd.DataFrame, ex: pd.DataFrame, ypos: Mapping[str, float], lanes: pd.Series
) -> None:
    """Each subject's bar (first dose to last contact), doses (▼), treatment discontinuation
    (×) and study withdrawal (■)."""
    lane_h = SWIMMER_LANE_H
    for row in subj.itertuples(index=False):
        top = ypos[row.USUBJID] - lanes[row.USUBJID] * lane_h / 2 - 0.08
        ax.add_patch(
            Rectangle(
                (1.0, top),
                max(row.END_DAY, 1.0),
                lanes[row.USUBJID] * lane_h + 0.16,
                facecolor=LIGHT_GREY,
                edgecolor="none",
                zorder=1,
                gid=f"subject-{row.USUBJID}",
            )
        )
        d = ex[ex["USUBJID"] == row.USUBJID]["ADY"]
        if len(d):
            ax.plot(
                d, [top] * len(d), ls="none", marker="v", ms=4.0, color="black", zorder=4, gid=f"doses-{row.USUBJID}"
            )
        if not math.isnan(row.EOT_DAY):
            ax.plot(
                [row.EOT_DAY],
                [ypos[row.USUBJID]],
                ls="none",
                marker="X",
                ms=7,
                color="black",
                mec="white",
                mew=0.5,
                zorder=5,
                gid=f"eot-{row.USUBJID}",
            )
        if not math.isnan(row.EOS_DAY):
            ax.plot(
                [row.EOS_DAY],
                [ypos[row.USUBJID]],
                ls="none",
                marker="s",
                ms=5.5,
                color="black",
                zorder=5,
                gid=f"eos-{row.USUBJID}",
            )


def _draw_ae_bars(ax: Any, ae: pd.DataFrame, ypos: Mapping[str, float], lanes: pd.Series) -> None:
    """Each AE in its lane, coloured by grade (serious: outlined), an arrow if ongoing, labelled
    with its preferred term."""
    lane_h = SWIMMER_LANE_H
    for row in ae.itertuples(index=True):
        top = ypos[row.USUBJID] - lanes[row.USUBJID] * lane_h / 2 + row.LANE * lane_h
        grade = int(row.GRADE) if not math.isnan(row.GRADE) else 0
        color = GRADE_COLORS.get(grade, "#bdbdbd")
        width = max(row.END - row.START + 1.0, 1.0)
        ax.add_patch(
            Rectangle(
                (row.START, top + 0.04),
                width,
                lane_h - 0.08,
                facecolor=color,
                edgecolor="black" if row.SERIOUS else "none",
                lw=1.0,
                zorder=2,
                gid=f"ae-{row.USUBJID}-{row.Index}",
            )
        )
        if row.ONGOING:
            ax.plot(
                [row.START + width + 0.6],
                [top + lane_h / 2],
                ls="none",
                marker=">",
                ms=4.5,
                color="black",
                zorder=3,
                gid=f"ae-ongoing-{row.USUBJID}-{row.Index}",
            )
        ax.text(
            row.START + width + (2.2 if row.ONGOING else 0.8),
            top + lane_h / 2,
            row.LABEL,
            va="center",
            ha="left",
            fontsize=5.8,
            color="#222222",
            zorder=6,
            clip_on=False,
        )


def _swimmer_axes(
    ax: Any,
    subj: pd.DataFrame,
    headers: Sequence[tuple[Arm, float]],
    ypos: Mapping[str, float],
    labels: Mapping[str, str],
    arm_list: Sequence[Arm],
    total: float,
    xmax: float,
    treatment: str,
) -> None:
    """Arm header rows, subject tick labels in their arm's colour, limits, the study-day axis."""
    for arm, yh in headers:
        ax.text(
            -0.01,
            yh,
            arm.label,
            transform=ax.get_yaxis_transform(),
            ha="right",
            va="center",
            fontsize=7.5,
            fontweight="bold",
            color=arm.color,
        )
        ax.axhline(yh + 0.35, color="#bbbbbb", lw=0.5, zorder=0)
    arm_color = {a.armcd: a.color for a in arm_list}
    ax.set_yticks([ypos[u] for u in subj["USUBJID"]], [labels[u] for u in subj["USUBJID"]])
    for tick, armcd in zip(ax.get_yticklabels(), subj["ARMCD"]):
        tick.set_color(arm_color[armcd])
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(total + 0.1, 0.0)
    ax.set_xlim(-2.0, xmax * 1.12 + 5)
    day_axis(ax, 1.0, xmax)
    ax.axvline(1.0, color=GREY, lw=0.5, ls=":", zorder=0)
    ax.spines["left"].set_visible(False)
    ax.set_xlabel(f"Study day (day 1 = first {drug_name(treatment)} dose)")
    ax.set_ylabel("Subject")
    ax.grid(axis="x")
    if subj.empty:
        no_data(ax)


def _swimmer_legend(scale: Any, treatment: str) -> list[Any]:
    """Legend entries: the grades (or severities) present in the scale, then the symbols."""
    handles: list[Any] = [
        Patch(facecolor=GRADE_COLORS[g], label=scale.level_label(g)) for g in sorted(GRADE_COLORS) if g in scale.levels
    ]
    handles += [
        Patch(facecolor=LIGHT_GREY, label="On study"),
        Line2D([], [], ls="none", marker="v", color="black", ms=4.0, label=f"{drug_title(treatment)} dose"),
        Line2D([], [], ls="none", marker=">", color="black", ms=4.5, label="AE ongoing at last contact"),
        Line2D([], [], ls="none", marker="X", color="black", ms=6, label="Treatment discontinued"),
        Line2D([], [], ls="none", marker="s", color="black", ms=5, label="Withdrew from study"),
        Patch(facecolor="white", edgecolor="black", label="Serious AE (outline)"),
    ]
    return handles


def _swimmer_notes(subj: pd.DataFrame, labels: Mapping[str, str], scale: Any) -> list[str]:
    """The footnote: what the bars show, then each discontinuation and withdrawal with its day
    and reason."""
    notes = [
        "Treatment-emergent adverse events (TRTEMFL) from onset (ASTDY) to resolution (AENDY), coloured by "
        + ("CTCAE grade" if scale.name == "grade" else "severity (AESEV; the AE export has no CTCAE grade)")
        + " and labelled with the MedDRA preferred term; overlapping events of a subject are stacked. "
        "Bars run from the first dose to the last contact (last known alive date or end of study)."
    ]
    reasons = []
    for row in subj.itertuples(index=False):
        for what, day, reason in (
            ("treatment discontinued", row.EOT_DAY, row.EOT_REASON),
            ("withdrew from study", row.EOS_DAY, row.EOS_REASON),
        ):
            if not math.isnan(day):
                why = sentence_case(str(reason)).lower() if isinstance(reason, str) and reason else "reason not given"
                reasons.append(f"{labels[row.USUBJID]} {what} on day {int(day)} ({why})")
    if reasons:
        notes.append("; ".join(reasons) + ".")
    return notes


@styled
def plot_ae_swimmer(
    adae: pd.DataFrame,
    adsl: pd.DataFrame,
    adex: pd.DataFrame,
    arms: ArmsArg,
    *,
    treatment: str = "BATOCLIMAB",
    data_cut: str = "",
    population_flag: str = "SAFFL",
    ard: pd.DataFrame | None = None,
) -> Figure:
    """Adverse-event swimmer plot: one bar per subject from the first dose to the last contact.

    On each bar: the study drug's doses (ADEX), treatment-emergent AEs from ASTDY to AENDY coloured by
    CTCAE grade and labelled with the preferred term (overlapping AEs in stacked lanes; an arrow
    marks an AE ongoing at the last contact), treatment discontinuation (×) and study withdrawal
    (■). Subjects ordered by arm (config order) then USUBJID, arms under a header row.
    The subjects per arm and N of the subtitle are the ARD's ``Analysis set`` rows of the
    population (disposition part's display rows); without ``ard``, computed by the stats stage's
    function first.
    """
    arm_list = arms_from_config(arms)
    counts, n_set = ard_arm_counts(
        display_ard(ard, lambda: analysis_set_rows(adsl, [a.armcd for a in arm_list], (population_flag,))),
        ANALYSIS_SET, POPULATION_LABELS[population_flag], arm_list,
    )  # fmt: skip
    subj, ae, ex = swimmer_data(adsl, adae, adex, arm_list, treatment, population_flag)
    # second pass: lanes that keep the preferred-term labels clear of the next bar
    fig_w = 9.5
    xmax = max(float(subj["END_DAY"].max()) if len(subj) else 30.0, float(ae["END"].max()) if len(ae) else 0.0)
    days_per_inch = (xmax * 1.12 + 7.0) / (fig_w - 1.9)
    subj, ae, ex = swimmer_data(
        adsl, adae, adex, arm_list, treatment, population_flag, label_days_per_char=days_per_inch * 5.8 * 0.6 / 72
    )
    labels = short_ids(subj["USUBJID"])
    lanes = ae.groupby("USUBJID")["LANE"].max().add(1).reindex(subj["USUBJID"]).fillna(1).astype(int)
    ypos, headers, total = _swimmer_layout(subj, lanes, arm_list)

    fig = new_figure(fig_w, 2.6 + 0.30 * total)
    ax = fig.subplots()
    _draw_subject_bars(ax, subj, ex, ypos, lanes)
    _draw_ae_bars(ax, ae, ypos, lanes)
    _swimmer_axes(ax, subj, headers, ypos, labels, arm_list, total, xmax, treatment)
    scale = ae_scale(adae)
    add_header_footer(
        fig,
        "Adverse events over time by subject (swimmer plot)",
        population_subtitle(population_flag, arm_list, counts, total=n_set),
        _swimmer_notes(subj, labels, scale),
        data_cut,
        legend=_swimmer_legend(scale, treatment),
        legend_ncols=6,
    )
    return fig
