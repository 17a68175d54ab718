"""Safety endpoints (primary): TEAE overview, TEAE by SOC/PT, laboratory safety and CTCAE shifts.

Population: safety analysis set (``ADSL.SAFFL = "Y"``); percentages use the number of subjects
of the population in the arm (or overall) as denominator, with Clopper-Pearson exact CIs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.stats.descriptive import (
    OVERALL,
    POPULATION_LABELS,
    arm_groups,
    baseline_records,
    by_visit_rows,
    continuous_rows,
    count_rows,
    flag_yes,
    frame,
    percent_of_baseline,
    population,
    post_baseline_visits,
    require_columns,
    restrict,
    row,
    subject_count_rows,
    text,
    to_float,
    visit_summary_rows,
)

SAFETY = POPULATION_LABELS["SAFFL"]
TEAE_ENDPOINT = "TEAE: {}"
SOC_ENDPOINT = "TEAE by SOC: {soc}"
PT_ENDPOINT = "TEAE by SOC and PT: {soc} / {pt}"
DISC_PT_ENDPOINT = "TEAE leading to discontinuation by SOC and PT: {soc} / {pt}"

#: TEAE overview categories: (endpoint suffix, description of the subset for the method text).
OVERVIEW: tuple[tuple[str, str], ...] = (
    ("any", "any TEAE (TRTEMFL=Y)"),
    ("treatment-related", "TEAE with RELFL=Y (AEREL in config ae.related_terms)"),
    ("CTCAE grade >= 3", "TEAE with ATOXGR >= 3"),
    ("serious", "TEAE with AESER=Y"),
    ("leading to discontinuation of study drug", "TEAE with DISCFL=Y (AEACN = DRUG WITHDRAWN)"),
    ("leading to death", "TEAE with ATOXGR = 5, AEOUT = FATAL or AESDTH = Y"),
)



@dataclass(frozen=True)
class AeScale:
    """The intensity scale of the AEs: CTCAE grade (ATOXGR, 1-5) or, without grades, severity
    (ASEVN from AESEV: 1 mild, 2 moderate, 3 severe)."""

    name: str
    variable: str
    levels: tuple[int, ...]
    high_key: str
    high_desc: str
    statistic: str
    level_names: tuple[str, ...]

    def level_label(self, level: int) -> str:
        """``Grade 3`` or ``Severe``."""
        return f"Grade {level}" if self.name == "grade" else self.level_names[level - 1].capitalize()


GRADE_SCALE = AeScale(
    "grade", "ATOXGR", (1, 2, 3, 4, 5), "CTCAE grade >= 3", "TEAE with ATOXGR >= 3", "max_grade", ("1", "2", "3", "4", "5")
)
SEVERITY_SCALE = AeScale(
    "severity",
    "ASEVN",
    (1, 2, 3),
    "severe",
    "TEAE with ASEV = SEVERE (AESEV; AE has no CTCAE grade)",
    "max_severity",
    ("MILD", "MODERATE", "SEVERE"),
)


def ae_scale(adae: pd.DataFrame) -> AeScale:
    """CTCAE grades when ADAE has any ATOXGR (or no ASEVN), else the AESEV severity scale."""
    has_grade = "ATOXGR" in adae.columns and to_float(adae["ATOXGR"]).notna().any()
    return SEVERITY_SCALE if not has_grade and "ASEVN" in adae.columns else GRADE_SCALE


def overview_categories(scale: AeScale) -> tuple[tuple[str, str], ...]:
    """:data:`OVERVIEW` on ``scale`` (severity: ``severe`` instead of ``CTCAE grade >= 3``)."""
    if scale.name == "grade":
        return OVERVIEW
    return tuple(
        (scale.high_key, scale.high_desc)
        if key == GRADE_SCALE.high_key
        else (key, "TEAE with AEOUT = FATAL or AESDTH = Y") if key == "leading to death" else (key, desc)
        for key, desc in OVERVIEW
    )


#: Laboratory safety parameters summarised by visit, and the extreme summarised per subject.
LAB_PARAMS: tuple[str, ...] = ("ALB", "CHOL", "LDL")
LAB_EXTREME: dict[str, str] = {"ALB": "nadir", "CHOL": "peak", "LDL": "peak", "HDL": "peak", "IGG": "nadir"}

#: SOC / PT shown for TEAEs without a coded term.
UNCODED = "Not coded"
TERM_COLUMNS = ["soc", "pt", "arm", "N", "n_subjects", "n_events", "max_grade"]


def teae_records(adae: pd.DataFrame, pop: pd.DataFrame) -> pd.DataFrame:
    """TEAE records (``TRTEMFL = "Y"``) of the population, ARMCD from ADSL, ATOXGR numeric (on the
    severity scale, :func:`ae_scale`, ATOXGR holds ASEVN), empty AEBODSYS/AEDECOD as ``"Not coded"``."""
    require_columns(adae, ["USUBJID", "TRTEMFL", "AEBODSYS", "AEDECOD"], "ADAE")
    scale = ae_scale(adae)
    require_columns(adae, [scale.variable], "ADAE")
    ae = restrict(adae, pop)
    ae = ae[flag_yes(ae["TRTEMFL"])]
    return ae.assign(
        ATOXGR=to_float(ae[scale.variable]),
        AEBODSYS=text(ae["AEBODSYS"]).replace("", UNCODED),
        AEDECOD=text(ae["AEDECOD"]).replace("", UNCODED),
    )


def _subset(ae: pd.DataFrame, key: str) -> pd.Series:
    """Mask of the TEAEs of an overview category."""
    if key == "any":
        return pd.Series(True, index=ae.index)
    if key == "treatment-related":
        require_columns(ae, ["RELFL"], "ADAE")
        return flag_yes(ae["RELFL"])
    if key in (GRADE_SCALE.high_key, SEVERITY_SCALE.high_key):
        return ae["ATOXGR"] >= 3
    if key == "serious":
        require_columns(ae, ["AESER"], "ADAE")
        return flag_yes(ae["AESER"])
    if key == "leading to discontinuation of study drug":
        require_columns(ae, ["DISCFL"], "ADAE")
        return flag_yes(ae["DISCFL"])
    if key == "leading to death":
        m = ae["ATOXGR"] == 5
        if "AEOUT" in ae.columns:
            m |= text(ae["AEOUT"]).str.upper().eq("FATAL")
        if "AESDTH" in ae.columns:
            m |= flag_yes(ae["AESDTH"])
        return m
    raise ValueError(f"unknown TEAE category {key!r}")


def teae_overview(adsl: pd.DataFrame, adae: pd.DataFrame, arms: Sequence[str], level: float = 0.95) -> pd.DataFrame:
    """TEAE overview: subjects with >= 1 TEAE of each category, n (%) with exact CI, and events.

    Endpoints ``TEAE: any``, ``TEAE: treatment-related``, ``TEAE: CTCAE grade >= 3`` (``TEAE:
    severe`` on the severity scale), ``TEAE: serious``, ``TEAE: leading to discontinuation of study drug``, ``TEAE: leading to
    death``; statistics ``n_subjects``, ``percent`` (Clopper-Pearson CI), ``n_events``; by arm
    and overall (safety population).
    """
    pop = population(adsl, arms, "SAFFL")
    ae = teae_records(adae, pop)
    rows: list[dict[str, Any]] = []
    for key, desc in overview_categories(ae_scale(adae)):
        sub = ae[_subset(ae, key)]
        endpoint = TEAE_ENDPOINT.format(key)
        for (arm, p), (_, a) in zip(arm_groups(pop, arms), arm_groups(sub, arms)):
            n_pop = int(p["USUBJID"].nunique())
            rows += count_rows(
                int(a["USUBJID"].nunique()),
                n_pop,
                endpoint=endpoint,
                population=SAFETY,
                arm=arm,
                visit="",
                level=level,
                denominator=f"subjects in the safety population of the arm; {desc}",
            )
            rows.append(row(endpoint, SAFETY, arm, "", n_pop, "n_events", len(a), f"number of events; {desc}"))
    return frame(rows)


def teae_term_counts(ae: pd.DataFrame, pop: pd.DataFrame, arms: Sequence[str]) -> pd.DataFrame:
    """Subjects and events per SOC (``pt = ""``) and per SOC/PT, by arm and overall.

    A subject counts once per SOC and once per PT, at the maximum CTCAE grade of the term
    (``max_grade`` is a dict grade -> subjects; subjects whose events all lack a grade are in
    ``n_subjects`` only). Columns :data:`TERM_COLUMNS`, sorted by soc, pt (SOC row first), arm
    order.
    """
    terms = sorted({(s, "") for s in ae["AEBODSYS"]} | set(zip(ae["AEBODSYS"], ae["AEDECOD"])))
    out = []
    for soc, pt in terms:
        sel = ae[(ae["AEBODSYS"] == soc) & ((ae["AEDECOD"] == pt) if pt else True)]
        for (arm, p), (_, a) in zip(arm_groups(pop, arms), arm_groups(sel, arms)):
            worst = a.groupby("USUBJID")["ATOXGR"].max().dropna()
            grades = {int(g): int(c) for g, c in worst.value_counts().sort_index().items()}
            out.append(
                {
                    "soc": soc,
                    "pt": pt,
                    "arm": arm,
                    "N": int(p["USUBJID"].nunique()),
                    "n_subjects": int(a["USUBJID"].nunique()),
                    "n_events": int(len(a)),
                    "max_grade": grades,
                }
            )
    return pd.DataFrame(out, columns=TERM_COLUMNS)


def _term_rows(
    counts: pd.DataFrame, soc_template: str | None, pt_template: str, level: float, scale: AeScale = GRADE_SCALE
) -> list[dict]:
    rows: list[dict[str, Any]] = []
    for r in counts.itertuples(index=False):
        if not r.pt and soc_template is None:
            continue
        endpoint = pt_template.format(soc=r.soc, pt=r.pt) if r.pt else str(soc_template).format(soc=r.soc)
        term = "PT" if r.pt else "SOC"
        rows += count_rows(
            r.n_subjects,
            r.N,
            endpoint=endpoint,
            population=SAFETY,
            arm=r.arm,
            visit="",
            level=level,
            denominator=f"subjects in the safety population of the arm; subjects counted once per {term}",
        )
        rows.append(row(endpoint, SAFETY, r.arm, "", r.N, "n_events", r.n_events, "number of events"))
        for g in scale.levels:
            what = f"CTCAE grade for the {term} is {g}" if scale.name == "grade" else (
                f"severity (AESEV) for the {term} is {scale.level_names[g - 1]}"
            )
            rows.append(
                row(
                    endpoint,
                    SAFETY,
                    r.arm,
                    "",
                    r.N,
                    f"n_subjects_{scale.statistic}_{g}",
                    r.max_grade.get(g, 0),
                    f"subjects whose maximum {what}",
                )
            )
    return rows


def teae_by_term(adsl: pd.DataFrame, adae: pd.DataFrame, arms: Sequence[str], level: float = 0.95) -> pd.DataFrame:
    """TEAE by SOC and PT (all TEAEs) and TEAEs leading to discontinuation by SOC and PT.

    Endpoints ``TEAE by SOC: <SOC>``, ``TEAE by SOC and PT: <SOC> / <PT>`` and ``TEAE leading to
    discontinuation by SOC and PT: <SOC> / <PT>``; statistics ``n_subjects``, ``percent``,
    ``n_events``, ``n_subjects_max_grade_1`` ... ``_5`` (subjects at their maximum grade; on the
    severity scale ``n_subjects_max_severity_1`` ... ``_3``).
    """
    pop = population(adsl, arms, "SAFFL")
    ae = teae_records(adae, pop)
    scale = ae_scale(adae)
    rows = _term_rows(teae_term_counts(ae, pop, arms), SOC_ENDPOINT, PT_ENDPOINT, level, scale)
    disc = ae[_subset(ae, "leading to discontinuation of study drug")]
    rows += _term_rows(teae_term_counts(disc, pop, arms), None, DISC_PT_ENDPOINT, level, scale)
    return frame(rows)


def teae_any_counts(ae: pd.DataFrame, pop: pd.DataFrame, arms: Sequence[str]) -> pd.DataFrame:
    """Subjects and events with any TEAE, by arm and overall, as one ``soc = pt = ""`` term of
    :func:`teae_term_counts` (columns :data:`TERM_COLUMNS`)."""
    out = []
    for (arm, p), (_, a) in zip(arm_groups(pop, arms), arm_groups(ae, arms)):
        worst = a.groupby("USUBJID")["ATOXGR"].max().dropna()
        out.append(
            {
                "soc": "",
                "pt": "",
                "arm": arm,
                "N": int(p["USUBJID"].nunique()),
                "n_subjects": int(a["USUBJID"].nunique()),
                "n_events": int(len(a)),
                "max_grade": {int(g): int(c) for g, c in worst.value_counts().items()},
            }
        )
    return pd.DataFrame(out, columns=TERM_COLUMNS)


def ae_display_part(adsl: pd.DataFrame, adae: pd.DataFrame, arms: Sequence[str], level: float = 0.95) -> pd.DataFrame:
    """Display rows of job ``stats_part`` (part=ae) (ARD ``analysis_type = display``) for the TEAE by SOC/PT
    table: ``TEAE: any`` subjects at their maximum grade (``n_subjects_max_grade_<g>``; severity:
    ``n_subjects_max_severity_<g>``), and for any TEAE, each SOC and each SOC/PT the subjects whose
    maximum grade is >= 3 (severity: severe): ``max_grade_ge_3_n_subjects``/``_percent``."""
    pop = population(adsl, arms, "SAFFL")
    ae = teae_records(adae, pop)
    scale = ae_scale(adae)
    anyc = teae_any_counts(ae, pop, arms)
    rows: list[dict[str, Any]] = []
    for r in anyc.itertuples(index=False):
        for g in scale.levels:
            rows.append(
                row(TEAE_ENDPOINT.format("any"), SAFETY, r.arm, "", r.N, f"n_subjects_{scale.statistic}_{g}",
                    r.max_grade.get(g, 0), f"subjects whose maximum {scale.name} of any TEAE is {g}")
            )
    top = "CTCAE grade >= 3" if scale.name == "grade" else "severity severe"
    for r in pd.concat([anyc, teae_term_counts(ae, pop, arms)], ignore_index=True).itertuples(index=False):
        endpoint = (
            TEAE_ENDPOINT.format("any") if not r.soc
            else PT_ENDPOINT.format(soc=r.soc, pt=r.pt) if r.pt else SOC_ENDPOINT.format(soc=r.soc)
        )
        k = sum(c for g, c in r.max_grade.items() if g >= 3)
        rows += count_rows(
            k, r.N, endpoint=endpoint, population=SAFETY, arm=r.arm, visit="", level=level,
            denominator=f"subjects in the safety population of the arm; subjects whose maximum {top}",
            prefix=f"{scale.statistic}_ge_3_",
        )
    return frame(rows)


def ae_part(adsl: pd.DataFrame, adae: pd.DataFrame, arms: Sequence[str], level: float = 0.95) -> pd.DataFrame:
    """All AE endpoints (job ``stats_part`` (part=ae)): overview and SOC/PT counts."""
    return frame(
        [
            *teae_overview(adsl, adae, arms, level).to_dict("records"),
            *teae_by_term(adsl, adae, arms, level).to_dict("records"),
        ]
    )


# ------------------------------------------------------------------------- laboratory safety
def lab_records(adlb: pd.DataFrame, pop: pd.DataFrame, paramcd: str) -> pd.DataFrame:
    """ADLB records of ``paramcd`` for the population (ARMCD from ADSL)."""
    require_columns(adlb, ["USUBJID", "PARAMCD", "AVISIT", "AVISITN", "AVAL", "BASE", "ABLFL", "ANL01FL"], "ADLB")
    lb = adlb[text(adlb["PARAMCD"]) == paramcd]
    return restrict(lb.assign(PARAMCD=paramcd), pop)


def extreme_rows(
    df: pd.DataFrame,
    arms: Sequence[str],
    *,
    kind: str,
    endpoint: str,
    population: str,
    dataset: str,
    level: float = 0.95,
) -> list[dict[str, Any]]:
    """Per-subject extreme % of baseline over the post-baseline analysis visits, summarised.

    ``kind="nadir"``: each subject's minimum of ``100 + PCHG``; ``"peak"``: maximum. The study day
    (ADY) of the extreme (first one on ties) gives the time to nadir/peak. Statistics
    ``<kind>_mean`` (t CI), ``_sd``, ``_median``, ``_min``, ``_max`` and ``time_to_<kind>_...``.
    """
    if kind not in ("nadir", "peak"):
        raise ValueError(f"kind must be nadir or peak, got {kind!r}")
    post = post_baseline_visits(df, dataset)
    post = post.assign(_pct=percent_of_baseline(post), _ady=to_float(post["ADY"]) if "ADY" in post else np.nan)
    post = post[post["_pct"].notna()].sort_values(["USUBJID", "_ady"], kind="mergesort")
    idx = post.groupby("USUBJID")["_pct"].idxmin() if kind == "nadir" else post.groupby("USUBJID")["_pct"].idxmax()
    per = post.loc[idx.values] if len(idx) else post.iloc[0:0]
    word = "minimum" if kind == "nadir" else "maximum"
    rows: list[dict[str, Any]] = []
    for arm, g in arm_groups(per, arms):
        rows += continuous_rows(
            g["_pct"].to_numpy(float),
            endpoint=endpoint,
            population=population,
            arm=arm,
            visit="",
            level=level,
            prefix=f"{kind}_",
            what=f"each subject's {word} % of baseline (100 + PCHG) over the post-baseline analysis visits",
        )
        rows += continuous_rows(
            g["_ady"].to_numpy(float),
            endpoint=endpoint,
            population=population,
            arm=arm,
            visit="",
            level=level,
            prefix=f"time_to_{kind}_",
            mean_ci=False,
            what=f"the study day (ADY) of each subject's {kind}",
        )
    return rows


def lab_by_visit(
    adlb: pd.DataFrame,
    pop: pd.DataFrame,
    arms: Sequence[str],
    paramcd: str,
    population_label: str,
    level: float = 0.95,
    extreme: str | None = None,
) -> list[dict[str, Any]]:
    """Value (baseline and post-baseline visits), change and % change from baseline by visit.

    Endpoints ``<PARAMCD>: value``, ``<PARAMCD>: change from baseline``, ``<PARAMCD>: percent
    change from baseline`` (n, mean with t CI, SD, median, min, max per arm and visit) and, if
    ``extreme`` (``"nadir"``/``"peak"``), ``<PARAMCD>: <extreme>`` (see :func:`extreme_rows`).
    """
    lb = lab_records(adlb, pop, paramcd)
    if lb.empty:
        return []
    chg = to_float(lb["CHG"]) if "CHG" in lb.columns else pd.Series(np.nan, index=lb.index)
    chg = chg.fillna(to_float(lb["AVAL"]) - to_float(lb["BASE"]))
    common = {"population": population_label, "dataset": "ADLB", "level": level}
    rows = by_visit_rows(
        lb,
        arms,
        values=to_float(lb["AVAL"]),
        endpoint=f"{paramcd}: value",
        include_baseline=True,
        what="AVAL",
        **common,
    )
    rows += by_visit_rows(
        lb,
        arms,
        values=chg,
        endpoint=f"{paramcd}: change from baseline",
        include_baseline=False,
        what="CHG = AVAL - BASE",
        **common,
    )
    rows += by_visit_rows(
        lb,
        arms,
        values=percent_of_baseline(lb) - 100.0,
        endpoint=f"{paramcd}: percent change from baseline",
        include_baseline=False,
        what="PCHG = 100 (AVAL - BASE) / BASE",
        **common,
    )
    if extreme:
        rows += extreme_rows(lb, arms, kind=extreme, endpoint=f"{paramcd}: {extreme}", **common)
    return rows


SHIFT_COLUMNS = ["arm", "N", "baseline_grade", "worst_grade", "n"]


def shift_counts(lb: pd.DataFrame, pop: pd.DataFrame, arms: Sequence[str], max_grade: int) -> pd.DataFrame:
    """Baseline CTCAE grade (BTOXGR) x worst post-baseline grade (max ATOXGR), subjects per cell.

    Post-baseline = every record from study day 2 on (scheduled and unscheduled, ADY >= 2).
    Evaluable subjects (``N``) have a baseline grade and at least one graded post-baseline
    record. Full grid of grades ``0..max_grade`` per arm and overall; columns
    :data:`SHIFT_COLUMNS`.
    """
    require_columns(lb, ["BTOXGR", "ATOXGR", "ADY"], "ADLB")
    base = baseline_records(lb, "ADLB")
    bgrade = to_float(base["BTOXGR"]).fillna(to_float(base["ATOXGR"]))
    bgr = pd.Series(bgrade.to_numpy(), index=base["USUBJID"].to_numpy())
    post = lb[(to_float(lb["ADY"]) >= 2) & to_float(lb["ATOXGR"]).notna()]
    worst = post.assign(_g=to_float(post["ATOXGR"])).groupby("USUBJID")["_g"].max()
    subj = pop[["USUBJID", "ARMCD"]].assign(
        b=pop["USUBJID"].map(bgr).astype(float), w=pop["USUBJID"].map(worst).astype(float)
    )
    subj = subj[subj["b"].notna() & subj["w"].notna()]
    top = int(max(max_grade, subj["b"].max() if len(subj) else 0, subj["w"].max() if len(subj) else 0))
    out = []
    for arm, g in arm_groups(subj, arms):
        for b in range(top + 1):
            for w in range(top + 1):
                out.append(
                    {
                        "arm": arm,
                        "N": len(g),
                        "baseline_grade": b,
                        "worst_grade": w,
                        "n": int(((g["b"] == b) & (g["w"] == w)).sum()),
                    }
                )
    return pd.DataFrame(out, columns=SHIFT_COLUMNS)


def shift_rows(counts: pd.DataFrame, paramcd: str, term: str, level: float = 0.95) -> list[dict[str, Any]]:
    """Endpoint ``<PARAMCD>: CTCAE shift (<term>)``: ``shift_<b>_to_<w>`` counts (n = evaluable)
    and ``worst_grade_ge_<g>_n_subjects``/``_percent`` (exact CI) for g >= 1."""
    endpoint = f"{paramcd}: CTCAE shift ({term})"
    rows: list[dict[str, Any]] = []
    for arm, g in counts.groupby("arm", sort=False):
        n_eval = int(g["N"].iloc[0])
        for r in g.itertuples(index=False):
            rows.append(
                row(
                    endpoint,
                    SAFETY,
                    arm,
                    "",
                    n_eval,
                    f"shift_{r.baseline_grade}_to_{r.worst_grade}",
                    r.n,
                    "subjects with baseline CTCAE grade (BTOXGR) b and worst post-baseline grade (max ATOXGR "
                    "from study day 2) w; N = subjects with both",
                )
            )
        for grade in range(1, int(g["worst_grade"].max()) + 1):
            k = int(g.loc[g["worst_grade"] >= grade, "n"].sum())
            rows += count_rows(
                k,
                n_eval,
                endpoint=endpoint,
                population=SAFETY,
                arm=str(arm),
                visit="",
                level=level,
                denominator="evaluable subjects (baseline and post-baseline grade)",
                prefix=f"worst_grade_ge_{grade}_",
            )
    return rows


def shift_endpoint(paramcd: str, term: str) -> str:
    """``ALB: CTCAE shift (Hypoalbuminaemia)`` for config ``lab_grading`` term ``hypoalbuminaemia``."""
    return f"{paramcd}: CTCAE shift ({term.replace('_', ' ').capitalize()})"


def shift_total_rows(counts: pd.DataFrame, endpoint: str, top: int) -> list[dict[str, Any]]:
    """Display rows of the shift table of one parameter, on the grade grid ``0..top`` shared by
    all graded parameters: ``shift_<b>_to_total``, ``shift_total_to_<w>``, ``shift_total_to_total``
    (subjects; n = evaluable) and, where ``top`` exceeds the parameter's own grades, the
    ``shift_<b>_to_<w>`` cells outside its grid (0 subjects)."""
    rows: list[dict[str, Any]] = []
    grades = range(top + 1)
    for arm, g in counts.groupby("arm", sort=False):
        n_eval = int(g["N"].iloc[0])
        own = {(int(b), int(w)): int(n) for b, w, n in zip(g["baseline_grade"], g["worst_grade"], g["n"])}
        for b in grades:
            for w in grades:
                if (b, w) not in own:
                    rows.append(row(endpoint, SAFETY, arm, "", n_eval, f"shift_{b}_to_{w}", 0,
                                    "no subjects: grade beyond the CTCAE grades of this parameter"))
        for b in grades:
            k = sum(v for (bb, _), v in own.items() if bb == b)
            rows.append(row(endpoint, SAFETY, arm, "", n_eval, f"shift_{b}_to_total", k,
                            "subjects with baseline CTCAE grade b (any worst post-baseline grade); N = evaluable"))
        for w in grades:
            k = sum(v for (_, ww), v in own.items() if ww == w)
            rows.append(row(endpoint, SAFETY, arm, "", n_eval, f"shift_total_to_{w}", k,
                            "subjects with worst post-baseline CTCAE grade w (any baseline grade); N = evaluable"))
        rows.append(row(endpoint, SAFETY, arm, "", n_eval, "shift_total_to_total", sum(own.values()),
                        "evaluable subjects (baseline and post-baseline grade)"))
    return rows


def shift_tables(
    adsl: pd.DataFrame,
    adlb: pd.DataFrame,
    arms: Sequence[str],
    grading: Mapping[str, str],
    max_grades: Mapping[str, int] | None = None,
) -> list[tuple[str, str, pd.DataFrame]]:
    """``(term, PARAMCD, shift_counts)`` of every graded parameter present (config ``lab_grading``
    order: sorted by term)."""
    pop = population(adsl, arms, "SAFFL")
    out = []
    for term, paramcd in sorted(grading.items()):
        lb = lab_records(adlb, pop, paramcd)
        if lb.empty:
            continue
        out.append((term, paramcd, shift_counts(lb, pop, arms, int((max_grades or {}).get(paramcd, 0)))))
    return out


#: Display endpoints of the ARD drawn by the albumin/cholesterol figure (mean ± SD by visit).
LAB_FIGURE_ENDPOINTS = {"AVAL": "{}: value by visit", "PCHG": "{}: percent change by visit"}


def lab_figure_rows(
    adsl: pd.DataFrame, adlb: pd.DataFrame, arms: Sequence[str], params: Sequence[str] = LAB_PARAMS, level: float = 0.95
) -> list[dict[str, Any]]:
    """Display rows ``<PARAMCD>: value by visit`` (AVAL) and ``<PARAMCD>: percent change by visit``
    (PCHG), safety population: summaries of the ANL01FL records at every analysis visit (Day 1
    included; :func:`~fcrnpipe.stats.descriptive.visit_summary_rows`). The albumin/cholesterol
    figure draws their mean ± SD."""
    pop = population(adsl, arms, "SAFFL")
    rows: list[dict[str, Any]] = []
    for paramcd in params:
        lb = lab_records(adlb, pop, paramcd)
        if lb.empty:
            continue
        for column, endpoint in LAB_FIGURE_ENDPOINTS.items():
            values = to_float(lb[column]) if column in lb.columns else pd.Series(np.nan, index=lb.index)
            rows += visit_summary_rows(
                lb, arms, values=values, endpoint=endpoint.format(paramcd), population=SAFETY, level=level,
                what=f"{column} of the ANL01FL records at the visit",
            )
    return rows


def lab_figure_subjects(params: Sequence[str] = LAB_PARAMS) -> str:
    """Display endpoint of the ARD counted by the albumin/cholesterol figure: ``ALB/CHOL/LDL:
    subjects with a result``."""
    return f"{'/'.join(params)}: subjects with a result"


def lab_figure_count_rows(
    adsl: pd.DataFrame, adlb: pd.DataFrame, arms: Sequence[str], params: Sequence[str] = LAB_PARAMS, flag: str = "SAFFL"
) -> list[dict[str, Any]]:
    """Display rows :func:`lab_figure_subjects` (safety population, or that of ``flag``): the
    subjects with at least one record of ``params``, by arm and overall; n = the subjects of the
    population in the arm. The albumin/cholesterol figure's subtitle and legend show them."""
    require_columns(adlb, ["USUBJID", "PARAMCD"], "ADLB")
    pop = population(adsl, arms, flag)
    lb = restrict(adlb[text(adlb["PARAMCD"]).isin(list(params))], pop)
    return subject_count_rows(
        lb, pop, arms, endpoint=lab_figure_subjects(params), population=POPULATION_LABELS[flag],
        what=f"at least one record of {', '.join(params)}",
    )  # fmt: skip


def lab_display_part(
    adsl: pd.DataFrame,
    adlb: pd.DataFrame,
    arms: Sequence[str],
    grading: Mapping[str, str],
    max_grades: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """Display rows of job ``stats_part`` (part=lab) (ARD ``analysis_type = display``): the totals of the
    CTCAE shift tables (:func:`shift_total_rows`) on the grade grid of all graded parameters, and
    the albumin/cholesterol figure's summaries by visit (:func:`lab_figure_rows`) and subjects
    per arm (:func:`lab_figure_count_rows`)."""
    shifts = shift_tables(adsl, adlb, arms, grading, max_grades)
    top = max((int(c["worst_grade"].max()) for _, _, c in shifts if len(c)), default=0)
    rows: list[dict[str, Any]] = []
    for term, paramcd, counts in shifts:
        rows += shift_total_rows(counts, shift_endpoint(paramcd, term), top)
    rows += lab_figure_rows(adsl, adlb, arms)
    rows += lab_figure_count_rows(adsl, adlb, arms)
    return frame(rows)


def ctcae_max_grades(ctcae: pd.DataFrame) -> dict[str, int]:
    """Highest CTCAE grade defined per PARAMCD in ``resources/ctcae.csv``."""
    require_columns(ctcae, ["PARAMCD", "grade"], "ctcae.csv")
    g = ctcae.assign(grade=to_float(ctcae["grade"])).groupby("PARAMCD")["grade"].max()
    return {str(k): int(v) for k, v in g.items()}


def lab_part(
    adsl: pd.DataFrame,
    adlb: pd.DataFrame,
    arms: Sequence[str],
    grading: Mapping[str, str],
    max_grades: Mapping[str, int] | None = None,
    params: Sequence[str] = LAB_PARAMS,
    level: float = 0.95,
) -> pd.DataFrame:
    """Laboratory safety endpoints (job ``stats_part`` (part=lab)), safety population.

    For each of ``params`` present in ADLB: value, change and % change by visit and the
    nadir/peak (:data:`LAB_EXTREME`); for each ``term -> PARAMCD`` of ``grading``
    (config ``lab_grading``): the CTCAE shift from baseline grade to worst post-baseline grade.
    """
    pop = population(adsl, arms, "SAFFL")
    rows: list[dict[str, Any]] = []
    for paramcd in params:
        rows += lab_by_visit(adlb, pop, arms, paramcd, SAFETY, level, LAB_EXTREME.get(paramcd))
    for term, paramcd in sorted(grading.items()):
        lb = lab_records(adlb, pop, paramcd)
        if lb.empty:
            continue
        top = int((max_grades or {}).get(paramcd, 0))
        counts = shift_counts(lb, pop, arms, top)
        rows += shift_rows(counts, paramcd, term.replace("_", " ").capitalize(), level)
    return frame(rows)


__all__ = [
    "GRADE_SCALE",
    "SEVERITY_SCALE",
    "AeScale",
    "ae_scale",
    "overview_categories",
    "LAB_PARAMS",
    "OVERALL",
    "ae_display_part",
    "ae_part",
    "ctcae_max_grades",
    "extreme_rows",
    "lab_by_visit",
    "lab_display_part",
    "lab_part",
    "shift_endpoint",
    "shift_tables",
    "shift_total_rows",
    "shift_counts",
    "teae_by_term",
    "teae_overview",
    "teae_any_counts",
    "teae_records",
    "teae_term_counts",
]
