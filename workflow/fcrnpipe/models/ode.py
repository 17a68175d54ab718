"""Vectorised stiff ODE integration on fixed per-subject grids (Rosenbrock RODAS4).

Why not ``scipy.integrate.solve_ivp``: the estimator evaluates the model for thousands of
(subject x parameter-set) rows many thousand times; a Python-level call per subject is far too
slow, and an adaptive step-size controller makes the prediction a non-smooth function of the
parameters (the step sequence changes), which spoils finite-difference gradients of the
objective function. Here every row is integrated at once, as numpy arrays, on a grid that
depends on the design only (dose, observation and event times plus a regular grid, graded
after each dose), so predictions are smooth in the parameters.

Method: RODAS4 (Hairer & Wanner, *Solving ODEs II*, 1996, section IV.7; coefficients as in the
KPP Rosenbrock integrator, Sandu et al.): 6 stages, order 4, L-stable and stiffly accurate, so
the stiff Michaelis-Menten elimination at concentrations below Km (rate up to
``CL/V + Vmax/(V*Km)``, ~10/day for batoclimab) needs no small steps. The systems here have a
lower-triangular Jacobian (depot -> central -> PD cascade), so the linear stage systems are
solved by forward substitution, elementwise over rows. Accuracy against ``solve_ivp`` is
checked in ``tests/test_models.py``.

The models integrate with the compiled kernels of :mod:`fcrnpipe.models.kernels` (the same
scheme and grids, with exact parameter derivatives); :func:`rodas4_step` with
:func:`fcrnpipe.models.mab.integrate_mab` is the numpy reference implementation they are
tested against (``tests/test_models_kernels.py``). The grids (:func:`build_grid`,
:func:`refine_grid`) are shared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# ----------------------------------------------------------------------------- RODAS4 tableau
_GAMMA = 0.25
_A = np.zeros((6, 6))
_C = np.zeros((6, 6))
_a = [
    1.544,
    0.9466785280815826,
    0.2557011698983284,
    3.314825187068521,
    2.896124015972201,
    0.9986419139977817,
    1.221224509226641,
    6.019134481288629,
    12.53708332932087,
    -0.687886036105895,
    1.221224509226641,
    6.019134481288629,
    12.53708332932087,
    -0.687886036105895,
    1.0,
]
_c = [
    -5.6688,
    -2.430093356833875,
    -0.2063599157091915,
    -0.1073529058151375,
    -9.594562251023355,
    -20.47028614809616,
    7.496443313967647,
    -10.24680431464352,
    -33.99990352819905,
    11.7089089320616,
    8.083246795921522,
    -7.981132988064893,
    -31.52159432874371,
    16.31930543123136,
    -6.058818238834054,
]
_k = 0
for _i in range(1, 6):
    for _j in range(_i):
        _A[_i, _j] = _a[_k]
        _C[_i, _j] = _c[_k]
        _k += 1
_M = np.array([_a[6], _a[7], _a[8], _a[9], 1.0, 1.0])
del _a, _c, _k, _i, _j

class GridLimitError(RuntimeError):
    """Refining an integration grid would exceed its limit (:func:`refine_grid`).

    ``subject``: index of the (first) subject over the limit; ``needed``/``limit``/``base``:
    its grid points after the refinement, the most allowed, and its design grid's."""

    def __init__(self, subject: int, needed: int, limit: int, base: int, detail: str = "") -> None:
        self.subject, self.needed, self.limit, self.base = subject, needed, limit, base
        super().__init__(
            f"the ODE integration grid of subject index {subject} would need {needed} points, more than "
            f"its limit of {limit} ({limit / base:g} x its {base}-point design grid){detail}: the solution "
            "changes too fast to be integrated at these parameter values"
        )


RhsFun = Callable[[np.ndarray], np.ndarray]
JacFun = Callable[[np.ndarray], dict[tuple[int, int], np.ndarray]]


def rodas4_step(
    y: np.ndarray, h: np.ndarray, fun: RhsFun, jac: JacFun, with_error: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """One RODAS4 step for an autonomous system with a lower-triangular Jacobian.

    ``y``: states ``(S, R)``; ``h``: step per row ``(R,)`` (> 0); ``fun(y) -> (S, R)``;
    ``jac(y) -> {(i, j): (R,)}`` with ``i >= j`` (missing entries are zero).
    Returns the new state and, if ``with_error``, the embedded local error estimate
    ``(S, R)`` (the last stage, as in Hairer's RODAS: solution minus the order-3 solution).
    """
    n_states, r = y.shape
    jmat = jac(y)
    ig = (1.0 / _GAMMA) / h
    inv_diag = [1.0 / (ig - jmat[(i, i)]) if (i, i) in jmat else 1.0 / ig for i in range(n_states)]
    lower = [[(j, jmat[(i, j)]) for j in range(i) if (i, j) in jmat] for i in range(n_states)]
    inv_h = 1.0 / h
    ks = np.empty((6, n_states, r))
    k2 = ks.reshape(6, n_states * r)
    y1 = y.reshape(-1)
    for s in range(6):
        if s == 0:
            ys = y
        else:
            ys = (y1 + _A[s, :s] @ k2[:s]).reshape(n_states, r)
        rhs = fun(ys)
        if s > 0:
            rhs += (_C[s, :s] @ k2[:s]).reshape(n_states, r) * inv_h
        for i in range(n_states):
            acc = rhs[i]
            for j, jij in lower[i]:
                acc += jij * ks[s, j]
            np.multiply(acc, inv_diag[i], out=ks[s, i])
    y_new = (y1 + _M @ k2).reshape(n_states, r)
    return y_new, (ks[5] if with_error else None)


@dataclass(frozen=True)
class Grid:
    """Per-subject integration grids, padded to a common length ``G`` (model time unit).

    ``t``: ``(N, G)`` grid times (strictly increasing per subject; the first ``n_points[i]``
    are the subject's own, the rest padding steps); ``obs_index``: ``(N, M)`` grid index of
    each observation (0 for padding); ``dose``: ``(N, G)`` amount added to the depot at each
    grid point (after the state there has been recorded); ``event``: ``(N, G)`` True at the
    grid point of the extra event (e.g. the steroid pulse start). The inputs are kept so that
    the grid can be refined (:func:`refine_grid`).
    """

    t: np.ndarray
    n_points: np.ndarray
    obs_index: np.ndarray
    dose: np.ndarray
    event: np.ndarray
    obs_time: np.ndarray
    obs_mask: np.ndarray
    dose_time: np.ndarray
    dose_amt: np.ndarray
    event_time: float | None
    h_max: float
    base_points: np.ndarray | None = None  # (N,) points of the design grid (before refinement)

    @property
    def n_steps(self) -> int:
        return int(self.t.shape[1] - 1)


def _assemble(
    points: list[np.ndarray],
    obs_time: np.ndarray,
    obs_mask: np.ndarray,
    dose_time: np.ndarray,
    dose_amt: np.ndarray,
    event_time: float | None,
    h_max: float,
    base_points: np.ndarray | None = None,
) -> Grid:
    n = len(points)
    g = max(max(p.size for p in points), 2)
    t = np.empty((n, g))
    for i, pts in enumerate(points):
        t[i, : pts.size] = pts
        t[i, pts.size :] = pts[-1] + h_max * np.arange(1, g - pts.size + 1)
    obs_index = np.zeros(obs_time.shape, dtype=int)
    dose = np.zeros((n, g))
    event = np.zeros((n, g), dtype=bool)
    for i in range(n):
        m = obs_mask[i]
        obs_index[i, m] = np.searchsorted(t[i], obs_time[i][m])
        ok = np.isfinite(dose_time[i]) & (dose_amt[i] != 0.0)
        idx = np.searchsorted(t[i], dose_time[i][ok])
        np.add.at(dose[i], idx, dose_amt[i][ok])
        if event_time is not None and event_time <= points[i][-1]:
            event[i, np.searchsorted(t[i], event_time)] = True
    return Grid(
        t=t,
        n_points=np.asarray([p.size for p in points]),
        obs_index=obs_index,
        dose=dose,
        event=event,
        obs_time=obs_time,
        obs_mask=obs_mask,
        dose_time=dose_time,
        dose_amt=dose_amt,
        event_time=event_time,
        h_max=h_max,
        base_points=np.asarray([p.size for p in points]) if base_points is None else base_points,
    )


def build_grid(
    obs_time: np.ndarray,
    obs_mask: np.ndarray,
    dose_time: np.ndarray,
    dose_amt: np.ndarray,
    event_time: float | None = None,
    h_max: float = 1.0,
    h_first: float = 0.02,
    growth: float = 1.6,
) -> Grid:
    """Build the grids for ``N`` subjects (all times already in the model's unit).

    Each subject's grid contains its observation and dose times (and ``event_time``), a
    regular grid of spacing ``h_max`` and, after every dose, steps growing geometrically from
    ``h_first`` by ``growth`` up to ``h_max`` (the absorption transient). It starts at the
    subject's earliest record (or ``event_time`` if earlier) and ends at its latest record;
    padding steps of ``h_max`` follow. An event after the last record is ignored.
    """
    n = obs_time.shape[0]
    graded = [0.0]
    step = h_first
    while step < h_max:
        graded.append(graded[-1] + step)
        step *= growth
    graded_arr = np.asarray(graded)
    points: list[np.ndarray] = []
    for i in range(n):
        ot = obs_time[i][obs_mask[i]]
        ok = np.isfinite(dose_time[i]) & (dose_amt[i] != 0.0)
        dt = dose_time[i][ok]
        key = np.concatenate([ot, dt])
        if key.size == 0:
            key = np.zeros(1)
        start, end = float(key.min()), float(key.max())
        if event_time is not None and event_time <= end:
            key = np.concatenate([key, [event_time]])
            start = min(start, float(event_time))
        regular = start + np.arange(0.0, max(end - start, 0.0), h_max)
        extra = (dt[:, None] + graded_arr[None, :]).ravel()
        cand = np.unique(np.concatenate([regular, extra]))
        cand = cand[(cand > start) & (cand < end)]
        key_u = np.unique(key)
        # drop non-key points too close to a key point (tiny steps waste work, nothing more)
        if cand.size and key_u.size:
            pos = np.searchsorted(key_u, cand)
            lo = key_u[np.clip(pos - 1, 0, key_u.size - 1)]
            hi = key_u[np.clip(pos, 0, key_u.size - 1)]
            near = (np.abs(cand - lo) < 0.1 * h_first) | (np.abs(hi - cand) < 0.1 * h_first)
            cand = cand[~near]
        points.append(np.unique(np.concatenate([key_u, cand])))
    return _assemble(points, obs_time, obs_mask, dose_time, dose_amt, event_time, h_max)


def refine_grid(grid: Grid, err: np.ndarray, max_split: int = 64, max_factor: float | None = None) -> Grid | None:
    """Split the intervals whose scaled local error ``err`` (``(N, G-1)``) exceeds 1.

    The local error of the embedded order-3 estimate scales with ``h**4``, so an interval
    with error ``e`` is split into ``ceil(1.25 * e**(1/4))`` equal parts (at most
    ``max_split``). Returns None when no interval needs refinement. ``max_factor``: a
    subject's grid may hold at most this many times the points of its design grid
    (:attr:`Grid.base_points`); a refinement beyond raises :class:`GridLimitError` before
    anything is allocated.
    """
    err = np.where(np.isfinite(err), err, np.inf)
    real = np.arange(err.shape[1])[None, :] < (grid.n_points - 1)[:, None]
    bad = (err > 1.0) & real
    if not bad.any():
        return None
    points: list[np.ndarray] = []
    for i in range(grid.t.shape[0]):
        pts = grid.t[i, : grid.n_points[i]]
        js = np.flatnonzero(bad[i])
        if js.size == 0:
            points.append(pts)
            continue
        e = err[i, js]
        parts = np.where(np.isfinite(e), np.ceil(1.25 * np.maximum(e, 1.0) ** 0.25), max_split)
        parts = np.clip(parts, 2, max_split).astype(int)
        if max_factor is not None and grid.base_points is not None:
            needed = int(pts.size + np.sum(parts - 1))
            limit = int(max_factor * grid.base_points[i])
            if needed > limit:
                raise GridLimitError(i, needed, limit, int(grid.base_points[i]))
        new = [pts]
        for j, k in zip(js, parts):
            new.append(pts[j] + (pts[j + 1] - pts[j]) * np.arange(1, k) / k)
        points.append(np.unique(np.concatenate(new)))
    return _assemble(
        points, grid.obs_time, grid.obs_mask, grid.dose_time, grid.dose_amt, grid.event_time, grid.h_max,
        base_points=grid.base_points,
    )
