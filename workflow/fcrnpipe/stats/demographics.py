"""Analysis-set sizes and demographics: ``display`` rows of the ARD (numbers only tables show).

Written by job ``stats_part`` (part=disposition) to ``stats/parts/disposition.csv``; they go into
``stats/ard.csv`` with ``analysis_type = display`` and not into ``stats/endpoints.csv``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from fcrnpipe.stats.descriptive import (
    POPULATION_LABELS,
    arm_groups,
    continuous_rows,
    count_rows,
    frame,
    population,
    require_columns,
    row,
    text,
    to_float,
)
from fcrnpipe.stats.disposition import disposition_flow_rows

ANALYSIS_SET = "Analysis set"
DEMOGRAPHICS = "Demographics"
#: Population flags whose sizes the tables show in their headers (None = all enrolled).
ANALYSIS_SET_FLAGS: tuple[str | None, ...] = (None, "SAFFL", "PDFL", "PKFL")
#: Continuous ADSL variables of the demographics table, in reporting order.
DEMOGRAPHICS_CONTINUOUS: tuple[str, ...] = ("AGE", "WEIGHTBL", "HEIGHTBL", "BMIBL", "IGGBL", "EDSSBL")
#: Categorical ADSL variables of the demographics table.
DEMOGRAPHICS_CATEGORICAL: tuple[str, ...] = ("SEX", "ATTACK")


def analysis_set_rows(
    adsl: pd.DataFrame, arms: Sequence[str], flags: Sequence[str | None] = ANALYSIS_SET_FLAGS
) -> list[dict[str, Any]]:
    """Endpoint ``Analysis set``: statistic ``n_subjects`` (subjects per arm and overall) of every
    population of ``flags`` (default :data:`ANALYSIS_SET_FLAGS`) whose flag ADSL has."""
    out: list[dict[str, Any]] = []
    for flag in flags:
        if flag is not None and flag not in adsl.columns:
            continue
        pop = population(adsl, arms, flag)
        for arm, g in arm_groups(pop, arms):
            k = int(g["USUBJID"].nunique())
            out.append(
                row(ANALYSIS_SET, POPULATION_LABELS[flag], arm, "", k, "n_subjects", k, "number of subjects in the analysis set")
            )
    return out


def demographics_rows(
    adsl: pd.DataFrame, arms: Sequence[str], flag: str = "SAFFL", level: float = 0.95
) -> list[dict[str, Any]]:
    """Demographics and baseline characteristics of the population ``flag``, by arm and overall.

    Endpoints ``Demographics: <VAR>`` (continuous: n, mean, SD, median, min, max, no CI) for the
    variables of :data:`DEMOGRAPHICS_CONTINUOUS` present, and ``Demographics: <VAR>: <value>``
    (``n_subjects``, ``percent`` with the exact CI; value upper-cased, ``""`` = missing) for
    :data:`DEMOGRAPHICS_CATEGORICAL`.
    """
    pop = population(adsl, arms, flag)
    require_columns(pop, ["AGE", "SEX"], "ADSL")
    label = POPULATION_LABELS[flag]
    out: list[dict[str, Any]] = []
    for var in DEMOGRAPHICS_CONTINUOUS:
        if var not in pop.columns:
            continue
        for arm, g in arm_groups(pop, arms):
            out += continuous_rows(
                to_float(g[var]).to_numpy(float),
                endpoint=f"{DEMOGRAPHICS}: {var}",
                population=label,
                arm=arm,
                visit="",
                level=level,
                what=f"ADSL {var}",
                mean_ci=False,
            )
    for var in DEMOGRAPHICS_CATEGORICAL:
        if var not in pop.columns:
            continue
        values = text(pop[var]).str.upper()
        for v in sorted(set(values)):
            sel = pop[values == v]
            for (arm, p), (_, s) in zip(arm_groups(pop, arms), arm_groups(sel, arms)):
                out += count_rows(
                    len(s),
                    len(p),
                    endpoint=f"{DEMOGRAPHICS}: {var}: {v}",
                    population=label,
                    arm=arm,
                    visit="",
                    level=level,
                )
    return out


def disposition_display_part(adsl: pd.DataFrame, arms: Sequence[str], level: float = 0.95) -> pd.DataFrame:
    """Display rows of job ``stats_part`` (part=disposition): analysis-set sizes, demographics and the
    disposition flow figure's counts (:func:`~fcrnpipe.stats.disposition.disposition_flow_rows`)."""
    return frame(
        [*analysis_set_rows(adsl, arms), *demographics_rows(adsl, arms, "SAFFL", level), *disposition_flow_rows(adsl, arms)]
    )


__all__ = [
    "ANALYSIS_SET",
    "ANALYSIS_SET_FLAGS",
    "DEMOGRAPHICS",
    "analysis_set_rows",
    "demographics_rows",
    "disposition_display_part",
]
