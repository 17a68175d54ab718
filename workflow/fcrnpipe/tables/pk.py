"""PK and PK/PD tables: NCA summary, population PK/PD parameters (rendered 1:1 from the PK and
PK/PD stages' results files)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from fcrnpipe.labels import drug_name
from fcrnpipe.nca.summary import MEDIAN_RANGE_ONLY, REASON_COLUMNS
from fcrnpipe.stats import descriptive as D
from fcrnpipe.tables import format as F
from fcrnpipe.stats.demographics import ANALYSIS_SET, analysis_set_rows
from fcrnpipe.stats.pk import (
    NCA,
    NCA_PROFILES,
    NCA_REASON_STATISTICS,
    NCA_STATISTICS,
    PK,
    PKPD_NUMBERS,
    PKPD_POPULATION,
    nca_endpoint,
    nca_summary_rows,
    pkpd_endpoint,
    pkpd_parameter_rows,
)
from fcrnpipe.tables.core import (
    ArmsArg,
    Column,
    Grid,
    Row,
    Table,
    ard_of,
    armcds,
    build_table,
    numbers_from_ard,
    set_counts,
)


# ---------------------------------------------------------------------- PK and PK/PD tables
NCA_SUMMARY_COLUMNS = [
    "ARMCD",
    "interval",
    "parameter",
    "unit",
    "n",
    "geomean",
    "geocv_pct",
    "mean",
    "sd",
    "median",
    "min",
    "max",
]
#: Counts of values missing from the statistics (``pk/nca_summary.csv``; older files lack them).
NCA_SUMMARY_COUNTS = ["n_missing", "n_flagged"]


def nca_reasons(ard: pd.DataFrame) -> pd.DataFrame:
    """Why NCA values are missing, from the ARD (the pk_nca part's ``Overall`` rows of
    :func:`fcrnpipe.stats.pk.nca_reason_rows`): columns :data:`~fcrnpipe.nca.summary.REASON_COLUMNS`
    as :func:`fcrnpipe.nca.missing_reasons`, ``n`` = the reason row's estimate, ``n_profiles`` =
    the ``n_profiles`` row's estimate; sorted by interval, parameter, kind, decreasing n, reason."""
    sel = ard[
        ard["endpoint"].astype(str).str.startswith(f"{NCA}: ")
        & (ard["population"] == PK)
        & (ard["arm"] == D.OVERALL)
        & (ard["component"] == "estimate")
    ]
    profiles = {(e, v): int(x) for e, v, s, x in zip(sel["endpoint"], sel["visit"], sel["statistic"], sel["value"])
                if s == NCA_PROFILES}  # fmt: skip
    kinds = {stat: kind for kind, stat in NCA_REASON_STATISTICS.items()}
    rank = {k: i for i, k in enumerate(NCA_REASON_STATISTICS)}
    rows = []
    for e, v, s, x in zip(sel["endpoint"], sel["visit"], sel["statistic"], sel["value"]):
        stat, sep, reason = str(s).partition(": ")
        if sep and stat in kinds:
            rows.append((str(v), str(e)[len(NCA) + 2 :], kinds[stat], reason, int(x), profiles.get((e, v), 0)))
    rows.sort(key=lambda r: (r[0], r[1], rank[r[2]], -r[4], r[3]))
    return pd.DataFrame(rows, columns=REASON_COLUMNS).astype({"n": "int64", "n_profiles": "int64"})


def nca_reason_notes(reasons: pd.DataFrame) -> list[str]:
    """Footnotes saying why NCA values are missing from the table, from
    :func:`fcrnpipe.nca.missing_reasons`: per interval, the parameters that share the same
    reasons and counts are listed together."""
    if reasons is None or reasons.empty:
        return []
    from fcrnpipe.nca.core import PARAMETERS

    rank = {p: i for i, p in enumerate(PARAMETERS)}
    notes = []
    for interval in sorted(set(reasons["interval"]), key=str):
        block = reasons[reasons["interval"] == interval]
        groups: dict[tuple, list[str]] = {}
        for param, g in block.groupby("parameter", sort=False):
            key = tuple((r.kind, r.reason, int(r.n), int(r.n_profiles)) for r in g.itertuples(index=False))
            groups.setdefault(key, []).append(str(param))
        for key, params in sorted(groups.items(), key=lambda kv: min(rank.get(p, 999) for p in kv[1])):
            params = sorted(params, key=lambda p: (rank.get(p, 999), p))
            parts = [f"{kind} in {n} of {total} profiles: {reason}" for kind, reason, n, total in key]
            notes.append(f"{interval}, {', '.join(params)}: " + "; ".join(parts) + ".")
    return notes


#: A statistic row of a table: its label, its formatter of one arm's numbers, the numbers it shows.
StatRow = tuple[str, Callable[[Mapping[str, Any]], str], list[str]]


def _nca_stat_rows(counts_cols: Sequence[str], excluded: bool) -> list[StatRow]:
    """The statistic rows of each parameter: n, geometric mean (CV%), mean (SD), median, range,
    then the counts of missing and flagged values the summary has (``counts_cols``)."""
    stat_rows: list[StatRow] = [
        ("n", lambda v: F.count(v.get("n")), ["n"]),
        (
            "Geometric mean (CV%)",
            lambda v: (
                F.NE if F.is_missing(v.get("geomean")) else f"{F.sig(v['geomean'])} ({F.rnd(v.get('geocv_pct'), 1)})"
            ),
            ["geomean", "geocv_pct"],
        ),
        (
            "Mean (SD)",
            lambda v: F.NE if F.is_missing(v.get("mean")) else f"{F.sig(v['mean'])} ({F.sig(v.get('sd'))})",
            ["mean", "sd"],
        ),
        ("Median", lambda v: F.sig(v.get("median")), ["median"]),
        (
            "Min, Max",
            lambda v: F.NE if F.is_missing(v.get("min")) else f"{F.sig(v['min'])}, {F.sig(v.get('max'))}",
            ["min", "max"],
        ),
    ]
    count_labels = (("n_missing", "Not estimable (n)"), ("n_flagged", "Excluded (n)" if excluded else "Flagged (n)"))
    for col, label in count_labels:
        if col in counts_cols:
            stat_rows.append((label, lambda v, c=col: F.count(v.get(c)), [col]))
    return stat_rows


def _nca_body(grid: Grid, s: pd.DataFrame, stat_rows: Sequence[StatRow], counts_cols: Sequence[str]) -> None:
    """A section per interval, in it each parameter (NCA order) with its statistic rows; rows
    missing (or, for counts, zero) for every arm are left out."""
    from fcrnpipe.nca.core import PARAMETERS

    rank = {p: i for i, p in enumerate(PARAMETERS)}
    numbers = NCA_SUMMARY_COLUMNS[4:] + list(counts_cols)
    for interval in sorted(set(s["interval"]), key=str):
        grid.section(f"Interval: {interval}")
        block = s[s["interval"] == interval]
        params = sorted(set(zip(block["parameter"], block["unit"])), key=lambda pu: (rank.get(pu[0], 999), pu))
        for param, unit in params:
            rows = block[(block["parameter"] == param) & (block["unit"] == unit)]
            vals = {
                r["ARMCD"]: {k: D.to_float(pd.Series([r[k]])).iloc[0] for k in numbers}
                for _, r in rows.iterrows()
            }
            label = f"{param} ({unit})" if unit and unit != "1" else param
            for stat, fmt, keys in stat_rows:
                cells = [v.get(k) for v in vals.values() for k in keys]
                if all(F.is_missing(x) or (x == 0 and set(keys) <= set(counts_cols)) for x in cells):
                    continue
                grid.add(label, stat, fmt, keys, vals)


def _nca_footnotes(acceptance: str, reasons: pd.DataFrame | None) -> list[str]:
    """The NCA table's footnotes: the methods (with the acceptance rules), then why values are
    missing."""
    return [
        "NCA per subject and dosing interval (pk/nca.csv); geometric CV% = 100·sqrt(exp(s²) - 1), s = SD of the "
        f"log values; {', '.join(sorted(MEDIAN_RANGE_ONLY))} by median and range only. Values with 3 significant "
        "figures. tau = the actual dosing interval (to the subject's next dose; nominal after the last dose), "
        "AUCtau over it, Cavg = AUCtau/tau, Ctrough = the concentration observed at its end (pre-dose sample of "
        "the next dose); Rac = AUC after the last dose / AUC after the first dose over the same time after each "
        "dose (the shorter of the two intervals). AUCinf, AUCinf_pred and AUCpext are single-dose parameters "
        "(first-dose interval only). t_half, AUCinf and CL/F need lambda_z: with weekly dosing lambda_z can only "
        "be estimated when at least 3 concentrations after Cmax fall within the dosing interval."
        + (f" Acceptance: {acceptance}." if acceptance else ""),
        *nca_reason_notes(reasons if reasons is not None else pd.DataFrame()),
    ]


def nca_summary_table(
    summary: pd.DataFrame,
    arms: ArmsArg,
    adsl: pd.DataFrame | None = None,
    *,
    data_cut: str = "",
    acceptance: str = "",
    excluded: bool = True,
    treatment: str | None = None,
    ard: pd.DataFrame | None = None,
) -> Table:
    """NCA parameters by arm and interval, 3 significant figures: the rows (interval, parameter,
    unit, arm) of ``pk/nca_summary.csv``, their numbers from the ARD (``ard``: the part
    ``stats/parts/pk_nca.csv``, :func:`fcrnpipe.stats.pk.nca_summary_rows`, with
    :attr:`Table.trace`; without one, converted from ``summary`` first).

    Header N = PK population per arm: the ARD's ``Analysis set`` rows (disposition part), else
    computed from ``adsl`` when given. Statistics that are missing for every arm (e.g. geometric
    mean of Tmax) are not shown. Rows "Not estimable (n)" and "Excluded (n)" appear where values
    are missing from the statistics, and the footnotes say why and in how many of how many
    profiles (:func:`nca_reasons`: the ARD's reason rows, from the summary's ``notes``);
    ``acceptance`` describes the
    acceptance rules (:meth:`fcrnpipe.nca.AcceptanceRules.describe`), ``excluded`` whether
    flagged values were left out of the statistics (else the row says "Flagged (n)").
    """
    D.require_columns(summary, NCA_SUMMARY_COLUMNS, "pk/nca_summary.csv")
    counts_cols = [c for c in NCA_SUMMARY_COUNTS if c in summary.columns]
    codes = armcds(arms)
    if ard is None:
        sets = analysis_set_rows(adsl, codes, ("PKFL",)) if adsl is not None else []
        ard = ard_of(nca_summary_rows(summary), sets)
    has_sets = (ard["endpoint"] == ANALYSIS_SET).any()
    counts = set_counts(ard, "PKFL", codes) if has_sets else {}
    grid = Grid([Column(str(a["armcd"]), str(a["label"]), counts.get(str(a["armcd"]))) for a in arms])
    s = summary.assign(ARMCD=D.text(summary["ARMCD"]))
    s = s.sort_values(["interval", "parameter", "ARMCD"], kind="mergesort").reset_index(drop=True)
    numbers = NCA_SUMMARY_COLUMNS[4:] + counts_cols

    def sources(r: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
        key = (nca_endpoint(D.text(pd.Series([r["parameter"]])).iloc[0]), PK, r["ARMCD"], D.text(pd.Series([r["interval"]])).iloc[0])
        return {c: (*key, NCA_STATISTICS[c], "estimate") for c in numbers}

    s, trace = numbers_from_ard(s, ard, sources)
    _nca_body(grid, s, _nca_stat_rows(counts_cols, excluded), counts_cols)
    data = s[NCA_SUMMARY_COLUMNS + counts_cols]
    return build_table(
        "nca_summary",
        f"Non-compartmental PK parameters of {drug_name(treatment)} by dose",
        "PKFL",
        grid,
        _nca_footnotes(acceptance, nca_reasons(ard)),
        ["CV", "SD", "Min", "Max", "NE"],
        data_cut,
        "Parameter",
        data,
        treatment=treatment,
        trace=trace,
    )


POPPK_COLUMNS = ["parameter", "estimate", "se", "rse_pct", "ci_low", "ci_high", "unit", "kind"]
KIND_TITLES = {
    "fixed": "Fixed effects (typical values)",
    "iiv": "Inter-individual variability",
    "residual": "Residual error",
}


def _pkpd_columns(has_boot: bool) -> list[Column]:
    """Estimate, SE, RSE, 95% CI, the bootstrap CI (``has_boot``) and the unit."""
    cols = [
        Column("estimate", "Estimate"),
        Column("se", "SE"),
        Column("rse_pct", "RSE (%)"),
        Column("ci", "95% CI"),
    ]
    if has_boot:
        cols.append(Column("boot_ci", "Bootstrap 95% CI"))
    cols.append(Column("unit", "Unit"))
    return cols


def _sig_interval(lo: float, hi: float) -> str:
    """``(lo, hi)`` with 3 significant figures, NE when either limit is missing."""
    return F.NE if F.is_missing(lo) or F.is_missing(hi) else f"({F.sig(lo)}, {F.sig(hi)})"


def _pkpd_part_rows(grid: Grid, q: pd.DataFrame, part: str, has_boot: bool) -> None:
    """One model part's parameters (``q``), a section per kind (fixed, IIV, residual, others),
    titled with the part and its models."""
    models = ", ".join(m for m in dict.fromkeys(q["model"]) if m)
    prefix = f"{part} model ({models}): " if part and models else (f"{part}: " if part else "")
    kinds = sorted(set(q["kind"]), key=lambda k: (list(KIND_TITLES).index(k) if k in KIND_TITLES else 9, k))
    keys = ("estimate", "se", "rse_pct", "ci_low", "ci_high") + (("boot_ci_low", "boot_ci_high") if has_boot else ())
    for kind in kinds:
        grid.section(prefix + KIND_TITLES.get(kind, kind.capitalize()))
        for _, r in q[q["kind"] == kind].iterrows():
            v = {k: D.to_float(pd.Series([r[k]])).iloc[0] for k in keys}
            cells = {
                "estimate": F.sig(v["estimate"]),
                "se": F.sig(v["se"]),
                "rse_pct": F.rnd(v["rse_pct"], 1),
                "ci": _sig_interval(v["ci_low"], v["ci_high"]),
                "unit": str(r["unit"]),
            }
            if has_boot:
                cells["boot_ci"] = _sig_interval(v["boot_ci_low"], v["boot_ci_high"])
            grid.rows.append(Row(str(r["parameter"]), "", cells, 1))


def _pkpd_footnotes(params: pd.DataFrame, has_boot: bool) -> list[str]:
    """The estimation method, the bootstrap (with its successful replicates) and abbreviations."""
    footnotes = [
        "Estimates of the final population PK/PD model (nonlinear mixed effects, FOCE-I); SE from the "
        "estimator's covariance step; RSE = 100·SE/|estimate|; 95% CI from the SE on the estimation scale "
        "(log scale for log-normal parameters). NE = not estimated (fixed in the model or covariance step "
        "unavailable). Values with 3 significant figures.",
    ]
    if has_boot:
        n_ok = D.to_float(params["boot_n_ok"]).max() if "boot_n_ok" in params.columns else float("nan")
        n_txt = "" if F.is_missing(n_ok) else f" over {int(n_ok)} successful replicates"
        footnotes.append(
            f"Bootstrap 95% CI: 2.5th-97.5th percentiles of the estimates refitted on subject resamples{n_txt} "
            "(failed replicates and those with an estimate on the refit's search bound are reported in "
            "pkpd/bootstrap.csv and pkpd/fit_summary.json)."
        )
    footnotes.append("Abbreviations: CI = confidence interval; IIV = inter-individual variability; "
                     "RSE = relative standard error; SE = standard error.")
    return footnotes


def pkpd_parameters_table(params: pd.DataFrame, *, data_cut: str = "", ard: pd.DataFrame | None = None) -> Table:
    """Population PK/PD parameter estimates, 3 significant figures: the parameters (order, unit,
    kind, part, model) of ``pkpd/population_parameters.csv``, their numbers from the ARD
    (``ard``: the part ``stats/parts/pkpd.csv``, :func:`fcrnpipe.stats.pk.pkpd_parameter_rows`,
    with :attr:`Table.trace`; without one, converted from ``params`` first).

    Sections by model part (``part``/``model`` columns, when present) and kind; a bootstrap
    percentile CI column is added when ``boot_ci_low``/``boot_ci_high`` are present.
    """
    D.require_columns(params, POPPK_COLUMNS, "pkpd/population_parameters.csv")
    if ard is None:
        ard = ard_of(pkpd_parameter_rows(params))
    numbers = [c for c in PKPD_NUMBERS if c in params.columns]

    def sources(r: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
        part = D.text(pd.Series([r.get("part", "")])).iloc[0]
        ep = pkpd_endpoint(D.text(pd.Series([r["parameter"]])).iloc[0], part)
        return {c: (ep, PKPD_POPULATION, D.OVERALL, "", *PKPD_NUMBERS[c]) for c in numbers}

    params, trace = numbers_from_ard(params.reset_index(drop=True), ard, sources)
    has_boot = {"boot_ci_low", "boot_ci_high"} <= set(params.columns)
    cols = _pkpd_columns(has_boot)
    grid = Grid(cols)
    p = params.assign(kind=D.text(params["kind"]).str.lower(), unit=D.text(params["unit"]))
    if "part" in p.columns:
        p = p.assign(part=D.text(p["part"]), model=D.text(p["model"]) if "model" in p.columns else "")
        parts = list(dict.fromkeys(p["part"]))
    else:
        p = p.assign(part="", model="")
        parts = [""]
    for part in parts:
        _pkpd_part_rows(grid, p[p["part"] == part], part, has_boot)
    footnotes = _pkpd_footnotes(params, has_boot)
    out_cols = POPPK_COLUMNS + [c for c in ("boot_ci_low", "boot_ci_high", "boot_n_ok", "part", "model")
                                if c in params.columns]
    return Table(
        name="pkpd_parameters",
        title="Population PK/PD model parameter estimates",
        population="PK and PD populations (subjects in the model fit)",
        columns=cols,
        rows=grid.rows,
        footnotes=footnotes,
        data=params[out_cols].reset_index(drop=True),
        data_cut=data_cut,
        label_header="Parameter",
        stat_header="",
        trace=trace,
    )
