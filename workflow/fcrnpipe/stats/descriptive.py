"""Endpoint rows, populations and descriptive summaries shared by the endpoint modules.

Every endpoint statistic is one row of :data:`ENDPOINT_COLUMNS`:
``endpoint, population, arm, visit, n, statistic, estimate, ci_low, ci_high, ci_level, ci_bounds,
p_value, method`` (``arm`` = ARMCD or ``"Overall"``; ``visit`` = AVISIT, ``"Baseline"`` or ``""``;
``n`` = the subjects the statistic is computed on; percentages and their CIs are in percent).
``ci_level`` is the confidence level the interval in ``ci_low``/``ci_high`` has (the requested level
for t and Clopper-Pearson intervals; the achieved level of an exact Hodges-Lehmann interval, or,
when the requested level cannot be reached and no interval is given, the highest attainable
level); ``ci_bounds`` is the interval notation of the limits (``[]``: both included; ``[)``, ``(]``,
``()``: a limit excluded), empty without an interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe import frames
from fcrnpipe.errors import UserError
from fcrnpipe.stats.ci import clopper_pearson, level_pct, t_interval

ENDPOINT_COLUMNS: list[str] = [
    "endpoint",
    "population",
    "arm",
    "visit",
    "n",
    "statistic",
    "estimate",
    "ci_low",
    "ci_high",
    "ci_level",
    "ci_bounds",
    "p_value",
    "method",
]
OVERALL = "Overall"
BASELINE_VISIT = "Baseline"

#: ARMCD of subjects not assigned to an arm (screen failures), compared upper-cased; an empty
#: ARMCD in ADSL means the same (SDTMIG 3.3+: ARMNRS instead of ARMCD). The same terms as
#: fcrnpipe.validation.terms.NOT_ASSIGNED_ARMCD (not imported: the stats jobs stay light).
NOT_ASSIGNED_ARMCD: tuple[str, ...] = ("SCRNFAIL", "NOTASSGN")

#: ADSL population flag -> the ``population`` label of the endpoint rows.
POPULATION_LABELS: dict[str | None, str] = {
    None: "All enrolled",
    "SCREENED": "All screened",
    "SAFFL": "Safety (SAFFL=Y)",
    "PDFL": "PD (PDFL=Y)",
    "PKFL": "PK (PKFL=Y)",
}

#: Continuous summary statistics, in reporting order, with the method of each.
CONTINUOUS_STATS: tuple[str, ...] = ("mean", "sd", "median", "min", "max")


def require_columns(df: pd.DataFrame, columns: Iterable[str], dataset: str) -> None:
    """Raise :class:`UserError` naming the dataset and the columns it lacks (:func:`fcrnpipe.frames.require_columns`)."""
    frames.require_columns(df, columns, dataset, f"needed for the endpoint statistics (see {frames.DATASETS_DOC})")


#: Shared helpers (one home: :mod:`fcrnpipe.frames`); ``text`` keeps blanks as ``""``.
flag_yes, to_float, text = frames.flag_yes, frames.to_float, frames.text_or_empty


def sentence_case(value: str) -> str:
    """``"WITHDRAWAL BY SUBJECT"`` -> ``"Withdrawal by subject"`` (mixed-case text is kept).

    >>> sentence_case("WITHDRAWAL BY SUBJECT"), sentence_case("Lost to follow-up")
    ('Withdrawal by subject', 'Lost to follow-up')
    """
    value = str(value).strip()
    return value[:1].upper() + value[1:].lower() if value.isupper() else value


def not_assigned(adsl: pd.DataFrame) -> pd.Series:
    """Boolean per ADSL row: the subject was not assigned to an arm (screen failure, not assigned)."""
    armcd = text(adsl["ARMCD"]).str.upper()
    return (armcd.eq("") | armcd.isin(set(NOT_ASSIGNED_ARMCD))).astype(bool)


def population(adsl: pd.DataFrame, arms: Sequence[str], flag: str | None) -> pd.DataFrame:
    """ADSL rows of the population ``flag`` (all subjects assigned to an arm if None), sorted by USUBJID.

    ``arms`` are the configured ARMCDs; a subject of the population in another arm is a
    :class:`UserError` (the configuration and the data disagree). Subjects not assigned to an arm
    (:func:`not_assigned`) are in no population.
    """
    require_columns(adsl, ["USUBJID", "ARMCD"] + ([flag] if flag else []), "ADSL")
    pop = adsl[flag_yes(adsl[flag]) & ~not_assigned(adsl)] if flag else adsl[~not_assigned(adsl)]
    pop = pop.assign(ARMCD=text(pop["ARMCD"]), USUBJID=text(pop["USUBJID"]))
    unknown = sorted(set(pop["ARMCD"]) - set(arms))
    if unknown:
        raise UserError(
            f"ADSL: ARMCD {', '.join(unknown)} not among config study.arms ({', '.join(arms)}); "
            "add the arm to config.yaml"
        )
    if pop["USUBJID"].duplicated().any():
        dup = sorted(pop.loc[pop["USUBJID"].duplicated(), "USUBJID"])[:3]
        raise UserError(f"ADSL: USUBJID not unique ({', '.join(dup)})")
    return pop.sort_values("USUBJID", kind="mergesort").reset_index(drop=True)


def restrict(df: pd.DataFrame, pop: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``df`` whose subject is in ``pop``, with ARMCD taken from ADSL (``pop``)."""
    out = df.assign(USUBJID=text(df["USUBJID"]))
    out = out[out["USUBJID"].isin(pop["USUBJID"])].drop(columns=["ARMCD"], errors="ignore")
    return out.merge(pop[["USUBJID", "ARMCD"]], on="USUBJID", how="left", validate="many_to_one")


def arm_groups(df: pd.DataFrame, arms: Sequence[str]) -> Iterator[tuple[str, pd.DataFrame]]:
    """``(arm, rows)`` for every configured arm (possibly empty), then ``("Overall", df)``."""
    for arm in arms:
        yield arm, df[df["ARMCD"] == arm]
    yield OVERALL, df


def arm_n(pop: pd.DataFrame, arms: Sequence[str]) -> dict[str, int]:
    """Subjects per arm and overall."""
    return {arm: int(g["USUBJID"].nunique()) for arm, g in arm_groups(pop, arms)}


def subject_count_rows(
    records: pd.DataFrame, pop: pd.DataFrame, arms: Sequence[str], *, endpoint: str, population: str, what: str
) -> list[dict[str, Any]]:
    """Rows ``n_subjects``: the subjects of ``pop`` with at least one of ``records`` (``what``
    says which), by arm and overall; n = the subjects of ``pop`` in the arm."""
    have = pop[pop["USUBJID"].isin(set(text(records["USUBJID"])))]
    return [
        row(endpoint, population, arm, "", len(p), "n_subjects", len(s), f"number of subjects with {what}")
        for (arm, p), (_, s) in zip(arm_groups(pop, arms), arm_groups(have, arms))
    ]


def row(
    endpoint: str,
    population: str,
    arm: str,
    visit: str,
    n: int,
    statistic: str,
    estimate: float,
    method: str,
    ci_low: float = math.nan,
    ci_high: float = math.nan,
    p_value: float = math.nan,
    *,
    ci_level: float = math.nan,
    ci_bounds: str | None = None,
) -> dict[str, Any]:
    """One endpoint row (a dict with the :data:`ENDPOINT_COLUMNS` keys).

    ``ci_bounds`` defaults to ``"[]"`` when a limit is given (closed interval), else ``""``.
    """
    if ci_bounds is None:
        ci_bounds = "[]" if (math.isfinite(float(ci_low)) or math.isfinite(float(ci_high))) else ""
    return {
        "endpoint": endpoint,
        "population": population,
        "arm": arm,
        "visit": visit,
        "n": int(n),
        "statistic": statistic,
        "estimate": float(estimate),
        "ci_low": float(ci_low),
        "ci_high": float(ci_high),
        "ci_level": float(ci_level),
        "ci_bounds": ci_bounds,
        "p_value": float(p_value),
        "method": method,
    }


def frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Endpoint rows as a data frame with exactly :data:`ENDPOINT_COLUMNS` (typed)."""
    df = pd.DataFrame(list(rows), columns=ENDPOINT_COLUMNS)
    df["n"] = df["n"].astype("int64")
    for c in ("estimate", "ci_low", "ci_high", "ci_level", "p_value"):
        df[c] = df[c].astype(float)
    for c in ("endpoint", "population", "arm", "visit", "statistic", "ci_bounds", "method"):
        df[c] = df[c].astype(object).where(df[c].notna(), "").astype(str)
    return df


def describe(values: Sequence[float] | np.ndarray, level: float = 0.95) -> dict[str, float]:
    """n, mean, SD (n-1), t-based CI of the mean, median, min, max of the non-missing values.

    NaN where undefined (no values; SD and CI need n >= 2).
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = int(x.size)
    nan = math.nan
    if n == 0:
        return {"n": 0, "mean": nan, "sd": nan, "ci_low": nan, "ci_high": nan, "median": nan, "min": nan, "max": nan}
    lo, hi = t_interval(x, level)
    return {
        "n": n,
        "mean": float(x.mean()),
        "sd": float(x.std(ddof=1)) if n > 1 else nan,
        "ci_low": lo,
        "ci_high": hi,
        "median": float(np.median(x)),
        "min": float(x.min()),
        "max": float(x.max()),
    }


def continuous_rows(
    values: Sequence[float] | np.ndarray,
    *,
    endpoint: str,
    population: str,
    arm: str,
    visit: str,
    level: float = 0.95,
    prefix: str = "",
    what: str = "",
    mean_ci: bool = True,
) -> list[dict[str, Any]]:
    """Rows ``mean`` (with the t-based CI if ``mean_ci``), ``sd``, ``median``, ``min``, ``max``.

    ``prefix`` is prepended to the statistic names (``"nadir_"`` -> ``nadir_mean`` ...); ``what``
    describes the summarised quantity in the method text.
    """
    s = describe(values, level)
    about = f" of {what}" if what else ""
    lvl = level_pct(level)
    methods = {
        "mean": f"arithmetic mean{about}" + (f"; {lvl} CI from the t-distribution (n-1 df)" if mean_ci else ""),
        "sd": f"sample standard deviation{about} (n-1 denominator)",
        "median": f"sample median{about}",
        "min": f"minimum{about}",
        "max": f"maximum{about}",
    }
    out = []
    for stat in CONTINUOUS_STATS:
        ci = (s["ci_low"], s["ci_high"]) if (stat == "mean" and mean_ci) else (math.nan, math.nan)
        lvl_ = level if not math.isnan(ci[0]) else math.nan
        out.append(
            row(endpoint, population, arm, visit, s["n"], prefix + stat, s[stat], methods[stat], *ci, ci_level=lvl_)
        )
    return out


def count_rows(
    k: int,
    n: int,
    *,
    endpoint: str,
    population: str,
    arm: str,
    visit: str,
    level: float = 0.95,
    denominator: str = "subjects in the population and arm",
    prefix: str = "",
) -> list[dict[str, Any]]:
    """Rows ``n_subjects`` (estimate = k, n = N) and ``percent`` (100·k/N, Clopper-Pearson CI)."""
    lo, hi = clopper_pearson(k, n, level)
    pct = 100.0 * k / n if n else math.nan
    return [
        row(endpoint, population, arm, visit, n, prefix + "n_subjects", k, f"number of subjects; N = {denominator}"),
        row(
            endpoint,
            population,
            arm,
            visit,
            n,
            prefix + "percent",
            pct,
            f"100 n/N, N = {denominator}; Clopper-Pearson exact {level_pct(level)} CI",
            100.0 * lo,
            100.0 * hi,
            ci_level=level if n else math.nan,
        ),
    ]


def visit_order(df: pd.DataFrame) -> list[tuple[float, str]]:
    """Distinct ``(AVISITN, AVISIT)`` of the rows with a non-empty AVISIT, sorted by AVISITN."""
    if df.empty:
        return []
    v = pd.DataFrame({"n": to_float(df["AVISITN"]), "v": text(df["AVISIT"])})
    v = v[(v["v"] != "") & v["n"].notna()].drop_duplicates()
    return sorted(((float(a), str(b)) for a, b in zip(v["n"], v["v"])), key=lambda t: (t[0], t[1]))


def unique_records(df: pd.DataFrame, keys: Sequence[str], dataset: str, what: str) -> None:
    """Raise :class:`UserError` if ``df`` has more than one row per ``keys`` (an upstream flag bug)."""
    dup = df.duplicated(list(keys), keep=False)
    if dup.any():
        first = df.loc[dup, list(keys)].astype(str).drop_duplicates().head(3)
        examples = "; ".join(", ".join(f"{k}={v}" for k, v in r.items()) for r in first.to_dict("records"))
        raise UserError(f"{dataset}: more than one {what} record per {'/'.join(keys)} ({examples})")


def baseline_records(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """The baseline records (``ABLFL = "Y"``): one per subject and PARAMCD, else UserError."""
    base = df[flag_yes(df["ABLFL"])]
    unique_records(base, ["USUBJID", "PARAMCD"], dataset, "baseline (ABLFL=Y)")
    return base


def post_baseline_visits(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Analysis records of the post-baseline visits: ``ANL01FL = "Y"``, AVISITN >= 1, AVISIT set.

    One per subject, PARAMCD and AVISITN, else UserError.
    """
    m = flag_yes(df["ANL01FL"]) & (to_float(df["AVISITN"]) >= 1) & (text(df["AVISIT"]) != "")
    post = df[m]
    unique_records(post, ["USUBJID", "PARAMCD", "AVISITN"], dataset, "analysis (ANL01FL=Y)")
    return post


def percent_of_baseline(df: pd.DataFrame) -> pd.Series:
    """``100 + PCHG`` (PCHG recomputed as 100·(AVAL-BASE)/BASE where missing)."""
    pchg = to_float(df["PCHG"]) if "PCHG" in df.columns else pd.Series(np.nan, index=df.index)
    aval, base = to_float(df["AVAL"]), to_float(df["BASE"])
    fallback = 100.0 * (aval - base) / base.where(base != 0)
    return 100.0 + pchg.fillna(fallback)


def visit_summary_rows(
    df: pd.DataFrame,
    arms: Sequence[str],
    *,
    values: pd.Series,
    endpoint: str,
    population: str,
    min_avisitn: float | None = None,
    level: float = 0.95,
    what: str = "",
) -> list[dict[str, Any]]:
    """Continuous summaries of ``values`` (aligned with ``df``) of the ANL01FL records by arm and
    analysis visit, the way the figures summarise a visit: every visit with AVISIT (AVISITN >=
    ``min_avisitn`` if given; Day 1 included), the ANL01FL record of each subject, groups with
    records only (n = 0 when all their values are missing). Display rows of the ARD."""
    d = df.assign(_value=values)
    anl = d[flag_yes(d["ANL01FL"]) & (text(d["AVISIT"]) != "")]
    if min_avisitn is not None:
        anl = anl[to_float(anl["AVISITN"]) >= min_avisitn]
    out: list[dict[str, Any]] = []
    for avisitn, avisit in visit_order(anl):
        at = anl[to_float(anl["AVISITN"]) == avisitn]
        for arm, g in arm_groups(at, arms):
            if len(g):
                out += continuous_rows(
                    g["_value"].to_numpy(float),
                    endpoint=endpoint,
                    population=population,
                    arm=arm,
                    visit=avisit,
                    level=level,
                    what=what,
                )
    return out


def by_visit_rows(
    df: pd.DataFrame,
    arms: Sequence[str],
    *,
    values: pd.Series,
    endpoint: str,
    population: str,
    include_baseline: bool,
    dataset: str,
    level: float = 0.95,
    what: str = "",
) -> list[dict[str, Any]]:
    """Continuous summaries of ``values`` (aligned with ``df``) by arm and analysis visit.

    Visits: ``"Baseline"`` (ABLFL records; if ``include_baseline``) then the post-baseline
    analysis visits (see :func:`post_baseline_visits`) in AVISITN order. Every arm gets rows at
    every visit present in ``df`` (n = 0 and NaN estimates where it has no data).
    """
    df = df.assign(_value=values)
    out: list[dict[str, Any]] = []
    if include_baseline:
        base = baseline_records(df, dataset)
        for arm, g in arm_groups(base, arms):
            out += continuous_rows(
                g["_value"].to_numpy(float),
                endpoint=endpoint,
                population=population,
                arm=arm,
                visit=BASELINE_VISIT,
                level=level,
                what=what,
            )
    post = post_baseline_visits(df, dataset)
    for avisitn, avisit in visit_order(post):
        at = post[to_float(post["AVISITN"]) == avisitn]
        for arm, g in arm_groups(at, arms):
            out += continuous_rows(
                g["_value"].to_numpy(float),
                endpoint=endpoint,
                population=population,
                arm=arm,
                visit=avisit,
                level=level,
                what=what,
            )
    return out
