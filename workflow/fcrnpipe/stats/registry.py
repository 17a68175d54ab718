"""The ARD part registry: part -> adapter of the generic ``rule stats_part`` (scripts/stats_part.py
calls :func:`build_part`), which writes ``stats/parts/<part>.csv``.

An adapter takes the job's named inputs ``i`` (paths, as ``snakemake.input``) and the part's
params ``p`` (attribute access: the entry's params of ``STATS_PARTS`` in workflow/rules/stats.smk
plus ``arms`` and ``visits``), reads the inputs and returns the part's endpoint rows and display
rows (:data:`~fcrnpipe.stats.descriptive.ENDPOINT_COLUMNS`); it computes nothing itself.
:func:`build_part` turns them into the part's ARD (:func:`~fcrnpipe.stats.ard.part_ard`).
The rule declares each part's inputs and params; tests/test_registry.py checks that the rule file
and :data:`PARTS` list the same parts.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pandas as pd

from fcrnpipe.derive.grading import load_ctcae
from fcrnpipe.stats.ard import part_ard
from fcrnpipe.stats.demographics import disposition_display_part
from fcrnpipe.stats.descriptive import frame
from fcrnpipe.stats.disposition import disposition_part
from fcrnpipe.stats.efficacy import edss_display_part, edss_endpoints, pd_display_part, pd_part
from fcrnpipe.stats.pk import RESULTS_PARTS, pk_display_part, results_part_rows
from fcrnpipe.stats.safety import ae_display_part, ae_part, ctcae_max_grades, lab_display_part, lab_part
from fcrnpipe.tableio import read_parquet

#: (endpoint rows, display rows) of one part
Rows = tuple[pd.DataFrame, pd.DataFrame]
Adapter = Callable[[Any, Any], Rows]


def ae(i: Any, p: Any) -> Rows:
    """ADSL + ADAE: TEAE overview and TEAE by SOC/PT; the SOC/PT table's maximum-grade counts."""
    adsl, adae = read_parquet(i.adsl), read_parquet(i.adae)
    return ae_part(adsl, adae, p.arms), ae_display_part(adsl, adae, p.arms)


def lab(i: Any, p: Any) -> Rows:
    """ADSL + ADLB (+ ctcae.csv): albumin/cholesterol by visit and CTCAE shifts; the shift
    tables' totals and the albumin/cholesterol figure's means by visit."""
    max_grades = ctcae_max_grades(load_ctcae(i.ctcae))  # the user's resource table, validated, first
    adsl, adlb = read_parquet(i.adsl), read_parquet(i.adlb)
    return (
        lab_part(adsl, adlb, p.arms, p.grading, max_grades),
        lab_display_part(adsl, adlb, p.arms, p.grading, max_grades),
    )


def disposition(i: Any, p: Any) -> Rows:
    """ADSL + ADEX: disposition and exposure; analysis-set sizes, demographics, the disposition
    flow's counts."""
    adsl, adex = read_parquet(i.adsl), read_parquet(i.adex)
    endpoints = disposition_part(adsl, adex, p.arms, p.treatment, placebo=p.placebo)
    return endpoints, disposition_display_part(adsl, p.arms)


def pd_(i: Any, p: Any) -> Rows:
    """ADSL + ADLB: total IgG and AQP4-IgG; the IgG figure's means by visit."""
    adsl, adlb = read_parquet(i.adsl), read_parquet(i.adlb)
    return pd_part(adsl, adlb, p.arms), pd_display_part(adsl, adlb, p.arms)


def edss(i: Any, p: Any) -> Rows:
    """ADSL + ADEDSS: EDSS change, signed-rank test, Hodges-Lehmann; the paired figure's means."""
    adsl, adedss = read_parquet(i.adsl), read_parquet(i.adedss)
    return (
        edss_endpoints(adsl, adedss, p.arms, p.primary_visit, p.improvement),
        edss_display_part(adsl, adedss, p.arms, p.primary_visit),
    )


def pk(i: Any, p: Any) -> Rows:
    """ADSL + ADPC (display only): the PK figure's geometric means by nominal time and subjects
    per arm."""
    return frame([]), pk_display_part(read_parquet(i.adsl), read_parquet(i.adpc), p.arms)


def _stage_results(part: str) -> Adapter:
    """Adapter of a display-only part holding a PK or PK/PD stage's results file (input
    ``results``) in the ARD's long format (:data:`~fcrnpipe.stats.pk.RESULTS_PARTS`)."""

    def adapter(i: Any, p: Any) -> Rows:
        results = pd.read_csv(i.results, keep_default_na=False, na_values=[""])
        return frame([]), results_part_rows(part, results)

    adapter.__name__ = part
    return adapter


#: part -> adapter; the order of workflow/rules/stats.smk
PARTS: dict[str, Adapter] = {
    "ae": ae,
    "lab": lab,
    "disposition": disposition,
    "pd": pd_,
    "edss": edss,
    "pk": pk,
    **{part: _stage_results(part) for part in RESULTS_PARTS},  # pk_nca, pkpd
}


def build_part(smk: Any) -> pd.DataFrame:
    """The ARD of a ``rule stats_part`` job: the adapter of its wildcard ``part`` called with the
    job's inputs and params (the rule's param ``part``: the entry's params, plus ``arms`` and
    ``visits``)."""
    name = smk.wildcards.part
    if name not in PARTS:
        raise ValueError(f"unknown stats part {name!r}; known: {', '.join(PARTS)}")
    p = SimpleNamespace(**smk.params.part, arms=smk.params.arms, visits=smk.params.visits)
    endpoints, display = PARTS[name](smk.input, p)
    return part_ard(endpoints, display, p.arms, p.visits)
