"""A realistic data cut: the analysed records plus what real SDTM exports carry besides them.

:func:`simulate_realistic` builds on :func:`~fcrnpipe.simulate.study.simulate_study` (the
mechanistic model of the analysed tests) and adds the shape of a real export, so that the
validation stage can be exercised and benchmarked on it:

* a **placebo arm** (ARMCD ``PBO``, dose 0, about a quarter of the subjects): simulated by the
  same model with 0 mg doses, EXTRT ``PLACEBO``, EXDOSE 0 (concentrations below the LLOQ);
* **screen failures** (about 10 % more subjects): ARMCD ``SCRNFAIL``, no RFSTDTC, screening labs,
  vital signs and EDSS, a ``SCREEN FAILURE`` disposition event;
* DM with ``BRTHDTC`` (partial, ``YYYY-MM``), ``RFENDTC`` = last dose date and ``RFPENDTC`` = end
  of participation (so follow-up visits after RFENDTC + 30 days stay in the study period);
* DS **protocol milestones** (``INFORMED CONSENT OBTAINED``, ``RANDOMIZED``; DSCAT ``PROTOCOL
  MILESTONE``);
* LB **other panels** at every lab visit: haematology (LBSPEC BLOOD), more chemistry (incl. HDL,
  triglycerides, creatinine, which the unit table knows), **categorical urinalysis** (LBSPEC URINE:
  COLOR, PROT ``NEGATIVE``/``TRACE``/``1+``, ..., and urine creatinine); AQP4-IgG titres in the
  unit spelled ``titer`` at site 103;
* VS **blood pressure and pulse** supine and standing (VSPOS; both with the same VSDTC, as CRFs
  record them) at time points (VSTPT/VSTPTNUM, pre dose and 2 h after on dosing visits),
  temperature and respiratory rate, with seconds in VSDTC;
  weight in ``LB`` and height in ``in`` (CDISC unit terms) at site 102; VSSEQ;
* QS a **second instrument** (MSQOL-54: 54 items and 14 scale scores, QSCAT ``MSQOL-54``) at every
  lab visit, QSSEQ;
* AE with **AESEV** (mild/moderate/severe) instead of AETOXGR;
* PC ``<BLQ`` at site 103.

With 300 subjects: about 100,000 LB, 40,000 VS and 250,000 QS records. Everything added is valid
SDTM; the validation stage sets the unused records aside with notices. Every random draw comes
from generators seeded by ``seed`` (``numpy.random.SeedSequence``), so a cut is reproducible.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.simulate.study import simulate_study

#: The placebo arm added to the config's arms (dose 0).
PLACEBO_ARM: dict[str, Any] = {"armcd": "PBO", "label": "Placebo", "dose_mg": 0, "color": "#7f7f7f"}
PLACEBO_TRT = "PLACEBO"
#: Subject numbers of the placebo subjects and the screen failures start here (per site).
PLACEBO_NUMBER_OFFSET = 500
SCREEN_FAILURE_NUMBER_OFFSET = 900

#: Extra lab tests: (LBCAT, LBSPEC, LBTESTCD, LBTEST, unit, mean, sd, decimals, lo, hi).
NUMERIC_PANEL: tuple[tuple[str, str, str, str, str, float, float, int, str, str], ...] = (
    ("HEMATOLOGY", "BLOOD", "HGB", "Hemoglobin", "g/L", 132.0, 12.0, 0, "115", "155"),
    ("HEMATOLOGY", "BLOOD", "HCT", "Hematocrit", "%", 40.0, 3.5, 1, "35.0", "45.0"),
    ("HEMATOLOGY", "BLOOD", "RBC", "Erythrocytes", "10^12/L", 4.5, 0.4, 2, "3.80", "5.10"),
    ("HEMATOLOGY", "BLOOD", "WBC", "Leukocytes", "10^9/L", 7.5, 2.0, 2, "3.50", "9.50"),
    ("HEMATOLOGY", "BLOOD", "NEUT", "Neutrophils", "10^9/L", 4.8, 1.5, 2, "1.80", "6.30"),
    ("HEMATOLOGY", "BLOOD", "LYM", "Lymphocytes", "10^9/L", 1.9, 0.5, 2, "1.10", "3.20"),
    ("HEMATOLOGY", "BLOOD", "PLAT", "Platelets", "10^9/L", 250.0, 55.0, 0, "125", "350"),
    ("CHEMISTRY", "SERUM", "AST", "Aspartate Aminotransferase", "U/L", 22.0, 6.0, 0, "13", "35"),
    ("CHEMISTRY", "SERUM", "ALP", "Alkaline Phosphatase", "U/L", 70.0, 18.0, 0, "35", "100"),
    ("CHEMISTRY", "SERUM", "BILI", "Bilirubin", "umol/L", 11.0, 4.0, 1, "3.4", "20.5"),
    ("CHEMISTRY", "SERUM", "CREAT", "Creatinine", "umol/L", 65.0, 12.0, 0, "41", "81"),
    ("CHEMISTRY", "SERUM", "UREA", "Urea Nitrogen", "mmol/L", 5.0, 1.2, 1, "2.6", "7.5"),
    ("CHEMISTRY", "SERUM", "SODIUM", "Sodium", "mmol/L", 140.0, 2.5, 0, "137", "147"),
    ("CHEMISTRY", "SERUM", "K", "Potassium", "mmol/L", 4.2, 0.35, 1, "3.5", "5.3"),
    ("CHEMISTRY", "SERUM", "GLUC", "Glucose", "mmol/L", 5.2, 0.8, 1, "3.9", "6.1"),
    ("CHEMISTRY", "SERUM", "HDL", "HDL Cholesterol", "mmol/L", 1.4, 0.3, 2, "1.04", ""),
    ("CHEMISTRY", "SERUM", "TRIG", "Triglycerides", "mmol/L", 1.3, 0.5, 2, "", "1.70"),
    ("URINALYSIS", "URINE", "PH", "pH", "", 6.0, 0.6, 1, "4.5", "8.0"),
    ("URINALYSIS", "URINE", "SPGRAV", "Specific Gravity", "", 1.018, 0.006, 3, "1.005", "1.030"),
    ("URINALYSIS", "URINE", "CREAT", "Creatinine", "mmol/L", 9.0, 4.0, 1, "", ""),
)
#: Categorical urinalysis: (LBTESTCD, LBTEST, results, probabilities).
URINE_TERMS: tuple[tuple[str, str, tuple[str, ...], tuple[float, ...]], ...] = (
    ("COLOR", "Color", ("YELLOW", "STRAW", "N", "AMBER"), (0.55, 0.25, 0.15, 0.05)),
    ("PROT", "Protein", ("NEGATIVE", "TRACE", "1+"), (0.85, 0.12, 0.03)),
    ("GLUC", "Glucose", ("NEGATIVE", "TRACE"), (0.97, 0.03)),
    ("KETONES", "Ketones", ("NEGATIVE", "TRACE"), (0.95, 0.05)),
    ("OCCBLD", "Occult Blood", ("NEGATIVE", "TRACE", "1+"), (0.88, 0.09, 0.03)),
)
#: Vital signs besides weight/height: (VSTESTCD, VSTEST, unit, mean, sd, decimals, by position).
VITALS: tuple[tuple[str, str, str, float, float, int, bool], ...] = (
    ("SYSBP", "Systolic Blood Pressure", "mmHg", 121.0, 12.0, 0, True),
    ("DIABP", "Diastolic Blood Pressure", "mmHg", 77.0, 8.0, 0, True),
    ("PULSE", "Pulse Rate", "beats/min", 72.0, 9.0, 0, True),
    ("TEMP", "Temperature", "C", 36.6, 0.3, 1, False),
    ("RESP", "Respiratory Rate", "breaths/min", 15.0, 2.0, 0, False),
)
QS_INSTRUMENT = "MSQOL-54"
QS_ITEMS = 54
QS_SCALES = 14


@dataclass(frozen=True)
class RealisticCut:
    """The raw exports and how they were composed."""

    tables: dict[str, pd.DataFrame]
    n_active: int
    n_placebo: int
    n_screen_failures: int
    seed: int

    def counts(self) -> dict[str, int]:
        """Rows per domain."""
        return {d: int(len(t)) for d, t in self.tables.items()}


def realistic_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with the placebo arm added to ``study.arms`` (unless it has a dose-0 arm)."""
    out = copy.deepcopy(dict(config))
    arms = list(out["study"]["arms"])
    if not any(float(a["dose_mg"]) == 0 for a in arms):
        arms.append(dict(PLACEBO_ARM))
    out["study"]["arms"] = arms
    out["study"]["placebo"] = PLACEBO_TRT
    return out


def config_overlay(config: Mapping[str, Any], label: str) -> dict[str, Any]:
    """The config keys a realistic cut needs on top of config/config.yaml (arms with the placebo arm)."""
    cfg = realistic_config(config)
    return {"data_cut": label, "study": {"arms": cfg["study"]["arms"], "placebo": PLACEBO_TRT}}


def _renumber(tables: dict[str, pd.DataFrame], offset: int) -> dict[str, pd.DataFrame]:
    """USUBJID ``<study>-<site>-<n>`` -> ``<study>-<site>-<n + offset>`` (and SUBJID) in every table."""
    out = {}
    for d, t in tables.items():
        t = t.copy()
        parts = t["USUBJID"].str.rsplit("-", n=2, expand=True)
        num = parts[2].astype(int) + offset
        t["USUBJID"] = parts[0] + "-" + parts[1] + "-" + num.map("{:03d}".format)
        if d == "dm" and "SUBJID" in t.columns:
            t["SUBJID"] = parts[1] + num.map("{:03d}".format)
        out[d] = t
    return out


def _placebo(tables: dict[str, pd.DataFrame], treatment: str) -> dict[str, pd.DataFrame]:
    """Doses of a 0 mg simulation as placebo administrations; arm PBO / Placebo."""
    out = dict(tables)
    ex = tables["ex"].copy()
    drug = ex["EXTRT"] == treatment
    ex.loc[drug, "EXTRT"] = PLACEBO_TRT
    ex.loc[drug, "EXDOSE"] = "0"
    out["ex"] = ex
    dm = tables["dm"].copy()
    dm["ARMCD"], dm["ARM"] = PLACEBO_ARM["armcd"], PLACEBO_ARM["label"]
    out["dm"] = dm
    return out


def _fmt(values: np.ndarray, decimals: int) -> pd.Series:
    return pd.Series(np.round(values, decimals)).map(f"{{:.{decimals}f}}".format)


def _site(usubjid: pd.Series) -> pd.Series:
    return usubjid.str.rsplit("-", n=2).str[1]


def _lab_visits(lb: pd.DataFrame) -> pd.DataFrame:
    """Scheduled lab visits (one row per subject and visit): USUBJID, VISIT, VISITNUM, LBDTC."""
    v = lb[(lb["LBTESTCD"] == "ALB") & ~lb["VISIT"].str.startswith("UNSCHEDULED")]
    return v[["USUBJID", "VISIT", "VISITNUM", "LBDTC"]].drop_duplicates(["USUBJID", "VISIT"]).reset_index(drop=True)


def _panels(visits: pd.DataFrame, rng: np.random.Generator, sid: str) -> pd.DataFrame:
    """The extra lab tests at every scheduled lab visit."""
    n = len(visits)
    parts = []
    for cat, spec, code, name, unit, mean, sd, dec, lo, hi in NUMERIC_PANEL:
        values = np.abs(rng.normal(mean, sd, n))
        parts.append(
            visits.assign(
                LBCAT=cat, LBSPEC=spec, LBTESTCD=code, LBTEST=name, LBORRES=_fmt(values, dec).to_numpy(),
                LBORRESU=unit, LBORNRLO=lo, LBORNRHI=hi,
            )
        )  # fmt: skip
    for code, name, results, probs in URINE_TERMS:
        parts.append(
            visits.assign(
                LBCAT="URINALYSIS", LBSPEC="URINE", LBTESTCD=code, LBTEST=name,
                LBORRES=rng.choice(np.array(results, dtype=object), size=n, p=np.array(probs)),
                LBORRESU="", LBORNRLO="", LBORNRHI="",
            )
        )  # fmt: skip
    out = pd.concat(parts, ignore_index=True)
    out["STUDYID"], out["DOMAIN"] = sid, "LB"
    return out


def _vitals(visits: pd.DataFrame, rng: np.random.Generator, sid: str, dosing_visits: set[str]) -> pd.DataFrame:
    """Blood pressure and pulse supine/standing at time points, temperature, respiratory rate."""
    base = visits.copy()
    base["_t"] = pd.to_datetime(base["LBDTC"]) + pd.Timedelta(minutes=10)
    rows = []
    for code, name, unit, mean, sd, dec, by_pos in VITALS:
        for pos in ("SUPINE", "STANDING") if by_pos else ("",):
            for tpt, tptnum, hours in (("PRE-DOSE", "0", 0), ("2 H POST-DOSE", "2", 2)):
                sel = base if hours == 0 else base[base["VISIT"].isin(dosing_visits)]
                if sel.empty:
                    continue
                standing = pos == "STANDING"
                shift = (5.0 if standing and code == "PULSE" else 0.0) - (3.0 if standing and code == "SYSBP" else 0.0)
                values = np.abs(rng.normal(mean + shift, sd, len(sel)))
                t = sel["_t"] + pd.Timedelta(hours=hours)  # supine and standing: one VSDTC, told apart by VSPOS
                rows.append(
                    pd.DataFrame(
                        {
                            "USUBJID": sel["USUBJID"].to_numpy(), "VSTESTCD": code, "VSTEST": name, "VSPOS": pos,
                            "VSORRES": _fmt(values, dec).to_numpy(), "VSORRESU": unit,
                            "VISITNUM": sel["VISITNUM"].to_numpy(), "VISIT": sel["VISIT"].to_numpy(),
                            "VSTPT": tpt, "VSTPTNUM": tptnum, "VSDTC": t.dt.strftime("%Y-%m-%dT%H:%M:%S").to_numpy(),
                        }
                    )
                )  # fmt: skip
    out = pd.concat(rows, ignore_index=True)
    out["STUDYID"], out["DOMAIN"] = sid, "VS"
    return out


def _questionnaire(visits: pd.DataFrame, rng: np.random.Generator, sid: str) -> pd.DataFrame:
    """MSQOL-54 items (1-6) and scale scores (0-100) at every scheduled lab visit."""
    n = len(visits)
    qsdtc = (pd.to_datetime(visits["LBDTC"]) + pd.Timedelta(minutes=30)).dt.strftime("%Y-%m-%dT%H:%M").to_numpy()
    parts = []
    for k in range(1, QS_ITEMS + 1):
        answers = rng.integers(1, 7, n)
        parts.append(
            pd.DataFrame({"USUBJID": visits["USUBJID"].to_numpy(), "QSTESTCD": f"MSQOL{k:02d}",
                          "QSTEST": f"MSQOL1-Item {k}", "QSORRES": answers.astype(str), "QSSTRESN": answers.astype(str),
                          "VISITNUM": visits["VISITNUM"].to_numpy(), "VISIT": visits["VISIT"].to_numpy(), "QSDTC": qsdtc})
        )  # fmt: skip
    for k in range(1, QS_SCALES + 1):
        score = _fmt(np.clip(rng.normal(62.0, 18.0, n), 0, 100), 1).to_numpy()
        parts.append(
            pd.DataFrame({"USUBJID": visits["USUBJID"].to_numpy(), "QSTESTCD": f"MSQOLS{k:02d}",
                          "QSTEST": f"MSQOL1-Scale Score {k}", "QSORRES": score, "QSSTRESN": score,
                          "VISITNUM": visits["VISITNUM"].to_numpy(), "VISIT": visits["VISIT"].to_numpy(), "QSDTC": qsdtc})
        )  # fmt: skip
    out = pd.concat(parts, ignore_index=True)
    out["STUDYID"], out["DOMAIN"], out["QSCAT"] = sid, "QS", QS_INSTRUMENT
    return out


def _screen_failures(
    n: int, sid: str, rng: np.random.Generator, start: pd.Timestamp, span_days: int
) -> dict[str, pd.DataFrame]:
    """Screen failures: DM, DS, and their screening LB, VS and QS records."""
    sites = ("101", "102", "103")
    ids = [f"{sid}-{sites[i % 3]}-{SCREEN_FAILURE_NUMBER_OFFSET + i // 3 + 1:03d}" for i in range(n)]
    consent = [start + pd.Timedelta(days=int(d)) for d in rng.integers(0, span_days, n)]
    age = np.clip(np.round(rng.normal(42.0, 12.0, n)), 18, 70).astype(int)
    sex = np.where(rng.random(n) < 0.9, "F", "M")
    dm = pd.DataFrame(
        {
            "STUDYID": sid, "DOMAIN": "DM", "USUBJID": ids, "SUBJID": [u.rsplit("-", 2)[-2] + u.rsplit("-", 1)[-1] for u in ids],
            "SITEID": [u.rsplit("-", 2)[-2] for u in ids], "AGE": age.astype(str), "AGEU": "YEARS", "SEX": sex,
            "RACE": "ASIAN", "ETHNIC": "NOT HISPANIC OR LATINO", "COUNTRY": "CHN", "ARMCD": "SCRNFAIL",
            "ARM": "Screen Failure", "RFICDTC": [c.strftime("%Y-%m-%d") for c in consent], "RFSTDTC": "", "RFENDTC": "",
            "RFPENDTC": [(c + pd.Timedelta(days=3)).strftime("%Y-%m-%d") for c in consent], "ATTACK": "",
        }
    )  # fmt: skip
    day = [c.strftime("%Y-%m-%d") for c in consent]
    end = [(c + pd.Timedelta(days=3)).strftime("%Y-%m-%d") for c in consent]
    ds = pd.DataFrame(
        {
            "STUDYID": sid, "DOMAIN": "DS", "USUBJID": ids * 2,
            "DSSCAT": [""] * n + ["STUDY PARTICIPATION"] * n,
            "DSCAT": ["PROTOCOL MILESTONE"] * n + ["DISPOSITION EVENT"] * n,
            "DSDECOD": ["INFORMED CONSENT OBTAINED"] * n + ["SCREEN FAILURE"] * n,
            "DSTERM": ["INFORMED CONSENT OBTAINED"] * n + ["AQP4-IGG SEROSTATUS NOT CONFIRMED"] * n,
            "DSSTDTC": day + end,
        }
    )  # fmt: skip
    t = [(c + pd.Timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M") for c in consent]
    lb_rows = []
    for code, name, unit, mean, sd, dec, lo, hi in (
        ("IGG", "Immunoglobulin G", "g/L", 11.0, 2.5, 2, "7.0", "16.0"),
        ("ALB", "Albumin", "g/L", 43.0, 3.0, 1, "35", "50"),
    ):
        lb_rows.append(
            pd.DataFrame({"USUBJID": ids, "LBTESTCD": code, "LBTEST": name, "LBCAT": "CHEMISTRY", "LBSPEC": "SERUM",
                          "LBORRES": _fmt(np.abs(rng.normal(mean, sd, n)), dec).to_numpy(), "LBORRESU": unit,
                          "LBORNRLO": lo, "LBORNRHI": hi, "VISITNUM": "1", "VISIT": "SCREENING", "LBDTC": t})
        )  # fmt: skip
    lb = pd.concat(lb_rows, ignore_index=True).assign(STUDYID=sid, DOMAIN="LB")
    vs = pd.DataFrame({"USUBJID": ids, "VSTESTCD": "WEIGHT", "VSTEST": "Weight",
                       "VSORRES": _fmt(np.abs(rng.normal(62.0, 9.0, n)), 1).to_numpy(), "VSORRESU": "kg",
                       "VISITNUM": "1", "VISIT": "SCREENING", "VSDTC": [s + ":00" for s in t]}).assign(STUDYID=sid, DOMAIN="VS")  # fmt: skip
    qs = pd.DataFrame({"USUBJID": ids, "QSCAT": "EDSS", "QSTESTCD": "EDSS", "QSTEST": "Expanded Disability Status Scale score",
                       "QSORRES": _fmt(np.round(rng.uniform(1.0, 7.0, n) * 2) / 2, 1).to_numpy(), "VISITNUM": "1",
                       "VISIT": "SCREENING", "QSDTC": t}).assign(STUDYID=sid, DOMAIN="QS")  # fmt: skip
    return {"dm": dm, "ds": ds, "lb": lb, "vs": vs, "qs": qs}


def _seq(df: pd.DataFrame, name: str, order: list[str]) -> pd.DataFrame:
    """Sort by ``order`` (stable) and number the records 1.. per subject in ``name``."""
    out = df.sort_values(order, kind="mergesort").reset_index(drop=True)
    out[name] = (out.groupby("USUBJID", sort=False).cumcount() + 1).astype(str)
    return out


def _columns(df: pd.DataFrame, first: list[str]) -> pd.DataFrame:
    cols = [c for c in first if c in df.columns] + [c for c in df.columns if c not in first]
    return df[cols].fillna("").astype(str)


def _arm_sizes(n_subjects: int, placebo_fraction: float, screen_failure_fraction: float) -> tuple[int, int, int]:
    """Active and placebo subjects (at least two active, one placebo) and screen failures
    (at least one) of a realistic cut.

    >>> _arm_sizes(300, 0.25, 0.10), _arm_sizes(3, 0.9, 0.1)
    ((225, 75, 30), (2, 1, 1))
    """
    if n_subjects < 3:
        raise ValueError("a realistic cut needs at least 3 subjects (two active, one placebo)")
    n_placebo = max(1, int(round(n_subjects * placebo_fraction)))
    n_active = n_subjects - n_placebo
    if n_active < 2:
        n_active, n_placebo = 2, n_subjects - 2
    return n_active, n_placebo, max(1, int(round(n_subjects * screen_failure_fraction)))


def _dm_dates(dm: pd.DataFrame, ex: pd.DataFrame, ds: pd.DataFrame, treatment: str,
              rng: np.random.Generator) -> pd.DataFrame:
    """DM with the end of exposure (RFENDTC: last dose of the study drug or placebo), end of
    participation (RFPENDTC) and a partial birth date (BRTHDTC, month drawn from ``rng``)."""
    dosed = ex[ex["EXTRT"].isin([treatment, PLACEBO_TRT])]
    last_dose = dosed.assign(d=dosed["EXSTDTC"].str[:10]).groupby("USUBJID")["d"].max()
    end_part = ds[ds["DSSCAT"] == "STUDY PARTICIPATION"].set_index("USUBJID")["DSSTDTC"]
    dm = dm.copy()
    dm["RFENDTC"] = dm["USUBJID"].map(last_dose).fillna("")
    dm["RFPENDTC"] = dm["USUBJID"].map(end_part).fillna(dm["RFENDTC"])
    years = pd.to_datetime(dm["RFICDTC"]).dt.year - dm["AGE"].astype(int) - 1
    months = rng.integers(1, 13, len(dm))
    dm["BRTHDTC"] = years.astype(str) + "-" + pd.Series(months).map("{:02d}".format).to_numpy()
    return dm


def _milestones(dm: pd.DataFrame, sid: str) -> pd.DataFrame:
    """DS protocol milestones: informed consent and randomisation of each subject."""
    return pd.concat(
        [
            dm[["USUBJID"]].assign(DSDECOD="INFORMED CONSENT OBTAINED", DSSTDTC=dm["RFICDTC"]),
            dm[["USUBJID"]].assign(DSDECOD="RANDOMIZED", DSSTDTC=dm["RFSTDTC"].str[:10]),
        ],
        ignore_index=True,
    ).assign(STUDYID=sid, DOMAIN="DS", DSSCAT="", DSCAT="PROTOCOL MILESTONE", DSTERM=lambda d: d["DSDECOD"])


def _imperial_site(vs: pd.DataFrame) -> pd.DataFrame:
    """VS with weight in pounds and height in inches at site 102."""
    vs = vs.copy()
    site102 = _site(vs["USUBJID"]) == "102"
    w = site102 & (vs["VSTESTCD"] == "WEIGHT")
    h = site102 & (vs["VSTESTCD"] == "HEIGHT")
    vs.loc[w, "VSORRES"] = _fmt(vs.loc[w, "VSORRES"].astype(float).to_numpy() / 0.45359237, 1).to_numpy()
    vs.loc[w, "VSORRESU"] = "LB"
    vs.loc[h, "VSORRES"] = _fmt(vs.loc[h, "VSORRES"].astype(float).to_numpy() / 2.54, 1).to_numpy()
    vs.loc[h, "VSORRESU"] = "in"
    return vs


def _with_severity(ae: pd.DataFrame) -> pd.DataFrame:
    """AE with the severity (AESEV) in place of the CTCAE grade (AETOXGR)."""
    ae = ae.copy()
    grade = ae["AETOXGR"].astype(int)
    ae.insert(
        ae.columns.get_loc("AETOXGR"), "AESEV", np.where(grade >= 3, "SEVERE", np.where(grade == 2, "MODERATE", "MILD"))
    )
    return ae.drop(columns=["AETOXGR"])


def _cut_tables(d: Mapping[str, pd.DataFrame], active: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The exports of a realistic cut as text, sorted and numbered (``--SEQ``), with the columns
    of the simulated study (``active``) first."""
    return {
        "dm": _columns(d["dm"].sort_values("USUBJID", kind="mergesort"), list(active["dm"].columns) + ["RFPENDTC", "BRTHDTC"]),
        "ex": _columns(d["ex"].sort_values("USUBJID", kind="mergesort"), list(active["ex"].columns)),
        "vs": _columns(_seq(d["vs"], "VSSEQ", ["USUBJID", "VSDTC", "VSTESTCD", "VSPOS"]), ["STUDYID", "DOMAIN", "USUBJID", "VSSEQ"]),
        "lb": _columns(_seq(d["lb"], "LBSEQ", ["USUBJID", "LBDTC", "LBCAT", "LBSPEC", "LBTESTCD"]), list(active["lb"].columns)),
        "pc": _columns(d["pc"].sort_values("USUBJID", kind="mergesort"), list(active["pc"].columns)),
        "qs": _columns(_seq(d["qs"], "QSSEQ", ["USUBJID", "QSDTC", "QSCAT", "QSTESTCD"]), ["STUDYID", "DOMAIN", "USUBJID", "QSSEQ"]),
        "ae": _columns(d["ae"].sort_values("USUBJID", kind="mergesort"), list(d["ae"].columns)),
        "ds": _columns(d["ds"].sort_values(["USUBJID", "DSCAT", "DSSTDTC"], kind="mergesort"), list(active["ds"].columns)),
    }  # fmt: skip


def simulate_realistic(
    config: Mapping[str, Any],
    n_subjects: int = 300,
    seed: int | None = None,
    units: pd.DataFrame | None = None,
    placebo_fraction: float = 0.25,
    screen_failure_fraction: float = 0.10,
) -> RealisticCut:
    """A realistic cut of ``n_subjects`` assigned subjects (plus screen failures); see the module doc."""
    n_active, n_placebo, n_sf = _arm_sizes(n_subjects, placebo_fraction, screen_failure_fraction)
    seed = int(config["seeds"]["simulation"] if seed is None else seed)
    study = config["study"]
    sid, treatment = str(study["studyid"]), str(study["treatment"])
    rng = {k: np.random.default_rng(s) for k, s in zip(("lb", "vs", "qs", "sf"), np.random.SeedSequence(seed).spawn(4))}

    active = simulate_study(config, n_active, seed=seed, allocation="even", units=units, condition=False).tables
    pbo_cfg = copy.deepcopy(dict(config))
    pbo_cfg["study"]["arms"] = [dict(PLACEBO_ARM), dict(PLACEBO_ARM)]
    placebo = simulate_study(pbo_cfg, n_placebo, seed=seed + 1, allocation="even", units=units, condition=False).tables
    placebo = _placebo(_renumber(placebo, PLACEBO_NUMBER_OFFSET), treatment)
    t = {d: pd.concat([active[d], placebo[d]], ignore_index=True) for d in active}
    dm = _dm_dates(t["dm"], t["ex"], t["ds"], treatment, rng["sf"])

    # LB, VS, QS additions at the scheduled lab visits
    visits = _lab_visits(t["lb"])
    lb = pd.concat([t["lb"], _panels(visits, rng["lb"], sid)], ignore_index=True)
    titre = (lb["LBTESTCD"] == "AQP4AB") & (_site(lb["USUBJID"]) == "103") & (lb["LBORRESU"] != "")
    lb.loc[titre, "LBORRESU"] = "titer"
    dose_visits = {str(v["name"]) for v in config["visits"] if int(v["day"]) in set(study["dosing_days"])}
    vs = pd.concat([_imperial_site(t["vs"]), _vitals(visits, rng["vs"], sid, dose_visits)], ignore_index=True)
    qs = pd.concat([t["qs"], _questionnaire(visits, rng["qs"], sid)], ignore_index=True)

    # PC: "<BLQ" at site 103
    pc = t["pc"].copy()
    pc.loc[(_site(pc["USUBJID"]) == "103") & (pc["PCORRES"] == "<LLOQ"), "PCORRES"] = "<BLQ"

    # screen failures
    first = pd.to_datetime(dm["RFICDTC"]).min()
    span = max(1, int((pd.to_datetime(dm["RFICDTC"]).max() - first).days))
    sf = _screen_failures(n_sf, sid, rng["sf"], first, span)
    tables = _cut_tables(
        {
            "dm": pd.concat([dm, sf["dm"]], ignore_index=True),
            "ex": t["ex"],
            "vs": pd.concat([vs, sf["vs"]], ignore_index=True),
            "lb": pd.concat([lb, sf["lb"]], ignore_index=True),
            "pc": pc,
            "qs": pd.concat([qs, sf["qs"]], ignore_index=True),
            "ae": _with_severity(t["ae"]),
            "ds": pd.concat([t["ds"], _milestones(dm, sid), sf["ds"]], ignore_index=True),
        },
        active,
    )
    return RealisticCut(tables=tables, n_active=n_active, n_placebo=n_placebo, n_screen_failures=n_sf, seed=seed)
