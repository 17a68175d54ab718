"""The published findings of the reference study, computed from a raw data cut.

Used to calibrate the simulator and to document the calibration (resources/reference_study/
README.md): :func:`calibration_table` lists each finding, its published target (or the
science.md assumption) and the value in the cut. It reads the raw CSV exports with simple
parsing (scheduled ``VISIT`` labels, the last pre-dose result as baseline), not the pipeline's
derivations, so that it can check a cut independently of the derive stage. The published
numbers and whether a value meets them come from ``resources/published_findings.yaml`` and
:func:`fcrnpipe.findings.evaluate` (each finding's ``calibration`` check, else its ``check``),
the same file and evaluator as the pipeline's published-vs-reproduced table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fcrnpipe.findings import Finding, evaluate, load_findings

DOMAINS = ("dm", "ex", "vs", "lb", "pc", "qs", "ae", "ds")


def read_raw(raw_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Every export of a CSV cut as text (empty cells = ``""``)."""
    return {d: pd.read_csv(Path(raw_dir) / f"{d}.csv", dtype=str, keep_default_na=False) for d in DOMAINS}


def lab_standard(lb: pd.DataFrame, testcd: str, units: pd.DataFrame) -> pd.DataFrame:
    """Numeric results of one lab test in standard units: USUBJID, VISIT, LBDTC, value.

    Censored ``<x`` results take the limit ``x``; empty results are dropped.
    """
    rows = lb[(lb["LBTESTCD"] == testcd) & (lb["LBORRES"] != "")].copy()
    factors = units[(units["domain"] == "LB") & (units["TESTCD"] == testcd)].set_index("unit")["factor"].astype(float)
    raw = rows["LBORRES"].str.lstrip("<>").astype(float)
    rows["value"] = raw * rows["LBORRESU"].map(factors)
    return rows[["USUBJID", "VISIT", "LBDTC", "value"]]


def baseline_and_visits(values: pd.DataFrame, dm: pd.DataFrame) -> pd.DataFrame:
    """One row per subject and scheduled visit with ``value``, ``base`` (last result on or
    before the first dose; the later one of same-day retests) and ``pct`` (% change)."""
    first = dm.set_index("USUBJID")["RFSTDTC"]
    v = values.assign(first=values["USUBJID"].map(first))
    pre = v[v["LBDTC"] <= v["first"]].sort_values(["USUBJID", "LBDTC"]).groupby("USUBJID").tail(1)
    base = pre.set_index("USUBJID")["value"]
    post = v[~v["VISIT"].str.startswith("UNSCHEDULED")].sort_values(["USUBJID", "LBDTC"])
    post = post.groupby(["USUBJID", "VISIT"], as_index=False).tail(1).copy()
    post["base"] = post["USUBJID"].map(base)
    post["pct"] = 100.0 * (post["value"] - post["base"]) / post["base"]
    return post


def arm_mean_pct(table: pd.DataFrame, dm: pd.DataFrame, armcd: str, visit: str) -> tuple[float, int]:
    """Mean % change from baseline at ``visit`` in arm ``armcd`` and the number of subjects."""
    arm = dm.set_index("USUBJID")["ARMCD"]
    sel = table[(table["USUBJID"].map(arm) == armcd) & (table["VISIT"] == visit)]["pct"].dropna()
    return float(sel.mean()) if len(sel) else float("nan"), int(len(sel))


@dataclass(frozen=True)
class Row:
    """One row of the calibration table."""

    finding: str
    target: str
    simulated: str
    holds: bool | None  # None = reported only (no published target)


def _by_arm(arms: pd.Series) -> str:
    """``BATO340 x1, BATO680 x2`` (counts per arm)."""
    counts = arms.value_counts().sort_index()
    return ", ".join(f"{a} x{n}" for a, n in counts.items()) or "-"


def _edss(qs: pd.DataFrame) -> dict[str, float]:
    q = qs[qs["QSTESTCD"] == "EDSS"]
    base = q[q["VISIT"] == "DAY 1"].set_index("USUBJID")["QSORRES"].astype(float)
    w4 = q[q["VISIT"] == "WEEK 4"].set_index("USUBJID")["QSORRES"].astype(float)
    both = w4.index.intersection(base.index)
    b, w = base[both], w4[both]
    chg = w - b
    return {
        "n": len(both),
        "b_mean": b.mean(),
        "b_sd": b.std(ddof=1),
        "w_mean": w.mean(),
        "w_sd": w.std(ddof=1),
        "c_mean": chg.mean(),
        "c_sd": chg.std(ddof=1),
        "improved": int((chg < 0).sum()),
    }


#: A finding's calibration check by key (:attr:`fcrnpipe.findings.Finding.calibration_check`).
Check = Callable[[str], Mapping]


def _population_rows(dm: pd.DataFrame, check: Check, high: str, low: str) -> list[Row]:
    """Enrolment per dose group and the type of the index attack."""
    n_arm = dm["ARMCD"].value_counts()
    by_dose = {float(k): int(v) for k, v in check("enrolled")["by_dose_mg"].items()}
    n_low, n_high = by_dose.get(340.0, 0), by_dose.get(680.0, 0)
    att = dm["ATTACK"].value_counts()
    target = check("attack_type")["by_value"]
    return [
        Row(
            "enrolled (340 mg / 680 mg)",
            f"{sum(by_dose.values())} ({n_low} / {n_high})",
            f"{len(dm)} ({n_arm.get(low, 0)} / {n_arm.get(high, 0)})",
            len(dm) == sum(by_dose.values())
            and evaluate(check("enrolled"), {340: n_arm.get(low, 0), 680: n_arm.get(high, 0)}),
        ),
        Row(
            "attack: myelitis / optic neuritis",
            " / ".join(str(v) for v in target.values()),
            f"{att.get('MYELITIS', 0)} / {att.get('OPTIC NEURITIS', 0)}",
            evaluate(check("attack_type"), {k: int(att.get(k, 0)) for k in target}),
        ),
    ]


def _igg_rows(dm: pd.DataFrame, lb: pd.DataFrame, units: pd.DataFrame, check: Check, high: str, low: str) -> list[Row]:
    """Mean total IgG change: weeks 1, 3, 4 and 12 at the high dose, weeks 3 and 4 at the low dose."""
    igg = baseline_and_visits(lab_standard(lb, "IGG", units), dm)
    w1, n1 = arm_mean_pct(igg, dm, high, "WEEK 1")
    w3, n3 = arm_mean_pct(igg, dm, high, "WEEK 3")
    w4, n4 = arm_mean_pct(igg, dm, high, "WEEK 4")
    w12, n12 = arm_mean_pct(igg, dm, high, "WEEK 12")
    c1, c3, c12 = check("igg_week1"), check("igg_week3"), check("igg_followup")
    lows = [arm_mean_pct(igg, dm, low, v)[0] for v in ("WEEK 3", "WEEK 4")]
    return [
        Row("680 mg: mean IgG change week 1 (%)", f"< {float(c1['value']):g} (assumption)", f"{w1:.1f} (n={n1})",
            evaluate(c1, w1)),
        Row("680 mg: mean IgG change week 3 = day 22 (%)", f"< {float(c3['value']):g} (assumption)",
            f"{w3:.1f} (n={n3})", evaluate(c3, w3)),
        Row(
            "680 mg: week 4 minus week 3 (points)",
            "deepest at day 22; week 4 within a few %",
            f"{w4 - w3:+.1f} (week 4 {w4:.1f}, n={n4})",
            evaluate(check("igg_nadir_at_last_dose"), w4 - w3),
        ),
        Row(
            "680 mg: mean IgG at week 12 = day 85 (% of baseline)",
            f"{float(c12['low']):g}-{float(c12['high']):g} (assumption)",
            f"{100 + w12:.1f} (n={n12})",
            evaluate(c12, 100 + w12),
        ),
        Row("340 mg: mean IgG change weeks 3 / 4 (%)", "~ -60 to -65 (assumption)", f"{lows[0]:.1f} / {lows[1]:.1f}",
            None),
    ]


def _aqp4_rows(lb: pd.DataFrame, check: Check) -> list[Row]:
    """AQP4-IgG: the span of baseline titres, undetectable at week 3, the one still positive."""
    aq = lb[lb["LBTESTCD"] == "AQP4AB"]
    base_t = aq[aq["VISIT"] == "DAY 1"].set_index("USUBJID")["LBORRES"]
    dil = base_t.str.replace("1:", "", regex=False).replace("NEGATIVE", "0").astype(int)
    span = check("aqp4_baseline_titres")
    wk3 = aq[(aq["VISIT"] == "WEEK 3") & (aq["LBORRES"] != "")].set_index("USUBJID")["LBORRES"]
    neg = int((wk3 == "NEGATIVE").sum())
    pos = wk3[wk3 != "NEGATIVE"]
    pos_base = ", ".join(base_t[pos.index]) if len(pos) else "-"
    frac = check("aqp4_undetectable_week3")
    return [
        Row(
            "AQP4-IgG baseline titres",
            f"1:{span['low']} to 1:{span['high']}",
            f"1:{dil.min()} to 1:{dil.max()}",
            evaluate(span, (dil.min(), dil.max())),
        ),
        Row("AQP4-IgG undetectable at week 3 (nadir)", f"{frac['k']} of {frac['n']}", f"{neg} of {len(wk3)}",
            evaluate(frac, (neg, len(wk3)))),
        Row(
            "baseline titre of the patient still positive",
            f"high titre (1:{span['high']})",
            pos_base,
            len(pos) == 1 and pos_base == f"1:{span['high']}",
        ),
    ]


def _edss_rows(qs: pd.DataFrame, check: Check, improved_target: str) -> list[Row]:
    """EDSS at baseline, at week 4 and its change (mean +/- SD), and the subjects improved."""
    e = _edss(qs)

    def mean_sd(key: str) -> str:
        c = check(key)
        return f"{float(c['mean']):.1f} +/- {float(c['sd']):.1f}"

    return [
        Row(
            "EDSS baseline, mean +/- SD",
            mean_sd("edss_baseline"),
            f"{e['b_mean']:.2f} +/- {e['b_sd']:.2f} (n={e['n']})",
            evaluate(check("edss_baseline"), (e["b_mean"], e["b_sd"])),
        ),
        Row(
            "EDSS week 4, mean +/- SD",
            mean_sd("edss_week4"),
            f"{e['w_mean']:.2f} +/- {e['w_sd']:.2f}",
            evaluate(check("edss_week4"), (e["w_mean"], e["w_sd"])),
        ),
        Row(
            "EDSS change to week 4, mean +/- SD",
            mean_sd("edss_change"),
            f"{e['c_mean']:.2f} +/- {e['c_sd']:.2f}",
            evaluate(check("edss_change"), (e["c_mean"], e["c_sd"])),
        ),
        Row(
            "EDSS improved at week 4",
            improved_target,
            f"{e['improved']} of {e['n']}",
            e["n"] > 0 and evaluate(check("edss_improved"), e["improved"] / e["n"]),
        ),
    ]


def _disposition_rows(raw: Mapping[str, pd.DataFrame], check: Check, high: str) -> list[Row]:
    """The voluntary withdrawal after the first dose, the discontinuations for
    hypoalbuminaemia, deaths and serious AEs."""
    dm, ae, ds = raw["dm"], raw["ae"], raw["ds"]
    tr = ds[ds["DSSCAT"] == "STUDY TREATMENT"]
    arm = dm.set_index("USUBJID")["ARMCD"]
    wd = tr[tr["DSDECOD"] == "WITHDRAWAL BY SUBJECT"]["USUBJID"]
    n_doses = raw["ex"][raw["ex"]["EXTRT"] == "BATOCLIMAB"].groupby("USUBJID").size()
    wd_doses = sorted({int(n_doses.get(u, 0)) for u in wd})
    cw = check("withdrawal_after_first_dose")
    aed = tr[tr["DSDECOD"] == "ADVERSE EVENT"]["USUBJID"]
    hypo = ae[(ae["AEDECOD"] == "Hypoalbuminaemia") & (ae["AEACN"] == "DRUG WITHDRAWN")]
    ch = check("discontinued_hypoalbuminaemia")
    n_death, n_sae = int((ds["DSDECOD"] == "DEATH").sum()), int((ae["AESER"] == "Y").sum())
    return [
        Row(
            "voluntary withdrawal after the first dose",
            f"{cw['value']} (680 mg assumed)",
            f"{len(wd)} ({_by_arm(arm[wd])}; doses received {wd_doses})",
            evaluate(cw, len(wd)) and all(arm[wd] == high) and all(n_doses.get(u, 0) == 1 for u in wd),
        ),
        Row(
            "treatment stopped for hypoalbuminaemia (grade 2)",
            f"{ch['value']} (680 mg assumed)",
            f"{len(aed)} ({_by_arm(arm[aed])}); AE grades {sorted(set(hypo['AETOXGR']))}",
            evaluate(ch, len(aed)) and all(arm[aed] == high) and sorted(hypo["USUBJID"]) == sorted(aed),
        ),
        Row(
            "deaths / serious AEs",
            f"{check('deaths')['value']} / {check('serious_aes')['value']}",
            f"{n_death} / {n_sae}",
            evaluate(check("deaths"), n_death) and evaluate(check("serious_aes"), n_sae),
        ),
    ]


def _albumin_cholesterol_rows(
    dm: pd.DataFrame, lb: pd.DataFrame, ae: pd.DataFrame, units: pd.DataFrame, check: Check, high: str
) -> list[Row]:
    """Mean albumin and total / LDL cholesterol change at week 4 (high dose) and the
    hypercholesterolaemia AEs."""
    alb = baseline_and_visits(lab_standard(lb, "ALB", units), dm)
    a4, _ = arm_mean_pct(alb, dm, high, "WEEK 4")
    chol = baseline_and_visits(lab_standard(lb, "CHOL", units), dm)
    ldl = baseline_and_visits(lab_standard(lb, "LDL", units), dm)
    c4, _ = arm_mean_pct(chol, dm, high, "WEEK 4")
    l4, _ = arm_mean_pct(ldl, dm, high, "WEEK 4")
    cc = check("cholesterol_week4")
    hc = ae[ae["AEDECOD"] == "Hypercholesterolaemia"]
    return [
        Row("680 mg: mean albumin change week 4 (%)", "-15 to -25 (assumption)", f"{a4:.1f}", None),
        Row(
            "680 mg: mean total / LDL cholesterol change week 4 (%)",
            f"moderate rise, +{float(cc['low']):g} to +{float(cc['high']):g} (assumption)",
            f"{c4:+.1f} / {l4:+.1f}",
            evaluate(cc, c4) and evaluate(check("ldl_week4"), l4),
        ),
        Row(
            "hypercholesterolaemia AEs (subjects, grades)",
            "some, grade 1 (assumption)",
            f"{hc['USUBJID'].nunique()} (grades {', '.join(sorted(set(hc['AETOXGR'])))})",
            None,
        ),
    ]


def calibration_table(
    raw: Mapping[str, pd.DataFrame],
    units: pd.DataFrame,
    high: str = "BATO680",
    low: str = "BATO340",
    findings: Mapping[str, Finding] | None = None,
) -> pd.DataFrame:
    """Published findings (targets) versus the values in the cut; ``findings`` default to the
    shipped ``resources/published_findings.yaml``. One function per group of findings."""
    fd = findings if findings is not None else load_findings()

    def check(key: str) -> Mapping:
        return fd[key].calibration_check

    dm, lb = raw["dm"], raw["lb"]
    out = [
        *_population_rows(dm, check, high, low),
        *_igg_rows(dm, lb, units, check, high, low),
        *_aqp4_rows(lb, check),
        *_edss_rows(raw["qs"], check, fd["edss_improved"].published),
        *_disposition_rows(raw, check, high),
        *_albumin_cholesterol_rows(dm, lb, raw["ae"], units, check, high),
    ]
    return pd.DataFrame([f.__dict__ for f in out])


def markdown_table(table: pd.DataFrame) -> str:
    """The calibration table as Markdown."""
    lines = ["| finding | published target | simulated | holds |", "|---|---|---|---|"]
    for r in table.itertuples(index=False):
        mark = (
            "-"
            if r.holds is None or (isinstance(r.holds, float) and np.isnan(r.holds))
            else ("yes" if r.holds else "NO")
        )
        lines.append(f"| {r.finding} | {r.target} | {r.simulated} | {mark} |")
    return "\n".join(lines) + "\n"
