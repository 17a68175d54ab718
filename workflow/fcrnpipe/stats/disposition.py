"""Disposition (all enrolled subjects) and exposure to the study drug (safety population)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from fcrnpipe.stats.descriptive import (
    OVERALL,
    POPULATION_LABELS,
    not_assigned,
    arm_groups,
    continuous_rows,
    count_rows,
    flag_yes,
    frame,
    population,
    require_columns,
    restrict,
    row,
    sentence_case,
    text,
    to_float,
)

ENROLLED = POPULATION_LABELS[None]
SCREENED = POPULATION_LABELS["SCREENED"]
SAFETY = POPULATION_LABELS["SAFFL"]

#: (endpoint stem, ADSL status variable, reason variable) of the two disposition levels.
LEVELS: tuple[tuple[str, str, str], ...] = (
    ("treatment", "EOTSTT", "DCTREAS"),
    ("study", "EOSSTT", "DCSREAS"),
)


def exposure_per_subject(
    adex: pd.DataFrame, pop: pd.DataFrame, treatment: str, placebo: str = "PLACEBO"
) -> pd.DataFrame:
    """Administrations of the study drug (``EXTRT == treatment``) or placebo per subject of ``pop``.

    Columns USUBJID, ARMCD, NDOSE (administrations), CUMDOSE (sum of EXDOSE of the study drug, mg;
    placebo counts 0 mg); subjects of ``pop`` without a dose get 0. Sorted by USUBJID.
    """
    require_columns(adex, ["USUBJID", "EXTRT", "EXDOSE"], "ADEX")
    ex = restrict(adex, pop)
    trt = text(ex["EXTRT"]).str.upper()
    ex = ex[(trt == treatment.upper()) | (trt == placebo.upper())]
    ex = ex.assign(EXDOSE=to_float(ex["EXDOSE"]).where(text(ex["EXTRT"]).str.upper() != placebo.upper(), 0.0))
    agg = (
        ex.assign(EXDOSE=to_float(ex["EXDOSE"]))
        .groupby("USUBJID")
        .agg(NDOSE=("EXDOSE", "size"), CUMDOSE=("EXDOSE", "sum"))
    )
    out = pop[["USUBJID", "ARMCD"]].merge(agg, left_on="USUBJID", right_index=True, how="left")
    return out.fillna({"NDOSE": 0, "CUMDOSE": 0.0}).astype({"NDOSE": "int64", "CUMDOSE": float})


def not_assigned_rows(adsl: pd.DataFrame, level: float = 0.95) -> list[dict[str, Any]]:
    """Screened subjects and those not assigned to an arm, by reason (overall only; none when every
    subject of ADSL is assigned to an arm).

    Endpoints ``Disposition: screened`` (all ADSL subjects) and ``Disposition: not assigned to an
    arm: <reason>`` (reason = ADSL TRT01P, e.g. ``Screen Failure``, upper-cased), population
    "All screened", denominator the screened subjects.
    """
    free = not_assigned(adsl)
    if not free.any():
        return []
    n_all = int(adsl["USUBJID"].nunique())
    reason = text(adsl["TRT01P"]).str.upper() if "TRT01P" in adsl.columns else text(adsl["ARMCD"]).str.upper()
    reason = reason.where(reason != "", text(adsl["ARMCD"]).str.upper()).where(lambda r: r != "", "NOT ASSIGNED")
    denominator = "screened subjects (every DM subject, ADSL)"
    rows: list[dict[str, Any]] = []
    rows += count_rows(n_all, n_all, endpoint="Disposition: screened", population=SCREENED, arm=OVERALL, visit="",
                       level=level, denominator=denominator)  # fmt: skip
    rows += count_rows(int(free.sum()), n_all, endpoint="Disposition: not assigned to an arm", population=SCREENED,
                       arm=OVERALL, visit="", level=level, denominator=denominator)  # fmt: skip
    for r in sorted(set(reason[free])):
        rows += count_rows(int((free & (reason == r)).sum()), n_all, endpoint=f"Disposition: not assigned to an arm: {r}",
                           population=SCREENED, arm=OVERALL, visit="", level=level, denominator=denominator)  # fmt: skip
    return rows


def _enrolled_count_rows(
    pop: pd.DataFrame,
    arms: Sequence[str],
    endpoint: str,
    mask: pd.Series,
    treatment: str,
    level: float,
    after_dose: bool = False,
) -> list[dict[str, Any]]:
    """n (%) with exact CI of the enrolled subjects ``pop[mask]`` by arm and overall; with
    ``after_dose``, also ``n_subjects_after_dose_<k>`` for each number of doses k (``_ndose``)
    among them."""
    sel = pop[mask]
    ks = sorted(set(sel["_ndose"])) if after_dose else []
    rows: list[dict[str, Any]] = []
    for (arm, p), (_, s) in zip(arm_groups(pop, arms), arm_groups(sel, arms)):
        rows.extend(
            count_rows(
                len(s),
                len(p),
                endpoint=endpoint,
                population=ENROLLED,
                arm=arm,
                visit="",
                level=level,
                denominator="enrolled subjects of the arm (ADSL)",
            )
        )
        for k in ks:
            rows.append(
                row(
                    endpoint,
                    ENROLLED,
                    arm,
                    "",
                    len(p),
                    f"n_subjects_after_dose_{k}",
                    int((s["_ndose"] == k).sum()),
                    f"subjects whose last dose of {treatment} was dose {k} (doses received in ADEX)",
                )
            )
    return rows


def disposition(
    adsl: pd.DataFrame,
    adex: pd.DataFrame,
    arms: Sequence[str],
    treatment: str,
    level: float = 0.95,
    placebo: str = "PLACEBO",
) -> pd.DataFrame:
    """Disposition of all enrolled subjects (ADSL rows), n (%) with exact CIs by arm and overall.

    When ADSL has subjects not assigned to an arm (screen failures), the endpoints of
    :func:`not_assigned_rows` come first; those subjects are in no other row.
    Endpoints ``Disposition: enrolled``, ``... treated`` (SAFFL=Y), and for ``treatment``
    (EOTSTT/DCTREAS) and ``study`` (EOSSTT/DCSREAS): ``completed <level>``, ``discontinued
    <level>``, ``discontinued <level>: <reason>`` and ``ongoing <level>``. Reason rows also carry
    ``n_subjects_after_dose_<k>``: the subjects with that reason whose last dose of the study
    drug was dose k (k = doses received, from ADEX).
    """
    require_columns(adsl, ["SAFFL", "EOTSTT", "DCTREAS", "EOSSTT", "DCSREAS"], "ADSL")
    pop = population(adsl, arms, None)
    doses = exposure_per_subject(adex, pop, treatment, placebo).set_index("USUBJID")["NDOSE"]
    pop = pop.assign(_ndose=pop["USUBJID"].map(doses).fillna(0).astype(int))
    rows: list[dict[str, Any]] = not_assigned_rows(adsl, level)

    def counts(endpoint: str, mask: pd.Series, after_dose: bool = False) -> None:
        rows.extend(_enrolled_count_rows(pop, arms, endpoint, mask, treatment, level, after_dose))

    counts("Disposition: enrolled", pd.Series(True, index=pop.index))
    counts("Disposition: treated", flag_yes(pop["SAFFL"]))
    for stem, status_var, reason_var in LEVELS:
        status = text(pop[status_var]).str.upper()
        reason = text(pop[reason_var]).str.upper()
        counts(f"Disposition: completed {stem}", status == "COMPLETED")
        counts(f"Disposition: discontinued {stem}", status == "DISCONTINUED")
        for r in sorted(set(reason[status == "DISCONTINUED"])):
            label = r if r else "REASON NOT RECORDED"
            counts(f"Disposition: discontinued {stem}: {label}", (status == "DISCONTINUED") & (reason == r), True)
        counts(f"Disposition: ongoing {stem}", status == "ONGOING")
    return frame(rows)


def exposure(
    adsl: pd.DataFrame,
    adex: pd.DataFrame,
    arms: Sequence[str],
    treatment: str,
    level: float = 0.95,
    placebo: str = "PLACEBO",
) -> pd.DataFrame:
    """Exposure to the study drug (placebo administrations counted as doses of 0 mg) in the safety
    population, by arm and overall.

    Endpoints ``Exposure: number of doses``, ``Exposure: cumulative dose (mg)`` and, if ADSL has
    TRTDURD, ``Exposure: treatment duration (days)`` (mean, SD, median, min, max); ``Exposure:
    doses received: <k>`` (n (%) with exact CI) for k = 1 .. the most doses received.
    """
    pop = population(adsl, arms, "SAFFL")
    ex = exposure_per_subject(adex, pop, treatment, placebo)
    rows: list[dict[str, Any]] = []
    series = [
        ("Exposure: number of doses", ex["NDOSE"].astype(float), f"{treatment} administrations in ADEX"),
        ("Exposure: cumulative dose (mg)", ex["CUMDOSE"], f"sum of EXDOSE of {treatment} in ADEX (mg)"),
    ]
    if "TRTDURD" in pop.columns:
        series.append(("Exposure: treatment duration (days)", to_float(pop["TRTDURD"]), "ADSL TRTDURD (days)"))
    for endpoint, values, what in series:
        df = pop[["USUBJID", "ARMCD"]].assign(_v=values.to_numpy())
        for arm, g in arm_groups(df, arms):
            rows += continuous_rows(
                g["_v"].to_numpy(float),
                endpoint=endpoint,
                population=SAFETY,
                arm=arm,
                visit="",
                level=level,
                what=what,
                mean_ci=False,
            )
    for k in range(1, int(ex["NDOSE"].max()) + 1 if len(ex) else 1):
        for (arm, p), (_, s) in zip(arm_groups(ex, arms), arm_groups(ex[ex["NDOSE"] == k], arms)):
            rows += count_rows(
                len(s),
                len(p),
                endpoint=f"Exposure: doses received: {k}",
                population=SAFETY,
                arm=arm,
                visit="",
                level=level,
                denominator="subjects in the safety population of the arm",
            )
    return frame(rows)


# ------------------------------------------------------------ the disposition flow figure
#: Endpoint stem of the disposition flow figure's counts (display rows of the disposition part).
FLOW = "Disposition flow"
#: Analysis sets the flow's last box lists: (ADSL flag, name on the figure).
FLOW_ANALYSIS_SETS: tuple[tuple[str, str], ...] = (("SAFFL", "Safety"), ("PKFL", "PK"), ("PDFL", "PD"))
REASON_NOT_RECORDED = "Reason not recorded"


def flow_status(df: pd.DataFrame, column: str) -> pd.Series:
    """Disposition status (EOTSTT, EOSSTT) upper-cased; missing, blank or no column = ``ONGOING``."""
    if column not in df.columns:
        return pd.Series("ONGOING", index=df.index)
    return df[column].astype("string").str.strip().str.upper().fillna("ONGOING").replace("", "ONGOING")


def flow_reasons(df: pd.DataFrame, column: str) -> dict[str, int]:
    """Subjects per reason (DCTREAS, DCSREAS) in sentence case, blank = :data:`REASON_NOT_RECORDED`;
    sorted by count (descending), then reason."""
    if column not in df.columns:
        return {REASON_NOT_RECORDED: len(df)} if len(df) else {}
    reasons = df[column].astype("string").fillna("").map(lambda r: sentence_case(r) if r else REASON_NOT_RECORDED)
    counts = reasons.value_counts()
    return {str(k): int(v) for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}


def disposition_flow_rows(adsl: pd.DataFrame, arms: Sequence[str]) -> list[dict[str, Any]]:
    """The disposition flow figure's counts (display rows ``Disposition flow: ...``, statistic
    ``n_subjects``, n = the denominator): ``enrolled`` and ``not allocated`` (every ADSL row,
    overall; ARMCD not among ``arms`` = not allocated); per arm ``allocated``, ``received at least
    one dose`` (SAFFL) and ``did not receive a dose``; treatment status among the dosed subjects
    (safety population: ``completed treatment``, ``discontinued treatment`` and ``...: <reason>``,
    ``treatment ongoing``; EOTSTT, DCTREAS); study status among the allocated (``completed study``,
    ``withdrew from study`` and ``...: <reason>``, ``study ongoing``; EOSSTT, DCSREAS); ``analysis
    set`` per population of :data:`FLOW_ANALYSIS_SETS` whose flag ADSL has. Status: see
    :func:`flow_status` (blank = ongoing); reasons: :func:`flow_reasons` (those with subjects only).
    """
    require_columns(adsl, ["USUBJID", "ARMCD", "SAFFL"], "ADSL")
    armcd = adsl["ARMCD"].astype(str)
    allocated = adsl[armcd.isin(set(arms))]
    n_all = len(adsl)
    rows = [
        row(f"{FLOW}: enrolled", SCREENED, OVERALL, "", n_all, "n_subjects", n_all, "ADSL subjects"),
        row(f"{FLOW}: not allocated", SCREENED, OVERALL, "", n_all, "n_subjects", n_all - len(allocated),
            "ADSL subjects whose ARMCD is not a configured arm"),
    ]  # fmt: skip

    def add(endpoint: str, population: str, arm: str, k: int, n: int, method: str) -> None:
        rows.append(row(f"{FLOW}: {endpoint}", population, arm, "", n, "n_subjects", k, f"number of subjects; {method}"))

    for arm in arms:
        a = allocated[allocated["ARMCD"].astype(str) == arm]
        dosed = a[flag_yes(a["SAFFL"])]
        n_a, n_d = len(a), len(dosed)
        eot, eos = flow_status(dosed, "EOTSTT"), flow_status(a, "EOSSTT")
        add("allocated", ENROLLED, arm, n_a, n_a, "ADSL ARMCD")
        add("received at least one dose", ENROLLED, arm, n_d, n_a, "SAFFL = Y")
        add("did not receive a dose", ENROLLED, arm, n_a - n_d, n_a, "SAFFL not Y")
        for stem, status, pop, n, what, reason_var, done, stopped, going in (
            ("treatment", eot, SAFETY, n_d, "EOTSTT among dosed subjects", "DCTREAS", "completed treatment",
             "discontinued treatment", "treatment ongoing"),
            ("study", eos, ENROLLED, n_a, "EOSSTT among allocated subjects", "DCSREAS", "completed study",
             "withdrew from study", "study ongoing"),
        ):  # fmt: skip
            group = dosed if stem == "treatment" else a
            add(done, pop, arm, int((status == "COMPLETED").sum()), n, f"{what} = COMPLETED")
            add(stopped, pop, arm, int((status == "DISCONTINUED").sum()), n, f"{what} = DISCONTINUED")
            for reason, k in flow_reasons(group[status == "DISCONTINUED"], reason_var).items():
                add(f"{stopped}: {reason}", pop, arm, k, n, f"{what} = DISCONTINUED, {reason_var} (sentence case)")
            add(going, pop, arm, int((~status.isin(["COMPLETED", "DISCONTINUED"])).sum()), n,
                f"{what} neither COMPLETED nor DISCONTINUED")  # fmt: skip
        for flag, _ in FLOW_ANALYSIS_SETS:
            if flag in a.columns:
                add("analysis set", POPULATION_LABELS[flag], arm, int(flag_yes(a[flag]).sum()), n_a, f"{flag} = Y")
    return rows


def disposition_part(
    adsl: pd.DataFrame,
    adex: pd.DataFrame,
    arms: Sequence[str],
    treatment: str,
    level: float = 0.95,
    placebo: str = "PLACEBO",
) -> pd.DataFrame:
    """Disposition and exposure endpoints (job ``stats_part`` (part=disposition))."""
    return frame(
        [
            *disposition(adsl, adex, arms, treatment, level, placebo).to_dict("records"),
            *exposure(adsl, adex, arms, treatment, level, placebo).to_dict("records"),
        ]
    )
