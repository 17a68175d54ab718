"""Shared inputs for the derive-stage tests (tests/test_derive_*.py).

The validated tables are built with the validation stage's own typing (``type_table`` +
``sort_by_key``: numeric SDTM variables float64, text ``None`` for missing), from the
3-subject cut of ``cutfactory`` or from the reference study's raw CSVs.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from cutfactory import valid_cut_frames
from fcrnpipe.derive import load_ctcae, load_reference_ranges
from fcrnpipe.units import load_unit_table
from fcrnpipe.validation import sort_by_key, type_table

ROOT = Path(__file__).resolve().parents[1]
RESOURCES = ROOT / "resources"
CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
ARMS = [{k: a[k] for k in ("armcd", "label", "dose_mg")} for a in CONFIG["study"]["arms"]]
VISITS = CONFIG["visits"]
UNITS = load_unit_table(RESOURCES / "units.csv")
RANGES = load_reference_ranges(RESOURCES / "reference_ranges.csv")
CTCAE = load_ctcae(RESOURCES / "ctcae.csv")
S1, S2, S3 = "BATO-101-001", "BATO-101-002", "BATO-102-003"


def typed(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Validated-table shape of text frames ("" = missing)."""
    out = {}
    for domain, f in frames.items():
        text = f.astype(object).where(f.astype(str) != "", None)
        out[domain] = sort_by_key(type_table(text), domain)
    return out


def cut_tables(**changes) -> dict[str, pd.DataFrame]:
    """The cutfactory cut as validated tables; ``changes`` replace whole text frames."""
    frames = valid_cut_frames()
    frames.update(changes)
    return typed(frames)


def reference_tables() -> dict[str, pd.DataFrame]:
    """The reference study's raw CSVs as validated tables (read as text, numerics cast)."""
    raw = RESOURCES / "reference_study" / "raw"
    frames = {
        d: pd.read_csv(raw / f"{d}.csv", dtype=str, keep_default_na=False, encoding="utf-8")
        for d in ("dm", "ex", "vs", "lb", "pc", "qs", "ae", "ds")
    }
    return typed(frames)


def row(df: pd.DataFrame, **where) -> pd.Series:
    """The single row of ``df`` matching all ``column=value`` pairs."""
    m = pd.Series(True, index=df.index)
    for k, v in where.items():
        m &= df[k] == v
    sel = df[m]
    assert len(sel) == 1, (where, len(sel))
    return sel.iloc[0]


def test_helpers_build_validated_shapes():
    t = cut_tables()
    assert t["lb"]["LBSEQ"].dtype == "float64" and t["lb"]["LBORRES"].dtype == object
    assert t["dm"]["RFENDTC"].iloc[2] is None  # empty -> None, as the validation stage writes it
    assert list(t["lb"]["USUBJID"].unique()) == [S1, S2, S3]


def test_docstring_examples_of_the_derive_modules():
    import doctest

    from fcrnpipe.derive import adae, adex, adpc, baseline, dates, grading, visits

    for module in (adae, adex, adpc, baseline, dates, grading, visits):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, module.__name__
    assert result.attempted > 0
