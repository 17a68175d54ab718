"""PD, laboratory and efficacy tables by visit: IgG, albumin, cholesterol, AQP4-IgG, EDSS (rendered
from the ARD)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

import pandas as pd

from fcrnpipe.stats import descriptive as D
from fcrnpipe.stats.ci import level_pct
from fcrnpipe.stats.demographics import analysis_set_rows
from fcrnpipe.stats.efficacy import AQP4, IGG, aqp4_endpoints, edss_endpoints, igg_endpoints, improvement_text
from fcrnpipe.stats.safety import LAB_EXTREME, lab_by_visit
from fcrnpipe.tables import format as F
from fcrnpipe.tables.core import (
    ArmsArg,
    Grid,
    Table,
    ard_endpoints,
    ard_of,
    arm_columns,
    armcds,
    build_table,
    continuous_block,
    ep_values,
    percent_ci_row,
    set_counts,
)
from fcrnpipe.units import UNIT_TABLE, load_unit_table


# ----------------------------------------------------------------------- by-visit summaries
def lab_decimals(units: pd.DataFrame) -> dict[str, int]:
    """Decimals of the reported data per PARAMCD from ``resources/units.csv`` (largest of its units)."""
    D.require_columns(units, ["PARAMCD", "decimals"], "units.csv")
    g = units.assign(decimals=D.to_float(units["decimals"])).groupby("PARAMCD")["decimals"].max()
    return {str(k): int(v) for k, v in g.items() if not math.isnan(v)}


@cache
def _repository_decimals() -> dict[str, int]:
    return lab_decimals(load_unit_table(UNIT_TABLE))


def default_decimals() -> dict[str, int]:
    """:func:`lab_decimals` of the repository's unit table (:data:`fcrnpipe.units.UNIT_TABLE`): the
    decimals of a laboratory table whose caller passes none (the pipeline passes those of the
    configured unit table), so ``units.csv`` is their one source.

    >>> {k: default_decimals()[k] for k in ("IGG", "ALB", "CHOL", "AQP4AB")}
    {'IGG': 2, 'ALB': 1, 'CHOL': 2, 'AQP4AB': 0}
    """
    return dict(_repository_decimals())


#: Display names of the laboratory parameters (the unit comes from the data).
PARAM_NAMES: dict[str, str] = {
    "IGG": "Total IgG",
    "ALB": "Albumin",
    "CHOL": "Total cholesterol",
    "LDL": "LDL cholesterol",
    "HDL": "HDL cholesterol",
}


def _param_label(adlb: pd.DataFrame, paramcd: str) -> str:
    """``"Total IgG (g/L)"``: display name (else ADLB PARAM, else PARAMCD) and unit (AVALU, else
    the parenthesised part of PARAM)."""
    rows = adlb[D.text(adlb["PARAMCD"]) == paramcd]

    def first(col: str) -> str:
        v = D.text(rows[col]) if col in rows.columns else pd.Series([], dtype=object)
        v = v[v != ""]
        return str(v.iloc[0]) if len(v) else ""

    param, unit = first("PARAM"), first("AVALU")
    if not unit and param.endswith(")") and "(" in param:
        unit = param[param.rfind("(") + 1 : -1]
    name = PARAM_NAMES.get(paramcd) or (param[: param.rfind("(")].strip() if "(" in param else param) or paramcd
    return f"{name} ({unit})" if unit else name


def _visits_of(ep: pd.DataFrame, endpoint: str) -> list[str]:
    """Visits of an endpoint in row order (endpoint parts list Baseline then AVISITN order)."""
    return list(dict.fromkeys(ep.loc[ep["endpoint"] == endpoint, "visit"]))


def _by_visit_sections(grid: Grid, ep: pd.DataFrame, paramcd: str, label: str, d: int, level: float) -> None:
    unit = label[label.rfind("(") + 1 : -1] if label.endswith(")") and "(" in label else ""
    name = label[: label.rfind("(")].strip() if unit else label
    for suffix, title, dec, ci in (
        ("value", f"{name}{f' ({unit})' if unit else ''}", d, False),
        ("change from baseline", f"{name}: change from baseline{f' ({unit})' if unit else ''}", d, True),
        ("percent change from baseline", f"{name}: percent change from baseline (%)", 0, True),
    ):
        endpoint = f"{paramcd}: {suffix}"
        visits = _visits_of(ep, endpoint)
        if not visits:
            continue
        grid.section(title)
        for visit in visits:
            continuous_block(grid, F.visit_label(visit), ep_values(ep, endpoint, visit), dec, ci, level)
    extreme = LAB_EXTREME.get(paramcd)
    endpoint = f"{paramcd}: {extreme}"
    if extreme and (ep["endpoint"] == endpoint).any():
        grid.section(f"{name}: {extreme} (each subject's {'lowest' if extreme == 'nadir' else 'highest'} value)")
        continuous_block(grid, "% of baseline", ep_values(ep, endpoint, "", f"{extreme}_"), 0, True, level)
        continuous_block(grid, f"Study day of the {extreme}", ep_values(ep, endpoint, "", f"time_to_{extreme}_"), 0)


def _lab_visit_table(
    name: str,
    title: str,
    ep: pd.DataFrame,
    adlb: pd.DataFrame,
    paramcds: Sequence[str],
    arms: ArmsArg,
    counts: Mapping[str, int],
    flag: str,
    decimals: Mapping[str, int] | None,
    data_cut: str,
    overall_label: str,
    level: float,
    extra_methods: Sequence[str] = (),
    extra: Callable[[Grid], None] | None = None,
    treatment: str | None = None,
) -> Table:
    dec = default_decimals() | dict(decimals or {})
    grid = Grid(arm_columns(arms, counts, overall_label))
    for paramcd in paramcds:
        _by_visit_sections(grid, ep, paramcd, _param_label(adlb, paramcd), dec.get(paramcd, 1), level)
    if extra:
        extra(grid)
    methods = [
        "Visits: analysis visits (study-day windows, config visits; the record closest to the target day, "
        "ANL01FL = Y); Baseline = last value on or before the first dose (ABLFL = Y). Change = AVAL - BASE; "
        "percent change = 100 (AVAL - BASE) / BASE. n = subjects with a value. "
        f"{level_pct(level)} CI of the mean: t-distribution with n - 1 degrees of freedom.",
        *extra_methods,
    ]
    return build_table(
        name, title, flag, grid, methods, ["CI", "SD", "Min", "Max", "NE"], data_cut, "Visit", treatment=treatment
    )


def igg_table(
    adsl: pd.DataFrame,
    adlb: pd.DataFrame,
    arms: ArmsArg,
    *,
    decimals: Mapping[str, int] | None = None,
    followup_avisitn: float = 12,
    data_cut: str = "",
    overall_label: str = "Overall",
    level: float = 0.95,
    ard: pd.DataFrame | None = None,
) -> Table:
    """Total IgG: value, change and percent change by visit; nadir; % of baseline at follow-up
    (ARD endpoints ``IGG: ...`` of the PD population; ADLB only for the unit)."""
    codes = armcds(arms)
    if ard is None:
        ard = ard_of(analysis_set_rows(adsl, codes), igg_endpoints(adsl, adlb, codes, followup_avisitn, level))
    ep = ard_endpoints(ard, [f"{IGG}: "], D.POPULATION_LABELS["PDFL"])
    counts = set_counts(ard, "PDFL", codes)
    fu = "IGG: percent of baseline at follow-up"

    def extra(grid: Grid) -> None:
        for visit in _visits_of(ep, fu):
            grid.section(f"Total IgG: % of baseline at follow-up ({F.visit_label(visit)})")
            continuous_block(grid, "% of baseline", ep_values(ep, fu, visit), 0, True, level)

    return _lab_visit_table(
        "igg",
        "Total IgG by visit",
        ep,
        adlb,
        [IGG],
        arms,
        counts,
        "PDFL",
        decimals,
        data_cut,
        overall_label,
        level,
        [
            "Nadir = each subject's lowest % of baseline (100 + PCHG) over the post-baseline analysis visits; study day "
            "of its first occurrence (ADY). Follow-up = analysis visit AVISITN "
            f"{followup_avisitn:g} (9 weeks after the last dose on day 22)."
        ],
        extra,
    )


def lab_param_table(
    name: str,
    title: str,
    adsl: pd.DataFrame,
    adlb: pd.DataFrame,
    arms: ArmsArg,
    paramcds: Sequence[str],
    *,
    decimals: Mapping[str, int] | None = None,
    data_cut: str = "",
    overall_label: str = "Overall",
    level: float = 0.95,
    ard: pd.DataFrame | None = None,
    treatment: str | None = None,
) -> Table:
    """Albumin or cholesterol (safety population): value, change, percent change by visit; nadir/peak
    (ARD endpoints ``<PARAMCD>: ...`` of the safety population; ADLB only for the units)."""
    codes = armcds(arms)
    safety = D.POPULATION_LABELS["SAFFL"]
    if ard is None:
        pop = D.population(adsl, codes, "SAFFL")
        rows: list[dict[str, Any]] = []
        for paramcd in paramcds:
            rows += lab_by_visit(adlb, pop, codes, paramcd, safety, level, LAB_EXTREME.get(paramcd))
        ard = ard_of(analysis_set_rows(adsl, codes), rows)
    ep = ard_endpoints(ard, [f"{p}: " for p in paramcds], safety)
    return _lab_visit_table(
        name,
        title,
        ep,
        adlb,
        paramcds,
        arms,
        set_counts(ard, "SAFFL", codes),
        "SAFFL",
        decimals,
        data_cut,
        overall_label,
        level,
        [
            "Nadir (albumin) / peak (cholesterol) = each subject's lowest / highest % of baseline over the post-baseline "
            "analysis visits and the study day of its first occurrence."
        ],
        treatment=treatment,
    )


def albumin_table(adsl: pd.DataFrame, adlb: pd.DataFrame, arms: ArmsArg, **kw: Any) -> Table:
    """Serum albumin by visit (safety population)."""
    return lab_param_table("albumin", "Serum albumin by visit", adsl, adlb, arms, ["ALB"], **kw)


def cholesterol_table(adsl: pd.DataFrame, adlb: pd.DataFrame, arms: ArmsArg, **kw: Any) -> Table:
    """Total and LDL cholesterol by visit (safety population)."""
    present = set(D.text(adlb["PARAMCD"]))
    params = [p for p in ("CHOL", "LDL") if p in present] or ["CHOL"]
    return lab_param_table("cholesterol", "Total and LDL cholesterol by visit", adsl, adlb, arms, params, **kw)


def _proportion_by_visit(grid: Grid, section: str, ep: pd.DataFrame, endpoint: str, level: float) -> None:
    """A section of a responder ``endpoint`` by visit: n/N (%) and the CI of the percentage."""
    grid.section(section)
    for visit in _visits_of(ep, endpoint):
        vals = ep_values(ep, endpoint, visit)
        label = F.visit_label(visit)
        grid.add(label, "n/N (%)", F.n_of_n_pct, ["n_subjects", "n", "percent"], vals)
        percent_ci_row(grid, label, vals, level)


def _aqp4_titre_section(grid: Grid, ep: pd.DataFrame) -> None:
    """The titre by visit: n, median, range and geometric mean."""
    titre = f"{AQP4}: titre"
    grid.section("AQP4-IgG titre (reciprocal dilution)")
    for visit in _visits_of(ep, titre):
        vals = ep_values(ep, titre, visit)
        label = F.visit_label(visit)
        grid.add(label, "n", lambda v: F.count(v.get("n")), ["n"], vals)
        grid.add(label, "Median", lambda v: F.rnd(v.get("median"), 1), ["median"], vals)
        grid.add(label, "Min, Max", lambda v: F.min_max(v, 0), ["min", "max"], vals)
        grid.add(label, "Geometric mean", lambda v: F.rnd(v.get("geometric_mean"), 1), ["geometric_mean"], vals)


def _aqp4_time_section(grid: Grid, ep: pd.DataFrame) -> None:
    """Time to the first undetectable titre, when the ARD has it: subjects who became
    undetectable and the median and range of the study day."""
    tte = f"{AQP4}: time to first undetectable"
    if not (ep["endpoint"] == tte).any():
        return
    grid.section("Time to first undetectable AQP4-IgG (subjects with a detectable baseline titre)")
    vals = ep_values(ep, tte)
    grid.add("Became undetectable", "n/N (%)", F.n_of_n_pct, ["n_subjects", "n", "percent"], vals)
    day = ep_values(ep, tte, "", "day_")
    grid.add(
        "Study day of the first undetectable titre", "Median", lambda v: F.rnd(v.get("median"), 1), ["median"], day
    )
    grid.add(
        "Study day of the first undetectable titre", "Min, Max", lambda v: F.min_max(v, 0), ["min", "max"], day
    )


def aqp4_table(
    adsl: pd.DataFrame,
    adlb: pd.DataFrame,
    arms: ArmsArg,
    *,
    data_cut: str = "",
    overall_label: str = "Overall",
    level: float = 0.95,
    ard: pd.DataFrame | None = None,
) -> Table:
    """AQP4-IgG: titre by visit, undetectable n/N (%), log2 change, time to first undetectable
    (ARD endpoints ``AQP4AB: ...`` of the PD population)."""
    codes = armcds(arms)
    if ard is None:
        ard = ard_of(analysis_set_rows(adsl, codes), aqp4_endpoints(adsl, adlb, codes, level))
    ep = ard_endpoints(ard, [f"{AQP4}: "], D.POPULATION_LABELS["PDFL"])
    grid = Grid(arm_columns(arms, set_counts(ard, "PDFL", codes), overall_label))
    _aqp4_titre_section(grid, ep)
    _proportion_by_visit(
        grid, "Undetectable AQP4-IgG (below the lowest dilution)", ep, f"{AQP4}: undetectable", level
    )
    chg = f"{AQP4}: log2 titre change from baseline"
    grid.section("Change from baseline in log2 titre (dilution steps)")
    for visit in _visits_of(ep, chg):
        continuous_block(grid, F.visit_label(visit), ep_values(ep, chg, visit), 1, False, level)
    _aqp4_time_section(grid, ep)
    return build_table(
        "aqp4",
        "AQP4-IgG titres by visit",
        "PDFL",
        grid,
        [
            "Titres as reciprocal end-point dilutions of the cell-based assay; undetectable titres (UNDETFL = Y) enter the "
            "median, range, geometric mean and log2 change at their imputed value (config censoring.titre). n/N: N = "
            f"subjects with a result at the visit; {level_pct(level)} CI: Clopper-Pearson exact. Time to first "
            "undetectable: study day of the first undetectable result from day 2 on (scheduled or unscheduled), "
            "summarised over the subjects who became undetectable (no censoring model)."
        ],
        ["AQP4-IgG", "CI", "SD", "Min", "Max", "NE"],
        data_cut,
        "Visit",
    )


def _edss_paired_section(grid: Grid, label: str, vals: Any, level: float) -> None:
    """The paired analysis of baseline to one visit (``label``): subjects, baseline, visit and
    change means, Hodges-Lehmann estimate with its CI and achieved level, Wilcoxon p."""
    grid.section(f"Paired analysis: baseline to {label} (subjects with both)")
    grid.add("Subjects", "n", lambda v: F.count(v.get("n")), ["n"], vals)
    grid.add(
        "Baseline",
        "Mean (SD)",
        lambda v: F.mean_sd(v, 2, "baseline_mean", "baseline_sd"),
        ["baseline_mean", "baseline_sd"],
        vals,
    )
    grid.add(
        label,
        "Mean (SD)",
        lambda v: F.mean_sd(v, 2, "visit_mean", "visit_sd"),
        ["visit_mean", "visit_sd"],
        vals,
    )
    grid.add("Change", "Mean (SD)", lambda v: F.mean_sd(v, 2), ["mean", "sd"], vals)
    grid.add(
        "Change",
        f"Hodges-Lehmann ({level_pct(level)} CI)",
        lambda v: F.est_ci_bounds(v, 2, "hodges_lehmann"),
        [
            "hodges_lehmann",
            "hodges_lehmann_ci_low",
            "hodges_lehmann_ci_high",
            "hodges_lehmann_ci_low_included",
            "hodges_lehmann_ci_high_included",
        ],
        vals,
    )
    grid.add(
        "Change",
        "Achieved CI level",
        lambda v: F.ci_level(v, "hodges_lehmann", level),
        ["hodges_lehmann_ci_level"],
        vals,
    )
    grid.add(
        "Change",
        "Wilcoxon signed-rank p",
        lambda v: F.p_value(v.get("wilcoxon_signed_rank_p")),
        ["wilcoxon_signed_rank", "wilcoxon_signed_rank_p"],
        vals,
    )


def _edss_footnote(primary_visit: float, improvement: Mapping[str, Any] | None, level: float) -> str:
    """The EDSS table's footnote: key visit, the exact Wilcoxon test and Hodges-Lehmann CI,
    the achieved level, the CIs and the improvement criterion."""
    return (
        f"Key efficacy time point: analysis visit AVISITN {primary_visit:g}; the last post-baseline visit with data is "
        "also tested. Wilcoxon signed-rank test (two-sided) of the change: exact p-value from the permutation "
        "distribution of the observed mid-ranks (ties kept; conditional exact test); zero changes ranked with the "
        "others and then left out of the sign permutation (Pratt). Hodges-Lehmann estimate = median of the Walsh "
        f"averages; its {level_pct(level)} CI = the shifts not rejected by the same exact test, so p <= "
        f"{1 - level:.2g} exactly when the CI excludes 0; [ ] limit included, ( ) limit excluded. Achieved CI "
        "level: the coverage the interval guarantees (minimum over the shift of the exact conditional coverage); "
        "with too few subjects (n <= 5 for 95%) no shift can be rejected, no CI is given and the highest "
        f"attainable level is shown. {level_pct(level)} CI of the mean: t-distribution. Improvement: "
        f"{improvement_text(improvement)}; n/N: N = subjects with baseline and the visit; CI: Clopper-Pearson exact."
    )


def edss_table(
    adsl: pd.DataFrame,
    adedss: pd.DataFrame,
    arms: ArmsArg,
    primary_visit: float,
    improvement: Mapping[str, Any] | None = None,
    *,
    data_cut: str = "",
    overall_label: str = "Overall",
    level: float = 0.95,
    ard: pd.DataFrame | None = None,
    treatment: str | None = None,
) -> Table:
    """EDSS by visit, change from baseline, Wilcoxon signed-rank test, Hodges-Lehmann, improvement
    (ARD endpoints ``EDSS: ...`` of the safety population)."""
    codes = armcds(arms)
    if ard is None:
        ard = ard_of(
            analysis_set_rows(adsl, codes), edss_endpoints(adsl, adedss, codes, primary_visit, improvement, level)
        )
    ep = ard_endpoints(ard, ["EDSS: "], D.POPULATION_LABELS["SAFFL"])
    grid = Grid(arm_columns(arms, set_counts(ard, "SAFFL", codes), overall_label))
    grid.section("EDSS")
    for visit in _visits_of(ep, "EDSS: value"):
        continuous_block(grid, F.visit_label(visit), ep_values(ep, "EDSS: value", visit), 1)
    chg = "EDSS: change from baseline"
    grid.section("EDSS: change from baseline")
    for visit in _visits_of(ep, chg):
        continuous_block(grid, F.visit_label(visit), ep_values(ep, chg, visit), 1, True, level)
    tested = [
        v
        for v in _visits_of(ep, chg)
        if ((ep["endpoint"] == chg) & (ep["visit"] == v) & (ep["statistic"] == "hodges_lehmann")).any()
    ]
    for visit in tested:
        _edss_paired_section(grid, F.visit_label(visit), ep_values(ep, chg, visit), level)
    _proportion_by_visit(grid, "Improved (CRIT1FL = Y)", ep, "EDSS: improved", level)
    return build_table(
        "edss",
        "EDSS by visit and change from baseline",
        "SAFFL",
        grid,
        [_edss_footnote(primary_visit, improvement, level)],
        ["EDSS", "CI", "SD", "Min", "Max", "NE"],
        data_cut,
        "Visit",
        treatment=treatment,
    )
