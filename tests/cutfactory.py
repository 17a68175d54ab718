"""A small but complete, valid data cut for tests (3 subjects, all 8 domains).

Use it from any test::

    from cutfactory import make_valid_cut, valid_cut_frames, write_cut

    raw = make_valid_cut(tmp_path / "raw")            # writes dm.csv ... ds.csv, returns the folder
    frames = valid_cut_frames()                         # dict domain -> DataFrame of text
    frames["ae"].loc[0, "AETOXGR"] = "7"                # break something
    write_cut(frames, tmp_path / "bad")                 # and write it (csv or fmt="xpt")

The cut follows docs/datasets.md section 1 and passes validation with config/config.yaml:

* BATO-101-001: 340 mg (BATO340), 4 weekly doses, completed; units g/L, mmol/L, kg, cm, ug/mL.
* BATO-101-002: 680 mg (BATO680), 4 doses, completed; IgG in mg/dL (incl. a censored ``<250``),
  albumin in g/dL, cholesterol in mg/dL, weight in lb, concentrations in mg/L, ``BLQ``;
  a partial AE start date (``2022-05``) with an empty end date (ongoing).
* BATO-102-003: 680 mg, 2 doses then DRUG WITHDRAWN for an AE, ongoing (empty RFENDTC, no
  STUDY PARTICIPATION record); height in inches, AQP4-IgG ``NEGATIVE``, ``<0.5`` concentration.

Every subject takes IV methylprednisolone 1000 mg on days 1-3 and has IgG at screening and
pre-dose on day 1. AQP4-IgG titres are ``1:100``-style. All values are text; empty = "".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

STUDYID = "NCT04227470"
SUBJECTS = ["BATO-101-001", "BATO-101-002", "BATO-102-003"]
DOMAINS = ["dm", "ex", "vs", "lb", "pc", "qs", "ae", "ds"]
NUMERIC_VARIABLES = [
    "AGE",
    "EXSEQ",
    "EXDOSE",
    "VSORRES",
    "LBSEQ",
    "VISITNUM",
    "PCSEQ",
    "PCLLOQ",
    "AESEQ",
    "AETOXGR",
]

# first batoclimab dose (= RFSTDTC) of each subject
_FIRST = {
    "BATO-101-001": datetime(2022, 3, 1, 9, 0),
    "BATO-101-002": datetime(2022, 4, 4, 10, 30),
    "BATO-102-003": datetime(2022, 5, 9, 9, 15),
}
_VISITNUM = {"SCREENING": "1", "DAY 1": "2", "WEEK 1": "3", "WEEK 4": "6"}


def _dt(subject: str, day: int, hour: int | None = None, minute: int = 0) -> str:
    """ISO text of study day ``day`` (1 = first dose day) of ``subject``; date only if no hour."""
    base = _FIRST[subject]
    when = base + timedelta(days=day - 1 if day > 0 else day)
    if hour is None:
        return when.strftime("%Y-%m-%d")
    return when.replace(hour=hour, minute=minute).strftime("%Y-%m-%dT%H:%M")


def _dose_time(subject: str, day: int) -> str:
    base = _FIRST[subject]
    return _dt(subject, day, base.hour, base.minute)


def _frame(rows: list[dict[str, str]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([[row.get(c, "") for c in columns] for row in rows], columns=columns, dtype=object)


def _dm() -> pd.DataFrame:
    cols = [
        "STUDYID",
        "USUBJID",
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
    ]
    base = {"STUDYID": STUDYID, "AGEU": "YEARS", "ETHNIC": "NOT HISPANIC OR LATINO", "COUNTRY": "CHN"}
    rows = [
        dict(
            base,
            USUBJID=SUBJECTS[0],
            SITEID="101",
            AGE="41",
            SEX="F",
            RACE="ASIAN",
            ARMCD="BATO340",
            ARM="Batoclimab 340 mg",
            RFICDTC="2022-02-25",
            RFSTDTC="2022-03-01T09:00",
            RFENDTC="2022-09-06",
            ATTACK="MYELITIS",
        ),
        dict(
            base,
            USUBJID=SUBJECTS[1],
            SITEID="101",
            AGE="35",
            SEX="F",
            RACE="ASIAN",
            ARMCD="BATO680",
            ARM="Batoclimab 680 mg",
            RFICDTC="2022-03-30",
            RFSTDTC="2022-04-04T10:30",
            RFENDTC="2022-10-10",
            ATTACK="OPTIC NEURITIS",
        ),
        dict(
            base,
            USUBJID=SUBJECTS[2],
            SITEID="102",
            AGE="52",
            SEX="M",
            RACE="ASIAN",
            ARMCD="BATO680",
            ARM="Batoclimab 680 mg",
            RFICDTC="2022-05-05",
            RFSTDTC="2022-05-09T09:15",
            RFENDTC="",
            ATTACK="AREA POSTREMA SYNDROME",
        ),
    ]
    return _frame(rows, cols)


def _ex() -> pd.DataFrame:
    cols = ["USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXDOSU", "EXROUTE", "EXSTDTC", "EXENDTC", "VISIT"]
    rows = []
    plan = {
        SUBJECTS[0]: ("340", [1, 8, 15, 22]),
        SUBJECTS[1]: ("680", [1, 8, 15, 22]),
        SUBJECTS[2]: ("680", [1, 8]),
    }
    visit = {1: "DAY 1", 2: "DAY 2", 3: "DAY 3", 8: "WEEK 1", 15: "WEEK 2", 22: "WEEK 3"}
    for subject in SUBJECTS:
        dose, days = plan[subject]
        records = [(d, "METHYLPREDNISOLONE", "1000", "INTRAVENOUS", _dt(subject, d, 12)) for d in (1, 2, 3)]
        records += [(d, "BATOCLIMAB", dose, "SUBCUTANEOUS", _dose_time(subject, d)) for d in days]
        records.sort(key=lambda r: (r[4], r[1]))
        for seq, (day, trt, mg, route, start) in enumerate(records, start=1):
            rows.append(
                dict(
                    USUBJID=subject,
                    EXSEQ=str(seq),
                    EXTRT=trt,
                    EXDOSE=mg,
                    EXDOSU="mg",
                    EXROUTE=route,
                    EXSTDTC=start,
                    EXENDTC=start,
                    VISIT=visit[day],
                )
            )
    return _frame(rows, cols)


def _vs() -> pd.DataFrame:
    cols = ["USUBJID", "VSTESTCD", "VSORRES", "VSORRESU", "VISIT", "VSDTC"]
    data = {
        SUBJECTS[0]: [("WEIGHT", "62.5", "kg"), ("HEIGHT", "165", "cm"), ("WEIGHT", "63.1", "kg")],
        SUBJECTS[1]: [("WEIGHT", "154.3", "lb"), ("HEIGHT", "170", "cm"), ("WEIGHT", "152.1", "lb")],
        SUBJECTS[2]: [("WEIGHT", "80.0", "kg"), ("HEIGHT", "68.5", "in"), ("WEIGHT", "78.4", "kg")],
    }
    rows = []
    for subject, records in data.items():
        for (test, value, unit), (visit, day) in zip(
            records, [("SCREENING", -3), ("SCREENING", -3), ("WEEK 4", 29)]
        ):
            rows.append(
                dict(
                    USUBJID=subject,
                    VSTESTCD=test,
                    VSORRES=value,
                    VSORRESU=unit,
                    VISIT=visit,
                    VSDTC=_dt(subject, day),
                )
            )
    return _frame(rows, cols)


def _lb() -> pd.DataFrame:
    cols = [
        "USUBJID",
        "LBSEQ",
        "LBTESTCD",
        "LBORRES",
        "LBORRESU",
        "LBORNRLO",
        "LBORNRHI",
        "LBSPEC",
        "VISIT",
        "VISITNUM",
        "LBDTC",
    ]
    ranges = {
        ("IGG", "g/L"): ("7.0", "16.0"),
        ("IGG", "mg/dL"): ("700", "1600"),
        ("ALB", "g/L"): ("35", "50"),
        ("ALB", "g/dL"): ("3.5", "5.0"),
        ("CHOL", "mmol/L"): ("", "5.2"),
        ("CHOL", "mg/dL"): ("", "200"),
        ("AQP4AB", "TITER"): ("", ""),
    }
    # (visit, day, hour) -> results per test; units per subject
    units = {
        SUBJECTS[0]: {"IGG": "g/L", "ALB": "g/L", "CHOL": "mmol/L", "AQP4AB": "TITER"},
        SUBJECTS[1]: {"IGG": "mg/dL", "ALB": "g/dL", "CHOL": "mg/dL", "AQP4AB": "TITER"},
        SUBJECTS[2]: {"IGG": "g/L", "ALB": "g/L", "CHOL": "mmol/L", "AQP4AB": "TITER"},
    }
    results = {
        SUBJECTS[0]: {
            "SCREENING": {"IGG": "10.2", "ALB": "42", "CHOL": "4.8", "AQP4AB": "1:100"},
            "DAY 1": {"IGG": "10.0", "ALB": "41", "CHOL": "4.7"},
            "WEEK 1": {"IGG": "7.1"},
            "WEEK 4": {"IGG": "6.0", "ALB": "38", "CHOL": "5.6", "AQP4AB": "1:40"},
        },
        SUBJECTS[1]: {
            "SCREENING": {"IGG": "1150", "ALB": "4.3", "CHOL": "185", "AQP4AB": "1:1000"},
            "DAY 1": {"IGG": "1120", "ALB": "4.2", "CHOL": "188"},
            "WEEK 1": {"IGG": "520"},
            "WEEK 4": {"IGG": "<250", "ALB": "3.6", "CHOL": "240", "AQP4AB": "1:320"},
        },
        SUBJECTS[2]: {
            "SCREENING": {"IGG": "9.4", "ALB": "40", "CHOL": "5.0", "AQP4AB": "NEGATIVE"},
            "DAY 1": {"IGG": "9.1", "ALB": "39", "CHOL": "5.1"},
            "WEEK 1": {"IGG": "4.0"},
            "WEEK 4": {"IGG": "5.2", "ALB": "31", "CHOL": "6.0", "AQP4AB": "NEGATIVE"},
        },
    }
    when = {"SCREENING": (-3, 8), "DAY 1": (1, 8), "WEEK 1": (8, 8), "WEEK 4": (29, 8)}
    rows = []
    for subject in SUBJECTS:
        seq = 0
        for visit in ("SCREENING", "DAY 1", "WEEK 1", "WEEK 4"):
            day, hour = when[visit]
            for test in ("IGG", "ALB", "CHOL", "AQP4AB"):
                if test not in results[subject][visit]:
                    continue
                seq += 1
                unit = units[subject][test]
                lo, hi = ranges[(test, unit)]
                rows.append(
                    dict(
                        USUBJID=subject,
                        LBSEQ=str(seq),
                        LBTESTCD=test,
                        LBORRES=results[subject][visit][test],
                        LBORRESU=unit,
                        LBORNRLO=lo,
                        LBORNRHI=hi,
                        LBSPEC="SERUM",
                        VISIT=visit,
                        VISITNUM=_VISITNUM[visit],
                        LBDTC=_dt(subject, day, hour),
                    )
                )
    return _frame(rows, cols)


def _pc() -> pd.DataFrame:
    cols = [
        "USUBJID",
        "PCSEQ",
        "PCTESTCD",
        "PCORRES",
        "PCORRESU",
        "PCLLOQ",
        "PCSPEC",
        "VISIT",
        "PCTPT",
        "PCDTC",
    ]
    values = {
        SUBJECTS[0]: (["<LLOQ", "18.5", "6.2", "9.1"], "ug/mL"),
        SUBJECTS[1]: (["BLQ", "41.0", "14.8", "22.3"], "mg/L"),
        SUBJECTS[2]: (["<LLOQ", "39.2", "12.5", "<0.5"], "ug/mL"),
    }
    times = [
        ("DAY 1", "PRE-DOSE", 1, -1),
        ("DAY 3", "48H POST-DOSE", 3, 0),
        ("WEEK 1", "PRE-DOSE", 8, -1),
        ("WEEK 4", "168H POST-DOSE", 29, 0),
    ]
    rows = []
    for subject in SUBJECTS:
        vals, unit = values[subject]
        base = _FIRST[subject]
        for seq, ((visit, tpt, day, shift), value) in enumerate(zip(times, vals), start=1):
            rows.append(
                dict(
                    USUBJID=subject,
                    PCSEQ=str(seq),
                    PCTESTCD="BATOCLIM",
                    PCORRES=value,
                    PCORRESU=unit,
                    PCLLOQ="0.5",
                    PCSPEC="SERUM",
                    VISIT=visit,
                    PCTPT=tpt,
                    PCDTC=_dt(subject, day, base.hour + shift, base.minute),
                )
            )
    return _frame(rows, cols)


def _qs() -> pd.DataFrame:
    cols = ["USUBJID", "QSTESTCD", "QSORRES", "VISIT", "VISITNUM", "QSDTC"]
    scores = {
        SUBJECTS[0]: ["6.5", "6.0", "4.5"],
        SUBJECTS[1]: ["4.0", "3.5", "2.0"],
        SUBJECTS[2]: ["7.0", "7.0", "6.5"],
    }
    rows = []
    for subject in SUBJECTS:
        for score, (visit, day) in zip(scores[subject], [("DAY 1", 1), ("WEEK 1", 8), ("WEEK 4", 29)]):
            rows.append(
                dict(
                    USUBJID=subject,
                    QSTESTCD="EDSS",
                    QSORRES=score,
                    VISIT=visit,
                    VISITNUM=_VISITNUM[visit],
                    QSDTC=_dt(subject, day),
                )
            )
    return _frame(rows, cols)


def _ae() -> pd.DataFrame:
    cols = [
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
    ]
    rows = [
        dict(
            USUBJID=SUBJECTS[0],
            AESEQ="1",
            AETERM="HEADACHE",
            AEDECOD="Headache",
            AEBODSYS="Nervous system disorders",
            AESTDTC="2022-03-02",
            AEENDTC="2022-03-03",
            AETOXGR="1",
            AESER="N",
            AEREL="POSSIBLY RELATED",
            AEACN="DOSE NOT CHANGED",
            AEOUT="RECOVERED/RESOLVED",
        ),
        dict(
            USUBJID=SUBJECTS[1],
            AESEQ="1",
            AETERM="COMMON COLD",
            AEDECOD="Nasopharyngitis",
            AEBODSYS="Infections and infestations",
            AESTDTC="2022-04-20",
            AEENDTC="2022-04-27",
            AETOXGR="1",
            AESER="N",
            AEREL="UNLIKELY RELATED",
            AEACN="DOSE NOT CHANGED",
            AEOUT="RECOVERED/RESOLVED",
        ),
        dict(
            USUBJID=SUBJECTS[1],
            AESEQ="2",
            AETERM="HIGH CHOLESTEROL",
            AEDECOD="Hypercholesterolaemia",
            AEBODSYS="Metabolism and nutrition disorders",
            AESTDTC="2022-05",
            AEENDTC="",
            AETOXGR="2",
            AESER="N",
            AEREL="PROBABLY RELATED",
            AEACN="NOT APPLICABLE",
            AEOUT="NOT RECOVERED/NOT RESOLVED",
        ),
        dict(
            USUBJID=SUBJECTS[2],
            AESEQ="1",
            AETERM="LOW ALBUMIN",
            AEDECOD="Hypoalbuminaemia",
            AEBODSYS="Metabolism and nutrition disorders",
            AESTDTC="2022-05-20",
            AEENDTC="2022-06-15",
            AETOXGR="2",
            AESER="N",
            AEREL="RELATED",
            AEACN="DRUG WITHDRAWN",
            AEOUT="RECOVERED/RESOLVED",
        ),
    ]
    return _frame(rows, cols)


def _ds() -> pd.DataFrame:
    cols = ["USUBJID", "DSCAT", "DSSCAT", "DSDECOD", "DSTERM", "DSSTDTC"]
    ev = "DISPOSITION EVENT"
    rows = [
        dict(
            USUBJID=SUBJECTS[0],
            DSCAT=ev,
            DSSCAT="STUDY TREATMENT",
            DSDECOD="COMPLETED",
            DSTERM="COMPLETED",
            DSSTDTC="2022-03-22",
        ),
        dict(
            USUBJID=SUBJECTS[0],
            DSCAT=ev,
            DSSCAT="STUDY PARTICIPATION",
            DSDECOD="COMPLETED",
            DSTERM="COMPLETED",
            DSSTDTC="2022-09-06",
        ),
        dict(
            USUBJID=SUBJECTS[1],
            DSCAT=ev,
            DSSCAT="STUDY TREATMENT",
            DSDECOD="COMPLETED",
            DSTERM="COMPLETED",
            DSSTDTC="2022-04-25",
        ),
        dict(
            USUBJID=SUBJECTS[1],
            DSCAT=ev,
            DSSCAT="STUDY PARTICIPATION",
            DSDECOD="COMPLETED",
            DSTERM="COMPLETED",
            DSSTDTC="2022-10-10",
        ),
        dict(
            USUBJID=SUBJECTS[2],
            DSCAT=ev,
            DSSCAT="STUDY TREATMENT",
            DSDECOD="ADVERSE EVENT",
            DSTERM="HYPOALBUMINAEMIA",
            DSSTDTC="2022-05-20",
        ),
    ]
    return _frame(rows, cols)


def valid_cut_frames() -> dict[str, pd.DataFrame]:
    """The valid cut as text tables (a fresh copy on every call; empty cell = "")."""
    return {
        "dm": _dm(),
        "ex": _ex(),
        "vs": _vs(),
        "lb": _lb(),
        "pc": _pc(),
        "qs": _qs(),
        "ae": _ae(),
        "ds": _ds(),
    }


def write_cut(frames: dict[str, pd.DataFrame], dest: str | Path, fmt: str = "csv") -> Path:
    """Write ``frames`` as ``<domain>.csv`` (UTF-8, comma, '\\n') or ``<domain>.xpt`` into ``dest``.

    For XPT, variables of :data:`NUMERIC_VARIABLES` become SAS numerics (empty -> missing).
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for domain, frame in frames.items():
        if fmt == "csv":
            frame.to_csv(dest / f"{domain}.csv", index=False, lineterminator="\n", encoding="utf-8")
        elif fmt == "xpt":
            import pyreadstat

            out = frame.copy()
            for col in out.columns:
                if col in NUMERIC_VARIABLES:
                    out[col] = pd.to_numeric(out[col].replace("", None), errors="raise").astype("float64")
                else:
                    out[col] = out[col].fillna("").astype(str)
            pyreadstat.write_xport(
                out, str(dest / f"{domain}.xpt"), table_name=domain.upper(), file_format_version=5
            )
        else:
            raise ValueError(f"unknown format {fmt!r}")
    return dest


def make_valid_cut(dest: str | Path, fmt: str = "csv") -> Path:
    """Write the valid 3-subject cut (all 8 domains) into ``dest`` and return ``dest``."""
    return write_cut(valid_cut_frames(), dest, fmt=fmt)
