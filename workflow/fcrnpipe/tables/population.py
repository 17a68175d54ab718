"""Study-population tables: demographics, disposition, exposure (rendered from the ARD)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from fcrnpipe.labels import drug_name
from fcrnpipe.stats import descriptive as D
from fcrnpipe.stats.demographics import DEMOGRAPHICS, analysis_set_rows, demographics_rows
from fcrnpipe.stats.disposition import LEVELS, disposition, exposure
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
    set_counts,
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
            vals = ep_values(ep, prefix + v)
            grid.add(names.get(v, F.sentence(v)), "n (%)", F.n_pct, ["n_subjects", "percent"], vals)
    for var, title, d in DEMOGRAPHICS_ROWS:
        if f"{DEMOGRAPHICS}: {var}" in present:
            grid.section(title)
            continuous_block(grid, title, ep_values(ep, f"{DEMOGRAPHICS}: {var}"), d)
    return build_table(
        "demographics",
        "Demographics and baseline characteristics",
        flag,
        grid,
        [
            f"Baseline = last value on or before the first dose of {drug_name(treatment)}. Attack type = index NMOSD "
            "attack (ADSL ATTACK)."
        ],
        ["SD", "BMI", "EDSS", "IgG", "Min", "Max"],
        data_cut,
        treatment=treatment,
    )


# ------------------------------------------------------------------- disposition, exposure
def _screening_rows(grid: Grid, ep: pd.DataFrame, screened: Mapping[str, Any]) -> None:
    """Screened subjects, those not assigned to an arm and, indented, their reasons."""
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


def _after_dose_numbers(vals: Mapping[str, Any]) -> list[int]:
    """The k of the ``n_subjects_after_dose_k`` numbers any arm has, sorted."""
    return sorted(
        {
            int(s.rsplit("_", 1)[1])
            for v in vals.values()
            for s in v
            if s.startswith("n_subjects_after_dose_") and s.rsplit("_", 1)[1].isdigit()
        }
    )


def _disposition_level_section(grid: Grid, ep: pd.DataFrame, stem: str) -> None:
    """One disposition level (``stem``: treatment or participation): completed, discontinued by
    reason (each by the subject's last dose), ongoing."""
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
        for k in _after_dose_numbers(vals):
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


def _disposition_notes(treatment: str, screened: bool) -> list[str]:
    """The disposition table's footnotes (the screening note when DM has screen failures)."""
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
    return notes


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
        _screening_rows(grid, ep, screened)
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
        _disposition_level_section(grid, ep, stem)
    notes = _disposition_notes(treatment, bool(screened))
    return build_table(
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
    return build_table(
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
