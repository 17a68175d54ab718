"""Tests of the structural PK/PD models (fcrnpipe.models).

* ``oral1cmt`` (closed form): hand-computed Bateman values, the ka = ke limit, multiple-dose
  superposition against ``scipy.integrate.solve_ivp`` on the ODE, and the equivalence of the
  ``standard`` (ka, CL, V) and ``ssfol`` (lKe, lKa, lCl; R's ``SSfol``) parameterisations.
* ``sc1cmt_mm`` (RODAS4 on adaptive grids) against ``solve_ivp(method="LSODA", rtol=1e-10)``
  on a weekly x 4 SC design for near-linear, typical, strongly saturated and
  fast-absorption parameter sets; ``Vmax = 0`` against the closed form.
* ``igg_turnover``: the no-drug steady state, ``Emax = 0``, the steroid suppression of IgG
  synthesis against its closed form (hand-checked nadir), and the full model with drug and
  steroid against ``solve_ivp``; the simultaneous model against the sequential one.

Expected values are literals derived in the comments, or independent numerical solutions
(LSODA with rtol 1e-10, integrated piecewise between doses). ODE predictions are made as the
estimator makes them: ``prepare`` -> ``refine`` (grid refinement to the local error
tolerance ``ODE_TOLERANCE`` = 1e-4 relative) -> ``predict`` (:func:`predict_design`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import solve_ivp

from fcrnpipe.models import CMT_CENTRAL, CMT_PD, Steroid, bateman, make_design, make_model, ssfol
from fcrnpipe.models.mab import ODE_TOLERANCE
from fcrnpipe.nlme.simulate import predict_design

LN2 = math.log(2.0)
#: Accuracy asked of the ODE models against LSODA: global relative error (the local error
#: tolerance of the grid refinement is 1e-4) plus an absolute floor in mg/L or g/L.
ODE_RTOL = 5e-4
ODE_ATOL = 1e-6


# ----------------------------------------------------------------------------- reference ODE
def piecewise_ivp(
    rhs: Callable[[float, np.ndarray], np.ndarray],
    y0: np.ndarray,
    dose_times: np.ndarray,
    dose_amts: np.ndarray,
    obs_times: np.ndarray,
    breaks: tuple[float, ...] = (),
) -> np.ndarray:
    """States ``(n_obs, n_states)`` at ``obs_times`` by LSODA (rtol 1e-10), segment by segment.

    A dose adds its amount to state 0 at its time; an observation at a dose time sees the
    state before the dose (the models' convention). ``breaks``: extra segment boundaries
    (discontinuities of the right-hand side, e.g. the steroid start).
    """
    obs_times = np.asarray(obs_times, dtype=float)
    t_end = float(max(obs_times.max(), np.max(dose_times, initial=0.0)))
    t_start = float(min(obs_times.min(), np.min(dose_times, initial=0.0)))
    bounds = sorted({t_start, t_end, *map(float, dose_times), *breaks})
    bounds = [b for b in bounds if t_start <= b <= t_end]
    out = np.full((obs_times.size, y0.size), np.nan)
    y = np.asarray(y0, dtype=float).copy()
    out[obs_times <= t_start] = y
    for a, b in zip(bounds[:-1], bounds[1:]):
        y = y.copy()
        y[0] += float(np.sum(dose_amts[dose_times == a]))
        inside = (obs_times > a) & (obs_times <= b)
        sol = solve_ivp(rhs, (a, b), y, method="LSODA", rtol=1e-10, atol=1e-12, dense_output=True)
        assert sol.success
        for j in np.flatnonzero(inside):
            out[j] = sol.sol(obs_times[j])
        y = sol.sol(b)
    return out


def assert_close(actual: np.ndarray, expected: np.ndarray, rtol: float = ODE_RTOL, atol: float = ODE_ATOL) -> None:
    err = np.abs(actual - expected)
    tol = atol + rtol * np.abs(expected)
    worst = int(np.argmax(err / tol))
    assert np.all(err <= tol), f"worst record {worst}: {actual.flat[worst]!r} vs {expected.flat[worst]!r}"


# ----------------------------------------------------------------------------- oral1cmt
def one_subject_design(obs_h: np.ndarray, dose_h: np.ndarray, amts: np.ndarray, cmt: int = CMT_CENTRAL):
    return make_design(["1"], [np.asarray(obs_h, float)], [np.full(len(obs_h), cmt)], [np.asarray(dose_h, float)],
                       [np.asarray(amts, float)])


def test_bateman_by_hand():
    # D = 100, ka = 1, CL = 1, V = 10 -> ke = 0.1; C(2) = 100*1/(10*0.9) * (e^-0.2 - e^-2)
    #   = 11.1111... * (0.8187307531 - 0.1353352832) = 11.1111... * 0.6833954698 = 7.593283
    c = bateman(100.0, np.array([2.0]), 1.0, 0.1, 10.0)
    assert c[0] == pytest.approx(7.593283, abs=1e-6)
    # before and at the dose time: nothing absorbed yet
    assert bateman(100.0, np.array([-1.0, 0.0]), 1.0, 0.1, 10.0).tolist() == [0.0, 0.0]
    # tmax = ln(ka/ke)/(ka-ke) = ln(10)/0.9 = 2.558428 h; Cmax = D/V*(ke/ka)^(ke/(ka-ke))
    #   = 10 * 0.1^(1/9) = 10 * 0.7742637 = 7.742637
    tmax = math.log(10.0) / 0.9
    assert tmax == pytest.approx(2.558428, abs=1e-6)
    assert bateman(100.0, np.array([tmax]), 1.0, 0.1, 10.0)[0] == pytest.approx(7.742637, abs=1e-6)
    near = bateman(100.0, np.array([tmax - 1e-3, tmax + 1e-3]), 1.0, 0.1, 10.0)
    assert np.all(near < 7.742637)


def test_bateman_ka_equal_ke_limit():
    # ka = ke = 0.1: C = D*ka/V * tau * exp(-ke*tau); D = 100, V = 10, tau = 5:
    #   1 * 5 * e^-0.5 = 5 * 0.6065306597 = 3.0326532986
    for ka in (0.1, 0.1 * (1 + 1e-13), 0.1 * (1 + 1e-7)):
        assert bateman(100.0, np.array([5.0]), ka, 0.1, 10.0)[0] == pytest.approx(3.0326532986, rel=1e-6)


def test_oral1cmt_predict_single_dose_by_hand():
    model = make_model("oral1cmt")
    design = one_subject_design([0.0, 2.0], [0.0], [100.0])
    f = predict_design(model, design, np.array([[1.0, 1.0, 10.0]]))  # ka, CL, V
    assert f[0, 0] == 0.0  # sample at the dose time: pre-dose
    assert f[0, 1] == pytest.approx(7.593283, abs=1e-6)


def test_oral1cmt_multiple_doses_match_the_ode():
    """Three doses of different size (100, 50, 200 at 0, 12, 30 h): the superposition of
    the closed form equals the numerical solution of dAd/dt = -ka Ad, dAc/dt = ka Ad - CL/V Ac."""
    ka, cl, v = 0.8, 2.0, 25.0
    dose_h, amts = np.array([0.0, 12.0, 30.0]), np.array([100.0, 50.0, 200.0])
    obs_h = np.array([0.0, 0.5, 1.0, 3.0, 6.0, 12.0, 12.5, 18.0, 24.0, 30.0, 31.0, 36.0, 48.0, 72.0, 120.0])
    model = make_model("oral1cmt")
    f = predict_design(model, one_subject_design(obs_h, dose_h, amts), np.array([[ka, cl, v]]))[0]

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        return np.array([-ka * y[0], ka * y[0] - cl / v * y[1]])

    ref = piecewise_ivp(rhs, np.zeros(2), dose_h, amts, obs_h)[:, 1] / v
    assert_close(f, ref, rtol=1e-8, atol=1e-10)
    # at 12 h (pre-dose 2) only the first dose contributes (ke = 2/25 = 0.08 /h):
    #   100*0.8/(25*0.72) * (e^-0.96 - e^-9.6) = 4.444444 * (0.3828929 - 0.0000677) = 1.701445
    assert f[5] == pytest.approx(1.701445, abs=1e-6)


def test_ssfol_and_standard_parameterisations_agree():
    """SSfol (ke, ka, CL) = standard (ka, CL, V = CL/ke); both = R's SSfol formula."""
    ke, ka, cl = 0.085, 1.6, 0.04
    t = np.array([0.0, 0.25, 0.5, 1.0, 2.0, 3.5, 5.0, 7.0, 9.0, 12.0, 24.0])
    design = one_subject_design(t, [0.0], [4.02])
    f_ssfol = predict_design(make_model("oral1cmt", parameterisation="ssfol"), design, np.array([[ke, ka, cl]]))[0]
    f_std = predict_design(make_model("oral1cmt"), design, np.array([[ka, cl, cl / ke]]))[0]
    r_formula = ssfol(4.02, t, math.log(ke), math.log(ka), math.log(cl))
    np.testing.assert_allclose(f_ssfol, f_std, rtol=1e-12)
    np.testing.assert_allclose(f_ssfol, r_formula, rtol=1e-10, atol=1e-14)
    # estimation scale of the ssfol parameterisation is the natural log (lKe, lKa, lCl)
    spec = make_model("oral1cmt", parameterisation="ssfol").params
    assert [p.estimate_name for p in spec] == ["lKe", "lKa", "lCl"]
    assert float(spec[0].to_est(ke)) == pytest.approx(math.log(0.085))


def test_oral1cmt_ignores_other_compartments():
    model = make_model("oral1cmt")
    design = make_design(["1"], [np.array([1.0, 2.0])], [np.array([CMT_CENTRAL, CMT_PD])], [np.array([0.0])],
                         [np.array([100.0])])
    f = predict_design(model, design, np.array([[1.0, 1.0, 10.0]]))[0]
    assert np.isfinite(f[0]) and np.isnan(f[1])


# ----------------------------------------------------------------------------- sc1cmt_mm
DOSE_DAYS = np.array([0.0, 7.0, 14.0, 21.0])
PK_DAYS = np.array([0.0, 0.05, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 7.5, 10.0, 14.0, 21.0, 21.25, 22.0, 25.0, 28.0,
                    35.0, 42.0, 56.0])

#: (ka 1/day, CL L/day, V L, Vmax mg/day, Km mg/L), amounts (mg) of the 4 weekly doses.
PK_SETS = {
    # Vmax/Km = 0.3 L/day with C/Km <= 0.1: almost linear
    "near_linear": ((0.3, 0.267, 5.33, 300.0, 1000.0), (340.0, 340.0, 340.0, 340.0)),
    # batoclimab-like: the saturable route dominates below ~10 mg/L (stiff: rate ~12/day)
    "typical": ((0.3, 0.267, 5.33, 62.0, 1.0), (340.0, 340.0, 680.0, 680.0)),
    # C >> Km for weeks: zero-order elimination of 20 mg/day, then a sudden fall
    "saturated": ((0.5, 0.1, 5.0, 20.0, 0.05), (680.0, 680.0, 680.0, 680.0)),
    # fast absorption: the dose transient lasts hours
    "fast_absorption": ((5.0, 0.267, 5.33, 62.0, 1.0), (340.0, 340.0, 340.0, 340.0)),
}


def mm_rhs(p: tuple[float, ...]) -> Callable[[float, np.ndarray], np.ndarray]:
    ka, cl, v, vmax, km = p

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        c = y[1] / v
        return np.array([-ka * y[0], ka * y[0] - cl * c - vmax * c / (km + c)])

    return rhs


@pytest.mark.parametrize("name", list(PK_SETS))
def test_sc1cmt_mm_matches_lsoda(name):
    params, amts = PK_SETS[name]
    amts = np.asarray(amts)
    model = make_model("sc1cmt_mm")
    design = one_subject_design(PK_DAYS * 24.0, DOSE_DAYS * 24.0, amts)
    f = predict_design(model, design, np.array([params]))[0]
    ref = piecewise_ivp(mm_rhs(params), np.zeros(2), DOSE_DAYS, amts, PK_DAYS)[:, 1] / params[2]
    assert f[0] == 0.0
    assert_close(f, ref)
    if name == "saturated":
        # zero-order phase: C >> Km from the first day to past the last dose
        assert np.all(ref[4:16] > 100 * params[4])
    if name == "near_linear":
        assert np.max(ref) < 0.1 * params[4]


def test_sc1cmt_mm_many_rows_at_once():
    """The batched call (rows = parameter sets x subjects, as the estimator makes it) gives
    each row what a call of its own gives."""
    model = make_model("sc1cmt_mm")
    d_a = (PK_DAYS * 24.0, DOSE_DAYS * 24.0, np.array([340.0] * 4))
    d_b = (np.array([0.0, 12.0, 48.0, 200.0, 700.0]), np.array([0.0]), np.array([680.0]))
    design = make_design(["a", "b"], [d_a[0], d_b[0]], [np.full(d_a[0].size, 2), np.full(d_b[0].size, 2)],
                         [d_a[1], d_b[1]], [d_a[2], d_b[2]])
    params = np.array([PK_SETS[k][0] for k in PK_SETS])
    sid = np.array([0, 1, 0, 1])
    together = predict_design(model, design, params, sid)
    for r in range(4):
        alone = predict_design(model, design.subset(np.array([sid[r]])), params[r : r + 1])[0]
        n = int(design.obs_mask[sid[r]].sum())
        assert_close(together[r, :n], alone[:n], rtol=2 * ODE_RTOL)
        assert np.all(together[r, n:] == 0.0)  # padding


def test_sc1cmt_mm_linear_limit_is_the_closed_form():
    """Vmax = 0: sc1cmt_mm (per day) equals oral1cmt (per hour: ka/24, CL/24, V)."""
    ka, cl, v = 0.3, 0.267, 5.33
    amts = np.array([340.0, 340.0, 680.0, 680.0])
    design = one_subject_design(PK_DAYS * 24.0, DOSE_DAYS * 24.0, amts)
    f_ode = predict_design(make_model("sc1cmt_mm"), design, np.array([[ka, cl, v, 0.0, 1.0]]))[0]
    f_cf = predict_design(make_model("oral1cmt"), design, np.array([[ka / 24.0, cl / 24.0, v]]))[0]
    assert_close(f_ode, f_cf)
    # by hand, 1 day after the first dose: ke = 0.267/5.33 = 0.0500938 /day,
    #   340*0.3/(5.33*0.3 - 0.267) * (e^-0.0500938 - e^-0.3) = 102/1.332 * (0.9511402 - 0.7408182)
    #   = 76.576577 * 0.2103220 = 16.10574 mg/L
    assert f_cf[4] == pytest.approx(16.10574, rel=1e-6)


def test_ode_tolerance_is_what_the_docs_say():
    assert ODE_TOLERANCE == (1e-4, 1e-5)


# ----------------------------------------------------------------------------- igg_turnover
KOUT = LN2 / 21.0
PD_DAYS = np.array([0.0, 1.0, 3.0, 7.0, 10.0, 14.0, 21.0, 28.0, 42.0, 56.0, 84.0, 112.0, 140.0, 182.0])
PK_TYPICAL = {"ka": 0.3, "CL": 0.267, "V": 5.33, "Vmax": 62.0, "Km": 1.0}


def igg_model(steroid: Steroid | None, pk: dict[str, float] = PK_TYPICAL):
    pk_ind = pd.DataFrame({"ID": ["1"], **{k: [v] for k, v in pk.items()}})
    return make_model("igg_turnover", pk_individual=pk_ind, steroid=steroid)


def igg_design(dose_days: np.ndarray, amts: np.ndarray, obs_days: np.ndarray = PD_DAYS):
    return one_subject_design(obs_days * 24.0, dose_days * 24.0, amts, cmt=CMT_PD)


def test_igg_without_drug_or_steroid_stays_at_baseline():
    f = predict_design(igg_model(None), igg_design(np.array([]), np.array([])), np.array([[11.0, KOUT, 5.0, 6.0]]))
    np.testing.assert_allclose(f[0], 11.0, rtol=1e-12)


def test_igg_with_emax_zero_and_no_steroid_is_flat():
    f = predict_design(igg_model(None), igg_design(DOSE_DAYS, np.full(4, 680.0)), np.array([[9.5, KOUT, 0.0, 6.0]]))
    np.testing.assert_allclose(f[0], 9.5, rtol=1e-10)


def test_steroid_suppression_closed_form_by_hand():
    """No drug: dI/dt = kout*IgG0*(1 - f e^{-k(t-ts)}) - kout*I has the solution
    I = IgG0*(1 - f*kout/(kout - k)*(e^{-k s} - e^{-kout s})), s = t - ts >= 0.

    IgG0 = 10, kout = 0.05, k = 0.1, f = 0.3 (kout/(kout - k) = -1):
    * s = 10: 10*(1 + 0.3*(e^-1 - e^-0.5)) = 10*(1 - 0.3*0.2386512) = 9.284046;
    * nadir at s* = ln(k/kout)/(k - kout) = 20 ln 2 = 13.862944, where e^{-k s*} = 1/4 and
      e^{-kout s*} = 1/2: 10*(1 + 0.3*(0.25 - 0.5)) = 9.25 (a 7.5% fall, below IgG0 as it must).
    """
    ts = 5.0
    s_star = 20.0 * LN2
    obs = np.array([0.0, 4.0, ts, ts + 10.0, ts + s_star, ts + 60.0])
    model = igg_model(Steroid(fraction=0.3, decay_per_day=0.1, start_day=ts))
    f = predict_design(model, igg_design(np.array([]), np.array([]), obs), np.array([[10.0, 0.05, 5.0, 6.0]]))[0]
    assert f[:3] == pytest.approx([10.0, 10.0, 10.0], abs=1e-12)  # before and at the start
    assert f[3] == pytest.approx(9.284046, abs=1e-5)
    assert f[4] == pytest.approx(9.25, abs=1e-5)
    # s = 60: 10*(1 + 0.3*(e^-6 - e^-3)) = 10*(1 - 0.3*0.0473083) = 9.858075
    assert f[5] == pytest.approx(9.858075, abs=1e-5)
    # the nadir is the minimum
    around = predict_design(model, igg_design(np.array([]), np.array([]), ts + s_star + np.array([-0.5, 0.5])),
                            np.array([[10.0, 0.05, 5.0, 6.0]]))[0]
    assert np.all(around > 9.25)


def test_steroid_from_config_uses_study_days():
    # config start_day 1 = the day of the first dose = model time 0
    s = Steroid.from_config({"fraction": 0.30, "decay_per_day": 0.03, "start_day": 1})
    assert s == Steroid(fraction=0.30, decay_per_day=0.03, start_day=0.0)


def igg_rhs(pk: dict[str, float], pd_par: tuple[float, ...], steroid: Steroid | None):
    ka, cl, v, vmax, km = (pk[k] for k in ("ka", "CL", "V", "Vmax", "Km"))
    igg0, kout, emax, ec50 = pd_par

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        c = y[1] / v
        s = 1.0
        if steroid is not None and t >= steroid.start_day:
            s = 1.0 - steroid.fraction * math.exp(-steroid.decay_per_day * (t - steroid.start_day))
        return np.array([
            -ka * y[0],
            ka * y[0] - cl * c - vmax * c / (km + c),
            kout * igg0 * s - kout * (1.0 + emax * c / (ec50 + c)) * y[2],
        ])

    return rhs


@pytest.mark.parametrize("steroid", [None, Steroid(0.30, 0.03, 0.0), Steroid(0.5, 0.1, 3.0)],
                         ids=["no-steroid", "config-steroid", "late-steroid"])
def test_igg_turnover_with_drug_matches_lsoda(steroid):
    pd_par = (11.0, KOUT, 5.0, 6.0)
    amts = np.array([340.0, 340.0, 680.0, 680.0])
    f = predict_design(igg_model(steroid), igg_design(DOSE_DAYS, amts), np.array([pd_par]))[0]
    y0 = np.array([0.0, 0.0, pd_par[0]])
    breaks = () if steroid is None else (steroid.start_day,)
    ref = piecewise_ivp(igg_rhs(PK_TYPICAL, pd_par, steroid), y0, DOSE_DAYS, amts, PD_DAYS, breaks)[:, 2]
    assert_close(f, ref)
    # FcRn blockade lowers IgG: nadir well below baseline around the last dose, recovery later
    assert ref.min() < 0.5 * pd_par[0] and ref[-1] > ref.min()


def test_steroid_lowers_igg_by_at_most_its_fraction():
    """With drug, the steroid only removes synthesis: IgG(steroid) <= IgG(no steroid), and the
    difference is positive after the start and below f*IgG0 (the synthesis deficit cannot
    exceed f of the baseline synthesis)."""
    pd_par = np.array([[11.0, KOUT, 5.0, 6.0]])
    design = igg_design(DOSE_DAYS, np.full(4, 340.0))
    with_s = predict_design(igg_model(Steroid(0.30, 0.03, 0.0)), design, pd_par)[0]
    without = predict_design(igg_model(None), design, pd_par)[0]
    diff = without - with_s
    assert diff[0] == pytest.approx(0.0, abs=1e-12)
    assert np.all(diff[1:] > 0.0)
    assert np.all(diff < 0.30 * 11.0)


def test_simultaneous_model_equals_sequential_pieces():
    """sc1cmt_mm+igg_turnover = sc1cmt_mm for CMT 2 and igg_turnover (same PK) for CMT 3."""
    steroid = Steroid(0.30, 0.03, 0.0)
    pk = (0.3, 0.267, 5.33, 62.0, 1.0)
    pd_par = (11.0, KOUT, 5.0, 6.0)
    amts = np.full(4, 340.0)
    obs = np.concatenate([PK_DAYS, PD_DAYS]) * 24.0
    cmt = np.concatenate([np.full(PK_DAYS.size, CMT_CENTRAL), np.full(PD_DAYS.size, CMT_PD)])
    design = make_design(["1"], [obs], [cmt], [DOSE_DAYS * 24.0], [amts])
    joint = predict_design(make_model("sc1cmt_mm+igg_turnover", steroid=steroid), design, np.array([pk + pd_par]))[0]
    conc = predict_design(make_model("sc1cmt_mm"), one_subject_design(PK_DAYS * 24.0, DOSE_DAYS * 24.0, amts),
                          np.array([pk]))[0]
    igg = predict_design(igg_model(steroid, dict(zip(PK_TYPICAL, pk))), igg_design(DOSE_DAYS, amts),
                         np.array([pd_par]))[0]
    assert_close(joint[: PK_DAYS.size], conc)
    assert_close(joint[PK_DAYS.size :], igg)


def test_unknown_model_and_missing_pk_are_errors():
    with pytest.raises(ValueError, match="unknown model"):
        make_model("two_cmt")
    with pytest.raises(ValueError, match="pk_individual"):
        make_model("igg_turnover")
    with pytest.raises(ValueError, match="parameterisation"):
        make_model("oral1cmt", parameterisation="micro")
