"""Adverse events and disposition of the simulated study.

AEs come from two sources:

* **laboratory-driven** (from the simulated, reported lab values): ``Hypoalbuminaemia`` when an
  albumin result is < 30 g/L (CTCAE grade 2; grade 3 below 20 g/L) -- ``AEACN = DRUG WITHDRAWN``
  when it stopped the treatment (the protocol rule of the simulator), ``DOSE NOT CHANGED`` /
  ``NOT APPLICABLE`` otherwise; ``Hypercholesterolaemia`` when total cholesterol exceeds the
  site's upper limit of normal and is >= 20% above baseline (grade 1, grade 2 above 7.75 mmol/L).
  Both are RELATED; they start on the date of the first abnormal result and end on the date of
  the first later result back in range (empty = ongoing at the last contact);
* **background mild AEs** (grade 1, never serious) with per-subject / per-dose probabilities:
  injection-site reaction, headache, upper respiratory tract infection, influenza-like illness,
  rash (MedDRA preferred terms and system organ classes). The subjects flagged ``partial_ae``
  get an upper respiratory tract infection between the week-20 and week-27 visits whose start
  date the patient only recalls to the month (``AESTDTC = YYYY-MM``).

No AE is serious (AESER = N) and nobody dies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fcrnpipe.simulate.labs import ALB_GRADE2, CHOL_GRADE2

SOC_GENERAL = "General disorders and administration site conditions"
SOC_METABOLISM = "Metabolism and nutrition disorders"


@dataclass(frozen=True)
class BackgroundAE:
    """A mild AE drawn at random: per dose (``per_dose``) or once per subject."""

    decod: str
    bodsys: str
    terms: tuple[str, ...]
    probability: float
    per_dose: bool
    onset_days: tuple[int, int]  # after the dose (per_dose) or study days (per subject)
    duration_days: tuple[int, int]
    relation: tuple[str, ...]


BACKGROUND_AES: tuple[BackgroundAE, ...] = (
    BackgroundAE(
        "Injection site reaction",
        SOC_GENERAL,
        ("injection site erythema", "pain at injection site"),
        0.10,
        True,
        (0, 1),
        (1, 3),
        ("RELATED",),
    ),
    BackgroundAE(
        "Influenza like illness", SOC_GENERAL, ("flu-like symptoms",), 0.05, True, (0, 1), (1, 3), ("POSSIBLY RELATED",)
    ),
    BackgroundAE(
        "Headache",
        "Nervous system disorders",
        ("headache",),
        0.25,
        False,
        (1, 10),
        (1, 2),
        ("POSSIBLY RELATED", "UNLIKELY RELATED"),
    ),
    BackgroundAE(
        "Upper respiratory tract infection",
        "Infections and infestations",
        ("common cold", "upper respiratory infection"),
        0.25,
        False,
        (10, 180),
        (5, 10),
        ("NOT RELATED", "UNLIKELY RELATED"),
    ),
    BackgroundAE(
        "Rash",
        "Skin and subcutaneous tissue disorders",
        ("rash", "skin rash"),
        0.12,
        False,
        (2, 30),
        (3, 10),
        ("POSSIBLY RELATED",),
    ),
)

AE_COLUMNS = [
    "USUBJID",
    "AETERM",
    "AEDECOD",
    "AEBODSYS",
    "start",
    "partial_start",
    "end",
    "AETOXGR",
    "AESER",
    "AEREL",
    "AEACN",
]


def _action(start: pd.Timestamp, last_dose: pd.Timestamp, on_treatment_end: pd.Timestamp | None) -> str:
    """AEACN for an AE that did not stop the drug: DOSE NOT CHANGED while doses remain, else NOT APPLICABLE."""
    if on_treatment_end is not None and start.normalize() < on_treatment_end.normalize():
        return "DOSE NOT CHANGED"
    return "NOT APPLICABLE"


def _abnormal(test: str, post: pd.DataFrame, base_rows: pd.DataFrame) -> pd.Series | None:
    """Which post-dose values of ``test`` are abnormal: albumin below grade 2; cholesterol above
    the ULN and at least 1.2 x the last baseline value (None without a baseline value)."""
    if test == "ALB":
        return post["value_std"] < ALB_GRADE2
    if base_rows.empty:
        return None
    base = float(base_rows["value_std"].iloc[-1])
    return (post["value_std"] > post["uln_std"]) & (post["value_std"] >= 1.2 * base)


def _lab_event(subject: str, test: str, s: pd.Series, post: pd.DataFrame, abnormal: pd.Series) -> tuple:
    """The AE (a row of :data:`AE_COLUMNS`) of a subject's abnormal ``test`` values: from the
    first abnormal value to the next normal one (ongoing if none), graded on the worst value;
    ``s``: the subject's row of the subject table."""
    first = post[abnormal].iloc[0]
    after = post[post["time"] > first["time"]]
    back = after[~abnormal.loc[after.index]]
    end = back["time"].iloc[0].normalize() if not back.empty else pd.NaT
    worst = post[abnormal]["value_std"]
    if test == "ALB":
        grade = 3 if float(worst.min()) < 20.0 else 2
        stopped = pd.notna(s["disc_time"]) and first["time"].normalize() == pd.Timestamp(s["disc_time"]).normalize()
        action = "DRUG WITHDRAWN" if stopped else _action(first["time"], s["last_dose"], s["treatment_end"])
        term, decod = "hypoalbuminemia", "Hypoalbuminaemia"
    else:
        grade = 2 if float(worst.max()) > CHOL_GRADE2 else 1
        action = _action(first["time"], s["last_dose"], s["treatment_end"])
        term, decod = "increased cholesterol", "Hypercholesterolaemia"
    return (subject, term, decod, SOC_METABOLISM, first["time"].normalize(), "", end, grade, "N", "RELATED", action)


def lab_events(subjects: pd.DataFrame, labs: pd.DataFrame) -> pd.DataFrame:
    """Hypoalbuminaemia and hypercholesterolaemia AEs from the reported lab values.

    ``subjects``: USUBJID, last_dose, treatment_end (date the subject stopped or finished
    treatment: the discontinuation visit or the last dose), disc_time (NaT unless the treatment
    was stopped for hypoalbuminaemia), last_contact. ``labs``: USUBJID, LBTESTCD, time,
    value_std (standard units, as reported), uln_std, baseline (bool).
    """
    rows = []
    info = subjects.set_index("USUBJID")
    for (subject, test), grp in labs[labs["LBTESTCD"].isin(["ALB", "CHOL"])].groupby(
        ["USUBJID", "LBTESTCD"], sort=True
    ):
        s = info.loc[subject]
        grp = grp.sort_values("time", kind="stable")
        base_rows = grp[grp["baseline"]]
        post = grp[~grp["baseline"] & (grp["time"] > s["first_dose"])]
        if post.empty:
            continue
        abnormal = _abnormal(test, post, base_rows)
        if abnormal is None or not abnormal.any():
            continue
        rows.append(_lab_event(subject, test, s, post, abnormal))
    return pd.DataFrame(rows, columns=AE_COLUMNS)


def background_events(
    subjects: pd.DataFrame, doses: pd.DataFrame, visits: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Mild AEs (see :data:`BACKGROUND_AES`) and the partial-date infections.

    ``subjects``: USUBJID, first_dose, last_dose, treatment_end, last_contact, partial_ae.
    ``doses``: USUBJID, time (batoclimab doses given). ``visits``: USUBJID, avisitn, start
    (visits that took place). AEs that would start after the last contact are dropped; those
    that would end after it are ongoing (empty end).
    """
    rows = []
    dose_times = {k: sorted(g["time"]) for k, g in doses.groupby("USUBJID", sort=True)}
    visit_start = {(r.USUBJID, r.avisitn): r.start for r in visits.itertuples(index=False)}
    for s in subjects.sort_values("USUBJID").itertuples(index=False):
        first_date = pd.Timestamp(s.first_dose).normalize()
        for ae in BACKGROUND_AES:
            anchors = dose_times.get(s.USUBJID, []) if ae.per_dose else [pd.Timestamp(s.first_dose)]
            for anchor in anchors:
                # draw every random number whether or not the AE happens: stable streams
                hit = rng.random() < ae.probability
                onset = int(rng.integers(ae.onset_days[0], ae.onset_days[1] + 1))
                duration = int(rng.integers(ae.duration_days[0], ae.duration_days[1] + 1))
                term = ae.terms[int(rng.integers(0, len(ae.terms)))]
                relation = ae.relation[int(rng.integers(0, len(ae.relation)))]
                if not hit:
                    continue
                start = (
                    (pd.Timestamp(anchor).normalize() + pd.Timedelta(days=onset))
                    if ae.per_dose
                    else first_date + pd.Timedelta(days=onset - 1)
                )
                if start > pd.Timestamp(s.last_contact):
                    continue
                end = start + pd.Timedelta(days=duration)
                end = end if end <= pd.Timestamp(s.last_contact) else pd.NaT
                action = _action(start, s.last_dose, s.treatment_end)
                rows.append((s.USUBJID, term, ae.decod, ae.bodsys, start, "", end, 1, "N", relation, action))
        if s.partial_ae and (s.USUBJID, 20) in visit_start and (s.USUBJID, 27) in visit_start:
            lo = pd.Timestamp(visit_start[(s.USUBJID, 20)]).normalize() + pd.Timedelta(days=1)
            hi = pd.Timestamp(visit_start[(s.USUBJID, 27)]).normalize() - pd.Timedelta(days=10)
            span = max(int((hi - lo).days), 0)
            start = lo + pd.Timedelta(days=int(rng.integers(0, span + 1)))
            end = start + pd.Timedelta(days=int(rng.integers(5, 9)))
            rows.append(
                (
                    s.USUBJID,
                    "cold",
                    "Upper respiratory tract infection",
                    "Infections and infestations",
                    start,
                    start.strftime("%Y-%m"),
                    end,
                    1,
                    "N",
                    "NOT RELATED",
                    "NOT APPLICABLE",
                )
            )
    return pd.DataFrame(rows, columns=AE_COLUMNS)


def disposition(subjects: pd.DataFrame) -> pd.DataFrame:
    """Two DS records per subject (STUDY TREATMENT, STUDY PARTICIPATION).

    ``subjects``: USUBJID, withdraws, disc_time (hypoalbuminaemia stop, NaT if none),
    last_dose, last_contact. Completers: COMPLETED/COMPLETED (treatment on the last-dose date,
    participation on the last visit); hypoalbuminaemia: ADVERSE EVENT on the stopping visit,
    then COMPLETED participation; withdrawals: WITHDRAWAL BY SUBJECT for both on the last contact.
    """
    rows = []
    for s in subjects.sort_values("USUBJID").itertuples(index=False):
        end = pd.Timestamp(s.last_contact).normalize()
        if s.withdraws:
            rows.append((s.USUBJID, "STUDY TREATMENT", "WITHDRAWAL BY SUBJECT", "WITHDRAWAL BY SUBJECT", end))
            rows.append((s.USUBJID, "STUDY PARTICIPATION", "WITHDRAWAL BY SUBJECT", "WITHDRAWAL BY SUBJECT", end))
            continue
        if pd.notna(s.disc_time):
            rows.append(
                (
                    s.USUBJID,
                    "STUDY TREATMENT",
                    "ADVERSE EVENT",
                    "HYPOALBUMINAEMIA",
                    pd.Timestamp(s.disc_time).normalize(),
                )
            )
        else:
            rows.append((s.USUBJID, "STUDY TREATMENT", "COMPLETED", "COMPLETED", pd.Timestamp(s.last_dose).normalize()))
        rows.append((s.USUBJID, "STUDY PARTICIPATION", "COMPLETED", "COMPLETED", end))
    return pd.DataFrame(rows, columns=["USUBJID", "DSSCAT", "DSDECOD", "DSTERM", "date"])
