"""Non-compartmental analysis of one concentration-time profile (pure numeric functions).

Conventions follow PKNCA (humanpred/pknca: ``R/auc.R``, ``R/half.life.R``,
``R/interpolate.conc.R``, ``R/aucint.R``) and Phoenix WinNonlin, so that results can be
checked against either:

* AUC by the trapezoidal rule, ``"linear"`` or ``"linear-up/log-down"`` (the log trapezoid on
  a segment whose concentration falls and stays above zero, the linear one otherwise).
* Concentrations between two samples are interpolated with the same rule as the AUC segment;
  after the last sample they are extrapolated with ``Clast * exp(-lambda_z * (t - tlast))``.
* lambda_z: log-linear least squares on the last ``n`` positive concentrations after Tmax
  (Tmax itself excluded unless ``exclude_cmax=False``), for every ``n >= min_points``; the best
  adjusted R^2 is taken over *all* these windows (a rising terminal window included), the
  windows within ``adj_r2_tolerance`` of it that have lambda_z > 0 qualify and the one with the
  most points is kept; none qualifies -> no lambda_z (PKNCA ``pk.calc.half.life``).
* Tmax is the first time of the maximum concentration; Tlast/Clast the last positive one.

All functions take times in hours and concentrations in mg/L and are unit-agnostic otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

AUC_METHODS = ("linear-up/log-down", "linear")

#: Parameters of the long output table, in reporting order.
PARAMETERS: tuple[str, ...] = (
    "Cmax",
    "Tmax",
    "Ctrough",
    "Clast",
    "Tlast",
    "tau",
    "AUClast",
    "AUCtau",
    "Cavg",
    "AUCinf",
    "AUCinf_pred",
    "AUCpext",
    "AUCpext_pred",
    "lambda_z",
    "lambda_z_n",
    "lambda_z_adjr2",
    "lambda_z_span",
    "lambda_z_tfirst",
    "lambda_z_tlast",
    "t_half",
    "CL_F",
    "Vz_F",
    "Rac",
)

#: Unit of each parameter ("1" = dimensionless).
UNITS: dict[str, str] = {
    "Cmax": "mg/L",
    "Tmax": "h",
    "Ctrough": "mg/L",
    "Clast": "mg/L",
    "Tlast": "h",
    "tau": "h",
    "AUClast": "h*mg/L",
    "AUCtau": "h*mg/L",
    "Cavg": "mg/L",
    "AUCinf": "h*mg/L",
    "AUCinf_pred": "h*mg/L",
    "AUCpext": "%",
    "AUCpext_pred": "%",
    "lambda_z": "1/h",
    "lambda_z_n": "1",
    "lambda_z_adjr2": "1",
    "lambda_z_span": "1",
    "lambda_z_tfirst": "h",
    "lambda_z_tlast": "h",
    "t_half": "h",
    "CL_F": "L/h",
    "Vz_F": "L",
    "Rac": "1",
}

#: Matching tolerance (h) between a configured fixed lambda_z time and a sample time.
FIXED_TIME_TOLERANCE = 0.01


def _check_method(method: str) -> None:
    if method not in AUC_METHODS:
        raise ValueError(f"unknown AUC method {method!r}; expected one of {', '.join(AUC_METHODS)}")


def _as_profile(t: Sequence[float], c: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Times and concentrations as float arrays, checked: same length, finite, sorted, c >= 0."""
    ta = np.asarray(t, dtype=float)
    ca = np.asarray(c, dtype=float)
    if ta.ndim != 1 or ta.shape != ca.shape:
        raise ValueError("times and concentrations must be 1-D and of the same length")
    if not (np.all(np.isfinite(ta)) and np.all(np.isfinite(ca))):
        raise ValueError("times and concentrations must be finite (drop missing values first)")
    if np.any(np.diff(ta) <= 0):
        raise ValueError("times must be strictly increasing")
    if np.any(ca < 0):
        raise ValueError("concentrations must be >= 0")
    return ta, ca


def is_log_segment(c1: float, c2: float, method: str) -> bool:
    """True if the segment from ``c1`` to ``c2`` uses the log trapezoid (falling, both > 0)."""
    return method == "linear-up/log-down" and c1 > c2 > 0


def segment_auc(t1: float, c1: float, t2: float, c2: float, method: str) -> float:
    """Area of one segment: linear ``dt*(c1+c2)/2`` or log ``dt*(c1-c2)/ln(c1/c2)``."""
    dt = t2 - t1
    if is_log_segment(c1, c2, method):
        return dt * (c1 - c2) / math.log(c1 / c2)
    return dt * (c1 + c2) / 2.0


def auc(t: Sequence[float], c: Sequence[float], method: str = "linear-up/log-down") -> float:
    """AUC from the first to the last given time by the trapezoidal rule of ``method``.

    ``method`` is ``"linear"`` or ``"linear-up/log-down"``. One point gives 0, no point NaN.
    """
    _check_method(method)
    ta, ca = _as_profile(t, c)
    if ta.size == 0:
        return math.nan
    return float(sum(segment_auc(ta[i], ca[i], ta[i + 1], ca[i + 1], method) for i in range(ta.size - 1)))


def interpolate_conc(t1: float, c1: float, t2: float, c2: float, t_out: float, method: str) -> float:
    """Concentration at ``t_out`` in [t1, t2], log-linear on a log segment, linear otherwise."""
    if not t1 <= t_out <= t2:
        raise ValueError(f"t_out={t_out} is outside [{t1}, {t2}]")
    frac = (t_out - t1) / (t2 - t1)
    if is_log_segment(c1, c2, method):
        return float(math.exp(math.log(c1) + frac * (math.log(c2) - math.log(c1))))
    return float(c1 + frac * (c2 - c1))


def cmax_tmax(t: Sequence[float], c: Sequence[float]) -> tuple[float, float]:
    """Cmax and the first time it occurs; (0, NaN) if every concentration is 0, NaN if empty."""
    ta, ca = _as_profile(t, c)
    if ta.size == 0:
        return math.nan, math.nan
    cmax = float(ca.max())
    if cmax <= 0:
        return 0.0, math.nan
    return cmax, float(ta[int(np.argmax(ca))])


def clast_tlast(t: Sequence[float], c: Sequence[float]) -> tuple[float, float]:
    """Last positive concentration and its time; NaN if none is positive."""
    ta, ca = _as_profile(t, c)
    pos = np.flatnonzero(ca > 0)
    if pos.size == 0:
        return math.nan, math.nan
    return float(ca[pos[-1]]), float(ta[pos[-1]])


@dataclass(frozen=True)
class LambdaZ:
    """Terminal log-linear regression. ``lambda_z`` is NaN when it could not be estimated."""

    lambda_z: float = math.nan
    intercept: float = math.nan
    r2: float = math.nan
    adj_r2: float = math.nan
    n: int = 0
    t_first: float = math.nan
    t_last: float = math.nan
    reason: str = ""

    @property
    def t_half(self) -> float:
        """ln(2) / lambda_z."""
        return math.log(2) / self.lambda_z if self.lambda_z > 0 else math.nan

    @property
    def span_ratio(self) -> float:
        """Time span of the regression points in half-lives ((t_last - t_first) / t_half)."""
        return (self.t_last - self.t_first) / self.t_half if self.lambda_z > 0 else math.nan

    def predict(self, t: float) -> float:
        """Concentration on the regression line at ``t`` (PKNCA ``clast.pred`` at Tlast); NaN without lambda_z."""
        return math.exp(self.intercept - self.lambda_z * t) if self.lambda_z > 0 else math.nan


def adjusted_r2(r2: float, n: int) -> float:
    """Adjusted R^2 = 1 - (1 - R^2) (n - 1) / (n - 2); NaN for n <= 2."""
    return 1.0 - (1.0 - r2) * (n - 1) / (n - 2) if n > 2 else math.nan


def loglinear_fit(t: Sequence[float], c: Sequence[float]) -> LambdaZ:
    """Least-squares fit of ln(c) = a - lambda_z t on the given points (all c > 0, n >= 2)."""
    x = np.asarray(t, dtype=float)
    y = np.log(np.asarray(c, dtype=float))
    n = int(x.size)
    if n < 2:
        return LambdaZ(reason="fewer than 2 points")
    xm, ym = x.mean(), y.mean()
    sxx = float(np.sum((x - xm) ** 2))
    sxy = float(np.sum((x - xm) * (y - ym)))
    syy = float(np.sum((y - ym) ** 2))
    slope = sxy / sxx
    intercept = float(ym - slope * xm)
    ss_res = float(np.sum((y - (intercept + slope * x)) ** 2))
    r2 = 1.0 - ss_res / syy if syy > 0 else math.nan
    return LambdaZ(
        lambda_z=-slope,
        intercept=intercept,
        r2=r2,
        adj_r2=adjusted_r2(r2, n),
        n=n,
        t_first=float(x[0]),
        t_last=float(x[-1]),
    )


def _fixed_lambda_z(ta: np.ndarray, ca: np.ndarray, fixed_times: Sequence[float]) -> LambdaZ:
    """The terminal fit on the samples at ``fixed_times`` (matched within
    ``FIXED_TIME_TOLERANCE`` h; the fixed selection of :func:`lambda_z`)."""
    idx = []
    for ft in fixed_times:
        hits = np.flatnonzero(np.abs(ta - float(ft)) <= FIXED_TIME_TOLERANCE)
        if hits.size == 0:
            raise ValueError(f"fixed lambda_z time {ft} h matches no sample")
        if ca[hits[0]] <= 0:
            raise ValueError(f"fixed lambda_z time {ft} h has a concentration of 0 (BLQ)")
        idx.append(int(hits[0]))
    idx = sorted(set(idx))
    if len(idx) < 2:
        return LambdaZ(reason="fewer than 2 fixed points")
    fit = loglinear_fit(ta[idx], ca[idx])
    if not fit.lambda_z > 0:
        return LambdaZ(reason=f"fixed points give a non-negative slope (lambda_z={fit.lambda_z:.4g})")
    return fit


def lambda_z(
    t: Sequence[float],
    c: Sequence[float],
    *,
    min_points: int = 3,
    adj_r2_tolerance: float = 1e-4,
    exclude_cmax: bool = True,
    fixed_times: Sequence[float] | None = None,
) -> LambdaZ:
    """Terminal elimination rate constant of one profile.

    Automatic selection (``fixed_times`` None): candidate points are the positive
    concentrations after Tmax (from Tmax on if ``exclude_cmax`` is False); fits on the last
    ``n`` candidates for ``n = min_points .. all``; ``best`` = the highest adjusted R^2 of all
    these fits, whatever the sign of their slope; among the fits with adjusted R^2 >= best -
    ``adj_r2_tolerance`` *and* lambda_z > 0 the one with the most points is returned; if there is
    none (the best window rises or is flat and no falling window is as good), no lambda_z (PKNCA
    ``pk.calc.half.life``, which masks ``lambda.z > 0 & adj.r.squared > max - factor``; the
    tolerance is inclusive here, so a tolerance of 0 keeps the best fit).

    Fixed selection: the samples at ``fixed_times`` (matched within
    ``FIXED_TIME_TOLERANCE`` h) are fitted as they are; every listed time must match a
    positive concentration (``ValueError`` otherwise) and at least 2 are needed.

    A result without an estimate has ``lambda_z`` NaN and a ``reason``.
    """
    ta, ca = _as_profile(t, c)
    if fixed_times is not None:
        return _fixed_lambda_z(ta, ca, fixed_times)
    if min_points < 2:
        raise ValueError("min_points must be >= 2")
    cmax, tmax = cmax_tmax(ta, ca)
    if not cmax > 0:
        return LambdaZ(reason="no positive concentration")
    after = ta > tmax if exclude_cmax else ta >= tmax
    cand = np.flatnonzero(after & (ca > 0))
    if cand.size < min_points:
        noun = "concentration" if cand.size == 1 else "concentrations"
        return LambdaZ(reason=f"{cand.size} positive {noun} after Tmax, {min_points} needed")
    fits = [loglinear_fit(ta[cand[-n:]], ca[cand[-n:]]) for n in range(min_points, cand.size + 1)]
    if cand.size == 2:  # min_points == 2 with exactly 2 points: no adjusted R^2 (as PKNCA)
        return fits[0] if fits[0].lambda_z > 0 else LambdaZ(reason="2 points with a non-negative slope")
    fits = [f for f in fits if f.n > 2 and not math.isnan(f.adj_r2)]
    if not fits:
        return LambdaZ(reason="no terminal fit with an adjusted R^2")
    # PKNCA order: the best adjusted R^2 over *all* candidate windows (rising ones included),
    # then only windows within the tolerance of it *and* with a negative slope qualify
    top = max(fits, key=lambda f: f.adj_r2)
    ok = [f for f in fits if f.adj_r2 >= top.adj_r2 - adj_r2_tolerance and f.lambda_z > 0]
    if not ok:
        return LambdaZ(
            reason=(
                f"the best-fitting terminal window ({top.n} points from {top.t_first:g} h, adjusted R^2 "
                f"{top.adj_r2:.5f}) has a non-negative slope (lambda_z {top.lambda_z:.4g}) and no window with "
                "a negative slope is within the tolerance of it"
            )
        )
    return max(ok, key=lambda f: f.n)


def conc_at(
    t: Sequence[float],
    c: Sequence[float],
    t_out: float,
    method: str,
    lz: float = math.nan,
) -> float:
    """Concentration at ``t_out``: observed, interpolated, or extrapolated with ``lz``.

    Between samples the segment's rule is used (log-linear on a falling positive segment under
    ``"linear-up/log-down"``, linear otherwise). After the last sample: 0 if the last
    concentration is 0, else ``Clast * exp(-lz * (t_out - tlast))`` (NaN without ``lz``).
    Before the first sample: NaN.
    """
    _check_method(method)
    ta, ca = _as_profile(t, c)
    if ta.size == 0 or t_out < ta[0]:
        return math.nan
    hit = np.flatnonzero(ta == t_out)
    if hit.size:
        return float(ca[hit[0]])
    if t_out < ta[-1]:
        i = int(np.searchsorted(ta, t_out)) - 1
        return interpolate_conc(ta[i], ca[i], ta[i + 1], ca[i + 1], t_out, method)
    if ca[-1] == 0:
        return 0.0
    if not lz > 0:
        return math.nan
    return float(ca[-1] * math.exp(-lz * (t_out - ta[-1])))


def auc_interval(
    t: Sequence[float],
    c: Sequence[float],
    start: float,
    end: float,
    method: str,
    lz: float = math.nan,
) -> float:
    """AUC from ``start`` to ``end`` with interpolation/extrapolation at the ends (PKNCA aucint).

    Concentrations at ``start``/``end`` that are not sampled are taken from :func:`conc_at`;
    a segment extrapolated beyond the last sample uses the log trapezoid, which equals the
    exponential integral ``Clast/lz * (1 - exp(-lz*(end - tlast)))``. NaN if a needed
    concentration is unknown (``start`` before the first sample, or ``end`` after a positive
    last sample without lambda_z).
    """
    _check_method(method)
    ta, ca = _as_profile(t, c)
    if not end > start:
        raise ValueError("end must be after start")
    c_start = conc_at(ta, ca, start, method, lz)
    c_end = conc_at(ta, ca, end, method, lz)
    if math.isnan(c_start) or math.isnan(c_end):
        return math.nan
    inside = (ta > start) & (ta < end)
    tt = np.concatenate([[start], ta[inside], [end]])
    cc = np.concatenate([[c_start], ca[inside], [c_end]])
    total = 0.0
    for i in range(tt.size - 1):
        seg_method = method
        if tt[i] >= ta[-1]:  # extrapolated segment: exponential decline
            seg_method = "linear-up/log-down"
        total += segment_auc(tt[i], cc[i], tt[i + 1], cc[i + 1], seg_method)
    return float(total)


#: How C at the end of an AUC window was obtained (the ``how`` of :func:`auc_to`).
END_OBSERVED = "observed"
END_INTERPOLATED = "interpolated"
END_LAMBDA_Z = "extrapolated with lambda_z"
END_CARRIED = "last sample carried forward"


def auc_to(
    t: Sequence[float],
    c: Sequence[float],
    start: float,
    end: float,
    method: str,
    lz: float = math.nan,
    *,
    t_after: float | None = None,
    c_after: float | None = None,
    end_shift: float = 0.0,
) -> tuple[float, str]:
    """AUC from ``start`` to ``end`` of one interval's samples, and how C(end) was obtained.

    C(end), if not sampled, is interpolated between the samples around it (the next sample
    after the interval, ``t_after``/``c_after``, included), else extrapolated with ``lz`` past
    the last sample, else - ``lz`` not estimable - the last sample is carried to ``end`` if it was
    taken at most ``end_shift`` h before it (the pre-dose sample of the next dose closes the
    interval). Returns ``(NaN, reason)`` when the AUC cannot be computed; ``(0, ...)`` when no
    concentration is positive.
    """
    ta, ca = _as_profile(t, c)
    if not (ta.size and ta[0] == start):
        return math.nan, f"no sample at the interval start ({start:g} h)"
    if not np.any(ca > 0):
        return 0.0, "no positive concentration"
    tx, cx = ta, ca
    if t_after is not None and c_after is not None and t_after > ta[-1]:
        tx, cx = np.append(ta, float(t_after)), np.append(ca, float(c_after))
    value = auc_interval(tx, cx, start, float(end), method, lz)
    if not math.isnan(value):
        if np.any(np.abs(tx - end) == 0):
            return value, END_OBSERVED
        if end <= tx[-1] or cx[-1] == 0:
            return value, END_INTERPOLATED
        return value, END_LAMBDA_Z
    if tx[-1] < end and end - tx[-1] <= end_shift:
        return auc(np.append(tx, float(end)), np.append(cx, cx[-1]), method), END_CARRIED
    return math.nan, (
        f"C({end:g} h) unknown: last sample at {tx[-1]:g} h, more than {end_shift:g} h before the end, "
        "and no lambda_z to extrapolate"
    )


@dataclass(frozen=True)
class ProfileResult:
    """NCA of one interval: ``values`` (in :data:`PARAMETERS` order), why missing values are
    missing (``reasons``), the terminal fit, and which values were computed with lambda_z
    (``uses_lambda_z``) or from AUCinf / AUCinf,pred (``uses_aucinf`` / ``uses_aucinf_pred``),
    for the acceptance rules of :mod:`fcrnpipe.nca.acceptance`."""

    values: dict[str, float]
    reasons: dict[str, str]
    lz: LambdaZ
    tau_how: str
    uses_lambda_z: frozenset[str]
    uses_aucinf: frozenset[str]
    uses_aucinf_pred: frozenset[str]


def _observed_values(
    ta: np.ndarray, ca: np.ndarray, start: float, method: str
) -> tuple[dict[str, float], dict[str, str]]:
    """Cmax, Tmax, Clast, Tlast and AUClast of one interval's samples (part of
    :func:`analyse_profile`), and the reasons of the missing ones."""
    reasons: dict[str, str] = {}
    cmax, tmax = cmax_tmax(ta, ca)
    clast, tlast = clast_tlast(ta, ca)
    if math.isnan(tmax):
        reasons["Tmax"] = reasons["Cmax"] = "no positive concentration" if ta.size else "no sample"
    if math.isnan(tlast):
        reasons["Clast"] = reasons["Tlast"] = "no positive concentration"
    starts_at_start = ta.size > 0 and ta[0] == start
    if not starts_at_start:
        auclast = math.nan
        reasons["AUClast"] = f"no sample at the interval start ({start:g} h)"
    elif math.isnan(tlast):
        auclast = 0.0
    else:
        keep = ta <= tlast
        auclast = auc(ta[keep], ca[keep], method)
    return {"Cmax": cmax, "Tmax": tmax, "Clast": clast, "Tlast": tlast, "AUClast": auclast}, reasons


def _interval_values(
    ta: np.ndarray,
    ca: np.ndarray,
    start: float,
    tau: float,
    method: str,
    lz: LambdaZ,
    t_after: float | None,
    c_after: float | None,
    end_shift: float,
) -> tuple[dict[str, float], dict[str, str], str]:
    """Ctrough, tau, AUCtau and Cavg of an interval ending at ``tau`` (part of
    :func:`analyse_profile`): the values, the reasons of the missing ones and how C(tau) was
    obtained (:func:`auc_to`)."""
    reasons: dict[str, str] = {}
    width = tau - start
    near = np.flatnonzero((ta <= tau) & (ta >= tau - end_shift))
    out = {"Ctrough": float(ca[near[-1]]) if near.size else math.nan}
    if not near.size:
        reasons["Ctrough"] = (
            f"no concentration observed at the end of the interval (within {end_shift:.4g} h before "
            f"{tau:.4g} h)"
        )
    out["tau"] = width
    auctau, tau_how = auc_to(ta, ca, start, tau, method, lz.lambda_z, t_after=t_after, c_after=c_after,
                             end_shift=end_shift)
    if math.isnan(auctau):
        reasons["AUCtau"] = reasons["Cavg"] = tau_how
    out["AUCtau"] = auctau
    out["Cavg"] = auctau / width if width > 0 else math.nan
    return out, reasons, tau_how


def _extrapolated_values(
    auclast: float, clast: float, tlast: float, lz: LambdaZ, auclast_reason: str
) -> tuple[dict[str, float], dict[str, str]]:
    """AUCinf, AUCinf_pred, AUCpext and AUCpext_pred after a first dose (part of
    :func:`analyse_profile`), and the reasons of the missing ones (``auclast_reason``: why
    AUClast is missing, when lambda_z is not the cause)."""
    lz_ok = lz.lambda_z > 0
    nan = math.nan
    extra = clast / lz.lambda_z if lz_ok and clast > 0 else nan
    clast_pred = lz.predict(tlast) if lz_ok and not math.isnan(tlast) else nan
    extra_pred = clast_pred / lz.lambda_z if lz_ok and clast_pred > 0 else nan
    aucinf, aucinf_pred = auclast + extra, auclast + extra_pred
    out = {
        "AUCinf": aucinf,
        "AUCinf_pred": aucinf_pred,
        "AUCpext": 100.0 * extra / aucinf if aucinf > 0 else nan,
        "AUCpext_pred": 100.0 * extra_pred / aucinf_pred if aucinf_pred > 0 else nan,
    }
    no_lz = f"lambda_z not estimable: {lz.reason}"
    reasons = {k: no_lz if not lz_ok else auclast_reason for k, v in out.items() if math.isnan(v)}
    return out, reasons


def _terminal_values(
    lz: LambdaZ, dose: float, exposure: float, exposure_name: str, exposure_reason: str | None
) -> tuple[dict[str, float], dict[str, str]]:
    """The lambda_z outputs, t_half, CL/F and Vz/F (from ``exposure``, AUCinf or AUCtau; part of
    :func:`analyse_profile`), and the reasons of the missing ones (``exposure_reason``: why the
    exposure is missing, if it is)."""
    lz_ok = lz.lambda_z > 0
    nan = math.nan
    no_lz = f"lambda_z not estimable: {lz.reason}"
    out = {
        "lambda_z": lz.lambda_z,
        "lambda_z_n": float(lz.n) if lz_ok else nan,
        "lambda_z_adjr2": lz.adj_r2,
        "lambda_z_span": lz.span_ratio,
        "lambda_z_tfirst": lz.t_first,
        "lambda_z_tlast": lz.t_last,
        "t_half": lz.t_half,
        "CL_F": dose / exposure if exposure > 0 else nan,
        "Vz_F": dose / (lz.lambda_z * exposure) if exposure > 0 and lz_ok else nan,
    }
    reasons: dict[str, str] = {}
    lz_outputs = ("lambda_z", "lambda_z_n", "lambda_z_adjr2", "lambda_z_span", "lambda_z_tfirst", "lambda_z_tlast")
    for k in (*lz_outputs, "t_half"):
        if math.isnan(out[k]):
            reasons[k] = no_lz
    exposure_zero = exposure_reason if exposure_reason is not None else f"{exposure_name} is 0"
    if math.isnan(out["CL_F"]):
        reasons["CL_F"] = exposure_zero
    if math.isnan(out["Vz_F"]):
        reasons["Vz_F"] = no_lz if not lz_ok else reasons.get("CL_F", f"{exposure_name} is 0")
    return out, reasons


def _lambda_z_dependence(
    single_dose: bool, tau_how: str
) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """The parameters of :func:`analyse_profile` computed with lambda_z, from AUCinf and from
    AUCinf_pred (``tau_how``: how C(tau) was obtained, "" without ``tau``).

    >>> [sorted(s) for s in _lambda_z_dependence(False, END_LAMBDA_Z)]
    [['AUCtau', 'CL_F', 'Cavg', 'Vz_F', 'lambda_z', 't_half'], [], []]
    """
    uses_lz: set[str] = {"AUCtau", "Cavg"} if tau_how == END_LAMBDA_Z else set()
    uses_inf: set[str] = set()
    uses_inf_pred: set[str] = set()
    if single_dose:
        uses_lz |= {"AUCinf", "AUCinf_pred", "AUCpext", "AUCpext_pred", "CL_F", "Vz_F"}
        uses_inf |= {"AUCinf", "AUCpext", "CL_F", "Vz_F"}
        uses_inf_pred |= {"AUCinf_pred", "AUCpext_pred"}
    else:
        uses_lz.add("Vz_F")
        if "AUCtau" in uses_lz:
            uses_lz.add("CL_F")
    uses_lz |= {"lambda_z", "t_half"}
    return frozenset(uses_lz), frozenset(uses_inf), frozenset(uses_inf_pred)


def analyse_profile(
    t: Sequence[float],
    c: Sequence[float],
    dose: float,
    tau: float | None = None,
    *,
    start: float = 0.0,
    single_dose: bool = True,
    method: str = "linear-up/log-down",
    min_points: int = 3,
    adj_r2_tolerance: float = 1e-4,
    exclude_cmax: bool = True,
    fixed_times: Sequence[float] | None = None,
    t_after: float | None = None,
    c_after: float | None = None,
    end_shift: float = 0.0,
) -> ProfileResult:
    """NCA parameters of one dosing interval, with the reason of every missing value.

    ``t``/``c`` are the cleaned samples of the interval (hours after the dose, all within
    [start, tau], BLQ already set to 0 or dropped), starting at ``start`` (the caller imputes
    C(start), e.g. 0 before a first dose; without a sample at ``start`` AUClast and AUCtau are
    NaN); ``dose`` in mg. ``tau`` is the end of the dosing interval (the actual time of the next
    dose, or the nominal end): ``tau`` (parameter) = ``tau - start``, AUCtau = AUC from ``start``
    to ``tau`` (C(tau) by :func:`auc_to`), Cavg = AUCtau / (tau - start), Ctrough = the observed
    concentration at the end of the interval (the last sample if taken at most ``end_shift`` h
    before ``tau``: the pre-dose sample of the next dose).

    ``single_dose`` (first dose): AUCinf = AUClast + Clast/lambda_z (observed Clast),
    AUCinf_pred = AUClast + Clast_pred/lambda_z (Clast_pred on the regression line at Tlast,
    PKNCA), AUCpext and AUCpext_pred, CL/F = dose/AUCinf, Vz/F = dose/(lambda_z*AUCinf).
    Otherwise (a later dose, no AUCinf): CL/F = dose/AUCtau, Vz/F = dose/(lambda_z*AUCtau).
    """
    _check_method(method)
    ta, ca = _as_profile(t, c)
    out, reasons = _observed_values(ta, ca, start, method)
    lz = lambda_z(
        ta,
        ca,
        min_points=min_points,
        adj_r2_tolerance=adj_r2_tolerance,
        exclude_cmax=exclude_cmax,
        fixed_times=fixed_times,
    )
    tau_how = ""
    if tau is not None:
        part, why, tau_how = _interval_values(ta, ca, start, float(tau), method, lz, t_after, c_after, end_shift)
        out.update(part)
        reasons.update(why)
    if single_dose:
        part, why = _extrapolated_values(out["AUClast"], out["Clast"], out["Tlast"], lz,
                                         reasons.get("AUClast", "no positive concentration"))
        out.update(part)
        reasons.update(why)
    exposure_name = "AUCinf" if single_dose else "AUCtau"
    exposure = out.get(exposure_name, math.nan)
    part, why = _terminal_values(lz, dose, exposure, exposure_name, reasons.get(exposure_name))
    out.update(part)
    reasons.update(why)
    uses_lz, uses_inf, uses_inf_pred = _lambda_z_dependence(single_dose, tau_how)
    values = {k: out[k] for k in PARAMETERS if k in out}
    return ProfileResult(
        values=values,
        reasons={k: v for k, v in reasons.items() if k in values and math.isnan(values[k])},
        lz=lz,
        tau_how=tau_how,
        uses_lambda_z=uses_lz,
        uses_aucinf=uses_inf,
        uses_aucinf_pred=uses_inf_pred,
    )


def nca_profile(
    t: Sequence[float],
    c: Sequence[float],
    dose: float,
    tau: float | None = None,
    **kwargs: object,
) -> dict[str, float]:
    """The parameter values of :func:`analyse_profile` (a dict in :data:`PARAMETERS` order,
    without ``Rac``; a value that cannot be estimated is NaN)."""
    return analyse_profile(t, c, dose, tau, **kwargs).values  # type: ignore[arg-type]
