"""The table registry: name -> builder adapter of the generic ``rule table`` (scripts/table.py).

An adapter takes the job's named inputs ``i`` (paths, as ``snakemake.input``) and the table's
params ``p`` (attribute access: the entry's params of ``TABLES`` in workflow/rules/tables.smk
plus ``data_cut``), reads the inputs and calls the table's builder; it computes nothing itself.
The rule declares each name's inputs and params (``TABLES``), its caption is the name's branch of
workflow/report/table.rst; tests/test_registry.py checks that the three list the same names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any

import pandas as pd

from fcrnpipe.findings import load_findings
from fcrnpipe.nca import AcceptanceRules, missing_reasons
from fcrnpipe.stats import ctcae_max_grades, published_vs_reproduced, read_ard
from fcrnpipe.tableio import read_parquet
from fcrnpipe.tables.build import (
    Table,
    albumin_table,
    aqp4_table,
    cholesterol_table,
    demographics_table,
    disposition_table,
    edss_table,
    exposure_table,
    igg_table,
    lab_decimals,
    lab_shift_table,
    nca_summary_table,
    pkpd_parameters_table,
    published_table,
    teae_overview_table,
    teae_soc_pt_table,
)

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
    return {"decimals": lab_decimals(pd.read_csv(i.units))}


def demographics(i: Any, p: Any) -> Table:
    return demographics_table(read_parquet(i.adsl), p.arms, **_ard(i, p, "treatment"))


def disposition(i: Any, p: Any) -> Table:
    adsl, adex = read_parquet(i.adsl), read_parquet(i.adex)
    return disposition_table(adsl, adex, p.arms, p.treatment, **_ard(i, p, "placebo"))


def exposure(i: Any, p: Any) -> Table:
    adsl, adex = read_parquet(i.adsl), read_parquet(i.adex)
    return exposure_table(adsl, adex, p.arms, p.treatment, **_ard(i, p, "placebo"))


def teae_overview(i: Any, p: Any) -> Table:
    adsl, adae = read_parquet(i.adsl), read_parquet(i.adae)
    return teae_overview_table(adsl, adae, p.arms, **_ard(i, p, "treatment"))


def teae_soc_pt(i: Any, p: Any) -> Table:
    adsl, adae = read_parquet(i.adsl), read_parquet(i.adae)
    return teae_soc_pt_table(adsl, adae, p.arms, **_ard(i, p, "treatment"))


def lab_shift(i: Any, p: Any) -> Table:
    adsl, adlb = read_parquet(i.adsl), read_parquet(i.adlb)
    max_grades = ctcae_max_grades(pd.read_csv(i.ctcae))
    return lab_shift_table(adsl, adlb, p.arms, p.grading, max_grades, **_ard(i, p, "treatment"))


def albumin(i: Any, p: Any) -> Table:
    adsl, adlb = read_parquet(i.adsl), read_parquet(i.adlb)
    return albumin_table(adsl, adlb, p.arms, **_lab_decimals(i), **_ard(i, p, "treatment"))


def cholesterol(i: Any, p: Any) -> Table:
    adsl, adlb = read_parquet(i.adsl), read_parquet(i.adlb)
    return cholesterol_table(adsl, adlb, p.arms, **_lab_decimals(i), **_ard(i, p, "treatment"))


def igg(i: Any, p: Any) -> Table:
    adsl, adlb = read_parquet(i.adsl), read_parquet(i.adlb)
    return igg_table(adsl, adlb, p.arms, **_lab_decimals(i), **_ard(i, p))


def aqp4(i: Any, p: Any) -> Table:
    return aqp4_table(read_parquet(i.adsl), read_parquet(i.adlb), p.arms, **_ard(i, p))


def edss(i: Any, p: Any) -> Table:
    adsl, adedss = read_parquet(i.adsl), read_parquet(i.adedss)
    return edss_table(adsl, adedss, p.arms, p.primary_visit, p.improvement, **_ard(i, p, "treatment"))


def published_vs_reproduced_table(i: Any, p: Any) -> Table:
    findings = load_findings(i.findings)
    published = published_vs_reproduced(
        _read_csv(i.endpoints), p.arms, p.visits, p.dosing_days, p.primary_visit, findings=findings
    )
    return published_table(published, data_cut=p.data_cut, findings=findings)


def nca_summary(i: Any, p: Any) -> Table:
    rules = AcceptanceRules.from_config(p.acceptance)
    reasons = missing_reasons(_read_csv(i.nca), exclude_flagged=rules.exclude)
    return nca_summary_table(
        _read_csv(i.summary), p.arms, read_parquet(i.adsl), reasons, treatment=p.treatment,
        data_cut=p.data_cut, acceptance=rules.describe(), excluded=rules.exclude,
    )


def pkpd_parameters(i: Any, p: Any) -> Table:
    return pkpd_parameters_table(_read_csv(i.parameters), data_cut=p.data_cut)


TABLES: dict[str, Adapter] = {
    "demographics": demographics,
    "disposition": disposition,
    "exposure": exposure,
    "teae_overview": teae_overview,
    "teae_soc_pt": teae_soc_pt,
    "lab_shift": lab_shift,
    "albumin": albumin,
    "cholesterol": cholesterol,
    "igg": igg,
    "aqp4": aqp4,
    "edss": edss,
    "published_vs_reproduced": published_vs_reproduced_table,
    "nca_summary": nca_summary,
    "pkpd_parameters": pkpd_parameters,
}


def build_table(name: str, inputs: Any, params: Mapping[str, Any]) -> Table:
    """Table ``name`` from the job's named inputs and the table's params (a mapping)."""
    try:
        adapter = TABLES[name]
    except KeyError:
        raise KeyError(f"no table {name!r} in fcrnpipe.tables.registry (known: {', '.join(TABLES)})") from None
    return adapter(inputs, SimpleNamespace(**params))
