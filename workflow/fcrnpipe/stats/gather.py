"""Gathering the per-domain endpoint parts into one sorted, validated endpoints table."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from fcrnpipe.errors import UserError
from fcrnpipe.stats.descriptive import BASELINE_VISIT, ENDPOINT_COLUMNS, OVERALL, frame

KEY = ["endpoint", "population", "arm", "visit", "statistic"]


def visit_rank(visits: Sequence[Mapping[str, Any]] | None) -> dict[str, float]:
    """Sort rank of the visit labels: ``""`` first, ``"Baseline"``, then config visits by AVISITN."""
    ranks: dict[str, float] = {"": -math.inf, BASELINE_VISIT: -1e9}
    for v in visits or []:
        ranks[str(v["name"])] = float(v["avisitn"])
    return ranks


def gather_endpoints(
    parts: Iterable[pd.DataFrame], arms: Sequence[str], visits: Sequence[Mapping[str, Any]] | None = None
) -> pd.DataFrame:
    """Concatenate endpoint parts into one table with exactly :data:`ENDPOINT_COLUMNS`.

    Sorted by endpoint, population (alphabetical), arm (config order, then Overall), visit
    (``""``, Baseline, then AVISITN of config ``visits``; unknown labels last, alphabetical); the
    statistics of one endpoint/arm/visit keep the order in which the part lists them. The key
    (endpoint, population, arm, visit, statistic) must be unique (else a bug: UserError).
    """
    frames = [p[ENDPOINT_COLUMNS] for p in parts if len(p)]
    df = frame(pd.concat(frames, ignore_index=True).to_dict("records")) if frames else frame([])
    dup = df.duplicated(KEY, keep=False)
    if dup.any():
        ex = df.loc[dup, KEY].head(2).to_dict("records")
        raise UserError(f"endpoint rows not unique by {', '.join(KEY)}: {ex}")
    arm_rank = {a: i for i, a in enumerate(arms)} | {OVERALL: len(arms)}
    vr = visit_rank(visits)
    keys = pd.DataFrame(
        {
            "e": df["endpoint"],
            "p": df["population"],
            "a": df["arm"].map(lambda a: arm_rank.get(a, len(arms) + 1)),
            "a2": df["arm"],
            "v": df["visit"].map(lambda v: vr.get(v, math.inf)),
            "v2": df["visit"],
            "i": range(len(df)),
        }
    )
    order = keys.sort_values(["e", "p", "a", "a2", "v", "v2", "i"], kind="mergesort").index
    return df.loc[order].reset_index(drop=True)
