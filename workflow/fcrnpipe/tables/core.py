"""Table structure and the helpers every table builder uses: :class:`Table`, :class:`Grid`, the
ARD as input (:func:`ard_endpoints`, :func:`set_counts`, :func:`ep_values`), blocks and footnotes."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from fcrnpipe.errors import UserError
from fcrnpipe.labels import drug_name
from fcrnpipe.stats import descriptive as D
from fcrnpipe.stats.ard import ARD_KEY, ard_from_endpoints, endpoints_from_ard
from fcrnpipe.stats.ci import level_pct
from fcrnpipe.stats.demographics import ANALYSIS_SET
from fcrnpipe.tables import format as F


ArmsArg = Sequence[Mapping[str, Any]]
Values = Mapping[str, Any]

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
        components = (("_ci_low", "ci_low"), ("_ci_high", "ci_high"), ("_p", "p_value"), ("_ci_level", "ci_level"))
        for suffix, comp in components:
            src[stat + suffix] = ard_key(r, comp)
        src[f"{stat}_ci_low_included"] = ard_key(r, "ci_low_included")
        src[f"{stat}_ci_high_included"] = ard_key(r, "ci_high_included")
        if r.n > d.get("n", -1):
            src["n"] = ard_key(r, "n")
        d["n"] = max(d.get("n", 0), r.n)
    return out


def numbers_from_ard(
    data: pd.DataFrame, ard: pd.DataFrame, sources: Callable[[Mapping[str, Any]], Mapping[str, tuple[str, ...]]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``data`` (a results file's rows: labels and numbers) with every number replaced by the
    ARD value it was written to, and the :attr:`Table.trace` of those numbers.

    ``sources(record)`` gives, per numeric column of a record, the ARD key
    (:data:`~fcrnpipe.stats.ard.ARD_KEY`) of its number. An ``estimate`` or ``n`` missing from
    the ARD is a :class:`UserError`; another component (a CI limit) missing means no value (NaN).
    Integer columns stay integers."""
    index = dict(zip(zip(*(ard[c].astype(str) for c in ARD_KEY)), ard["value"].astype(float)))
    out = data.copy()
    trace: list[dict[str, Any]] = []
    values: dict[str, list[float]] = {}
    for i, record in enumerate(data.to_dict("records")):
        for col, key in sources(record).items():
            if key in index:
                trace.append(dict(zip(TRACE_COLUMNS, (i, col, *key))))
            elif key[-1] in ("estimate", "n"):
                raise UserError(f"ARD: no row {dict(zip(ARD_KEY, key))} for {col} of {record}")
            values.setdefault(col, [math.nan] * len(data))[i] = index.get(key, math.nan)
    for col, v in values.items():
        col_values = pd.Series(v, index=data.index, dtype=float)
        integer = pd.api.types.is_integer_dtype(data[col]) and col_values.notna().all()
        out[col] = col_values.astype(data[col].dtype) if integer else col_values
    return out, pd.DataFrame(trace, columns=TRACE_COLUMNS)


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
        percent_ci_row(grid, label, vals, level, indent)


def percent_ci_row(grid: Grid, label: str, vals: Mapping[str, Values], level: float = 0.95, indent: int = 1) -> None:
    """The row of the exact CI of a percentage (``percent_ci_low``, ``percent_ci_high``)."""
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


def population_text(flag: str | None, treatment: str | None = None) -> str:
    return {
        None: "all enrolled subjects",
        "SAFFL": f"safety population (SAFFL = Y: at least one dose of {drug_name(treatment)})",
        "PDFL": "PD population (PDFL = Y: baseline and at least one post-baseline total IgG)",
        "PKFL": "PK population (PKFL = Y: at least one measurable concentration)",
    }[flag]


def _trace_or_empty(trace: pd.DataFrame | None) -> pd.DataFrame:
    return trace if trace is not None else pd.DataFrame(columns=TRACE_COLUMNS)


def build_table(
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
    pop = population_text(flag, treatment)
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
        trace=grid.trace_frame() if data is None else _trace_or_empty(trace),
    )
