"""The table registry: name -> builder adapter of the generic ``rule table`` (scripts/table.py
calls :func:`build_table`).

An adapter takes the job's named inputs ``i`` (paths, as ``snakemake.input``) and the table's
params ``p`` (attribute access: the entry's params of ``TABLES`` in workflow/rules/tables.smk
plus ``data_cut``), reads the inputs and calls the table's builder; it computes nothing itself.
The rule declares each name's inputs and params (``TABLES``), its caption is the name's branch of
workflow/report/table.rst; tests/test_registry.py checks that the three list the same names.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pandas as pd

from fcrnpipe import tables
from fcrnpipe.derive.grading import load_ctcae
from fcrnpipe.findings import load_findings
from fcrnpipe.nca import AcceptanceRules
from fcrnpipe.stats import ctcae_max_grades, read_ard
from fcrnpipe.stats.published import published_comparison
from fcrnpipe.tableio import read_parquet
from fcrnpipe.tables import Table
from fcrnpipe.units import load_unit_table

Adapter = Callable[[Any, Any], Table]


def _read_csv(path: str) -> pd.DataFrame:
    """A results CSV with empty cells as missing and no other NA strings."""
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def _ard(i: Any, p: Any, *names: str) -> dict[str, Any]:
    """Keyword arguments every ARD table takes (its ARD parts, data cut, overall label) and
    the params ``names``."""
    return {
        "ard": read_ard(i.ard),
        "data_cut": p.data_cut,
        "overall_label": p.overall_label,
        **{n: getattr(p, n) for n in names},
    }


def _lab_decimals(i: Any) -> dict[str, Any]:
    """Keyword argument ``decimals`` of a lab table: the decimals of each test of ``units.csv``,
    read with the validated loader (:func:`fcrnpipe.units.load_unit_table`: a broken table is a
    UserError naming file, row, column and rule)."""
    return {"decimals": tables.lab_decimals(load_unit_table(i.units))}


def demographics(i: Any, p: Any) -> Table:
    return tables.demographics_table(read_parquet(i.adsl), p.arms, **_ard(i, p, "treatment"))


def disposition(i: Any, p: Any) -> Table:
    adsl, adex = read_parquet(i.adsl), read_parquet(i.adex)
    return tables.disposition_table(adsl, adex, p.arms, p.treatment, **_ard(i, p, "placebo"))


def exposure(i: Any, p: Any) -> Table:
    adsl, adex = read_parquet(i.adsl), read_parquet(i.adex)
    return tables.exposure_table(adsl, adex, p.arms, p.treatment, **_ard(i, p, "placebo"))


def teae_overview(i: Any, p: Any) -> Table:
    adsl, adae = read_parquet(i.adsl), read_parquet(i.adae)
    return tables.teae_overview_table(adsl, adae, p.arms, **_ard(i, p, "treatment"))


def teae_soc_pt(i: Any, p: Any) -> Table:
    adsl, adae = read_parquet(i.adsl), read_parquet(i.adae)
    return tables.teae_soc_pt_table(adsl, adae, p.arms, **_ard(i, p, "treatment"))


def lab_shift(i: Any, p: Any) -> Table:
    max_grades = ctcae_max_grades(load_ctcae(i.ctcae))  # the user's resource table first
    adsl, adlb = read_parquet(i.adsl), read_parquet(i.adlb)
    return tables.lab_shift_table(adsl, adlb, p.arms, p.grading, max_grades, **_ard(i, p, "treatment"))


def albumin(i: Any, p: Any) -> Table:
    decimals = _lab_decimals(i)  # the user's resource table first
    adsl, adlb = read_parquet(i.adsl), read_parquet(i.adlb)
    return tables.albumin_table(adsl, adlb, p.arms, **decimals, **_ard(i, p, "treatment"))


def cholesterol(i: Any, p: Any) -> Table:
    decimals = _lab_decimals(i)  # the user's resource table first
    adsl, adlb = read_parquet(i.adsl), read_parquet(i.adlb)
    return tables.cholesterol_table(adsl, adlb, p.arms, **decimals, **_ard(i, p, "treatment"))


def igg(i: Any, p: Any) -> Table:
    decimals = _lab_decimals(i)  # the user's resource table first
    adsl, adlb = read_parquet(i.adsl), read_parquet(i.adlb)
    return tables.igg_table(adsl, adlb, p.arms, **decimals, **_ard(i, p))


def aqp4(i: Any, p: Any) -> Table:
    return tables.aqp4_table(read_parquet(i.adsl), read_parquet(i.adlb), p.arms, **_ard(i, p))


def edss(i: Any, p: Any) -> Table:
    adsl, adedss = read_parquet(i.adsl), read_parquet(i.adedss)
    return tables.edss_table(adsl, adedss, p.arms, p.primary_visit, p.improvement, **_ard(i, p, "treatment"))


def published_vs_reproduced(i: Any, p: Any) -> Table:
    findings = load_findings(i.findings)
    published, values = published_comparison(
        _read_csv(i.endpoints), p.arms, p.visits, p.dosing_days, p.primary_visit, findings=findings
    )
    return tables.published_table(published, values, data_cut=p.data_cut, findings=findings)


def nca_summary(i: Any, p: Any) -> Table:
    rules = AcceptanceRules.from_config(p.acceptance)
    return tables.nca_summary_table(
        _read_csv(i.summary), p.arms, None, treatment=p.treatment,
        data_cut=p.data_cut, acceptance=rules.describe(), excluded=rules.exclude, ard=read_ard(i.ard),
    )


def pkpd_parameters(i: Any, p: Any) -> Table:
    return tables.pkpd_parameters_table(_read_csv(i.parameters), data_cut=p.data_cut, ard=read_ard(i.ard))


#: name -> adapter; the name is the adapter's (and the output file's) name
TABLES: dict[str, Adapter] = {
    adapter.__name__: adapter
    for adapter in (demographics, disposition, exposure, teae_overview, teae_soc_pt, lab_shift, albumin,
                    cholesterol, igg, aqp4, edss, published_vs_reproduced, nca_summary, pkpd_parameters)
}


def build_table(smk: Any) -> Table:
    """The table of a ``rule table`` job: the adapter of its wildcard ``name`` called with the
    job's inputs and params (the rule's param ``table``: the entry's params, plus ``data_cut``)."""
    params = SimpleNamespace(**smk.params.table, data_cut=smk.params.data_cut)
    return TABLES[smk.wildcards.name](smk.input, params)
