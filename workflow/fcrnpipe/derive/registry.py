"""The analysis-dataset registry: dataset -> adapter of the generic ``rule derive`` (scripts/derive.py
calls :func:`build_dataset`), which writes ``adam/<dataset>.parquet`` and ``.csv``.

An adapter takes the job's named inputs ``i`` (paths, as ``snakemake.input``) and the dataset's
params ``p`` (a dict: the entry's params of ``DERIVE`` in workflow/rules/derive.smk, exactly the
config values the derivation uses), reads the inputs and calls the dataset's ``derive_*``
function with the params as keyword arguments; it derives nothing itself. tests/test_registry.py
checks that the rule file and :data:`DATASETS` list the same datasets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from fcrnpipe.derive.adae import derive_adae
from fcrnpipe.derive.adedss import derive_adedss
from fcrnpipe.derive.adex import derive_adex
from fcrnpipe.derive.adlb import derive_adlb
from fcrnpipe.derive.adpc import derive_adpc
from fcrnpipe.derive.adsl import derive_adsl
from fcrnpipe.derive.grading import load_ctcae, load_reference_ranges
from fcrnpipe.tableio import read_parquet
from fcrnpipe.units import load_unit_table

Adapter = Callable[[Any, dict[str, Any]], pd.DataFrame]

#: the validated SDTM domains ADSL reads (not ae: an AE update does not rerun ADSL)
ADSL_DOMAINS = ("dm", "ex", "ds", "vs", "lb", "pc", "qs")


def adsl(i: Any, p: dict[str, Any]) -> pd.DataFrame:
    """Validated DM, EX, DS, VS, LB, PC, QS (+ units.csv) -> ADSL."""
    tables = {d: read_parquet(i[d]) for d in ADSL_DOMAINS}
    return derive_adsl(**tables, units=load_unit_table(i.units), **p)


def adex(i: Any, p: dict[str, Any]) -> pd.DataFrame:
    """Validated DM, EX -> ADEX."""
    return derive_adex(read_parquet(i.dm), read_parquet(i.ex), **p)


def adlb(i: Any, p: dict[str, Any]) -> pd.DataFrame:
    """ADSL + validated LB (+ units.csv, reference_ranges.csv, ctcae.csv) -> ADLB."""
    return derive_adlb(
        read_parquet(i.adsl),
        read_parquet(i.lb),
        units=load_unit_table(i.units),
        reference_ranges=load_reference_ranges(i.reference_ranges),
        ctcae=load_ctcae(i.ctcae),
        **p,
    )


def adpc(i: Any, p: dict[str, Any]) -> pd.DataFrame:
    """ADSL + ADEX + validated PC (+ units.csv) -> ADPC."""
    adsl_, adex_, pc = (read_parquet(f) for f in (i.adsl, i.adex, i.pc))
    return derive_adpc(adsl_, adex_, pc, units=load_unit_table(i.units), **p)


def adedss(i: Any, p: dict[str, Any]) -> pd.DataFrame:
    """ADSL + validated QS -> ADEDSS."""
    return derive_adedss(read_parquet(i.adsl), read_parquet(i.qs), **p)


def adae(i: Any, p: dict[str, Any]) -> pd.DataFrame:
    """ADSL + validated AE -> ADAE."""
    return derive_adae(read_parquet(i.adsl), read_parquet(i.ae), **p)


#: dataset -> adapter; the order of workflow/rules/derive.smk (each after the datasets it reads)
DATASETS: dict[str, Adapter] = {"adsl": adsl, "adex": adex, "adlb": adlb, "adpc": adpc, "adedss": adedss, "adae": adae}


def build_dataset(smk: Any) -> pd.DataFrame:
    """The dataset of a ``rule derive`` job: the adapter of its wildcard ``dataset`` called with the
    job's inputs and the rule's param ``dataset`` (the entry's params)."""
    name = smk.wildcards.dataset
    if name not in DATASETS:
        raise ValueError(f"unknown analysis dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name](smk.input, dict(smk.params.dataset))
