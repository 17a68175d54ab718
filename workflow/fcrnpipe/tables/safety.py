"""Safety tables: TEAE overview, TEAE by SOC/PT, CTCAE shift tables (rendered from the ARD)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from fcrnpipe.errors import UserError
from fcrnpipe.labels import drug_name
from fcrnpipe.stats import descriptive as D
from fcrnpipe.stats.ard import ard_from_endpoints
from fcrnpipe.stats.ci import level_pct
from fcrnpipe.stats.demographics import analysis_set_rows
from fcrnpipe.stats.safety import (
    PT_ENDPOINT,
    SOC_ENDPOINT,
    TEAE_ENDPOINT,
    ae_display_part,
    ae_part,
    ae_scale,
    lab_display_part,
    overview_categories,
    shift_endpoint,
    shift_rows,
    shift_tables,
    teae_overview,
)
from fcrnpipe.tables import format as F
from fcrnpipe.tables.core import (
    ArmsArg,
    Column,
    Grid,
    SOURCE,
    TRACE_COLUMNS,
    Table,
    ard_endpoints,
    ard_of,
    arm_columns,
    armcds,
    build_table,
    count_block,
    ep_values,
    set_counts,
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
    return build_table(
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


def _grade_columns(
    arms: ArmsArg, codes: Sequence[str], counts: Mapping[str, int], overall_label: str, scale: Any
) -> list[Column]:
    """Two columns per arm and overall: all grades and grade >= 3 (all severities and severe on
    the severity scale)."""
    labels = {str(a["armcd"]): str(a["label"]) for a in arms} | {D.OVERALL: overall_label}
    column_labels = (
        (("all", "All grades"), ("ge3", "Grade ≥ 3"))
        if scale.name == "grade"
        else (("all", "All severities"), ("ge3", "Severe"))
    )
    return [Column(f"{k}|{g}", gl, None, labels[k], counts[k]) for k in [*codes, D.OVERALL] for g, gl in column_labels]


def _grade_cells(sel: pd.DataFrame) -> dict[str, dict[str, float]]:
    """The cells of one term's row: n and % per arm, all grades and grade >= 3."""
    out: dict[str, dict[str, float]] = {}
    for r in sel.itertuples(index=False):
        out[f"{r.arm}|all"] = {"n_subjects": r.n_subjects, "percent": r.percent}
        out[f"{r.arm}|ge3"] = {"n_subjects": r.ge3_n_subjects, "percent": r.ge3_percent}
    return out


def _soc_pt_rows(grid: Grid, terms: pd.DataFrame) -> None:
    """Subjects with any TEAE, then each SOC and, indented, its PTs, by decreasing overall
    frequency, then alphabetically (``terms``: :func:`_term_frame`)."""
    any_teae = _grade_cells(terms[terms["soc"] == ""])
    grid.add("Subjects with at least one TEAE", "n (%)", F.n_pct, ["n_subjects", "percent"], any_teae, 0)
    terms = terms[terms["soc"] != ""]
    overall = terms[terms["arm"] == D.OVERALL].set_index(["soc", "pt"])["n_subjects"]
    socs = sorted({s for s in terms["soc"]}, key=lambda s: (-overall.get((s, ""), 0), s))
    for soc in socs:
        grid.add(
            soc,
            "n (%)",
            F.n_pct,
            ["n_subjects", "percent"],
            _grade_cells(terms[(terms["soc"] == soc) & (terms["pt"] == "")]),
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
                _grade_cells(terms[(terms["soc"] == soc) & (terms["pt"] == pt)]),
                2,
            )


def _soc_pt_footnote(scale: Any) -> str:
    """How subjects are counted (at their maximum grade or severity) and the order of the terms."""
    intensity = (
        "maximum CTCAE grade"
        if scale.name == "grade"
        else "maximum severity (AESEV: mild, moderate, severe; the AE export has no CTCAE grade)"
    )
    return (
        f"A subject with several events of the same SOC or PT is counted once, at the {intensity} of those "
        "events. SOCs and PTs by decreasing overall frequency, then alphabetically. Terms as coded in ADAE "
        "(AEBODSYS, AEDECOD)."
    )


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
    all_terms, trace = _term_frame(ard, codes, scale)
    grid = Grid(_grade_columns(arms, codes, set_counts(ard, "SAFFL", codes), overall_label, scale))
    _soc_pt_rows(grid, all_terms)
    grade_cols = [f"n_subjects_{scale.statistic}_{g}" for g in scale.levels]
    data = all_terms[["soc", "pt", "arm", "N", "n_subjects", "percent", "n_events", *grade_cols]]
    data = data.astype({c: "int64" for c in ["N", "n_subjects", "n_events", *grade_cols]})
    trace = trace[trace["column"].isin(data.columns)].reset_index(drop=True)
    return build_table(
        "teae_soc_pt",
        "Treatment-emergent adverse events by system organ class and preferred term",
        "SAFFL",
        grid,
        [_soc_pt_footnote(scale)],
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


def _shift_columns(
    arms: ArmsArg, codes: Sequence[str], counts: Mapping[str, int], overall_label: str, grades: Sequence[Any]
) -> list[Column]:
    """A column per worst post-baseline grade (and Total) under each arm and overall."""
    labels = {str(a["armcd"]): str(a["label"]) for a in arms} | {D.OVERALL: overall_label}
    return [
        Column(f"{k}|{g}", f"Grade {g}" if g != "Total" else "Total", None, labels[k], counts[k])
        for k in [*codes, D.OVERALL]
        for g in grades
    ]


def _shift_section(
    grid: Grid, est: pd.DataFrame, endpoint: str, title: str, block: pd.DataFrame, grades: Sequence[Any]
) -> None:
    """One graded parameter: a row per baseline grade (and Total) with the ARD's ``endpoint``
    estimates (``est``) of each arm of ``block`` and worst grade, traced to their ARD rows."""
    safety = D.POPULATION_LABELS["SAFFL"]
    grid.section(title)
    value = {(a, st): v for a, st, v in zip(*(est.loc[est["endpoint"] == endpoint, c] for c in ("arm", "statistic", "value")))}
    for b in grades:
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
    top = int(data["worst_grade"].max())
    grades = [*range(top + 1), "Total"]
    grid = Grid(_shift_columns(arms, codes, set_counts(ard, "SAFFL", codes), overall_label, grades))
    safety = D.POPULATION_LABELS["SAFFL"]
    est = ard[(ard["population"] == safety) & (ard["component"] == "estimate")]
    for (term, paramcd), block in data.groupby(["term", "PARAMCD"], sort=True):
        _shift_section(grid, est, f"{paramcd}: CTCAE shift ({term})", f"{term} ({paramcd})", block, grades)
    return build_table(
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
