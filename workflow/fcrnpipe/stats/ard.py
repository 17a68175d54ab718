"""The analysis results dataset (ARD): every reported number, one row each, long format.

In the spirit of CDISC's Analysis Results Standard and pharmaverse's ``cards``: the stats stage
writes ``results/stats/ard.csv`` with one row per endpoint x population x arm x visit x
statistic x component (:data:`ARD_COLUMNS`):

``endpoint``      the analysis (``"IGG: percent change from baseline"``, ``"Demographics: AGE"``)
``paramcd``       PARAMCD of the analysed parameter (``IGG``, ``ALB``, ``EDSS``...), else ``""``
``population``    the analysis set (``"Safety (SAFFL=Y)"``...)
``arm``           ARMCD or ``"Overall"``
``visit``         AVISIT, ``"Baseline"`` or ``""``
``statistic``     ``n_subjects``, ``percent``, ``mean``, ``sd``, ``median``, ``min``, ``max``,
                  ``hodges_lehmann``, ``wilcoxon_signed_rank``, ...
``component``     which number of the statistic (:data:`COMPONENTS`): ``estimate``, ``n`` (the
                  subjects it is computed on), ``ci_low``, ``ci_high``, ``ci_level``,
                  ``ci_low_included``/``ci_high_included`` (1/0: the limit is in the interval),
                  ``p_value``
``value``         the number (unrounded)
``method``        how it was computed
``analysis_type`` ``endpoint`` (also in ``stats/endpoints.csv``) or ``display`` (numbers that
                  only tables show: demographics, analysis-set sizes, derived totals)

Each stats rule writes the ARD of its part (``stats/parts/<part>.csv``, :func:`part_ard`: one
job per ADaM domain, so a table reads only the parts it shows and a data change reruns only
its closure); ``stats_endpoints`` gathers them into ``stats/ard.csv`` (:func:`gather_ard`).
``stats/endpoints.csv`` is the ``endpoint`` rows of the ARD pivoted back to one row per
statistic (:func:`endpoints_from_ard`, exact inverse of :func:`ard_from_endpoints`). The
tables render from the ARD (:func:`fcrnpipe.tables.build.ard_endpoints`) and never recompute
a statistic, so a table cell and the ARD cannot drift apart.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.errors import UserError
from fcrnpipe.stats.descriptive import ENDPOINT_COLUMNS, frame
from fcrnpipe.stats.gather import gather_endpoints

ARD_COLUMNS: list[str] = [
    "endpoint",
    "paramcd",
    "population",
    "arm",
    "visit",
    "statistic",
    "component",
    "value",
    "method",
    "analysis_type",
]
#: Components of a statistic, in ARD order.
COMPONENTS: tuple[str, ...] = (
    "estimate",
    "n",
    "ci_low",
    "ci_high",
    "ci_level",
    "ci_low_included",
    "ci_high_included",
    "p_value",
)
ENDPOINT = "endpoint"
DISPLAY = "display"
ANALYSIS_TYPES = (ENDPOINT, DISPLAY)
ARD_KEY = ["endpoint", "population", "arm", "visit", "statistic", "component"]

#: Upper-case endpoint prefixes that are not parameters.
NOT_PARAMCD = frozenset({"TEAE", "NCA"})
_PARAMCD = re.compile(r"^([A-Z][A-Z0-9]{1,7}): ")


def paramcd_of(endpoint: str) -> str:
    """PARAMCD of an endpoint named ``"<PARAMCD>: ..."`` (upper-case code), else ``""``.

    >>> paramcd_of("IGG: nadir"), paramcd_of("EDSS: improved"), paramcd_of("AQP4AB: titre")
    ('IGG', 'EDSS', 'AQP4AB')
    >>> paramcd_of("TEAE: any"), paramcd_of("Disposition: treated"), paramcd_of("NCA: Cmax")
    ('', '', '')
    """
    m = _PARAMCD.match(str(endpoint))
    return m.group(1) if m and m.group(1) not in NOT_PARAMCD else ""


def ard_from_endpoints(endpoints: pd.DataFrame, analysis_type: str = ENDPOINT) -> pd.DataFrame:
    """Endpoint rows (:data:`~fcrnpipe.stats.descriptive.ENDPOINT_COLUMNS`) -> ARD rows.

    Per endpoint row: ``estimate`` and ``n`` always; ``ci_low``, ``ci_high``, ``ci_level`` and
    ``p_value`` when finite; ``ci_low_included``/``ci_high_included`` when the row has
    ``ci_bounds``. Row order: the endpoint rows' order, components in :data:`COMPONENTS` order.
    """
    if analysis_type not in ANALYSIS_TYPES:
        raise ValueError(f"analysis_type must be one of {ANALYSIS_TYPES}, not {analysis_type!r}")
    ep = frame(endpoints[ENDPOINT_COLUMNS].to_dict("records")) if len(endpoints) else frame([])
    bounds = ep["ci_bounds"].where(ep["ci_bounds"].str.len() == 2, "")
    values = {
        "estimate": ep["estimate"],
        "n": ep["n"].astype(float),
        "ci_low": ep["ci_low"],
        "ci_high": ep["ci_high"],
        "ci_level": ep["ci_level"],
        "ci_low_included": bounds.str[:1].map({"[": 1.0, "(": 0.0}),
        "ci_high_included": bounds.str[1:].map({"]": 1.0, ")": 0.0}),
        "p_value": ep["p_value"],
    }
    parts = []
    for i, comp in enumerate(COMPONENTS):
        v = values[comp].astype(float)
        keep = pd.Series(True, index=ep.index) if comp in ("estimate", "n") else v.notna()
        sel = ep.loc[keep]
        parts.append(
            pd.DataFrame(
                {
                    "_row": sel.index.to_numpy(),
                    "_comp": i,
                    "endpoint": sel["endpoint"],
                    "paramcd": sel["endpoint"].map(paramcd_of),
                    "population": sel["population"],
                    "arm": sel["arm"],
                    "visit": sel["visit"],
                    "statistic": sel["statistic"],
                    "component": comp,
                    "value": v[keep],
                    "method": sel["method"],
                    "analysis_type": analysis_type,
                }
            )
        )
    out = pd.concat(parts, ignore_index=True).sort_values(["_row", "_comp"], kind="mergesort")
    return out[ARD_COLUMNS].reset_index(drop=True)


def endpoints_from_ard(ard: pd.DataFrame, analysis_type: str | None = ENDPOINT) -> pd.DataFrame:
    """ARD rows -> endpoint rows (one per endpoint/population/arm/visit/statistic), the inverse of
    :func:`ard_from_endpoints`; only rows of ``analysis_type`` (all rows if None). Row order: first
    appearance in the ARD."""
    missing = [c for c in ARD_COLUMNS if c not in ard.columns]
    if missing:
        raise UserError(f"stats/ard.csv: missing column(s) {', '.join(missing)}")
    a = ard if analysis_type is None else ard[ard["analysis_type"] == analysis_type]
    if a.empty:
        return frame([])
    key = ["endpoint", "population", "arm", "visit", "statistic"]
    a = a.assign(_key=list(zip(*(a[k].astype(str) for k in key))))
    order = {k: i for i, k in enumerate(dict.fromkeys(a["_key"]))}
    wide = a.pivot(index="_key", columns="component", values="value")
    first = a.drop_duplicates("_key").set_index("_key")
    wide = wide.reindex(sorted(order, key=order.__getitem__))
    first = first.loc[wide.index]

    def col(c: str) -> pd.Series:
        return wide[c] if c in wide.columns else pd.Series(np.nan, index=wide.index)

    lo_inc, hi_inc = col("ci_low_included"), col("ci_high_included")
    bounds = [
        ("[" if lo == 1 else "(") + ("]" if hi == 1 else ")") if not (math.isnan(lo) or math.isnan(hi)) else ""
        for lo, hi in zip(lo_inc, hi_inc)
    ]
    out = pd.DataFrame(
        {
            "endpoint": first["endpoint"].to_numpy(),
            "population": first["population"].to_numpy(),
            "arm": first["arm"].to_numpy(),
            "visit": first["visit"].to_numpy(),
            "n": col("n").fillna(0).astype("int64").to_numpy(),
            "statistic": first["statistic"].to_numpy(),
            "estimate": col("estimate").to_numpy(),
            "ci_low": col("ci_low").to_numpy(),
            "ci_high": col("ci_high").to_numpy(),
            "ci_level": col("ci_level").to_numpy(),
            "ci_bounds": bounds,
            "p_value": col("p_value").to_numpy(),
            "method": first["method"].to_numpy(),
        }
    )
    return frame(out.to_dict("records"))


def build_ard(endpoints: pd.DataFrame, display: Iterable[pd.DataFrame] = ()) -> pd.DataFrame:
    """The ARD: ``endpoints`` (sorted endpoint rows) as ``endpoint`` rows, then the ``display``
    endpoint rows (parts of the stats rules that only tables show) as ``display`` rows.

    The key :data:`ARD_KEY` must be unique (else a bug: UserError).
    """
    frames = [ard_from_endpoints(endpoints, ENDPOINT)]
    frames += [ard_from_endpoints(d, DISPLAY) for d in display if len(d)]
    ard = pd.concat(frames, ignore_index=True)
    dup = ard.duplicated(ARD_KEY, keep=False)
    if dup.any():
        ex = ard.loc[dup, ARD_KEY].head(2).to_dict("records")
        raise UserError(f"ARD rows not unique by {', '.join(ARD_KEY)}: {ex}")
    return ard


def part_ard(
    endpoints: pd.DataFrame,
    display: pd.DataFrame | None,
    arms: Sequence[str],
    visits: Sequence[Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """The ARD of one stats part (``stats/parts/<part>.csv``): its endpoint rows and its display
    rows, each sorted as :func:`~fcrnpipe.stats.gather.gather_endpoints` sorts them."""
    display_parts = [gather_endpoints([display], arms, visits)] if display is not None and len(display) else []
    return build_ard(gather_endpoints([endpoints], arms, visits), display_parts)


def gather_ard(
    parts: Iterable[pd.DataFrame], arms: Sequence[str], visits: Sequence[Mapping[str, Any]] | None = None
) -> pd.DataFrame:
    """The whole ARD (``stats/ard.csv``) from the parts' ARDs: all endpoint rows sorted as
    ``endpoints.csv``, then all display rows sorted the same way."""
    ard = pd.concat(list(parts), ignore_index=True)
    endpoints = gather_endpoints([endpoints_from_ard(ard, ENDPOINT)], arms, visits)
    display = gather_endpoints([endpoints_from_ard(ard, DISPLAY)], arms, visits)
    return build_ard(endpoints, [display])


def read_ard(path: str | Sequence[str]) -> pd.DataFrame:
    """``stats/ard.csv`` or the parts' ARDs (several paths: concatenated) as written: empty
    strings stay ``""``, values are the exact floats written (round trip)."""
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    frames = []
    for p in paths:
        ard = pd.read_csv(
            p, keep_default_na=False, na_values={"value": [""]}, dtype={"value": float}, float_precision="round_trip"
        )
        for c in ARD_COLUMNS:
            if c != "value" and c in ard.columns:
                ard[c] = ard[c].astype(str)
        frames.append(ard)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ARD_COLUMNS)


__all__ = [
    "ANALYSIS_TYPES",
    "ARD_COLUMNS",
    "ARD_KEY",
    "COMPONENTS",
    "DISPLAY",
    "ENDPOINT",
    "ard_from_endpoints",
    "build_ard",
    "endpoints_from_ard",
    "gather_ard",
    "paramcd_of",
    "part_ard",
    "read_ard",
]
