"""Published findings of the reference study next to the values this pipeline reproduces.

Sources (``/work/shared/reference/science.md``): the abstract of Wang et al., Eur J Neurol
2023;30:195-203 (``abstract``), the Rare Disease Advisor news summary (``news summary``),
values derived from confirmed numbers (``derived``) and plausible targets not found in any
source (``assumption``). Each finding has an explicit, checkable criterion and tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from fcrnpipe.stats.descriptive import ENDPOINT_COLUMNS, OVERALL, frame

PUBLISHED_COLUMNS = ["finding", "source", "published", "reproduced", "criterion", "holds"]

#: Tolerances of the EDSS comparisons (published values are given to one decimal).
EDSS_MEAN_TOL = 0.15
EDSS_SD_TOL = 0.3
#: Published / assumed numbers.
IGG_WEEK1_MIN_REDUCTION = 50.0
IGG_WEEK3_MIN_REDUCTION = 70.0
#: Percentage points by which the last-dose visit may miss the deepest mean IgG reduction.
IGG_NADIR_TOLERANCE = 1.0
IGG_FOLLOWUP_RANGE = (75.0, 90.0)
CHOL_WEEK4_RANGE = (20.0, 40.0)
EDSS_PUBLISHED = {"baseline": (4.0, 1.0), "week 4": (2.7, 1.3), "change": (-1.3, 0.4)}

NOT_AVAILABLE = "not available"


class _Lookup:
    """Estimates of an endpoints table by (endpoint, arm, visit, statistic)."""

    def __init__(self, endpoints: pd.DataFrame) -> None:
        self.df = endpoints
        self.index = {(r.endpoint, r.arm, r.visit, r.statistic): r for r in endpoints.itertuples(index=False)}

    def get(self, endpoint: str, arm: str, visit: str, statistic: str) -> Any | None:
        return self.index.get((endpoint, arm, visit, statistic))

    def est(self, endpoint: str, arm: str, visit: str, statistic: str) -> float:
        r = self.get(endpoint, arm, visit, statistic)
        return float(r.estimate) if r is not None else math.nan


def _fmt(x: float | None, digits: int = 2) -> str:
    """``x`` rounded half away from zero (as the tables) or ``not available``."""
    if x is None or math.isnan(float(x)):
        return NOT_AVAILABLE
    q = Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return f"{abs(q) if q == 0 else q:.{digits}f}"


def _signed(x: float) -> str:
    """``4`` -> ``4``, ``-1.3`` -> ``(-1.3)`` (for ``|mean - (-1.3)|``)."""
    return f"({x:g})" if x < 0 else f"{x:g}"


def _high_dose_arm(arms: Sequence[Mapping[str, Any]], dose_mg: float = 680.0) -> Mapping[str, Any]:
    """The arm with ``dose_mg`` (else the highest dose)."""
    exact = [a for a in arms if float(a["dose_mg"]) == dose_mg]
    return exact[0] if exact else max(arms, key=lambda a: float(a["dose_mg"]))


def published_vs_reproduced(
    endpoints: pd.DataFrame,
    arms: Sequence[Mapping[str, Any]],
    visits: Sequence[Mapping[str, Any]],
    dosing_days: Sequence[int],
    primary_visit: float = 4,
    followup_avisitn: float = 12,
) -> pd.DataFrame:
    """Each published finding, the pipeline's value and whether the finding holds.

    ``endpoints`` is ``results/stats/endpoints.csv``; ``arms``, ``visits``, ``dosing_days`` and
    ``primary_visit`` come from the config (``study.arms``, ``visits``, ``study.dosing_days``,
    ``edss.primary_visit``). IgG findings use the 680 mg arm (the highest dose if no arm has
    680 mg); AQP4-IgG, EDSS, disposition, AE and cholesterol findings use all subjects
    (``Overall``). A finding whose endpoint is missing is reported as not available and does
    not hold. Columns :data:`PUBLISHED_COLUMNS`.
    """
    endpoints = frame(endpoints[ENDPOINT_COLUMNS].to_dict("records")) if len(endpoints) else frame([])
    ep = _Lookup(endpoints)
    name = {float(v["avisitn"]): str(v["name"]) for v in visits}
    day_visit = {int(v["day"]): str(v["name"]) for v in visits if float(v["avisitn"]) >= 0}
    high = _high_dose_arm(arms)
    hi, hi_label = str(high["armcd"]), f"{float(high['dose_mg']):g} mg"
    rows: list[dict[str, Any]] = []

    def add(finding: str, source: str, published: str, reproduced: str, criterion: str, holds: bool) -> None:
        rows.append(
            {
                "finding": finding,
                "source": source,
                "published": published,
                "reproduced": reproduced,
                "criterion": criterion,
                "holds": bool(holds),
            }
        )

    # --- enrolment (abstract)
    counts = {str(a["armcd"]): ep.est("Disposition: enrolled", str(a["armcd"]), "", "n_subjects") for a in arms}
    expected = {str(a["armcd"]): {340.0: 2, 680.0: 7}.get(float(a["dose_mg"])) for a in arms}
    add(
        "Subjects enrolled by dose group",
        "abstract",
        "9 enrolled: 2 at 340 mg, 7 at 680 mg",
        "; ".join(f"{k}: {_fmt(v, 0)}" for k, v in counts.items()),
        "enrolled subjects per arm equal the published numbers (340 mg: 2, 680 mg: 7)",
        all(expected[k] is not None and counts[k] == expected[k] for k in counts),
    )

    # --- total IgG (680 mg)
    pchg = "IGG: percent change from baseline"
    for wk, limit in ((1, IGG_WEEK1_MIN_REDUCTION), (3, IGG_WEEK3_MIN_REDUCTION)):
        visit = name.get(float(wk), f"WEEK {wk}")
        mean = ep.est(pchg, hi, visit, "mean")
        r = ep.get(pchg, hi, visit, "mean")
        add(
            f"Mean total IgG reduction at week {wk} ({hi_label})",
            "assumption",
            f"> {limit:g}% reduction",
            f"{_fmt(-mean, 1)}% reduction (n = {r.n})" if r is not None and not math.isnan(mean) else NOT_AVAILABLE,
            f"mean PCHG at {visit} ({hi}) < -{limit:g}",
            (not math.isnan(mean)) and mean < -limit,
        )
    post = [
        (float(r.estimate), r.visit)
        for r in endpoints[
            (endpoints["endpoint"] == pchg) & (endpoints["arm"] == hi) & (endpoints["statistic"] == "mean")
        ].itertuples(index=False)
        if not math.isnan(float(r.estimate))
    ]
    last_day = int(max(dosing_days)) if len(dosing_days) else None
    last_visit = day_visit.get(last_day, NOT_AVAILABLE) if last_day is not None else NOT_AVAILABLE
    at_last = float("nan")
    if post:
        low, at = min(post)
        at_last = ep.est(pchg, hi, last_visit, "mean")
        reproduced = f"largest mean reduction at {at} ({_fmt(-low, 1)}%); {last_visit}: {_fmt(-at_last, 1)}%"
    else:
        at, reproduced = None, NOT_AVAILABLE
    add(
        f"Maximum mean IgG reduction at the last dose (day {last_day}, {hi_label})",
        "abstract",
        f"maximum mean reduction at the last dose (day {last_day})",
        reproduced,
        f"the mean PCHG ({hi}) at the last-dose visit {last_visit} is the lowest of all post-baseline "
        f"visits, or within {IGG_NADIR_TOLERANCE:g} percentage point of it (weekly visits cannot place "
        "the nadir more precisely)",
        at is not None
        and (at == last_visit or (not math.isnan(at_last) and at_last - low <= IGG_NADIR_TOLERANCE)),
    )
    fu_visit = name.get(float(followup_avisitn), NOT_AVAILABLE)
    fu = ep.est("IGG: percent of baseline at follow-up", hi, fu_visit, "mean")
    lo, up = IGG_FOLLOWUP_RANGE
    add(
        f"Total IgG 9 weeks after the last dose ({fu_visit}, {hi_label})",
        "assumption",
        f"~80% of baseline ({lo:g}-{up:g}%)",
        f"{_fmt(fu, 1)}% of baseline" if not math.isnan(fu) else NOT_AVAILABLE,
        f"{lo:g} <= mean (100 + PCHG) at {fu_visit} ({hi}) <= {up:g}",
        (not math.isnan(fu)) and lo <= fu <= up,
    )

    # --- AQP4-IgG (overall)
    w3 = name.get(3.0, "WEEK 3")
    r = ep.get("AQP4AB: undetectable", OVERALL, w3, "n_subjects")
    k, n = (int(r.estimate), int(r.n)) if r is not None else (None, None)
    add(
        f"AQP4-IgG undetectable at {w3}",
        "abstract",
        "undetectable in 6 of 7 evaluated subjects",
        f"{k} of {n} evaluated" if r is not None else NOT_AVAILABLE,
        f"UNDETFL=Y in exactly 6 of 7 subjects evaluated at {w3} (all arms)",
        k == 6 and n == 7,
    )

    # --- EDSS (overall, subjects with baseline and the primary visit)
    pv = name.get(float(primary_visit), f"WEEK {primary_visit:g}")
    chg = "EDSS: change from baseline"
    pairs = {
        "baseline": (ep.est(chg, OVERALL, pv, "baseline_mean"), ep.est(chg, OVERALL, pv, "baseline_sd")),
        "week 4": (ep.est(chg, OVERALL, pv, "visit_mean"), ep.est(chg, OVERALL, pv, "visit_sd")),
        "change": (ep.est(chg, OVERALL, pv, "mean"), ep.est(chg, OVERALL, pv, "sd")),
    }
    r = ep.get(chg, OVERALL, pv, "mean")
    n_pairs = int(r.n) if r is not None else 0
    label = {"baseline": "EDSS at baseline", "week 4": f"EDSS at {pv}", "change": f"EDSS change from baseline to {pv}"}
    for key, (pm, ps) in EDSS_PUBLISHED.items():
        m, s = pairs[key]
        ok = not (math.isnan(m) or math.isnan(s)) and abs(m - pm) <= EDSS_MEAN_TOL and abs(s - ps) <= EDSS_SD_TOL
        add(
            label[key] + " (mean ± SD)",
            "abstract",
            f"{pm:.1f} ± {ps:.1f}",
            f"{_fmt(m)} ± {_fmt(s)} (n = {n_pairs})" if r is not None else NOT_AVAILABLE,
            f"|mean - {_signed(pm)}| <= {EDSS_MEAN_TOL:g} and |SD - {ps:g}| <= {EDSS_SD_TOL:g} "
            f"(all arms, subjects with baseline and {pv})",
            ok,
        )
    t = ep.get(chg, OVERALL, pv, "wilcoxon_signed_rank")
    p = float(t.p_value) if t is not None else math.nan
    add(
        f"EDSS change to {pv}: Wilcoxon signed-rank p-value",
        "derived",
        "not reported; exact two-sided p = 2/2^n if all n improve (n = 7: 0.0156; n = 8: 0.0078)",
        f"p = {p:.4g} (exact, n = {t.n}, V = {float(t.estimate):g})" if t is not None else NOT_AVAILABLE,
        "exact two-sided p < 0.05 (all arms)",
        (not math.isnan(p)) and p < 0.05,
    )

    # --- disposition and safety (overall)
    wd = []
    for stem in ("treatment", "study"):
        e = ep.get(f"Disposition: discontinued {stem}: WITHDRAWAL BY SUBJECT", OVERALL, "", "n_subjects_after_dose_1")
        wd.append((stem, int(e.estimate) if e is not None else 0))
    n_wd = wd[0][1] if wd[0][1] else wd[1][1]
    add(
        "Voluntary withdrawal after the first dose",
        "news summary",
        "1 subject withdrew voluntarily after the first dose",
        "; ".join(f"{stem}: {v}" for stem, v in wd),
        "1 subject discontinued treatment (else study) with reason WITHDRAWAL BY SUBJECT after dose 1",
        n_wd == 1,
    )
    disc = endpoints[
        endpoints["endpoint"].str.startswith("TEAE leading to discontinuation by SOC and PT:")
        & endpoints["endpoint"].str.contains("albumin", case=False)
        & (endpoints["arm"] == OVERALL)
        & (endpoints["statistic"] == "n_subjects")
    ]
    n_alb = int(disc["estimate"].sum())
    add(
        "Treatment discontinuations for hypoalbuminaemia",
        "news summary",
        "2 subjects stopped treatment because of hypoalbuminaemia",
        f"{n_alb} subject(s)",
        "2 subjects with a TEAE whose PT contains 'albumin' leading to discontinuation (DISCFL=Y, all arms)",
        n_alb == 2,
    )
    death_ae = ep.est("TEAE: leading to death", OVERALL, "", "n_subjects")
    death_ds = ep.est("Disposition: discontinued study: DEATH", OVERALL, "", "n_subjects")
    death_ds = 0.0 if math.isnan(death_ds) else death_ds
    add(
        "Deaths",
        "abstract",
        "no deaths",
        f"fatal TEAE: {_fmt(death_ae, 0)}; study discontinuation for death: {death_ds:.0f}",
        "0 subjects with a fatal TEAE and 0 discontinuing the study for DEATH",
        death_ae == 0 and death_ds == 0,
    )
    sae = ep.est("TEAE: serious", OVERALL, "", "n_subjects")
    add(
        "Serious adverse events",
        "abstract",
        "no serious adverse events",
        f"{_fmt(sae, 0)} subject(s) with a serious TEAE",
        "0 subjects with AESER=Y among the TEAEs",
        sae == 0,
    )
    w4 = name.get(4.0, "WEEK 4")
    chol = ep.est("CHOL: percent change from baseline", OVERALL, w4, "mean")
    lo, up = CHOL_WEEK4_RANGE
    add(
        f"Moderate rise in total cholesterol ({w4})",
        "news summary (direction); assumption (size)",
        f"moderate rise from baseline (assumed +{lo:g} to +{up:g}% at {w4})",
        f"{'+' if chol >= 0 else ''}{_fmt(chol, 1)}%" if not math.isnan(chol) else NOT_AVAILABLE,
        f"{lo:g} <= mean PCHG of CHOL at {w4} <= {up:g} (all arms)",
        (not math.isnan(chol)) and lo <= chol <= up,
    )
    return pd.DataFrame(rows, columns=PUBLISHED_COLUMNS)
