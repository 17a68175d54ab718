"""Secondary endpoints: total IgG and AQP4-IgG (PD population), EDSS (safety population).

Albumin and cholesterol (value, change and % change by visit, nadir/peak) are laboratory
safety endpoints computed by :func:`fcrnpipe.stats.safety.lab_part` with the same functions
as IgG here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.stats.descriptive import (
    BASELINE_VISIT,
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
    visit_order,
    visit_summary_rows,
)
from fcrnpipe.stats.safety import lab_by_visit, lab_records
from fcrnpipe.stats.wilcoxon import ZERO_METHOD, hodges_lehmann, signed_rank_test

IGG = "IGG"
AQP4 = "AQP4AB"
EDSS = "EDSS"
PD = POPULATION_LABELS["PDFL"]
SAFETY = POPULATION_LABELS["SAFFL"]
#: Default follow-up visit of the IgG recovery endpoint: AVISITN 12 = day 85, 9 weeks after
#: the last dose on day 22.
FOLLOWUP_AVISITN = 12


# ------------------------------------------------------------------------------------- IgG
def igg_endpoints(
    adsl: pd.DataFrame,
    adlb: pd.DataFrame,
    arms: Sequence[str],
    followup_avisitn: float = FOLLOWUP_AVISITN,
    level: float = 0.95,
) -> pd.DataFrame:
    """Total IgG in the PD population (``PDFL = "Y"``), by arm and overall.

    ``IGG: value``, ``IGG: change from baseline``, ``IGG: percent change from baseline`` by
    visit (ANL01FL records; mean with t CI, SD, median, min, max); ``IGG: nadir`` (each subject's
    minimum % of baseline and its study day, summarised); ``IGG: percent of baseline at
    follow-up`` (``100 + PCHG`` at AVISITN ``followup_avisitn``).
    """
    pop = population(adsl, arms, "PDFL")
    rows = lab_by_visit(adlb, pop, arms, IGG, PD, level, extreme="nadir")
    lb = lab_records(adlb, pop, IGG)
    if not lb.empty:
        post = post_baseline_visits(lb, "ADLB")
        at = post[to_float(post["AVISITN"]) == float(followup_avisitn)]
        if not at.empty:
            visit = str(text(at["AVISIT"]).iloc[0])
            at = at.assign(_pct=percent_of_baseline(at))
            for arm, g in arm_groups(at, arms):
                rows += continuous_rows(
                    g["_pct"].to_numpy(float),
                    endpoint=f"{IGG}: percent of baseline at follow-up",
                    population=PD,
                    arm=arm,
                    visit=visit,
                    level=level,
                    what=f"100 + PCHG at the follow-up visit (AVISITN {followup_avisitn:g})",
                )
    return frame(rows)


# --------------------------------------------------------------------------------- AQP4-IgG
def titre_rows(values: np.ndarray, *, endpoint: str, population: str, arm: str, visit: str) -> list[dict[str, Any]]:
    """Reciprocal titre summary: ``median``, ``min``, ``max`` and ``geometric_mean``."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = int(x.size)
    note = "reciprocal titre; undetectable titres at their imputed value (config censoring.titre)"
    pos = x[x > 0]
    gm = float(np.exp(np.log(pos).mean())) if n and pos.size == n else math.nan
    return [
        row(endpoint, population, arm, visit, n, "median", float(np.median(x)) if n else math.nan, f"median {note}"),
        row(endpoint, population, arm, visit, n, "min", float(x.min()) if n else math.nan, f"minimum {note}"),
        row(endpoint, population, arm, visit, n, "max", float(x.max()) if n else math.nan, f"maximum {note}"),
        row(
            endpoint,
            population,
            arm,
            visit,
            n,
            "geometric_mean",
            gm,
            f"geometric mean exp(mean(ln titre)), {note}; NaN if a titre is 0",
        ),
    ]


def _aqp4_visit_rows(
    visits: Sequence[tuple[str, pd.DataFrame]], arms: Sequence[str], level: float
) -> list[dict[str, Any]]:
    """``AQP4AB: titre`` and ``AQP4AB: undetectable`` of each (visit, records) by arm and overall
    (records with ``_aval``, the titre, and ``_und``, UNDETFL = Y)."""
    rows: list[dict[str, Any]] = []
    for visit, at in visits:
        for arm, g in arm_groups(at, arms):
            rows += titre_rows(
                g["_aval"].to_numpy(float), endpoint=f"{AQP4}: titre", population=PD, arm=arm, visit=visit
            )
            evaluated = g[g["_aval"].notna() | g["_und"]]
            rows += count_rows(
                int(evaluated["_und"].sum()),
                len(evaluated),
                endpoint=f"{AQP4}: undetectable",
                population=PD,
                arm=arm,
                visit=visit,
                level=level,
                denominator="subjects with an AQP4-IgG result at the visit; undetectable = UNDETFL=Y "
                "(below the lowest dilution)",
            )
    return rows


def _aqp4_time_rows(lb: pd.DataFrame, base: pd.DataFrame, arms: Sequence[str], level: float) -> list[dict[str, Any]]:
    """``AQP4AB: time to first undetectable``: of the subjects with a detectable baseline titre
    (``base``), those undetectable from study day 2 on (n (%), exact CI) and the study day of
    their first undetectable titre (median, min, max), by arm and overall."""
    detectable = base.loc[~base["_und"], ["USUBJID", "ARMCD"]]
    later = lb[(to_float(lb["ADY"]) >= 2) & lb["_und"]]
    first = later.assign(_ady=to_float(later["ADY"])).groupby("USUBJID")["_ady"].min()
    at_risk = detectable.assign(day=detectable["USUBJID"].map(first).astype(float))
    endpoint = f"{AQP4}: time to first undetectable"
    rows: list[dict[str, Any]] = []
    for arm, g in arm_groups(at_risk, arms):
        rows += count_rows(
            int(g["day"].notna().sum()),
            len(g),
            endpoint=endpoint,
            population=PD,
            arm=arm,
            visit="",
            level=level,
            denominator="subjects with a detectable baseline titre",
        )
        rows += continuous_rows(
            g["day"].to_numpy(float),
            endpoint=endpoint,
            population=PD,
            arm=arm,
            visit="",
            level=level,
            prefix="day_",
            mean_ci=False,
            what="the study day of the first undetectable titre, among the subjects who became undetectable",
        )
    return rows


def aqp4_endpoints(adsl: pd.DataFrame, adlb: pd.DataFrame, arms: Sequence[str], level: float = 0.95) -> pd.DataFrame:
    """AQP4-IgG titres in the PD population, by arm and overall.

    ``AQP4AB: titre`` (baseline and visits: median, min, max, geometric mean of AVAL),
    ``AQP4AB: log2 titre change from baseline`` (log2(AVAL/BASE) by visit),
    ``AQP4AB: undetectable`` (UNDETFL = Y, n (%) with exact CI of the subjects evaluated at
    the visit) and ``AQP4AB: time to first undetectable`` (subjects with a detectable baseline
    titre: how many became undetectable from study day 2 on (n (%), exact CI) and the study
    day of the first undetectable titre among them: median, min, max, no censoring model).
    """
    pop = population(adsl, arms, "PDFL")
    lb = lab_records(adlb, pop, AQP4)
    if lb.empty:
        return frame([])
    require_columns(lb, ["UNDETFL", "ADY"], "ADLB")
    lb = lb.assign(_aval=to_float(lb["AVAL"]), _und=flag_yes(lb["UNDETFL"]))
    base = baseline_records(lb, "ADLB")
    post = post_baseline_visits(lb, "ADLB")
    visits = [(BASELINE_VISIT, base)] + [
        (name, post[to_float(post["AVISITN"]) == num]) for num, name in visit_order(post)
    ]
    rows = _aqp4_visit_rows(visits, arms, level)
    base_titre = to_float(lb["BASE"])
    log2chg = pd.Series(np.log2(lb["_aval"] / base_titre.where(base_titre > 0)), index=lb.index)
    rows += by_visit_rows(
        lb,
        arms,
        values=log2chg,
        endpoint=f"{AQP4}: log2 titre change from baseline",
        population=PD,
        include_baseline=False,
        dataset="ADLB",
        level=level,
        what="log2(AVAL / BASE) (titre steps of the dilution series)",
    )
    rows += _aqp4_time_rows(lb, base, arms, level)
    return frame(rows)


#: Display endpoint of the ARD drawn by the IgG figure (figures/igg_pct_baseline).
IGG_PCT_BY_VISIT = f"{IGG}: percent of baseline by visit"


def pct_of_baseline_figure(lb: pd.DataFrame) -> pd.Series:
    """% of baseline as the IgG figure draws it: ``100 + PCHG`` when ADLB has PCHG values, else
    ``100·AVAL/BASE``."""
    if "PCHG" in lb.columns and to_float(lb["PCHG"]).notna().any():
        return 100.0 + to_float(lb["PCHG"])
    require_columns(lb, ["BASE"], "ADLB")
    return 100.0 * to_float(lb["AVAL"]) / to_float(lb["BASE"])


def igg_pct_by_visit_rows(
    adsl: pd.DataFrame, adlb: pd.DataFrame, arms: Sequence[str], level: float = 0.95
) -> list[dict[str, Any]]:
    """Display rows ``IGG: percent of baseline by visit`` (PD population): mean % of baseline
    (:func:`pct_of_baseline_figure`) with its t CI, SD, median, min, max of the ANL01FL records
    with a study day at each analysis visit AVISITN >= 0 (Day 1 included), by arm and overall;
    visits where an arm has no record are left out. The IgG figure draws these means."""
    pop = population(adsl, arms, "PDFL")
    lb = lab_records(adlb, pop, IGG)
    if lb.empty:
        return []
    lb = lb.assign(_pct=pct_of_baseline_figure(lb), _ady=to_float(lb["ADY"]) if "ADY" in lb.columns else math.nan)
    lb = lb[lb["_pct"].notna() & lb["_ady"].notna()]
    return visit_summary_rows(
        lb,
        arms,
        values=lb["_pct"],
        endpoint=IGG_PCT_BY_VISIT,
        population=PD,
        min_avisitn=0,
        level=level,
        what="% of baseline (100 + PCHG) of the ANL01FL records at the visit",
    )


#: Display endpoint of the ARD counted by the IgG figure (figures/igg_pct_baseline).
IGG_FIGURE_SUBJECTS = f"{IGG}: subjects with a result"


def igg_figure_rows(
    adsl: pd.DataFrame, adlb: pd.DataFrame, arms: Sequence[str], flag: str = "PDFL"
) -> list[dict[str, Any]]:
    """Display rows ``IGG: subjects with a result`` (PD population, or that of ``flag``): the
    subjects with at least one total IgG record the IgG figure draws (a % of baseline,
    :func:`pct_of_baseline_figure`, and a study day ADY), by arm and overall; n = the subjects
    of the population in the arm. The figure's subtitle and panel titles show them."""
    require_columns(adlb, ["USUBJID", "PARAMCD", "ADY", "AVAL"], "ADLB")
    pop = population(adsl, arms, flag)
    lb = restrict(adlb[text(adlb["PARAMCD"]) == IGG], pop)
    if len(lb):
        lb = lb[pct_of_baseline_figure(lb).notna() & to_float(lb["ADY"]).notna()]
    return subject_count_rows(
        lb, pop, arms, endpoint=IGG_FIGURE_SUBJECTS, population=POPULATION_LABELS[flag],
        what="at least one total IgG % of baseline with a study day",
    )  # fmt: skip


#: Display endpoint of the ARD counted by the AQP4-IgG figure (figures/aqp4_titre).
AQP4_FIGURE_SUBJECTS = f"{AQP4}: subjects with a result"


def aqp4_plotted(lb: pd.DataFrame) -> pd.Series:
    """AQP4-IgG records the titre figure draws: a study day (ADY) and a positive titre (AVAL > 0)
    or an undetectable result (UNDETFL = Y)."""
    negative = flag_yes(lb["UNDETFL"]) if "UNDETFL" in lb.columns else pd.Series(False, index=lb.index)
    return (to_float(lb["ADY"]).notna() & (negative | (to_float(lb["AVAL"]) > 0))).astype(bool)


def aqp4_figure_rows(
    adsl: pd.DataFrame, adlb: pd.DataFrame, arms: Sequence[str], flag: str = "PDFL"
) -> list[dict[str, Any]]:
    """Display rows ``AQP4AB: subjects with a result`` (PD population, or that of ``flag``): the
    subjects with at least one record the AQP4-IgG figure draws (:func:`aqp4_plotted`), by arm
    and overall."""
    require_columns(adlb, ["USUBJID", "PARAMCD", "ADY", "AVAL"], "ADLB")
    pop = population(adsl, arms, flag)
    lb = restrict(adlb[text(adlb["PARAMCD"]) == AQP4], pop)
    return subject_count_rows(
        lb[aqp4_plotted(lb)], pop, arms, endpoint=AQP4_FIGURE_SUBJECTS, population=POPULATION_LABELS[flag],
        what="at least one AQP4-IgG result with a study day (titre > 0 or UNDETFL = Y)",
    )  # fmt: skip


def pd_display_part(adsl: pd.DataFrame, adlb: pd.DataFrame, arms: Sequence[str], level: float = 0.95) -> pd.DataFrame:
    """Display rows of job ``stats_part`` (part=pd) (ARD ``analysis_type = display``): the IgG figure's
    means by visit (:func:`igg_pct_by_visit_rows`) and subjects per arm (:func:`igg_figure_rows`),
    the AQP4-IgG figure's subjects per arm (:func:`aqp4_figure_rows`)."""
    return frame(
        [
            *igg_pct_by_visit_rows(adsl, adlb, arms, level),
            *igg_figure_rows(adsl, adlb, arms),
            *aqp4_figure_rows(adsl, adlb, arms),
        ]
    )


def pd_part(
    adsl: pd.DataFrame,
    adlb: pd.DataFrame,
    arms: Sequence[str],
    followup_avisitn: float = FOLLOWUP_AVISITN,
    level: float = 0.95,
) -> pd.DataFrame:
    """PD endpoints (job ``stats_part`` (part=pd)): total IgG and AQP4-IgG."""
    return frame(
        [
            *igg_endpoints(adsl, adlb, arms, followup_avisitn, level).to_dict("records"),
            *aqp4_endpoints(adsl, adlb, arms, level).to_dict("records"),
        ]
    )


# -------------------------------------------------------------------------------------- EDSS
def edss_pairs(adedss: pd.DataFrame, primary_visit: int) -> pd.DataFrame:
    """One row per subject with BASELINE and FOLLOWUP EDSS (the ANL01FL record at ``primary_visit``).

    Baseline is the ABLFL record's AVAL (or BASE of the follow-up record when no ABLFL record
    exists). Subjects without either value are dropped. Columns: USUBJID, BASELINE, FOLLOWUP.
    """
    require_columns(adedss, ["USUBJID", "AVAL", "AVISITN", "ANL01FL"], "ADEDSS")
    df = adedss.copy()
    df["AVAL"] = to_float(df["AVAL"])
    base = pd.Series(dtype=float)
    if "ABLFL" in df.columns:
        base = df[flag_yes(df["ABLFL"])].groupby("USUBJID", sort=True)["AVAL"].last()
    fup = df[flag_yes(df["ANL01FL"]) & (to_float(df["AVISITN"]) == float(primary_visit))]
    fup = fup.groupby("USUBJID", sort=True).last()
    out = pd.DataFrame({"FOLLOWUP": fup["AVAL"]})
    out["BASELINE"] = base.reindex(out.index)
    if "BASE" in fup.columns:
        out["BASELINE"] = out["BASELINE"].fillna(to_float(fup["BASE"]))
    out = out.dropna(subset=["BASELINE", "FOLLOWUP"])
    return out.reset_index()[["USUBJID", "BASELINE", "FOLLOWUP"]]


#: Display endpoint of the ARD drawn by the EDSS paired figure (figures/edss_paired).
EDSS_PAIRED = f"{EDSS}: paired baseline and primary visit"


def edss_paired_rows(
    adsl: pd.DataFrame,
    adedss: pd.DataFrame,
    arms: Sequence[str],
    primary_visit: float,
    level: float = 0.95,
    flag: str = "SAFFL",
) -> list[dict[str, Any]]:
    """Display rows ``EDSS: paired baseline and primary visit`` (safety population, or that of
    ``flag``): the subjects with a baseline and a primary-visit EDSS (:func:`edss_pairs`), by arm
    and overall; statistics ``baseline_<stat>`` and ``followup_<stat>`` (n, mean, SD, median, min,
    max; no CI), visit = AVISIT of the primary visit. The EDSS paired figure draws their mean ± SD."""
    pop = population(adsl, arms, flag)
    qs = restrict(adedss, pop)
    pairs = edss_pairs(qs, primary_visit).merge(pop[["USUBJID", "ARMCD"]], on="USUBJID")
    pairs = pairs.sort_values(["BASELINE", "FOLLOWUP", "USUBJID"], kind="mergesort")
    names = text(qs.loc[to_float(qs["AVISITN"]) == float(primary_visit), "AVISIT"]) if "AVISIT" in qs.columns else []
    names = sorted(n for n in names if n)
    visit = names[0] if names else f"WEEK {primary_visit:g}"
    rows: list[dict[str, Any]] = []
    for column, prefix in (("BASELINE", "baseline_"), ("FOLLOWUP", "followup_")):
        for arm, g in arm_groups(pairs, arms):
            if len(g):
                rows += continuous_rows(
                    g[column].to_numpy(float),
                    endpoint=EDSS_PAIRED,
                    population=POPULATION_LABELS[flag],
                    arm=arm,
                    visit=visit,
                    level=level,
                    prefix=prefix,
                    what=f"EDSS at {'baseline' if prefix == 'baseline_' else visit} of the subjects with both",
                    mean_ci=False,
                )
    return rows


#: Display endpoint of the ARD counted by the EDSS paired figure (figures/edss_paired).
EDSS_PAIRED_SUBJECTS = f"{EDSS}: subjects with baseline and primary visit"


def edss_pair_count_rows(
    adsl: pd.DataFrame, adedss: pd.DataFrame, arms: Sequence[str], primary_visit: float, flag: str = "SAFFL"
) -> list[dict[str, Any]]:
    """Display rows ``EDSS: subjects with baseline and primary visit`` (safety population, or
    that of ``flag``): the subjects with both EDSS values (:func:`edss_pairs`), by arm and
    overall; n = the subjects of the population in the arm (those without both: n - estimate).
    The EDSS paired figure's subtitle, axis labels and footnote show them."""
    pop = population(adsl, arms, flag)
    pairs = edss_pairs(restrict(adedss, pop), int(primary_visit))
    return subject_count_rows(
        pairs, pop, arms, endpoint=EDSS_PAIRED_SUBJECTS, population=POPULATION_LABELS[flag],
        what=f"an EDSS at baseline and at the primary visit (AVISITN = {primary_visit:g})",
    )  # fmt: skip


def edss_display_part(
    adsl: pd.DataFrame, adedss: pd.DataFrame, arms: Sequence[str], primary_visit: float, level: float = 0.95
) -> pd.DataFrame:
    """Display rows of job ``stats_part`` (part=edss) (ARD ``analysis_type = display``): the EDSS paired
    figure's mean ± SD (:func:`edss_paired_rows`) and subjects per arm (:func:`edss_pair_count_rows`)."""
    return frame(
        [
            *edss_paired_rows(adsl, adedss, arms, primary_visit, level),
            *edss_pair_count_rows(adsl, adedss, arms, primary_visit),
        ]
    )


def improvement_text(improvement: Mapping[str, Any] | None) -> str:
    """The CRIT1FL definition of config ``edss.improvement`` in words."""
    if not improvement:
        return "CRIT1FL = Y (improvement as derived in ADEDSS)"
    cut, large, small = (float(improvement[k]) for k in ("cut", "large", "small"))
    return (
        f"CRIT1FL = Y: EDSS decrease >= {large:g} if baseline <= {cut:g}, >= {small:g} if baseline > {cut:g} "
        "(config edss.improvement)"
    )


def _paired_mean_sd_rows(
    p: pd.DataFrame, *, endpoint: str, population: str, arm: str, visit: str
) -> list[dict[str, Any]]:
    """Rows ``baseline_mean``/``_sd`` and ``visit_mean``/``_sd`` of the paired subjects ``p``
    (columns BASE and AVAL, no missing values)."""
    n = len(p)
    rows: list[dict[str, Any]] = []
    for col, name in (("BASE", "baseline"), ("AVAL", "visit")):
        x = p[col].to_numpy(float)
        what = "baseline" if col == "BASE" else f"the value at {visit}"
        rows.append(
            row(
                endpoint,
                population,
                arm,
                visit,
                n,
                f"{name}_mean",
                x.mean() if n else math.nan,
                f"mean of {what}, subjects with baseline and {visit}",
            )
        )
        rows.append(
            row(
                endpoint,
                population,
                arm,
                visit,
                n,
                f"{name}_sd",
                x.std(ddof=1) if n > 1 else math.nan,
                f"SD (n-1) of {what}, subjects with baseline and {visit}",
            )
        )
    return rows


def paired_test_rows(
    pairs: pd.DataFrame, *, endpoint: str, population: str, arm: str, visit: str, level: float = 0.95
) -> list[dict[str, Any]]:
    """Paired analysis of the subjects with baseline and a value at the visit.

    ``pairs`` has columns BASE, AVAL, CHG. Rows ``baseline_mean``/``_sd``, ``visit_mean``/``_sd``
    (the same subjects), ``hodges_lehmann`` (estimate and CI of the change) and
    ``wilcoxon_signed_rank`` (estimate = V, exact two-sided p-value). Test and CI use one
    convention for zero changes (:data:`fcrnpipe.stats.wilcoxon.ZERO_METHOD`, Pratt) and the CI is
    the inversion of the same exact conditional test, so ``p <= 1 - level`` exactly when the CI
    excludes 0. The HL row carries ``ci_level`` (the achieved level; when ``level`` cannot be
    reached with n changes, no interval and the highest attainable level) and ``ci_bounds``.
    """
    p = pairs.dropna(subset=["BASE", "AVAL", "CHG"])
    n = len(p)
    rows = _paired_mean_sd_rows(p, endpoint=endpoint, population=population, arm=arm, visit=visit)
    d = p["CHG"].to_numpy(float)
    hl = hodges_lehmann(d, level, ZERO_METHOD)
    rows.append(
        row(
            endpoint,
            population,
            arm,
            visit,
            n,
            "hodges_lehmann",
            hl.estimate,
            hl.method,
            hl.ci_low,
            hl.ci_high,
            ci_level=hl.achieved_level,
            ci_bounds=hl.bounds,
        )
    )
    if n:
        t = signed_rank_test(d, ZERO_METHOD)
        rows.append(
            row(endpoint, population, arm, visit, n, "wilcoxon_signed_rank", t.statistic, t.method, p_value=t.p_value)
        )
    return rows


def _edss_paired_analyses(
    post: pd.DataFrame, order: Sequence[tuple[float, str]], arms: Sequence[str], primary_visit: float, level: float
) -> list[dict[str, Any]]:
    """:func:`paired_test_rows` at the primary visit and at the last post-baseline visit with
    data (``order``: the visits of ``post`` as (AVISITN, AVISIT)), by arm and overall."""
    tests = sorted({float(primary_visit)} | ({order[-1][0]} if order else set()))
    names = dict(order)
    rows: list[dict[str, Any]] = []
    for num in tests:
        if num not in names:
            continue
        at = post[to_float(post["AVISITN"]) == num]
        for arm, g in arm_groups(at, arms):
            rows += paired_test_rows(
                g[["BASE", "AVAL", "CHG"]],
                endpoint=f"{EDSS}: change from baseline",
                population=SAFETY,
                arm=arm,
                visit=names[num],
                level=level,
            )
    return rows


def _edss_improved_rows(
    post: pd.DataFrame,
    order: Sequence[tuple[float, str]],
    arms: Sequence[str],
    improvement: Mapping[str, Any] | None,
    level: float,
) -> list[dict[str, Any]]:
    """``EDSS: improved``: CRIT1FL = Y n (%) with exact CI of the subjects with a change at each
    post-baseline visit, by arm and overall."""
    crit = improvement_text(improvement)
    rows: list[dict[str, Any]] = []
    for num, name in order:
        at = post[(to_float(post["AVISITN"]) == num) & post["CHG"].notna()]
        for arm, g in arm_groups(at, arms):
            rows += count_rows(
                int(flag_yes(g["CRIT1FL"]).sum()),
                len(g),
                endpoint=f"{EDSS}: improved",
                population=SAFETY,
                arm=arm,
                visit=name,
                level=level,
                denominator=f"subjects with baseline and an EDSS at the visit; {crit}",
            )
    return rows


def edss_endpoints(
    adsl: pd.DataFrame,
    adedss: pd.DataFrame,
    arms: Sequence[str],
    primary_visit: float,
    improvement: Mapping[str, Any] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """EDSS in the safety population, by arm and overall.

    ``EDSS: value`` (baseline and visits) and ``EDSS: change from baseline`` by visit; at the
    primary visit (AVISITN ``primary_visit``, config ``edss.primary_visit``) and at the last
    post-baseline analysis visit with data, the paired analysis of :func:`paired_test_rows`
    (Wilcoxon signed-rank, Hodges-Lehmann); ``EDSS: improved`` (CRIT1FL) n (%) with exact CI
    at every post-baseline visit.
    """
    require_columns(adedss, ["USUBJID", "AVISIT", "AVISITN", "AVAL", "BASE", "ABLFL", "ANL01FL", "CRIT1FL"], "ADEDSS")
    pop = population(adsl, arms, "SAFFL")
    qs = adedss if "PARAMCD" not in adedss.columns else adedss[text(adedss["PARAMCD"]).isin(["", EDSS])]
    qs = restrict(qs.assign(PARAMCD=EDSS), pop)
    aval, base = to_float(qs["AVAL"]), to_float(qs["BASE"])
    chg = (to_float(qs["CHG"]) if "CHG" in qs.columns else pd.Series(np.nan, index=qs.index)).fillna(aval - base)
    qs = qs.assign(AVAL=aval, BASE=base, CHG=chg)
    common = {"population": SAFETY, "dataset": "ADEDSS", "level": level}
    rows = by_visit_rows(
        qs, arms, values=qs["AVAL"], endpoint=f"{EDSS}: value", include_baseline=True, what="EDSS", **common
    )
    rows += by_visit_rows(
        qs,
        arms,
        values=qs["CHG"],
        endpoint=f"{EDSS}: change from baseline",
        include_baseline=False,
        what="CHG = AVAL - BASE",
        **common,
    )
    post = post_baseline_visits(qs, "ADEDSS")
    order = visit_order(post)
    rows += _edss_paired_analyses(post, order, arms, primary_visit, level)
    rows += _edss_improved_rows(post, order, arms, improvement, level)
    return frame(rows)


__all__ = [
    "AQP4",
    "FOLLOWUP_AVISITN",
    "IGG",
    "aqp4_endpoints",
    "edss_endpoints",
    "igg_endpoints",
    "improvement_text",
    "paired_test_rows",
    "pd_part",
    "titre_rows",
]
