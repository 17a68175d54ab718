"""The published findings of the reference study (``resources/published_findings.yaml``) and the
one evaluator that decides whether a finding holds.

Both the published-vs-reproduced table (:mod:`fcrnpipe.stats.published`, on the pipeline's
endpoints) and the simulator's calibration (:mod:`fcrnpipe.simulate.findings`, on a raw data
cut) read the findings with :func:`load_findings` and test them with :func:`evaluate`, so a
published number lives in one data file and one rule decides whether it is met.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fcrnpipe.errors import UserError

#: The shipped findings file (the repository's ``resources/``).
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "resources" / "published_findings.yaml"
KINDS = ("equal", "below", "above", "at_most", "range", "span", "fraction", "counts", "mean_sd")


@dataclass(frozen=True)
class Finding:
    """One published finding: id, label, source, the published text, and the checks on the
    pipeline's results (``check``) and on a raw cut (``calibration``; else ``check``)."""

    id: str
    finding: str
    source: str
    published: str
    check: Mapping[str, Any] = field(default_factory=dict)
    calibration: Mapping[str, Any] = field(default_factory=dict)

    @property
    def calibration_check(self) -> Mapping[str, Any]:
        return self.calibration or self.check

    def published_text(self, **context: Any) -> str:
        """:attr:`published` with ``{low}``, ``{high}``, ``{value}`` (from the check) and the
        ``context`` values (``day``, ``visit``) filled in."""
        return self.published.format(**{**dict(self.check), **context})


def _nan(x: Any) -> bool:
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return False


def evaluate(check: Mapping[str, Any], value: Any) -> bool:
    """Whether ``value`` meets ``check`` (a ``check``/``calibration`` mapping of the findings
    file). A missing value (None, NaN) never holds.

    >>> evaluate({"kind": "below", "value": -50}, -62.5), evaluate({"kind": "range", "low": 75, "high": 90}, 91)
    (True, False)
    >>> evaluate({"kind": "mean_sd", "mean": 4.0, "sd": 1.0, "decimals": 1}, (4.04, 0.96))
    True
    >>> evaluate({"kind": "fraction", "k": 6, "n": 7}, (6, 7)), evaluate({"kind": "equal", "value": 0}, float("nan"))
    (True, False)
    """
    kind = check.get("kind")
    if value is None or (not isinstance(value, (tuple, list, Mapping)) and _nan(value)):
        return False
    if kind == "equal":
        return float(value) == float(check["value"])
    if kind == "below":
        return float(value) < float(check["value"])
    if kind == "above":
        return float(value) > float(check["value"])
    if kind == "at_most":
        return float(value) <= float(check["value"])
    if kind == "range":
        return float(check["low"]) <= float(value) <= float(check["high"])
    if kind == "span":
        lo, hi = value
        return float(lo) == float(check["low"]) and float(hi) == float(check["high"])
    if kind == "fraction":
        k, n = value
        return k is not None and n is not None and int(k) == int(check["k"]) and int(n) == int(check["n"])
    if kind == "counts":
        expected = check.get("by_dose_mg", check.get("by_value", {}))
        got = {_key(k): v for k, v in dict(value).items()}
        return set(got) == {_key(k) for k in expected} and all(
            got[_key(k)] is not None and not _nan(got[_key(k)]) and float(got[_key(k)]) == float(n)
            for k, n in expected.items()
        )
    if kind == "mean_sd":
        m, s = value
        if _nan(m) or _nan(s):
            return False
        if "decimals" in check:
            d = int(check["decimals"])
            return round(float(m), d) == float(check["mean"]) and round(float(s), d) == float(check["sd"])
        return abs(float(m) - float(check["mean"])) <= float(check["mean_tolerance"]) and abs(
            float(s) - float(check["sd"])
        ) <= float(check["sd_tolerance"])
    raise UserError(f"published findings: unknown check kind {kind!r} (one of {', '.join(KINDS)})")


def _key(k: Any) -> Any:
    """Dose keys compare as numbers (``340`` = ``340.0``), other keys as text."""
    try:
        return float(k)
    except (TypeError, ValueError):
        return str(k)


def load_findings(path: str | Path | None = None) -> dict[str, Finding]:
    """The findings of ``path`` (default: :data:`DEFAULT_PATH`) by id, in file order."""
    p = Path(path) if path is not None else DEFAULT_PATH
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as e:
        raise UserError(f"published findings file not found: {p}") from e
    out: dict[str, Finding] = {}
    for i, f in enumerate(doc.get("findings") or []):
        missing = [k for k in ("id", "finding", "source", "published") if k not in f]
        if missing or not (f.get("check") or f.get("calibration")):
            raise UserError(f"{p.name}: finding #{i + 1} lacks {', '.join(missing) or 'a check or calibration'}")
        for c in (f.get("check"), f.get("calibration")):
            if c and c.get("kind") not in KINDS:
                raise UserError(f"{p.name}: finding {f['id']}: unknown check kind {c.get('kind')!r}")
        if f["id"] in out:
            raise UserError(f"{p.name}: finding id {f['id']!r} is not unique")
        out[str(f["id"])] = Finding(
            id=str(f["id"]),
            finding=str(f["finding"]),
            source=str(f["source"]),
            published=str(f["published"]),
            check=dict(f.get("check") or {}),
            calibration=dict(f.get("calibration") or {}),
        )
    return out


__all__ = ["DEFAULT_PATH", "KINDS", "Finding", "evaluate", "load_findings"]
