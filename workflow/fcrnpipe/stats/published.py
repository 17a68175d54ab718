"""Published findings of the reference study next to the values this pipeline reproduces.

The findings, their sources and the numbers of their criteria are data:
``resources/published_findings.yaml`` (:mod:`fcrnpipe.findings`, also read by the simulator's
calibration); this module takes each finding's value from ``stats/endpoints.csv`` and decides
with :func:`fcrnpipe.findings.evaluate` whether it holds. Sources: the abstract of Wang et al.,
Eur J Neurol 2023;30:195-203 (``abstract``), the Rare Disease Advisor news summary (``news
summary``), values derived from confirmed numbers (``derived``) and plausible targets not found
in any source (``assumption``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from fcrnpipe.findings import Finding, evaluate, load_findings
from fcrnpipe.stats.ard import ARD_KEY
from fcrnpipe.stats.descriptive import ENDPOINT_COLUMNS, OVERALL, frame

PUBLISHED_COLUMNS = ["finding", "source", "published", "reproduced", "criterion", "holds"]
#: Columns of the reproduced numbers (:func:`published_comparison`): the finding, the number as
#: the endpoints give it (unrounded) and the key of the ARD row it is.
VALUE_COLUMNS = ["finding", "value", *ARD_KEY]


@functools.cache
def default_findings() -> dict[str, Finding]:
    """The shipped findings (``resources/published_findings.yaml``), read once, when first used."""
    return load_findings()


def __getattr__(name: str) -> Any:
    """``FINDINGS`` and the IgG numbers quoted by :mod:`fcrnpipe.pkpd.reproduction`
    (``IGG_WEEK1_MIN_REDUCTION``, ``IGG_WEEK3_MIN_REDUCTION``, ``IGG_FOLLOWUP_RANGE``), read
    from the findings file when first used."""
    f = default_findings()
    values = {
        "FINDINGS": lambda: f,
        "IGG_WEEK1_MIN_REDUCTION": lambda: -float(f["igg_week1"].check["value"]),
        "IGG_WEEK3_MIN_REDUCTION": lambda: -float(f["igg_week3"].check["value"]),
        "IGG_FOLLOWUP_RANGE": lambda: (float(f["igg_followup"].check["low"]), float(f["igg_followup"].check["high"])),
    }
    if name in values:
        return values[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

NOT_AVAILABLE = "not available"
IGG_PCHG = "IGG: percent change from baseline"


class _Lookup:
    """Estimates of an endpoints table by (endpoint, arm, visit, statistic); every number read
    (:meth:`est`, :meth:`n`, :meth:`p`) is recorded with its ARD key until :meth:`take`."""

    def __init__(self, endpoints: pd.DataFrame) -> None:
        self.df = endpoints
        self.index = {(r.endpoint, r.arm, r.visit, r.statistic): r for r in endpoints.itertuples(index=False)}
        self.read: dict[tuple[str, ...], float] = {}

    def get(self, endpoint: str, arm: str, visit: str, statistic: str) -> Any | None:
        return self.index.get((endpoint, arm, visit, statistic))

    def _record(self, r: Any, component: str, value: float) -> float:
        self.read[(r.endpoint, r.population, r.arm, r.visit, r.statistic, component)] = value
        return value

    def est(self, endpoint: str, arm: str, visit: str, statistic: str) -> float:
        r = self.get(endpoint, arm, visit, statistic)
        return self._record(r, "estimate", float(r.estimate)) if r is not None else math.nan

    def n(self, endpoint: str, arm: str, visit: str, statistic: str) -> int | None:
        """The subjects the statistic is computed on (ARD component ``n``), None without the row."""
        r = self.get(endpoint, arm, visit, statistic)
        return int(self._record(r, "n", float(r.n))) if r is not None else None

    def p(self, endpoint: str, arm: str, visit: str, statistic: str) -> float:
        r = self.get(endpoint, arm, visit, statistic)
        return self._record(r, "p_value", float(r.p_value)) if r is not None else math.nan

    def row_estimate(self, r: Any) -> float:
        """The estimate of an endpoint row ``r`` (recorded)."""
        return self._record(r, "estimate", float(r.estimate))

    def take(self) -> dict[tuple[str, ...], float]:
        """The numbers read since the last call, by ARD key (in reading order)."""
        read, self.read = self.read, {}
        return read


def _fmt(x: float | None, digits: int = 2) -> str:
    """``x`` rounded half away from zero (as the tables) or ``not available``."""
    if x is None or math.isnan(float(x)):
        return NOT_AVAILABLE
    q = Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return f"{abs(q) if q == 0 else q:.{digits}f}"


def _signed(x: float) -> str:
    """``4`` -> ``4``, ``-1.3`` -> ``(-1.3)`` (for ``|mean - (-1.3)|``)."""
    return f"({x:g})" if x < 0 else f"{x:g}"


def _high_dose_arm(arms: Sequence[Mapping[str, Any]], dose_mg: float = 680.0) -> Mapping[str, Any]:
    """The arm with ``dose_mg`` (else the highest dose)."""
    exact = [a for a in arms if float(a["dose_mg"]) == dose_mg]
    return exact[0] if exact else max(arms, key=lambda a: float(a["dose_mg"]))


def _row(
    finding: str, source: str, published: str, reproduced: str, criterion: str, holds: bool, ep: _Lookup
) -> dict[str, Any]:
    """One row of the comparison (columns :data:`PUBLISHED_COLUMNS`) and, under ``_values``, the
    numbers ``ep`` read for it (by ARD key)."""
    return {
        "finding": finding,
        "source": source,
        "published": published,
        "reproduced": reproduced,
        "criterion": criterion,
        "holds": bool(holds),
        "_values": ep.take(),
    }


@dataclass(frozen=True)
class _Context:
    """What every finding's row reads: the endpoints, the findings and the study's labels."""

    endpoints: pd.DataFrame
    ep: _Lookup
    fd: Mapping[str, Finding]
    arms: Sequence[Mapping[str, Any]]
    name: dict[float, str]  # avisitn -> visit name
    day_visit: dict[int, str]  # study day -> visit name (post-baseline)
    hi: str  # the high-dose arm's code
    hi_label: str  # its dose, "680 mg"


def _enrolment_rows(c: _Context) -> list[dict[str, Any]]:
    """Subjects enrolled per dose group (abstract)."""
    f = c.fd["enrolled"]
    counts = {str(a["armcd"]): c.ep.est("Disposition: enrolled", str(a["armcd"]), "", "n_subjects") for a in c.arms}
    by_dose = {float(a["dose_mg"]): counts[str(a["armcd"])] for a in c.arms}
    expected = ", ".join(f"{float(d):g} mg: {n}" for d, n in f.check["by_dose_mg"].items())
    return [
        _row(
            f.finding,
            f.source,
            f.published_text(),
            "; ".join(f"{k}: {_fmt(v, 0)}" for k, v in counts.items()),
            f"enrolled subjects per arm equal the published numbers ({expected})",
            len(by_dose) == len(counts) and evaluate(f.check, by_dose),
            c.ep,
        )
    ]


def _igg_reduction_rows(c: _Context) -> list[dict[str, Any]]:
    """Mean total IgG reduction at weeks 1 and 3 (high dose)."""
    rows = []
    for wk, f in ((1, c.fd["igg_week1"]), (3, c.fd["igg_week3"])):
        visit = c.name.get(float(wk), f"WEEK {wk}")
        mean = c.ep.est(IGG_PCHG, c.hi, visit, "mean")
        n = c.ep.n(IGG_PCHG, c.hi, visit, "mean")
        available = n is not None and not math.isnan(mean)
        rows.append(
            _row(
                f"Mean total IgG reduction at week {wk} ({c.hi_label})",
                f.source,
                f.published_text(),
                f"{_fmt(-mean, 1)}% reduction (n = {n})" if available else NOT_AVAILABLE,
                f"mean PCHG at {visit} ({c.hi}) < {float(f.check['value']):g}",
                evaluate(f.check, mean),
                c.ep,
            )
        )
    return rows


def _igg_nadir_rows(c: _Context, dosing_days: Sequence[int]) -> list[dict[str, Any]]:
    """The largest mean IgG reduction (high dose) at the last dose's visit, or within the
    finding's tolerance of it."""
    e = c.endpoints
    means = e[(e["endpoint"] == IGG_PCHG) & (e["arm"] == c.hi) & (e["statistic"] == "mean")]
    post = [(float(r.estimate), r.visit) for r in means.itertuples(index=False) if not math.isnan(float(r.estimate))]
    last_day = int(max(dosing_days)) if len(dosing_days) else None
    last_visit = c.day_visit.get(last_day, NOT_AVAILABLE) if last_day is not None else NOT_AVAILABLE
    at_last = float("nan")
    if post:
        low, at = min(post)
        low = c.ep.est(IGG_PCHG, c.hi, at, "mean")
        at_last = c.ep.est(IGG_PCHG, c.hi, last_visit, "mean")
        reproduced = f"largest mean reduction at {at} ({_fmt(-low, 1)}%); {last_visit}: {_fmt(-at_last, 1)}%"
    else:
        at, reproduced = None, NOT_AVAILABLE
    f = c.fd["igg_nadir_at_last_dose"]
    return [
        _row(
            f"Maximum mean IgG reduction at the last dose (day {last_day}, {c.hi_label})",
            f.source,
            f.published_text(day=last_day),
            reproduced,
            f"the mean PCHG ({c.hi}) at the last-dose visit {last_visit} is the lowest of all post-baseline "
            f"visits, or within {float(f.check['value']):g} percentage point of it (weekly visits cannot place "
            "the nadir more precisely)",
            at is not None and (at == last_visit or evaluate(f.check, at_last - low)),
            c.ep,
        )
    ]


def _igg_followup_rows(c: _Context, followup_avisitn: float) -> list[dict[str, Any]]:
    """Total IgG (percent of baseline, high dose) at the follow-up visit."""
    f = c.fd["igg_followup"]
    fu_visit = c.name.get(float(followup_avisitn), NOT_AVAILABLE)
    fu = c.ep.est("IGG: percent of baseline at follow-up", c.hi, fu_visit, "mean")
    lo, up = float(f.check["low"]), float(f.check["high"])
    return [
        _row(
            f"Total IgG 9 weeks after the last dose ({fu_visit}, {c.hi_label})",
            f.source,
            f.published_text(),
            f"{_fmt(fu, 1)}% of baseline" if not math.isnan(fu) else NOT_AVAILABLE,
            f"{lo:g} <= mean (100 + PCHG) at {fu_visit} ({c.hi}) <= {up:g}",
            evaluate(f.check, fu),
            c.ep,
        )
    ]


def _aqp4_rows(c: _Context) -> list[dict[str, Any]]:
    """AQP4-IgG undetectable at week 3 (all arms)."""
    f = c.fd["aqp4_undetectable_week3"]
    w3 = c.name.get(3.0, "WEEK 3")
    r = c.ep.get("AQP4AB: undetectable", OVERALL, w3, "n_subjects")
    k, n = (None, None)
    if r is not None:
        k, n = int(c.ep.est("AQP4AB: undetectable", OVERALL, w3, "n_subjects")), c.ep.n(
            "AQP4AB: undetectable", OVERALL, w3, "n_subjects"
        )
    return [
        _row(
            f"AQP4-IgG undetectable at {w3}",
            f.source,
            f.published_text(),
            f"{k} of {n} evaluated" if r is not None else NOT_AVAILABLE,
            f"UNDETFL=Y in exactly {f.check['k']} of {f.check['n']} subjects evaluated at {w3} (all arms)",
            evaluate(f.check, (k, n)),
            c.ep,
        )
    ]


def _edss_rows(c: _Context, primary_visit: float) -> list[dict[str, Any]]:
    """EDSS at baseline, at the primary visit and its change (mean ± SD), and the Wilcoxon
    signed-rank test (all arms, subjects with baseline and the primary visit)."""
    pv = c.name.get(float(primary_visit), f"WEEK {primary_visit:g}")
    chg = "EDSS: change from baseline"
    stats = {
        "baseline": ("baseline_mean", "baseline_sd"),
        "week 4": ("visit_mean", "visit_sd"),
        "change": ("mean", "sd"),
    }
    r = c.ep.get(chg, OVERALL, pv, "mean")
    label = {"baseline": "EDSS at baseline", "week 4": f"EDSS at {pv}", "change": f"EDSS change from baseline to {pv}"}
    rows = []
    for key, f in zip(stats, (c.fd["edss_baseline"], c.fd["edss_week4"], c.fd["edss_change"])):
        m, s = (c.ep.est(chg, OVERALL, pv, stat) for stat in stats[key])
        n_pairs = c.ep.n(chg, OVERALL, pv, "mean") if r is not None else 0
        ck = f.check
        pm, ps = float(ck["mean"]), float(ck["sd"])
        rows.append(
            _row(
                label[key] + " (mean ± SD)",
                f.source,
                f.published_text(),
                f"{_fmt(m)} ± {_fmt(s)} (n = {n_pairs})" if r is not None else NOT_AVAILABLE,
                f"|mean - {_signed(pm)}| <= {float(ck['mean_tolerance']):g} and |SD - {ps:g}| <= "
                f"{float(ck['sd_tolerance']):g} (all arms, subjects with baseline and {pv})",
                evaluate(ck, (m, s)),
                c.ep,
            )
        )
    f = c.fd["edss_wilcoxon"]
    t = c.ep.get(chg, OVERALL, pv, "wilcoxon_signed_rank")
    p = c.ep.p(chg, OVERALL, pv, "wilcoxon_signed_rank")
    rows.append(
        _row(
            f"EDSS change to {pv}: Wilcoxon signed-rank p-value",
            f.source,
            f.published_text(),
            f"p = {p:.4g} (exact, n = {c.ep.n(chg, OVERALL, pv, 'wilcoxon_signed_rank')}, "
            f"V = {c.ep.est(chg, OVERALL, pv, 'wilcoxon_signed_rank'):g})"
            if t is not None
            else NOT_AVAILABLE,
            f"exact two-sided p < {float(f.check['value']):g} (all arms)",
            evaluate(f.check, p),
            c.ep,
        )
    )
    return rows


def _disposition_rows(c: _Context) -> list[dict[str, Any]]:
    """The voluntary withdrawal after the first dose and the discontinuations for
    hypoalbuminaemia (all arms)."""
    wd = []
    for stem in ("treatment", "study"):
        e = c.ep.get(f"Disposition: discontinued {stem}: WITHDRAWAL BY SUBJECT", OVERALL, "", "n_subjects_after_dose_1")
        wd.append((stem, int(c.ep.row_estimate(e)) if e is not None else 0))
    n_wd = wd[0][1] if wd[0][1] else wd[1][1]
    f = c.fd["withdrawal_after_first_dose"]
    rows = [
        _row(
            f.finding,
            f.source,
            f.published_text(),
            "; ".join(f"{stem}: {v}" for stem, v in wd),
            f"{f.check['value']} subject discontinued treatment (else study) with reason WITHDRAWAL BY SUBJECT "
            "after dose 1",
            evaluate(f.check, n_wd),
            c.ep,
        )
    ]
    e = c.endpoints
    disc = e[
        e["endpoint"].str.startswith("TEAE leading to discontinuation by SOC and PT:")
        & e["endpoint"].str.contains("albumin", case=False)
        & (e["arm"] == OVERALL)
        & (e["statistic"] == "n_subjects")
    ]
    n_alb = int(sum(c.ep.row_estimate(r) for r in disc.itertuples(index=False)))
    f = c.fd["discontinued_hypoalbuminaemia"]
    rows.append(
        _row(
            f.finding,
            f.source,
            f.published_text(),
            f"{n_alb} subject(s)",
            f"{f.check['value']} subjects with a TEAE whose PT contains 'albumin' leading to discontinuation "
            "(DISCFL=Y, all arms)",
            evaluate(f.check, n_alb),
            c.ep,
        )
    )
    return rows


def _safety_rows(c: _Context) -> list[dict[str, Any]]:
    """Deaths, serious adverse events and the rise in total cholesterol at week 4 (all arms)."""
    death_ae = c.ep.est("TEAE: leading to death", OVERALL, "", "n_subjects")
    death_ds = c.ep.est("Disposition: discontinued study: DEATH", OVERALL, "", "n_subjects")
    death_ds = 0.0 if math.isnan(death_ds) else death_ds
    f = c.fd["deaths"]
    rows = [
        _row(
            f.finding,
            f.source,
            f.published_text(),
            f"fatal TEAE: {_fmt(death_ae, 0)}; study discontinuation for death: {death_ds:.0f}",
            f"{f.check['value']} subjects with a fatal TEAE and {f.check['value']} discontinuing the study for DEATH",
            evaluate(f.check, death_ae) and evaluate(f.check, death_ds),
            c.ep,
        )
    ]
    f = c.fd["serious_aes"]
    sae = c.ep.est("TEAE: serious", OVERALL, "", "n_subjects")
    rows.append(
        _row(
            f.finding,
            f.source,
            f.published_text(),
            f"{_fmt(sae, 0)} subject(s) with a serious TEAE",
            f"{f.check['value']} subjects with AESER=Y among the TEAEs",
            evaluate(f.check, sae),
            c.ep,
        )
    )
    f = c.fd["cholesterol_week4"]
    w4 = c.name.get(4.0, "WEEK 4")
    chol = c.ep.est("CHOL: percent change from baseline", OVERALL, w4, "mean")
    lo, up = float(f.check["low"]), float(f.check["high"])
    rows.append(
        _row(
            f"Moderate rise in total cholesterol ({w4})",
            f.source,
            f.published_text(visit=w4),
            f"{'+' if chol >= 0 else ''}{_fmt(chol, 1)}%" if not math.isnan(chol) else NOT_AVAILABLE,
            f"{lo:g} <= mean PCHG of CHOL at {w4} <= {up:g} (all arms)",
            evaluate(f.check, chol),
            c.ep,
        )
    )
    return rows


def published_comparison(
    endpoints: pd.DataFrame,
    arms: Sequence[Mapping[str, Any]],
    visits: Sequence[Mapping[str, Any]],
    dosing_days: Sequence[int],
    primary_visit: float = 4,
    followup_avisitn: float = 12,
    findings: Mapping[str, Finding] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each published finding, the pipeline's value and whether the finding holds, and the
    numbers the reproduced values show.

    ``endpoints`` is ``results/stats/endpoints.csv``; ``arms``, ``visits``, ``dosing_days`` and
    ``primary_visit`` come from the config (``study.arms``, ``visits``, ``study.dosing_days``,
    ``edss.primary_visit``). IgG findings use the 680 mg arm (the highest dose if no arm has
    680 mg); AQP4-IgG, EDSS, disposition, AE and cholesterol findings use all subjects
    (``Overall``). A finding whose endpoint is missing is reported as not available and does
    not hold. ``findings``: :func:`fcrnpipe.findings.load_findings` (default: the shipped
    ``resources/published_findings.yaml``). First frame: columns :data:`PUBLISHED_COLUMNS`, one
    row per finding, from one function per group of findings. Second frame (columns
    :data:`VALUE_COLUMNS`): every endpoint number a finding's ``reproduced`` text and criterion
    read, as the endpoints give it (unrounded), with the key of its ARD row, in finding order
    (a finding that read none has no row).
    """
    endpoints = frame(endpoints[ENDPOINT_COLUMNS].to_dict("records")) if len(endpoints) else frame([])
    high = _high_dose_arm(arms)
    c = _Context(
        endpoints=endpoints,
        ep=_Lookup(endpoints),
        fd=findings if findings is not None else default_findings(),
        arms=arms,
        name={float(v["avisitn"]): str(v["name"]) for v in visits},
        day_visit={int(v["day"]): str(v["name"]) for v in visits if float(v["avisitn"]) >= 0},
        hi=str(high["armcd"]),
        hi_label=f"{float(high['dose_mg']):g} mg",
    )
    rows = [
        *_enrolment_rows(c),
        *_igg_reduction_rows(c),
        *_igg_nadir_rows(c, dosing_days),
        *_igg_followup_rows(c, followup_avisitn),
        *_aqp4_rows(c),
        *_edss_rows(c, primary_visit),
        *_disposition_rows(c),
        *_safety_rows(c),
    ]
    values = [(r["finding"], v, *key) for r in rows for key, v in r.pop("_values").items()]
    return pd.DataFrame(rows, columns=PUBLISHED_COLUMNS), pd.DataFrame(values, columns=VALUE_COLUMNS)


def published_vs_reproduced(*args: Any, **kwargs: Any) -> pd.DataFrame:
    """The findings of :func:`published_comparison` (same arguments; columns
    :data:`PUBLISHED_COLUMNS`), without the numbers."""
    return published_comparison(*args, **kwargs)[0]
