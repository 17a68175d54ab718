"""Site laboratories: reported units, precision, reference ranges and reporting limits.

Values are simulated in standard units (g/L, mmol/L, U/L, mg/L) and converted to the site's
reported unit with the factors of ``resources/units.csv`` (standard = reported x factor), then
rounded to the site's reporting precision and written as text with a fixed number of decimals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from fcrnpipe.units import ANY_ANALYTE

#: Lab tests simulated at every LAB visit (plus ALT at safety visits and the AQP4 titre).
CORE_TESTS: tuple[str, ...] = ("IGG", "ALB", "CHOL", "LDL")
LBTEST: dict[str, str] = {
    "IGG": "Immunoglobulin G",
    "ALB": "Albumin",
    "CHOL": "Cholesterol",
    "LDL": "LDL Cholesterol",
    "ALT": "Alanine Aminotransferase",
    "AQP4AB": "Aquaporin-4 IgG Antibody",
}


@dataclass(frozen=True)
class LabSpec:
    """How one site's lab reports one test: unit, decimals, normal range (text), lower limit."""

    unit: str
    decimals: int
    lo: str
    hi: str
    limit: float | None = None  # lower reporting limit in the reported unit ("<limit")


#: Per site and test. Site 102 reports conventional units; site 103 uses Chinese lab ranges.
SITE_LABS: dict[str, dict[str, LabSpec]] = {
    "101": {
        "IGG": LabSpec("g/L", 2, "7.0", "16.0"),
        "ALB": LabSpec("g/L", 1, "35", "50"),
        "CHOL": LabSpec("mmol/L", 2, "", "5.2"),
        "LDL": LabSpec("mmol/L", 2, "", "3.4"),
        "ALT": LabSpec("U/L", 0, "", "40", limit=7.0),
    },
    "102": {
        "IGG": LabSpec("mg/dL", 0, "700", "1600"),
        "ALB": LabSpec("g/dL", 1, "3.5", "5.0"),
        "CHOL": LabSpec("mg/dL", 0, "", "200"),
        "LDL": LabSpec("mg/dL", 0, "", "130"),
        "ALT": LabSpec("U/L", 0, "7", "40", limit=7.0),
    },
    "103": {
        "IGG": LabSpec("g/L", 2, "7.51", "15.60"),
        "ALB": LabSpec("g/L", 1, "40", "55"),
        "CHOL": LabSpec("mmol/L", 2, "2.80", "5.20"),
        "LDL": LabSpec("mmol/L", 2, "", "3.37"),
        "ALT": LabSpec("U/L", 0, "7", "40", limit=7.0),
    },
}
#: Batoclimab assay: unit, LLOQ (in that unit) and the BLQ text, per site.
SITE_PK: dict[str, tuple[str, float, str]] = {
    "101": ("mg/L", 0.05, "<LLOQ"),
    "102": ("ug/mL", 0.05, "BLQ"),
    "103": ("mg/L", 0.05, "<LLOQ"),
}
#: Grade-2 hypoalbuminaemia threshold (CTCAE v5.0, g/L): the treatment-stopping rule.
ALB_GRADE2 = 30.0
CHOL_GRADE2 = 7.75


#: (domain, TESTCD, unit) -> factor (standard = reported x factor), from the unit table.
Factors = Mapping[tuple[str, str, str], float]


def unit_factors(units: pd.DataFrame) -> dict[tuple[str, str, str], float]:
    """The unit table as a lookup ``(domain, TESTCD, unit) -> factor``."""
    return {
        (str(d), str(t), str(u)): float(f)
        for d, t, u, f in zip(units["domain"], units["TESTCD"], units["unit"], units["factor"])
    }


def unit_factor(factors: Factors, domain: str, testcd: str, unit: str) -> float:
    """``factor`` of the unit table (standard = reported x factor); KeyError if not listed.

    PC falls back to the analyte-generic concentration rows (``TESTCD`` ``*``).
    """
    for key in ((domain, testcd, unit), (domain, ANY_ANALYTE, unit) if domain == "PC" else None):
        if key is not None and key in factors:
            return factors[key]
    raise KeyError(f"{domain} {testcd} in {unit} is not in the unit table")


def fmt_fixed(x: float, decimals: int) -> str:
    """``x`` with exactly ``decimals`` decimals (no float noise, no negative zero)."""
    text = f"{x:.{decimals}f}"
    return text.lstrip("-") if float(text) == 0 else text


def fmt_sig(x: float, sig: int = 3) -> str:
    """``x`` (> 0) with ``sig`` significant digits, fixed notation (``123``, ``12.3``, ``0.123``)."""
    if x <= 0:
        return "0"
    decimals = max(0, sig - 1 - int(math.floor(math.log10(x))))
    return f"{x:.{decimals}f}"


def report_lab(value_std: float, testcd: str, site: str, units: Factors) -> tuple[str, str, float]:
    """(LBORRES text, LBORRESU, value back in standard units after rounding) for one result."""
    spec = SITE_LABS[site][testcd]
    factor = unit_factor(units, "LB", testcd, spec.unit)
    reported = value_std / factor
    rounded = round(reported, spec.decimals)
    if spec.limit is not None and rounded < spec.limit:
        return f"<{fmt_limit(spec.limit)}", spec.unit, spec.limit * factor
    return fmt_fixed(reported, spec.decimals), spec.unit, rounded * factor


def fmt_limit(x: float) -> str:
    """A limit without trailing zeros (``5``, ``0.05``)."""
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def uln_standard(site: str, testcd: str, units: Factors) -> float:
    """Upper limit of normal of the site's lab in standard units (NaN if none)."""
    spec = SITE_LABS[site][testcd]
    if not spec.hi:
        return float("nan")
    return float(spec.hi) * unit_factor(units, "LB", testcd, spec.unit)


def pk_report(conc_mg_l: float, site: str, units: Factors) -> tuple[str, str, str]:
    """(PCORRES, PCORRESU, PCLLOQ) for a concentration in mg/L (3 significant digits)."""
    unit, lloq, blq = SITE_PK[site]
    factor = unit_factor(units, "PC", "BATOCLIM", unit)
    reported = conc_mg_l / factor
    text = blq if not (reported >= lloq) else fmt_sig(reported, 3)
    if text != blq and float(text) < lloq:
        text = blq
    return text, unit, fmt_limit(lloq)


def site_lab_table(mapping: Mapping[str, Mapping[str, LabSpec]] = SITE_LABS) -> pd.DataFrame:
    """The site lab conventions as a table (for the README)."""
    rows = [
        {
            "SITEID": s,
            "LBTESTCD": t,
            "unit": spec.unit,
            "decimals": spec.decimals,
            "LBORNRLO": spec.lo,
            "LBORNRHI": spec.hi,
            "limit": "" if spec.limit is None else fmt_limit(spec.limit),
        }
        for s, tests in sorted(mapping.items())
        for t, spec in tests.items()
    ]
    return pd.DataFrame(rows)
