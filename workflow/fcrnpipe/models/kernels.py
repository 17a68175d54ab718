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
which :func:`fcrnpipe.models.ode.refine_grid` uses. :func:`mab_jets_fixed` and
:func:`igg_jets_fixed` make the same bodies compiled once per jet layout (the jet length, the
number of derivatives and, for PK + PD, the model as constants of a closure, so compile-time
constants; jets of up to :data:`FIXED_MAX_JL` numbers): the same operations in the same order,
so the same bits, about twice as fast (loops of known length unrolled, offsets into the scratch
buffer constants), at the price of one compilation per layout (11-22 s of CPU each, once:
cached on disk like the others). :func:`layout_kernel` picks one or the other for a call: the
per-layout kernels for designs of at least :data:`FIXED_MIN_SUBJECTS` subjects, or once
compiled in the process.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from numba import njit

from fcrnpipe.models.jitcache import load_only_in

# RODAS4 tableau (as in fcrnpipe.models.ode)
from fcrnpipe.models.ode import _A, _C, _GAMMA, _M

_A_K = np.ascontiguousarray(_A)
_C_K = np.ascontiguousarray(_C)
_M_K = np.ascontiguousarray(_M)

# parameter columns of ``par``
KA, CL, V, VMAX, KM, IGG0, KOUT, EMAX, EC50 = range(9)
N_PAR = 9


# ----------------------------------------------------------------------------- jet arithmetic
# Every jet lives in one flat scratch buffer ``b`` at an offset (a multiple of the jet length
# ``jl``): no array views are created in the inner loops (numba reference-counts views, which
# cost more than the arithmetic of a short jet). ``d``: number of first derivatives;
# ``sec``: with the packed second derivatives (pairs (i, j), i <= j, row by row, as
# :func:`fcrnpipe.models.mab.derivative_pairs` lists them).


@njit(cache=True, inline="always")
def _mul(b, x, y, o, d, sec):
    """``b[o] = b[x] * b[y]`` (product rule; ``o`` must differ from ``x`` and ``y``)."""
    x0 = b[x]
    y0 = b[y]
    b[o] = x0 * y0
    for k in range(1, d + 1):
        b[o + k] = x0 * b[y + k] + b[x + k] * y0
    if sec:
        c = d + 1
        for i in range(1, d + 1):
            xi = b[x + i]
            yi = b[y + i]
            for j in range(i, d + 1):
                b[o + c] = x0 * b[y + c] + b[x + c] * y0 + xi * b[y + j] + b[x + j] * yi
                c += 1


@njit(cache=True, inline="always")
def _div(b, x, y, o, d, sec):
    """``b[o] = b[x] / b[y]`` (quotient rule, the value a true division; no aliasing)."""
    y0 = b[y]
    q = b[x] / y0
    b[o] = q
    for k in range(1, d + 1):
        b[o + k] = (b[x + k] - q * b[y + k]) / y0
    if sec:
        c = d + 1
        for i in range(1, d + 1):
            qi = b[o + i]
            yi = b[y + i]
            for j in range(i, d + 1):
                b[o + c] = (b[x + c] - qi * b[y + j] - b[o + j] * yi - q * b[y + c]) / y0
                c += 1


@njit(cache=True, inline="always")
def _mulp(b, p, y, o, jl, d, sec, k):
    """``b[o] = b[p] * b[y]`` where ``b[p]`` depends on one parameter only -- derivative
    ``k`` (a parameter ``exp(phi_k)``, its reciprocal, ...; ``k = -1``: a constant): the
    product rule reduces to ``O(J)`` work instead of ``O(D^2)`` (``o`` must differ from ``y``)."""
    p0 = b[p]
    for c in range(jl):
        b[o + c] = p0 * b[y + c]
    if k >= 0:
        pk = b[p + 1 + k]
        y0 = b[y]
        b[o + 1 + k] += pk * y0
        if sec:
            # pair (i, j), i <= j, sits at 1 + d + i (2d - i + 1) / 2 + (j - i)
            for i in range(d):
                lo = i if i < k else k
                hi = k if i < k else i
                c = 1 + d + lo * (2 * d - lo + 1) // 2 + (hi - lo)
                if i == k:
                    b[o + c] += b[p + c] * y0 + 2.0 * pk * b[y + 1 + k]
                else:
                    b[o + c] += pk * b[y + 1 + i]


@njit(cache=True, inline="always")
def _scale(b, x, s, o, jl):
    for k in range(jl):
        b[o + k] = b[x + k] * s


@njit(cache=True, inline="always")
def _add(b, x, y, o, jl):
    for k in range(jl):
        b[o + k] = b[x + k] + b[y + k]


@njit(cache=True, inline="always")
def _sub(b, x, y, o, jl):
    for k in range(jl):
        b[o + k] = b[x + k] - b[y + k]


@njit(cache=True, inline="always")
def _copy(b, x, o, jl):
    for k in range(jl):
        b[o + k] = b[x + k]


@njit(cache=True, inline="always")
def _const(b, v, o, jl):
    b[o] = v
    for k in range(1, jl):
        b[o + k] = 0.0


@njit(cache=True, inline="always")
def _pos(b, x, o, jl):
    """``max(x, 0)`` (zero jet where the value is not positive)."""
    if b[x] > 0.0:
        for k in range(jl):
            b[o + k] = b[x + k]
    else:
        for k in range(jl):
            b[o + k] = 0.0


# ----------------------------------------------------------------------------- PK (+ PD) model in jets
# slots (times jl) of the scratch buffer of mab_jets
_P = 0  # 9 parameters
_Y = 9  # 4 states
_YN = 13  # 4 new states
_YS = 17  # 4 stage states
_R = 21  # 4 right-hand sides
_K = 25  # 6 stages x 4 states
_J = 49  # 7 Jacobian entries
_ID = 56  # 4 inverse diagonals of W
_W = 60  # 8 scratch jets
_ONE = 68
_TMP = 69
_IV = 70  # 1 / V
_KIN = 71  # kout IgG0
_SLOTS = 72


@njit(cache=True)
def _rhs_jets(b, jl, ys, rhs, with_pd, ks_decay, d, sec, pidx):
    """Right-hand side at the states in slots ``ys..ys+3`` into ``rhs..rhs+3``. ``pidx``: the
    derivative index of each parameter (-1: not differentiated); products with a parameter
    use :func:`_mulp`."""
    p = _P * jl
    c = (_W + 0) * jl
    cp = (_W + 1) * jl
    t = (_W + 2) * jl
    u = (_W + 3) * jl
    v2 = (_W + 4) * jl
    y0 = ys * jl
    y1 = (ys + 1) * jl
    o0 = rhs * jl
    o1 = (rhs + 1) * jl
    _mulp(b, _IV * jl, y1, c, jl, d, sec, pidx[V])  # c = Ac / V
    _pos(b, c, cp, jl)
    _mulp(b, p + KA * jl, y0, t, jl, d, sec, pidx[KA])  # ka Ad
    _scale(b, t, -1.0, o0, jl)
    _mulp(b, p + CL * jl, c, u, jl, d, sec, pidx[CL])
    _sub(b, t, u, o1, jl)
    _mulp(b, p + VMAX * jl, cp, t, jl, d, sec, pidx[VMAX])
    _add(b, p + KM * jl, cp, u, jl)
    _div(b, t, u, v2, d, sec)
    _sub(b, o1, v2, o1, jl)
    if with_pd:
        y2 = (ys + 2) * jl
        y3 = (ys + 3) * jl
        o2 = (rhs + 2) * jl
        o3 = (rhs + 3) * jl
        _scale(b, y2, -ks_decay, o2, jl)
        # kin (1 - u) - kout (1 + Emax cp / (EC50 + cp)) I; the steroid state u is a number
        # (it depends on no parameter), kin = kout IgG0 is precomputed per row
        _scale(b, _KIN * jl, 1.0 - b[y2], o3, jl)
        _mulp(b, p + EMAX * jl, cp, t, jl, d, sec, pidx[EMAX])
        _add(b, p + EC50 * jl, cp, u, jl)
        _div(b, t, u, v2, d, sec)
        b[v2] += 1.0
        _mulp(b, p + KOUT * jl, v2, t, jl, d, sec, pidx[KOUT])
        _mul(b, t, y3, u, d, sec)
        _sub(b, o3, u, o3, jl)


@njit(cache=True)
def _jac_jets(b, jl, with_pd, ks_decay, d, sec, pidx):
    """Lower-triangular Jacobian at the states ``_Y``: slots ``_J + 0..6`` = (0,0), (1,0),
    (1,1), (2,2), (3,1), (3,2), (3,3)."""
    p = _P * jl
    c = (_W + 0) * jl
    t = (_W + 2) * jl
    u = (_W + 3) * jl
    v2 = (_W + 4) * jl
    jm = _J * jl
    iv = _IV * jl
    _mulp(b, iv, (_Y + 1) * jl, t, jl, d, sec, pidx[V])
    _pos(b, t, c, jl)
    _scale(b, p + KA * jl, -1.0, jm, jl)
    _copy(b, p + KA * jl, jm + jl, jl)
    # -(CL + Vmax Km / (Km + c)^2) / V
    _add(b, p + KM * jl, c, u, jl)
    _mul(b, u, u, v2, d, sec)
    _mulp(b, p + VMAX * jl, p + KM * jl, t, jl, d, sec, pidx[VMAX])
    _div(b, t, v2, u, d, sec)
    _add(b, p + CL * jl, u, t, jl)
    _mulp(b, iv, t, u, jl, d, sec, pidx[V])
    _scale(b, u, -1.0, jm + 2 * jl, jl)
    if with_pd:
        ec = (_W + 6) * jl
        _const(b, -ks_decay, jm + 3 * jl, jl)
        # (3,1): -kout Emax EC50 / (EC50 + c)^2 / V * I
        _add(b, p + EC50 * jl, c, ec, jl)
        _mul(b, ec, ec, v2, d, sec)
        _mulp(b, p + KOUT * jl, p + EMAX * jl, t, jl, d, sec, pidx[KOUT])
        _mulp(b, p + EC50 * jl, t, u, jl, d, sec, pidx[EC50])
        _div(b, u, v2, t, d, sec)
        _mulp(b, iv, t, u, jl, d, sec, pidx[V])
        _mul(b, u, (_Y + 3) * jl, t, d, sec)
        _scale(b, t, -1.0, jm + 4 * jl, jl)
        # (3,2): -kin
        _scale(b, _KIN * jl, -1.0, jm + 5 * jl, jl)
        # (3,3): -kout (1 + Emax c / (EC50 + c))
        _mulp(b, p + EMAX * jl, c, t, jl, d, sec, pidx[EMAX])
        _div(b, t, ec, u, d, sec)
        b[u] += 1.0
        _mulp(b, p + KOUT * jl, u, t, jl, d, sec, pidx[KOUT])
        _scale(b, t, -1.0, jm + 6 * jl, jl)


@njit(cache=True, inline="always")
def _mab_record(b, jl, d, sec, pidx, with_pd, out, r, g, nxt, n_obs, obs_idx, obs_kind, order):
    """Record the output jets of the records at grid point ``g`` (state before a dose there);
    returns the next record (in grid order) to record."""
    tmp = _TMP * jl
    while nxt < n_obs and obs_idx[r, order[r, nxt]] == g:
        col = order[r, nxt]
        kind = obs_kind[r, col]
        if kind == 1:
            _mulp(b, _IV * jl, (_Y + 1) * jl, tmp, jl, d, sec, pidx[V])
            for k in range(jl):
                out[r, col, k] = b[tmp + k]
        elif kind == 2 and with_pd:
            for k in range(jl):
                out[r, col, k] = b[(_Y + 3) * jl + k]
        nxt += 1
    return nxt


@njit(cache=True, inline="always")
def _mab_solve(b, jl, d, sec, pidx, with_pd, st):
    """Stage ``st`` by forward substitution (lower-triangular W) from the right-hand sides."""
    tmp = _TMP * jl
    kk = (_K + st * 4) * jl
    # state 0 (1/(1/(gamma h) + ka) and J10 = ka depend on ka only)
    _mulp(b, _ID * jl, _R * jl, kk, jl, d, sec, pidx[KA])
    _mulp(b, (_J + 1) * jl, kk, tmp, jl, d, sec, pidx[KA])  # state 1: rhs1 + J10 k0
    _add(b, (_R + 1) * jl, tmp, (_R + 1) * jl, jl)
    _mul(b, (_R + 1) * jl, (_ID + 1) * jl, kk + jl, d, sec)
    if with_pd:
        # the steroid state and its stage values are numbers (no parameter)
        _mulp(b, (_ID + 2) * jl, (_R + 2) * jl, kk + 2 * jl, jl, d, sec, -1)
        _mul(b, (_J + 4) * jl, kk + jl, tmp, d, sec)
        _add(b, (_R + 3) * jl, tmp, (_R + 3) * jl, jl)
        _mulp(b, kk + 2 * jl, (_J + 5) * jl, tmp, jl, d, sec, -1)
        _add(b, (_R + 3) * jl, tmp, (_R + 3) * jl, jl)
        _mul(b, (_R + 3) * jl, (_ID + 3) * jl, kk + 3 * jl, d, sec)


@njit(cache=True, inline="always")
def _mab_error(b, jl, ns, rtol, atol):
    """The scaled embedded local error estimate of the step (value only, largest over the states)."""
    e = 0.0
    for s in range(ns):
        a = abs(b[(_Y + s) * jl])
        c = abs(b[(_YN + s) * jl])
        sc = atol + rtol * (a if a > c else c)
        v = abs(b[(_K + 5 * 4 + s) * jl]) / sc
        if v > e or v != v:
            e = v
    return e


@njit(cache=True, inline="always")
def _mab_rows(t, npts, dose, event, fs, ks_decay, par, pidx, with_pd, obs_idx, obs_kind, order, n_obs, d, jl, sec,
              out, err, rtol, atol):
    """The body of :func:`mab_jets` and :func:`mab_jets_fixed` (``jl`` the jet length, ``sec``: with
    second derivatives)."""
    n_rows = t.shape[0]
    ns = 4 if with_pd else 2
    want_err = err.shape[0] == n_rows
    b = np.zeros(_SLOTS * jl)
    one = _ONE * jl
    tmp = _TMP * jl
    _const(b, 1.0, one, jl)
    for r in range(n_rows):
        for q in range(N_PAR):
            for k in range(jl):
                b[(_P + q) * jl + k] = par[r, q, k]
        for s in range(ns):
            _const(b, 0.0, (_Y + s) * jl, jl)
        _div(b, one, (_P + V) * jl, _IV * jl, d, sec)
        if with_pd:
            _copy(b, (_P + IGG0) * jl, (_Y + 3) * jl, jl)
            _mul(b, (_P + KOUT) * jl, (_P + IGG0) * jl, _KIN * jl, d, sec)
        n_g = npts[r]
        nxt = 0  # next record (in grid order) to record
        for g in range(n_g):
            # record the outputs at grid point g (state before a dose there)
            nxt = _mab_record(b, jl, d, sec, pidx, with_pd, out, r, g, nxt, n_obs[r], obs_idx, obs_kind, order)
            if dose[r, g] != 0.0:
                b[_Y * jl] = b[_Y * jl] + dose[r, g]
            if with_pd and event[r, g]:
                _const(b, fs, (_Y + 2) * jl, jl)
            if g == n_g - 1:
                break
            h = t[r, g + 1] - t[r, g]
            ig = (1.0 / _GAMMA) / h
            inv_h = 1.0 / h
            _jac_jets(b, jl, with_pd, ks_decay, d, sec, pidx)
            # 1 / (1/(gamma h) - J_ii)
            for s in range(ns):
                jd = 0 if s == 0 else (2 if s == 1 else (3 if s == 2 else 6))
                _scale(b, (_J + jd) * jl, -1.0, tmp, jl)
                b[tmp] += ig
                _div(b, one, tmp, (_ID + s) * jl, d, sec)
            for st in range(6):
                # stage state
                for s in range(ns):
                    ys = (_YS + s) * jl
                    y = (_Y + s) * jl
                    for k in range(jl):
                        acc = 0.0
                        for j in range(st):
                            acc += _A_K[st, j] * b[(_K + j * 4 + s) * jl + k]
                        b[ys + k] = b[y + k] + acc
                _rhs_jets(b, jl, _YS, _R, with_pd, ks_decay, d, sec, pidx)
                if st > 0:
                    for s in range(ns):
                        rr = (_R + s) * jl
                        for k in range(jl):
                            acc = 0.0
                            for j in range(st):
                                acc += _C_K[st, j] * b[(_K + j * 4 + s) * jl + k]
                            b[rr + k] += acc * inv_h
                _mab_solve(b, jl, d, sec, pidx, with_pd, st)
            for s in range(ns):
                yn = (_YN + s) * jl
                y = (_Y + s) * jl
                for k in range(jl):
                    acc = 0.0
                    for j in range(6):
                        acc += _M_K[j] * b[(_K + j * 4 + s) * jl + k]
                    b[yn + k] = b[y + k] + acc
            if want_err:
                err[r, g] = _mab_error(b, jl, ns, rtol, atol)
            for s in range(ns):
                _copy(b, (_YN + s) * jl, (_Y + s) * jl, jl)


# ----------------------------------------------------------------------------- PD on fixed PK
# slots of the scratch buffer of igg_jets
_GP = 0  # IgG0, kout, Emax, EC50
_GY = 4
_GYN = 5
_GYS = 6
_GR = 7
_GK = 8  # 6 stages
_GKIN = 14
_GJ31 = 15
_GJ33 = 16
_GID = 17
_GA = 18
_GB = 19
_GC = 20
_GONE = 21
_GSLOTS = 22


@njit(cache=True, inline="always")
def _igg_rows(t, npts, dose, event, fs, ks_decay, pk, par, obs_idx, obs_kind, order, n_obs, d, jl, sec,
              out, err, rtol, atol):
    """The body of :func:`igg_jets` and :func:`igg_jets_fixed`."""
    n_rows = t.shape[0]
    want_err = err.shape[0] == n_rows
    b = np.zeros(_GSLOTS * jl)
    kp = np.zeros((6, 3))
    p_igg0 = (_GP + 0) * jl
    p_kout = (_GP + 1) * jl
    p_emax = (_GP + 2) * jl
    p_ec50 = (_GP + 3) * jl
    yi = _GY * jl
    yin = _GYN * jl
    ysi = _GYS * jl
    rhs3 = _GR * jl
    kin = _GKIN * jl
    j31 = _GJ31 * jl
    j33 = _GJ33 * jl
    invd3 = _GID * jl
    ta = _GA * jl
    tb = _GB * jl
    tc = _GC * jl
    one = _GONE * jl
    _const(b, 1.0, one, jl)
    for r in range(n_rows):
        ka = pk[r, 0]
        cl = pk[r, 1]
        inv_v = 1.0 / pk[r, 2]
        vmax = pk[r, 3]
        km = pk[r, 4]
        for q in range(4):
            for k in range(jl):
                b[(_GP + q) * jl + k] = par[r, q, k]
        _mul(b, p_kout, p_igg0, kin, d, sec)
        y0 = 0.0
        y1 = 0.0
        y2 = 0.0
        _copy(b, p_igg0, yi, jl)
        n_g = npts[r]
        nxt = 0
        for g in range(n_g):
            while nxt < n_obs[r] and obs_idx[r, order[r, nxt]] == g:
                col = order[r, nxt]
                kind = obs_kind[r, col]
                if kind == 1:
                    for k in range(jl):
                        out[r, col, k] = 0.0
                    out[r, col, 0] = y1 * inv_v
                elif kind == 2:
                    for k in range(jl):
                        out[r, col, k] = b[yi + k]
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
            _copy(b, p_ec50, ta, jl)
            b[ta] += c
            _mul(b, ta, ta, tb, d, sec)  # (EC50 + c)^2
            _mul(b, p_kout, p_emax, tc, d, sec)
            _mul(b, tc, p_ec50, j31, d, sec)
            _div(b, j31, tb, tc, d, sec)
            _scale(b, tc, inv_v, tb, jl)
            _mul(b, tb, yi, j31, d, sec)
            _scale(b, j31, -1.0, j31, jl)
            _scale(b, p_emax, c, tb, jl)
            _div(b, tb, ta, tc, d, sec)
            b[tc] += 1.0
            _mul(b, p_kout, tc, j33, d, sec)
            _scale(b, j33, -1.0, j33, jl)
            _scale(b, j33, -1.0, ta, jl)
            b[ta] += ig
            _div(b, one, ta, invd3, d, sec)
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
                        acc += _A_K[st, j] * b[(_GK + j) * jl + k]
                    b[ysi + k] = b[yi + k] + acc
                cs = s1 * inv_v
                cps = cs if cs > 0.0 else 0.0
                kaa = ka * s0
                r0 = -kaa
                r1 = kaa - cl * cs - vmax * cps / (km + cps)
                r2 = -ks_decay * s2
                # IgG: kin (1 - u) - kout (1 + Emax cps / (EC50 + cps)) I
                _scale(b, kin, 1.0 - s2, rhs3, jl)
                _scale(b, p_emax, cps, ta, jl)
                _copy(b, p_ec50, tb, jl)
                b[tb] += cps
                _div(b, ta, tb, tc, d, sec)
                b[tc] += 1.0
                _mul(b, p_kout, tc, ta, d, sec)
                _mul(b, ta, ysi, tb, d, sec)
                _sub(b, rhs3, tb, rhs3, jl)
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
                            acc += _C_K[st, j] * b[(_GK + j) * jl + k]
                        b[rhs3 + k] += acc * inv_h
                k0 = r0 * d00
                k1 = (r1 + ka * k0) * d11
                k2 = r2 * d22
                kp[st, 0] = k0
                kp[st, 1] = k1
                kp[st, 2] = k2
                # k3 = (rhs3 + J31 k1 + J32 k2) / (ig - J33),  J32 = -kin
                _scale(b, j31, k1, ta, jl)
                _add(b, rhs3, ta, rhs3, jl)
                _scale(b, kin, -k2, ta, jl)
                _add(b, rhs3, ta, rhs3, jl)
                _mul(b, rhs3, invd3, (_GK + st) * jl, d, sec)
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
                    acc += _M_K[j] * b[(_GK + j) * jl + k]
                b[yin + k] = b[yi + k] + acc
            y0n = y0 + n0
            y1n = y1 + n1
            y2n = y2 + n2
            if want_err:
                e = 0.0
                for s in range(4):
                    if s == 0:
                        a, c, est = y0, y0n, kp[5, 0]
                    elif s == 1:
                        a, c, est = y1, y1n, kp[5, 1]
                    elif s == 2:
                        a, c, est = y2, y2n, kp[5, 2]
                    else:
                        a, c, est = b[yi], b[yin], b[(_GK + 5) * jl]
                    a = abs(a)
                    c = abs(c)
                    sc = atol + rtol * (a if a > c else c)
                    v = abs(est) / sc
                    if v > e or v != v:
                        e = v
                err[r, g] = e
            y0 = y0n
            y1 = y1n
            y2 = y2n
            _copy(b, yin, yi, jl)


# ----------------------------------------------------------------------------- entry points
@njit(cache=True, nogil=True)
def mab_jets(t, npts, dose, event, fs, ks_decay, par, pidx, with_pd, obs_idx, obs_kind, order, n_obs, d, pi, pj,
             out, err, rtol, atol):
    """Integrate rows ``r`` (all inputs per row, see the module docstring).

    ``t``/``dose``/``event`` ``(R, G)``; ``npts`` ``(R,)`` real grid points; ``par``
    ``(R, 9, J)`` parameter jets, ``pidx`` ``(9,)`` the derivative each parameter is seeded
    with (-1: none); ``obs_idx``/``obs_kind`` ``(R, M)`` grid index and output
    (1 concentration, 2 IgG, 0 none) of each record; ``order`` ``(R, M)`` the records sorted by
    grid index, the first ``n_obs[r]`` being real; ``pi``/``pj`` the packed pairs (empty: first
    derivatives only); ``out`` ``(R, M, J)`` the output jets; ``err`` ``(R, G-1)`` the scaled
    local errors (written only if its first axis is ``R``).

    Long by design: the RODAS4 step over jets stays in one compiled body (its recording,
    forward substitution and error estimate are inlined helpers), as in :func:`igg_jets`, where
    splitting the stage loop into helpers measured slower.
    """
    _mab_rows(t, npts, dose, event, fs, ks_decay, par, pidx, with_pd, obs_idx, obs_kind, order, n_obs, d,
              par.shape[2], pi.size > 0, out, err, rtol, atol)


@njit(cache=True, nogil=True)
def igg_jets(t, npts, dose, event, fs, ks_decay, pk, par, obs_idx, obs_kind, order, n_obs, d, pi, pj,
             out, err, rtol, atol):
    """As :func:`mab_jets` with PK + PD, but the PK parameters ``pk`` ``(R, 5)`` (ka, CL, V,
    Vmax, Km) are fixed numbers, so depot, central and steroid states are plain numbers and
    only the IgG state is a jet; ``par`` ``(R, 4, J)``: IgG0, kout, Emax, EC50.

    Long by design: one compiled body keeps its speed -- split into four inlined helpers
    (recording, Jacobian, stage, error estimate; same arithmetic, bit-identical) it measured
    slower (CPU time, best of 20, 600 rows of tests/test_models_kernels.py: 0.409-0.419 s
    -> 0.431-0.481 s over four alternating runs)."""
    _igg_rows(t, npts, dose, event, fs, ks_decay, pk, par, obs_idx, obs_kind, order, n_obs, d,
              par.shape[2], pi.size > 0, out, err, rtol, atol)


# ----------------------------------------------------------------------------- one jet layout
#: Jet lengths up to which a kernel compiled for the call's jet layout may run (every layout of
#: the PK and the PD fits; the joint model's differentiated jets, up to 45 numbers, stay generic
#: rather than compile a large body per layout).
FIXED_MAX_JL = 15

#: Subjects (of the call's design) from which a call runs the kernel compiled for its jet layout;
#: below, the generic kernel runs unless that layout is already compiled (or loaded from the
#: cache) in this process -- the same bits either way, the choice only moves time. Chosen by
#: measurement (docs/nlme.md, "Kernels compiled per jet layout"): each layout is a separate
#: compilation of 11-22 s of CPU (4 layouts per model in a fit; cached on disk like the other
#: kernels, until ``kernels.py`` changes), and saves 0.04-0.46 ms of CPU per row and call, i.e.
#: 0.5-17 ms per subject of a fit per layout (66 ms for the PK + PD fits' eight): the fits
#: repay their compilations from ~1,700 subjects with an empty cache, and at any size once
#: they are cached. 500 keeps the
#: unit tests (2-36 subjects), the reference study's fits and bootstrap replicates (9), the VPC
#: (9 subjects, replicates as rows) and the 100-subject benchmark generic, so that a fresh clone
#: does not compile layouts it would not repay; the 1,000-subject fits and the regimen
#: simulation's blocks (up to 1,000 virtual subjects) use them.
FIXED_MIN_SUBJECTS = 500


@functools.cache
def mab_jets_fixed(jl: int, d: int, with_pd: bool) -> Callable[..., None]:
    """:func:`mab_jets` compiled for one jet layout: the jet length ``jl``, the number of
    derivatives ``d`` and ``with_pd`` are constants of the closure, so compile-time constants
    (LLVM unrolls the loops of known length and folds the offsets into the scratch buffer; the
    same operations in the same order, so the same bits). Takes the arguments of
    :func:`mab_jets` (its own ``with_pd`` and ``d`` ignored). Compiled at the first call and
    cached on disk (numba keys the cache of a closure by the values it captures)."""
    sec = jl > 1 + d

    @njit(cache=True, nogil=True)
    def mab_layout(t, npts, dose, event, fs, ks_decay, par, pidx, with_pd_, obs_idx, obs_kind, order, n_obs, d_, pi,
                   pj, out, err, rtol, atol):
        _mab_rows(t, npts, dose, event, fs, ks_decay, par, pidx, with_pd, obs_idx, obs_kind, order, n_obs, d,
                  jl, sec, out, err, rtol, atol)

    return mab_layout


@functools.cache
def igg_jets_fixed(jl: int, d: int) -> Callable[..., None]:
    """:func:`igg_jets` compiled for one jet layout (``jl`` and ``d`` constants; as
    :func:`mab_jets_fixed`)."""
    sec = jl > 1 + d

    @njit(cache=True, nogil=True)
    def igg_layout(t, npts, dose, event, fs, ks_decay, pk, par, obs_idx, obs_kind, order, n_obs, d_, pi, pj,
                   out, err, rtol, atol):
        _igg_rows(t, npts, dose, event, fs, ks_decay, pk, par, obs_idx, obs_kind, order, n_obs, d,
                  jl, sec, out, err, rtol, atol)

    return igg_layout


def layout_kernel(generic: Callable[..., None], fixed: Callable[..., Callable[..., None]], layout: tuple,
                  n_subjects: int) -> Callable[..., None]:
    """The kernel a call of ``generic`` (:func:`mab_jets` or :func:`igg_jets`) on a design of
    ``n_subjects`` subjects runs: ``fixed(*layout)`` (:func:`mab_jets_fixed` /
    :func:`igg_jets_fixed`; ``layout[0]`` the jet length) for jets of at most
    :data:`FIXED_MAX_JL` numbers when the design has at least :data:`FIXED_MIN_SUBJECTS`
    subjects or that layout is already compiled (or loaded from the cache) in this process,
    else ``generic``. The same bits either way: the choice only moves time."""
    if layout[0] > FIXED_MAX_JL:
        return generic
    kernel = fixed(*layout)
    return kernel if kernel.signatures or n_subjects >= FIXED_MIN_SUBJECTS else generic


# The kernels load from numba's disk cache without numba's compiler set-up (0.17 s of CPU
# per process; fcrnpipe.models.jitcache): every module-level dispatcher of this module. The
# per-layout closures (large designs only) keep numba's own cache: one refresh in a long fit.
load_only_in(globals())
