"""Study design of the simulated reference study: arms, subjects, sites, visit schedule.

The reference study (NCT04227470, Wang et al. 2023): 9 patients with an acute NMOSD attack,
batoclimab SC weekly x4 (study days 1, 8, 15, 22) at 340 mg (ARMCD BATO340, n = 2) or 680 mg
(BATO680, n = 7) as add-on to IV methylprednisolone 1 g/day for 5 days, then an oral taper;
5 acute myelitis, 4 unilateral optic neuritis; follow-up to week 27.

Choices for other study sizes (``n_subjects != 9``), documented in
resources/reference_study/README.md:

* allocation ``"published"`` (default) keeps the 2:7 ratio (low dose ``round(2n/9)``, at least
  one per arm); ``"even"`` splits the subjects evenly (low dose ``n // 2``). Arms are enrolled as
  sequential cohorts (dose escalation: the low-dose cohort first);
* special cases scale with ``n``: ``k(n) = max(1, round_half_up(n/9))`` voluntary withdrawals
  after the first dose (top-dose arm), unscheduled visits (one per hypoalbuminaemia
  discontinuation), same-day lab retests, missed AQP4 samples at week 3 and partial AE start
  dates; ``floor(alb_sensitive_fraction * n_arm)`` albumin-sensitive subjects per arm;
  ``round_half_up(5n/9)`` myelitis attacks, the rest optic neuritis;
* subjects are spread over three sites (101, 102, 103) in turn; site 102 reports
  conventional units (IgG mg/dL, albumin g/dL, lipids mg/dL, concentrations ug/mL).

Every function is pure: the randomness comes from the generator passed in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

#: Number of subjects of the published study.
REFERENCE_N = 9
#: Sites and the unit system each one reports in.
SITES: tuple[str, ...] = ("101", "102", "103")
#: First and last planned first-dose dates (spread over 2021, so that follow-up runs into 2022).
ENROLMENT_START = datetime(2021, 1, 11)
ENROLMENT_DAYS = 240

#: Assessments per analysis visit (``avisitn`` of config ``visits``).
#: LAB = IgG, albumin, cholesterol, LDL; ALT = safety chemistry; AQP4 = AQP4-IgG titre;
#: EDSS; WEIGHT/HEIGHT = vital signs; DOSE = batoclimab dose; PK_PRE = pre-dose sample;
#: PK_POST = dense sampling after the dose (6, 24, 48, 72, 96 h); PK_168 = 168 h after the
#: last dose; PK_FU = follow-up sample.
ASSESSMENTS: dict[int, frozenset[str]] = {
    -1: frozenset({"LAB", "ALT", "EDSS", "WEIGHT", "HEIGHT"}),
    0: frozenset({"LAB", "ALT", "AQP4", "EDSS", "WEIGHT", "DOSE", "PK_PRE", "PK_POST"}),
    1: frozenset({"LAB", "AQP4", "EDSS", "DOSE", "PK_PRE"}),
    2: frozenset({"LAB", "ALT", "AQP4", "EDSS", "DOSE", "PK_PRE"}),
    3: frozenset({"LAB", "AQP4", "EDSS", "DOSE", "PK_PRE", "PK_POST"}),
    4: frozenset({"LAB", "ALT", "AQP4", "EDSS", "WEIGHT", "PK_168"}),
    6: frozenset({"LAB", "PK_FU"}),
    8: frozenset({"LAB", "ALT", "AQP4", "EDSS", "PK_FU"}),
    12: frozenset({"LAB", "ALT", "AQP4", "EDSS", "WEIGHT"}),
    16: frozenset({"LAB"}),
    20: frozenset({"LAB"}),
    27: frozenset({"LAB", "ALT", "AQP4", "EDSS", "WEIGHT"}),
}
#: Largest deviation (days) from the target day per analysis visit (also bounded by its window).
MAX_JITTER: dict[int, int] = {0: 0, 1: 1, 2: 1, 3: 1, 4: 1, 6: 3, 8: 3, 12: 4, 16: 5, 20: 5, 27: 5}
#: Screening happens 1-3 days before the first dose (acute attack: short screening).
SCREENING_DAYS: tuple[int, int] = (-3, -1)
#: Nominal hours after a dose of the dense PK samples.
PK_POST_HOURS: tuple[int, ...] = (6, 24, 48, 72, 96)


@dataclass(frozen=True)
class Arm:
    armcd: str
    label: str
    dose_mg: float


@dataclass(frozen=True)
class VisitDef:
    """A scheduled visit: name, VISITNUM, target study day, window and assessments."""

    name: str
    visitnum: int
    avisitn: int
    day: int
    lo: int
    hi: int
    assessments: frozenset[str]

    @property
    def jitter(self) -> int:
        """Largest allowed deviation from the target day (within the analysis window)."""
        if self.avisitn < 0:
            return 0
        cap = MAX_JITTER.get(self.avisitn, 2)
        return max(0, min(cap, self.day - self.lo, self.hi - self.day))


@dataclass(frozen=True)
class StudyDesign:
    """Everything about the study that is fixed before randomness enters."""

    studyid: str
    arms: tuple[Arm, ...]
    arm_counts: tuple[int, ...]
    dosing_days: tuple[int, ...]
    visits: tuple[VisitDef, ...]
    treatment: str = "BATOCLIMAB"
    comedication: str = "METHYLPREDNISOLONE"
    pk_analyte: str = "BATOCLIM"
    screening_window_days: int = 42
    followup_grace_days: int = 30
    alb_sensitive_fraction: float = 0.30
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_subjects(self) -> int:
        return int(sum(self.arm_counts))

    @property
    def is_reference(self) -> bool:
        """The published design (9 subjects, 2 + 7): the cut that is conditioned on the paper."""
        return self.arm_counts == (2, 7) and len(self.arms) == 2

    def visit(self, avisitn: int) -> VisitDef:
        for v in self.visits:
            if v.avisitn == avisitn:
                return v
        raise KeyError(f"no visit with AVISITN {avisitn} in config visits")


def round_half_up(x: float) -> int:
    """Round to the nearest integer, halves up (``round`` in Python rounds halves to even)."""
    return int(math.floor(x + 0.5))


def special_count(n: int) -> int:
    """How many subjects get a special case (withdrawal, retest, ...): one per 9 subjects."""
    return max(1, round_half_up(n / REFERENCE_N))


def arm_counts(n: int, allocation: str = "published") -> tuple[int, int]:
    """Subjects per arm (low dose, high dose) for ``n`` subjects."""
    if n < 2:
        raise ValueError("the study needs at least 2 subjects (one per arm)")
    if allocation == "published":
        low = min(max(1, round_half_up(2 * n / REFERENCE_N)), n - 1)
    elif allocation == "even":
        low = n // 2
    else:
        raise ValueError(f"unknown allocation {allocation!r} (published | even)")
    return low, n - low


def make_design(config: Mapping[str, Any], n_subjects: int = REFERENCE_N, allocation: str = "published") -> StudyDesign:
    """The study design from the config (``study``, ``visits``) and the study size.

    The two arms are the first two of config ``study.arms`` sorted by dose; visits are config
    ``visits`` (VISITNUM = position, 1-based) with the assessments of :data:`ASSESSMENTS`.
    """
    study = config["study"]
    arms = sorted((Arm(a["armcd"], a["label"], float(a["dose_mg"])) for a in study["arms"]), key=lambda a: a.dose_mg)
    if len(arms) < 2:
        raise ValueError("the simulator needs two arms (low and high dose) in config study.arms")
    arms = arms[:2]
    visits = tuple(
        VisitDef(
            name=str(v["name"]),
            visitnum=i + 1,
            avisitn=int(v["avisitn"]),
            day=int(v["day"]),
            lo=int(v["lo"]),
            hi=int(v["hi"]),
            assessments=ASSESSMENTS.get(int(v["avisitn"]), frozenset({"LAB"})),
        )
        for i, v in enumerate(config["visits"])
    )
    dosing = tuple(int(d) for d in study["dosing_days"])
    dose_visits = [v.day for v in visits if "DOSE" in v.assessments]
    if tuple(dose_visits) != dosing:
        raise ValueError(
            f"config study.dosing_days {list(dosing)} must be the target days of the dosing visits {dose_visits}"
        )
    return StudyDesign(
        studyid=str(study["studyid"]),
        arms=tuple(arms),
        arm_counts=arm_counts(n_subjects, allocation),
        dosing_days=dosing,
        visits=visits,
        treatment=str(study["treatment"]),
        comedication=str(study["comedication"]),
        pk_analyte=str(study["pk_analyte"]),
        screening_window_days=int(study["screening_window_days"]),
        followup_grace_days=int(study["followup_grace_days"]),
    )


def _pick(rng: np.random.Generator, candidates: Sequence[int], k: int) -> list[int]:
    """``k`` distinct items of ``candidates`` (sorted), fewer if there are not enough."""
    candidates = list(candidates)
    k = min(k, len(candidates))
    if k <= 0:
        return []
    return sorted(int(i) for i in rng.choice(candidates, size=k, replace=False))


def _first_doses(n: int, rng: np.random.Generator) -> list[datetime]:
    """First-dose date-times of ``n`` subjects spread over the enrolment period (09:00-10:30
    in 5-minute steps), in enrolment order."""
    spacing = ENROLMENT_DAYS / max(n - 1, 1)
    jitter = rng.integers(0, max(1, min(int(spacing), 7)), size=n)
    minutes = rng.integers(0, 19, size=n) * 5  # 09:00-10:30 in 5-minute steps
    first = [
        ENROLMENT_START + timedelta(days=int(round(i * spacing)) + int(jitter[i]), hours=9, minutes=int(minutes[i]))
        for i in range(n)
    ]
    order = np.argsort(np.array(first, dtype="datetime64[m]"), kind="stable")
    return [first[i] for i in order]


def _subject_ids(studyid: str, sites: Sequence[str]) -> list[str]:
    """USUBJID of each subject: study, site and the running number within the site.

    >>> _subject_ids("S", ["101", "102", "101"])
    ['S-101-001', 'S-102-001', 'S-101-002']
    """
    counters: dict[str, int] = {}
    ids = []
    for site in sites:
        counters[site] = counters.get(site, 0) + 1
        ids.append(f"{studyid}-{site}-{counters[site]:03d}")
    return ids


def _special_cases(
    design: StudyDesign, arm_of: np.ndarray, rng: np.random.Generator, alb_sensitive_fraction: float
) -> tuple[set[int], set[int], set[int], set[int], set[int]]:
    """The subjects (enrolment indices) who withdraw (high-dose arm), are albumin-sensitive
    (a fraction of each arm's stayers), have a baseline IgG retest, miss an AQP4 sample or
    have partial AE start dates (the last-enrolled stayers)."""
    n = design.n_subjects
    k = special_count(n)
    high_idx = [i for i in range(n) if arm_of[i] == 1]
    withdraws = set(_pick(rng, high_idx, k))
    sensitive: set[int] = set()
    for a, count in enumerate(design.arm_counts):
        members = [i for i in range(n) if arm_of[i] == a and i not in withdraws]
        sensitive |= set(_pick(rng, members, int(math.floor(alb_sensitive_fraction * count + 1e-9))))
    stayers = [i for i in range(n) if i not in withdraws]
    retest = set(_pick(rng, range(n), k))
    aqp4_missed = set(_pick(rng, stayers, k))
    # partial AE start dates: the last-enrolled subjects who stay to the end
    partial = set(stayers[-k:])
    return withdraws, sensitive, retest, aqp4_missed, partial


def allocate_subjects(design: StudyDesign, rng: np.random.Generator, alb_sensitive_fraction: float) -> pd.DataFrame:
    """One row per subject: identity, arm, site, demographics, first dose and special cases.

    Columns: ``idx`` (enrolment order), USUBJID, SITEID, ARMCD, ARM, dose_mg, ATTACK, AGE,
    SEX, height_cm, weight_kg, first_dose (datetime), withdraws, alb_sensitive, retest,
    aqp4_missed, partial_ae.
    """
    n = design.n_subjects
    low, high = design.arm_counts
    arm_of = np.array([0] * low + [1] * high)
    first = _first_doses(n, rng)
    sites = [SITES[i % len(SITES)] for i in rng.permutation(n)]
    ids = _subject_ids(design.studyid, sites)
    n_myelitis = round_half_up(5 * n / REFERENCE_N)
    attack = np.array(["OPTIC NEURITIS"] * n, dtype=object)
    attack[_pick(rng, range(n), n_myelitis)] = "MYELITIS"
    sex = np.where(rng.random(n) < 0.9, "F", "M")
    age = np.clip(np.round(rng.normal(42.0, 12.0, n)), 18, 70).astype(int)
    height = np.where(sex == "F", rng.normal(160.0, 6.0, n), rng.normal(171.0, 6.0, n))
    bmi = np.clip(rng.normal(23.0, 3.0, n), 17.0, 35.0)
    weight = bmi * (height / 100.0) ** 2

    withdraws, sensitive, retest, aqp4_missed, partial = _special_cases(design, arm_of, rng, alb_sensitive_fraction)
    return pd.DataFrame(
        {
            "idx": np.arange(n),
            "USUBJID": ids,
            "SITEID": sites,
            "ARMCD": [design.arms[a].armcd for a in arm_of],
            "ARM": [design.arms[a].label for a in arm_of],
            "dose_mg": [design.arms[a].dose_mg for a in arm_of],
            "ATTACK": attack,
            "AGE": age,
            "SEX": sex,
            "height_cm": np.round(height, 1),
            "weight_kg": np.round(weight, 1),
            "first_dose": pd.to_datetime(first),
            "withdraws": [i in withdraws for i in range(n)],
            "alb_sensitive": [i in sensitive for i in range(n)],
            "retest": [i in retest for i in range(n)],
            "aqp4_missed": [i in aqp4_missed for i in range(n)],
            "partial_ae": [i in partial for i in range(n)],
        }
    )


def study_date(first_dose: pd.Timestamp, day: int) -> pd.Timestamp:
    """Midnight of study day ``day`` (1 = first-dose day; no day 0)."""
    base = pd.Timestamp(first_dose).normalize()
    return base + pd.Timedelta(days=day - 1 if day > 0 else day)


def visit_plan(design: StudyDesign, subjects: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Planned scheduled visits: one row per subject and visit, before any dropout.

    Columns: USUBJID, VISIT, VISITNUM, avisitn, study_day, start (datetime of arrival: the
    pre-dose draw), dose_time (datetime of the planned batoclimab dose, NaT if none).
    On day 1 the dose is at the subject's ``first_dose`` and the visit starts 60-90 minutes
    earlier (labs, EDSS and the pre-dose PK sample come first).
    """
    rows = []
    for subj in subjects.itertuples(index=False):
        for v in design.visits:
            if v.avisitn < 0:
                day = int(rng.integers(SCREENING_DAYS[0], SCREENING_DAYS[1] + 1))
            else:
                day = v.day + int(rng.integers(-v.jitter, v.jitter + 1)) if v.jitter else v.day
            date = study_date(subj.first_dose, day)
            if v.avisitn == 0:
                dose = pd.Timestamp(subj.first_dose)
                start = dose - pd.Timedelta(minutes=int(rng.integers(12, 19)) * 5)
            else:
                start = date + pd.Timedelta(hours=7, minutes=int(rng.integers(6, 19)) * 5)
                dose = (
                    start + pd.Timedelta(minutes=int(rng.integers(12, 19)) * 5) if "DOSE" in v.assessments else pd.NaT
                )
            rows.append(
                {
                    "USUBJID": subj.USUBJID,
                    "VISIT": v.name,
                    "VISITNUM": v.visitnum,
                    "avisitn": v.avisitn,
                    "study_day": day,
                    "start": start,
                    "dose_time": dose,
                }
            )
    return pd.DataFrame(rows)
