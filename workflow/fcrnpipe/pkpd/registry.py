"""The diagnostic plots of the final model: name -> adapter of the generic ``rule pkpd_plot``
(scripts/pkpd_plot.py calls :func:`build_plot`), which writes ``pkpd/figures/<name>.png`` and
``.svg``.

An adapter takes the job's named inputs ``i`` (paths, as ``snakemake.input``), its params ``p``
(attribute access: the entry's params of ``PKPD_PLOTS`` in workflow/rules/pkpd.smk plus ``arms``
and ``data_cut``) and its outputs ``out`` (``png``, ``svg``), and calls the plot's function of
:mod:`fcrnpipe.pkpd.stage`. The names are ``gof_<endpoint>``, ``individual_fits_<endpoint>``
(endpoints ``pk``, ``igg``) and ``eta_distributions``; the caption is the name's branch of
workflow/report/pkpd_plot.rst. tests/test_registry.py checks that rule file, registry and
caption list the same names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from types import SimpleNamespace
from typing import Any

from fcrnpipe.pkpd import stage

Adapter = Callable[[Any, Any, Mapping[str, str]], None]
#: the endpoints of the per-endpoint plots (ENDPOINT_CMT of fcrnpipe.pkpd.stage: pk, igg)
ENDPOINTS = ("pk", "igg")


def gof(endpoint: str, i: Any, p: Any, out: Mapping[str, str]) -> None:
    """Goodness-of-fit panel of one endpoint."""
    stage.gof(i.predictions, i.pk_summary, i.pd_summary, out, endpoint=endpoint, arms=p.arms, data_cut=p.data_cut,
              treatment=p.treatment)  # fmt: skip


def individual_fits(endpoint: str, i: Any, p: Any, out: Mapping[str, str]) -> None:
    """Observed, IPRED and PRED per subject for one endpoint."""
    stage.individual_fits(i.dataset, i.id_map, i.pk_fit, i.pd_fit, out, endpoint=endpoint, arms=p.arms,
                          data_cut=p.data_cut, treatment=p.treatment)  # fmt: skip


def eta_distributions(i: Any, p: Any, out: Mapping[str, str]) -> None:
    """Distributions of the random effects (EBEs) against N(0, omega^2)."""
    stage.eta_figure(i.individual, i.pk_population, i.pd_population, i.pd_summary, out, arms=p.arms,
                     data_cut=p.data_cut)  # fmt: skip


#: name -> adapter; the order of workflow/rules/pkpd.smk
PLOTS: dict[str, Adapter] = {
    **{f"gof_{e}": partial(gof, e) for e in ENDPOINTS},
    **{f"individual_fits_{e}": partial(individual_fits, e) for e in ENDPOINTS},
    "eta_distributions": eta_distributions,
}


def build_plot(smk: Any) -> None:
    """Draw the plot of a ``rule pkpd_plot`` job: the adapter of its wildcard ``name`` called with
    the job's inputs, params (the rule's param ``plot``: the entry's params, plus ``arms`` and
    ``data_cut``) and outputs."""
    name = smk.wildcards.name
    if name not in PLOTS:
        raise ValueError(f"unknown PK/PD plot {name!r}; known: {', '.join(PLOTS)}")
    p = SimpleNamespace(**smk.params.plot, arms=smk.params.arms, data_cut=smk.params.data_cut)
    PLOTS[name](smk.input, p, dict(smk.output.items()))
