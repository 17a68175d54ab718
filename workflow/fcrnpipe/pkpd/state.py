"""A fitted population model as a file: what later jobs (bootstrap, VPC, regimen simulation,
figures) need from a fit, without refitting and without pickles.

``fit.json`` holds the population model's specification (structural model, random effects,
residual error, fixed values, BLQ method; for the sequential IgG model also the individual PK
that drives it and the steroid effect), the estimation vector ``x`` (exact: JSON floats round
trip), its covariance from the covariance step (if it succeeded) and the conditional modes
(EBEs) of the fitted subjects -- with covariate relations also their covariate values
(``covariate_values``; the reference values and exponents are in the specification).
:class:`FittedModel` rebuilds the population model and offers the attributes of
:class:`fcrnpipe.nlme.FitResult` that :func:`fcrnpipe.nlme.fit` (``warm_start``),
:func:`fcrnpipe.nlme.sample_parameters` and :func:`fcrnpipe.nlme.simulate` use (``pm``,
``layout``, ``x``, ``theta``, ``omega``, ``sigmas``, ``covariance``; ``beta``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.errors import UserError
from fcrnpipe.models import MabGridOptions, make_model
from fcrnpipe.models.mab import PK_PARAMS, Steroid
from fcrnpipe.nlme import ErrorModel, FitResult, PopulationModel, individual_table
from fcrnpipe.nlme.spec import CovariateRelation, Layout
from fcrnpipe.tableio import write_json

STATE_VERSION = 1
PK_NAMES = tuple(p.name for p in PK_PARAMS)


@dataclass
class Covariance:
    """The part of the covariance step result that simulation uses."""

    ok: bool
    cov_x: np.ndarray
    message: str = ""


@dataclass
class FittedModel:
    """A fit rebuilt from ``fit.json`` (see the module docstring)."""

    spec: dict[str, Any]
    pm: PopulationModel
    x: np.ndarray
    covariance: Covariance | None
    ids: list[str]
    eta: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)
    covariate_values: dict[str, list[float]] = field(default_factory=dict)  # per covariate, fitted subjects (ids order)

    @property
    def layout(self) -> Layout:
        return Layout.from_model(self.pm)

    @property
    def theta(self) -> np.ndarray:
        return self.layout.theta(self.x)

    @property
    def omega(self) -> np.ndarray:
        return self.layout.omega(self.x)

    @property
    def sigmas(self) -> list[np.ndarray]:
        return self.layout.sigmas(self.x)

    @property
    def theta_natural(self) -> dict[str, float]:
        return {s.name: float(s.to_nat(t)) for s, t in zip(self.pm.model.params, self.theta)}

    @property
    def beta(self) -> np.ndarray:
        """Covariate exponents ``(C,)`` (fixed and estimated)."""
        return self.layout.beta(self.x)

    def covariate_effects(self, rows: np.ndarray | None = None) -> np.ndarray | None:
        """``z = log(cov / reference)`` ``(n, C)`` of the fitted subjects (``rows``: indices
        into :attr:`ids`, default all); None without covariate relations."""
        if not self.pm.covariates:
            return None
        if not self.covariate_values:  # no fitted subjects (a model made by hand): the reference
            return np.zeros((len(self.ids), len(self.pm.covariates)))
        vals = np.column_stack([np.asarray(self.covariate_values[r.covariate], dtype=float) for r in self.pm.covariates])
        z = np.column_stack([r.effect(vals[:, c]) for c, r in enumerate(self.pm.covariates)])
        return z if rows is None else z[np.asarray(rows, dtype=int)]

    @property
    def typical(self) -> np.ndarray:
        """Typical values of the fitted subjects on the estimation scale (``(p,)``, or
        ``(N, p)`` with covariate relations)."""
        lay = self.layout
        return lay.typical(self.theta, self.beta, self.covariate_effects())

    @property
    def model_name(self) -> str:
        return str(self.spec["model"])

    def typical_natural(self) -> pd.DataFrame:
        """``ID`` + natural-scale typical parameters of the fitted subjects (random effects 0;
        with covariate relations, at each subject's covariate values)."""
        from fcrnpipe.nlme.foce import individual_params

        nat = individual_params(self.layout, self.pm, self.typical, np.zeros_like(self.eta))
        df = pd.DataFrame(nat, columns=self.pm.model.param_names)
        df.insert(0, "ID", [str(i) for i in self.ids])
        return df

    def individual_natural(self) -> pd.DataFrame:
        """``ID`` + natural-scale individual parameters of the fitted subjects (EBEs)."""
        from fcrnpipe.nlme.foce import individual_params

        nat = individual_params(self.layout, self.pm, self.typical, self.eta)
        df = pd.DataFrame(nat, columns=self.pm.model.param_names)
        df.insert(0, "ID", [str(i) for i in self.ids])
        return df


# ------------------------------------------------------------------------------ build models
def build_population_model(spec: dict[str, Any]) -> PopulationModel:
    """The :class:`PopulationModel` described by a ``fit.json`` specification."""
    name = spec["model"]
    grid = MabGridOptions(**spec["grid"]) if spec.get("grid") else None
    steroid = Steroid(**spec["steroid"]) if spec.get("steroid") else None
    kwargs: dict[str, Any] = {}
    if name == "oral1cmt":
        kwargs["parameterisation"] = spec.get("parameterisation", "standard")
    if name in ("sc1cmt_mm", "igg_turnover", "sc1cmt_mm+igg_turnover"):
        kwargs["grid"] = grid
    if name in ("igg_turnover", "sc1cmt_mm+igg_turnover"):
        kwargs["steroid"] = steroid
    if name == "igg_turnover":
        pk_ind = pd.DataFrame(spec["pk_individual"])
        pk_ind["ID"] = pk_ind["ID"].astype(str)
        kwargs["pk_individual"] = pk_ind
        kwargs["pk_typical"] = spec.get("pk_typical")
    model = make_model(name, **kwargs)
    return PopulationModel(
        model=model,
        iiv=tuple(spec["iiv"]),
        errors={int(c): ErrorModel(k) for c, k in spec["errors"].items()},
        omega=spec.get("omega", "diag"),
        fixed={k: float(v) for k, v in spec.get("fixed", {}).items()},
        init={k: float(v) for k, v in spec.get("init", {}).items()},
        blq=spec.get("blq", "M1"),
        covariates=tuple(
            CovariateRelation(str(c["parameter"]), str(c["covariate"]), float(c["reference"]), float(c["exponent"]),
                              bool(c.get("estimate", False)))
            for c in spec.get("covariates", [])
        ),
    )


def _matrix(a: np.ndarray) -> list[list[float | None]]:
    return [[None if not np.isfinite(v) else float(v) for v in row] for row in np.asarray(a, dtype=float)]


def _from_matrix(rows: list[list[float | None]] | None) -> np.ndarray | None:
    if rows is None:
        return None
    return np.array([[np.nan if v is None else float(v) for v in r] for r in rows], dtype=float).reshape(len(rows), -1)


def state_dict(fit: FitResult, spec: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``fit.json`` content of ``fit`` estimated with population model ``spec``."""
    cov = fit.covariance
    out = {
        "version": STATE_VERSION,
        "spec": spec,
        "x": [float(v) for v in fit.x],
        "x_names": fit.layout.x_names(fit.pm),
        "covariance": None
        if cov is None
        else {"ok": bool(cov.ok), "message": str(cov.message), "cov_x": _matrix(cov.cov_x) if cov.ok else None},
        "ids": [str(i) for i in fit.problem.design.ids],
        "eta": _matrix(fit.eta),
        "theta_natural": fit.theta_natural,
        "ofv": float(fit.ofv),
        "extra": extra or {},
    }
    if fit.pm.covariates:  # the fitted subjects' covariate values (simulation of them, VPC, regimens)
        raw = fit.problem.cov_values
        values: dict[str, list[float]] = {}
        for c, r in enumerate(fit.pm.covariates):
            values.setdefault(r.covariate, [float(v) for v in raw[:, c]])
        out["covariate_values"] = values
    return out


def write_state(fit: FitResult, spec: dict[str, Any], path: str | Path, extra: dict[str, Any] | None = None) -> None:
    write_json(state_dict(fit, spec, extra), path)


def load_state(path: str | Path) -> FittedModel:
    """Read ``fit.json`` (see :func:`write_state`)."""
    p = Path(path)
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{p}: not a readable fit file ({exc})") from None
    if d.get("version") != STATE_VERSION:
        raise UserError(f"{p}: fit file version {d.get('version')!r}, expected {STATE_VERSION}; rerun the fit")
    spec = d["spec"]
    pm = build_population_model(spec)
    cov = None
    if d.get("covariance") is not None:
        c = d["covariance"]
        m = _from_matrix(c.get("cov_x"))
        cov = Covariance(ok=bool(c["ok"]) and m is not None, cov_x=m if m is not None else np.zeros((0, 0)), message=c.get("message", ""))
    q = len(spec["iiv"])
    eta = _from_matrix(d["eta"])
    eta = np.zeros((len(d["ids"]), q)) if eta is None or eta.size == 0 else eta.reshape(len(d["ids"]), q)
    return FittedModel(
        spec=spec,
        pm=pm,
        x=np.asarray(d["x"], dtype=float),
        covariance=cov,
        ids=[str(i) for i in d["ids"]],
        eta=eta,
        extra=d.get("extra", {}),
        covariate_values={k: [float(v) for v in vs] for k, vs in d.get("covariate_values", {}).items()},
    )


# ------------------------------------------------------------------------- PK -> PD handover
def pk_for_pd(pk_ind: pd.DataFrame, pk_typical: dict[str, float], pk_model: str) -> tuple[pd.DataFrame, dict[str, float]]:
    """Individual and typical PK of a PK fit as the ``sc1cmt_mm`` parameters (per day) that
    drive the IgG model.

    ``oral1cmt`` (linear one-compartment model in the dataset's unit, hours) is the
    ``sc1cmt_mm`` model without the saturable route: rates x 24 (per day), ``Vmax = 0``
    (``Km`` is then irrelevant and set to 1 mg/L).
    """
    ind = pk_ind.copy()
    ind["ID"] = ind["ID"].astype(str)
    typ = dict(pk_typical)
    if pk_model == "sc1cmt_mm":
        return ind[["ID", *PK_NAMES]].reset_index(drop=True), {k: float(typ[k]) for k in PK_NAMES}
    if pk_model == "oral1cmt":
        out = pd.DataFrame({"ID": ind["ID"], "ka": ind["ka"] * 24.0, "CL": ind["CL"] * 24.0, "V": ind["V"], "Vmax": 0.0, "Km": 1.0})
        t = {"ka": typ["ka"] * 24.0, "CL": typ["CL"] * 24.0, "V": typ["V"], "Vmax": 0.0, "Km": 1.0}
        return out, t
    raise UserError(f"PK model {pk_model!r} cannot drive the IgG model")


def individual_pk_records(fit: FitResult) -> pd.DataFrame:
    """``ID`` + natural-scale individual parameters (EBEs) of a fit, IDs as text."""
    ind = individual_table(fit)
    ind["ID"] = ind["ID"].astype(str)
    return ind
