"""Pharmacokinetic figures: concentration-time profiles of the study drug."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from fcrnpipe.figures.common import (
    ard_arm_counts,
    population,
    population_subtitle,
    restrict,
    to_float,
)
from fcrnpipe.stats.ard import DISPLAY, ard_from_endpoints
from fcrnpipe.stats.descriptive import POPULATION_LABELS
from fcrnpipe.stats.pk import (
    PK_GEOMETRIC_MEAN,
    PK_SUBJECTS,
    geometric_means,  # noqa: F401 (re-exported by fcrnpipe.figures)
    nominal_day,
    pk_display_part,
    prepare_concentrations,  # noqa: F401 (re-exported)
)
from fcrnpipe.figures.style import (
    GREY,
    Arm,
    add_header_footer,
    arms_from_config,
    day_axis,
    mark_dosing,
    new_figure,
    no_data,
    reference_line,
    styled,
)

ArmsArg = Sequence[Mapping[str, Any] | Arm]


def ard_geometric_means(ard: pd.DataFrame, population: str) -> pd.DataFrame:
    """The ARD's geometric means by arm and nominal time (display rows ``PK concentration:
    geometric mean by nominal time``, :mod:`fcrnpipe.stats.pk`) as columns ARMCD, NOMDAY (days),
    gmean."""
    sel = ard[
        (ard["endpoint"] == PK_GEOMETRIC_MEAN)
        & (ard["population"] == population)
        & (ard["statistic"] == "geometric_mean")
        & (ard["component"] == "estimate")
    ]
    return pd.DataFrame(
        {
            "ARMCD": sel["arm"].astype(str).to_numpy(),
            "NOMDAY": [nominal_day(v) for v in sel["visit"]],
            "gmean": sel["value"].astype(float).to_numpy(),
        }
    )


def _draw_pk_arm(ax: Any, sub: pd.DataFrame, gm: pd.DataFrame, arm: Arm, scale: str) -> None:
    """One arm on one panel: each subject's measurable concentrations (thin line), the BLQ
    samples at LLOQ/2 (open symbols) and the arm's geometric means by nominal time (``gm``)."""
    for usubjid, rows in sub.groupby("USUBJID", sort=True):
        rows = rows.sort_values("DAY", kind="mergesort")
        meas = rows[rows["CONC"].notna()]
        ax.plot(
            meas["DAY"],
            meas["CONC"],
            color=arm.color,
            lw=0.6,
            alpha=0.45,
            marker="o",
            ms=1.8,
            zorder=2,
            gid=f"individual-{scale}-{usubjid}",
        )
    blq = sub[sub["BLQ"] & sub["PLOT_BLQ"].notna()]
    if len(blq):
        ax.plot(
            blq["DAY"],
            blq["PLOT_BLQ"],
            ls="none",
            marker="o",
            ms=3.5,
            mfc="none",
            mec=arm.color,
            mew=0.7,
            zorder=3,
            gid=f"blq-{scale}-{arm.armcd}",
        )
    g = gm[(gm["ARMCD"] == arm.armcd) & gm["gmean"].notna()].sort_values("NOMDAY")
    if len(g):
        ax.plot(
            g["NOMDAY"],
            g["gmean"],
            color=arm.color,
            lw=2.0,
            marker="s",
            ms=4.0,
            mec="white",
            mew=0.5,
            zorder=4,
            gid=f"gmean-{scale}-{arm.armcd}",
        )


def _log_scale_panel(ax: Any, pc: pd.DataFrame) -> None:
    """The semi-logarithmic panel: log y axis with plain tick labels, the LLOQ line and a y range
    of half the smallest to twice the largest plotted concentration."""
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    lloq = to_float(pc["LLOQ"]).dropna() if "LLOQ" in pc.columns else pd.Series(dtype=float)
    if len(lloq):
        reference_line(ax, float(lloq.min()), "LLOQ", side="right")
    positive = pd.concat([pc["CONC"], pc["PLOT_BLQ"]]).dropna()
    if len(positive):
        ax.set_ylim(float(positive.min()) / 2.0, float(positive.max()) * 2.0)
    ax.set_title("Semi-logarithmic scale", loc="left")


def _pk_panel_axes(ax: Any, scale: str, pc: pd.DataFrame, dosing_days: Sequence[float], ylabel: str) -> None:
    """One panel's dose marks (study day 1 = time 0), labels, y scale and title, no-data note and
    time axis."""
    mark_dosing(ax, [float(d) - 1.0 for d in dosing_days])  # study day 1 = time 0
    ax.set_xlabel("Time after first dose (days)")
    ax.set_ylabel(ylabel)
    if scale == "log":
        _log_scale_panel(ax, pc)
    else:
        ax.set_ylim(bottom=0)
        ax.set_title("Linear scale", loc="left")
    if pc.empty:
        no_data(ax)
    last = float(pc["DAY"].max()) if len(pc) else 28.0
    ax.set_xlim(min(-2.0, float(pc["DAY"].min()) - 2 if len(pc) else -2.0), last + max(2.0, 0.03 * last))
    day_axis(ax, 0.0, last, offset=0.0)


def _pk_legend(arm_list: Sequence[Arm], counts: Mapping[str, int], analyte: str) -> list[Any]:
    """Legend entries: each arm's geometric mean with its N, individuals, BLQ samples, doses."""
    handles: list[Any] = [
        Line2D([], [], color=a.color, lw=2.0, marker="s", ms=4.0, label=f"{a.label} (n = {counts[a.armcd]})")
        for a in arm_list
    ]
    handles += [
        Line2D([], [], color=GREY, lw=0.6, marker="o", ms=1.8, alpha=0.7, label="Individual subjects"),
        Line2D([], [], color=GREY, ls="none", marker="o", ms=3.5, mfc="none", label="BLQ (plotted at LLOQ/2)"),
        Line2D([], [], color="black", ls="none", marker="v", ms=4.5, label=f"{analyte} dose"),
    ]
    return handles


def _pk_notes() -> list[str]:
    """The concentration-time figure's footnote."""
    return [
        "Thin lines: individual measurable concentrations at the actual time after the first dose. Thick "
        "lines: geometric mean per arm at each nominal time, shown where at least half of the samples were "
        "measurable (BLQ samples excluded, not imputed). Open symbols: concentrations below the lower limit "
        "of quantification (BLQ) drawn at LLOQ/2 on both panels; they are not joined by the lines.",
    ]


@styled
def plot_pk_conc_time(
    adpc: pd.DataFrame,
    adsl: pd.DataFrame,
    arms: ArmsArg,
    dosing_days: Sequence[float] = (),
    *,
    data_cut: str = "",
    population_flag: str = "PKFL",
    analyte: str = "Batoclimab",
    ard: pd.DataFrame | None = None,
) -> Figure:
    """Serum concentration versus time after the first dose, linear and log panels, by arm.

    Thin lines: individual measurable concentrations at the actual time (AFRLT, days). Open
    symbols: BLQ samples at LLOQ/2 (both panels; not joined by the lines). Thick lines: arm
    geometric mean by nominal time (NFRLT) where at least half of the samples were measurable.
    The geometric means and the subjects per arm are read from ``ard`` (the PK part's display
    rows, :mod:`fcrnpipe.stats.pk`); without one, computed by the stats stage's function first.
    """
    arm_list = arms_from_config(arms)
    pop = population(adsl, arm_list, population_flag)
    pc = restrict(prepare_concentrations(adpc), pop)
    if ard is None:
        ard = ard_from_endpoints(pk_display_part(adsl, adpc, [a.armcd for a in arm_list], population_flag), DISPLAY)
    label = POPULATION_LABELS[population_flag]
    gm = ard_geometric_means(ard, label)
    counts, total = ard_arm_counts(ard, PK_SUBJECTS, label, arm_list)
    unit = "mg/L"
    if "AVALU" in pc.columns and pc["AVALU"].notna().any():
        unit = str(pc["AVALU"].dropna().astype(str).iloc[0])

    fig = new_figure(9.0, 4.6)
    axes = fig.subplots(1, 2)
    for ax, scale in zip(axes, ("linear", "log")):
        ax.grid(axis="y", which="major")
        for arm in arm_list:
            _draw_pk_arm(ax, pc[pc["ARMCD"] == arm.armcd], gm, arm, scale)
        _pk_panel_axes(ax, scale, pc, dosing_days, f"{analyte} concentration ({unit})")
    handles = _pk_legend(arm_list, counts, analyte)
    add_header_footer(
        fig,
        f"{analyte} serum concentration over time (linear and semi-logarithmic scales)",
        population_subtitle(population_flag, arm_list, counts, total=total),
        _pk_notes(),
        data_cut,
        legend=handles,
        legend_ncols=min(5, len(handles)),
    )
    return fig
