"""Data helpers shared by the figure modules: checks, populations, summaries, labels."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe import frames
from fcrnpipe.errors import UserError
from fcrnpipe.stats.ard import DISPLAY, ard_from_endpoints, endpoints_from_ard
from fcrnpipe.stats.descriptive import OVERALL, describe, frame, sentence_case  # noqa: F401 (used by the figure modules)
from fcrnpipe.figures.style import Arm

#: Population flags of ADSL and how figures name them.
POPULATIONS: dict[str, str] = {
    "SAFFL": "Safety analysis set",
    "PKFL": "PK analysis set",
    "PDFL": "PD analysis set",
}


def require_columns(df: pd.DataFrame, columns: Iterable[str], dataset: str) -> None:
    """Raise :class:`UserError` naming the dataset and the columns it lacks (:func:`fcrnpipe.frames.require_columns`)."""
    frames.require_columns(df, columns, dataset, f"needed for the figure (see {frames.DATASETS_DOC})")


#: Shared helpers (one home: :mod:`fcrnpipe.frames`).
flag_yes, to_float = frames.flag_yes, frames.to_float


def population(adsl: pd.DataFrame, arms: Sequence[Arm], flag: str | None) -> pd.DataFrame:
    """ADSL rows of the population ``flag`` (all rows if None), sorted by arm order then USUBJID.

    A subject of the population whose ARMCD is not one of the configured arms is a user error.
    """
    require_columns(adsl, ["USUBJID", "ARMCD"] + ([flag] if flag else []), "ADSL")
    pop = adsl[flag_yes(adsl[flag])] if flag else adsl
    known = {a.armcd: i for i, a in enumerate(arms)}
    unknown = sorted(set(pop["ARMCD"].astype(str)) - set(known))
    if unknown:
        raise UserError(
            f"ADSL: ARMCD {', '.join(unknown)} not among config study.arms "
            f"({', '.join(known)}); add the arm to config.yaml"
        )
    pop = pop.assign(_arm_order=pop["ARMCD"].astype(str).map(known))
    return (
        pop.sort_values(["_arm_order", "USUBJID"], kind="mergesort").drop(columns="_arm_order").reset_index(drop=True)
    )


def restrict(df: pd.DataFrame, pop: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``df`` whose subject is in ``pop``, with ARMCD taken from ADSL (``pop``)."""
    out = df[df["USUBJID"].isin(pop["USUBJID"])].drop(columns=["ARMCD"], errors="ignore")
    return out.merge(pop[["USUBJID", "ARMCD"]], on="USUBJID", how="left", validate="many_to_one")


def n_text(arms: Sequence[Arm], counts: Mapping[str, int]) -> str:
    """``"Batoclimab 340 mg n = 2; Batoclimab 680 mg n = 7"``."""
    return "; ".join(f"{a.label} n = {counts.get(a.armcd, 0)}" for a in arms)


def population_subtitle(
    flag: str | None, arms: Sequence[Arm], counts: Mapping[str, int], extra: str = "", total: int | None = None
) -> str:
    """Population name, qualifier and N per arm for a figure subtitle; N = ``total`` (e.g. the
    ARD's ``Overall`` count), else the sum of ``counts``."""
    name = POPULATIONS.get(flag or "", "All enrolled subjects")
    total = sum(counts.values()) if total is None else total
    return f"{name}{extra} (N = {total}): {n_text(arms, counts)}"


def short_ids(usubjids: Iterable[str]) -> dict[str, str]:
    """Subject labels without the part common to every USUBJID (up to a ``-`` or ``/``).

    ``["NCT1-01-001", "NCT1-02-003"]`` -> ``{"NCT1-01-001": "01-001", ...}``; unique inputs give
    unique labels.
    """
    ids = sorted({str(u) for u in usubjids})
    if len(ids) <= 1:
        return {u: u.rsplit("-", 1)[-1] if "-" in u else u for u in ids}
    prefix = ids[0]
    for u in ids[1:]:
        while not u.startswith(prefix):
            prefix = prefix[:-1]
    cut = max(prefix.rfind("-"), prefix.rfind("/")) + 1
    return {u: u[cut:] for u in ids}


def visit_days(visits: Sequence[Mapping[str, Any]] | None) -> dict[int, float]:
    """AVISITN -> nominal study day, from ``config.yaml: visits``.

    Without a visit table, AVISITN (the nominal study week) maps to day 7·AVISITN + 1.
    """
    if not visits:
        return {}
    return {int(v["avisitn"]): float(v["day"]) for v in visits}


def nominal_day(avisitn: pd.Series, days: Mapping[int, float]) -> pd.Series:
    """Nominal study day of analysis visits (NaN for visits not in the table)."""
    n = to_float(avisitn)
    if days:
        return n.map(lambda v: days.get(int(v), np.nan) if not math.isnan(v) else np.nan)
    return 7.0 * n + 1.0


def mean_ci(values: Sequence[float] | np.ndarray, level: float = 0.95) -> tuple[int, float, float, float, float]:
    """n, mean, SD and the two-sided t-based CI of the mean (NaN where undefined, n < 2): the
    statistics stage's :func:`fcrnpipe.stats.descriptive.describe` (one t-interval,
    :func:`fcrnpipe.stats.ci.t_interval`)."""
    s = describe(values, level)
    return int(s["n"]), s["mean"], s["sd"], s["ci_low"], s["ci_high"]


SUMMARY_COLUMNS = ["ARMCD", "DAY", "n", "mean", "sd", "ci_low", "ci_high"]


def ard_visit_summary(
    ard: pd.DataFrame, endpoint: str, population: str, visits: Sequence[Mapping[str, Any]] | None
) -> pd.DataFrame:
    """Per arm and analysis visit, the ARD's ``n``, ``mean`` (with ``ci_low``/``ci_high``) and
    ``sd`` of ``endpoint``, at the visit's nominal study day (config ``visits``: name -> day);
    columns :data:`SUMMARY_COLUMNS`, sorted by arm and day (the shape of :func:`summarise`).
    The ``Overall`` rows and visits without a day are left out."""
    sel = ard[(ard["endpoint"] == endpoint) & (ard["population"] == population)]
    ep = endpoints_from_ard(sel, None)
    day = {str(v["name"]): float(v["day"]) for v in visits or []}
    rows = []
    for (arm, visit), g in ep.groupby(["arm", "visit"], sort=False):
        stat = g.set_index("statistic")
        if arm == OVERALL or visit not in day or "mean" not in stat.index:
            continue
        m = stat.loc["mean"]
        sd = float(stat.at["sd", "estimate"]) if "sd" in stat.index else math.nan
        rows.append([arm, day[visit], int(m["n"]), float(m["estimate"]), sd, float(m["ci_low"]), float(m["ci_high"])])
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    return out.sort_values(["ARMCD", "DAY"], kind="mergesort").reset_index(drop=True)


def ard_counts(ard: pd.DataFrame, prefix: str) -> dict[tuple[str, str, str], int]:
    """The ARD's subject counts (statistic ``n_subjects``, its estimate) of the endpoints starting
    with ``prefix``, by (endpoint, population, arm)."""
    sel = ard[
        ard["endpoint"].astype(str).str.startswith(prefix)
        & (ard["statistic"] == "n_subjects")
        & (ard["component"] == "estimate")
    ]
    return {(str(e), str(p), str(a)): int(v) for e, p, a, v in zip(sel["endpoint"], sel["population"], sel["arm"], sel["value"])}


def ard_arm_counts(
    ard: pd.DataFrame, endpoint: str, population: str, arms: Sequence[Arm]
) -> tuple[dict[str, int], int]:
    """Subjects per arm (every configured arm, 0 when absent) and overall of one ARD count
    endpoint (statistic ``n_subjects``); UserError when the ARD has none of its rows."""
    c = {a: v for (e, p, a), v in ard_counts(ard, endpoint).items() if e == endpoint and p == population}
    if not c:
        raise UserError(f"ARD: no '{endpoint}' rows for the population {population}")
    return {a.armcd: c.get(a.armcd, 0) for a in arms}, c.get(OVERALL, 0)


def ard_count_n(ard: pd.DataFrame, endpoint: str, population: str) -> int:
    """The ``n`` component (subjects of the population) of the ``Overall`` row of one ARD count
    endpoint (statistic ``n_subjects``); UserError without that row."""
    sel = ard[
        (ard["endpoint"] == endpoint)
        & (ard["population"] == population)
        & (ard["arm"] == OVERALL)
        & (ard["statistic"] == "n_subjects")
        & (ard["component"] == "n")
    ]
    if sel.empty:
        raise UserError(f"ARD: no '{endpoint}' row for {OVERALL} of the population {population}")
    return int(sel["value"].iloc[0])


def display_ard(ard: pd.DataFrame | None, rows: Callable[[], Iterable[Mapping[str, Any]]]) -> pd.DataFrame:
    """``ard`` (the stats stage's part), or without one the display rows ``rows()`` computes (the
    stats stage's function) as ARD rows: a figure called without the ARD shows the same numbers."""
    return ard if ard is not None else ard_from_endpoints(frame(rows()), DISPLAY)


def summarise(df: pd.DataFrame, by: list[str], value: str, level: float = 0.95) -> pd.DataFrame:
    """n, mean, sd, ci_low, ci_high of ``value`` per group (groups sorted)."""
    rows = []
    for key, grp in df.groupby(by, sort=True, dropna=True):
        n, mean, sd, lo, hi = mean_ci(grp[value].to_numpy(dtype=float), level)
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key)), "n": n, "mean": mean, "sd": sd, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows, columns=[*by, "n", "mean", "sd", "ci_low", "ci_high"])


def study_day(dates: pd.Series, first_dose: pd.Series) -> pd.Series:
    """Study day (ADY convention: day 1 = first dose, no day 0)."""
    d = (pd.to_datetime(dates, errors="coerce") - pd.to_datetime(first_dose, errors="coerce")).dt.days
    return d.where(d < 0, d + 1).astype(float)


def dodge(n: int, step: float) -> np.ndarray:
    """Deterministic symmetric offsets ``(i - (n-1)/2) * step`` for i = 0..n-1."""
    return (np.arange(n, dtype=float) - (n - 1) / 2.0) * step


