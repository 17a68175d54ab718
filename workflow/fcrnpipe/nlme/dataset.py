"""NONMEM-style datasets: reading, validation, and conversion to padded model designs.

The dataset contract (CSV, one record per line, header row; column names case-insensitive):

=======  ========  ==========================================================================
column   required  meaning
=======  ========  ==========================================================================
ID       yes       subject identifier (text or number); a subject's records are contiguous
TIME     yes       time in hours (NONMEM convention), non-decreasing within a subject
AMT      yes       dose amount (EVID 1); empty or 0 on observation records
DV       yes       observed value (EVID 0); empty, ``.`` or 0 on dose records
EVID     yes       0 = observation, 1 = dose (other NONMEM event types are not supported)
MDV      no        1 = the observation is not used (default: 1 for doses, 0 otherwise)
CMT      yes       1 = depot (doses), 2 = central concentration, 3 = PD marker (IgG)
BLQ      no        1 = observation below the lower limit of quantification (default 0)
LLOQ     no        the limit, required (> 0) on BLQ records
=======  ========  ==========================================================================

Any other column is kept as a covariate. Errors name the file, the data row (1-based, the
header is line 1, so data row ``k`` is line ``k + 1``) and the column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fcrnpipe.errors import UserError
from fcrnpipe.models.base import CMT_CENTRAL, CMT_DEPOT, CMT_PD, Design

REQUIRED = ("ID", "TIME", "AMT", "DV", "EVID", "CMT")
OPTIONAL = ("MDV", "BLQ", "LLOQ")
RESERVED = REQUIRED + OPTIONAL
OBS_CMTS = (CMT_CENTRAL, CMT_PD)
DOSE_CMTS = (CMT_DEPOT,)
_MISSING = ("", ".", "NA", "NaN", "nan")


@dataclass(frozen=True)
class NMData:
    """A validated NONMEM-style dataset.

    ``records``: the records in file order with normalised upper-case column names, numeric
    types and a 1-based ``ROW`` column (the data row of the source file). ``covariates``: the
    names of the extra columns.
    """

    path: str
    records: pd.DataFrame
    covariates: tuple[str, ...]

    @property
    def ids(self) -> np.ndarray:
        """Subject identifiers in order of first appearance."""
        return pd.unique(self.records["ID"])

    @property
    def n_subjects(self) -> int:
        return int(len(self.ids))

    def observations(self, cmts: tuple[int, ...] | None = None) -> pd.DataFrame:
        """Observation records (EVID 0, MDV 0), optionally only compartments ``cmts``."""
        r = self.records
        m = (r["EVID"] == 0) & (r["MDV"] == 0)
        if cmts is not None:
            m &= r["CMT"].isin(cmts)
        return r[m]

    def doses(self) -> pd.DataFrame:
        r = self.records
        return r[r["EVID"] == 1]

    def design(self, cmts: tuple[int, ...] | None = None, ids: np.ndarray | None = None) -> Design:
        """Padded :class:`Design` of the subjects ``ids`` (default: those with observations in
        ``cmts``), with the observation records of ``cmts`` (default: all)."""
        obs = self.observations(cmts)
        doses = self.doses()
        if ids is None:
            ids = pd.unique(obs["ID"])
        ids = np.asarray(ids, dtype=object)
        obs_g = {k: g for k, g in obs.groupby("ID", sort=False)}
        dose_g = {k: g for k, g in doses.groupby("ID", sort=False)}
        n = len(ids)
        m = max([len(obs_g[i]) for i in ids if i in obs_g] + [1])
        k = max([len(dose_g[i]) for i in ids if i in dose_g] + [1])
        ot = np.full((n, m), np.nan)
        oc = np.zeros((n, m), dtype=int)
        om = np.zeros((n, m), dtype=bool)
        orow = np.full((n, m), -1, dtype=int)
        dt = np.full((n, k), np.nan)
        da = np.zeros((n, k))
        dc = np.zeros((n, k), dtype=int)
        for s, sid in enumerate(ids):
            if sid in obs_g:
                g = obs_g[sid]
                j = len(g)
                ot[s, :j] = g["TIME"].to_numpy(float)
                oc[s, :j] = g["CMT"].to_numpy(int)
                om[s, :j] = True
                orow[s, :j] = g.index.to_numpy()
            if sid in dose_g:
                g = dose_g[sid]
                j = len(g)
                dt[s, :j] = g["TIME"].to_numpy(float)
                da[s, :j] = g["AMT"].to_numpy(float)
                dc[s, :j] = g["CMT"].to_numpy(int)
        return Design(ids=ids, obs_time=ot, obs_cmt=oc, obs_mask=om, dose_time=dt, dose_amt=da, dose_cmt=dc, obs_row=orow)


def _where(path: str, row: int, column: str) -> str:
    return f"{path}: data row {row} (line {row + 1}), column {column}"


def _numeric(df: pd.DataFrame, col: str, path: str, allow_missing: bool) -> pd.Series:
    raw = df[col]
    text = raw.astype(str).str.strip()
    missing = raw.isna() | text.isin(_MISSING)
    values = pd.to_numeric(text.where(~missing), errors="coerce")
    bad = values.isna() & ~missing
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise UserError(f"{_where(path, i + 1, col)}: {raw.iloc[i]!r} is not a number")
    if not allow_missing and missing.any():
        i = int(np.flatnonzero(missing.to_numpy())[0])
        raise UserError(f"{_where(path, i + 1, col)}: value is missing")
    return values.astype(float)


def _fail(mask: np.ndarray, path: str, col: str, msg: str) -> None:
    """``UserError`` at the first record of ``mask``, if any."""
    if mask.any():
        i = int(np.flatnonzero(mask)[0])
        raise UserError(f"{_where(path, i + 1, col)}: {msg}")


def _upper_columns(df: pd.DataFrame, path: str) -> pd.DataFrame:
    """A copy of ``df`` with upper-case column names; ``UserError`` for duplicated names (any
    case), missing required columns or no records."""
    upper = [str(c).strip().upper() for c in df.columns]
    dup = sorted({c for c in upper if upper.count(c) > 1})
    if dup:
        raise UserError(f"{path}: duplicate column(s) {', '.join(dup)} (names are case-insensitive)")
    df = df.copy()
    df.columns = upper
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise UserError(f"{path}: required column(s) {', '.join(missing)} missing (found: {', '.join(upper)})")
    if len(df) == 0:
        raise UserError(f"{path}: the dataset has no records")
    return df


def _parsed_columns(df: pd.DataFrame, path: str) -> pd.DataFrame:
    """``ROW`` (1-based), ``ID`` (text, required) and the numeric reserved columns of ``df``
    (optional ones NaN, ``BLQ`` 0 when absent)."""
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    out["ROW"] = np.arange(1, len(df) + 1)
    ids = df["ID"].astype(str).str.strip()
    blank = df["ID"].isna() | ids.isin(_MISSING)
    if blank.any():
        i = int(np.flatnonzero(blank.to_numpy())[0])
        raise UserError(f"{_where(path, i + 1, 'ID')}: subject identifier is missing")
    out["ID"] = ids.to_numpy()
    out["TIME"] = _numeric(df, "TIME", path, allow_missing=False).to_numpy()
    out["EVID"] = _numeric(df, "EVID", path, allow_missing=False).to_numpy()
    out["CMT"] = _numeric(df, "CMT", path, allow_missing=False).to_numpy()
    out["AMT"] = _numeric(df, "AMT", path, allow_missing=True).to_numpy()
    out["DV"] = _numeric(df, "DV", path, allow_missing=True).to_numpy()
    out["MDV"] = _numeric(df, "MDV", path, allow_missing=True).to_numpy() if "MDV" in df.columns else np.nan
    out["BLQ"] = _numeric(df, "BLQ", path, allow_missing=True).to_numpy() if "BLQ" in df.columns else 0.0
    out["LLOQ"] = _numeric(df, "LLOQ", path, allow_missing=True).to_numpy() if "LLOQ" in df.columns else np.nan
    return out


def _checked_flags(out: pd.DataFrame, path: str) -> tuple[np.ndarray, np.ndarray]:
    """Check TIME, EVID, CMT, AMT, MDV and BLQ of the parsed records (``UserError`` at the
    first bad one); return MDV (default 1 for doses, 0 otherwise) and BLQ (default 0)."""
    t = out["TIME"].to_numpy()
    _fail(~np.isfinite(t), path, "TIME", "time must be finite")
    evid = out["EVID"].to_numpy()
    _fail(~np.isin(evid, (0, 1)), path, "EVID",
          "EVID must be 0 (observation) or 1 (dose); other event types are not supported")
    cmt = out["CMT"].to_numpy()
    is_dose = evid == 1
    _fail(is_dose & ~np.isin(cmt, DOSE_CMTS), path, "CMT", f"a dose must go to compartment {DOSE_CMTS[0]} (depot)")
    _fail(~is_dose & ~np.isin(cmt, OBS_CMTS), path, "CMT",
          "an observation must be compartment 2 (concentration) or 3 (PD marker)")
    amt = out["AMT"].to_numpy()
    _fail(is_dose & ~(np.isfinite(amt) & (amt > 0)), path, "AMT", "a dose record needs AMT > 0")
    _fail(~is_dose & np.isfinite(amt) & (amt != 0), path, "AMT", "an observation record must have AMT empty or 0")
    mdv = out["MDV"].to_numpy()
    mdv = np.where(np.isnan(mdv), np.where(is_dose, 1.0, 0.0), mdv)
    _fail(~np.isin(mdv, (0, 1)), path, "MDV", "MDV must be 0 or 1")
    _fail(is_dose & (mdv != 1), path, "MDV", "a dose record must have MDV 1")
    blq = out["BLQ"].to_numpy()
    blq = np.where(np.isnan(blq), 0.0, blq)
    _fail(~np.isin(blq, (0, 1)), path, "BLQ", "BLQ must be 0 or 1")
    _fail(is_dose & (blq == 1), path, "BLQ", "a dose record cannot be BLQ")
    return mdv, blq


def _check_observations(out: pd.DataFrame, path: str) -> None:
    """Check LLOQ and DV of the records (MDV and BLQ already normalised; ``UserError`` at the
    first bad one), that subjects are contiguous with non-decreasing times, and that some
    observation can be used."""
    is_dose = out["EVID"].to_numpy() == 1
    mdv, blq = out["MDV"].to_numpy(), out["BLQ"].to_numpy()
    lloq = out["LLOQ"].to_numpy()
    used = ~is_dose & (mdv == 0)
    _fail(used & (blq == 1) & ~(np.isfinite(lloq) & (lloq > 0)), path, "LLOQ", "a BLQ record needs LLOQ > 0")
    dv = out["DV"].to_numpy()
    _fail(is_dose & np.isfinite(dv) & (dv != 0), path, "DV", "a dose record must have DV empty, '.' or 0")
    _fail(used & (blq == 0) & ~np.isfinite(dv), path, "DV", "an observation (EVID 0, MDV 0, BLQ 0) needs a DV value")
    _fail(used & (blq == 0) & np.isfinite(lloq) & np.isfinite(dv) & (dv < lloq) & (lloq > 0), path, "DV",
          "DV is below LLOQ but BLQ is 0")
    # subjects contiguous, time non-decreasing within a subject
    idv = out["ID"].to_numpy()
    t = out["TIME"].to_numpy()
    new_block = np.r_[True, idv[1:] != idv[:-1]]
    block_ids = idv[new_block]
    seen: set[str] = set()
    for pos, bid in zip(np.flatnonzero(new_block), block_ids):
        if bid in seen:
            raise UserError(f"{_where(path, int(pos) + 1, 'ID')}: records of subject {bid!r} are not contiguous")
        seen.add(bid)
    same = ~new_block
    back = np.r_[False, t[1:] < t[:-1]] & same
    _fail(back, path, "TIME", "time decreases within the subject (records must be sorted by time)")
    if not (used & np.isin(out["CMT"].to_numpy(), OBS_CMTS)).any():
        raise UserError(f"{path}: the dataset has no usable observation (EVID 0, MDV 0)")


def validate_nm_frame(df: pd.DataFrame, path: str = "<data>") -> NMData:
    """Validate a NONMEM-style table read as text (see the module docstring)."""
    df = _upper_columns(df, path)
    out = _parsed_columns(df, path)
    out["MDV"], out["BLQ"] = _checked_flags(out, path)
    _check_observations(out, path)
    for c in ("EVID", "CMT", "MDV", "BLQ"):
        out[c] = out[c].astype(int)
    covs = [c for c in df.columns if c not in RESERVED]
    for c in covs:
        num = pd.to_numeric(df[c], errors="coerce")
        out[c] = num.to_numpy() if num.notna().sum() == df[c].notna().sum() else df[c].to_numpy()
    return NMData(path=path, records=out, covariates=tuple(covs))


def read_nm_dataset(path: str | Path) -> NMData:
    """Read and validate a NONMEM-style CSV dataset (see the module docstring).

    Raises :class:`fcrnpipe.errors.UserError` naming the file, data row and column of the
    first problem found.
    """
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: dataset file not found")
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise UserError(f"{p}: not a readable CSV file ({exc})") from None
    return validate_nm_frame(df, str(p))
