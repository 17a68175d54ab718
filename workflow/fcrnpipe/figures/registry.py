"""The figure registry: name -> builder adapter of the generic ``rule figure`` (scripts/figure.py
calls :func:`build_figure`).

An adapter takes the job's named inputs ``i`` (paths, as ``snakemake.input``) and the figure's
params ``p`` (attribute access: the entry's params of ``FIGURES`` in workflow/rules/figures.smk
plus ``data_cut``), reads the inputs and calls the figure's plotting function. The rule declares
each name's inputs and params (``FIGURES``), its caption is the name's branch of
workflow/report/figure.rst; tests/test_registry.py checks that the three list the same names.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from matplotlib.figure import Figure

from fcrnpipe.derive.grading import load_ctcae
from fcrnpipe.figures.disposition import plot_disposition_flow
from fcrnpipe.figures.pd import plot_aqp4_titre, plot_edss_paired, plot_igg_pct_baseline
from fcrnpipe.figures.pk import plot_pk_conc_time
from fcrnpipe.figures.safety import ctcae_threshold, plot_ae_swimmer, plot_albumin_cholesterol
from fcrnpipe.stats import read_ard
from fcrnpipe.tableio import read_parquet

Adapter = Callable[[Any, Any], Figure]


def igg_pct_baseline(i: Any, p: Any) -> Figure:
    return plot_igg_pct_baseline(
        read_parquet(i.adlb), read_parquet(i.adsl), p.arms, p.dosing_days, p.visits, data_cut=p.data_cut,
        treatment=p.treatment, ard=read_ard(i.ard),
    )


def aqp4_titre(i: Any, p: Any) -> Figure:
    return plot_aqp4_titre(
        read_parquet(i.adlb), read_parquet(i.adsl), p.arms, p.dosing_days, data_cut=p.data_cut, treatment=p.treatment,
        ard=read_ard(i.ard),
    )


def edss_paired(i: Any, p: Any) -> Figure:
    return plot_edss_paired(
        read_parquet(i.adedss), read_parquet(i.adsl), p.arms, p.primary_visit, overall=p.overall,
        data_cut=p.data_cut, ard=read_ard(i.ard),
    )


def albumin_cholesterol(i: Any, p: Any) -> Figure:
    threshold = ctcae_threshold(load_ctcae(i.ctcae), p.albumin_paramcd, 2)
    return plot_albumin_cholesterol(
        read_parquet(i.adlb), read_parquet(i.adsl), p.arms, p.dosing_days, p.visits, albumin_threshold=threshold,
        data_cut=p.data_cut, treatment=p.treatment, ard=read_ard(i.ard),
    )


def pk_conc_time(i: Any, p: Any) -> Figure:
    return plot_pk_conc_time(
        read_parquet(i.adpc), read_parquet(i.adsl), p.arms, p.dosing_days, data_cut=p.data_cut,
        analyte=p.treatment.capitalize(), ard=read_ard(i.ard),
    )


def ae_swimmer(i: Any, p: Any) -> Figure:
    return plot_ae_swimmer(
        read_parquet(i.adae), read_parquet(i.adsl), read_parquet(i.adex), p.arms, treatment=p.treatment,
        data_cut=p.data_cut, ard=read_ard(i.ard),
    )


def disposition_flow(i: Any, p: Any) -> Figure:
    return plot_disposition_flow(
        None, p.arms, overall=p.overall, treatment=p.treatment.lower(), data_cut=p.data_cut, ard=read_ard(i.ard)
    )


#: name -> adapter; the name is the adapter's (and the output file's) name
FIGURES: dict[str, Adapter] = {
    adapter.__name__: adapter
    for adapter in (igg_pct_baseline, aqp4_titre, edss_paired, albumin_cholesterol, pk_conc_time, ae_swimmer,
                    disposition_flow)
}


def build_figure(smk: Any) -> Figure:
    """The figure of a ``rule figure`` job: the adapter of its wildcard ``name`` called with the
    job's inputs and params (the rule's param ``figure``: the entry's params, plus ``data_cut``)."""
    params = SimpleNamespace(**smk.params.figure, data_cut=smk.params.data_cut)
    return FIGURES[smk.wildcards.name](smk.input, params)
