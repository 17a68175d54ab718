"""The PK concentration-time figure's summaries (job ``stats_part`` (part=pk): ADSL + ADPC ->
``stats/parts/pk.csv``, display rows of the ARD).

``PK concentration: geometric mean by nominal time`` (PK population, by arm and nominal time
after the first dose): the geometric mean of the measurable concentrations where at least half
of the subjects sampled were measurable (statistic ``geometric_mean``, n = subjects sampled) and
the subjects with a measurable concentration (``n_measurable``); the ARD's ``visit`` is the
nominal time, NFRLT in hours (:func:`nominal_time_label`). ``PK concentration: subjects with a
sample``: the subjects with at least one concentration record, by arm and overall.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.nca.summary import parse_notes
from fcrnpipe.stats.descriptive import OVERALL, POPULATION_LABELS, flag_yes, frame, population, require_columns
from fcrnpipe.stats.descriptive import restrict, row, subject_count_rows, text, to_float

PK_GEOMETRIC_MEAN = "PK concentration: geometric mean by nominal time"
PK_SUBJECTS = "PK concentration: subjects with a sample"
PK = POPULATION_LABELS["PKFL"]
#: A geometric mean is given where at least this share of the subjects sampled was measurable.
MIN_MEASURABLE_FRACTION = 0.5
GEOMETRIC_MEAN_COLUMNS = ["ARMCD", "NOMDAY", "n", "n_measurable", "gmean"]


def prepare_concentrations(adpc: pd.DataFrame) -> pd.DataFrame:
    """ADPC with float DAY (AFRLT/24), NOMDAY (NFRLT/24), BLQ (bool), CONC (measurable AVAL) and
    PLOT_BLQ (LLOQ/2 for BLQ records, else NaN); records without a time (AFRLT) left out."""
    require_columns(adpc, ["USUBJID", "AVAL", "AFRLT", "NFRLT"], "ADPC")
    df = adpc.copy()
    df["DAY"] = to_float(df["AFRLT"]) / 24.0
    df["NOMDAY"] = to_float(df["NFRLT"]) / 24.0
    blq = flag_yes(df["BLQFL"]) if "BLQFL" in df.columns else pd.Series(False, index=df.index)
    df["BLQ"] = blq
    aval = to_float(df["AVAL"])
    df["CONC"] = aval.where(~blq & (aval > 0))
    lloq = to_float(df["LLOQ"]) if "LLOQ" in df.columns else pd.Series(np.nan, index=df.index)
    df["PLOT_BLQ"] = (lloq / 2.0).where(blq)
    return df[df["DAY"].notna()]


def geometric_mean(values: Sequence[float] | np.ndarray) -> float:
    """Geometric mean of the positive values (NaN if none)."""
    x = np.asarray(values, dtype=float)
    x = x[(~np.isnan(x)) & (x > 0)]
    return float(np.exp(np.log(x).mean())) if x.size else math.nan


def geometric_means(pc: pd.DataFrame, min_fraction: float = MIN_MEASURABLE_FRACTION) -> pd.DataFrame:
    """Geometric mean of measurable concentrations per ARMCD and nominal day.

    A mean is given where at least ``min_fraction`` of the subjects sampled at that nominal
    time had a measurable concentration (BLQ values are not imputed). Columns
    :data:`GEOMETRIC_MEAN_COLUMNS`: ARMCD, NOMDAY, n (subjects sampled), n_measurable, gmean.
    """
    rows = []
    for (armcd, nomday), grp in pc[pc["NOMDAY"].notna()].groupby(["ARMCD", "NOMDAY"], sort=True):
        n = int(grp["USUBJID"].nunique())
        meas = grp[grp["CONC"].notna()]
        n_meas = int(meas["USUBJID"].nunique())
        gm = geometric_mean(meas["CONC"].to_numpy()) if n and n_meas / n >= min_fraction else math.nan
        rows.append({"ARMCD": armcd, "NOMDAY": float(nomday), "n": n, "n_measurable": n_meas, "gmean": gm})
    return pd.DataFrame(rows, columns=GEOMETRIC_MEAN_COLUMNS)


def nominal_time_label(nfrlt: float) -> str:
    """The ARD ``visit`` of a nominal time: NFRLT in hours, exactly (``"168.0 h"``).

    >>> nominal_time_label(168.0), nominal_day(nominal_time_label(168.0))
    ('168.0 h', 7.0)
    """
    return f"{float(nfrlt)!r} h"


def nominal_day(label: str) -> float:
    """The nominal day (NFRLT/24, as :func:`prepare_concentrations`) of an ARD ``visit``
    written by :func:`nominal_time_label`."""
    return float(label.split(" ")[0]) / 24.0


def pk_display_part(
    adsl: pd.DataFrame, adpc: pd.DataFrame, arms: Sequence[str], flag: str = "PKFL"
) -> pd.DataFrame:
    """Display rows of job ``stats_part`` (part=pk) (see the module docstring), population ``flag``."""
    pop = population(adsl, arms, flag)
    pc = restrict(prepare_concentrations(adpc), pop)
    label = POPULATION_LABELS[flag]
    rows: list[dict[str, Any]] = subject_count_rows(
        pc, pop, arms, endpoint=PK_SUBJECTS, population=label, what="at least one concentration record (ADPC)"
    )
    frac = f"{MIN_MEASURABLE_FRACTION:.0%}"
    hours = dict(zip(pc["NOMDAY"], to_float(pc["NFRLT"])))
    for r in geometric_means(pc).itertuples(index=False):
        visit = nominal_time_label(hours[r.NOMDAY])
        rows.append(
            row(PK_GEOMETRIC_MEAN, label, r.ARMCD, visit, r.n, "geometric_mean", r.gmean,
                "geometric mean of the measurable concentrations (BLQ not imputed) at the nominal time (NFRLT), "
                f"given where at least {frac} of the n subjects sampled were measurable")
        )  # fmt: skip
        rows.append(
            row(PK_GEOMETRIC_MEAN, label, r.ARMCD, visit, r.n, "n_measurable", r.n_measurable,
                "subjects with a measurable concentration at the nominal time; n = subjects sampled")
        )  # fmt: skip
    return frame(rows)


# ------------------------------------------------- the PK and PK/PD stages' results in the ARD
NCA = "NCA"
#: Columns of ``pk/nca_summary.csv`` -> ARD statistic (``n_missing``/``n_flagged`` when present).
NCA_STATISTICS: dict[str, str] = {
    "n": "n",
    "geomean": "geometric_mean",
    "geocv_pct": "geometric_cv_pct",
    "mean": "mean",
    "sd": "sd",
    "median": "median",
    "min": "min",
    "max": "max",
    "n_missing": "n_missing",
    "n_flagged": "n_flagged",
}
_NCA_METHODS = {
    "n": "subjects with a value",
    "geometric_mean": "geometric mean",
    "geometric_cv_pct": "geometric CV% = 100·sqrt(exp(s²) - 1), s = SD of the log values",
    "mean": "arithmetic mean",
    "sd": "sample standard deviation (n-1 denominator)",
    "median": "median",
    "min": "minimum",
    "max": "maximum",
    "n_missing": "profiles whose value is not estimable",
    "n_flagged": "values flagged by the acceptance rules",
}


def nca_endpoint(parameter: str) -> str:
    """ARD endpoint of an NCA parameter: ``"NCA: Cmax"``."""
    return f"{NCA}: {parameter}"


#: ARD statistic of the profiles (all arms) whose value is missing from the statistics for one
#: reason, by kind of :func:`fcrnpipe.nca.missing_reasons`: ``n_missing: <reason>`` ...
NCA_REASON_STATISTICS = {"not estimable": "n_missing", "excluded": "n_excluded", "flagged": "n_flagged"}
NCA_PROFILES = "n_profiles"


def nca_reason_statistic(kind: str, reason: str) -> str:
    """ARD statistic of the profiles of one missing-value kind and reason: ``n_missing: <reason>``."""
    return f"{NCA_REASON_STATISTICS[kind]}: {reason}"


def nca_reason_rows(summary: pd.DataFrame) -> list[dict[str, Any]]:
    """Display rows of why NCA values are missing, over all arms (arm ``Overall``), per interval
    and parameter: ``n_profiles`` (the profiles: n + n_missing + the excluded ones) and, per kind
    and reason of the ``notes`` (:func:`fcrnpipe.nca.summary.parse_notes`), the profiles
    concerned (:func:`nca_reason_statistic`; n = the profiles), in the order of
    :func:`fcrnpipe.nca.missing_reasons` (kind, decreasing count, reason). The NCA table's
    footnotes ("not estimable in k of n profiles") show them. None without ``notes``."""
    if "notes" not in summary.columns or "n_missing" not in summary.columns:
        return []
    profiles: dict[tuple[str, str], int] = {}
    counts: dict[tuple[str, str], dict[tuple[str, str], int]] = {}
    n, n_missing = to_float(summary["n"]).fillna(0), to_float(summary["n_missing"]).fillna(0)
    for i, (interval, param, notes) in enumerate(zip(text(summary["interval"]), text(summary["parameter"]), summary["notes"])):
        reasons = parse_notes(notes)
        excluded = sum(k for kind, _, k in reasons if kind == "excluded")
        key = (interval, param)
        profiles[key] = profiles.get(key, 0) + int(n.iloc[i]) + int(n_missing.iloc[i]) + excluded
        by_reason = counts.setdefault(key, {})
        for kind, reason, k in reasons:
            by_reason[(kind, reason)] = by_reason.get((kind, reason), 0) + k
    rank = {k: i for i, k in enumerate(NCA_REASON_STATISTICS)}
    rows: list[dict[str, Any]] = []
    for (interval, param), total in sorted(profiles.items()):
        endpoint = nca_endpoint(param)
        rows.append(row(endpoint, PK, OVERALL, interval, total, NCA_PROFILES, total,
                        f"profiles of the interval with {param}, all arms (NCA stage, pk/nca_summary.csv)"))  # fmt: skip
        ordered = sorted(counts[(interval, param)].items(), key=lambda kv: (rank[kv[0][0]], -kv[1], kv[0][1]))
        for (kind, reason), k in ordered:
            method = f"profiles whose {param} is {kind}: {reason}, all arms (NCA stage, notes of pk/nca_summary.csv)"
            rows.append(row(endpoint, PK, OVERALL, interval, total, nca_reason_statistic(kind, reason), k, method))
    return rows


def nca_summary_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """``pk/nca_summary.csv`` (the NCA's statistics by arm, interval and parameter) as display
    rows (job ``stats_part`` -> ``stats/parts/pk_nca.csv``): endpoint ``NCA: <parameter>``,
    PK population, arm = ARMCD, visit = the dosing interval, one statistic per column of
    :data:`NCA_STATISTICS` (n = the subjects with a value), values as in the file."""
    require_columns(summary, ["ARMCD", "interval", "parameter", "unit", "n"], "pk/nca_summary.csv")
    cols = [c for c in NCA_STATISTICS if c in summary.columns]
    values = {c: to_float(summary[c]) for c in cols}
    rows = []
    for i, (arm, interval, param, unit) in enumerate(
        zip(text(summary["ARMCD"]), text(summary["interval"]), text(summary["parameter"]), text(summary["unit"]))
    ):
        n = values["n"].iloc[i]
        for c in cols:
            stat = NCA_STATISTICS[c]
            method = f"{_NCA_METHODS[stat]} of {param} ({unit}) over the profiles of the arm (NCA stage, pk/nca_summary.csv)"
            rows.append(row(nca_endpoint(param), PK, arm, interval, 0 if math.isnan(n) else int(n), stat,
                            values[c].iloc[i], method))  # fmt: skip
    return frame(rows + nca_reason_rows(summary))


PKPD_MODEL = "PK/PD model"
PKPD_POPULATION = "Subjects in the PK/PD model fit"
#: Level of the covariance-step and bootstrap intervals of ``pkpd/population_parameters.csv``.
PKPD_CI_LEVEL = 0.95
#: Columns of ``pkpd/population_parameters.csv`` -> ARD (statistic, component).
PKPD_NUMBERS: dict[str, tuple[str, str]] = {
    "estimate": ("estimate", "estimate"),
    "se": ("se", "estimate"),
    "rse_pct": ("rse_pct", "estimate"),
    "ci_low": ("estimate", "ci_low"),
    "ci_high": ("estimate", "ci_high"),
    "boot_ci_low": ("bootstrap_percentile_ci", "ci_low"),
    "boot_ci_high": ("bootstrap_percentile_ci", "ci_high"),
    "boot_n_ok": ("bootstrap_percentile_ci", "n"),
}


def pkpd_endpoint(parameter: str, part: str = "") -> str:
    """ARD endpoint of a population parameter: ``"PK/PD model: PK: CL"`` (``part`` = the model
    part, when the file has one)."""
    return f"{PKPD_MODEL}: {part}: {parameter}" if part else f"{PKPD_MODEL}: {parameter}"


def pkpd_parameter_rows(params: pd.DataFrame) -> pd.DataFrame:
    """``pkpd/population_parameters.csv`` as display rows (job ``stats_part`` ->
    ``stats/parts/pkpd.csv``): per parameter (endpoint :func:`pkpd_endpoint`, population
    :data:`PKPD_POPULATION`, arm Overall) the statistics ``estimate`` (with the covariance-step
    CI), ``se``, ``rse_pct`` and, when the file has them, ``bootstrap_percentile_ci`` (the
    percentile CI, n = the replicates it uses, no estimate of its own); values as in the file."""
    require_columns(params, ["parameter", "estimate", "se", "rse_pct", "ci_low", "ci_high"], "pkpd/population_parameters.csv")
    v = {c: to_float(params[c]) for c in PKPD_NUMBERS if c in params.columns}
    parts = text(params["part"]) if "part" in params.columns else pd.Series("", index=params.index)
    nan = math.nan
    rows = []

    def level(lo: float, hi: float) -> float:
        return PKPD_CI_LEVEL if not (math.isnan(lo) and math.isnan(hi)) else nan

    for i, (param, part) in enumerate(zip(text(params["parameter"]), parts)):
        ep = pkpd_endpoint(param, part)
        lo, hi = v["ci_low"].iloc[i], v["ci_high"].iloc[i]
        rows += [
            row(ep, PKPD_POPULATION, OVERALL, "", 0, "estimate", v["estimate"].iloc[i],
                "population estimate (nonlinear mixed effects, FOCE-I; PK/PD stage); 95% CI from the SE on the "
                "estimation scale", lo, hi, ci_level=level(lo, hi)),
            row(ep, PKPD_POPULATION, OVERALL, "", 0, "se", v["se"].iloc[i], "standard error from the covariance step"),
            row(ep, PKPD_POPULATION, OVERALL, "", 0, "rse_pct", v["rse_pct"].iloc[i], "relative standard error, 100·SE/|estimate|"),
        ]  # fmt: skip
        if "boot_ci_low" in v:
            lo, hi = v["boot_ci_low"].iloc[i], v["boot_ci_high"].iloc[i]
            n_ok = v["boot_n_ok"].iloc[i] if "boot_n_ok" in v else nan
            rows.append(
                row(ep, PKPD_POPULATION, OVERALL, "", 0 if math.isnan(n_ok) else int(n_ok), "bootstrap_percentile_ci",
                    nan, "2.5th-97.5th percentiles of the estimates refitted on subject resamples; n = replicates used",
                    lo, hi, ci_level=level(lo, hi))
            )  # fmt: skip
    return frame(rows)


#: ARD part (rule ``stats_part``, wildcard ``part``) -> the conversion of its stage's results
#: file into display rows: ``pk_nca`` from ``pk/nca_summary.csv``, ``pkpd`` from
#: ``pkpd/population_parameters.csv``
RESULTS_PARTS = {"pk_nca": nca_summary_rows, "pkpd": pkpd_parameter_rows}


def results_part_rows(part: str, results: pd.DataFrame) -> pd.DataFrame:
    """The display rows of ARD part ``part`` (a key of :data:`RESULTS_PARTS`) from its results file."""
    if part not in RESULTS_PARTS:
        raise ValueError(f"unknown results part {part!r}; known: {', '.join(RESULTS_PARTS)}")
    return RESULTS_PARTS[part](results)


__all__ = [
    "NCA_STATISTICS",
    "PKPD_NUMBERS",
    "PK_GEOMETRIC_MEAN",
    "PK_SUBJECTS",
    "RESULTS_PARTS",
    "geometric_mean",
    "geometric_means",
    "nca_endpoint",
    "nca_summary_rows",
    "nominal_day",
    "nominal_time_label",
    "pk_display_part",
    "pkpd_endpoint",
    "pkpd_parameter_rows",
    "prepare_concentrations",
    "results_part_rows",
]
