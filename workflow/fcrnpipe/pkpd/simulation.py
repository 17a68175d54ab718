"""The final PK/PD model as one simulator of concentrations (CMT 2) and total IgG (CMT 3).

Sequential fits (``fit_mode: sequential``) have two population models: the chosen PK model
and the IgG turnover model whose PK input was the subjects' individual PK. New (virtual)
subjects get PK parameters from the PK model and PD parameters from the IgG model
(independent random effects, as estimated) and are predicted with the joint
``sc1cmt_mm+igg_turnover`` ODE system (an ``oral1cmt`` PK fit enters as ``sc1cmt_mm`` with
``Vmax = 0``, see :func:`fcrnpipe.pkpd.state.pk_for_pd`). A simultaneous fit is one model.

Population parameter sets (one per simulated trial in the regimen simulation) are given as
estimation vectors ``x`` per fit (:meth:`PkPdModel.estimates`, :meth:`PkPdModel.draw_population`
from the covariance step, or a bootstrap replicate's estimates through
:meth:`PkPdModel.population_from_estimates`) and used by :meth:`PkPdModel.sample_at`.

Covariate relations (config ``pkpd.covariates``): a virtual subject has covariate values
(e.g. ``{"WT": ...}``) -- given per subject (the VPC simulates the observed subjects with their
own values), or drawn with replacement from a pool of observed subjects' values (the regimen
simulation resamples the modelling dataset's subjects: the simulated population has the weight
distribution of the studied one), or, when neither is given, the reference values (the typical
subject). Their typical parameters are scaled by ``(cov / reference)^exponent`` of each relation.
The draws from the pool come after the random effects, so a model without relations draws
exactly the same numbers as before.

Random numbers come only from the generator passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fcrnpipe.models import Design, is_joint, make_model
from fcrnpipe.models.mab import PD_PARAMS, PK_PARAMS, MabGridOptions, Steroid
from fcrnpipe.nlme import predict_design, sample_parameters
from fcrnpipe.pkpd.state import FittedModel, load_state, pk_for_pd

JOINT_NAMES = [p.name for p in PK_PARAMS] + [p.name for p in PD_PARAMS]
PK_NAMES = [p.name for p in PK_PARAMS]
PD_NAMES = [p.name for p in PD_PARAMS]
CMT_CONC, CMT_IGG = 2, 3


def draw_x(fm: FittedModel, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` draws of the estimation vector from ``N(x_hat, Cov)`` (the covariance step's
    asymptotic distribution; entries without a variance -- held fixed -- stay at ``x_hat``)."""
    if fm.covariance is None or not fm.covariance.ok:
        raise ValueError("no covariance matrix")
    cov = np.nan_to_num(fm.covariance.cov_x, nan=0.0)
    w, v = np.linalg.eigh(0.5 * (cov + cov.T))
    root = v * np.sqrt(np.maximum(w, 0.0))
    return fm.x[None, :] + rng.standard_normal((n, fm.x.size)) @ root.T


def x_from_estimates(fm: FittedModel, estimates: Mapping[str, float], prefix: str = "") -> np.ndarray:
    """The estimation vector of ``fm`` at the natural-scale estimates of a population table
    (``population_parameters.csv`` / ``bootstrap.csv`` names: ``CL``, ``lKe``, ``omega2(CL)``,
    ``omega(V,CL)``, ``sigma_prop(conc)``; looked up as ``name`` or ``prefix + name``, as the
    combined PK + PD table prefixes names both parts share). Parameters held fixed stay at
    their fixed values; a missing or non-finite estimate is a :class:`ValueError`."""
    lay = fm.layout
    model = fm.pm.model
    specs = model.params

    def get(name: str) -> float:
        for key in (name, prefix + name):
            if key in estimates:
                v = float(estimates[key])
                if not np.isfinite(v):
                    raise ValueError(f"estimate {key} is not finite")
                return v
        raise ValueError(f"no estimate of {name} ({model.name})")

    theta = lay.theta(fm.x).copy()
    for k in lay.free:
        sp = specs[k]
        theta[k] = get(sp.estimate_name) if sp.estimate_name else float(sp.to_est(get(sp.name)))
    names = [model.param_names[k] for k in lay.iiv_index]
    q = len(names)
    omega = np.zeros((q, q))
    for i, a in enumerate(names):
        omega[i, i] = get(f"omega2({a})")
        if lay.block:
            for j in range(i):
                omega[i, j] = omega[j, i] = get(f"omega({a},{names[j]})")
    sigmas = []
    for c in lay.endpoints:
        oname = next((o.name for o in model.outputs if o.cmt == c), f"cmt{c}")
        sigmas.append(np.array([get(f"{pn}({oname})") for pn in fm.pm.errors[c].param_names]))
    beta = lay.beta(fm.x).copy()
    for c, rel in enumerate(fm.pm.covariates):
        if rel.estimate:
            beta[c] = get(rel.name)
    return lay.pack(theta, omega, sigmas, beta)


def covariate_factor(fm: FittedModel, x: np.ndarray, values: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """Multiplicative factors ``(n, p)`` of the natural parameters of ``fm`` for subjects with
    covariate ``values`` (name -> ``(n,)``): ``prod_c (cov_c / ref_c)^beta_c`` on the parameter of
    each relation (exact: relations act on log-scale parameters), 1 elsewhere."""
    lay = fm.layout
    if not fm.pm.covariates:
        return np.ones((n, lay.n_params))
    z = np.column_stack([r.effect(np.asarray(values[r.covariate], dtype=float)) for r in fm.pm.covariates])
    return np.exp(lay.typical(np.zeros(lay.n_params), lay.beta(np.asarray(x, dtype=float)), z))


@dataclass
class PkPdModel:
    """The final model (see the module docstring). ``pk`` is None for a simultaneous fit."""

    pk: FittedModel | None
    pd: FittedModel

    @classmethod
    def load(cls, pk_path: str, pd_path: str) -> "PkPdModel":
        pd_fit = load_state(pd_path)
        pk_fit = None if is_joint(pd_fit.model_name) else load_state(pk_path)
        return cls(pk_fit, pd_fit)

    @property
    def simultaneous(self) -> bool:
        return self.pk is None

    @property
    def steroid(self) -> Steroid | None:
        st = self.pd.spec.get("steroid")
        return Steroid(**st) if st else None

    @property
    def uncertainty_available(self) -> bool:
        fits = [self.pd] if self.simultaneous else [self.pk, self.pd]
        return all(f.covariance is not None and f.covariance.ok for f in fits)

    def joint_model(self):
        grid = self.pd.spec.get("grid")
        return make_model(
            "sc1cmt_mm+igg_turnover", steroid=self.steroid, grid=MabGridOptions(**grid) if grid else None
        )

    # ------------------------------------------------------------------ parameters
    def _pk_as_mab(self, nat: np.ndarray) -> np.ndarray:
        assert self.pk is not None
        df = pd.DataFrame(nat, columns=self.pk.pm.model.param_names)
        df.insert(0, "ID", [str(i) for i in range(len(df))])
        typ = self.pk.theta_natural
        out, _ = pk_for_pd(df, typ, self.pk.model_name)
        return out[PK_NAMES].to_numpy(dtype=float)

    @property
    def covariate_names(self) -> list[str]:
        """Covariates of the relations of the fitted models (sorted; empty without relations)."""
        return sorted({r.covariate for fm in self.fits.values() for r in fm.pm.covariates})

    def sample(self, n: int, rng: np.random.Generator, iiv: bool = True,
               covariates: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Natural parameters ``(n, 9)`` (:data:`JOINT_NAMES`) of ``n`` virtual subjects at the
        final estimates (random effects from Omega with ``iiv``: PK etas, then PD etas).
        Parameter uncertainty enters per simulated trial, not per subject: draw a population
        parameter set (:meth:`draw_population`, :meth:`population_from_estimates`) and pass it
        to :meth:`sample_at`."""
        return self.sample_at(n, rng, self.estimates(), iiv=iiv, covariates=covariates)

    # ------------------------------------------------------- population parameter sets
    @property
    def fits(self) -> dict[str, FittedModel]:
        """The fitted population models by part: ``{"pk": ..., "pd": ...}`` (sequential) or
        ``{"pd": ...}`` (simultaneous)."""
        return {"pd": self.pd} if self.simultaneous else {"pk": self.pk, "pd": self.pd}  # type: ignore[dict-item]

    def estimates(self) -> dict[str, np.ndarray]:
        """The final estimates as a population parameter set (``x`` per part)."""
        return {k: fm.x.copy() for k, fm in self.fits.items()}

    def draw_population(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """One population parameter set from the covariance step's ``N(x_hat, Cov)`` (PK part
        first); ``ValueError`` without a successful covariance step."""
        return {k: draw_x(fm, 1, rng)[0] for k, fm in self.fits.items()}

    def population_from_estimates(self, estimates: Mapping[str, float]) -> dict[str, np.ndarray]:
        """The population parameter set of a row of natural-scale estimates (a bootstrap
        replicate of ``bootstrap.csv``: PK and PD parameters in one row; :func:`x_from_estimates`)."""
        if self.simultaneous:
            return {"pd": x_from_estimates(self.pd, estimates, "PKPD:")}
        assert self.pk is not None
        return {"pk": x_from_estimates(self.pk, estimates, "PK:"), "pd": x_from_estimates(self.pd, estimates, "PD:")}

    def sample_at(
        self,
        n: int,
        rng: np.random.Generator,
        population: Mapping[str, np.ndarray],
        iiv: bool = True,
        covariates: Mapping[str, np.ndarray] | None = None,
        pool: Mapping[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Natural parameters ``(n, 9)`` of ``n`` virtual subjects of one population parameter
        set (random effects from its Omega: PK etas of all subjects, then PD etas). With
        covariate relations: the subjects' ``covariates`` (name -> ``(n,)``), or values drawn
        with replacement from ``pool`` (name -> observed values, one per observed subject;
        one index per virtual subject, drawn after the random effects), else the reference
        values."""
        parts = {k: sample_parameters(fm, n, rng, iiv=iiv, x=np.asarray(population[k], dtype=float))
                 for k, fm in self.fits.items()}
        if self.covariate_names:
            values = self._covariate_values(n, rng, covariates, pool)
            if values is not None:
                for k, fm in self.fits.items():
                    parts[k] = parts[k] * covariate_factor(fm, population[k], values, n)
        if self.simultaneous:
            return parts["pd"]
        return np.concatenate([self._pk_as_mab(parts["pk"]), parts["pd"]], axis=1)

    def _covariate_values(
        self, n: int, rng: np.random.Generator, covariates: Mapping[str, np.ndarray] | None,
        pool: Mapping[str, np.ndarray] | None,
    ) -> dict[str, np.ndarray] | None:
        names = self.covariate_names
        if covariates is not None:
            missing = [c for c in names if c not in covariates]
            if missing:
                raise ValueError(f"virtual subjects need covariate(s) {', '.join(missing)}")
            return {c: np.asarray(covariates[c], dtype=float) for c in names}
        if pool is not None:
            size = len(np.asarray(pool[names[0]]))
            idx = rng.integers(0, size, size=n)
            return {c: np.asarray(pool[c], dtype=float)[idx] for c in names}
        return None

    def typical(self, n: int = 1, covariates: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Typical natural parameters ``(n, 9)`` at the estimates (random effects 0; with
        covariate relations, of subjects with ``covariates``, default the reference values)."""
        return self.sample_at(n, np.random.default_rng(0), self.estimates(), iiv=False, covariates=covariates)

    def individual(self, typical_pd: bool = False, typical_pk: bool = False) -> pd.DataFrame:
        """``ID`` + joint natural parameters of the fitted subjects (EBEs), or with typical
        PK and/or PD values (population predictions)."""
        if self.simultaneous:
            ind = self.pd.individual_natural()
            typ = self._typical_of(self.pd, ind)
            for names, flag in ((PK_NAMES, typical_pk), (PD_NAMES, typical_pd)):
                if flag:
                    for c in names:
                        ind[c] = typ[c]
            return ind[["ID", *JOINT_NAMES]]
        assert self.pk is not None
        pk_ind = self.pk.individual_natural()
        if typical_pk:
            typ = self._typical_of(self.pk, pk_ind)
            for c in self.pk.theta_natural:
                pk_ind[c] = typ[c]
        pk_mab, _ = pk_for_pd(pk_ind, self.pk.theta_natural, self.pk.model_name)
        pd_ind = self.pd.individual_natural()
        if typical_pd:
            typ = self._typical_of(self.pd, pd_ind)
            for c in self.pd.theta_natural:
                pd_ind[c] = typ[c]
        out = pk_mab.merge(pd_ind, on="ID", how="outer")
        typ_pk, _ = pk_for_pd(
            pd.DataFrame([{"ID": "typ", **self.pk.theta_natural}]), self.pk.theta_natural, self.pk.model_name
        )
        for c in PK_NAMES:  # subjects with IgG but no concentrations: typical PK (as in the PD fit)
            out[c] = out[c].fillna(float(typ_pk[c].iloc[0]))
        for c in PD_NAMES:
            out[c] = out[c].fillna(self.pd.theta_natural[c])
        num = pd.to_numeric(out["ID"], errors="coerce")
        out = out.assign(_k=num).sort_values(["_k", "ID"], kind="stable").drop(columns="_k")
        return out[["ID", *JOINT_NAMES]].reset_index(drop=True)

    @staticmethod
    def _typical_of(fm: FittedModel, ind: pd.DataFrame) -> Mapping[str, Any]:
        """Typical values of the subjects of ``ind`` (rows aligned): the population values, or
        with covariate relations each subject's own (:meth:`FittedModel.typical_natural`)."""
        if not fm.pm.covariates:
            return fm.theta_natural
        typ = fm.typical_natural().set_index("ID").loc[ind["ID"].astype(str)]
        return {c: typ[c].to_numpy() for c in fm.pm.model.param_names}

    # ------------------------------------------------------------------ predictions
    def predict(self, design: Design, params: np.ndarray, sid: np.ndarray | None = None) -> np.ndarray:
        """Predictions ``(R, M)`` (concentration at CMT 2 records, IgG at CMT 3 records)."""
        return predict_design(self.joint_model(), design, params, sid)

    def add_residual(self, f: np.ndarray, cmt: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Observations: predictions with residual error of their endpoint (at the estimates)."""
        out = f.copy()
        eps = rng.standard_normal(f.shape)
        fits = [self.pd] if self.simultaneous else [self.pk, self.pd]
        for fm in fits:
            assert fm is not None
            lay = fm.layout
            for k, c in enumerate(lay.endpoints):
                m = cmt == c
                if m.any():
                    v, _ = fm.pm.errors[c].variance(f[m], lay.sigmas(fm.x)[k])
                    out[m] = f[m] + np.sqrt(np.maximum(v, 0.0)) * eps[m]
        return out
