"""Antibody models: SC one-compartment PK with linear + Michaelis-Menten elimination, IgG turnover.

PK (``sc1cmt_mm``; apparent parameters, ``F`` folded in; model time in days)::

    dAd/dt = -ka*Ad                                         (depot, mg; a dose adds to Ad)
    dAc/dt =  ka*Ad - CL*C - Vmax*C/(Km + C),   C = Ac/V    (central, mg; C in mg/L)

PD (``igg_turnover``; indirect response, the drug stimulates IgG elimination)::

    dI/dt = kin*S(t) - kout*(1 + Emax*C/(EC50 + C))*I,   kin = kout*IgG0,   I(t0) = IgG0
    S(t)  = 1 - f*exp(-k*(t - t0s)) for t >= t0s, else 1     (IVMP suppression of synthesis)

``S`` is integrated as the state ``u = 1 - S`` (``du/dt = -k*u``, ``u`` jumps to ``f`` at
``t0s``), which keeps the system autonomous with the lower-triangular Jacobian that
:func:`fcrnpipe.models.ode.rodas4_step` needs (states: depot, central, u, I).

Units: doses mg, concentrations mg/L, IgG g/L (the unit of the data), rates 1/day, CL L/day,
V L, Vmax mg/day, Km and EC50 mg/L. Dataset times are hours and are divided by 24.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from fcrnpipe.models.base import CMT_CENTRAL, CMT_DEPOT, CMT_PD, Design, Output, ParamSpec, StructuralModel
from fcrnpipe.models.ode import Grid, GridLimitError, build_grid, refine_grid, rodas4_step
from fcrnpipe.models.threads import run_rows

if TYPE_CHECKING:
    import pandas as pd

HOURS_PER_DAY = 24.0

PK_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("ka", "1/day", 0.3, description="first-order SC absorption rate constant"),
    ParamSpec("CL", "L/day", 0.27, description="apparent linear clearance CL/F"),
    ParamSpec("V", "L", 5.0, description="apparent volume V/F"),
    ParamSpec("Vmax", "mg/day", 50.0, description="apparent Michaelis-Menten capacity Vmax/F"),
    ParamSpec("Km", "mg/L", 1.0, description="Michaelis-Menten constant"),
)
PD_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("IgG0", "g/L", 10.0, description="baseline total IgG"),
    ParamSpec("kout", "1/day", math.log(2.0) / 21.0, description="first-order IgG elimination rate constant"),
    ParamSpec("Emax", "-", 4.5, description="maximal relative increase of IgG elimination"),
    ParamSpec("EC50", "mg/L", 10.0, description="concentration at half-maximal effect"),
)


@dataclass(frozen=True)
class Steroid:
    """IVMP suppression of IgG synthesis (fixed, from config ``pkpd.steroid_suppression``).

    ``fraction`` f, ``decay_per_day`` k, ``start_day`` t0s in model time (days after dataset
    time 0). With the pipeline's convention (dataset time 0 = first dose = study day 1) this
    is ``config start_day - 1``: use :meth:`from_config`.
    """

    fraction: float
    decay_per_day: float
    start_day: float

    @classmethod
    def from_config(cls, steroid_cfg: dict) -> "Steroid":
        """From the ``pkpd.steroid_suppression`` mapping (``start_day`` is a study day)."""
        return cls(
            fraction=float(steroid_cfg["fraction"]),
            decay_per_day=float(steroid_cfg["decay_per_day"]),
            start_day=float(steroid_cfg["start_day"]) - 1.0,
        )


#: Default limit of the grid refinement: a subject's grid may grow to this many times its
#: design grid (reference study: the refinement adds at most ~6% to a design grid of 31-380
#: points, in the final fits and in the bootstrap refits).
MAX_GRID_FACTOR = 10.0


@dataclass(frozen=True)
class MabGridOptions:
    """Integration grid settings (days): see :func:`fcrnpipe.models.ode.build_grid`;
    ``max_factor``: limit of the refinement (:func:`fcrnpipe.models.ode.refine_grid`)."""

    h_max: float = 0.5
    h_first: float = 0.02
    growth: float = 1.6
    max_factor: float = MAX_GRID_FACTOR


def mab_system(
    pk: np.ndarray, pd_par: np.ndarray | None, ks: float
) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], dict[tuple[int, int], np.ndarray]]]:
    """Right-hand side and lower-triangular Jacobian (entries by ``(row, column)``) of the
    antibody model for rows with ``pk`` ``(R, 5)`` and ``pd_par`` ``(R, 4)`` or None (see
    :func:`integrate_mab`); states ``(2 or 4, R)``: depot, central (, steroid, IgG); ``ks``:
    the steroid decay per day."""
    r = pk.shape[0]
    ka, cl, v, vmax, km = (pk[:, j] for j in range(5))
    inv_v = 1.0 / v
    with_pd = pd_par is not None
    if with_pd:
        igg0, kout, emax, ec50 = (pd_par[:, j] for j in range(4))
        kin = kout * igg0

    def fun(y: np.ndarray) -> np.ndarray:
        c = y[1] * inv_v
        cp = np.maximum(c, 0.0)
        out = np.empty_like(y)
        kaa = ka * y[0]
        out[0] = -kaa
        out[1] = kaa - cl * c - vmax * cp / (km + cp)
        if with_pd:
            out[2] = -ks * y[2]
            out[3] = kin * (1.0 - y[2]) - kout * (1.0 + emax * cp / (ec50 + cp)) * y[3]
        return out

    def jac(y: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
        c = np.maximum(y[1] * inv_v, 0.0)
        kmc = km + c
        jm = {(0, 0): -ka, (1, 0): ka, (1, 1): -(cl + vmax * km / (kmc * kmc)) * inv_v}
        if with_pd:
            ec = ec50 + c
            jm[(2, 2)] = np.full(r, -ks)
            jm[(3, 1)] = -kout * emax * ec50 / (ec * ec) * inv_v * y[3]
            jm[(3, 2)] = -kin
            jm[(3, 3)] = -kout * (1.0 + emax * c / ec)
        return jm

    return fun, jac


def integrate_mab(  # the numpy reference of the compiled kernels (fcrnpipe.models.kernels)
    grid: Grid,
    sid: np.ndarray,
    pk: np.ndarray,
    pd_par: np.ndarray | None = None,
    steroid: Steroid | None = None,
    error: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Integrate PK (and PD) for rows ``sid`` on their subjects' grids.

    ``pk``: ``(R, 5)`` natural ka, CL, V, Vmax, Km; ``pd_par``: ``(R, 4)`` IgG0, kout, Emax,
    EC50 or None. Returns ``(conc, igg, err)``: ``conc``/``igg`` ``(R, G)`` at the grid points
    (``igg`` None without PD; the state recorded at a grid point is the one before any dose
    there); ``err`` ``(R, G-1)`` the scaled local error estimate of each step if
    ``error = (rtol, atol)`` is given (> 1: the step is less accurate than asked), else None.
    The Michaelis-Menten and Emax terms use ``max(C, 0)`` so that a (tiny, transient)
    negative concentration cannot make ``Km + C`` vanish.
    """
    sid = np.asarray(sid, dtype=int)
    r = sid.size
    t = grid.t[sid]
    h_all = np.diff(t, axis=1)
    dose = grid.dose[sid]
    dose_cols = np.flatnonzero(dose.any(axis=0))
    dose_set = set(dose_cols.tolist())
    inv_v = 1.0 / pk[:, 2]
    with_pd = pd_par is not None
    n_states = 4 if with_pd else 2
    ks = 0.0
    if with_pd:
        fs = steroid.fraction if steroid is not None else 0.0
        ks = steroid.decay_per_day if steroid is not None else 0.0
        ev = grid.event[sid] if steroid is not None else np.zeros_like(dose, dtype=bool)
        ev_cols = set(np.flatnonzero(ev.any(axis=0)).tolist())
    else:
        ev_cols = set()
    fun, jac = mab_system(pk, pd_par, ks)
    y = np.zeros((n_states, r))
    if with_pd:
        y[3] = pd_par[:, 0]
    g_total = t.shape[1]
    conc = np.empty((r, g_total))
    igg = np.empty((r, g_total)) if with_pd else None
    err = np.zeros((r, g_total - 1)) if error is not None else None
    for g in range(g_total):
        conc[:, g] = y[1] * inv_v
        if with_pd:
            igg[:, g] = y[3]
        if g in dose_set:
            y[0] = y[0] + dose[:, g]
        if g in ev_cols:
            y[2] = np.where(ev[:, g], fs, y[2])
        if g < g_total - 1:
            y_new, e = rodas4_step(y, h_all[:, g], fun, jac, with_error=error is not None)
            if err is not None:
                rtol, atol = error
                scale = atol + rtol * np.maximum(np.abs(y), np.abs(y_new))
                err[:, g] = np.max(np.abs(e) / scale, axis=0)
            y = y_new
    return conc, igg, err


@dataclass(frozen=True)
class KernelInputs:
    """Per-subject inputs of the compiled kernels (:mod:`fcrnpipe.models.kernels`) for a grid:
    grid times, real points, doses, event flags, the grid index and output kind (1
    concentration, 2 IgG, 0 none) of each record, and the records in grid order."""

    t: np.ndarray
    npts: np.ndarray
    dose: np.ndarray
    event: np.ndarray
    obs_idx: np.ndarray
    obs_kind: np.ndarray
    order: np.ndarray
    n_obs: np.ndarray

    @classmethod
    def build(cls, grid: Grid, obs_conc: np.ndarray, obs_igg: np.ndarray) -> "KernelInputs":
        kind = np.where(obs_conc, 1, np.where(obs_igg, 2, 0)).astype(np.int64)
        idx = np.where(kind > 0, grid.obs_index, np.iinfo(np.int64).max).astype(np.int64)
        order = np.argsort(idx, axis=1, kind="stable").astype(np.int64)
        return cls(
            t=np.ascontiguousarray(grid.t, dtype=float),
            npts=np.asarray(grid.n_points, dtype=np.int64),
            dose=np.ascontiguousarray(grid.dose, dtype=float),
            event=np.ascontiguousarray(grid.event, dtype=np.bool_),
            obs_idx=np.ascontiguousarray(grid.obs_index, dtype=np.int64),
            obs_kind=kind,
            order=order,
            n_obs=(kind > 0).sum(axis=1).astype(np.int64),
        )

    def rows(self, sid: np.ndarray) -> tuple[np.ndarray, ...]:
        """The inputs of rows ``sid`` (in kernel argument order, without the parameters)."""
        return (self.t[sid], self.npts[sid], self.dose[sid], self.event[sid])

    def records(self, sid: np.ndarray) -> tuple[np.ndarray, ...]:
        return (self.obs_idx[sid], self.obs_kind[sid], self.order[sid], self.n_obs[sid])


@dataclass(frozen=True)
class _MabPrep:
    grid: Grid
    obs_conc: np.ndarray  # (N, M) record is a concentration the model fits
    obs_igg: np.ndarray  # (N, M) record is an IgG value the model fits
    obs_mask: np.ndarray

    @cached_property
    def kernel(self) -> KernelInputs:
        return KernelInputs.build(self.grid, self.obs_conc, self.obs_igg)


def derivative_pairs(d: int, second: bool) -> tuple[np.ndarray, np.ndarray]:
    """The packed second-derivative pairs ``(i, j)``, ``i <= j < d`` (none without ``second``)."""
    if not second or d == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    i, j = np.triu_indices(d)
    return i.astype(np.int64), j.astype(np.int64)


def parameter_jets(values: np.ndarray, diff: np.ndarray, log_scale: np.ndarray, pairs: tuple[np.ndarray, np.ndarray],
                   width: int | None = None) -> np.ndarray:
    """Jets ``(R, width, J)`` of natural-scale parameters ``values`` ``(R, n)`` differentiated
    in the estimation-scale parameters ``diff`` (column indices; ``log_scale[k]``: parameter
    ``diff[k]`` is ``exp`` of its estimation-scale value, so its first and second derivatives
    equal its value; otherwise 1 and 0)."""
    r, n = values.shape
    d = len(diff)
    pi, pj = pairs
    jl = 1 + d + pi.size
    out = np.zeros((r, width or n, jl))
    out[:, :n, 0] = values
    for k, col in enumerate(diff):
        out[:, col, 1 + k] = values[:, col] if log_scale[k] else 1.0
        if log_scale[k]:
            m = np.flatnonzero((pi == k) & (pj == k))
            if m.size:
                out[:, col, 1 + d + m[0]] = values[:, col]
    return out


def unpack_jets(out: np.ndarray, d: int, pairs: tuple[np.ndarray, np.ndarray], second: bool
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``f`` ``(R, M)``, ``df`` ``(R, M, D)`` and ``d2f`` ``(R, M, D, D)`` (symmetric) from output jets."""
    f = out[:, :, 0]
    jac = out[:, :, 1 : 1 + d]
    if not second:
        return f, jac, None
    pi, pj = pairs
    hess = np.empty(f.shape + (d, d))
    hess[:, :, pi, pj] = out[:, :, 1 + d :]
    hess[:, :, pj, pi] = out[:, :, 1 + d :]
    return f, jac, hess


def _no_err() -> np.ndarray:
    return np.zeros((0, 0))


def _err_rows(err: np.ndarray, a: int, b: int) -> np.ndarray:
    """Rows ``a:b`` of the local-error buffer (the empty buffer when no errors are wanted: the
    kernels fill ``err`` only when its first axis equals their number of rows)."""
    return err[a:b] if err.size else err


def _kernel_arguments(prep: _MabPrep, sid: np.ndarray, n_jet: int, steroid: Steroid | None,
                      error: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, float, float, float]]:
    """What both kernels take besides the parameters: the output jets ``(R, M, n_jet)`` and the
    local-error buffer to fill, the steroid events of the rows ``sid`` and the scalars
    ``(steroid fraction, steroid decay per day, rtol, atol)`` (zeros where not used)."""
    k = prep.kernel
    out = np.zeros((sid.size, k.obs_idx.shape[1], n_jet))
    err = np.zeros((sid.size, max(k.t.shape[1] - 1, 0))) if error is not None else _no_err()
    fs = steroid.fraction if steroid is not None else 0.0
    ks = steroid.decay_per_day if steroid is not None else 0.0
    event = k.event[sid] if steroid is not None else np.zeros((sid.size, k.t.shape[1]), dtype=np.bool_)
    rtol, atol = error if error is not None else (0.0, 0.0)
    return out, err, event, (fs, ks, rtol, atol)


def run_mab(prep: _MabPrep, sid: np.ndarray, par: np.ndarray, with_pd: bool, steroid: Steroid | None,
            d: int, pairs: tuple[np.ndarray, np.ndarray], error: tuple[float, float] | None = None,
            diff: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`fcrnpipe.models.kernels.mab_jets` on rows ``sid`` with parameter jets ``par``
    ``(R, 9, J)`` seeded in the kernel parameter columns ``diff`` (derivative ``k`` is column
    ``diff[k]``); returns the output jets ``(R, M, J)`` and the local errors (if ``error``)."""
    from fcrnpipe.models import kernels

    sid = np.asarray(sid, dtype=np.int64)
    k = prep.kernel
    out, err, event, (fs, ks, rtol, atol) = _kernel_arguments(prep, sid, par.shape[2], steroid, error)
    pi, pj = pairs
    pidx = np.full(N_KERNEL_PARAMS, -1, dtype=np.int64)
    if diff is not None:
        pidx[np.asarray(diff, dtype=np.int64)] = np.arange(len(diff))
    t, npts, dose, par = k.t[sid], k.npts[sid], k.dose[sid], np.ascontiguousarray(par)
    obs_idx, obs_kind, order, n_obs = k.records(sid)

    kernel = kernels.layout_kernel(kernels.mab_jets, kernels.mab_jets_fixed, (par.shape[2], d, bool(with_pd)),
                                   k.t.shape[0])

    def rows(a: int, b: int) -> None:
        kernel(t[a:b], npts[a:b], dose[a:b], event[a:b], fs, ks, par[a:b], pidx, with_pd, obs_idx[a:b], obs_kind[a:b],
               order[a:b], n_obs[a:b], d, pi, pj, out[a:b], _err_rows(err, a, b), rtol, atol)

    run_rows(rows, sid.size)
    return out, (err if error is not None else None)


def run_igg(prep: _MabPrep, sid: np.ndarray, pk: np.ndarray, par: np.ndarray, steroid: Steroid | None,
            d: int, pairs: tuple[np.ndarray, np.ndarray], error: tuple[float, float] | None = None
            ) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`fcrnpipe.models.kernels.igg_jets` (PD on fixed PK ``pk`` ``(R, 5)``)."""
    from fcrnpipe.models import kernels

    sid = np.asarray(sid, dtype=np.int64)
    k = prep.kernel
    out, err, event, (fs, ks, rtol, atol) = _kernel_arguments(prep, sid, par.shape[2], steroid, error)
    pi, pj = pairs
    t, npts, dose = k.t[sid], k.npts[sid], k.dose[sid]
    pk, par = np.ascontiguousarray(pk, dtype=float), np.ascontiguousarray(par)
    obs_idx, obs_kind, order, n_obs = k.records(sid)

    kernel = kernels.layout_kernel(kernels.igg_jets, kernels.igg_jets_fixed, (par.shape[2], d), k.t.shape[0])

    def rows(a: int, b: int) -> None:
        kernel(t[a:b], npts[a:b], dose[a:b], event[a:b], fs, ks, pk[a:b], par[a:b], obs_idx[a:b], obs_kind[a:b],
               order[a:b], n_obs[a:b], d, pi, pj, out[a:b], _err_rows(err, a, b), rtol, atol)

    run_rows(rows, sid.size)
    return out, (err if error is not None else None)


def _prepare(design: Design, cmts: tuple[int, ...], steroid: Steroid | None, opts: MabGridOptions) -> _MabPrep:
    used = design.obs_mask & np.isin(design.obs_cmt, cmts)
    dose_ok = (design.dose_cmt == CMT_DEPOT) & np.isfinite(design.dose_time)
    grid = build_grid(
        obs_time=np.where(design.obs_mask, design.obs_time, 0.0) / HOURS_PER_DAY,
        obs_mask=used,
        dose_time=np.where(dose_ok, design.dose_time / HOURS_PER_DAY, np.nan),
        dose_amt=np.where(dose_ok, design.dose_amt, 0.0),
        event_time=None if steroid is None or steroid.fraction == 0.0 else steroid.start_day,
        h_max=opts.h_max,
        h_first=opts.h_first,
        growth=opts.growth,
    )
    return _MabPrep(
        grid=grid,
        obs_conc=used & (design.obs_cmt == CMT_CENTRAL),
        obs_igg=used & (design.obs_cmt == CMT_PD),
        obs_mask=design.obs_mask,
    )


def _gather(traj: np.ndarray, grid: Grid, sid: np.ndarray) -> np.ndarray:
    idx = grid.obs_index[sid]
    return np.take_along_axis(traj, idx, axis=1)


#: Local error tolerance (relative, absolute in mg or g/L) of the grid refinement.
ODE_TOLERANCE: tuple[float, float] = (1e-4, 1e-5)


def _local_errors(prep: _MabPrep, sid: np.ndarray, pk: np.ndarray, pd_par: np.ndarray | None,
                  steroid: Steroid | None, fixed_pk: bool) -> np.ndarray:
    """Scaled local errors ``(R, G-1)`` of the compiled integration at :data:`ODE_TOLERANCE`."""
    none = derivative_pairs(0, False)
    if pd_par is None:
        par = parameter_jets(pk, [], [], none, width=N_KERNEL_PARAMS)
        return run_mab(prep, sid, par, False, None, 0, none, error=ODE_TOLERANCE)[1]
    if fixed_pk:
        par = parameter_jets(pd_par, [], [], none)
        return run_igg(prep, sid, pk, par, steroid, 0, none, error=ODE_TOLERANCE)[1]
    par = parameter_jets(np.concatenate([pk, pd_par], axis=1), [], [], none)
    return run_mab(prep, sid, par, True, steroid, 0, none, error=ODE_TOLERANCE)[1]


#: Parameter columns of the compiled kernels (ka, CL, V, Vmax, Km, IgG0, kout, Emax, EC50).
N_KERNEL_PARAMS = 9


def _refined(
    prep: _MabPrep,
    sid: np.ndarray,
    pk: np.ndarray,
    pd_par: np.ndarray | None,
    steroid: Steroid | None,
    max_rounds: int = 4,
    max_factor: float | None = MAX_GRID_FACTOR,
    fixed_pk: bool = False,
) -> _MabPrep:
    """Refine the grid of ``prep`` until every step meets :data:`ODE_TOLERANCE` for the given
    rows (at most ``max_rounds`` rounds; :class:`~fcrnpipe.models.ode.GridLimitError`, naming
    the subject and its most extreme parameter row, beyond ``max_factor``). Returns ``prep``
    itself when nothing changed."""
    sid = np.asarray(sid, dtype=int)
    n = prep.grid.t.shape[0]
    for _ in range(max_rounds):
        err = _local_errors(prep, sid, pk, pd_par, steroid, fixed_pk)
        per_subject = np.zeros((n, err.shape[1]))
        row_err = np.where(np.isfinite(err), err, np.inf)
        np.maximum.at(per_subject, sid, row_err)
        try:
            new = refine_grid(prep.grid, per_subject, max_factor=max_factor)
        except GridLimitError as exc:
            rows = np.flatnonzero(sid == exc.subject)
            worst = rows[np.argmax(row_err[rows].max(axis=1))]
            names = [p.name for p in PK_PARAMS] + ([p.name for p in PD_PARAMS] if pd_par is not None else [])
            vals = list(pk[worst]) + (list(pd_par[worst]) if pd_par is not None else [])
            detail = " at " + ", ".join(f"{k}={v:.4g}" for k, v in zip(names, vals))
            raise GridLimitError(exc.subject, exc.needed, exc.limit, exc.base, detail) from None
        if new is None:
            break
        prep = replace(prep, grid=new)
    return prep


def _masked(prep: _MabPrep, sid: np.ndarray, f: np.ndarray, jac: np.ndarray | None, hess: np.ndarray | None,
            fitted: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Predictions where ``fitted`` (the model's outputs), NaN at other records, 0 on padding;
    derivatives 0 outside ``fitted``."""
    f = np.where(fitted, f, np.where(prep.obs_mask[sid], np.nan, 0.0))
    if jac is not None:
        jac = np.where(fitted[:, :, None], jac, 0.0)
    if hess is not None:
        hess = np.where(fitted[:, :, None, None], hess, 0.0)
    return f, jac, hess


class Sc1CmtMM(StructuralModel):
    """SC one-compartment PK with parallel linear and Michaelis-Menten elimination."""

    name = "sc1cmt_mm"
    params = PK_PARAMS
    outputs = (Output(CMT_CENTRAL, "conc", "mg/L"),)
    time_scale = 1.0 / HOURS_PER_DAY
    time_unit = "day"

    def __init__(self, grid: MabGridOptions | None = None) -> None:
        self.grid_options = grid or MabGridOptions()

    def default_iiv(self) -> tuple[str, ...]:
        return ("ka", "CL", "V", "Vmax")

    def prepare(self, design: Design) -> _MabPrep:
        return _prepare(design, (CMT_CENTRAL,), None, self.grid_options)

    def derivatives(self, prep: _MabPrep, params: np.ndarray, sid: np.ndarray, diff: np.ndarray,
                    log_scale: np.ndarray, second: bool = True
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        sid = np.asarray(sid, dtype=np.int64)
        d = len(diff)
        pairs = derivative_pairs(d, second)
        par = parameter_jets(np.asarray(params, dtype=float), diff, log_scale, pairs, width=N_KERNEL_PARAMS)
        out, _ = run_mab(prep, sid, par, False, None, d, pairs, diff=diff)
        f, jac, hess = unpack_jets(out, d, pairs, second)
        return _masked(prep, sid, f, jac, hess, prep.obs_conc[sid])

    def predict(self, prep: _MabPrep, params: np.ndarray, sid: np.ndarray) -> np.ndarray:
        return self.derivatives(prep, params, sid, np.zeros(0, dtype=int), np.zeros(0, dtype=bool), False)[0]

    def refine(self, prep: _MabPrep, params: np.ndarray, sid: np.ndarray) -> _MabPrep:
        return _refined(prep, sid, np.asarray(params, dtype=float), None, None,
                        max_factor=self.grid_options.max_factor)

    def derived(self, values: dict[str, float]) -> dict[str, tuple[float, str]]:
        return {"t_half_linear": (math.log(2.0) * values["V"] / values["CL"], "day")}


class IggTurnover(StructuralModel):
    """IgG turnover PD driven by fixed individual PK (sequential PK -> PD fitting).

    ``pk_individual``: one row per subject, column ``ID`` plus ``ka, CL, V, Vmax, Km``
    (natural scale; e.g. the individual parameters of a PK fit). Subjects missing from it get
    ``pk_typical`` (population PK), if given.
    """

    name = "igg_turnover"
    params = PD_PARAMS
    outputs = (Output(CMT_PD, "IgG", "g/L"),)
    time_scale = 1.0 / HOURS_PER_DAY
    time_unit = "day"

    def __init__(
        self,
        pk_individual: pd.DataFrame,
        steroid: Steroid | None = None,
        pk_typical: dict[str, float] | None = None,
        grid: MabGridOptions | None = None,
    ) -> None:
        self.pk_individual = pk_individual
        self.pk_typical = pk_typical
        self.steroid = steroid
        self.grid_options = grid or MabGridOptions()

    def default_iiv(self) -> tuple[str, ...]:
        return ("IgG0", "kout", "EC50")

    def pk_matrix(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """PK parameters ``(N, 5)`` for subjects ``ids``, and a flag of those given typical PK."""
        names = [p.name for p in PK_PARAMS]
        table = self.pk_individual.copy()
        table["ID"] = table["ID"].astype(str)
        table = table.drop_duplicates("ID").set_index("ID")
        out = np.empty((len(ids), len(names)))
        typical = np.zeros(len(ids), dtype=bool)
        for i, sid in enumerate(np.asarray(ids).astype(str)):
            if sid in table.index:
                out[i] = table.loc[sid, names].to_numpy(dtype=float)
            elif self.pk_typical is not None:
                out[i] = [self.pk_typical[n] for n in names]
                typical[i] = True
            else:
                raise KeyError(sid)
        return out, typical

    def prepare(self, design: Design) -> tuple[_MabPrep, np.ndarray]:
        pk, _ = self.pk_matrix(design.ids)
        return _prepare(design, (CMT_PD,), self.steroid, self.grid_options), pk

    def derivatives(self, prep: tuple[_MabPrep, np.ndarray], params: np.ndarray, sid: np.ndarray, diff: np.ndarray,
                    log_scale: np.ndarray, second: bool = True
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        mp, pk = prep
        sid = np.asarray(sid, dtype=np.int64)
        d = len(diff)
        pairs = derivative_pairs(d, second)
        par = parameter_jets(np.asarray(params, dtype=float), diff, log_scale, pairs)
        out, _ = run_igg(mp, sid, pk[sid], par, self.steroid, d, pairs)
        f, jac, hess = unpack_jets(out, d, pairs, second)
        return _masked(mp, sid, f, jac, hess, mp.obs_igg[sid])

    def predict(self, prep: tuple[_MabPrep, np.ndarray], params: np.ndarray, sid: np.ndarray) -> np.ndarray:
        return self.derivatives(prep, params, sid, np.zeros(0, dtype=int), np.zeros(0, dtype=bool), False)[0]

    def refine(self, prep: tuple[_MabPrep, np.ndarray], params: np.ndarray, sid: np.ndarray) -> tuple[_MabPrep, np.ndarray]:
        mp, pk = prep
        new = _refined(mp, sid, pk[np.asarray(sid, dtype=int)], np.asarray(params, dtype=float), self.steroid,
                       max_factor=self.grid_options.max_factor, fixed_pk=True)
        return prep if new is mp else (new, pk)

    def derived(self, values: dict[str, float]) -> dict[str, tuple[float, str]]:
        return {
            "t_half_IgG": (math.log(2.0) / values["kout"], "day"),
            "max_reduction": (values["Emax"] / (1.0 + values["Emax"]), "fraction"),
        }


class Sc1CmtMMIggTurnover(StructuralModel):
    """Simultaneous PK + PD: ``sc1cmt_mm`` and ``igg_turnover`` with shared individual PK."""

    name = "sc1cmt_mm+igg_turnover"
    params = PK_PARAMS + PD_PARAMS
    outputs = (Output(CMT_CENTRAL, "conc", "mg/L"), Output(CMT_PD, "IgG", "g/L"))
    joint = True
    time_scale = 1.0 / HOURS_PER_DAY
    time_unit = "day"

    def __init__(self, steroid: Steroid | None = None, grid: MabGridOptions | None = None) -> None:
        self.steroid = steroid
        self.grid_options = grid or MabGridOptions()

    def default_iiv(self) -> tuple[str, ...]:
        return ("ka", "CL", "V", "Vmax", "IgG0", "kout", "EC50")

    def prepare(self, design: Design) -> _MabPrep:
        return _prepare(design, (CMT_CENTRAL, CMT_PD), self.steroid, self.grid_options)

    def derivatives(self, prep: _MabPrep, params: np.ndarray, sid: np.ndarray, diff: np.ndarray,
                    log_scale: np.ndarray, second: bool = True
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        sid = np.asarray(sid, dtype=np.int64)
        d = len(diff)
        pairs = derivative_pairs(d, second)
        par = parameter_jets(np.asarray(params, dtype=float), diff, log_scale, pairs)
        out, _ = run_mab(prep, sid, par, True, self.steroid, d, pairs, diff=diff)
        f, jac, hess = unpack_jets(out, d, pairs, second)
        return _masked(prep, sid, f, jac, hess, prep.obs_conc[sid] | prep.obs_igg[sid])

    def predict(self, prep: _MabPrep, params: np.ndarray, sid: np.ndarray) -> np.ndarray:
        return self.derivatives(prep, params, sid, np.zeros(0, dtype=int), np.zeros(0, dtype=bool), False)[0]

    def refine(self, prep: _MabPrep, params: np.ndarray, sid: np.ndarray) -> _MabPrep:
        params = np.asarray(params, dtype=float)
        return _refined(prep, sid, params[:, :5], params[:, 5:], self.steroid,
                        max_factor=self.grid_options.max_factor)

    def derived(self, values: dict[str, float]) -> dict[str, tuple[float, str]]:
        return {
            "t_half_IgG": (math.log(2.0) / values["kout"], "day"),
            "max_reduction": (values["Emax"] / (1.0 + values["Emax"]), "fraction"),
        }
