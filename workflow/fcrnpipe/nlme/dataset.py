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

import csv
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fcrnpipe.errors import UserError
from fcrnpipe.models.base import CMT_CENTRAL, CMT_DEPOT, CMT_PD, Design

if TYPE_CHECKING:  # pandas is loaded only when a data frame is asked for (start-up cost: docs/nlme.md)
    import pandas as pd

REQUIRED = ("ID", "TIME", "AMT", "DV", "EVID", "CMT")
OPTIONAL = ("MDV", "BLQ", "LLOQ")
RESERVED = REQUIRED + OPTIONAL
OBS_CMTS = (CMT_CENTRAL, CMT_PD)
DOSE_CMTS = (CMT_DEPOT,)
_MISSING = ("", ".", "NA", "NaN", "nan")
#: The columns of :attr:`NMData.columns` before the covariates, in order.
RECORD_COLUMNS = ("ROW", "ID", "TIME", "EVID", "CMT", "AMT", "DV", "MDV", "BLQ", "LLOQ")


@dataclass(frozen=True)
class NMData:
    """A validated NONMEM-style dataset.

    ``columns``: the records in file order, one array per column -- ``ROW`` (the 1-based data
    row of the source file), ``ID`` (text), ``TIME``, ``AMT``, ``DV``, ``LLOQ`` (float),
    ``EVID``, ``CMT``, ``MDV``, ``BLQ`` (int), then the covariates (numbers when every value of
    the column is one, else the text). ``covariates``: the names of the extra columns.
    :attr:`records` is the same as a pandas data frame (built, and pandas imported, when first
    asked for: the estimator itself needs only the arrays).
    """

    path: str
    columns: Mapping[str, np.ndarray]
    covariates: tuple[str, ...]

    @cached_property
    def records(self) -> pd.DataFrame:
        """The records as a data frame (upper-case column names, numeric types, ``ROW``)."""
        import pandas as pd

        return pd.DataFrame(dict(self.columns))

    @property
    def ids(self) -> np.ndarray:
        """Subject identifiers in order of first appearance."""
        return unique_in_order(self.columns["ID"])

    @property
    def n_subjects(self) -> int:
        return int(len(self.ids))

    def observation_mask(self, cmts: tuple[int, ...] | None = None) -> np.ndarray:
        """Which records are observations (EVID 0, MDV 0), optionally only of compartments ``cmts``."""
        c = self.columns
        m = (c["EVID"] == 0) & (c["MDV"] == 0)
        if cmts is not None:
            m &= np.isin(c["CMT"], cmts)
        return m

    def observations(self, cmts: tuple[int, ...] | None = None) -> pd.DataFrame:
        """Observation records (EVID 0, MDV 0), optionally only compartments ``cmts``."""
        return self.records[self.observation_mask(cmts)]

    def doses(self) -> pd.DataFrame:
        return self.records[self.columns["EVID"] == 1]

    def design(self, cmts: tuple[int, ...] | None = None, ids: np.ndarray | None = None) -> Design:
        """Padded :class:`Design` of the subjects ``ids`` (default: those with observations in
        ``cmts``), with the observation records of ``cmts`` (default: all)."""
        c = self.columns
        obs_rows = np.flatnonzero(self.observation_mask(cmts))
        dose_rows = np.flatnonzero(c["EVID"] == 1)
        if ids is None:
            ids = unique_in_order(c["ID"][obs_rows])
        ids = np.asarray(ids, dtype=object)
        obs_g, dose_g = _rows_by_subject(c["ID"], obs_rows), _rows_by_subject(c["ID"], dose_rows)
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
                r = obs_g[sid]
                j = len(r)
                ot[s, :j] = c["TIME"][r]
                oc[s, :j] = c["CMT"][r]
                om[s, :j] = True
                orow[s, :j] = r
            if sid in dose_g:
                r = dose_g[sid]
                j = len(r)
                dt[s, :j] = c["TIME"][r]
                da[s, :j] = c["AMT"][r]
                dc[s, :j] = c["CMT"][r]
        return Design(ids=ids, obs_time=ot, obs_cmt=oc, obs_mask=om, dose_time=dt, dose_amt=da, dose_cmt=dc, obs_row=orow)


def unique_in_order(values: np.ndarray) -> np.ndarray:
    """The distinct ``values`` in order of first appearance (as ``pandas.unique``), an object array."""
    return np.array(list(dict.fromkeys(values.tolist())), dtype=object)


def _rows_by_subject(ids: np.ndarray, rows: np.ndarray) -> dict[object, np.ndarray]:
    """The record positions ``rows`` grouped by subject (in order within each subject)."""
    out: dict[object, list[int]] = {}
    for r, sid in zip(rows.tolist(), ids[rows].tolist()):
        out.setdefault(sid, []).append(r)
    return {k: np.asarray(v, dtype=int) for k, v in out.items()}


# a decimal number (ASCII digits; no "1_0", hexadecimal or "1d3"), or an infinity
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf(?:inity)?"
_NUMBERS = re.compile(rf"(?:{_NUMBER})(?:\n(?:{_NUMBER}))*", re.IGNORECASE | re.ASCII)
_INTEGERS = re.compile(r"[+-]?\d+(?:\n[+-]?\d+)*", re.ASCII)


def parse_numbers(texts: Sequence[str]) -> tuple[np.ndarray, int | None]:
    """The (stripped) ``texts`` as numbers, each correctly rounded as Python's ``float`` reads
    it, so a value written with ``repr`` reads back exactly; and the position of the first text
    that is not a decimal number (NaN, an overflow such as ``1e400``, ``1_0``, hexadecimal, any
    other text), None when every text is one. One regular-expression match and one numpy cast
    per column, not a Python call per cell.

    >>> parse_numbers(["0.74", "320", "1e3", "0.30000000000000004"])
    (array([7.4e-01, 3.2e+02, 1.0e+03, 3.0e-01]), None)
    >>> parse_numbers(["0.1", "1_0", "x"])[1]
    1
    """
    texts = [t.strip() for t in texts]
    if not texts:
        return np.zeros(0), None
    if _NUMBERS.fullmatch("\n".join(texts)):
        values = np.array(texts, dtype=np.str_).astype(np.float64)
        if not np.isinf(values).any():
            return values, None
    else:
        values = np.full(len(texts), np.nan)
    return values, next((i for i, t in enumerate(texts) if not _is_number(t)), None)


def _is_number(text: str) -> bool:
    """Whether one stripped text is a decimal number that does not overflow (or an infinity)."""
    if not re.fullmatch(_NUMBER, text, re.IGNORECASE | re.ASCII):
        return False
    return "inf" in text.lower() or not math.isinf(float(text))


def all_integers(texts: Sequence[str]) -> bool:
    """Whether every (stripped) text is an integer literal, as ``pandas.to_numeric`` reads a column
    as int64.

    >>> all_integers(["70", " 80"]), all_integers(["70", "80.0"])
    (True, False)
    """
    return bool(texts) and bool(_INTEGERS.fullmatch("\n".join(t.strip() for t in texts)))


@dataclass(frozen=True)
class TextColumn:
    """One column of a dataset read as text: ``raw`` values as read, ``text`` the stripped
    text, ``missing`` where the value is absent (NA, empty, ``.``, ``NA``, ``NaN``)."""

    raw: np.ndarray
    text: np.ndarray
    missing: np.ndarray

    @classmethod
    def from_cells(cls, raw: list[str]) -> TextColumn:
        text = [v.strip() for v in raw]
        missing = np.array([t in _MISSING for t in text], dtype=bool)
        return cls(np.array(raw, dtype=object), np.array(text, dtype=object), missing)


def _where(path: str, row: int, column: str) -> str:
    return f"{path}: data row {row} (line {row + 1}), column {column}"


def _numeric(col: TextColumn, name: str, path: str, allow_missing: bool) -> np.ndarray:
    """The values of a numeric column (NaN where missing; :func:`parse_numbers`); ``UserError``
    at the first value that is not a number (or missing, unless ``allow_missing``)."""
    present = np.flatnonzero(~col.missing)
    values, bad = parse_numbers([col.text[i] for i in present.tolist()])
    if bad is not None:
        i = int(present[bad])
        raise UserError(f"{_where(path, i + 1, name)}: {col.raw[i]!r} is not a number")
    if not allow_missing and col.missing.any():
        i = int(np.flatnonzero(col.missing)[0])
        raise UserError(f"{_where(path, i + 1, name)}: value is missing")
    out = np.full(len(col.missing), np.nan)
    out[present] = values
    return out


def _fail(mask: np.ndarray, path: str, col: str, msg: str) -> None:
    """``UserError`` at the first record of ``mask``, if any."""
    if mask.any():
        i = int(np.flatnonzero(mask)[0])
        raise UserError(f"{_where(path, i + 1, col)}: {msg}")


def _upper_names(names: list[str], n_records: int, path: str) -> list[str]:
    """Upper-case column names; ``UserError`` for duplicated names (any case), missing
    required columns or no records."""
    upper = [str(c).strip().upper() for c in names]
    dup = sorted({c for c in upper if upper.count(c) > 1})
    if dup:
        raise UserError(f"{path}: duplicate column(s) {', '.join(dup)} (names are case-insensitive)")
    missing = [c for c in REQUIRED if c not in upper]
    if missing:
        raise UserError(f"{path}: required column(s) {', '.join(missing)} missing (found: {', '.join(upper)})")
    if n_records == 0:
        raise UserError(f"{path}: the dataset has no records")
    return upper


def _parsed_columns(text: Mapping[str, TextColumn], n: int, path: str) -> dict[str, np.ndarray]:
    """``ROW`` (1-based), ``ID`` (text, required) and the numeric reserved columns (optional
    ones NaN, ``BLQ`` 0 when absent)."""
    ids = text["ID"]
    _fail(ids.missing, path, "ID", "subject identifier is missing")
    out: dict[str, np.ndarray] = {"ROW": np.arange(1, n + 1), "ID": ids.text}
    for c in ("TIME", "EVID", "CMT"):
        out[c] = _numeric(text[c], c, path, allow_missing=False)
    for c in ("AMT", "DV"):
        out[c] = _numeric(text[c], c, path, allow_missing=True)
    for c, absent in (("MDV", np.nan), ("BLQ", 0.0), ("LLOQ", np.nan)):
        out[c] = _numeric(text[c], c, path, allow_missing=True) if c in text else np.full(n, absent)
    return out


def _checked_flags(out: Mapping[str, np.ndarray], path: str) -> tuple[np.ndarray, np.ndarray]:
    """Check TIME, EVID, CMT, AMT, MDV and BLQ of the parsed records (``UserError`` at the
    first bad one); return MDV (default 1 for doses, 0 otherwise) and BLQ (default 0)."""
    t = out["TIME"]
    _fail(~np.isfinite(t), path, "TIME", "time must be finite")
    evid = out["EVID"]
    _fail(~np.isin(evid, (0, 1)), path, "EVID",
          "EVID must be 0 (observation) or 1 (dose); other event types are not supported")
    cmt = out["CMT"]
    is_dose = evid == 1
    _fail(is_dose & ~np.isin(cmt, DOSE_CMTS), path, "CMT", f"a dose must go to compartment {DOSE_CMTS[0]} (depot)")
    _fail(~is_dose & ~np.isin(cmt, OBS_CMTS), path, "CMT",
          "an observation must be compartment 2 (concentration) or 3 (PD marker)")
    amt = out["AMT"]
    _fail(is_dose & ~(np.isfinite(amt) & (amt > 0)), path, "AMT", "a dose record needs AMT > 0")
    _fail(~is_dose & np.isfinite(amt) & (amt != 0), path, "AMT", "an observation record must have AMT empty or 0")
    mdv = out["MDV"]
    mdv = np.where(np.isnan(mdv), np.where(is_dose, 1.0, 0.0), mdv)
    _fail(~np.isin(mdv, (0, 1)), path, "MDV", "MDV must be 0 or 1")
    _fail(is_dose & (mdv != 1), path, "MDV", "a dose record must have MDV 1")
    blq = out["BLQ"]
    blq = np.where(np.isnan(blq), 0.0, blq)
    _fail(~np.isin(blq, (0, 1)), path, "BLQ", "BLQ must be 0 or 1")
    _fail(is_dose & (blq == 1), path, "BLQ", "a dose record cannot be BLQ")
    return mdv, blq


def _check_observations(out: Mapping[str, np.ndarray], path: str) -> None:
    """Check LLOQ and DV of the records (MDV and BLQ already normalised; ``UserError`` at the
    first bad one), that subjects are contiguous with non-decreasing times, and that some
    observation can be used."""
    is_dose = out["EVID"] == 1
    mdv, blq = out["MDV"], out["BLQ"]
    lloq = out["LLOQ"]
    used = ~is_dose & (mdv == 0)
    _fail(used & (blq == 1) & ~(np.isfinite(lloq) & (lloq > 0)), path, "LLOQ", "a BLQ record needs LLOQ > 0")
    dv = out["DV"]
    _fail(is_dose & np.isfinite(dv) & (dv != 0), path, "DV", "a dose record must have DV empty, '.' or 0")
    _fail(used & (blq == 0) & ~np.isfinite(dv), path, "DV", "an observation (EVID 0, MDV 0, BLQ 0) needs a DV value")
    _fail(used & (blq == 0) & np.isfinite(lloq) & np.isfinite(dv) & (dv < lloq) & (lloq > 0), path, "DV",
          "DV is below LLOQ but BLQ is 0")
    # subjects contiguous, time non-decreasing within a subject
    idv = out["ID"]
    t = out["TIME"]
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
    if not (used & np.isin(out["CMT"], OBS_CMTS)).any():
        raise UserError(f"{path}: the dataset has no usable observation (EVID 0, MDV 0)")


def _validated(text: Mapping[str, TextColumn], n: int, path: str) -> dict[str, np.ndarray]:
    """The checked reserved columns (:data:`RECORD_COLUMNS`) of a table read as text."""
    out = _parsed_columns(text, n, path)
    out["MDV"], out["BLQ"] = _checked_flags(out, path)
    _check_observations(out, path)
    for c in ("EVID", "CMT", "MDV", "BLQ"):
        out[c] = out[c].astype(int)
    return {c: out[c] for c in RECORD_COLUMNS}


def validate_nm_frame(df: pd.DataFrame, path: str = "<data>") -> NMData:
    """Validate a NONMEM-style table read as text (see the module docstring); the same
    records as :func:`read_nm_dataset` gives for the file of that text."""
    upper = _upper_names(list(df.columns), len(df), path)
    df = df.set_axis(upper, axis=1)
    text = {}
    for c in RESERVED:
        if c in df.columns:
            raw = df[c]
            stripped = raw.astype(str).str.strip()
            missing = raw.isna() | stripped.isin(_MISSING)
            text[c] = TextColumn(raw.to_numpy(object), stripped.to_numpy(object), missing.to_numpy(bool))
    out = _validated(text, len(df), path)
    covs = [c for c in df.columns if c not in RESERVED]
    for c in covs:
        out[c] = covariate_column(df[c].astype(str).tolist())  # as read from a file
    return NMData(path=path, columns=out, covariates=tuple(covs))


def covariate_column(raw: list[str]) -> np.ndarray:
    """A covariate column read as text, typed as ``pandas.to_numeric`` types it: int64 when
    every cell is an integer, float64 (:func:`parse_numbers`) when every cell is a number, else
    the text (an empty cell included)."""
    values, bad = parse_numbers(raw)
    if bad is not None:
        return np.array(raw, dtype=object)
    if all_integers(raw):
        return np.array([int(v) for v in raw], dtype=np.int64)
    return values


def read_csv_cells(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and the columns of a CSV file read as text, as ``pandas.read_csv(dtype=str,
    keep_default_na=False, skipinitialspace=True)`` reads it (blank lines skipped, a
    byte-order mark dropped, an empty header name ``Unnamed: i``, short rows padded with
    empty cells); ``UserError`` for a file that is not UTF-8, has no header or a row with more cells
    than the header."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = [r for r in csv.reader(fh, skipinitialspace=True) if r]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{path}: not a readable CSV file ({exc})") from None
    if not rows:
        raise UserError(f"{path}: not a readable CSV file (no header row)")
    header = [h if h else f"Unnamed: {i}" for i, h in enumerate(rows[0])]
    k = len(header)
    for line, r in enumerate(rows[1:], start=2):
        if len(r) > k:
            raise UserError(f"{path}: not a readable CSV file (expected {k} fields in record {line}, saw {len(r)})")
    cols = [[r[j] if j < len(r) else "" for r in rows[1:]] for j in range(k)]
    return header, cols


def read_nm_dataset(path: str | Path) -> NMData:
    """Read and validate a NONMEM-style CSV dataset (see the module docstring).

    Raises :class:`fcrnpipe.errors.UserError` naming the file, data row and column of the
    first problem found. Reads the file without pandas (start-up cost of the command line:
    docs/nlme.md), each number correctly rounded (:func:`parse_numbers`).
    """
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: dataset file not found")
    header, cells = read_csv_cells(p)
    n = len(cells[0])
    upper = _upper_names(header, n, str(p))
    text = {c: TextColumn.from_cells(v) for c, v in zip(upper, cells) if c in RESERVED}
    out = _validated(text, n, str(p))
    covs = [c for c in upper if c not in RESERVED]
    for c, v in zip(upper, cells):
        if c not in RESERVED:
            out[c] = covariate_column(v)
    return NMData(path=str(p), columns=out, covariates=tuple(covs))
