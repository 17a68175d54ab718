"""NCA of the analysis datasets: ADPC + ADEX + ADSL -> long parameter table.

For each subject of the PK population (``ADSL.PKFL == "Y"``) and each configured interval
(``config.yaml: nca.intervals``; ``dose`` is ``first``, ``last`` or a dose number):

1. The interval's dose number: ``first`` = 1; ``last`` = the subject's last study-drug dose in
   ADEX, only if it is not the first (a subject with one dose has no last-dose interval);
   a number = that dose if the subject received it.
2. Its samples: ADPC records with ``DOSENUM`` = that dose and ``start <= ARRLT <= end``
   (the pre-dose sample of the next dose belongs to this dose by the ADPC rule and closes the
   interval). The first sample of the same dose after ``end`` is kept aside, only to
   interpolate C(end) for AUCtau; without it C(end) is extrapolated with lambda_z, or, if
   lambda_z is not estimable, the last sample is carried to ``end`` when taken at most
   ``predose_window`` x interval length before it.
3. C(start) when no sample has ``ARRLT == start`` (``start == 0`` only): the subject's latest
   sample before the dose, if taken at most ``predose_window`` x interval length before it
   (PKNCA ``start_predose``); otherwise 0 before the first dose (PKNCA ``start_conc0``) and the
   interval's minimum concentration before a later dose (PKNCA ``start_cmin``, the WinNonlin
   steady-state convention).
4. BLQ records (``BLQFL == "Y"``), in time order within the interval: before the first
   measurable concentration -> 0 or dropped (``nca.blq.before_first_measurable``), after it ->
   dropped or 0 (``nca.blq.after_first_measurable``). ``AVAL`` of BLQ records is not used.
5. :func:`fcrnpipe.nca.core.nca_profile` with ``single_dose`` for dose 1 (AUCinf, AUCpext,
   CL/F = dose/AUCinf) and AUCtau-based CL/F and Vz/F for later doses.
6. Rac = AUCtau(this interval) / AUCtau(first-dose interval) for every interval of a later
   dose whose start/end equal those of a first-dose interval of the same subject.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.errors import UserError
from fcrnpipe.nca.core import AUC_METHODS, PARAMETERS, UNITS, nca_profile

log = logging.getLogger("fcrnpipe.nca")

NCA_COLUMNS = ["USUBJID", "interval", "parameter", "value", "unit", "ARMCD", "DOSE"]
ADPC_COLUMNS = ["USUBJID", "AVAL", "BLQFL", "AFRLT", "ARRLT", "DOSENUM"]
ADEX_COLUMNS = ["USUBJID", "EXTRT", "EXDOSE", "AFRLT", "DOSENUM"]
ADSL_COLUMNS = ["USUBJID", "ARMCD", "PKFL"]
BLQ_BEFORE = ("zero", "missing")
BLQ_AFTER = ("missing", "zero")


@dataclass(frozen=True)
class Interval:
    """A dosing interval: ``start``..``end`` hours after dose ``dose`` (first|last|number)."""

    name: str
    dose: str | int
    start: float
    end: float

    @classmethod
    def from_mapping(cls, spec: Mapping[str, Any]) -> Interval:
        """Build from a ``config.yaml: nca.intervals`` entry; ``UserError`` if it is invalid."""
        try:
            name, dose, start, end = str(spec["name"]), spec["dose"], float(spec["start"]), float(spec["end"])
        except (KeyError, TypeError, ValueError) as exc:
            raise UserError(f"config nca.intervals: invalid interval {dict(spec)!r} ({exc})") from exc
        if not (dose in ("first", "last") or (isinstance(dose, int) and not isinstance(dose, bool) and dose >= 1)):
            raise UserError(f"config nca.intervals, interval {name!r}: dose must be first, last or a number >= 1")
        if not end > start >= 0:
            raise UserError(f"config nca.intervals, interval {name!r}: need 0 <= start < end")
        return cls(name=name, dose=dose, start=start, end=end)


@dataclass(frozen=True)
class NCAOptions:
    """Settings of :func:`run_nca` (``config.yaml: nca`` plus the study drug and analyte)."""

    auc_method: str = "linear-up/log-down"
    min_points: int = 3
    adj_r2_tolerance: float = 1e-4
    exclude_cmax: bool = True
    blq_before: str = "zero"
    blq_after: str = "missing"
    #: USUBJID -> interval name -> times (h after the dose) of the lambda_z regression.
    fixed_points: Mapping[str, Mapping[str, Sequence[float]]] = field(default_factory=dict)
    treatment: str = "BATOCLIMAB"
    analyte: str | None = None
    #: A pre-dose sample becomes C(0) if taken at most this fraction of the interval before the dose.
    predose_window: float = 0.05

    def __post_init__(self) -> None:
        if self.auc_method not in AUC_METHODS:
            raise UserError(f"config nca.auc_method: {self.auc_method!r} is not one of {', '.join(AUC_METHODS)}")
        if self.blq_before not in BLQ_BEFORE or self.blq_after not in BLQ_AFTER:
            raise UserError(f"config nca.blq: unknown rule {self.blq_before!r}/{self.blq_after!r}")
        if self.min_points < 2:
            raise UserError("config nca.lambda_z.min_points must be >= 2")

    @classmethod
    def from_config(
        cls,
        auc_method: str,
        lambda_z: Mapping[str, Any],
        blq: Mapping[str, Any],
        treatment: str = "BATOCLIMAB",
        analyte: str | None = None,
    ) -> NCAOptions:
        """Options from the ``nca`` config keys (``auc_method``, ``lambda_z``, ``blq``)."""
        return cls(
            auc_method=auc_method,
            min_points=int(lambda_z["min_points"]),
            adj_r2_tolerance=float(lambda_z["adj_r2_tolerance"]),
            exclude_cmax=bool(lambda_z["exclude_cmax"]),
            blq_before=blq["before_first_measurable"],
            blq_after=blq["after_first_measurable"],
            fixed_points={
                str(subj): {str(name): [float(x) for x in times] for name, times in (per or {}).items()}
                for subj, per in (lambda_z.get("fixed_points") or {}).items()
            },
            treatment=treatment,
            analyte=analyte,
        )


def _require(df: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise UserError(f"{name}: missing column(s) {', '.join(missing)} needed by the NCA (docs/datasets.md)")


def _typed(df: pd.DataFrame, numeric: Sequence[str], name: str) -> pd.DataFrame:
    """Copy with USUBJID as text and ``numeric`` columns as float64 (nullable types, text numbers)."""
    out = df.copy()
    out["USUBJID"] = out["USUBJID"].astype(str)
    for col in numeric:
        values = pd.to_numeric(out[col], errors="coerce")
        bad = values.isna() & out[col].notna() & out[col].astype(str).str.strip().ne("")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise UserError(f"{name}: row {row + 1}, column {col}: {out[col].iloc[row]!r} is not a number")
        out[col] = values.astype("float64")
    return out


def resolve_dose_number(spec: str | int, dose_numbers: Sequence[int]) -> int | None:
    """Dose number of an interval spec for a subject who received ``dose_numbers``; None if absent.

    >>> resolve_dose_number("last", [1, 2, 3, 4]), resolve_dose_number("last", [1])
    (4, None)
    """
    have = sorted(int(d) for d in dose_numbers)
    if not have:
        return None
    if spec == "first":
        return 1 if 1 in have else None
    if spec == "last":
        return have[-1] if have[-1] > 1 else None
    return int(spec) if int(spec) in have else None


def apply_blq_rules(aval: np.ndarray, blq: np.ndarray, before: str, after: str) -> np.ndarray:
    """Concentrations after the BLQ rules (NaN = dropped), for records sorted by time.

    BLQ before the first measurable value -> 0 (``before="zero"``) or NaN; BLQ after it ->
    NaN (``after="missing"``) or 0. A non-BLQ record without a value stays NaN.
    """
    aval = np.asarray(aval, dtype=float)
    blq = np.asarray(blq, dtype=bool)
    out = np.where(blq, np.nan, aval)
    measurable = np.flatnonzero(~blq & np.isfinite(aval))
    first = int(measurable[0]) if measurable.size else aval.size
    idx = np.arange(aval.size)
    out[blq & (idx < first)] = 0.0 if before == "zero" else np.nan
    out[blq & (idx > first)] = 0.0 if after == "zero" else np.nan
    return out


@dataclass(frozen=True)
class Profile:
    """The cleaned samples of one subject and interval, ready for :func:`nca_profile`."""

    t: np.ndarray
    c: np.ndarray
    t_after: float | None
    c_after: float | None
    c0_source: str


def interval_profile(
    pc: pd.DataFrame, dosenum: int, dose_time: float, iv: Interval, options: NCAOptions
) -> Profile | None:
    """Samples of one subject's interval after the selection, C(0) and BLQ rules; None if empty.

    ``pc`` holds one subject's ADPC records, ``dose_time`` the dose's AFRLT (h).
    """
    same = pc[(pc["DOSENUM"] == dosenum) & pc["ARRLT"].notna()]
    win = same[(same["ARRLT"] >= iv.start) & (same["ARRLT"] <= iv.end)].sort_values("ARRLT", kind="mergesort")
    if win.empty:
        return None
    dup = win["ARRLT"][win["ARRLT"].duplicated()]
    if not dup.empty:
        subj = win["USUBJID"].iloc[0]
        raise UserError(
            f"ADPC: subject {subj} has two concentrations at ARRLT={dup.iloc[0]} h after dose {dosenum} "
            f"(interval {iv.name!r}); the NCA needs one value per time"
        )
    after = same[same["ARRLT"] > iv.end].sort_values("ARRLT", kind="mergesort").head(1)
    pre = pc.iloc[0:0]
    if iv.start == 0 and not (win["ARRLT"] == 0).any():
        shift = options.predose_window * (iv.end - iv.start)
        usable = pc["BLQFL"].eq("Y") | pc["AVAL"].notna()
        cand = pc[usable & (pc["AFRLT"] < dose_time) & (dose_time - pc["AFRLT"] <= shift)]
        pre = cand.sort_values("AFRLT", kind="mergesort").tail(1)
    times = np.concatenate([[iv.start] * len(pre), win["ARRLT"].to_numpy(float), after["ARRLT"].to_numpy(float)])
    recs = pd.concat([pre, win, after])
    values = apply_blq_rules(
        recs["AVAL"].to_numpy(float), recs["BLQFL"].eq("Y").to_numpy(), options.blq_before, options.blq_after
    )
    n_pre, n_win = len(pre), len(win)
    keep = np.isfinite(values)
    t_in, c_in = times[: n_pre + n_win], values[: n_pre + n_win]
    mask = keep[: n_pre + n_win]
    t, c = t_in[mask], c_in[mask]
    t_after = c_after = None
    if len(after) and keep[-1]:
        t_after, c_after = float(times[-1]), float(values[-1])
    if t.size == 0:
        return None
    if t[0] == iv.start:
        source = "predose sample" if n_pre and mask[0] else "observed"
    elif iv.start == 0 and dosenum == 1:
        t, c, source = np.insert(t, 0, 0.0), np.insert(c, 0, 0.0), "0 (before the first dose)"
    elif iv.start == 0:
        t, c, source = np.insert(t, 0, 0.0), np.insert(c, 0, float(c.min())), "Cmin of the interval"
    else:
        source = "none (no sample at the interval start)"
    return Profile(t=t, c=c, t_after=t_after, c_after=c_after, c0_source=source)


def _intervals(intervals: Sequence[Interval | Mapping[str, Any]]) -> list[Interval]:
    ivs = [iv if isinstance(iv, Interval) else Interval.from_mapping(iv) for iv in intervals]
    names = [iv.name for iv in ivs]
    if len(set(names)) != len(names):
        raise UserError(f"config nca.intervals: interval names must be unique, got {names}")
    return ivs


def run_nca(
    adpc: pd.DataFrame,
    adex: pd.DataFrame,
    adsl: pd.DataFrame,
    intervals: Sequence[Interval | Mapping[str, Any]],
    options: NCAOptions | None = None,
) -> pd.DataFrame:
    """NCA parameters per subject and interval as a long table (see the module docstring).

    Columns :data:`NCA_COLUMNS` (USUBJID, interval, parameter, value, unit, ARMCD, DOSE = the
    interval's dose in mg), sorted by USUBJID, interval, parameter. A parameter that cannot be
    estimated has an empty value; one that does not apply (AUCinf after a later dose, Rac for
    the first dose) has no row. Raises ``UserError`` for missing columns, duplicated doses or
    sample times, and fixed lambda_z times that match no measurable sample.
    """
    options = options or NCAOptions()
    ivs = _intervals(intervals)
    _require(adpc, ADPC_COLUMNS, "ADPC")
    _require(adex, ADEX_COLUMNS, "ADEX")
    _require(adsl, ADSL_COLUMNS, "ADSL")
    adsl = adsl.assign(USUBJID=adsl["USUBJID"].astype(str))
    adex = _typed(adex, ["EXDOSE", "AFRLT", "DOSENUM"], "ADEX")
    adpc = _typed(adpc, ["AVAL", "AFRLT", "ARRLT", "DOSENUM"], "ADPC")
    pop = adsl[adsl["PKFL"].astype(str).eq("Y")].drop_duplicates("USUBJID").set_index("USUBJID")["ARMCD"].astype(str)
    ex = adex[adex["EXTRT"].astype(str).str.strip().str.upper().eq(options.treatment.upper())]
    ex = ex[ex["USUBJID"].isin(pop.index) & ex["DOSENUM"].notna()]
    dup = ex[ex.duplicated(["USUBJID", "DOSENUM"], keep=False)]
    if not dup.empty:
        raise UserError(
            f"ADEX: subject {dup['USUBJID'].iloc[0]} has two {options.treatment} records with "
            f"DOSENUM={int(dup['DOSENUM'].iloc[0])}"
        )
    pc = adpc[adpc["USUBJID"].isin(pop.index)].copy()
    if options.analyte is not None and "PCTESTCD" in pc.columns:
        pc = pc[pc["PCTESTCD"].astype(str).eq(options.analyte)]
    pc["BLQFL"] = pc["BLQFL"].astype(object).where(pc["BLQFL"].notna(), "").astype(str).str.strip().str.upper()
    if (pc["AVAL"] < 0).any():
        bad = pc[pc["AVAL"] < 0].iloc[0]
        raise UserError(f"ADPC: subject {bad['USUBJID']} has a negative AVAL ({bad['AVAL']}) at AFRLT={bad['AFRLT']}")

    rows: list[tuple[str, str, str, float, str, str, float]] = []
    for subj in sorted(pop.index):
        sex = ex[ex["USUBJID"] == subj]
        doses = {int(r.DOSENUM): (float(r.AFRLT), float(r.EXDOSE)) for r in sex.itertuples()}
        if not doses:
            log.warning("subject %s: in the PK population but no %s dose in ADEX", subj, options.treatment)
        spc = pc[pc["USUBJID"] == subj]
        results: dict[str, tuple[Interval, int, dict[str, float]]] = {}
        for iv in ivs:
            dosenum = resolve_dose_number(iv.dose, list(doses))
            if dosenum is None:
                continue
            dose_time, dose_mg = doses[dosenum]
            prof = interval_profile(spc, dosenum, dose_time, iv, options)
            if prof is None:
                log.warning("subject %s, interval %r: no concentration in the interval", subj, iv.name)
                continue
            fixed = options.fixed_points.get(subj, {}).get(iv.name)
            try:
                res = nca_profile(
                    prof.t,
                    prof.c,
                    dose_mg,
                    tau=iv.end,
                    start=iv.start,
                    single_dose=dosenum == 1,
                    method=options.auc_method,
                    min_points=options.min_points,
                    adj_r2_tolerance=options.adj_r2_tolerance,
                    exclude_cmax=options.exclude_cmax,
                    fixed_times=fixed,
                    t_after=prof.t_after,
                    c_after=prof.c_after,
                    end_shift=options.predose_window * (iv.end - iv.start),
                )
            except ValueError as exc:
                raise UserError(
                    f"config nca.lambda_z.fixed_points, subject {subj}, interval {iv.name!r}: {exc}"
                ) from exc
            log.info(
                "subject %s, interval %r (dose %d, %g mg): %d samples, C(%g) from %s, lambda_z %s",
                subj, iv.name, dosenum, dose_mg, prof.t.size, iv.start, prof.c0_source,
                "not estimated" if math.isnan(res["lambda_z"]) else f"{res['lambda_z']:.5g}/h",
            )  # fmt: skip
            results[iv.name] = (iv, dosenum, res)
        firsts = {(iv.start, iv.end): r for iv, d, r in results.values() if d == 1}
        for iv, dosenum, res in results.values():
            ref = firsts.get((iv.start, iv.end))
            if dosenum > 1 and ref is not None:
                num, den = res.get("AUCtau", math.nan), ref.get("AUCtau", math.nan)
                res["Rac"] = num / den if den > 0 and math.isfinite(num) else math.nan
            dose_mg = doses[dosenum][1]
            for p in PARAMETERS:
                if p in res:
                    rows.append((subj, iv.name, p, float(res[p]), UNITS[p], pop[subj], dose_mg))
    out = pd.DataFrame(rows, columns=NCA_COLUMNS)
    out = out.astype({"value": "float64", "DOSE": "float64"})
    return out.sort_values(["USUBJID", "interval", "parameter"], kind="mergesort").reset_index(drop=True)
