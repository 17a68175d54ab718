"""Simulating a study end to end: design -> truth model -> observations -> raw SDTM-like tables.

Entry point: :func:`simulate_study` (a pure function of the config values it reads, the study
size, the seed and the true population), returning the eight raw exports of the input contract
(docs/datasets.md section 1) as text data frames plus the truth (population and individual
parameters). :func:`write_raw` writes them as CSV.

Steps:

1. design and subjects (:mod:`fcrnpipe.simulate.design`), individual parameters
   (:func:`fcrnpipe.simulate.model.sample_individuals`);
2. planned samples (labs, AQP4-IgG, PK, EDSS, vital signs) with their residual errors;
3. the treatment-stopping rule, applied visit by visit: a pre-dose albumin < 30 g/L (as reported)
   cancels that dose and every later one (the subject stays in follow-up; an unscheduled lab
   visit 3-5 days later re-checks albumin); withdrawals get the first dose only;
4. the truth model at every remaining sample time, observations with residual error, censoring
   (``<LLOQ``/``BLQ``, ``<x``), titres read on the dilution series, EDSS on the 0.5 grid;
5. **reference design only** (9 subjects, 2 + 7): the AQP4 layer (baseline titres, AQP4-specific
   suppression, assay noise) and the EDSS layer are *conditioned* on the published summaries by
   rejection sampling -- candidate draws from the model, in batches, until one reproduces: baseline
   titres 1:32-1:320; undetectable AQP4-IgG at week 3 in all but one evaluated patient, that one
   at 1:320 at baseline; EDSS 4.0 +/- 1.0 at baseline, 2.7 +/- 1.3 at week 4 and change
   -1.3 +/- 0.4 (mean +/- SD to one decimal, over the patients assessed at week 4), every one
   improved. Other study sizes are plain (unconditioned) draws from the model;
6. adverse events and disposition (:mod:`fcrnpipe.simulate.events`), then the text tables.

Random numbers come from independent streams (``numpy.random.SeedSequence(seed).spawn``) for
design, parameters, residuals, AQP4, EDSS, events and unscheduled visits, so that changing one
part of the simulator does not reshuffle the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.simulate.design import (
    PK_POST_HOURS,
    StudyDesign,
    allocate_subjects,
    make_design,
    study_date,
    visit_plan,
)
from fcrnpipe.simulate.events import background_events, disposition, lab_events
from fcrnpipe.simulate.labs import (
    ALB_GRADE2,
    CORE_TESTS,
    LBTEST,
    fmt_fixed,
    pk_report,
    report_lab,
    uln_standard,
    unit_factors,
    SITE_LABS,
    Factors,
)
from fcrnpipe.simulate.model import (
    DILUTIONS,
    PARAMETER_UNITS,
    RESIDUAL_MODELS,
    PopulationParameters,
    edss_latent,
    edss_observed,
    population_from_config,
    read_titre,
    sample_aqp4,
    sample_edss,
    sample_individuals,
    simulate,
)

DOMAINS: tuple[str, ...] = ("dm", "ex", "vs", "lb", "pc", "qs", "ae", "ds")
STREAMS: tuple[str, ...] = ("design", "params", "residual", "aqp4", "edss", "events", "unscheduled")
#: Candidate draws per batch and batches at most, for the conditioned layers.
CANDIDATES_PER_BATCH = 20000
MAX_BATCHES = 50
#: Oral methylprednisolone taper after the IV pulse: (first study day, last study day, mg/day).
ORAL_TAPER: tuple[tuple[int, int, int], ...] = (
    (6, 19, 48),
    (20, 26, 40),
    (27, 33, 32),
    (34, 40, 24),
    (41, 47, 16),
    (48, 54, 8),
    (55, 61, 4),
)
IV_DAYS = 5
IV_DOSE_MG = 1000
UNSCHEDULED_VISIT = "UNSCHEDULED 1.01"


@dataclass(frozen=True)
class SimulatedStudy:
    """The raw exports (text frames keyed by domain) and the truth behind them."""

    tables: dict[str, pd.DataFrame]
    individual: pd.DataFrame
    population: PopulationParameters
    design: StudyDesign
    seed: int
    conditioned: bool

    def truth(self) -> dict[str, Any]:
        """True population and individual parameters (the ``--truth`` JSON)."""
        pop = self.population
        omega2 = pop.omega2()
        return {
            "seed": self.seed,
            "n_subjects": self.design.n_subjects,
            "arms": [
                {"armcd": a.armcd, "dose_mg": a.dose_mg, "n": n}
                for a, n in zip(self.design.arms, self.design.arm_counts)
            ],
            "conditioned_on_publication": self.conditioned,
            "population": {
                k: {"value": v, "unit": PARAMETER_UNITS.get(k, "")} for k, v in sorted(pop.typical().items())
            },
            "iiv": {k: {"cv_pct": round(100 * cv, 6), "omega2": omega2[k]} for k, cv in sorted(pop.iiv_cv.items())},
            "residual": {k: {"sd": v, "model": RESIDUAL_MODELS.get(k, "")} for k, v in sorted(pop.sigma.items())},
            "model": "fcrnpipe.simulate.model (module docstring); t = days from the first batoclimab dose; "
            "C = Ac/(V/F) in mg/L; IgG = IgG0*(U1 - fs*U2); observations y = f*(1 + sd*eps)",
            "individual": self.individual.to_dict(orient="records"),
        }


def _streams(seed: int) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children)}


# ----------------------------------------------------------------------------- samples
def _assessment_rows(
    base: dict[str, Any], v: Any, start: pd.Timestamp, retest: bool, aqp4_missed: bool
) -> list[dict[str, Any]]:
    """The planned lab (LB), EDSS (QS) and vital-sign (VS) observations of one visit ``v``
    starting at ``start`` (``base``: the visit's common fields): the subject's baseline IgG
    retest (``retest``) and missed week-3 AQP4 sample (``aqp4_missed``) included."""
    rows: list[dict[str, Any]] = []
    avisitn = base["avisitn"]
    if "LAB" in v.assessments:
        for test in CORE_TESTS:
            rows.append(dict(base, domain="LB", test=test, time=start))
        if retest and avisitn == 0:
            rows.append(dict(base, domain="LB", test="IGG", time=start + pd.Timedelta(minutes=35), retest=True))
    if "ALT" in v.assessments:
        rows.append(dict(base, domain="LB", test="ALT", time=start))
    if "AQP4" in v.assessments:
        missed = aqp4_missed and avisitn == 3
        rows.append(dict(base, domain="LB", test="AQP4AB", time=start, not_done=missed))
    if "EDSS" in v.assessments:
        rows.append(dict(base, domain="QS", test="EDSS", time=start + pd.Timedelta(minutes=20)))
    for test in ("WEIGHT", "HEIGHT"):
        if test in v.assessments:
            rows.append(dict(base, domain="VS", test=test, time=start + pd.Timedelta(minutes=10)))
    return rows


def _pk_rows(
    base: dict[str, Any],
    v: Any,
    start: pd.Timestamp,
    dose_time: pd.Timestamp,
    dose_no: int,
    design: StudyDesign,
    n_doses: int,
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """The planned PK samples (PC) of one visit ``v``: pre-dose, post-dose at
    :data:`PK_POST_HOURS` after ``dose_time`` (minutes of jitter drawn from ``rng``), one week
    after the last dose and follow-up (``dose_no``: the visit's dose, 0 if none)."""
    rows: list[dict[str, Any]] = []
    if "PK_PRE" in v.assessments:
        rows.append(dict(base, domain="PC", test="PC", time=start, dose_no=dose_no, pk_kind="PRE", pk_hours=0.0))
    if "PK_POST" in v.assessments:
        for h in PK_POST_HOURS:
            jitter = int(rng.integers(-2, 3)) * 5 if h == 6 else int(rng.integers(-6, 7)) * 10
            visit = base["VISIT"] if h < 24 else f"DAY {v.day + h // 24}"
            rows.append(
                dict(
                    base,
                    VISIT=visit,
                    VISITNUM=np.nan,
                    domain="PC",
                    test="PC",
                    time=dose_time + pd.Timedelta(hours=h, minutes=jitter),
                    dose_no=dose_no,
                    pk_kind="POST",
                    pk_hours=float(h),
                )
            )
    for kind in ("168", "FU"):
        if f"PK_{kind}" in v.assessments:
            rows.append(
                dict(
                    base,
                    domain="PC",
                    test="PC",
                    time=start,
                    dose_no=n_doses,
                    pk_kind=kind,
                    pk_hours=float((v.day - design.dosing_days[-1]) * 24),
                )
            )
    return rows


def planned_samples(
    design: StudyDesign, subjects: pd.DataFrame, plan: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Every planned observation (before dropouts), one row each, with a residual ``z``.

    Columns: USUBJID, domain (LB|PC|QS|VS), test, VISIT, VISITNUM, avisitn, time, dose_no
    (PK: the dose a sample refers to), pk_kind (PRE|POST|168|FU), pk_hours, retest, not_done,
    z (standard normal residual), row order sorted by subject, time, domain, test.
    """
    info = subjects.set_index("USUBJID")
    dose_visits = [v.avisitn for v in design.visits if "DOSE" in v.assessments]
    rows: list[dict[str, Any]] = []
    for r in plan.itertuples(index=False):
        v = design.visit(r.avisitn)
        base = dict(
            USUBJID=r.USUBJID,
            VISIT=r.VISIT,
            VISITNUM=r.VISITNUM,
            avisitn=r.avisitn,
            dose_no=0,
            pk_kind="",
            pk_hours=np.nan,
            retest=False,
            not_done=False,
        )
        rows += _assessment_rows(base, v, r.start, bool(info.loc[r.USUBJID, "retest"]),
                                 bool(info.loc[r.USUBJID, "aqp4_missed"]))
        dose_no = dose_visits.index(r.avisitn) + 1 if r.avisitn in dose_visits else 0
        rows += _pk_rows(base, v, r.start, r.dose_time, dose_no, design, len(dose_visits), rng)
    out = pd.DataFrame(rows)
    out = out.sort_values(["USUBJID", "time", "domain", "test", "retest"], kind="mergesort").reset_index(drop=True)
    out["z"] = rng.standard_normal(len(out))
    return out


def _pad(groups: list[np.ndarray], fill: float = np.nan) -> np.ndarray:
    width = max((len(g) for g in groups), default=0)
    out = np.full((len(groups), max(width, 1)), fill)
    for i, g in enumerate(groups):
        out[i, : len(g)] = g
    return out


def _days(times: pd.Series, first: pd.Series) -> np.ndarray:
    """Days from the first dose (exact to the minute)."""
    return ((times - first).dt.total_seconds() / 86400.0).to_numpy()


def run_model(
    individual: pd.DataFrame,
    subjects: pd.DataFrame,
    doses: pd.DataFrame,
    obs: pd.DataFrame,
    pop: PopulationParameters,
) -> pd.DataFrame:
    """Truth-model states at the times of ``obs`` (rows keep their index).

    ``doses``: USUBJID, time, amount (given doses only). ``obs``: USUBJID, time. Returns
    ``obs`` with columns conc, u1, u2, u3, alb_rel added.
    """
    ids = list(subjects["USUBJID"])
    first = subjects.set_index("USUBJID")["first_dose"]
    d_t = _days(doses["time"], doses["USUBJID"].map(first))
    o_t = _days(obs["time"], obs["USUBJID"].map(first))
    empty = np.array([], dtype=int)
    d_pos = doses.groupby("USUBJID", sort=False).indices
    o_pos = obs.groupby("USUBJID", sort=False).indices
    amounts = doses["amount"].to_numpy(dtype=float)
    dose_t = _pad([d_t[d_pos.get(s, empty)] for s in ids])
    dose_a = _pad([amounts[d_pos.get(s, empty)] for s in ids])
    obs_rows = [o_pos.get(s, empty) for s in ids]
    obs_t = _pad([o_t[r] for r in obs_rows])
    steroid = (pop.steroid_fraction, pop.steroid_decay, pop.steroid_start)
    traj = simulate(individual, dose_t, dose_a, obs_t, steroid)
    out = obs.copy()
    for name in ("conc", "u1", "u2", "u3", "alb_rel"):
        values = getattr(traj, name)
        col = np.full(len(obs), np.nan)
        for i, rows in enumerate(obs_rows):
            col[rows] = values[i, : len(rows)]
        out[name] = col
    return out


# ----------------------------------------------------------------------------- dosing rule
def planned_doses(design: StudyDesign, subjects: pd.DataFrame, plan: pd.DataFrame) -> pd.DataFrame:
    """Batoclimab doses as planned (withdrawals: the first dose only)."""
    d = plan[plan["dose_time"].notna()].copy()
    d["dose_no"] = d.groupby("USUBJID").cumcount() + 1
    d = d.merge(subjects[["USUBJID", "dose_mg", "withdraws"]], on="USUBJID")
    d = d[~d["withdraws"] | (d["dose_no"] == 1)]
    return (
        pd.DataFrame(
            {
                "USUBJID": d["USUBJID"],
                "dose_no": d["dose_no"],
                "time": d["dose_time"],
                "amount": d["dose_mg"],
                "VISIT": d["VISIT"],
                "avisitn": d["avisitn"],
                "VISITNUM": d["VISITNUM"],
            }
        )
        .sort_values(["USUBJID", "dose_no"], kind="mergesort")
        .reset_index(drop=True)
    )


def apply_stopping_rule(
    individual: pd.DataFrame,
    subjects: pd.DataFrame,
    doses: pd.DataFrame,
    samples: pd.DataFrame,
    pop: PopulationParameters,
    units: pd.DataFrame | Factors,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cancel every dose from the first visit whose pre-dose albumin (reported) is < 30 g/L.

    Returns (doses given, stops: USUBJID, dose_no, time of the stopping visit's draw).
    Visit by visit: the albumin drawn before dose k depends only on doses < k.
    """
    doses = doses.copy()
    units = unit_factors(units) if isinstance(units, pd.DataFrame) else units
    stops = []
    site = subjects.set_index("USUBJID")["SITEID"]
    alb0_of = pd.Series(individual["alb0"].to_numpy(), index=subjects["USUBJID"].to_numpy())
    for k in sorted(doses["dose_no"].unique()):
        if k == 1:
            continue
        at_k = doses[doses["dose_no"] == k]
        if at_k.empty:
            continue
        alb = samples[(samples["test"] == "ALB") & ~samples["retest"]]
        alb = alb.merge(at_k[["USUBJID", "avisitn"]], on=["USUBJID", "avisitn"])
        if alb.empty:
            continue
        alb.index = range(len(alb))
        states = run_model(individual, subjects, doses, alb[["USUBJID", "time"]], pop)
        alb0 = alb["USUBJID"].map(alb0_of)
        true = alb0 * states["alb_rel"] * (1.0 + pop.sigma["alb"] * alb["z"])
        for i, r in alb.iterrows():
            _, _, reported = report_lab(float(true[i]), "ALB", site[r["USUBJID"]], units)
            if reported < ALB_GRADE2:
                doses = doses[~((doses["USUBJID"] == r["USUBJID"]) & (doses["dose_no"] >= k))]
                stops.append({"USUBJID": r["USUBJID"], "dose_no": k, "time": r["time"], "avisitn": r["avisitn"]})
    return doses.reset_index(drop=True), pd.DataFrame(stops, columns=["USUBJID", "dose_no", "time", "avisitn"])


# ----------------------------------------------------------------------------- conditioning
def _close(x: float, target: float) -> bool:
    return abs(x - target) < 0.05


def edss_accepts(base: np.ndarray, week4: np.ndarray) -> bool:
    """Published EDSS summaries (Wang 2023) hold: 4.0 +/- 1.0 -> 2.7 +/- 1.3, change -1.3 +/- 0.4, all improved."""
    if base.size < 2:
        return False
    chg = week4 - base
    return (
        _close(base.mean(), 4.0)
        and _close(base.std(ddof=1), 1.0)
        and _close(week4.mean(), 2.7)
        and _close(week4.std(ddof=1), 1.3)
        and _close(chg.mean(), -1.3)
        and _close(chg.std(ddof=1), 0.4)
        and bool(np.all(chg <= -0.5))
    )


def aqp4_accepts(baseline_codes: np.ndarray, week3_codes: np.ndarray, week3_baseline_codes: np.ndarray) -> bool:
    """Published AQP4-IgG findings hold. Codes: index in DILUTIONS, -1 = NEGATIVE.

    Baseline titres within 1:32-1:320 with both ends present; at week 3 exactly one evaluated
    patient still positive, and that one had 1:320 at baseline.
    """
    lo, hi = DILUTIONS.index(32), DILUTIONS.index(320)
    if baseline_codes.size == 0 or baseline_codes.min() != lo or baseline_codes.max() != hi:
        return False
    positive = week3_codes >= 0
    return int(positive.sum()) == 1 and int(week3_baseline_codes[positive][0]) == hi


def _titre_codes(true_titre: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.asarray(DILUTIONS, dtype=float), true_titre, side="right") - 1


def condition_aqp4(
    pop: PopulationParameters,
    subj_idx: np.ndarray,
    rows: pd.DataFrame,
    n: int,
    rng: np.random.Generator,
    conditioned: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(titre0, fa, log-noise per row) of the first candidate accepted (or the first draw)."""
    for _ in range(MAX_BATCHES if conditioned else 1):
        k = CANDIDATES_PER_BATCH if conditioned else 1
        titre0, fa = sample_aqp4(pop, n, rng, k)
        noise = pop.sigma["aqp4"] * rng.standard_normal((k, len(rows)))
        if not conditioned:
            return titre0[0], fa[0], noise[0]
        q = rows["u1"].to_numpy() - fa[:, subj_idx] * rows["u3"].to_numpy()
        codes = _titre_codes(titre0[:, subj_idx] * np.maximum(q, 0.0) * np.exp(noise))
        is_base = (rows["avisitn"] == 0).to_numpy()
        is_w3 = (rows["avisitn"] == 3).to_numpy()
        base_of = {int(s): j for j, s in enumerate(subj_idx) if is_base[j]}
        w3_base_rows = np.array([base_of[int(s)] for s in subj_idx[is_w3]], dtype=int)
        for c in range(k):
            if aqp4_accepts(codes[c, is_base], codes[c, is_w3], codes[c, w3_base_rows]):
                return titre0[c], fa[c], noise[c]
    raise RuntimeError("no AQP4 draw reproduced the published findings; check the model parameters")


def condition_edss(
    pop: PopulationParameters,
    subj_idx: np.ndarray,
    rows: pd.DataFrame,
    n: int,
    rng: np.random.Generator,
    conditioned: bool,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(EDSS parameters per subject, rater noise per row) of the first accepted candidate."""
    t = rows["t"].to_numpy()
    pre = t <= 0
    for _ in range(MAX_BATCHES if conditioned else 1):
        k = CANDIDATES_PER_BATCH if conditioned else 1
        par = sample_edss(pop, n, rng, k)
        noise = pop.edss_sigma * rng.standard_normal((k, len(rows)))
        if not conditioned:
            return {key: v[0] for key, v in par.items()}, noise[0]
        obs = edss_rows(
            par["base"][:, subj_idx], par["gain"][:, subj_idx], par["late"][:, subj_idx], t, pre, noise, pop
        )
        is_base = (rows["avisitn"] == 0).to_numpy()
        is_w4 = (rows["avisitn"] == 4).to_numpy()
        base_of = {int(s): j for j, s in enumerate(subj_idx) if is_base[j]}
        w4_base = np.array([base_of[int(s)] for s in subj_idx[is_w4]], dtype=int)
        for c in range(k):
            if edss_accepts(obs[c, w4_base], obs[c, is_w4]):
                return {key: v[c] for key, v in par.items()}, noise[c]
    raise RuntimeError("no EDSS draw reproduced the published summaries; check the model parameters")


def edss_rows(
    base: np.ndarray,
    gain: np.ndarray,
    late: np.ndarray,
    t: np.ndarray,
    pre: np.ndarray,
    noise: np.ndarray,
    pop: PopulationParameters,
) -> np.ndarray:
    """Rated EDSS of each row. Before the first dose the attack is still evolving (up to 0.5
    point better 3 days earlier); pre-dose ratings are kept within the inclusion range 2.5-7.5.
    """
    latent = edss_latent(t, base, gain, late, pop)
    latent = np.where(pre, base - 0.5 * np.minimum(1.0, np.abs(t) / 3.0), latent)
    obs = edss_observed(latent, noise)
    return np.where(pre, np.clip(obs, 2.5, 7.5), obs)


# ----------------------------------------------------------------------------- main entry
def simulate_study(
    config: Mapping[str, Any],
    n_subjects: int = 9,
    seed: int | None = None,
    population: PopulationParameters | None = None,
    allocation: str = "published",
    units: pd.DataFrame | None = None,
    condition: bool | None = None,
) -> SimulatedStudy:
    """Simulate a study; return its raw exports (text) and the truth.

    ``seed`` defaults to config ``seeds.simulation``; ``population`` to
    :func:`~fcrnpipe.simulate.model.population_from_config` (steroid effect from the config).
    ``condition`` (default: only for the reference design) conditions the AQP4 and EDSS layers
    on the published summaries. ``units`` is the unit table (default ``resources/units.csv`` of
    the repository). Config values read: ``study`` (studyid, arms, dosing_days, treatment,
    comedication, pk_analyte, screening_window_days, followup_grace_days), ``visits``,
    ``seeds.simulation``, ``pkpd.steroid_suppression``.
    """
    if units is None:
        from fcrnpipe.units import load_unit_table

        units = load_unit_table(Path(__file__).resolve().parents[3] / "resources" / "units.csv")
    factors = unit_factors(units)
    seed = int(config["seeds"]["simulation"] if seed is None else seed)
    pop = population if population is not None else population_from_config(config)
    design = make_design(config, n_subjects, allocation)
    conditioned = design.is_reference if condition is None else bool(condition)
    rng = _streams(seed)

    subjects = allocate_subjects(design, rng["design"], pop.alb_sensitive_fraction)
    plan = visit_plan(design, subjects, rng["design"])
    weight = subjects["weight_kg"].to_numpy(dtype=float) if pop.weight_exponents else None
    individual = sample_individuals(pop, design.n_subjects, rng["params"], subjects["alb_sensitive"].to_numpy(),
                                    weight=weight)
    samples = planned_samples(design, subjects, plan, rng["residual"])

    doses, stops = apply_stopping_rule(
        individual, subjects, planned_doses(design, subjects, plan), samples, pop, factors
    )
    subjects = _outcome_dates(subjects, plan, doses, stops)
    samples, plan = _drop_after_dropout(samples, plan, subjects, doses, stops)
    samples = _add_unscheduled(samples, subjects, stops, plan, rng["unscheduled"])

    states = run_model(individual, subjects, doses, samples[["USUBJID", "time"]], pop)
    samples = pd.concat([samples, states[["conc", "u1", "u2", "u3", "alb_rel"]]], axis=1)
    first = samples["USUBJID"].map(subjects.set_index("USUBJID")["first_dose"])
    samples["t"] = _days(samples["time"], first)
    subj_index = {s: i for i, s in enumerate(subjects["USUBJID"])}

    aq = samples[(samples["test"] == "AQP4AB") & ~samples["not_done"]]
    titre0, fa, aq_noise = condition_aqp4(
        pop, aq["USUBJID"].map(subj_index).to_numpy(), aq, design.n_subjects, rng["aqp4"], conditioned
    )
    ed = samples[samples["test"] == "EDSS"]
    ed_par, ed_noise = condition_edss(
        pop, ed["USUBJID"].map(subj_index).to_numpy(), ed, design.n_subjects, rng["edss"], conditioned
    )

    individual = _with_layer_parameters(individual, subjects, fa, titre0, ed_par)
    samples = _observe(samples, individual, subjects, pop, factors, aq.index, aq_noise, ed.index, ed_noise)
    tables = build_tables(design, subjects, plan, doses, samples, rng["events"], factors)
    individual = _with_outcomes(individual, subjects, doses, stops)
    return SimulatedStudy(
        tables=tables, individual=individual, population=pop, design=design, seed=seed, conditioned=conditioned
    )


def _with_layer_parameters(
    individual: pd.DataFrame, subjects: pd.DataFrame, fa: np.ndarray, titre0: np.ndarray, ed_par: Mapping[str, Any]
) -> pd.DataFrame:
    """The true individual parameters with the subject's USUBJID, arm and dose first and the
    AQP4 (``fa``, ``titre0``) and EDSS (``ed_par``) layers' parameters added."""
    individual = individual.copy()
    individual.insert(0, "USUBJID", subjects["USUBJID"].to_numpy())
    individual.insert(1, "ARMCD", subjects["ARMCD"].to_numpy())
    individual.insert(2, "dose_mg", subjects["dose_mg"].to_numpy())
    individual["aqp4_fs"] = fa
    individual["aqp4_titre0"] = titre0
    individual["edss_base"] = ed_par["base"]
    individual["edss_gain"] = ed_par["gain"]
    individual["edss_late"] = ed_par["late"]
    return individual


def _with_outcomes(
    individual: pd.DataFrame, subjects: pd.DataFrame, doses: pd.DataFrame, stops: pd.DataFrame
) -> pd.DataFrame:
    """``individual`` with each subject's number of doses, withdrawal and albumin stop, sorted
    by USUBJID."""
    individual = individual.copy()
    individual["n_doses"] = individual["USUBJID"].map(doses.groupby("USUBJID").size()).fillna(0).astype(int).to_numpy()
    individual["withdrew"] = subjects["withdraws"].astype(int).to_numpy()
    individual["stopped_for_albumin"] = subjects["USUBJID"].isin(stops["USUBJID"]).astype(int).to_numpy()
    return individual.sort_values("USUBJID", kind="mergesort").reset_index(drop=True)


def _outcome_dates(
    subjects: pd.DataFrame, plan: pd.DataFrame, doses: pd.DataFrame, stops: pd.DataFrame
) -> pd.DataFrame:
    """Add last_dose, disc_time, treatment_end and last_contact to the subject table."""
    s = subjects.copy()
    last = doses.groupby("USUBJID")["time"].max()
    s["last_dose"] = s["USUBJID"].map(last)
    s["disc_time"] = s["USUBJID"].map(stops.set_index("USUBJID")["time"]) if not stops.empty else pd.NaT
    s["disc_time"] = pd.to_datetime(s["disc_time"])
    s["treatment_end"] = s["disc_time"].where(s["disc_time"].notna(), s["last_dose"])
    last_visit = plan.groupby("USUBJID")["start"].max()
    week1 = plan[plan["avisitn"] == 1].set_index("USUBJID")["start"]
    s["last_contact"] = [(week1[u] if w else last_visit[u]).normalize() for u, w in zip(s["USUBJID"], s["withdraws"])]
    return s


def _drop_after_dropout(
    samples: pd.DataFrame, plan: pd.DataFrame, subjects: pd.DataFrame, doses: pd.DataFrame, stops: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Withdrawals: nothing after the day-1 visit but the first-dose PK; stopped subjects: no
    post-dose PK for doses not given, and their PK samples refer to the last dose received."""
    info = subjects.set_index("USUBJID")
    withdrawn = samples["USUBJID"].map(info["withdraws"]).astype(bool)
    keep = ~withdrawn | (samples["avisitn"] <= 0)
    samples = samples[keep].copy()
    plan = plan[~plan["USUBJID"].map(info["withdraws"]).astype(bool) | (plan["avisitn"] <= 0)].copy()
    given = doses.groupby("USUBJID")["dose_no"].max()
    n_given = samples["USUBJID"].map(given)
    pc = samples["domain"] == "PC"
    post_missing = pc & (samples["pk_kind"] == "POST") & (samples["dose_no"] > n_given)
    samples = samples[~post_missing].copy()
    pc = samples["domain"] == "PC"
    n_given = samples["USUBJID"].map(given)
    not_given = pc & (samples["dose_no"] > n_given)
    samples.loc[not_given, "pk_kind"] = "FU"
    samples.loc[not_given, "dose_no"] = n_given[not_given]
    return samples.reset_index(drop=True), plan.reset_index(drop=True)


def _add_unscheduled(
    samples: pd.DataFrame, subjects: pd.DataFrame, stops: pd.DataFrame, plan: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """An unscheduled lab visit 3-5 days after each treatment stop (albumin re-check)."""
    rows = []
    for st in stops.sort_values("USUBJID").itertuples(index=False):
        day = pd.Timestamp(st.time).normalize() + pd.Timedelta(days=int(rng.integers(3, 6)))
        time = day + pd.Timedelta(hours=8, minutes=int(rng.integers(0, 12)) * 5)
        visitnum = (
            float(plan[(plan["USUBJID"] == st.USUBJID) & (plan["avisitn"] == st.avisitn)]["VISITNUM"].iloc[0]) + 0.01
        )
        for test in CORE_TESTS:
            rows.append(
                dict(
                    USUBJID=st.USUBJID,
                    domain="LB",
                    test=test,
                    VISIT=UNSCHEDULED_VISIT,
                    VISITNUM=visitnum,
                    avisitn=-99,
                    time=time,
                    dose_no=0,
                    pk_kind="",
                    pk_hours=np.nan,
                    retest=False,
                    not_done=False,
                    z=float(rng.standard_normal()),
                )
            )
    if not rows:
        return samples
    out = pd.concat([samples, pd.DataFrame(rows)], ignore_index=True)
    return out.sort_values(["USUBJID", "time", "domain", "test", "retest"], kind="mergesort").reset_index(drop=True)


def _observed_values(
    s: pd.DataFrame, p: Mapping[str, np.ndarray], info: pd.DataFrame, pop: PopulationParameters
) -> np.ndarray:
    """The observed value (standard units, with residual error ``z``) of each lab, PK and
    vital-sign sample of ``s`` (model states ``u1``, ``u2``, ``alb_rel``, ``conc``; ``p``: the
    subject's parameters per sample; ``info``: subjects by USUBJID); NaN for the others."""
    z = s["z"].to_numpy()
    sig = pop.sigma
    value = np.full(len(s), np.nan)
    test = s["test"].to_numpy()
    igg_rel = s["u1"].to_numpy() - pop.steroid_fraction * s["u2"].to_numpy()
    alb_rel = s["alb_rel"].to_numpy()
    value = np.where(test == "IGG", p["igg0"] * igg_rel * (1 + sig["igg"] * z), value)
    value = np.where(test == "ALB", p["alb0"] * alb_rel * (1 + sig["alb"] * z), value)
    value = np.where(test == "CHOL", p["chol0"] * (1 + p["g_chol"] * (1 - alb_rel)) * (1 + sig["chol"] * z), value)
    value = np.where(test == "LDL", p["ldl0"] * (1 + p["g_ldl"] * (1 - alb_rel)) * (1 + sig["ldl"] * z), value)
    value = np.where(test == "ALT", p["alt0"] * np.exp(sig["alt"] * z), value)
    value = np.where(test == "PC", np.maximum(s["conc"].to_numpy() * (1 + sig["pk"] * z), 0.0), value)
    t = s["t"].to_numpy()
    weight = s["USUBJID"].map(info["weight_kg"]).to_numpy()
    gain = 1.5 * np.where(t <= 0, 0.0, np.where(t < 28, t / 28.0, np.exp(-(t - 28) / 60.0)))
    value = np.where(test == "WEIGHT", weight + gain + 0.4 * z, value)
    value = np.where(test == "HEIGHT", s["USUBJID"].map(info["height_cm"]).to_numpy() + 0.5 * z, value)
    return value


def _as_reported(
    s: pd.DataFrame, test: np.ndarray, site: np.ndarray, units: Factors
) -> tuple[list[str], list[str], list[str], np.ndarray]:
    """``result``, ``unit``, ``lloq`` and the standard-unit value as reported by each sample's
    site (labs in the site's units, PK with its LLOQ, vital signs to 0.1); the AQP4 and EDSS
    results of ``s`` kept."""
    result = s["result"].to_list()
    unit = s["unit"].to_list()
    lloq = s["lloq"].to_list()
    std_values = s["value"].to_numpy(dtype=float).copy()
    for i, (tst, val, st) in enumerate(zip(test, std_values.tolist(), site)):
        if tst in ("IGG", "ALB", "CHOL", "LDL", "ALT"):
            result[i], unit[i], std_values[i] = report_lab(val, tst, st, units)
        elif tst == "PC":
            result[i], unit[i], lloq[i] = pk_report(val, st, units)
        elif tst in ("WEIGHT", "HEIGHT"):
            result[i], unit[i] = fmt_fixed(val, 1), ("kg" if tst == "WEIGHT" else "cm")
    return result, unit, lloq, std_values


def _observe(
    samples: pd.DataFrame,
    individual: pd.DataFrame,
    subjects: pd.DataFrame,
    pop: PopulationParameters,
    units: Factors,
    aq_index: pd.Index,
    aq_noise: np.ndarray,
    ed_index: pd.Index,
    ed_noise: np.ndarray,
) -> pd.DataFrame:
    """Observed values in standard units (``value``) and reported text (``result``, ``unit``, ``lloq``)."""
    s = samples.copy()
    ind = individual.set_index("USUBJID")
    info = subjects.set_index("USUBJID")
    p = {c: s["USUBJID"].map(ind[c]).to_numpy(dtype=float) for c in ind.columns if c != "ARMCD"}
    site = s["USUBJID"].map(info["SITEID"]).to_numpy()
    test = s["test"].to_numpy()
    t = s["t"].to_numpy()
    s["value"] = _observed_values(s, p, info, pop)
    # AQP4 titres
    s["result"] = ""
    s["unit"] = ""
    s["lloq"] = ""
    aq_pos = s.index.get_indexer(aq_index)
    q = s["u1"].to_numpy()[aq_pos] - p["aqp4_fs"][aq_pos] * s["u3"].to_numpy()[aq_pos]
    true_titre = p["aqp4_titre0"][aq_pos] * np.maximum(q, 0.0)
    s.loc[aq_index, "result"] = read_titre(true_titre, aq_noise)
    s.loc[aq_index, "unit"] = "TITER"
    s.loc[aq_index, "value"] = true_titre * np.exp(aq_noise)
    # EDSS
    ed_pos = s.index.get_indexer(ed_index)
    pre = t[ed_pos] <= 0
    ed = edss_rows(
        p["edss_base"][ed_pos], p["edss_gain"][ed_pos], p["edss_late"][ed_pos], t[ed_pos], pre, ed_noise, pop
    )
    s.loc[ed_index, "value"] = ed
    s.loc[ed_index, "result"] = [fmt_fixed(v, 1) for v in ed]
    # labs, PK and vital signs as reported
    s["result"], s["unit"], s["lloq"], s["value_std"] = _as_reported(s, test, site, units)
    nd = s["not_done"].to_numpy()
    s.loc[nd, "result"] = ""
    s.loc[nd, "value_std"] = np.nan
    return s


# ----------------------------------------------------------------------------- tables
def _dtc(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%dT%H:%M")


def _date(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


def _visitnum(x: float) -> str:
    return "" if pd.isna(x) else (str(int(x)) if float(x).is_integer() else f"{x:.2f}")


def _text_frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([[str(r.get(c, "")) for c in columns] for r in rows], columns=columns, dtype=object)


#: The columns of each raw export, in order.
COLUMNS: dict[str, list[str]] = {
    "dm": [
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "SUBJID",
        "SITEID",
        "AGE",
        "AGEU",
        "SEX",
        "RACE",
        "ETHNIC",
        "COUNTRY",
        "ARMCD",
        "ARM",
        "RFICDTC",
        "RFSTDTC",
        "RFENDTC",
        "ATTACK",
    ],
    "ex": [
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "EXSEQ",
        "EXTRT",
        "EXDOSE",
        "EXDOSU",
        "EXDOSFRQ",
        "EXROUTE",
        "VISIT",
        "EXSTDTC",
        "EXENDTC",
    ],
    "vs": ["STUDYID", "DOMAIN", "USUBJID", "VSTESTCD", "VSTEST", "VSORRES", "VSORRESU", "VISITNUM", "VISIT", "VSDTC"],
    "lb": [
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "LBSEQ",
        "LBTESTCD",
        "LBTEST",
        "LBCAT",
        "LBORRES",
        "LBORRESU",
        "LBORNRLO",
        "LBORNRHI",
        "LBSTAT",
        "LBREASND",
        "LBSPEC",
        "LBMETHOD",
        "VISITNUM",
        "VISIT",
        "LBDTC",
    ],
    "pc": [
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "PCSEQ",
        "PCTESTCD",
        "PCTEST",
        "PCORRES",
        "PCORRESU",
        "PCLLOQ",
        "PCSPEC",
        "VISIT",
        "PCTPT",
        "PCTPTNUM",
        "PCTPTREF",
        "PCDTC",
    ],
    "qs": ["STUDYID", "DOMAIN", "USUBJID", "QSCAT", "QSTESTCD", "QSTEST", "QSORRES", "VISITNUM", "VISIT", "QSDTC"],
    "ae": [
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "AESEQ",
        "AETERM",
        "AEDECOD",
        "AEBODSYS",
        "AESTDTC",
        "AEENDTC",
        "AETOXGR",
        "AESER",
        "AEREL",
        "AEACN",
        "AEOUT",
    ],
    "ds": ["STUDYID", "DOMAIN", "USUBJID", "DSSCAT", "DSCAT", "DSDECOD", "DSTERM", "DSSTDTC"],
}


def _sequence(usubjids: Iterable[str]) -> list[int]:
    """Running number of each record within its subject (``--SEQ``), in the order given.

    >>> _sequence(["S1", "S1", "S2", "S1"])
    [1, 2, 1, 3]
    """
    seen: dict[str, int] = {}
    out = []
    for u in usubjids:
        seen[u] = seen.get(u, 0) + 1
        out.append(seen[u])
    return out


def build_dm(design: StudyDesign, subjects: pd.DataFrame, plan: pd.DataFrame) -> pd.DataFrame:
    """DM: one row per subject, informed consent on the screening visit."""
    screening = plan[plan["avisitn"] < 0].set_index("USUBJID")["start"]
    dm_rows = [
        dict(
            STUDYID=design.studyid,
            DOMAIN="DM",
            USUBJID=s.USUBJID,
            SUBJID=s.USUBJID.rsplit("-", 2)[-2] + s.USUBJID.rsplit("-", 1)[-1],
            SITEID=s.SITEID,
            AGE=int(s.AGE),
            AGEU="YEARS",
            SEX=s.SEX,
            RACE="ASIAN",
            ETHNIC="NOT HISPANIC OR LATINO",
            COUNTRY="CHN",
            ARMCD=s.ARMCD,
            ARM=s.ARM,
            RFICDTC=_date(screening[s.USUBJID]),
            RFSTDTC=_dtc(s.first_dose),
            RFENDTC=_date(s.last_contact),
            ATTACK=s.ATTACK,
        )
        for s in subjects.itertuples(index=False)
    ]
    return _text_frame(sorted(dm_rows, key=lambda r: r["USUBJID"]), COLUMNS["dm"])


def _ex_row(
    usubjid: str, treatment: str, dose: str, freq: str, route: str, visit: str, t: pd.Timestamp, start: str, end: str
) -> dict[str, Any]:
    """One EX record in mg (``_t``: the start time, for sorting)."""
    return dict(
        USUBJID=usubjid,
        EXTRT=treatment,
        EXDOSE=dose,
        EXDOSU="mg",
        EXDOSFRQ=freq,
        EXROUTE=route,
        VISIT=visit,
        _t=t,
        EXSTDTC=start,
        EXENDTC=end,
    )


def _ex_comedication(design: StudyDesign, s: Any, visit_names: Mapping[int, str]) -> list[dict[str, Any]]:
    """The steroid co-medication of one subject: IV methylprednisolone on days 1 to
    ``IV_DAYS`` (day 1 45 min after the first dose), then the oral taper up to the last contact."""
    rows = []
    end_limit = pd.Timestamp(s.last_contact)
    for day in range(1, IV_DAYS + 1):
        if day == 1:
            start = pd.Timestamp(s.first_dose) + pd.Timedelta(minutes=45)
        else:
            start = study_date(s.first_dose, day) + pd.Timedelta(hours=9, minutes=(s.idx * 7 + day * 11) % 60)
        end = _dtc(start + pd.Timedelta(hours=3))
        iv = (str(IV_DOSE_MG), "QD", "INTRAVENOUS", f"DAY {day}")
        rows.append(_ex_row(s.USUBJID, design.comedication, *iv, start, _dtc(start), end))
    for lo, hi, mg in ORAL_TAPER:
        start = study_date(s.first_dose, lo)
        if start > end_limit:
            continue
        end = min(study_date(s.first_dose, hi), end_limit)
        visit = visit_names[max(d for d in visit_names if d <= lo)] if lo > IV_DAYS + 1 else f"DAY {IV_DAYS}"
        rows.append(
            _ex_row(s.USUBJID, design.comedication, str(mg), "QD", "ORAL", visit, start, _date(start), _date(end))
        )
    return rows


def build_ex(design: StudyDesign, subjects: pd.DataFrame, doses: pd.DataFrame) -> pd.DataFrame:
    """EX: the study drug's doses and the steroid co-medication, by subject and start time (the
    study drug first at equal times), numbered per subject."""
    ex_rows = [
        _ex_row(d.USUBJID, design.treatment, fmt_fixed(d.amount, 0), "ONCE", "SUBCUTANEOUS", d.VISIT, d.time, t, t)
        for d, t in zip(doses.itertuples(index=False), map(_dtc, doses["time"]))
    ]
    visit_names = {v.day: v.name for v in design.visits if v.avisitn >= 0}
    for s in subjects.itertuples(index=False):
        ex_rows += _ex_comedication(design, s, visit_names)
    ex_rows.sort(key=lambda r: (r["USUBJID"], r["_t"], r["EXTRT"] != design.treatment))
    for r, n in zip(ex_rows, _sequence(r["USUBJID"] for r in ex_rows)):
        r["EXSEQ"] = n
        r["STUDYID"], r["DOMAIN"] = design.studyid, "EX"
    return _text_frame(ex_rows, COLUMNS["ex"])


def build_vs(design: StudyDesign, samples: pd.DataFrame) -> pd.DataFrame:
    """VS: weight and height as reported, by subject, test and date-time."""
    vs_rows = [
        dict(
            STUDYID=design.studyid,
            DOMAIN="VS",
            USUBJID=r.USUBJID,
            VSTESTCD=r.test,
            VSTEST="Weight" if r.test == "WEIGHT" else "Height",
            VSORRES=r.result,
            VSORRESU=r.unit,
            VISITNUM=_visitnum(r.VISITNUM),
            VISIT=r.VISIT,
            VSDTC=_dtc(r.time),
        )
        for r in samples[samples["domain"] == "VS"].itertuples(index=False)
    ]
    vs_rows.sort(key=lambda r: (r["USUBJID"], r["VSTESTCD"], r["VSDTC"]))
    return _text_frame(vs_rows, COLUMNS["vs"])


def build_lb(design: StudyDesign, subjects: pd.DataFrame, samples: pd.DataFrame) -> pd.DataFrame:
    """LB: labs with their site's reference range and AQP4-IgG titres, by subject, time, test
    and retest, numbered per subject; samples not received are ``NOT DONE``."""
    info = subjects.set_index("USUBJID")
    lb = samples[samples["domain"] == "LB"].sort_values(["USUBJID", "time", "test", "retest"], kind="mergesort")
    lb_rows = []
    for r, n in zip(lb.itertuples(index=False), _sequence(lb["USUBJID"])):
        titre = r.test == "AQP4AB"
        spec = None if titre else SITE_LABS[info.loc[r.USUBJID, "SITEID"]][r.test]
        lb_rows.append(
            dict(
                STUDYID=design.studyid,
                DOMAIN="LB",
                USUBJID=r.USUBJID,
                LBSEQ=n,
                LBTESTCD=r.test,
                LBTEST=LBTEST[r.test],
                LBCAT="IMMUNOLOGY" if r.test in ("IGG", "AQP4AB") else "CHEMISTRY",
                LBORRES=r.result,
                LBORRESU="" if r.not_done else r.unit,
                LBORNRLO="" if titre else spec.lo,
                LBORNRHI="" if titre else spec.hi,
                LBSTAT="NOT DONE" if r.not_done else "",
                LBREASND="SAMPLE NOT RECEIVED BY LABORATORY" if r.not_done else "",
                LBSPEC="SERUM",
                LBMETHOD="CELL-BASED ASSAY" if titre else "",
                VISITNUM=_visitnum(r.VISITNUM),
                VISIT=r.VISIT,
                LBDTC=_dtc(r.time),
            )
        )
    return _text_frame(lb_rows, COLUMNS["lb"])


def _pc_timepoint(design: StudyDesign, r: Any) -> tuple[str, float]:
    """``PCTPT`` and the nominal hours after the reference dose of a PK sample (follow-up
    samples: from the visit's planned day; NaN at an unscheduled visit)."""
    tpt = {"PRE": "PRE-DOSE", "168": "168 H POST-DOSE", "FU": "FOLLOW-UP"}
    hours = r.pk_hours
    if r.pk_kind == "FU":
        visit_day = next((v.day for v in design.visits if v.name == r.VISIT), None)
        hours = (visit_day - design.dosing_days[int(r.dose_no) - 1]) * 24 if visit_day is not None else np.nan
    label = f"{int(r.pk_hours)} H POST-DOSE" if r.pk_kind == "POST" else tpt[r.pk_kind]
    return label, hours


def build_pc(design: StudyDesign, samples: pd.DataFrame) -> pd.DataFrame:
    """PC: serum concentrations of the study drug, by subject and time, numbered per subject."""
    pc = samples[samples["domain"] == "PC"].sort_values(["USUBJID", "time"], kind="mergesort")
    pc_rows = []
    for r, n in zip(pc.itertuples(index=False), _sequence(pc["USUBJID"])):
        label, hours = _pc_timepoint(design, r)
        pc_rows.append(
            dict(
                STUDYID=design.studyid,
                DOMAIN="PC",
                USUBJID=r.USUBJID,
                PCSEQ=n,
                PCTESTCD=design.pk_analyte,
                PCTEST="Batoclimab",
                PCORRES=r.result,
                PCORRESU=r.unit,
                PCLLOQ=r.lloq,
                PCSPEC="SERUM",
                VISIT=r.VISIT,
                PCTPT=label,
                PCTPTNUM="" if pd.isna(hours) else fmt_fixed(float(hours), 0),
                PCTPTREF=f"DOSE {int(r.dose_no)}",
                PCDTC=_dtc(r.time),
            )
        )
    return _text_frame(pc_rows, COLUMNS["pc"])


def build_qs(design: StudyDesign, samples: pd.DataFrame) -> pd.DataFrame:
    """QS: EDSS scores, by subject, test and date-time."""
    qs_rows = [
        dict(
            STUDYID=design.studyid,
            DOMAIN="QS",
            USUBJID=r.USUBJID,
            QSCAT="EDSS",
            QSTESTCD="EDSS",
            QSTEST="Expanded Disability Status Scale score",
            QSORRES=r.result,
            VISITNUM=_visitnum(r.VISITNUM),
            VISIT=r.VISIT,
            QSDTC=_dtc(r.time),
        )
        for r in samples[samples["domain"] == "QS"].itertuples(index=False)
    ]
    qs_rows.sort(key=lambda r: (r["USUBJID"], r["QSTESTCD"], r["QSDTC"]))
    return _text_frame(qs_rows, COLUMNS["qs"])


def _ae_events(
    subjects: pd.DataFrame,
    plan: pd.DataFrame,
    doses: pd.DataFrame,
    samples: pd.DataFrame,
    rng: np.random.Generator,
    units: Factors,
) -> pd.DataFrame:
    """The adverse events: those read off the albumin and cholesterol results (against the
    site's ULN) and the background events (the only draws from ``rng`` here), by subject,
    start and term."""
    info = subjects.set_index("USUBJID")
    labs = samples[
        (samples["domain"] == "LB") & samples["test"].isin(["ALB", "CHOL"]) & samples["value_std"].notna()
    ].copy()
    labs = labs.rename(columns={"test": "LBTESTCD"})
    labs["uln_std"] = [uln_standard(info.loc[u, "SITEID"], t, units) for u, t in zip(labs["USUBJID"], labs["LBTESTCD"])]
    labs["baseline"] = labs["time"] <= labs["USUBJID"].map(info["first_dose"])
    parts = [
        lab_events(subjects, labs[["USUBJID", "LBTESTCD", "time", "value_std", "uln_std", "baseline"]]),
        background_events(subjects, doses[["USUBJID", "time"]], plan[["USUBJID", "avisitn", "start"]], rng),
    ]
    ae = pd.concat([p for p in parts if not p.empty] or parts[:1], ignore_index=True)
    return ae.sort_values(["USUBJID", "start", "AEDECOD"], kind="mergesort").reset_index(drop=True)


def build_ae(
    design: StudyDesign,
    subjects: pd.DataFrame,
    plan: pd.DataFrame,
    doses: pd.DataFrame,
    samples: pd.DataFrame,
    rng: np.random.Generator,
    units: Factors,
) -> pd.DataFrame:
    """AE: the events of :func:`_ae_events`, numbered per subject; no end date: ongoing."""
    ae = _ae_events(subjects, plan, doses, samples, rng, units)
    ae_rows = []
    for r, n in zip(ae.itertuples(index=False), _sequence(ae["USUBJID"])):
        ongoing = pd.isna(r.end)
        ae_rows.append(
            dict(
                STUDYID=design.studyid,
                DOMAIN="AE",
                USUBJID=r.USUBJID,
                AESEQ=n,
                AETERM=r.AETERM,
                AEDECOD=r.AEDECOD,
                AEBODSYS=r.AEBODSYS,
                AESTDTC=r.partial_start or _date(r.start),
                AEENDTC="" if ongoing else _date(r.end),
                AETOXGR=int(r.AETOXGR),
                AESER=r.AESER,
                AEREL=r.AEREL,
                AEACN=r.AEACN,
                AEOUT="NOT RECOVERED/NOT RESOLVED" if ongoing else "RECOVERED/RESOLVED",
            )
        )
    return _text_frame(ae_rows, COLUMNS["ae"])


def build_ds(design: StudyDesign, subjects: pd.DataFrame) -> pd.DataFrame:
    """DS: the disposition events, by subject, subcategory and term."""
    ds = disposition(subjects).sort_values(["USUBJID", "DSSCAT", "DSDECOD"], kind="mergesort")
    ds_rows = [
        dict(
            STUDYID=design.studyid,
            DOMAIN="DS",
            USUBJID=r.USUBJID,
            DSSCAT=r.DSSCAT,
            DSCAT="DISPOSITION EVENT",
            DSDECOD=r.DSDECOD,
            DSTERM=r.DSTERM,
            DSSTDTC=_date(r.date),
        )
        for r in ds.itertuples(index=False)
    ]
    return _text_frame(ds_rows, COLUMNS["ds"])


def build_tables(
    design: StudyDesign,
    subjects: pd.DataFrame,
    plan: pd.DataFrame,
    doses: pd.DataFrame,
    samples: pd.DataFrame,
    rng: np.random.Generator,
    units: Factors,
) -> dict[str, pd.DataFrame]:
    """The eight raw exports as text frames (sorted by their keys), one builder per domain;
    only :func:`build_ae` draws from ``rng``."""
    return {
        "dm": build_dm(design, subjects, plan),
        "ex": build_ex(design, subjects, doses),
        "vs": build_vs(design, samples),
        "lb": build_lb(design, subjects, samples),
        "pc": build_pc(design, samples),
        "qs": build_qs(design, samples),
        "ae": build_ae(design, subjects, plan, doses, samples, rng, units),
        "ds": build_ds(design, subjects),
    }


def write_raw(tables: Mapping[str, pd.DataFrame], out_dir: str | Path) -> list[Path]:
    """Write each table as ``<domain>.csv`` (UTF-8, '\\n', no index, text as is); return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for domain in DOMAINS:
        path = out / f"{domain}.csv"
        tables[domain].to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
        paths.append(path)
    return paths
