"""Summaries of the NCA parameters: descriptive statistics by arm and dose proportionality."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from fcrnpipe.errors import UserError

SUMMARY_COLUMNS = [
    "ARMCD", "interval", "parameter", "unit", "n", "geomean", "geocv_pct", "mean", "sd", "median", "min", "max",
    "n_missing", "n_flagged", "notes",
]  # fmt: skip
REASON_COLUMNS = ["interval", "parameter", "kind", "reason", "n", "n_profiles"]
#: Parameters summarised by median and range only (sampling times and point counts, as PKNCA).
MEDIAN_RANGE_ONLY = frozenset({"Tmax", "Tlast", "tau", "lambda_z_tfirst", "lambda_z_tlast", "lambda_z_n"})

DOSE_PROPORTIONALITY_COLUMNS = [
    "interval", "parameter", "unit", "n", "n_dose_levels", "dose_low", "dose_high", "dose_ratio",
    "intercept", "slope", "slope_se", "df", "ci_level", "slope_ci_low", "slope_ci_high",
    "crit_low", "crit_high", "pk_ratio", "pk_ratio_ci_low", "pk_ratio_ci_high",
    "rdnm", "rdnm_ci_low", "rdnm_ci_high", "conclusion",
]  # fmt: skip
#: Exposure parameters tested for dose proportionality. Cavg (= AUCtau / tau) rather than AUCtau:
#: with tau = each subject's actual dosing interval, AUCtau of subjects dosed again after 143 h or
#: after 191 h are not comparable; their average concentrations are.
DP_PARAMETERS = ("Cmax", "Cavg", "AUCinf")


def geometric_mean(x: Sequence[float]) -> float:
    """exp(mean(ln x)); NaN if empty or any value <= 0."""
    a = np.asarray(x, dtype=float)
    if a.size == 0 or np.any(a <= 0):
        return math.nan
    return float(np.exp(np.mean(np.log(a))))


def geometric_cv_pct(x: Sequence[float]) -> float:
    """Geometric CV (%) = 100 sqrt(exp(s^2) - 1), s = SD of ln x (n - 1); NaN if n < 2 or x <= 0."""
    a = np.asarray(x, dtype=float)
    if a.size < 2 or np.any(a <= 0):
        return math.nan
    s2 = float(np.var(np.log(a), ddof=1))
    return 100.0 * math.sqrt(math.expm1(s2))


def describe(x: Sequence[float], median_range_only: bool = False) -> dict[str, float]:
    """n, geomean, geocv_pct, mean, sd (n - 1), median, min, max of the non-missing values."""
    a = np.asarray(x, dtype=float)
    a = a[np.isfinite(a)]
    nan = math.nan
    out = {"n": int(a.size), "geomean": nan, "geocv_pct": nan, "mean": nan, "sd": nan}
    if a.size:
        out.update(median=float(np.median(a)), min=float(a.min()), max=float(a.max()))
        if not median_range_only:
            out.update(
                geomean=geometric_mean(a),
                geocv_pct=geometric_cv_pct(a),
                mean=float(a.mean()),
                sd=float(a.std(ddof=1)) if a.size > 1 else nan,
            )
    else:
        out.update(median=nan, min=nan, max=nan)
    return out


def _with_arm(nca_long: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    for col in ("USUBJID", "ARMCD"):
        if col not in adsl.columns:
            raise UserError(f"ADSL: missing column {col} needed by the NCA summary")
    arm = adsl.drop_duplicates("USUBJID").set_index("USUBJID")["ARMCD"].astype(str)
    df = nca_long.drop(columns=[c for c in ("ARMCD",) if c in nca_long.columns])
    return df.assign(ARMCD=df["USUBJID"].map(arm))


def _text(df: pd.DataFrame, col: str) -> pd.Series:
    if col not in df.columns:
        return pd.Series("", index=df.index, dtype=object)
    return df[col].astype(object).where(df[col].notna(), "").astype(str).str.strip()


def _flagged(df: pd.DataFrame) -> pd.Series:
    """Rows with a value that fails an acceptance rule (``exclude`` column of ``pk/nca.csv``)."""
    return np.isfinite(df["value"].astype(float)) & _text(df, "exclude").ne("")


def _counts(reasons: pd.Series) -> list[tuple[str, int]]:
    """(reason, count) in decreasing count, then alphabetical order."""
    vc = reasons.value_counts()
    return sorted(((str(k), int(v)) for k, v in vc.items()), key=lambda kv: (-kv[1], kv[0]))


#: The words of a note of :func:`summarise_nca` (``notes``) -> the kind of :func:`missing_reasons`.
NOTE_KINDS = {"not estimable": "not estimable", "excluded": "excluded", "flagged, summarised": "flagged"}
_KIND_WORDS = "|".join(re.escape(k) for k in NOTE_KINDS)
_NOTE = re.compile(rf"({_KIND_WORDS}): (.*?) \((\d+)\)(?=; (?:{_KIND_WORDS}): |$)")


def format_note(words: str, reason: str, count: int) -> str:
    """One note of the ``notes`` column: ``"not estimable: <reason> (<count>)"``."""
    return f"{words}: {reason} ({count})"


def parse_notes(notes: str) -> list[tuple[str, str, int]]:
    """The (kind, reason, count) of each note of a ``notes`` cell of :func:`summarise_nca`
    (kinds as :func:`missing_reasons`: ``not estimable``, ``excluded``, ``flagged``); a cell that
    does not read back exactly is a :class:`UserError`."""
    notes = "" if notes is None or (isinstance(notes, float) and math.isnan(notes)) else str(notes)
    found = [(m.group(1), m.group(2), int(m.group(3))) for m in _NOTE.finditer(notes)]
    if "; ".join(format_note(*f) for f in found) != notes:
        raise UserError(f"pk/nca_summary.csv: notes {notes!r} are not '<kind>: <reason> (<n>)' joined by '; '")
    return [(NOTE_KINDS[w], r, k) for w, r, k in found]


def summarise_nca(nca_long: pd.DataFrame, adsl: pd.DataFrame, exclude_flagged: bool = True) -> pd.DataFrame:
    """Descriptive statistics per arm (ADSL.ARMCD), interval and parameter.

    Columns :data:`SUMMARY_COLUMNS`, sorted by ARMCD, interval, parameter. ``n`` counts the
    values summarised: not missing and, with ``exclude_flagged``, not failing an acceptance rule
    (``exclude`` column); ``n_missing`` = profiles without a value, ``n_flagged`` = values failing
    an acceptance rule (left out when ``exclude_flagged``); ``notes`` = the reasons, with counts
    (``na_reason`` and ``exclude`` of ``pk/nca.csv``). Geometric statistics are NaN when a value
    is <= 0; Tmax (and the other sampling times and point counts in :data:`MEDIAN_RANGE_ONLY`)
    get median, min and max only.
    """
    df = _with_arm(nca_long, adsl)
    df = df.assign(_flag=_flagged(df), _na=_text(df, "na_reason"), _ex=_text(df, "exclude"))
    rows = []
    for (arm, interval, parameter, unit), g in df.groupby(["ARMCD", "interval", "parameter", "unit"], sort=True):
        v = g["value"].to_numpy(float)
        use = np.isfinite(v) & ~(g["_flag"].to_numpy(bool) if exclude_flagged else np.zeros(v.size, bool))
        stats_ = describe(v[use], median_range_only=parameter in MEDIAN_RANGE_ONLY)
        missing = g[~np.isfinite(v)]
        flagged = g[g["_flag"]]
        notes = [format_note("not estimable", r, k) for r, k in _counts(missing["_na"].replace("", "not estimable"))]
        verb = "excluded" if exclude_flagged else "flagged, summarised"
        notes += [format_note(verb, r, k) for r, k in _counts(flagged["_ex"])]
        rows.append(
            {
                "ARMCD": arm,
                "interval": interval,
                "parameter": parameter,
                "unit": unit,
                **stats_,
                "n_missing": int(len(missing)),
                "n_flagged": int(len(flagged)),
                "notes": "; ".join(notes),
            }
        )
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    return out.astype({"n": "int64", "n_missing": "int64", "n_flagged": "int64"}).reset_index(drop=True)


def missing_reasons(nca_long: pd.DataFrame, exclude_flagged: bool = True) -> pd.DataFrame:
    """Why values are missing from the summaries, over all arms: one row per interval, parameter,
    kind (``not estimable``, or ``excluded`` / ``flagged`` for acceptance failures) and reason,
    with ``n`` profiles and ``n_profiles`` = profiles of the interval with that parameter.
    Columns :data:`REASON_COLUMNS`, sorted by interval, parameter, kind, decreasing n."""
    df = nca_long.assign(_flag=_flagged(nca_long), _na=_text(nca_long, "na_reason"), _ex=_text(nca_long, "exclude"))
    rows = []
    for (interval, parameter), g in df.groupby(["interval", "parameter"], sort=True):
        total = int(len(g))
        missing = g[~np.isfinite(g["value"].astype(float))]
        for r, k in _counts(missing["_na"].replace("", "not estimable")):
            rows.append((interval, parameter, "not estimable", r, k, total))
        for r, k in _counts(g.loc[g["_flag"], "_ex"]):
            rows.append((interval, parameter, "excluded" if exclude_flagged else "flagged", r, k, total))
    return pd.DataFrame(rows, columns=REASON_COLUMNS).astype({"n": "int64", "n_profiles": "int64"})


def power_model(dose: Sequence[float], value: Sequence[float], ci_level: float = 0.90) -> dict[str, float]:
    """OLS fit of ln(value) = a + b ln(dose); b with its SE and two-sided ``ci_level`` t-interval.

    Needs >= 2 distinct doses; with n = 2 points the SE and CI are NaN (no residual df).
    """
    x = np.log(np.asarray(dose, dtype=float))
    y = np.log(np.asarray(value, dtype=float))
    n = int(x.size)
    sxx = float(np.sum((x - x.mean()) ** 2))
    if n < 2 or sxx == 0:
        raise ValueError("the power model needs at least two distinct dose levels")
    b = float(np.sum((x - x.mean()) * (y - y.mean())) / sxx)
    a = float(y.mean() - b * x.mean())
    df = n - 2
    if df > 0:
        s2 = float(np.sum((y - a - b * x) ** 2)) / df
        se = math.sqrt(s2 / sxx)
        from scipy import stats  # imported where used (0.5 s that table and figure jobs need not pay)
        q = float(stats.t.ppf(0.5 + ci_level / 2.0, df))
        lo, hi = b - q * se, b + q * se
    else:
        se = lo = hi = math.nan
    return {"intercept": a, "slope": b, "slope_se": se, "df": df, "slope_ci_low": lo, "slope_ci_high": hi}


def _dosed_values(
    nca_long: pd.DataFrame, adsl: pd.DataFrame, parameters: Sequence[str], exclude_flagged: bool
) -> pd.DataFrame:
    """The positive finite values of ``parameters`` with their dose (the ``DOSE`` column of the
    NCA table, else ADSL.TRT01PN; positive), less the flagged ones if ``exclude_flagged``."""
    df = nca_long[nca_long["parameter"].isin(parameters)].copy()
    if exclude_flagged:
        df = df[~_flagged(df)]
    if "DOSE" not in df.columns:
        if "TRT01PN" not in adsl.columns:
            raise UserError("ADSL: missing column TRT01PN (planned dose) needed for dose proportionality")
        df["DOSE"] = df["USUBJID"].map(adsl.drop_duplicates("USUBJID").set_index("USUBJID")["TRT01PN"])
    return df[np.isfinite(df["value"].astype(float)) & (df["value"] > 0) & (df["DOSE"] > 0)]


def proportionality_conclusion(lo: float, hi: float, crit_low: float, crit_high: float) -> str:
    """The conclusion on a power-model slope whose CI is ``[lo, hi]`` against the acceptance
    range ``[crit_low, crit_high]`` (see :func:`dose_proportionality`).

    >>> proportionality_conclusion(0.9, 1.1, 0.8, 1.2), proportionality_conclusion(0.9, 1.3, 0.8, 1.2)
    ('proportional', 'inconclusive')
    >>> proportionality_conclusion(1.3, 1.4, 0.8, 1.2), proportionality_conclusion(float("nan"), float("nan"), 0.8, 1.2)
    ('not proportional', 'not estimable')
    """
    if math.isnan(lo):
        return "not estimable"
    if crit_low <= lo and hi <= crit_high:
        return "proportional"
    if hi < crit_low or lo > crit_high:
        return "not proportional"
    return "inconclusive"


def dose_proportionality(
    nca_long: pd.DataFrame,
    adsl: pd.DataFrame,
    parameters: Sequence[str] = DP_PARAMETERS,
    ci_level: float = 0.90,
    theta: tuple[float, float] = (0.8, 1.25),
    exclude_flagged: bool = True,
) -> pd.DataFrame:
    """Power-model dose proportionality (Smith et al., Pharm Res 2000;17:1278) per interval.

    For each interval and exposure parameter with values at >= 2 dose levels (dose = the
    ``DOSE`` column of the NCA table, else ADSL.TRT01PN): slope b with its ``ci_level`` CI,
    r = highest / lowest dose, the implied exposure ratio over the range ``pk_ratio = r^b``, the
    ratio of dose-normalised means ``rdnm = r^(b-1)`` (with CIs), and the acceptance range for b,
    ``crit = 1 + ln(theta)/ln(r)``. ``conclusion``: "proportional" if the CI of b lies inside the
    range, "not proportional" if it lies entirely outside, "inconclusive" otherwise, "not
    estimable" without residual degrees of freedom. Header only when no parameter qualifies.
    With ``exclude_flagged`` values failing an acceptance rule (``exclude`` column) are left out.
    """
    df = _dosed_values(nca_long, adsl, parameters, exclude_flagged)
    rows = []
    for (interval, parameter, unit), g in df.groupby(["interval", "parameter", "unit"], sort=True):
        levels = np.unique(g["DOSE"].to_numpy(float))
        if levels.size < 2:
            continue
        fit = power_model(g["DOSE"].to_numpy(float), g["value"].to_numpy(float), ci_level)
        r = float(levels[-1] / levels[0])
        lr = math.log(r)
        crit_low, crit_high = 1 + math.log(theta[0]) / lr, 1 + math.log(theta[1]) / lr
        lo, hi = fit["slope_ci_low"], fit["slope_ci_high"]
        conclusion = proportionality_conclusion(lo, hi, crit_low, crit_high)
        rows.append(
            {
                "interval": interval,
                "parameter": parameter,
                "unit": unit,
                "n": int(len(g)),
                "n_dose_levels": int(levels.size),
                "dose_low": float(levels[0]),
                "dose_high": float(levels[-1]),
                "dose_ratio": r,
                **fit,
                "ci_level": ci_level,
                "crit_low": crit_low,
                "crit_high": crit_high,
                "pk_ratio": r ** fit["slope"],
                "pk_ratio_ci_low": r**lo,
                "pk_ratio_ci_high": r**hi,
                "rdnm": r ** (fit["slope"] - 1),
                "rdnm_ci_low": r ** (lo - 1),
                "rdnm_ci_high": r ** (hi - 1),
                "conclusion": conclusion,
            }
        )
    return pd.DataFrame(rows, columns=DOSE_PROPORTIONALITY_COLUMNS).reset_index(drop=True)
