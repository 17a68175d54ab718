"""Mechanistic truth model of the simulator: batoclimab PK, IgG / AQP4-IgG / albumin turnover.

Time ``t`` is in days from the first batoclimab dose (``t = 0`` = first dose = study day 1 at
the dose time). Doses are in mg, concentrations in mg/L.

PK (one compartment, first-order SC absorption, apparent parameters -- ``F`` is not identifiable
from SC data alone and is folded into ``CL/F``, ``V/F``, ``Vmax/F``)::

    dAd/dt = -ka*Ad                                   (SC depot, mg; a dose adds D to Ad)
    dAc/dt =  ka*Ad - CL/F*C - Vmax/F*C/(Km + C)      (central, mg; C = Ac/(V/F), mg/L)

The saturable Michaelis-Menten route (target-mediated elimination through FcRn) makes exposure
rise more than dose-proportionally (340 -> 680 mg).

IgG (total, relative to baseline ``R = IgG/IgG0``; indirect response, the drug stimulates IgG
elimination by blocking FcRn recycling; IVMP transiently suppresses IgG synthesis)::

    dR/dt = kout*S(t) - kout*(1 + Emax*C/(EC50 + C))*R,   R(0) = 1,  IgG = IgG0*R
    S(t)  = 1 - fs*exp(-kd*(t - ts))  for t >= ts (else 1)   (config pkpd.steroid_suppression)

Because the equation is linear in the input ``S``, ``R = U1 - fs*U2`` with two basis states
``U1`` (input 1, ``U1(0) = 1``) and ``U2`` (input ``exp(-kd*(t - ts))``, ``U2(0) = 0``).

AQP4-IgG titre (relative ``Q``): the same FcRn-driven elimination as total IgG (AQP4-IgG is
IgG1) but a larger, longer suppression of its synthesis by the steroids (the attack-driven,
AQP4-specific plasmablast output is steroid sensitive; oral taper to day 61)::

    dQ/dt = kout*Sa(t) - kout*(1 + Emax*C/(EC50 + C))*Q,   Sa(t) = 1 - fa*exp(-ka4*(t - ts))

so ``Q = U1 - fa*U3`` with a third basis state ``U3`` (input ``exp(-ka4*(t - ts))``) and
titre(t) = titre0*Q(t). This is the choice made for science.md "Tension 3": even complete
synthesis shutdown leaves ~5% of the titre at day 22, so a 1:100 patient turns negative only if
the true titre is below ~200 and a 1:320 patient stays positive; the reference cut has most
baselines at 1:32-1:100 (see :mod:`fcrnpipe.simulate.study` for the conditioning).

Albumin (relative ``A``; FcRn recycles albumin too; half-life about 20 days)::

    dA/dt = kalb - kalb*(1 + EmaxALB*C/(EC50 + C))*A,   A(0) = 1,  ALB = ALB0*A

Total and LDL cholesterol rise in step with the albumin fall (Wolf 2024: r = -0.89)::

    CHOL = CHOL0*(1 + gCHOL*(1 - A)),   LDL = LDL0*(1 + gLDL*(1 - A))

Parameterisation of the true population (:class:`PopulationParameters`; defaults =
:data:`TRUE_POPULATION`; every value can be overridden with :func:`dataclasses.replace`).
Starting values from /work/shared/reference/science.md section 5 (ka 0.3/d, F 0.75, V 4 L,
CL 0.2 L/d, Vmax 40 mg/d, Km 1 mg/L; kout ln2/21 d; Emax ~5), then calibrated (``*``):

==============  ================================  ==============  ======  =====================
name            meaning                           typical         IIV CV  omega^2 = ln(1+CV^2)
==============  ================================  ==============  ======  =====================
ka              absorption rate (1/day)           0.3             30%     0.0862
cl_f            linear clearance CL/F (L/day)     0.2/0.75=0.267  25%     0.0606
v_f             volume V/F (L)                    4/0.75=5.33     20%     0.0392
vmax_f          MM capacity Vmax/F (mg/day)       62 *            25%     0.0606
km              MM constant (mg/L)                1.0             --      (fixed)
igg0            baseline IgG (g/L)                11.0            20%     0.0392
kout            IgG elimination (1/day)           ln2/21=0.0330   15%     0.0223
emax            max. rise of IgG elimination      5.0             10%     0.00995
ec50            C at half Emax (mg/L)             6.0 *           30%     0.0862
steroid_*       IVMP suppression of IgG synthesis config: 0.30, 0.03/day, from t = 0
aqp4_fs         IVMP suppression of AQP4 synth.   0.90 *          logit-normal, SD 0.5
aqp4_decay      its decay rate (1/day)            0.01 *          --
aqp4_titre0     true baseline titre               median 60 *     log-SD 0.8, floored at 10
alb0            baseline albumin (g/L)            42.0            7%      0.00489
kalb            albumin elimination (1/day)       ln2/20=0.0347   --
emax_alb        max. rise of albumin elim.        0.25 *          30%     0.0862
                albumin-sensitive subgroup        x5 *, 30% of each arm (floor)
chol0, ldl0     baseline lipids (mmol/L)          4.6, 2.7        15, 20% 0.0223, 0.0392
g_chol, g_ldl   lipid rise per albumin fall       1.4 *, 1.8 *    25%     0.0606
alt0            ALT (U/L, safety lab only)        14              40%     0.148
edss_*          EDSS recovery (descriptive)       base N(4.0, 1.0) clipped 2.5-7.5, gain N(1.35, 0.4),
                                                  tau 7 d, late U(0, 0.5) with tau 60 d, rater SD 0.2
==============  ================================  ==============  ======  =====================

Residual error (``sigma``): proportional SD 0.15 (PK), 0.06 (IgG), 0.03 (albumin),
0.04 (cholesterol), 0.06 (LDL); log-normal SD 0.10 (ALT) and 0.30 (AQP4 titre, log scale).

IIV is log-normal (``P_i = P_pop*exp(eta_i)``, ``eta_i ~ N(0, omega^2)``, no correlations);
``aqp4_fs`` is logit-normal. A subpopulation (``floor(alb_sensitive_fraction * n_arm)``
subjects per arm) has ``emax_alb`` multiplied by ``alb_sensitive_factor`` (the patients who
develop hypoalbuminaemia). Observations: ``y = f*(1 + sigma*eps)`` (proportional); the AQP4
titre ``titre*exp(sigma*eps)`` is read on the dilution series. No covariate effects by default
(weight and height are recorded but do not enter the model); ``weight_exponents`` (e.g.
``{"cl_f": 0.75, "v_f": 1.0}``) switches on an allometric weight effect,
``P_i = P_pop*(WT_i/weight_reference)^exponent*exp(eta_i)`` (for recovery tests of covariate
models; the reference study is simulated without it).

Numerics: :func:`simulate` integrates all subjects at once with a classical fixed-step RK4 on
a per-subject grid that contains the regular grid (``step`` days), every dose time (dose added
exactly there) and every observation time (state recorded exactly there). It is checked
against :func:`scipy.integrate.solve_ivp` (:func:`rhs`, ``tests/test_simulate.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

#: Names of the state variables, in order.
STATES: tuple[str, ...] = ("depot", "central", "u1", "u2", "u3", "alb")

#: Parameters with inter-individual variability (log-normal unless noted) and their CV.
DEFAULT_IIV_CV: dict[str, float] = {
    "ka": 0.30,
    "cl_f": 0.25,
    "v_f": 0.20,
    "vmax_f": 0.25,
    "igg0": 0.20,
    "kout": 0.15,
    "emax": 0.10,
    "ec50": 0.30,
    "alb0": 0.07,
    "emax_alb": 0.30,
    "chol0": 0.15,
    "ldl0": 0.20,
    "g_chol": 0.25,
    "g_ldl": 0.25,
    "alt0": 0.40,
}

#: Proportional residual error (SD) per measured series; ``aqp4`` = SD of the log titre.
DEFAULT_SIGMA: dict[str, float] = {
    "pk": 0.15,
    "igg": 0.06,
    "alb": 0.03,
    "chol": 0.04,
    "ldl": 0.06,
    "alt": 0.10,
    "aqp4": 0.30,
}

#: How each residual error enters (for the truth file).
RESIDUAL_MODELS: dict[str, str] = {
    "pk": "proportional",
    "igg": "proportional",
    "alb": "proportional",
    "chol": "proportional",
    "ldl": "proportional",
    "alt": "log-normal (SD of log value)",
    "aqp4": "log-normal (SD of log titre, before reading the dilution series)",
}

#: Units of the parameters (for the truth file).
PARAMETER_UNITS: dict[str, str] = {
    "ka": "1/day",
    "cl_f": "L/day",
    "v_f": "L",
    "vmax_f": "mg/day",
    "km": "mg/L",
    "igg0": "g/L",
    "kout": "1/day",
    "emax": "1",
    "ec50": "mg/L",
    "steroid_fraction": "1",
    "steroid_decay": "1/day",
    "steroid_start": "day (from first dose)",
    "aqp4_fs": "1",
    "aqp4_fs_sd": "logit SD",
    "aqp4_decay": "1/day",
    "alb0": "g/L",
    "kalb": "1/day",
    "emax_alb": "1",
    "alb_sensitive_factor": "1",
    "alb_sensitive_fraction": "1",
    "chol0": "mmol/L",
    "ldl0": "mmol/L",
    "g_chol": "1",
    "g_ldl": "1",
    "alt0": "U/L",
    "aqp4_titre0": "titre (reciprocal dilution)",
    "aqp4_titre0_sd": "SD of log titre",
    "edss_base": "EDSS points",
    "edss_base_sd": "EDSS points",
    "edss_gain": "EDSS points",
    "edss_gain_sd": "EDSS points",
    "edss_tau": "day",
    "edss_late": "EDSS points (maximum)",
    "edss_tau_late": "day",
    "edss_sigma": "EDSS points",
}


@dataclass(frozen=True)
class PopulationParameters:
    """Typical values, IIV and residual error of the truth model (see the module docstring).

    Override with :func:`dataclasses.replace`, e.g.
    ``replace(TRUE_POPULATION, emax=4.0, iiv_cv={**TRUE_POPULATION.iiv_cv, "ec50": 0.5})``.
    ``steroid_*`` default to config ``pkpd.steroid_suppression`` (fraction 0.30, decay 0.03/day,
    start day 1 = ``t = 0``); :func:`population_from_config` sets them from the config.
    """

    ka: float = 0.3
    cl_f: float = 0.2 / 0.75
    v_f: float = 4.0 / 0.75
    vmax_f: float = 62.0
    km: float = 1.0
    igg0: float = 11.0
    kout: float = math.log(2) / 21.0
    emax: float = 5.0
    ec50: float = 6.0
    steroid_fraction: float = 0.30
    steroid_decay: float = 0.03
    steroid_start: float = 0.0
    aqp4_fs: float = 0.90
    aqp4_fs_sd: float = 0.5
    aqp4_decay: float = 0.01
    alb0: float = 42.0
    kalb: float = math.log(2) / 20.0
    emax_alb: float = 0.25
    alb_sensitive_factor: float = 5.0
    alb_sensitive_fraction: float = 0.30
    chol0: float = 4.6
    ldl0: float = 2.7
    g_chol: float = 1.4
    g_ldl: float = 1.8
    alt0: float = 14.0
    aqp4_titre0: float = 60.0
    aqp4_titre0_sd: float = 0.8
    edss_base: float = 4.0
    edss_base_sd: float = 1.0
    edss_gain: float = 1.35
    edss_gain_sd: float = 0.4
    edss_tau: float = 7.0
    edss_late: float = 0.5
    edss_tau_late: float = 60.0
    edss_sigma: float = 0.2
    iiv_cv: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_IIV_CV))
    sigma: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SIGMA))
    weight_exponents: Mapping[str, float] = field(default_factory=dict)
    weight_reference: float = 70.0

    def omega2(self) -> dict[str, float]:
        """Variance of the log-normal random effect of each parameter: ``ln(1 + CV^2)``."""
        return {k: math.log(1.0 + cv * cv) for k, cv in sorted(self.iiv_cv.items())}

    def typical(self) -> dict[str, float]:
        """The typical (fixed-effect) values as a plain dict."""
        out = asdict(self)
        for key in ("iiv_cv", "sigma", "weight_exponents", "weight_reference"):
            out.pop(key)
        return out


#: The population the reference study is simulated from.
TRUE_POPULATION = PopulationParameters()

#: Columns of an individual-parameter table (one row per subject).
INDIVIDUAL_COLUMNS: tuple[str, ...] = (
    "ka",
    "cl_f",
    "v_f",
    "vmax_f",
    "km",
    "igg0",
    "kout",
    "emax",
    "ec50",
    "aqp4_decay",
    "alb0",
    "kalb",
    "emax_alb",
    "alb_sensitive",
    "chol0",
    "ldl0",
    "g_chol",
    "g_ldl",
    "alt0",
)


def population_from_config(config: Mapping, base: PopulationParameters = TRUE_POPULATION) -> PopulationParameters:
    """``base`` with the steroid effect taken from config ``pkpd.steroid_suppression``.

    ``start_day`` is a study day (1 = first-dose day) and becomes ``t = start_day - 1``.
    """
    from dataclasses import replace

    ss = config["pkpd"]["steroid_suppression"]
    return replace(
        base,
        steroid_fraction=float(ss["fraction"]),
        steroid_decay=float(ss["decay_per_day"]),
        steroid_start=float(ss["start_day"]) - 1.0,
    )


def sample_individuals(
    pop: PopulationParameters,
    n: int,
    rng: np.random.Generator,
    sensitive: np.ndarray | None = None,
    weight: np.ndarray | None = None,
) -> pd.DataFrame:
    """Draw ``n`` sets of individual parameters (columns :data:`INDIVIDUAL_COLUMNS`).

    ``sensitive`` (bool, length ``n``) marks the albumin-sensitive subjects (``emax_alb``
    times ``alb_sensitive_factor``); ``None`` = nobody. Random effects are drawn in the fixed
    order of :data:`INDIVIDUAL_COLUMNS` (one standard-normal block of shape ``(n, k)``), so a
    parameter's draw does not depend on the values of the others. With
    ``pop.weight_exponents``, ``weight`` (kg, length ``n``) scales those parameters by
    ``(weight / pop.weight_reference)^exponent`` (no random numbers drawn for it).
    """
    names = list(INDIVIDUAL_COLUMNS)
    z = rng.standard_normal((n, len(names)))
    typical = pop.typical()
    out: dict[str, np.ndarray] = {}
    for j, name in enumerate(names):
        if name == "alb_sensitive":
            continue
        cv = float(pop.iiv_cv.get(name, 0.0))
        sd = math.sqrt(math.log(1.0 + cv * cv))
        out[name] = float(typical[name]) * np.exp(sd * z[:, j])
    if pop.weight_exponents:
        unknown = sorted(set(pop.weight_exponents) - set(names))
        if unknown:
            raise ValueError(f"weight_exponents: unknown parameter(s) {', '.join(unknown)}")
        if weight is None:
            raise ValueError("a population with weight_exponents needs the subjects' weights")
        ratio = np.asarray(weight, dtype=float) / float(pop.weight_reference)
        for name, b in sorted(pop.weight_exponents.items()):
            out[name] = out[name] * ratio ** float(b)
    sens = np.zeros(n, dtype=bool) if sensitive is None else np.asarray(sensitive, dtype=bool)
    out["emax_alb"] = np.where(sens, out["emax_alb"] * pop.alb_sensitive_factor, out["emax_alb"])
    out["alb_sensitive"] = sens.astype(int)
    return pd.DataFrame({name: out[name] for name in names})


# ----------------------------------------------------------------------------- right-hand side
#: Individual parameters the right-hand side uses.
_RHS_PARAMS: tuple[str, ...] = (
    "ka",
    "cl_f",
    "v_f",
    "vmax_f",
    "km",
    "kout",
    "emax",
    "ec50",
    "aqp4_decay",
    "kalb",
    "emax_alb",
)


def _derivs(
    t: np.ndarray, y: np.ndarray, p: Mapping[str, np.ndarray], steroid: tuple[float, float, float]
) -> np.ndarray:
    """Derivatives for states ``y`` of shape ``(n, 5)`` at times ``t`` (shape ``(n,)``)."""
    _, kd, ts = steroid
    ad, ac, u1, u2, u3, alb = y[:, 0], y[:, 1], y[:, 2], y[:, 3], y[:, 4], y[:, 5]
    c = ac / p["v_f"]
    occ = c / (p["ec50"] + c)
    stim = 1.0 + p["emax"] * occ
    stim_alb = 1.0 + p["emax_alb"] * occ
    after = t >= ts
    pulse = np.where(after, np.exp(-kd * np.maximum(t - ts, 0.0)), 0.0)
    pulse_aqp4 = np.where(after, np.exp(-p["aqp4_decay"] * np.maximum(t - ts, 0.0)), 0.0)
    out = np.empty_like(y)
    out[:, 0] = -p["ka"] * ad
    out[:, 1] = p["ka"] * ad - p["cl_f"] * c - p["vmax_f"] * c / (p["km"] + c)
    out[:, 2] = p["kout"] * (1.0 - stim * u1)
    out[:, 3] = p["kout"] * (pulse - stim * u2)
    out[:, 4] = p["kout"] * (pulse_aqp4 - stim * u3)
    out[:, 5] = p["kalb"] * (1.0 - stim_alb * alb)
    return out


def rhs(t: float, y: np.ndarray, params: Mapping[str, float], steroid: tuple[float, float, float]) -> np.ndarray:
    """Right-hand side for one subject (``y`` of length 5), in the form ``solve_ivp`` wants.

    ``params`` holds the individual values (keys of :data:`INDIVIDUAL_COLUMNS`); ``steroid``
    is ``(fraction, decay_per_day, start_t)``. Doses are not part of it: integrate between
    doses and add the dose to ``y[0]``.
    """
    p = {k: np.asarray([float(params[k])]) for k in _RHS_PARAMS}
    return _derivs(np.asarray([t]), np.asarray(y, dtype=float).reshape(1, -1), p, steroid)[0]


def initial_state(n: int) -> np.ndarray:
    """Pre-treatment steady state: no drug, ``U1 = 1``, ``U2 = U3 = 0``, ``A = 1``."""
    y = np.zeros((n, len(STATES)))
    y[:, 2] = 1.0
    y[:, 5] = 1.0
    return y


@dataclass(frozen=True)
class Trajectories:
    """States at the observation times, shape ``(n_subjects, n_obs)`` each (NaN = padding)."""

    conc: np.ndarray
    u1: np.ndarray
    u2: np.ndarray
    u3: np.ndarray
    alb_rel: np.ndarray

    def igg_rel(self, steroid_fraction: float) -> np.ndarray:
        """Total IgG relative to baseline: ``U1 - fs*U2``."""
        return self.u1 - steroid_fraction * self.u2

    def aqp4_rel(self, fa: np.ndarray) -> np.ndarray:
        """AQP4-IgG relative to baseline for suppression fractions ``fa`` (one per subject)."""
        return self.u1 - np.asarray(fa, dtype=float).reshape(-1, 1) * self.u3


#: Extra grid points after each dose, as fractions of the step.
REFINE_AFTER_DOSE = np.array([1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2])


def simulate(
    individual: pd.DataFrame | Mapping[str, np.ndarray],
    dose_times: np.ndarray,
    dose_amounts: np.ndarray,
    obs_times: np.ndarray,
    steroid: tuple[float, float, float],
    step: float = 0.05,
) -> Trajectories:
    """Integrate all subjects at once; return the states at ``obs_times``.

    ``dose_times``/``dose_amounts``: shape ``(n, max_doses)``, days from the first dose / mg,
    NaN-padded. ``obs_times``: shape ``(n, max_obs)``, NaN-padded; times before 0 give the
    pre-treatment state, an observation at a dose time is taken before the dose. ``steroid`` =
    ``(fraction, decay_per_day, start_t)``. Fixed-step RK4 on each subject's grid (regular
    ``step`` plus its own dose and observation times), vectorised over subjects.
    """
    p = {k: np.asarray(individual[k], dtype=float) for k in _RHS_PARAMS}
    dose_times = np.atleast_2d(np.asarray(dose_times, dtype=float))
    dose_amounts = np.atleast_2d(np.asarray(dose_amounts, dtype=float))
    obs_times = np.atleast_2d(np.asarray(obs_times, dtype=float))
    n = obs_times.shape[0]
    n_obs = obs_times.shape[1]
    times, kind_obs, amounts = _event_grid(dose_times, dose_amounts, obs_times, step)
    out = np.full((n, n_obs, len(STATES)), np.nan)
    rows = np.arange(n)
    y = initial_state(n)

    def record(j: int) -> None:
        k = kind_obs[:, j]
        hit = k >= 0
        if hit.any():
            out[rows[hit], k[hit]] = y[hit]

    record(0)
    y[:, 0] += amounts[:, 0]
    for j in range(times.shape[1] - 1):
        t0 = times[:, j]
        h = times[:, j + 1] - t0
        if np.any(h > 0):
            y = _rk4_step(t0, h, y, p, steroid)
        record(j + 1)
        y[:, 0] += amounts[:, j + 1]
    conc = out[:, :, 1] / p["v_f"][:, None]
    return Trajectories(conc=conc, u1=out[:, :, 2], u2=out[:, :, 3], u3=out[:, :, 4], alb_rel=out[:, :, 5])


def _rk4_step(
    t0: np.ndarray, h: np.ndarray, y: np.ndarray, p: Mapping[str, np.ndarray], steroid: tuple[float, float, float]
) -> np.ndarray:
    """One classical RK4 step of length ``h`` (per subject) from ``y`` at ``t0``."""
    hc = h[:, None]
    k1 = _derivs(t0, y, p, steroid)
    k2 = _derivs(t0 + h / 2, y + hc / 2 * k1, p, steroid)
    k3 = _derivs(t0 + h / 2, y + hc / 2 * k2, p, steroid)
    k4 = _derivs(t0 + h, y + hc * k3, p, steroid)
    return y + hc / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)


def _event_grid(
    dose_times: np.ndarray, dose_amounts: np.ndarray, obs_times: np.ndarray, step: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each subject's integration grid of :func:`simulate` (regular ``step``, refined after each
    dose, plus its observation and dose times), sorted, with the observation recorded at each
    point (-1: none) and the amount dosed there; an observation comes before a dose at the
    same time."""
    n = obs_times.shape[0]
    n_obs = obs_times.shape[1]
    t_end = float(np.nanmax(np.concatenate([obs_times.ravel(), dose_times.ravel(), [0.0]])))
    regular = np.arange(0.0, t_end + step, step)
    # events: observations first (so that at equal times they are recorded before a dose)
    obs_clamped = np.where(np.isnan(obs_times), t_end, np.maximum(obs_times, 0.0))
    dose_filled = np.where(np.isnan(dose_times), t_end, dose_times)
    amount_filled = np.where(np.isnan(dose_times) | np.isnan(dose_amounts), 0.0, dose_amounts)
    # geometric refinement after each dose: the saturable route switches on within minutes
    refine = (dose_filled[:, :, None] + step * REFINE_AFTER_DOSE[None, None, :]).reshape(n, -1)
    refine = np.minimum(refine, t_end)
    times = np.concatenate([np.broadcast_to(regular, (n, regular.size)), refine, obs_clamped, dose_filled], axis=1)
    n_fixed = regular.size + refine.shape[1]
    kind_obs = np.concatenate(
        [np.full((n, n_fixed), -1), np.broadcast_to(np.arange(n_obs), (n, n_obs)), np.full(dose_times.shape, -1)],
        axis=1,
    )
    kind_obs = np.where(
        np.concatenate([np.zeros((n, n_fixed), bool), np.isnan(obs_times), np.zeros(dose_times.shape, bool)], axis=1),
        -1,
        kind_obs,
    )
    amounts = np.concatenate([np.zeros((n, n_fixed + n_obs)), amount_filled], axis=1)
    order = np.argsort(times, axis=1, kind="stable")
    times = np.take_along_axis(times, order, axis=1)
    kind_obs = np.take_along_axis(kind_obs, order, axis=1)
    amounts = np.take_along_axis(amounts, order, axis=1)
    return times, kind_obs, amounts


def simulate_reference_ivp(
    params: Mapping[str, float],
    dose_times: np.ndarray,
    dose_amounts: np.ndarray,
    obs_times: np.ndarray,
    steroid: tuple[float, float, float],
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> np.ndarray:
    """One subject with :func:`scipy.integrate.solve_ivp` (LSODA), segment by segment between
    doses and the steroid start; returns the states at ``obs_times``, shape ``(n_obs, 5)``.

    The independent reference for :func:`simulate` (tests) -- slow, not vectorised.
    """
    from scipy.integrate import solve_ivp

    dose_times = np.asarray(dose_times, dtype=float)
    dose_amounts = np.asarray(dose_amounts, dtype=float)
    obs_times = np.asarray(obs_times, dtype=float)
    keep = ~np.isnan(dose_times)
    dose_times, dose_amounts = dose_times[keep], dose_amounts[keep]
    t_end = float(max(np.max(obs_times), np.max(dose_times, initial=0.0)))
    breaks = sorted({0.0, t_end, *[float(t) for t in dose_times], float(steroid[2])})
    breaks = [b for b in breaks if 0.0 <= b <= t_end]
    y = initial_state(1)[0]
    out = np.full((obs_times.size, len(STATES)), np.nan)
    out[obs_times <= 0] = y
    for a, b in zip(breaks[:-1], breaks[1:]):
        y = y.copy()
        y[0] += float(dose_amounts[dose_times == a].sum())
        inside = (obs_times > a) & (obs_times <= b)
        t_eval = np.unique(np.concatenate([obs_times[inside], [b]]))
        sol = solve_ivp(rhs, (a, b), y, method="LSODA", t_eval=t_eval, args=(params, steroid), rtol=rtol, atol=atol)
        for t_obs in np.unique(obs_times[inside]):
            out[obs_times == t_obs] = sol.y[:, int(np.searchsorted(sol.t, t_obs))]
        y = sol.y[:, -1]
    return out


# ----------------------------------------------------------------------------- AQP4-IgG titre
#: Dilutions of the cell-based assay (Euroimmun CBA: 1:10 screening dilution, half-log steps).
DILUTIONS: tuple[int, ...] = (10, 32, 100, 320, 1000)


def sample_aqp4(
    pop: PopulationParameters, n: int, rng: np.random.Generator, k: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """``k`` candidate draws of the AQP4 layer: ``(titre0, fa)``, each of shape ``(k, n)``.

    ``titre0`` (true baseline titre, reciprocal dilution) is log-normal with median
    ``aqp4_titre0`` and log-SD ``aqp4_titre0_sd``, floored at 10 (patients are seropositive,
    an inclusion criterion); ``fa`` (steroid suppression of AQP4-specific synthesis) is
    logit-normal around ``aqp4_fs`` with logit-SD ``aqp4_fs_sd``.
    """
    z = rng.standard_normal((k, n, 2))
    titre0 = np.maximum(pop.aqp4_titre0 * np.exp(pop.aqp4_titre0_sd * z[:, :, 0]), 10.0)
    logit = math.log(pop.aqp4_fs / (1.0 - pop.aqp4_fs))
    fa = 1.0 / (1.0 + np.exp(-(logit + pop.aqp4_fs_sd * z[:, :, 1])))
    return titre0, fa


def read_titre(true_titre: np.ndarray, log_noise: np.ndarray | float = 0.0) -> np.ndarray:
    """End-point titre as the assay reports it: ``"1:N"`` for the highest dilution N of
    :data:`DILUTIONS` at or below the measured titre ``true*exp(noise)``, ``"NEGATIVE"`` below
    1:10 (the highest dilution, 1:1000, is reported for anything above it).
    """
    measured = np.asarray(true_titre, dtype=float) * np.exp(log_noise)
    idx = np.searchsorted(np.asarray(DILUTIONS, dtype=float), measured, side="right") - 1
    labels = np.asarray(["NEGATIVE", *[f"1:{d}" for d in DILUTIONS]], dtype=object)
    return labels[idx + 1]


# ----------------------------------------------------------------------------- EDSS
def sample_edss(pop: PopulationParameters, n: int, rng: np.random.Generator, k: int = 1) -> dict[str, np.ndarray]:
    """``k`` candidate draws (shape ``(k, n)``) of the EDSS recovery parameters.

    ``base``: attack-level EDSS on day 1 (normal, clipped to the inclusion range 2.5-7.5);
    ``gain``: improvement reached within a few weeks (normal, floored at 0); ``late``: further
    slow improvement (uniform on ``[0, edss_late]``).
    """
    z = rng.standard_normal((k, n, 2))
    u = rng.random((k, n))
    return {
        "base": np.clip(pop.edss_base + pop.edss_base_sd * z[:, :, 0], 2.5, 7.5),
        "gain": np.maximum(pop.edss_gain + pop.edss_gain_sd * z[:, :, 1], 0.0),
        "late": pop.edss_late * u,
    }


def edss_latent(
    t: np.ndarray, base: np.ndarray, gain: np.ndarray, late: np.ndarray, pop: PopulationParameters
) -> np.ndarray:
    """Latent (continuous) EDSS at times ``t`` (days from the first dose; broadcasting).

    ``base`` up to the first dose, then ``base - gain*(1 - exp(-t/tau)) - late*(1 - exp(-t/tau_late))``:
    recovery from the attack under IVMP + add-on (descriptive; not driven by the PK/PD states).
    """
    t = np.asarray(t, dtype=float)
    tp = np.maximum(t, 0.0)
    return base - gain * (1.0 - np.exp(-tp / pop.edss_tau)) - late * (1.0 - np.exp(-tp / pop.edss_tau_late))


def edss_observed(latent: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Rated EDSS: latent + rater noise, rounded to the 0.5-point grid and kept in [0, 10]."""
    return np.clip(np.round((np.asarray(latent) + noise) * 2.0) / 2.0, 0.0, 10.0)
