"""CSR-style figures (PNG 300 dpi + SVG), written deterministically.

Each plotting function takes analysis datasets (pandas DataFrames, docs/datasets.md section 3)
and configuration values, and returns a :class:`matplotlib.figure.Figure`; :func:`save` writes
it. Other figure families (e.g. PK/PD model diagnostics) should build their figures inside
:func:`figure_style` (or decorate the builder with :func:`styled`), use the arm colours from
:func:`arms_from_config` and the layout helpers (:func:`new_figure`, :func:`add_header_footer`,
:func:`mark_dosing`, :func:`reference_line`, :func:`day_axis`, :func:`errorbar`), and write them
with :func:`save`. Example::

    from fcrnpipe.figures import add_header_footer, arms_from_config, new_figure, save, styled

    @styled
    def plot_gof(pred, arms, *, data_cut=""):
        fig = new_figure(8.0, 4.5)
        ax = fig.subplots()
        ...  # colours: {a.armcd: a.color for a in arms_from_config(arms)}
        add_header_footer(fig, "Observed vs predicted", "PK analysis set (N = 9)", [], data_cut)
        return fig

    save(plot_gof(pred, config["study"]["arms"]), "gof.png", "gof.svg")
"""

from fcrnpipe.figures.disposition import disposition_counts, plot_disposition_flow
from fcrnpipe.figures.pd import edss_pairs, plot_aqp4_titre, plot_edss_paired, plot_igg_pct_baseline
from fcrnpipe.figures.pk import geometric_means, plot_pk_conc_time
from fcrnpipe.figures.safety import ctcae_threshold, plot_ae_swimmer, plot_albumin_cholesterol, swimmer_data
from fcrnpipe.figures.style import (
    GRADE_COLORS,
    PNG_DPI,
    RC,
    Arm,
    add_header_footer,
    arm_colors,
    arms_from_config,
    day_axis,
    errorbar,
    figure_style,
    header_footer_heights,
    mark_dosing,
    new_figure,
    no_data,
    overall_arm,
    reference_line,
    save,
    styled,
)

__all__ = [
    "GRADE_COLORS",
    "PNG_DPI",
    "RC",
    "Arm",
    "add_header_footer",
    "arm_colors",
    "arms_from_config",
    "ctcae_threshold",
    "day_axis",
    "disposition_counts",
    "edss_pairs",
    "errorbar",
    "figure_style",
    "geometric_means",
    "header_footer_heights",
    "mark_dosing",
    "new_figure",
    "no_data",
    "overall_arm",
    "plot_ae_swimmer",
    "plot_albumin_cholesterol",
    "plot_aqp4_titre",
    "plot_disposition_flow",
    "plot_edss_paired",
    "plot_igg_pct_baseline",
    "plot_pk_conc_time",
    "reference_line",
    "save",
    "styled",
    "swimmer_data",
]
