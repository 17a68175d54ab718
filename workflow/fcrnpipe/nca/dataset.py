"""NCA of the analysis datasets: ADPC + ADEX + ADSL -> long parameter table.

For each subject of the PK population (``ADSL.PKFL == "Y"``) and each configured interval
(``config.yaml: nca.intervals``; ``dose`` is ``first``, ``last`` or a dose number):

1. The interval's dose number: ``first`` = 1; ``last`` = the subject's last study-drug dose in
   ADEX, only if it is not the first (a subject with one dose has no last-dose interval);
   a number = that dose if the subject received it. Its end: with ``end_at_next_dose`` the
   subject's actual time of the next dose (h after this one, from ADEX AFRLT) when there is a
   next dose, else the configured ``end`` (nominal; e.g. after the last dose).
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
5. :func:`fcrnpipe.nca.core.analyse_profile` with ``single_dose`` for dose 1 (AUCinf, AUCinf_pred,
   AUCpext, CL/F = dose/AUCinf) and AUCtau-based CL/F and Vz/F for later doses; tau, AUCtau,
   Cavg and Ctrough over the interval as resolved in 1.
6. Rac = AUC(start, start + w) of this interval / AUC(start, start + w) of the first-dose
   interval of the same configured spec (start, end, end_at_next_dose), w = the shorter of the two
   intervals (so both AUCs cover the same time after their dose and neither crosses a next dose;
   = AUCtau(last) / AUCtau(first) when the intervals are equally long).
7. Acceptance flags (:mod:`fcrnpipe.nca.acceptance`) in the ``exclude`` column, the reason of
   each missing value in ``na_reason``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.frames import require_columns
from fcrnpipe.errors import UserError
from fcrnpipe.nca.acceptance import AcceptanceRules, acceptance_flags
from fcrnpipe.nca.core import AUC_METHODS, END_LAMBDA_Z, PARAMETERS, UNITS, ProfileResult, analyse_profile, auc_to

log = logging.getLogger("fcrnpipe.nca")

NCA_COLUMNS = ["USUBJID", "interval", "parameter", "value", "unit", "ARMCD", "DOSE", "exclude", "na_reason"]
ADPC_COLUMNS = ["USUBJID", "AVAL", "BLQFL", "AFRLT", "ARRLT", "DOSENUM"]
ADEX_COLUMNS = ["USUBJID", "EXTRT", "EXDOSE", "AFRLT", "DOSENUM"]
ADSL_COLUMNS = ["USUBJID", "ARMCD", "PKFL"]
BLQ_BEFORE = ("zero", "missing")
BLQ_AFTER = ("missing", "zero")


@dataclass(frozen=True)
class Interval:
    """A dosing interval: ``start``..``end`` hours after dose ``dose`` (first|last|number);
    with ``end_at_next_dose`` it ends at the subject's next dose when there is one."""

    name: str
    dose: str | int
    start: float
    end: float
    end_at_next_dose: bool = False

    @classmethod
    def from_mapping(cls, spec: Mapping[str, Any]) -> Interval:
        """Build from a ``config.yaml: nca.intervals`` entry; ``UserError`` if it is invalid."""
        try:
            name, dose, start, end = str(spec["name"]), spec["dose"], float(spec["start"]), float(spec["end"])
            at_next = spec.get("end_at_next_dose", False)
        except (KeyError, TypeError, ValueError) as exc:
            raise UserError(f"config nca.intervals: invalid interval {dict(spec)!r} ({exc})") from exc
        if not isinstance(at_next, bool):
            raise UserError(f"config nca.intervals, interval {name!r}: end_at_next_dose must be true or false")
        if at_next and start != 0:
            raise UserError(f"config nca.intervals, interval {name!r}: end_at_next_dose needs start 0")
        if not (dose in ("first", "last") or (isinstance(dose, int) and not isinstance(dose, bool) and dose >= 1)):
            raise UserError(f"config nca.intervals, interval {name!r}: dose must be first, last or a number >= 1")
        if not end > start >= 0:
            raise UserError(f"config nca.intervals, interval {name!r}: need 0 <= start < end")
        return cls(name=name, dose=dose, start=start, end=end, end_at_next_dose=at_next)


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
    acceptance: AcceptanceRules = field(default_factory=AcceptanceRules)

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
        acceptance: Mapping[str, Any] | None = None,
    ) -> NCAOptions:
        """Options from the ``nca`` config keys (``auc_method``, ``lambda_z``, ``blq``, ``acceptance``)."""
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
            acceptance=AcceptanceRules.from_config(acceptance),
        )


def _require(df: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    require_columns(df, columns, name, "needed by the NCA (docs/datasets.md)")


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


@dataclass(frozen=True)
class _Done:
    """One analysed interval of a subject (kept for Rac)."""

    iv: Interval  # as configured
    end: float  # resolved end (actual next dose or nominal)
    dosenum: int
    prof: Profile
    res: ProfileResult
    flags: dict[str, str]


def interval_end(iv: Interval, dosenum: int, doses: Mapping[int, tuple[float, float]], subj: str) -> float:
    """The end of ``iv`` for dose ``dosenum`` of a subject with ``doses`` (number -> (AFRLT h, mg)):
    the time from this dose to the subject's next dose with ``end_at_next_dose``, else ``iv.end``."""
    later = sorted(d for d in doses if d > dosenum)
    if not (iv.end_at_next_dose and later):
        return iv.end
    end = doses[later[0]][0] - doses[dosenum][0]
    if not end > iv.start:
        raise UserError(
            f"ADEX: subject {subj}: dose {later[0]} (AFRLT {doses[later[0]][0]:g} h) is not after dose {dosenum} "
            f"(AFRLT {doses[dosenum][0]:g} h); the NCA interval {iv.name!r} cannot end at it"
        )
    return float(end)


def _window_auc(d: _Done, width: float, options: NCAOptions) -> tuple[float, str]:
    """AUC of an analysed interval from its start over ``width`` hours, and how C(end) was obtained."""
    end = d.iv.start + width
    return auc_to(
        d.prof.t,
        d.prof.c,
        d.iv.start,
        end,
        options.auc_method,
        d.res.lz.lambda_z,
        t_after=d.prof.t_after,
        c_after=d.prof.c_after,
        end_shift=options.predose_window * (d.end - d.iv.start),
    )


def accumulation_ratio(later: _Done, first: _Done, options: NCAOptions) -> tuple[float, str, str]:
    """Rac of ``later`` against ``first`` over their common window (see the module docstring):
    ``(value, exclude reason, NaN reason)``."""
    width = min(later.end, first.end) - later.iv.start
    (num, how_num), (den, how_den) = _window_auc(later, width, options), _window_auc(first, width, options)
    why = []
    for d, how in ((later, how_num), (first, how_den)):
        if how == END_LAMBDA_Z and "lambda_z" in d.flags:
            why.append(d.flags["lambda_z"])
    exclude = "; ".join(dict.fromkeys(why))
    if math.isnan(num) or math.isnan(den) or not den > 0:
        reason = how_num if math.isnan(num) else how_den if math.isnan(den) else "AUC of the first dose is 0"
        return math.nan, "", f"AUC(0-{width:.4g} h) not computable: {reason}"
    return num / den, exclude, ""


def _analysis_records(
    adpc: pd.DataFrame, adex: pd.DataFrame, adsl: pd.DataFrame, options: NCAOptions
) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    """The inputs of :func:`run_nca`, checked and restricted to the analysis: the arm of each
    subject of the PK population (``ARMCD`` by ``USUBJID``), their doses of the treatment and
    their concentrations (of ``options.analyte``, ``BLQFL`` normalised). Raises ``UserError``
    for missing columns, duplicated dose numbers and negative concentrations."""
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
    return pop, ex, pc


def _subject_intervals(
    subj: str,
    doses: dict[int, tuple[float, float]],
    spc: pd.DataFrame,
    ivs: Sequence[Interval],
    options: NCAOptions,
) -> dict[str, _Done]:
    """The analysed intervals of one subject (``doses``: dose number -> (time, mg); ``spc`` their
    concentrations), by interval name; an interval without its dose or without a concentration
    is left out. Raises ``UserError`` for fixed lambda_z times that match no measurable sample."""
    done: dict[str, _Done] = {}
    for iv in ivs:
        dosenum = resolve_dose_number(iv.dose, list(doses))
        if dosenum is None:
            continue
        dose_time, dose_mg = doses[dosenum]
        end = interval_end(iv, dosenum, doses, subj)
        prof = interval_profile(spc, dosenum, dose_time, dataclasses.replace(iv, end=end), options)
        if prof is None:
            log.warning("subject %s, interval %r: no concentration in the interval", subj, iv.name)
            continue
        fixed = options.fixed_points.get(subj, {}).get(iv.name)
        try:
            res = analyse_profile(
                prof.t,
                prof.c,
                dose_mg,
                tau=end,
                start=iv.start,
                single_dose=dosenum == 1,
                method=options.auc_method,
                min_points=options.min_points,
                adj_r2_tolerance=options.adj_r2_tolerance,
                exclude_cmax=options.exclude_cmax,
                fixed_times=fixed,
                t_after=prof.t_after,
                c_after=prof.c_after,
                end_shift=options.predose_window * (end - iv.start),
            )
        except ValueError as exc:
            raise UserError(
                f"config nca.lambda_z.fixed_points, subject {subj}, interval {iv.name!r}: {exc}"
            ) from exc
        log.info(
            "subject %s, interval %r (dose %d, %g mg): %d samples, C(%g) from %s, tau %.4g h, lambda_z %s",
            subj, iv.name, dosenum, dose_mg, prof.t.size, iv.start, prof.c0_source, end - iv.start,
            "not estimated" if math.isnan(res.values["lambda_z"]) else f"{res.values['lambda_z']:.5g}/h",
        )  # fmt: skip
        done[iv.name] = _Done(iv, end, dosenum, prof, res, acceptance_flags(res, options.acceptance))
    return done


def _subject_rows(
    subj: str,
    arm: str,
    doses: dict[int, tuple[float, float]],
    done: dict[str, _Done],
    options: NCAOptions,
) -> list[tuple[str, str, str, float, str, str, float, str, str]]:
    """The rows (:data:`NCA_COLUMNS`) of one subject's analysed intervals, with Rac of every
    later-dose interval that has a first-dose interval over the same window."""
    rows: list[tuple[str, str, str, float, str, str, float, str, str]] = []
    firsts = {(d.iv.start, d.iv.end, d.iv.end_at_next_dose): d for d in done.values() if d.dosenum == 1}
    for d in done.values():
        values, flags, reasons = dict(d.res.values), dict(d.flags), dict(d.res.reasons)
        ref = firsts.get((d.iv.start, d.iv.end, d.iv.end_at_next_dose))
        if d.dosenum > 1 and ref is not None:
            values["Rac"], flag, why = accumulation_ratio(d, ref, options)
            if flag:
                flags["Rac"] = flag
            if why:
                reasons["Rac"] = why
        dose_mg = doses[d.dosenum][1]
        for p in PARAMETERS:
            if p in values:
                v = float(values[p])
                rows.append(
                    (subj, d.iv.name, p, v, UNITS[p], arm, dose_mg, flags.get(p, ""),
                     reasons.get(p, "not estimable") if math.isnan(v) else "")
                )  # fmt: skip
    return rows


def run_nca(
    adpc: pd.DataFrame,
    adex: pd.DataFrame,
    adsl: pd.DataFrame,
    intervals: Sequence[Interval | Mapping[str, Any]],
    options: NCAOptions | None = None,
) -> pd.DataFrame:
    """NCA parameters per subject and interval as a long table (see the module docstring).

    Columns :data:`NCA_COLUMNS` (USUBJID, interval, parameter, value, unit, ARMCD, DOSE = the
    interval's dose in mg, exclude = the acceptance rule(s) the value fails, na_reason = why a
    value is missing), sorted by USUBJID, interval, parameter. A parameter that cannot be
    estimated has an empty value and a ``na_reason``; one that does not apply (AUCinf after a
    later dose, Rac for the first dose) has no row. Raises ``UserError`` for missing columns,
    duplicated doses or sample times, and fixed lambda_z times that match no measurable sample.
    """
    options = options or NCAOptions()
    ivs = _intervals(intervals)
    pop, ex, pc = _analysis_records(adpc, adex, adsl, options)
    rows: list[tuple[str, str, str, float, str, str, float, str, str]] = []
    for subj in sorted(pop.index):
        sex = ex[ex["USUBJID"] == subj]
        doses = {int(r.DOSENUM): (float(r.AFRLT), float(r.EXDOSE)) for r in sex.itertuples()}
        if not doses:
            log.warning("subject %s: in the PK population but no %s dose in ADEX", subj, options.treatment)
        done = _subject_intervals(subj, doses, pc[pc["USUBJID"] == subj], ivs, options)
        rows += _subject_rows(subj, pop[subj], doses, done, options)
    out = pd.DataFrame(rows, columns=NCA_COLUMNS)
    out = out.astype({"value": "float64", "DOSE": "float64"})
    return out.sort_values(["USUBJID", "interval", "parameter"], kind="mergesort").reset_index(drop=True)
