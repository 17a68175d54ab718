"""CSR-style tables: data frames and display rows rendered from the analysis results dataset.

Each builder returns a :class:`Table`: title, population, columns (arms with N, then overall),
display rows (formatted strings, see :mod:`fcrnpipe.tables.format`), footnotes, the data cut
and ``data`` — the machine-readable, unrounded table written as CSV.

Every number of the endpoint tables (demographics, disposition, exposure, TEAE overview,
albumin, cholesterol, IgG, AQP4-IgG, EDSS) and every header N is read from the ARD
(``results/stats/ard.csv``, :mod:`fcrnpipe.stats.ard`) passed as ``ard=``; the builders do not
compute statistics. Without ``ard`` (library use, unit tests) they compute the ARD rows they
need with the functions of the stats stage first and render from those. ADaM is read only for
labels (units, the AE severity scale, the parameters present).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from fcrnpipe.errors import UserError
from fcrnpipe.labels import drug_name
from fcrnpipe.nca.summary import MEDIAN_RANGE_ONLY
from fcrnpipe.stats import descriptive as D
from fcrnpipe.stats.ard import ard_from_endpoints, endpoints_from_ard
from fcrnpipe.stats.ci import level_pct
from fcrnpipe.stats.demographics import ANALYSIS_SET, DEMOGRAPHICS, analysis_set_rows, demographics_rows
from fcrnpipe.stats.disposition import LEVELS, disposition, exposure
from fcrnpipe.stats.efficacy import AQP4, IGG, aqp4_endpoints, edss_endpoints, igg_endpoints, improvement_text
from fcrnpipe.findings import Finding
from fcrnpipe.stats.published import PUBLISHED_COLUMNS, default_findings
from fcrnpipe.stats.safety import (
    LAB_EXTREME,
    ae_scale,
    overview_categories,
    lab_by_visit,
    lab_display_part,
    shift_endpoint,
    shift_rows,
    shift_tables,
    PT_ENDPOINT,
    SOC_ENDPOINT,
    TEAE_ENDPOINT,
    ae_display_part,
    ae_part,
    teae_overview,
)
from fcrnpipe.tables import format as F

ArmsArg = Sequence[Mapping[str, Any]]
Values = Mapping[str, Any]

#: Decimals of the reported data per PARAMCD (resources/units.csv ``decimals``), used when the
#: caller does not pass the unit table's values.
DEFAULT_DECIMALS: dict[str, int] = {"IGG": 2, "ALB": 1, "CHOL": 2, "LDL": 2, "HDL": 2, "AQP4AB": 0, "EDSS": 1}

ABBREVIATIONS = {
    "AE": "adverse event",
    "AQP4-IgG": "aquaporin-4 immunoglobulin G antibody",
    "BMI": "body mass index",
    "CI": "confidence interval",
    "CTCAE": "Common Terminology Criteria for Adverse Events v5.0",
    "CV": "coefficient of variation",
    "EDSS": "Expanded Disability Status Scale",
    "IgG": "immunoglobulin G",
    "Max": "maximum",
    "Min": "minimum",
    "N": "number of subjects in the population and arm",
    "NE": "not estimable",
    "PT": "preferred term",
    "RSE": "relative standard error",
    "SD": "standard deviation",
    "SE": "standard error",
    "SOC": "system organ class",
    "TEAE": "treatment-emergent adverse event",
}
DISPLAY_FOOTNOTE = (
    "Mean, SD, median and CIs are shown with one decimal more than the data, minimum and maximum as "
    "recorded, percentages with one decimal (rounded half away from zero); the CSV keeps unrounded values."
)


# --------------------------------------------------------------------------------- structure
@dataclass(frozen=True)
class Column:
    """A data column: key (ARMCD, ``Overall`` or a composite key), header label, N, header group."""

    key: str
    label: str
    n: int | None = None
    group: str = ""
    group_n: int | None = None


@dataclass(frozen=True)
class Row:
    """A display row: first-column label (blank when repeated), statistic label and cells."""

    label: str
    stat: str
    cells: Mapping[str, str]
    level: int = 1
    section: bool = False


@dataclass
class Table:
    """A CSR-style table ready to render (HTML) and to write (``data`` as CSV)."""

    name: str
    title: str
    population: str
    columns: list[Column]
    rows: list[Row]
    footnotes: list[str]
    data: pd.DataFrame
    data_cut: str = ""
    label_header: str = ""
    stat_header: str = "Statistic"
    groups: list[tuple[str, int | None, int]] = field(default_factory=list)
    #: Where each number of ``data`` comes from (:data:`TRACE_COLUMNS`; not written): one row per
    #: data cell (row index ``record``, ``column``) with the key of the ARD row it was read from.
    trace: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TRACE_COLUMNS))

    def __post_init__(self) -> None:
        spans: list[tuple[str, int | None, int]] = []
        for c in self.columns:
            if spans and c.group and spans[-1][0] == c.group:
                spans[-1] = (c.group, c.group_n, spans[-1][2] + 1)
            else:
                spans.append((c.group, c.group_n, 1))
        self.groups = spans if any(c.group for c in self.columns) else []


#: Columns of :attr:`Table.trace`: a cell of ``Table.data`` (row index, column) and the key of
#: the ARD row (:data:`fcrnpipe.stats.ard.ARD_KEY`) its number was read from.
TRACE_COLUMNS = ["record", "column", "endpoint", "population", "arm", "visit", "statistic", "component"]
#: Key of a cell's sources (not a number): ``{value key: ARD key tuple}``.
SOURCE = "_source"


def ard_key(r: Any, component: str = "estimate") -> tuple[str, str, str, str, str, str]:
    """The ARD key (endpoint, population, arm, visit, statistic, component) of an endpoint row."""
    return (r.endpoint, r.population, r.arm, r.visit, r.statistic, component)


class Grid:
    """Collects display rows, the matching unrounded CSV records and where their numbers come from."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self.columns = list(columns)
        self.rows: list[Row] = []
        self.records: list[dict[str, Any]] = []
        self.trace: list[dict[str, Any]] = []
        self._section = ""
        self._last: str | None = None

    def section(self, title: str) -> None:
        self._section, self._last = title, None
        self.rows.append(Row(title, "", {}, 0, True))

    def add(
        self,
        label: str,
        stat: str,
        fmt: Callable[[Values], str],
        keys: Sequence[str],
        values: Mapping[str, Values],
        level: int = 1,
    ) -> None:
        cells = {c.key: fmt(values.get(c.key, {})) for c in self.columns}
        self.rows.append(Row(label if label != self._last else "", stat, cells, level))
        self._last = label
        for k in keys:
            rec: dict[str, Any] = {"section": self._section, "label": label, "statistic": k}
            for c in self.columns:
                v = values.get(c.key, {}).get(k, math.nan)
                rec[c.key] = float(v) if v is not None else math.nan
                src = values.get(c.key, {}).get(SOURCE, {}).get(k)
                if src is not None:
                    self.trace.append(dict(zip(TRACE_COLUMNS, (len(self.records), c.key, *src))))
            self.records.append(rec)

    def data(self) -> pd.DataFrame:
        return pd.DataFrame(self.records, columns=["section", "label", "statistic", *[c.key for c in self.columns]])

    def trace_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.trace, columns=TRACE_COLUMNS)


def arm_columns(arms: ArmsArg, counts: Mapping[str, int], overall_label: str = "Overall") -> list[Column]:
    """One column per configured arm and the overall column, with N."""
    cols = [Column(str(a["armcd"]), str(a["label"]), counts.get(str(a["armcd"]), 0)) for a in arms]
    return cols + [Column(D.OVERALL, overall_label, counts.get(D.OVERALL, 0))]


def armcds(arms: ArmsArg) -> list[str]:
    return [str(a["armcd"]) for a in arms]


# ------------------------------------------------------------------------- the ARD as input
def ard_of(*parts: pd.DataFrame | Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """An ARD made of endpoint rows (frames or lists of row dicts), for builders called without
    the stats stage's ``stats/ard.csv``."""
    rows = [r for p in parts for r in (p.to_dict("records") if isinstance(p, pd.DataFrame) else p)]
    return ard_from_endpoints(D.frame(rows))


def ard_endpoints(ard: pd.DataFrame, prefixes: Sequence[str], population: str | None = None) -> pd.DataFrame:
    """Endpoint rows (:data:`~fcrnpipe.stats.descriptive.ENDPOINT_COLUMNS`) of the ARD whose
    endpoint starts with one of ``prefixes`` (of ``population`` if given), in ARD order."""
    m = ard["endpoint"].astype(str).str.startswith(tuple(prefixes))
    if population is not None:
        m &= ard["population"] == population
    return endpoints_from_ard(ard[m], None)


def set_counts(ard: pd.DataFrame, flag: str | None, arms: Sequence[str]) -> dict[str, int]:
    """Subjects per arm and overall of the analysis set ``flag`` (ARD endpoint ``Analysis set``)."""
    label = D.POPULATION_LABELS[flag]
    ep = ard_endpoints(ard, [ANALYSIS_SET], label)
    ep = ep[(ep["endpoint"] == ANALYSIS_SET) & (ep["statistic"] == "n_subjects")]
    if ep.empty:
        raise UserError(f"stats/ard.csv: no '{ANALYSIS_SET}' rows for the population {label}")
    counts = {str(a): int(v) for a, v in zip(ep["arm"], ep["estimate"])}
    return {a: counts.get(a, 0) for a in [*arms, D.OVERALL]}


def ep_values(ep: pd.DataFrame, endpoint: str, visit: str = "", prefix: str = "") -> dict[str, dict[str, Any]]:
    """Estimates of one endpoint/visit per arm: ``{arm: {statistic: estimate, <statistic>_ci_low,
    <statistic>_ci_high, <statistic>_ci_level, <statistic>_ci_bounds (text),
    <statistic>_ci_low_included / _ci_high_included (1/0, NaN without interval), <statistic>_p,
    n, _source}}``; ``prefix`` is stripped (only prefixed rows kept). ``_source`` = (endpoint,
    ``_source`` = ``{key: ARD key}`` of every number, for :attr:`Table.trace` (``n``: the row with
    the largest n)."""
    sel = ep[(ep["endpoint"] == endpoint) & (ep["visit"] == visit)]
    out: dict[str, dict[str, Any]] = {}
    for r in sel.itertuples(index=False):
        if prefix and not r.statistic.startswith(prefix):
            continue
        stat = r.statistic[len(prefix) :]
        d = out.setdefault(r.arm, {})
        d[stat] = r.estimate
        d[f"{stat}_ci_low"], d[f"{stat}_ci_high"], d[f"{stat}_p"] = r.ci_low, r.ci_high, r.p_value
        bounds = str(getattr(r, "ci_bounds", "") or "")
        bounds = bounds if len(bounds) == 2 else ""
        d[f"{stat}_ci_level"] = getattr(r, "ci_level", math.nan)
        d[f"{stat}_ci_bounds"] = bounds
        d[f"{stat}_ci_low_included"] = float(bounds[0] == "[") if bounds else math.nan
        d[f"{stat}_ci_high_included"] = float(bounds[1] == "]") if bounds else math.nan
        src = d.setdefault(SOURCE, {})
        src[stat] = ard_key(r)
        for suffix, comp in (("_ci_low", "ci_low"), ("_ci_high", "ci_high"), ("_p", "p_value"), ("_ci_level", "ci_level")):
            src[stat + suffix] = ard_key(r, comp)
        src[f"{stat}_ci_low_included"] = ard_key(r, "ci_low_included")
        src[f"{stat}_ci_high_included"] = ard_key(r, "ci_high_included")
        if r.n > d.get("n", -1):
            src["n"] = ard_key(r, "n")
        d["n"] = max(d.get("n", 0), r.n)
    return out


def continuous_block(
    grid: Grid,
    label: str,
    vals: Mapping[str, Values],
    decimals: int,
    ci: bool = False,
    level: float = 0.95,
    indent: int = 1,
) -> None:
    """n, Mean (SD), [CI of the mean], Median, Min, Max."""
    d = decimals
    grid.add(label, "n", lambda v: F.count(v.get("n")), ["n"], vals, indent)
    grid.add(label, "Mean (SD)", lambda v: F.mean_sd(v, d + 1), ["mean", "sd"], vals, indent)
    if ci:
        grid.add(
            label,
            f"{level_pct(level)} CI of the mean",
            lambda v: F.interval(v, d + 1, "mean_ci_low", "mean_ci_high"),
            ["mean_ci_low", "mean_ci_high"],
            vals,
            indent,
        )
    grid.add(label, "Median", lambda v: F.rnd(v.get("median"), d + 1), ["median"], vals, indent)
    grid.add(label, "Min, Max", lambda v: F.min_max(v, d), ["min", "max"], vals, indent)


def count_block(
    grid: Grid, label: str, vals: Mapping[str, Values], ci: bool = True, level: float = 0.95, indent: int = 1
) -> None:
    """n (%) and, if ``ci``, the exact CI of the percentage."""
    grid.add(label, "n (%)", F.n_pct, ["n_subjects", "percent"], vals, indent)
    if ci:
        grid.add(
            label,
            f"{level_pct(level)} CI (%)",
            lambda v: F.interval(v, 1, "percent_ci_low", "percent_ci_high"),
            ["percent_ci_low", "percent_ci_high"],
            vals,
            indent,
        )


def footnotes(population: str, methods: Sequence[str], abbreviations: Sequence[str]) -> list[str]:
    """Population/N note, the methods, the display conventions and the abbreviations used."""
    abbr = "; ".join(f"{a} = {ABBREVIATIONS[a]}" for a in sorted(set(abbreviations), key=str.lower))
    notes = [
        f"Population: {population}. N = number of subjects in the population and arm; percentages use N "
        "unless stated otherwise."
    ]
    return notes + list(methods) + [DISPLAY_FOOTNOTE] + ([f"Abbreviations: {abbr}."] if abbr else [])


def _pop_text(flag: str | None, treatment: str | None = None) -> str:
    return {
        None: "all enrolled subjects",
        "SAFFL": f"safety population (SAFFL = Y: at least one dose of {drug_name(treatment)})",
        "PDFL": "PD population (PDFL = Y: baseline and at least one post-baseline total IgG)",
        "PKFL": "PK population (PKFL = Y: at least one measurable concentration)",
    }[flag]


def _table(
    name: str,
    title: str,
    flag: str | None,
    grid: Grid,
    methods: Sequence[str],
    abbr: Sequence[str],
    data_cut: str,
    label_header: str = "",
    data: pd.DataFrame | None = None,
    treatment: str | None = None,
    trace: pd.DataFrame | None = None,
) -> Table:
    pop = _pop_text(flag, treatment)
    return Table(
        name=name,
        title=title,
        population=pop[:1].upper() + pop[1:],
        columns=grid.columns,
        rows=grid.rows,
        footnotes=footnotes(pop, methods, abbr),
        data=grid.data() if data is None else data,
        data_cut=data_cut,
        label_header=label_header,
        trace=grid.trace_frame() if data is None else (trace if trace is not None else pd.DataFrame(columns=TRACE_COLUMNS)),
    )


# ---------------------------------------------------------------------------- demographics
#: Continuous rows of the demographics table after the categories: ADSL variable, title, decimals.
DEMOGRAPHICS_ROWS: tuple[tuple[str, str, int], ...] = (
    ("WEIGHTBL", "Weight (kg)", 1),
    ("HEIGHTBL", "Height (cm)", 1),
    ("BMIBL", "BMI (kg/m²)", 1),
    ("IGGBL", "Total IgG (g/L)", 2),
    ("EDSSBL", "EDSS", 1),
)


def demographics_table(
    adsl: pd.DataFrame | None,
    arms: ArmsArg,
    *,
    data_cut: str = "",
    overall_label: str = "Overall",
    flag: str = "SAFFL",
    ard: pd.DataFrame | None = None,
    treatment: str | None = None,
) -> Table:
    """Demographics and baseline characteristics: age, sex, attack type, weight, BMI, IgG, EDSS
    (ARD endpoints ``Demographics: <VAR>`` and ``Demographics: <VAR>: <value>``)."""
    codes = armcds(arms)
    if ard is None:
        ard = ard_of(analysis_set_rows(adsl, codes), demographics_rows(adsl, codes, flag))
    label = D.POPULATION_LABELS[flag]
    ep = ard_endpoints(ard, [f"{DEMOGRAPHICS}: "], label)
    grid = Grid(arm_columns(arms, set_counts(ard, flag, codes), overall_label))
    present = set(ep["endpoint"])
    grid.section("Age (years)")
    continuous_block(grid, "Age (years)", ep_values(ep, f"{DEMOGRAPHICS}: AGE"), 0)
    for var, title in (("SEX", "Sex, n (%)"), ("ATTACK", "Attack type, n (%)")):
        prefix = f"{DEMOGRAPHICS}: {var}: "
        values = {e[len(prefix) :] for e in present if e.startswith(prefix)}
        if not values:
            continue
        grid.section(title)
        names = {"F": "Female", "M": "Male", "U": "Unknown", "": "Missing"} if var == "SEX" else {"": "Missing"}
        rank = {"F": 0, "M": 1, "U": 2} if var == "SEX" else {}
        for v in sorted(values, key=lambda v: (v == "", rank.get(v, 9), v)):
            grid.add(names.get(v, F.sentence(v)), "n (%)", F.n_pct, ["n_subjects", "percent"], ep_values(ep, prefix + v))
    for var, title, d in DEMOGRAPHICS_ROWS:
        if f"{DEMOGRAPHICS}: {var}" in present:
            grid.section(title)
            continuous_block(grid, title, ep_values(ep, f"{DEMOGRAPHICS}: {var}"), d)
    return _table(
        "demographics",
        "Demographics and baseline characteristics",
        flag,
        grid,
        [
            f"Baseline = last value on or before the first dose of {drug_name(treatment)}. Attack type = index NMOSD attack (ADSL ATTACK)."
        ],
        ["SD", "BMI", "EDSS", "IgG", "Min", "Max"],
        data_cut,
        treatment=treatment,
    )


# ------------------------------------------------------------------- disposition, exposure
def disposition_table(
    adsl: pd.DataFrame,
    adex: pd.DataFrame,
    arms: ArmsArg,
    treatment: str,
    *,
    data_cut: str = "",
    overall_label: str = "Overall",
    level: float = 0.95,
    placebo: str = "PLACEBO",
    ard: pd.DataFrame | None = None,
) -> Table:
    """Subject disposition: screened and not assigned (when DM has screen failures), enrolled,
    treated, completed/discontinued treatment and study by reason (ARD endpoints ``Disposition: ...``)."""
    codes = armcds(arms)
    if ard is None:
        ard = ard_of(disposition(adsl, adex, codes, treatment, level, placebo))
    ep = ard_endpoints(ard, ["Disposition: "])
    counts = {a: int(v["n"]) for a, v in ep_values(ep, "Disposition: enrolled").items()}
    grid = Grid(arm_columns(arms, counts, overall_label))
    grid.section("Subjects")
    screened = ep_values(ep, "Disposition: screened")
    if screened:
        grid.add("Screened", "n", lambda v: F.count(v.get("n_subjects")), ["n_subjects"], screened)
        grid.add(
            "Not assigned to an arm (not in the analysis sets)",
            "n (%)",
            F.n_pct,
            ["n_subjects", "percent"],
            ep_values(ep, "Disposition: not assigned to an arm"),
        )
        prefix = "Disposition: not assigned to an arm: "
        for endpoint in sorted({e for e in ep["endpoint"] if e.startswith(prefix)}):
            grid.add(F.sentence(endpoint[len(prefix) :]), "n (%)", F.n_pct, ["n_subjects", "percent"], ep_values(ep, endpoint), 1)
    grid.add(
        "Enrolled", "n", lambda v: F.count(v.get("n_subjects")), ["n_subjects"], ep_values(ep, "Disposition: enrolled")
    )
    grid.add(
        "Treated (at least one dose)",
        "n (%)",
        F.n_pct,
        ["n_subjects", "percent"],
        ep_values(ep, "Disposition: treated"),
    )
    for stem, _, _ in LEVELS:
        grid.section(f"Study {stem}")
        grid.add(
            f"Completed {stem}",
            "n (%)",
            F.n_pct,
            ["n_subjects", "percent"],
            ep_values(ep, f"Disposition: completed {stem}"),
        )
        grid.add(
            f"Discontinued {stem}",
            "n (%)",
            F.n_pct,
            ["n_subjects", "percent"],
            ep_values(ep, f"Disposition: discontinued {stem}"),
        )
        prefix = f"Disposition: discontinued {stem}: "
        for endpoint in sorted({e for e in ep["endpoint"] if e.startswith(prefix)}):
            vals = ep_values(ep, endpoint)
            reason = F.sentence(endpoint[len(prefix) :])
            grid.add(reason, "n (%)", F.n_pct, ["n_subjects", "percent"], vals, 2)
            ks = sorted(
                {
                    int(s.rsplit("_", 1)[1])
                    for v in vals.values()
                    for s in v
                    if s.startswith("n_subjects_after_dose_") and s.rsplit("_", 1)[1].isdigit()
                }
            )
            for k in ks:
                key = f"n_subjects_after_dose_{k}"
                label = "before the first dose" if k == 0 else f"after dose {k}"
                grid.add(f"{reason}: {label}", "n", lambda v, key=key: F.count(v.get(key)), [key], vals, 3)
        grid.add(
            f"Ongoing ({stem})",
            "n (%)",
            F.n_pct,
            ["n_subjects", "percent"],
            ep_values(ep, f"Disposition: ongoing {stem}"),
        )
    notes = [
        "Treatment disposition from ADSL EOTSTT/DCTREAS (study-treatment disposition record), study disposition from "
        "EOSSTT/DCSREAS (study-participation record); ongoing = no disposition record. 'After dose k' = the subject's "
        f"last dose of {drug_name(treatment)} was dose k."
    ]
    if screened:
        notes.append(
            "Screened = every subject of DM; not assigned to an arm = ARMCD SCRNFAIL/NOTASSGN or ARMNRS (reason as "
            "in DM ARM/ARMNRS), percentages of the screened subjects; these subjects are in no analysis set and no "
            "other row."
        )
    return _table(
        "disposition",
        "Subject disposition",
        None,
        grid,
        notes,
        ["N"],
        data_cut,
        treatment=treatment,
    )


def exposure_table(
    adsl: pd.DataFrame,
    adex: pd.DataFrame,
    arms: ArmsArg,
    treatment: str,
    *,
    data_cut: str = "",
    overall_label: str = "Overall",
    level: float = 0.95,
    placebo: str = "PLACEBO",
    ard: pd.DataFrame | None = None,
) -> Table:
    """Exposure to the study drug: doses received (n (%) and summary), cumulative dose, duration
    (placebo administrations count as doses of 0 mg; ARD endpoints ``Exposure: ...``)."""
    codes = armcds(arms)
    if ard is None:
        ard = ard_of(analysis_set_rows(adsl, codes), exposure(adsl, adex, codes, treatment, level, placebo))
    ep = ard_endpoints(ard, ["Exposure: "])
    grid = Grid(arm_columns(arms, set_counts(ard, "SAFFL", codes), overall_label))
    grid.section("Number of doses received")
    continuous_block(grid, "Doses", ep_values(ep, "Exposure: number of doses"), 0)
    ks = sorted(int(e.rsplit(": ", 1)[1]) for e in set(ep["endpoint"]) if e.startswith("Exposure: doses received: "))
    for k in ks:
        grid.add(
            f"{k} dose{'s' if k > 1 else ''}",
            "n (%)",
            F.n_pct,
            ["n_subjects", "percent"],
            ep_values(ep, f"Exposure: doses received: {k}"),
        )
    grid.section("Cumulative dose (mg)")
    continuous_block(grid, "Cumulative dose (mg)", ep_values(ep, "Exposure: cumulative dose (mg)"), 0)
    if (ep["endpoint"] == "Exposure: treatment duration (days)").any():
        grid.section("Treatment duration (days)")
        continuous_block(grid, "Duration (days)", ep_values(ep, "Exposure: treatment duration (days)"), 0)
    return _table(
        "exposure",
        f"Exposure to {drug_name(treatment)}",
        "SAFFL",
        grid,
        [
            f"Doses and cumulative dose: {drug_name(treatment)} administrations in ADEX (EXDOSE, mg); treatment "
            "duration: ADSL TRTDURD (last dose date - first dose date + 1)."
        ],
        ["SD", "Min", "Max"],
        data_cut,
        treatment=treatment,
    )


# ----------------------------------------------------------------------------------- TEAEs
OVERVIEW_LABELS = {
    "any": "Any TEAE",
    "treatment-related": "Treatment-related TEAE",
    "CTCAE grade >= 3": "TEAE of CTCAE grade ≥ 3",
    "severe": "Severe TEAE (AESEV)",
    "serious": "Serious TEAE",
    "leading to discontinuation of study drug": "TEAE leading to discontinuation of study drug",
    "leading to death": "TEAE leading to death",
}


def teae_overview_table(
    adsl: pd.DataFrame,
    adae: pd.DataFrame,
    arms: ArmsArg,
    *,
    data_cut: str = "",
    overall_label: str = "Overall",
    level: float = 0.95,
    ard: pd.DataFrame | None = None,
    treatment: str | None = None,
) -> Table:
    """Overview of TEAEs: subjects with >= 1 event of each category, n (%), exact CI, events
    (ARD endpoints ``TEAE: <category>``; ADAE only for the grade or severity scale)."""
    codes = armcds(arms)
    if ard is None:
        ard = ard_of(analysis_set_rows(adsl, codes), teae_overview(adsl, adae, codes, level))
    ep = ard_endpoints(ard, ["TEAE: "], D.POPULATION_LABELS["SAFFL"])
    grid = Grid(arm_columns(arms, set_counts(ard, "SAFFL", codes), overall_label))
    scale = ae_scale(adae)
    for key, _ in overview_categories(scale):
        vals = ep_values(ep, f"TEAE: {key}")
        label = OVERVIEW_LABELS[key]
        count_block(grid, label, vals, True, level, 0)
        grid.add(label, "Events", lambda v: F.count(v.get("n_events")), ["n_events"], vals, 0)
    return _table(
        "teae_overview",
        "Overview of treatment-emergent adverse events",
        "SAFFL",
        grid,
        [
            f"TEAE: onset on or after the first {drug_name(treatment)} dose and up to the last dose + the TEAE window "
            "(config ae.teae_window_days). n (%) = subjects with at least one such event (a subject counts once); "
            f"{level_pct(level)} CI of the percentage: Clopper-Pearson exact. Events = number of events. Related = "
            "AEREL related, possibly or probably related; discontinuation = AEACN drug withdrawn; "
            + (
                "death = CTCAE grade 5 or fatal outcome."
                if scale.name == "grade"
                else "death = fatal outcome. The AE export has no CTCAE grade (AETOXGR): severity as reported "
                "(AESEV: mild, moderate, severe) is shown instead."
            )
        ],
        ["TEAE", "CTCAE", "CI", "N"],
        data_cut,
        treatment=treatment,
    )


def _term_frame(ard: pd.DataFrame, codes: Sequence[str], scale: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The TEAE term counts of the ARD: any TEAE (``soc = pt = ""``), then each SOC (``pt = ""``)
    and SOC/PT sorted by (soc, pt), arms in config order then Overall; columns soc, pt, arm, N,
    n_subjects, percent, n_events, n_subjects_<max_grade|max_severity>_<g>, ge3_n_subjects,
    ge3_percent. Returns the frame and the ARD key of every number."""
    safety = D.POPULATION_LABELS["SAFFL"]
    soc_prefix, pt_prefix = SOC_ENDPOINT.format(soc=""), PT_ENDPOINT.split("{soc}")[0]
    ep = ard_endpoints(ard, [TEAE_ENDPOINT.format("any"), soc_prefix, pt_prefix], safety)
    ep = ep[(ep["endpoint"] == TEAE_ENDPOINT.format("any")) | ~ep["endpoint"].str.startswith("TEAE: ")]
    socs = sorted({e[len(soc_prefix) :] for e in ep["endpoint"] if e.startswith(soc_prefix)}, key=len, reverse=True)

    def term(endpoint: str) -> tuple[str, str]:
        if endpoint.startswith(soc_prefix):
            return endpoint[len(soc_prefix) :], ""
        if endpoint.startswith(pt_prefix):
            rest = endpoint[len(pt_prefix) :]
            soc = next((s for s in socs if rest.startswith(s + " / ")), rest.split(" / ")[0])
            return soc, rest[len(soc) + 3 :]
        return "", ""

    ge3 = f"{scale.statistic}_ge_3_"
    grade_cols = [f"n_subjects_{scale.statistic}_{g}" for g in scale.levels]
    columns = {
        "N": ("n_subjects", "n"),
        "n_subjects": ("n_subjects", "estimate"),
        "percent": ("percent", "estimate"),
        "n_events": ("n_events", "estimate"),
        **{c: (c, "estimate") for c in grade_cols},
        "ge3_n_subjects": (ge3 + "n_subjects", "estimate"),
        "ge3_percent": (ge3 + "percent", "estimate"),
    }
    value = {(r.endpoint, r.arm, r.statistic): r for r in ep.itertuples(index=False)}
    arm_rank = {a: i for i, a in enumerate([*codes, D.OVERALL])}
    keys = sorted({(term(e), e, a) for e, a in zip(ep["endpoint"], ep["arm"])},
                  key=lambda k: (k[0][0] != "", k[0], arm_rank.get(k[2], 99), k[2]))
    rows, trace = [], []
    for i, ((soc, pt), endpoint, arm) in enumerate(keys):
        rec: dict[str, Any] = {"soc": soc, "pt": pt, "arm": arm}
        for col, (stat, comp) in columns.items():
            r = value.get((endpoint, arm, stat))
            rec[col] = math.nan if r is None else (float(r.n) if comp == "n" else float(r.estimate))
            if r is not None:
                trace.append([i, col, endpoint, safety, arm, "", stat, comp])
        rows.append(rec)
    out = pd.DataFrame(rows, columns=["soc", "pt", "arm", *columns])
    return out, pd.DataFrame(trace, columns=TRACE_COLUMNS)


def teae_soc_pt_table(
    adsl: pd.DataFrame | None,
    adae: pd.DataFrame,
    arms: ArmsArg,
    *,
    data_cut: str = "",
    overall_label: str = "Overall",
    treatment: str | None = None,
    ard: pd.DataFrame | None = None,
) -> Table:
    """TEAEs by SOC and PT: subjects (once per term, at their maximum grade), all grades and grade >= 3
    (on the severity scale: all severities and severe). ARD endpoints ``TEAE: any``, ``TEAE by
    SOC: <SOC>``, ``TEAE by SOC and PT: <SOC> / <PT>``; ADAE only for the grade or severity scale."""
    codes = armcds(arms)
    scale = ae_scale(adae)
    if ard is None:
        ard = pd.concat(
            [ard_of(analysis_set_rows(adsl, codes), ae_part(adsl, adae, codes)),
             ard_from_endpoints(ae_display_part(adsl, adae, codes), "display")],
            ignore_index=True,
        )
    counts = set_counts(ard, "SAFFL", codes)
    all_terms, trace = _term_frame(ard, codes, scale)
    terms = all_terms
    labels = {str(a["armcd"]): str(a["label"]) for a in arms} | {D.OVERALL: overall_label}
    column_labels = (
        (("all", "All grades"), ("ge3", "Grade ≥ 3"))
        if scale.name == "grade"
        else (("all", "All severities"), ("ge3", "Severe"))
    )
    columns = [Column(f"{k}|{g}", gl, None, labels[k], counts[k]) for k in [*codes, D.OVERALL] for g, gl in column_labels]
    grid = Grid(columns)

    def cells(sel: pd.DataFrame) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for r in sel.itertuples(index=False):
            out[f"{r.arm}|all"] = {"n_subjects": r.n_subjects, "percent": r.percent}
            out[f"{r.arm}|ge3"] = {"n_subjects": r.ge3_n_subjects, "percent": r.ge3_percent}
        return out

    grid.add(
        "Subjects with at least one TEAE", "n (%)", F.n_pct, ["n_subjects", "percent"], cells(terms[terms["soc"] == ""]), 0
    )
    terms = terms[terms["soc"] != ""]
    overall = terms[terms["arm"] == D.OVERALL].set_index(["soc", "pt"])["n_subjects"]
    socs = sorted({s for s in terms["soc"]}, key=lambda s: (-overall.get((s, ""), 0), s))
    for soc in socs:
        grid.add(
            soc,
            "n (%)",
            F.n_pct,
            ["n_subjects", "percent"],
            cells(terms[(terms["soc"] == soc) & (terms["pt"] == "")]),
            1,
        )
        pts = sorted(
            {p for s, p in zip(terms["soc"], terms["pt"]) if s == soc and p},
            key=lambda p: (-overall.get((soc, p), 0), p),
        )
        for pt in pts:
            grid.add(
                pt,
                "n (%)",
                F.n_pct,
                ["n_subjects", "percent"],
                cells(terms[(terms["soc"] == soc) & (terms["pt"] == pt)]),
                2,
            )
    grade_cols = [f"n_subjects_{scale.statistic}_{g}" for g in scale.levels]
    data = all_terms[["soc", "pt", "arm", "N", "n_subjects", "percent", "n_events", *grade_cols]]
    data = data.astype({c: "int64" for c in ["N", "n_subjects", "n_events", *grade_cols]})
    trace = trace[trace["column"].isin(data.columns)].reset_index(drop=True)
    intensity = (
        "maximum CTCAE grade"
        if scale.name == "grade"
        else "maximum severity (AESEV: mild, moderate, severe; the AE export has no CTCAE grade)"
    )
    return _table(
        "teae_soc_pt",
        "Treatment-emergent adverse events by system organ class and preferred term",
        "SAFFL",
        grid,
        [
            f"A subject with several events of the same SOC or PT is counted once, at the {intensity} of those "
            "events. SOCs and PTs by decreasing overall frequency, then alphabetically. Terms as coded in ADAE "
            "(AEBODSYS, AEDECOD)."
        ],
        ["TEAE", "SOC", "PT", "CTCAE", "N"],
        data_cut,
        label_header="System organ class / preferred term",
        data=data,
        treatment=treatment,
        trace=trace,
    )


# ------------------------------------------------------------------------------ lab shifts
SHIFT_DATA_COLUMNS = ["term", "PARAMCD", "arm", "N", "baseline_grade", "worst_grade", "n"]
_SHIFT_CELL = re.compile(r"shift_(\d+)_to_(\d+)")


def _shift_data(ard: pd.DataFrame, grading: Mapping[str, str], codes: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The shift counts of the graded parameters (the ``endpoint`` rows ``shift_<b>_to_<w>`` of
    the ARD; columns :data:`SHIFT_DATA_COLUMNS`) and the ARD key of each count and N."""
    safety = D.POPULATION_LABELS["SAFFL"]
    rows, trace = [], []
    arm_rank = {a: i for i, a in enumerate([*codes, D.OVERALL])}
    for term, paramcd in sorted(grading.items()):
        endpoint = shift_endpoint(paramcd, term)
        sel = ard[
            (ard["endpoint"] == endpoint) & (ard["population"] == safety) & (ard["analysis_type"] == "endpoint")
        ]
        cells = {}
        for arm, stat, comp, value in zip(sel["arm"], sel["statistic"], sel["component"], sel["value"]):
            m = _SHIFT_CELL.fullmatch(str(stat))
            if m:
                cells.setdefault((arm, int(m.group(1)), int(m.group(2))), {})[comp] = (stat, value)
        for (arm, b, w), c in sorted(cells.items(), key=lambda kv: (arm_rank.get(kv[0][0], 99), kv[0][1], kv[0][2])):
            i = len(rows)
            rows.append([term.replace("_", " ").capitalize(), paramcd, arm, c["n"][1], b, w, c["estimate"][1]])
            stat = c["estimate"][0]
            trace.append([i, "n", endpoint, safety, arm, "", stat, "estimate"])
            trace.append([i, "N", endpoint, safety, arm, "", stat, "n"])
    data = pd.DataFrame(rows, columns=SHIFT_DATA_COLUMNS)
    data = data.astype({"N": "int64", "baseline_grade": "int64", "worst_grade": "int64", "n": "int64"})
    return data, pd.DataFrame(trace, columns=TRACE_COLUMNS)


def lab_shift_table(
    adsl: pd.DataFrame | None,
    adlb: pd.DataFrame | None,
    arms: ArmsArg,
    grading: Mapping[str, str],
    max_grades: Mapping[str, int] | None = None,
    *,
    data_cut: str = "",
    overall_label: str = "Overall",
    treatment: str | None = None,
    ard: pd.DataFrame | None = None,
) -> Table:
    """CTCAE shift from baseline grade to worst post-baseline grade (hypoalbuminaemia,
    hypercholesterolaemia): ARD endpoints ``<PARAMCD>: CTCAE shift (<term>)``, cells
    ``shift_<b>_to_<w>`` and the display totals ``shift_<b>_to_total``, ``shift_total_to_<w>``."""
    codes = armcds(arms)
    if ard is None:
        rows: list[dict[str, Any]] = []
        for term, paramcd, counts in shift_tables(adsl, adlb, codes, grading, max_grades):
            rows += shift_rows(counts, paramcd, term.replace("_", " ").capitalize())
        ard = pd.concat(
            [ard_of(analysis_set_rows(adsl, codes), rows), ard_from_endpoints(
                lab_display_part(adsl, adlb, codes, grading, max_grades), "display")],
            ignore_index=True,
        )
    data, trace = _shift_data(ard, grading, codes)
    if data.empty:
        raise UserError(f"ADLB: none of the graded parameters {', '.join(sorted(grading.values()))} is present")
    counts = set_counts(ard, "SAFFL", codes)
    top = int(data["worst_grade"].max())
    labels = {str(a["armcd"]): str(a["label"]) for a in arms} | {D.OVERALL: overall_label}
    grades = [*range(top + 1), "Total"]
    columns = [
        Column(f"{k}|{g}", f"Grade {g}" if g != "Total" else "Total", None, labels[k], counts[k])
        for k in [*codes, D.OVERALL]
        for g in grades
    ]
    grid = Grid(columns)
    safety = D.POPULATION_LABELS["SAFFL"]
    est = ard[(ard["population"] == safety) & (ard["component"] == "estimate")]
    for (term, paramcd), block in data.groupby(["term", "PARAMCD"], sort=True):
        grid.section(f"{term} ({paramcd})")
        endpoint = f"{paramcd}: CTCAE shift ({term})"
        value = {(a, st): v for a, st, v in zip(*(est.loc[est["endpoint"] == endpoint, c] for c in ("arm", "statistic", "value")))}
        for b in [*range(top + 1), "Total"]:
            vals: dict[str, dict[str, Any]] = {}
            for arm in dict.fromkeys(block["arm"]):
                for w in grades:
                    stat = f"shift_{str(b).lower()}_to_{str(w).lower()}"
                    vals[f"{arm}|{w}"] = {
                        "n": value.get((arm, stat), math.nan),
                        SOURCE: {"n": (endpoint, safety, arm, "", stat, "estimate")},
                    }
            label = f"Baseline grade {b}" if b != "Total" else "Total (evaluable)"
            grid.add(label, "n", lambda v: F.count(v.get("n")), ["n"], vals, 1)
    return _table(
        "lab_shift",
        "Shift from baseline CTCAE grade to worst post-baseline grade",
        "SAFFL",
        grid,
        [
            "Baseline grade = BTOXGR (grade of the baseline record); worst post-baseline grade = highest ATOXGR from "
            "study day 2 on, scheduled and unscheduled records. Grades per CTCAE v5.0 (resources/ctcae.csv), derived "
            "in ADLB. Evaluable = subjects with a baseline and at least one post-baseline grade. Cells: number of "
            "subjects. Grade 0 = within the normal range / no grade."
        ],
        ["CTCAE", "N"],
        data_cut,
        label_header="Baseline grade",
        data=data,
        treatment=treatment,
        trace=trace,
    )


# ----------------------------------------------------------------------- by-visit summaries
def lab_decimals(units: pd.DataFrame) -> dict[str, int]:
    """Decimals of the reported data per PARAMCD from ``resources/units.csv`` (largest of its units)."""
    D.require_columns(units, ["PARAMCD", "decimals"], "units.csv")
    g = units.assign(decimals=D.to_float(units["decimals"])).groupby("PARAMCD")["decimals"].max()
    return {str(k): int(v) for k, v in g.items() if not math.isnan(v)}


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
    dec = DEFAULT_DECIMALS | dict(decimals or {})
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
    return _table(
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
    titre, undet = f"{AQP4}: titre", f"{AQP4}: undetectable"
    grid.section("AQP4-IgG titre (reciprocal dilution)")
    for visit in _visits_of(ep, titre):
        vals = ep_values(ep, titre, visit)
        label = F.visit_label(visit)
        grid.add(label, "n", lambda v: F.count(v.get("n")), ["n"], vals)
        grid.add(label, "Median", lambda v: F.rnd(v.get("median"), 1), ["median"], vals)
        grid.add(label, "Min, Max", lambda v: F.min_max(v, 0), ["min", "max"], vals)
        grid.add(label, "Geometric mean", lambda v: F.rnd(v.get("geometric_mean"), 1), ["geometric_mean"], vals)
    grid.section("Undetectable AQP4-IgG (below the lowest dilution)")
    for visit in _visits_of(ep, undet):
        vals = ep_values(ep, undet, visit)
        label = F.visit_label(visit)
        grid.add(label, "n/N (%)", F.n_of_n_pct, ["n_subjects", "n", "percent"], vals)
        grid.add(
            label,
            f"{level_pct(level)} CI (%)",
            lambda v: F.interval(v, 1, "percent_ci_low", "percent_ci_high"),
            ["percent_ci_low", "percent_ci_high"],
            vals,
        )
    chg = f"{AQP4}: log2 titre change from baseline"
    grid.section("Change from baseline in log2 titre (dilution steps)")
    for visit in _visits_of(ep, chg):
        continuous_block(grid, F.visit_label(visit), ep_values(ep, chg, visit), 1, False, level)
    tte = f"{AQP4}: time to first undetectable"
    if (ep["endpoint"] == tte).any():
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
    return _table(
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
        vals = ep_values(ep, chg, visit)
        grid.section(f"Paired analysis: baseline to {F.visit_label(visit)} (subjects with both)")
        grid.add("Subjects", "n", lambda v: F.count(v.get("n")), ["n"], vals)
        grid.add(
            "Baseline",
            "Mean (SD)",
            lambda v: F.mean_sd(v, 2, "baseline_mean", "baseline_sd"),
            ["baseline_mean", "baseline_sd"],
            vals,
        )
        grid.add(
            F.visit_label(visit),
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
    grid.section("Improved (CRIT1FL = Y)")
    for visit in _visits_of(ep, "EDSS: improved"):
        vals = ep_values(ep, "EDSS: improved", visit)
        label = F.visit_label(visit)
        grid.add(label, "n/N (%)", F.n_of_n_pct, ["n_subjects", "n", "percent"], vals)
        grid.add(
            label,
            f"{level_pct(level)} CI (%)",
            lambda v: F.interval(v, 1, "percent_ci_low", "percent_ci_high"),
            ["percent_ci_low", "percent_ci_high"],
            vals,
        )
    return _table(
        "edss",
        "EDSS by visit and change from baseline",
        "SAFFL",
        grid,
        [
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
        ],
        ["EDSS", "CI", "SD", "Min", "Max", "NE"],
        data_cut,
        "Visit",
        treatment=treatment,
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


def nca_summary_table(
    summary: pd.DataFrame,
    arms: ArmsArg,
    adsl: pd.DataFrame | None = None,
    reasons: pd.DataFrame | None = None,
    *,
    data_cut: str = "",
    acceptance: str = "",
    excluded: bool = True,
    treatment: str | None = None,
) -> Table:
    """NCA parameters by arm and interval (``pk/nca_summary.csv``), 3 significant figures.

    Header N = PK population per arm when ``adsl`` is given. Statistics that are missing for
    every arm (e.g. geometric mean of Tmax) are not shown. Rows "Not estimable (n)" and
    "Excluded (n)" appear where values are missing from the statistics, and the footnotes say
    why (``reasons`` = :func:`fcrnpipe.nca.missing_reasons` of ``pk/nca.csv``); ``acceptance``
    describes the acceptance rules (:meth:`fcrnpipe.nca.AcceptanceRules.describe`), ``excluded``
    whether flagged values were left out of the statistics (else the row says "Flagged (n)").
    """
    D.require_columns(summary, NCA_SUMMARY_COLUMNS, "pk/nca_summary.csv")
    counts_cols = [c for c in NCA_SUMMARY_COUNTS if c in summary.columns]
    codes = armcds(arms)
    counts = D.arm_n(D.population(adsl, codes, "PKFL"), codes) if adsl is not None else {}
    grid = Grid([Column(str(a["armcd"]), str(a["label"]), counts.get(str(a["armcd"]))) for a in arms])
    s = summary.assign(ARMCD=D.text(summary["ARMCD"]))
    stat_rows = [
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
    from fcrnpipe.nca.core import PARAMETERS

    rank = {p: i for i, p in enumerate(PARAMETERS)}
    for interval in sorted(set(s["interval"]), key=str):
        grid.section(f"Interval: {interval}")
        block = s[s["interval"] == interval]
        params = sorted(set(zip(block["parameter"], block["unit"])), key=lambda pu: (rank.get(pu[0], 999), pu))
        for param, unit in params:
            rows = block[(block["parameter"] == param) & (block["unit"] == unit)]
            vals = {
                r["ARMCD"]: {k: D.to_float(pd.Series([r[k]])).iloc[0] for k in NCA_SUMMARY_COLUMNS[4:] + counts_cols}
                for _, r in rows.iterrows()
            }
            label = f"{param} ({unit})" if unit and unit != "1" else param
            for stat, fmt, keys in stat_rows:
                cells = [v.get(k) for v in vals.values() for k in keys]
                if all(F.is_missing(x) or (x == 0 and set(keys) <= set(counts_cols)) for x in cells):
                    continue
                grid.add(label, stat, fmt, keys, vals)
    data = (
        s[NCA_SUMMARY_COLUMNS + counts_cols]
        .sort_values(["interval", "parameter", "ARMCD"], kind="mergesort")
        .reset_index(drop=True)
    )
    return _table(
        "nca_summary",
        f"Non-compartmental PK parameters of {drug_name(treatment)} by dose",
        "PKFL",
        grid,
        [
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
        ],
        ["CV", "SD", "Min", "Max", "NE"],
        data_cut,
        "Parameter",
        data,
        treatment=treatment,
    )


POPPK_COLUMNS = ["parameter", "estimate", "se", "rse_pct", "ci_low", "ci_high", "unit", "kind"]
KIND_TITLES = {
    "fixed": "Fixed effects (typical values)",
    "iiv": "Inter-individual variability",
    "residual": "Residual error",
}


def pkpd_parameters_table(params: pd.DataFrame, *, data_cut: str = "") -> Table:
    """Population PK/PD parameter estimates (``pkpd/population_parameters.csv``), 3 significant figures.

    Sections by model part (``part``/``model`` columns, when present) and kind; a bootstrap
    percentile CI column is added when ``boot_ci_low``/``boot_ci_high`` are present.
    """
    D.require_columns(params, POPPK_COLUMNS, "pkpd/population_parameters.csv")
    has_boot = {"boot_ci_low", "boot_ci_high"} <= set(params.columns)
    cols = [
        Column("estimate", "Estimate"),
        Column("se", "SE"),
        Column("rse_pct", "RSE (%)"),
        Column("ci", "95% CI"),
    ]
    if has_boot:
        cols.append(Column("boot_ci", "Bootstrap 95% CI"))
    cols.append(Column("unit", "Unit"))
    grid = Grid(cols)
    p = params.assign(kind=D.text(params["kind"]).str.lower(), unit=D.text(params["unit"]))
    if "part" in p.columns:
        p = p.assign(part=D.text(p["part"]), model=D.text(p["model"]) if "model" in p.columns else "")
        parts = list(dict.fromkeys(p["part"]))
    else:
        p = p.assign(part="", model="")
        parts = [""]

    def interval(lo: float, hi: float) -> str:
        return F.NE if F.is_missing(lo) or F.is_missing(hi) else f"({F.sig(lo)}, {F.sig(hi)})"

    for part in parts:
        q = p[p["part"] == part]
        models = ", ".join(m for m in dict.fromkeys(q["model"]) if m)
        prefix = f"{part} model ({models}): " if part and models else (f"{part}: " if part else "")
        kinds = sorted(set(q["kind"]), key=lambda k: (list(KIND_TITLES).index(k) if k in KIND_TITLES else 9, k))
        for kind in kinds:
            grid.section(prefix + KIND_TITLES.get(kind, kind.capitalize()))
            for _, r in q[q["kind"] == kind].iterrows():
                keys = ("estimate", "se", "rse_pct", "ci_low", "ci_high") + (("boot_ci_low", "boot_ci_high") if has_boot else ())
                v = {k: D.to_float(pd.Series([r[k]])).iloc[0] for k in keys}
                cells = {
                    "estimate": F.sig(v["estimate"]),
                    "se": F.sig(v["se"]),
                    "rse_pct": F.rnd(v["rse_pct"], 1),
                    "ci": interval(v["ci_low"], v["ci_high"]),
                    "unit": str(r["unit"]),
                }
                if has_boot:
                    cells["boot_ci"] = interval(v["boot_ci_low"], v["boot_ci_high"])
                grid.rows.append(Row(str(r["parameter"]), "", cells, 1))
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
    )


# ------------------------------------------------------------------- published vs reproduced
def published_table(
    published: pd.DataFrame, *, data_cut: str = "", findings: Mapping[str, Finding] | None = None
) -> Table:
    """The published findings next to the reproduced values (``tables/published_vs_reproduced``);
    ``findings`` (default: the shipped ``resources/published_findings.yaml``) give the tolerances
    quoted in the footnotes."""
    edss = (findings if findings is not None else default_findings())["edss_baseline"].check
    D.require_columns(published, PUBLISHED_COLUMNS, "published_vs_reproduced")
    cols = [
        Column("source", "Source"),
        Column("published", "Published"),
        Column("reproduced", "Reproduced"),
        Column("criterion", "Criterion"),
        Column("holds", "Holds"),
    ]
    rows = [
        Row(
            str(r["finding"]),
            "",
            {
                "source": str(r["source"]),
                "published": str(r["published"]),
                "reproduced": str(r["reproduced"]),
                "criterion": str(r["criterion"]),
                "holds": "Yes" if bool(r["holds"]) else "No",
            },
            1,
        )
        for _, r in published.iterrows()
    ]
    n_hold = int(published["holds"].astype(bool).sum())
    return Table(
        name="published_vs_reproduced",
        title="Published findings of the reference study and the values reproduced by this pipeline",
        population="As stated per finding (IgG: 680 mg arm, PD population; others: all arms)",
        columns=cols,
        rows=rows,
        footnotes=[
            f"{n_hold} of {len(published)} findings hold.",
            "Sources: abstract = Wang Y et al., Eur J Neurol 2023;30(1):195-203 (doi 10.1111/ene.15561); news summary "
            "= Rare Disease Advisor news brief on the study; derived = computed from published numbers (exact "
            "signed-rank p-value if every patient improved); assumption = plausible target not found in an "
            "accessible source (not a published result).",
            f"Tolerances: EDSS mean within {float(edss['mean_tolerance']):g} and SD within "
            f"{float(edss['sd_tolerance']):g} of the published value (published to one decimal); "
            "counts must match exactly; IgG and cholesterol targets as stated in the criterion.",
        ],
        data=published[PUBLISHED_COLUMNS].reset_index(drop=True),
        data_cut=data_cut,
        label_header="Finding",
        stat_header="",
    )
