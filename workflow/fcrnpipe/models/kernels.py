"""Compiled (numba) RODAS4 integration of the antibody models with exact parameter derivatives.

The estimator needs, at every inner iteration, the predictions ``f`` and their first and
second derivatives with respect to the (estimation-scale) parameters. Instead of finite
differences of the predictions, these kernels carry every state as a second-order *jet*
(truncated Taylor polynomial: value, gradient, packed upper triangle of the Hessian) through
the same RODAS4 scheme on the same grid as :func:`fcrnpipe.models.mab.integrate_mab`: this
is forward-mode automatic differentiation of the discrete scheme, i.e. the exact derivatives
of the numerical solution (for a Rosenbrock method with the exact Jacobian this is the same as
integrating the forward sensitivity equations, of first and second order, alongside the model
with the same steps). The derivatives are therefore consistent with the predictions to
rounding, whatever the step sizes -- no truncation error, no cancellation noise.

Jet layout (length ``J = 1 + D + P``): ``[value, d/dp_0 .. d/dp_{D-1}, d2/dp_i dp_j for the
P pairs (pi[m], pj[m])]``; ``P = 0`` gives first derivatives only, ``D = 0`` the value alone.
Parameters enter as jets seeded by the caller (e.g. ``ka = exp(phi)``: value, first and second
derivative ``ka``), so the transform to the estimation scale is part of the differentiation.

Determinism: plain IEEE double arithmetic in a fixed order (no ``fastmath``, no parallel
reductions, no BLAS), so the result does not depend on the BLAS kernel or on threads; one row
(subject x parameter set) at a time.

Kernels:

* :func:`mab_jets` -- PK (2 states: depot, central) or PK + PD (4 states: depot, central,
  steroid ``u``, IgG), every state a jet (``sc1cmt_mm``, ``sc1cmt_mm+igg_turnover``);
* :func:`igg_jets` -- PD driven by fixed PK (``igg_turnover``): the PK states are plain numbers
  and only the IgG state is a jet (four times less work than :func:`mab_jets` for that model).

Both record the outputs at the observation grid points (the state before a dose at that
point) and, optionally, the scaled embedded local error estimate of every step (value only),
which :func:`fcrnpipe.models.ode.refine_grid` uses.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# RODAS4 tableau (as in fcrnpipe.models.ode)
from fcrnpipe.models.ode import _A, _C, _GAMMA, _M

_A_K = np.ascontiguousarray(_A)
_C_K = np.ascontiguousarray(_C)
_M_K = np.ascontiguousarray(_M)

# parameter columns of ``par``
KA, CL, V, VMAX, KM, IGG0, KOUT, EMAX, EC50 = range(9)
N_PAR = 9


# ----------------------------------------------------------------------------- jet arithmetic
@njit(cache=True)
def _jmul(a, b, out, d, pi, pj):
    a0 = a[0]
    b0 = b[0]
    out[0] = a0 * b0
    for k in range(1, d + 1):
        out[k] = a0 * b[k] + a[k] * b0
    for m in range(pi.size):
        i = pi[m] + 1
        j = pj[m] + 1
        c = d + 1 + m
        out[c] = a0 * b[c] + a[c] * b0 + a[i] * b[j] + a[j] * b[i]


@njit(cache=True)
def _jdiv(a, b, out, d, pi, pj):
    """``out = a / b`` (quotient rule; the value is a true division)."""
    b0 = b[0]
    q = a[0] / b0
    out[0] = q
    for k in range(1, d + 1):
        out[k] = (a[k] - q * b[k]) / b0
    for m in range(pi.size):
        i = pi[m] + 1
        j = pj[m] + 1
        c = d + 1 + m
        out[c] = (a[c] - out[i] * b[j] - out[j] * b[i] - q * b[c]) / b0


@njit(cache=True)
def _jscale(a, s, out):
    for k in range(a.size):
        out[k] = a[k] * s


@njit(cache=True)
def _jadd(a, b, out):
    for k in range(a.size):
        out[k] = a[k] + b[k]


@njit(cache=True)
def _jsub(a, b, out):
    for k in range(a.size):
        out[k] = a[k] - b[k]


@njit(cache=True)
def _jcopy(a, out):
    for k in range(a.size):
        out[k] = a[k]


@njit(cache=True)
def _jpos(a, out):
    """``max(a, 0)`` (zero jet where the value is not positive)."""
    if a[0] > 0.0:
        for k in range(a.size):
            out[k] = a[k]
    else:
        for k in range(a.size):
            out[k] = 0.0


# ----------------------------------------------------------------------------- PK (+ PD) model in jets
@njit(cache=True)
def _rhs_jets(y, p, with_pd, ks_decay, out, w, d, pi, pj):
    """Right-hand side in jets. ``y`` (S, J), ``p`` (9, J) parameters, ``w`` (8, J) scratch."""
    c = w[0]
    cp = w[1]
    t = w[2]
    u = w[3]
    v2 = w[4]
    _jdiv(y[1], p[V], c, d, pi, pj)  # c = Ac / V
    _jpos(c, cp)
    # depot: -ka Ad
    _jmul(p[KA], y[0], t, d, pi, pj)
    _jscale(t, -1.0, out[0])
    # central: ka Ad - CL c - Vmax cp / (Km + cp)
    _jmul(p[CL], c, u, d, pi, pj)
    _jsub(t, u, out[1])
    _jmul(p[VMAX], cp, t, d, pi, pj)
    _jadd(p[KM], cp, u)
    _jdiv(t, u, v2, d, pi, pj)
    _jsub(out[1], v2, out[1])
    if with_pd:
        # steroid: -k u
        _jscale(y[2], -ks_decay, out[2])
        # IgG: kin (1 - u) - kout (1 + Emax cp / (EC50 + cp)) I,  kin = kout IgG0
        kin = w[5]
        _jmul(p[KOUT], p[IGG0], kin, d, pi, pj)
        _jscale(y[2], -1.0, t)
        t[0] += 1.0
        _jmul(kin, t, out[3], d, pi, pj)
        _jmul(p[EMAX], cp, t, d, pi, pj)
        _jadd(p[EC50], cp, u)
        _jdiv(t, u, v2, d, pi, pj)
        v2[0] += 1.0
        _jmul(p[KOUT], v2, t, d, pi, pj)
        _jmul(t, y[3], u, d, pi, pj)
        _jsub(out[3], u, out[3])


@njit(cache=True)
def _jac_jets(y, p, with_pd, ks_decay, jm, w, d, pi, pj):
    """Lower-triangular Jacobian entries in jets: jm[0]=(0,0) [1]=(1,0) [2]=(1,1)
    [3]=(2,2) [4]=(3,1) [5]=(3,2) [6]=(3,3)."""
    c = w[0]
    t = w[2]
    u = w[3]
    v2 = w[4]
    _jdiv(y[1], p[V], t, d, pi, pj)
    _jpos(t, c)
    _jscale(p[KA], -1.0, jm[0])
    _jcopy(p[KA], jm[1])
    # -(CL + Vmax Km / (Km + c)^2) / V
    _jadd(p[KM], c, u)
    _jmul(u, u, v2, d, pi, pj)
    _jmul(p[VMAX], p[KM], t, d, pi, pj)
    _jdiv(t, v2, u, d, pi, pj)
    _jadd(p[CL], u, t)
    _jdiv(t, p[V], u, d, pi, pj)
    _jscale(u, -1.0, jm[2])
    if with_pd:
        for k in range(jm.shape[1]):
            jm[3, k] = 0.0
        jm[3, 0] = -ks_decay
        # (3,1): -kout Emax EC50 / (EC50 + c)^2 / V * I
        ec = w[6]
        _jadd(p[EC50], c, ec)
        _jmul(ec, ec, v2, d, pi, pj)
        _jmul(p[KOUT], p[EMAX], t, d, pi, pj)
        _jmul(t, p[EC50], u, d, pi, pj)
        _jdiv(u, v2, t, d, pi, pj)
        _jdiv(t, p[V], u, d, pi, pj)
        _jmul(u, y[3], t, d, pi, pj)
        _jscale(t, -1.0, jm[4])
        # (3,2): -kin
        _jmul(p[KOUT], p[IGG0], t, d, pi, pj)
        _jscale(t, -1.0, jm[5])
        # (3,3): -kout (1 + Emax c / (EC50 + c))
        _jmul(p[EMAX], c, t, d, pi, pj)
        _jdiv(t, ec, u, d, pi, pj)
        u[0] += 1.0
        _jmul(p[KOUT], u, t, d, pi, pj)
        _jscale(t, -1.0, jm[6])


@njit(cache=True)
def mab_jets(t, npts, dose, event, fs, ks_decay, par, with_pd, obs_idx, obs_kind, order, n_obs, d, pi, pj,
             out, err, rtol, atol):
    """Integrate rows ``r`` (all inputs per row, see the module docstring).

    ``t``/``dose``/``event`` ``(R, G)``; ``npts`` ``(R,)`` real grid points; ``par``
    ``(R, 9, J)`` parameter jets; ``obs_idx``/``obs_kind`` ``(R, M)`` grid index and output
    (1 concentration, 2 IgG, 0 none) of each record; ``order`` ``(R, M)`` the records sorted by
    grid index, the first ``n_obs[r]`` being real; ``out`` ``(R, M, J)`` the output jets;
    ``err`` ``(R, G-1)`` the scaled local errors (written only if its first axis is ``R``).
    """
    n_rows = t.shape[0]
    jl = par.shape[2]
    ns = 4 if with_pd else 2
    want_err = err.shape[0] == n_rows
    y = np.zeros((ns, jl))
    ynew = np.zeros((ns, jl))
    ys = np.zeros((ns, jl))
    rhs = np.zeros((ns, jl))
    kst = np.zeros((6, ns, jl))
    jm = np.zeros((7, jl))
    invd = np.zeros((ns, jl))
    w = np.zeros((8, jl))
    tmp = np.zeros(jl)
    one = np.zeros(jl)
    for r in range(n_rows):
        p = par[r]
        for s in range(ns):
            for k in range(jl):
                y[s, k] = 0.0
        if with_pd:
            _jcopy(p[IGG0], y[3])
        n_g = npts[r]
        nxt = 0  # next record (in grid order) to record
        for g in range(n_g):
            # record the outputs at grid point g (state before a dose there)
            while nxt < n_obs[r] and obs_idx[r, order[r, nxt]] == g:
                col = order[r, nxt]
                kind = obs_kind[r, col]
                if kind == 1:
                    _jdiv(y[1], p[V], out[r, col], d, pi, pj)
                elif kind == 2 and with_pd:
                    _jcopy(y[3], out[r, col])
                nxt += 1
            if dose[r, g] != 0.0:
                y[0, 0] = y[0, 0] + dose[r, g]
            if with_pd and event[r, g]:
                for k in range(jl):
                    y[2, k] = 0.0
                y[2, 0] = fs
            if g == n_g - 1:
                break
            h = t[r, g + 1] - t[r, g]
            ig = (1.0 / _GAMMA) / h
            inv_h = 1.0 / h
            _jac_jets(y, p, with_pd, ks_decay, jm, w, d, pi, pj)
            # 1 / (1/(gamma h) - J_ii)
            for s in range(ns):
                if s == 0:
                    jd = jm[0]
                elif s == 1:
                    jd = jm[2]
                elif s == 2:
                    jd = jm[3]
                else:
                    jd = jm[6]
                _jscale(jd, -1.0, tmp)
                tmp[0] += ig
                for k in range(jl):
                    one[k] = 0.0
                one[0] = 1.0
                _jdiv(one, tmp, invd[s], d, pi, pj)
            for st in range(6):
                # stage state
                for s in range(ns):
                    for k in range(jl):
                        acc = 0.0
                        for j in range(st):
                            acc += _A_K[st, j] * kst[j, s, k]
                        ys[s, k] = y[s, k] + acc
                _rhs_jets(ys, p, with_pd, ks_decay, rhs, w, d, pi, pj)
                if st > 0:
                    for s in range(ns):
                        for k in range(jl):
                            acc = 0.0
                            for j in range(st):
                                acc += _C_K[st, j] * kst[j, s, k]
                            rhs[s, k] += acc * inv_h
                # forward substitution (lower-triangular W)
                # state 0
                _jmul(rhs[0], invd[0], kst[st, 0], d, pi, pj)
                # state 1: rhs1 + J10 k0
                _jmul(jm[1], kst[st, 0], tmp, d, pi, pj)
                _jadd(rhs[1], tmp, rhs[1])
                _jmul(rhs[1], invd[1], kst[st, 1], d, pi, pj)
                if with_pd:
                    _jmul(rhs[2], invd[2], kst[st, 2], d, pi, pj)
                    _jmul(jm[4], kst[st, 1], tmp, d, pi, pj)
                    _jadd(rhs[3], tmp, rhs[3])
                    _jmul(jm[5], kst[st, 2], tmp, d, pi, pj)
                    _jadd(rhs[3], tmp, rhs[3])
                    _jmul(rhs[3], invd[3], kst[st, 3], d, pi, pj)
            for s in range(ns):
                for k in range(jl):
                    acc = 0.0
                    for j in range(6):
                        acc += _M_K[j] * kst[j, s, k]
                    ynew[s, k] = y[s, k] + acc
            if want_err:
                e = 0.0
                for s in range(ns):
                    a = abs(y[s, 0])
                    b = abs(ynew[s, 0])
                    sc = atol + rtol * (a if a > b else b)
                    v = abs(kst[5, s, 0]) / sc
                    if v > e or v != v:
                        e = v
                err[r, g] = e
            for s in range(ns):
                for k in range(jl):
                    y[s, k] = ynew[s, k]


# ----------------------------------------------------------------------------- PD on fixed PK
@njit(cache=True)
def igg_jets(t, npts, dose, event, fs, ks_decay, pk, par, obs_idx, obs_kind, order, n_obs, d, pi, pj,
             out, err, rtol, atol):
    """As :func:`mab_jets` with PK + PD, but the PK parameters ``pk`` ``(R, 5)`` (ka, CL, V,
    Vmax, Km) are fixed numbers, so depot, central and steroid states are plain numbers and
    only the IgG state is a jet; ``par`` ``(R, 4, J)``: IgG0, kout, Emax, EC50."""
    n_rows = t.shape[0]
    jl = par.shape[2]
    want_err = err.shape[0] == n_rows
    yi = np.zeros(jl)
    yinew = np.zeros(jl)
    ysi = np.zeros(jl)
    rhs3 = np.zeros(jl)
    k3 = np.zeros((6, jl))
    kin = np.zeros(jl)
    j31 = np.zeros(jl)
    j33 = np.zeros(jl)
    invd3 = np.zeros(jl)
    ta = np.zeros(jl)
    tb = np.zeros(jl)
    tc = np.zeros(jl)
    one = np.zeros(jl)
    kp = np.zeros((6, 3))
    for r in range(n_rows):
        ka = pk[r, 0]
        cl = pk[r, 1]
        inv_v = 1.0 / pk[r, 2]
        vmax = pk[r, 3]
        km = pk[r, 4]
        p_igg0 = par[r, 0]
        p_kout = par[r, 1]
        p_emax = par[r, 2]
        p_ec50 = par[r, 3]
        _jmul(p_kout, p_igg0, kin, d, pi, pj)
        y0 = 0.0
        y1 = 0.0
        y2 = 0.0
        _jcopy(p_igg0, yi)
        n_g = npts[r]
        nxt = 0
        for g in range(n_g):
            while nxt < n_obs[r] and obs_idx[r, order[r, nxt]] == g:
                col = order[r, nxt]
                kind = obs_kind[r, col]
                if kind == 1:
                    o = out[r, col]
                    for k in range(jl):
                        o[k] = 0.0
                    o[0] = y1 * inv_v
                elif kind == 2:
                    _jcopy(yi, out[r, col])
                nxt += 1
            if dose[r, g] != 0.0:
                y0 = y0 + dose[r, g]
            if event[r, g]:
                y2 = fs
            if g == n_g - 1:
                break
            h = t[r, g + 1] - t[r, g]
            ig = (1.0 / _GAMMA) / h
            inv_h = 1.0 / h
            # Jacobian at the step start
            c = y1 * inv_v
            if c < 0.0:
                c = 0.0
            kmc = km + c
            d00 = 1.0 / (ig + ka)
            d11 = 1.0 / (ig + (cl + vmax * km / (kmc * kmc)) * inv_v)
            d22 = 1.0 / (ig + ks_decay)
            # (3,1) = -kout Emax EC50 / (EC50 + c)^2 / V * I ; (3,2) = -kin ; (3,3) = -kout (1 + Emax c/(EC50 + c))
            _jcopy(p_ec50, ta)
            ta[0] += c
            _jmul(ta, ta, tb, d, pi, pj)  # (EC50 + c)^2
            _jmul(p_kout, p_emax, tc, d, pi, pj)
            _jmul(tc, p_ec50, j31, d, pi, pj)
            _jdiv(j31, tb, tc, d, pi, pj)
            _jscale(tc, inv_v, tb)
            _jmul(tb, yi, j31, d, pi, pj)
            _jscale(j31, -1.0, j31)
            _jscale(p_emax, c, tb)
            _jdiv(tb, ta, tc, d, pi, pj)
            tc[0] += 1.0
            _jmul(p_kout, tc, j33, d, pi, pj)
            _jscale(j33, -1.0, j33)
            _jscale(j33, -1.0, ta)
            ta[0] += ig
            for k in range(jl):
                one[k] = 0.0
            one[0] = 1.0
            _jdiv(one, ta, invd3, d, pi, pj)
            for st in range(6):
                a0 = 0.0
                a1 = 0.0
                a2 = 0.0
                for j in range(st):
                    a0 += _A_K[st, j] * kp[j, 0]
                    a1 += _A_K[st, j] * kp[j, 1]
                    a2 += _A_K[st, j] * kp[j, 2]
                s0 = y0 + a0
                s1 = y1 + a1
                s2 = y2 + a2
                for k in range(jl):
                    acc = 0.0
                    for j in range(st):
                        acc += _A_K[st, j] * k3[j, k]
                    ysi[k] = yi[k] + acc
                cs = s1 * inv_v
                cps = cs if cs > 0.0 else 0.0
                kaa = ka * s0
                r0 = -kaa
                r1 = kaa - cl * cs - vmax * cps / (km + cps)
                r2 = -ks_decay * s2
                # IgG: kin (1 - u) - kout (1 + Emax cps / (EC50 + cps)) I
                _jscale(kin, 1.0 - s2, rhs3)
                _jscale(p_emax, cps, ta)
                _jcopy(p_ec50, tb)
                tb[0] += cps
                _jdiv(ta, tb, tc, d, pi, pj)
                tc[0] += 1.0
                _jmul(p_kout, tc, ta, d, pi, pj)
                _jmul(ta, ysi, tb, d, pi, pj)
                _jsub(rhs3, tb, rhs3)
                if st > 0:
                    c0 = 0.0
                    c1 = 0.0
                    c2 = 0.0
                    for j in range(st):
                        c0 += _C_K[st, j] * kp[j, 0]
                        c1 += _C_K[st, j] * kp[j, 1]
                        c2 += _C_K[st, j] * kp[j, 2]
                    r0 += c0 * inv_h
                    r1 += c1 * inv_h
                    r2 += c2 * inv_h
                    for k in range(jl):
                        acc = 0.0
                        for j in range(st):
                            acc += _C_K[st, j] * k3[j, k]
                        rhs3[k] += acc * inv_h
                k0 = r0 * d00
                k1 = (r1 + ka * k0) * d11
                k2 = r2 * d22
                kp[st, 0] = k0
                kp[st, 1] = k1
                kp[st, 2] = k2
                # k3 = (rhs3 + J31 k1 + J32 k2) / (ig - J33)
                _jscale(j31, k1, ta)
                _jadd(rhs3, ta, rhs3)
                _jscale(kin, -k2, ta)
                _jadd(rhs3, ta, rhs3)
                _jmul(rhs3, invd3, k3[st], d, pi, pj)
            n0 = 0.0
            n1 = 0.0
            n2 = 0.0
            for j in range(6):
                n0 += _M_K[j] * kp[j, 0]
                n1 += _M_K[j] * kp[j, 1]
                n2 += _M_K[j] * kp[j, 2]
            for k in range(jl):
                acc = 0.0
                for j in range(6):
                    acc += _M_K[j] * k3[j, k]
                yinew[k] = yi[k] + acc
            y0n = y0 + n0
            y1n = y1 + n1
            y2n = y2 + n2
            if want_err:
                e = 0.0
                olds = (y0, y1, y2, yi[0])
                news = (y0n, y1n, y2n, yinew[0])
                ests = (kp[5, 0], kp[5, 1], kp[5, 2], k3[5, 0])
                for s in range(4):
                    a = abs(olds[s])
                    b = abs(news[s])
                    sc = atol + rtol * (a if a > b else b)
                    v = abs(ests[s]) / sc
                    if v > e or v != v:
                        e = v
                err[r, g] = e
            y0 = y0n
            y1 = y1n
            y2 = y2n
            for k in range(jl):
                yi[k] = yinew[k]
