"""Acceptance rules for the terminal phase (PKNCA's ``exclude_nca_*`` rules).

A lambda_z is flagged when its adjusted R^2 is below ``min_adj_r2`` (PKNCA
``exclude_nca_min.hl.adj.r.squared``, 0.9), when the regression spans fewer than
``min_span_ratio`` half-lives (``exclude_nca_span.ratio``, 2), and AUCinf when more than
``max_aucpext`` percent of it is extrapolated (``exclude_nca_max.aucinf.pext``, 20%; the observed
and the predicted AUCinf each by its own %extrapolated). A flag reaches every value computed
with the flagged quantity: lambda_z, t1/2, AUCinf (obs and pred) and their %extrapolated, CL/F and
Vz/F, and AUCtau/Cavg when C(tau) was extrapolated with lambda_z (PKNCA #270: a value that could
have used lambda_z but did not keeps no flag). The values stay in ``pk/nca.csv`` with the reason
in its ``exclude`` column; with ``exclude`` True (config ``nca.acceptance.exclude``) they are left
out of the summaries and the dose-proportionality fits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fcrnpipe.errors import UserError
from fcrnpipe.nca.core import ProfileResult


@dataclass(frozen=True)
class AcceptanceRules:
    """Thresholds of the acceptance rules and whether flagged values leave the summaries."""

    min_adj_r2: float = 0.9
    min_span_ratio: float = 2.0
    max_aucpext: float = 20.0
    exclude: bool = True

    def __post_init__(self) -> None:
        if not (0.0 <= self.min_adj_r2 <= 1.0 and self.min_span_ratio >= 0.0 and 0.0 <= self.max_aucpext <= 100.0):
            raise UserError(
                "config nca.acceptance: need 0 <= min_adj_r2 <= 1, min_span_ratio >= 0 and 0 <= max_aucpext <= 100"
            )

    @classmethod
    def from_config(cls, spec: Mapping[str, Any] | None) -> AcceptanceRules:
        """From ``config.yaml: nca.acceptance`` (defaults for missing keys)."""
        spec = spec or {}
        d = cls()
        return cls(
            min_adj_r2=float(spec.get("min_adj_r2", d.min_adj_r2)),
            min_span_ratio=float(spec.get("min_span_ratio", d.min_span_ratio)),
            max_aucpext=float(spec.get("max_aucpext", d.max_aucpext)),
            exclude=bool(spec.get("exclude", d.exclude)),
        )

    def describe(self) -> str:
        """The rules in words (for captions and footnotes)."""
        return (
            f"lambda_z flagged if adjusted R^2 < {self.min_adj_r2:g} or span < {self.min_span_ratio:g} half-lives, "
            f"AUCinf flagged if more than {self.max_aucpext:g}% extrapolated (PKNCA exclusion rules); flagged values "
            + ("are listed but left out of the summary statistics" if self.exclude else "are listed and summarised")
        )


def _add(flags: dict[str, list[str]], params: frozenset[str] | set[str], reason: str) -> None:
    for p in sorted(params):
        flags.setdefault(p, []).append(reason)


def acceptance_flags(result: ProfileResult, rules: AcceptanceRules) -> dict[str, str]:
    """Parameter -> reason(s) it fails the acceptance rules (``"; "``-joined, PKNCA wording with
    this project's parameter names), for the values of ``result`` that exist."""
    flags: dict[str, list[str]] = {}
    lz = result.lz
    if lz.lambda_z > 0:
        if not math.isnan(lz.adj_r2) and lz.adj_r2 < rules.min_adj_r2:
            _add(flags, result.uses_lambda_z, f"lambda_z_adjr2 < {rules.min_adj_r2:g}")
        if lz.span_ratio < rules.min_span_ratio:
            _add(flags, result.uses_lambda_z, f"lambda_z_span < {rules.min_span_ratio:g}")
    v = result.values
    if v.get("AUCpext", math.nan) > rules.max_aucpext:
        _add(flags, result.uses_aucinf, f"AUCpext > {rules.max_aucpext:g}")
    if v.get("AUCpext_pred", math.nan) > rules.max_aucpext:
        _add(flags, result.uses_aucinf_pred, f"AUCpext_pred > {rules.max_aucpext:g}")
    return {p: "; ".join(r) for p, r in flags.items() if p in v and not math.isnan(v[p])}


__all__ = ["AcceptanceRules", "acceptance_flags"]
