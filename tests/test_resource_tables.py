"""The resource tables are validated by their schemas (fcrnpipe.resource_tables): a bad table a user
points the configuration at gives one UserError naming the file, row, column, value and rule."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from fcrnpipe import resource_tables as RT
from fcrnpipe.derive.grading import check_units, load_ctcae, load_reference_ranges
from fcrnpipe.errors import UserError
from fcrnpipe.units import UNIT_TABLE, load_unit_table

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
UNITS = (RESOURCES / "units.csv").read_text(encoding="utf-8").splitlines()
CTCAE = (RESOURCES / "ctcae.csv").read_text(encoding="utf-8").splitlines()
RANGES = (RESOURCES / "reference_ranges.csv").read_text(encoding="utf-8").splitlines()


def _write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _edit(lines: list[str], row: int, column: str, value: str) -> list[str]:
    """``lines`` with the cell (data row ``row``, 1-based; ``column``) set to ``value``."""
    header = lines[0].split(",")
    out = list(lines)
    cells = out[row].split(",")
    cells[header.index(column)] = value
    out[row] = ",".join(cells)
    return out


def _error(loader, path: Path) -> str:
    with pytest.raises(UserError) as exc:
        loader(path)
    return str(exc.value)


def test_repository_tables_are_valid():
    assert len(load_unit_table(UNIT_TABLE)) == len(UNITS) - 1
    assert len(load_ctcae(RESOURCES / "ctcae.csv")) == len(CTCAE) - 1
    assert len(load_reference_ranges(RESOURCES / "reference_ranges.csv")) == len(RANGES) - 1


def test_repository_table_edit_helper():
    # ALB in g/dL is data row 4 of units.csv
    assert UNITS[4] == "LB,ALB,ALB,Albumin (g/L),g/dL,g/L,10,numeric,1"
    assert _edit(UNITS, 4, "factor", "ten")[4] == "LB,ALB,ALB,Albumin (g/L),g/dL,g/L,ten,numeric,1"


# ----------------------------------------------------------------------------- units.csv
def test_unit_table_missing_columns(tmp_path):
    lines = [",".join(c for c in line.split(",")[:6]) for line in UNITS]  # no factor, result_type, decimals
    path = _write(tmp_path, "units.csv", lines)
    assert _error(load_unit_table, path) == (
        f"{path}: missing column(s) factor, result_type, decimals (rule required_column)"
    )


#: file -> (its lines, its loader)
TABLES = {
    "units.csv": (UNITS, load_unit_table),
    "ctcae.csv": (CTCAE, load_ctcae),
    "reference_ranges.csv": (RANGES, load_reference_ranges),
}


@pytest.mark.parametrize(
    ("file", "row", "column", "value", "message"),
    [
        ("units.csv", 4, "factor", "ten", "'ten' is not a positive number (rule positive_number)"),
        ("units.csv", 4, "factor", "0", "'0' is not a positive number (rule positive_number)"),
        ("units.csv", 4, "factor", "-10", "'-10' is not a positive number (rule positive_number)"),
        ("units.csv", 4, "factor", "inf", "'inf' is not a positive number (rule positive_number)"),
        ("units.csv", 4, "decimals", "1.5", "'1.5' is not a non-negative integer (rule non_negative_integer)"),
        ("units.csv", 4, "decimals", "-1", "'-1' is not a non-negative integer (rule non_negative_integer)"),
        ("units.csv", 4, "domain", "QS", "'QS' is not one of LB, PC, VS (rule controlled_term)"),
        ("units.csv", 4, "result_type", "text", "'text' is not one of numeric, titre (rule controlled_term)"),
        ("units.csv", 4, "unit", "", "is empty; a value is required (rule required_value)"),
        ("ctcae.csv", 2, "direction", "down", "'down' is not one of low, high (rule controlled_term)"),
        ("ctcae.csv", 2, "grade", "6", "'6' is not an integer 1-5 (rule grade)"),
        ("ctcae.csv", 2, "grade", "1.5", "'1.5' is not an integer 1-5 (rule grade)"),
        ("ctcae.csv", 2, "threshold", "thirty", "'thirty' is not a number, LLN or ULN (rule threshold)"),
        ("ctcae.csv", 2, "unit", "", "is empty; a value is required (rule required_value)"),
        ("reference_ranges.csv", 1, "ANRLO", "seven", "'seven' is not a number (rule number)"),
        ("reference_ranges.csv", 1, "PARAMCD", "", "is empty; a value is required (rule required_value)"),
    ],
)
def test_bad_cell(tmp_path, file, row, column, value, message):
    lines, loader = TABLES[file]
    path = _write(tmp_path, file, _edit(lines, row, column, value))
    assert _error(loader, path) == f"{path}, row {row}, column {column}: {message}"


def test_unit_table_duplicate_unit_any_case(tmp_path):
    # row 1 is IGG in g/L; the added row 28 lists it again as G/L
    path = _write(tmp_path, "units.csv", [*UNITS, "LB,IGG,IGG,Immunoglobulin G (g/L),G/L,g/L,1,numeric,2"])
    msg = _error(load_unit_table, path)
    assert msg.splitlines() == [
        f"unit table {path} breaks 2 rules of its schema:",
        f"  {path}, row 1, column domain+TESTCD+unit: ('LB', 'IGG', 'g/L') is listed twice (units are compared "
        "case-insensitively, µ as u) (rule unique_key)",
        f"  {path}, row 28, column domain+TESTCD+unit: ('LB', 'IGG', 'G/L') is listed twice (units are compared "
        "case-insensitively, µ as u) (rule unique_key)",
    ]


def test_unit_table_one_standard_unit_and_decimals_per_test(tmp_path):
    lines = _edit(_edit(UNITS, 2, "standard_unit", "mg/dL"), 4, "decimals", "2")  # IGG row 2, ALB row 4
    msg = _error(load_unit_table, _write(tmp_path, "units.csv", lines))
    found = re.findall(r"row (\d+), column (\w+): '([^']*)' differs between the rows of the same domain and TESTCD "
                       r"\(one value per test\) \(rule one_per_test\)", msg)
    assert found == [("1", "standard_unit", "g/L"), ("2", "standard_unit", "mg/dL"),
                     ("3", "decimals", "1"), ("4", "decimals", "2")]


def test_unit_table_lists_every_problem_in_row_order(tmp_path):
    lines = _edit(_edit(UNITS, 7, "factor", "x"), 2, "result_type", "num")
    msg = _error(load_unit_table, _write(tmp_path, "units.csv", lines)).splitlines()
    assert msg[0].endswith("breaks 2 rules of its schema:")
    assert [m.split(": ", 1)[0].split(", ", 1)[1] for m in msg[1:]] == ["row 2, column result_type",
                                                                        "row 7, column factor"]


def test_unit_table_long_error_is_cut(tmp_path):
    lines = [UNITS[0], *[_edit(UNITS, i, "factor", "x")[i] for i in range(1, len(UNITS))]]
    msg = _error(load_unit_table, _write(tmp_path, "units.csv", lines)).splitlines()
    assert len(msg) == 1 + RT.MAX_LINES + 1 and msg[-1] == f"  ... and {len(UNITS) - 1 - RT.MAX_LINES} more"


def test_missing_empty_or_unreadable_table(tmp_path):
    assert _error(load_unit_table, tmp_path / "nope.csv") == f"unit table {tmp_path / 'nope.csv'} does not exist"
    empty = _write(tmp_path, "empty.csv", [])
    assert _error(load_ctcae, empty).startswith(f"CTCAE table {empty} is not a CSV table with a header row")
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("\n".join(UNITS).replace("ug/mL", "\u00b5g/mL").encode("latin-1"))
    assert _error(load_unit_table, latin).startswith(f"unit table {latin} is not UTF-8 text")


def test_blanks_around_cells_and_extra_columns_are_fine(tmp_path):
    lines = [UNITS[0] + ",comment", *(" , ".join(line.split(",")) + ", note" for line in UNITS[1:])]
    table = load_unit_table(_write(tmp_path, "units.csv", lines))
    pd.testing.assert_frame_equal(table, load_unit_table(UNIT_TABLE))


# ----------------------------------------------------------------------------- ctcae.csv
def test_ctcae_limit_must_match_the_direction(tmp_path):
    assert CTCAE[1].startswith("ALB,Hypoalbuminemia,low,1,LLN,")
    path = _write(tmp_path, "ctcae.csv", _edit(CTCAE, 1, "threshold", "ULN"))
    assert _error(load_ctcae, path) == (
        f"{path}, row 1, column threshold+direction: ('ULN', 'low') names the wrong limit for its direction "
        "(LLN goes with low, ULN with high) (rule threshold)"
    )


def test_ctcae_grade_listed_twice(tmp_path):
    path = _write(tmp_path, "ctcae.csv", _edit(CTCAE, 2, "grade", "1"))  # ALB low grade 1 twice
    msg = _error(load_ctcae, path)
    assert re.findall(r"row (\d), column PARAMCD\+direction\+grade: \('ALB', 'low', '1'\) is listed twice", msg) == ["1", "2"]


def test_ctcae_missing_column(tmp_path):
    lines = [",".join(c for i, c in enumerate(line.split(",")) if i != 2) for line in CTCAE]  # no direction
    path = _write(tmp_path, "ctcae.csv", lines)
    assert _error(load_ctcae, path) == f"{path}: missing column(s) direction (rule required_column)"


# ----------------------------------------------------------------------------- reference_ranges.csv
def test_ranges_duplicate_and_order(tmp_path):
    assert RANGES[1].startswith("IGG,7.0,16.0,") and RANGES[2].startswith("ALB,35.0,50.0,")
    path = _write(tmp_path, "reference_ranges.csv", _edit(RANGES, 2, "ANRLO", "60"))
    assert _error(load_reference_ranges, path) == (
        f"{path}, row 2, column ANRLO+ANRHI: ('60', '50.0') ANRLO is above ANRHI (rule range_order)"
    )
    path = _write(tmp_path, "reference_ranges.csv", _edit(RANGES, 2, "PARAMCD", "IGG"))
    assert re.findall(r"row (\d), column PARAMCD: 'IGG' is listed twice", _error(load_reference_ranges, path)) == [
        "1", "2"]


def test_ranges_one_sided_limit_is_fine():
    ranges = load_reference_ranges(RESOURCES / "reference_ranges.csv").set_index("PARAMCD")
    assert pd.isna(ranges.loc["CHOL", "ANRLO"]) and ranges.loc["CHOL", "ANRHI"] == 5.2


def test_thresholds_in_the_standard_unit():
    ctcae = load_ctcae(RESOURCES / "ctcae.csv")
    check_units(ctcae, {"CHOL": "mmol/L", "ALB": "g/L", "NOT": "x"}, "ctcae.csv")  # passes
    t = ctcae.copy()
    t.loc[3, "unit"] = "mg/dL"
    with pytest.raises(UserError) as exc:
        check_units(t, {"CHOL": "mmol/L"}, "ctcae.csv")
    assert str(exc.value) == ("ctcae.csv, row 4, column unit: 'mg/dL' for CHOL, but the standard unit of CHOL in "
                              "units.csv is 'mmol/L' (rule standard_unit)")


def test_every_rule_in_a_message_is_documented():
    rules = set()
    for schema in (RT.unit_schema(), RT.ctcae_schema(), RT.range_schema()):
        rules |= {c.name for col in schema.columns.values() for c in col.checks} | {c.name for c in schema.checks}
    assert rules | {"required_column", "standard_unit"} == set(RT.RULES)


# ----------------------------------------------------------------------------- decimals
def test_table_decimals_come_from_the_unit_table(tmp_path, monkeypatch):
    from fcrnpipe.tables import efficacy

    assert efficacy.default_decimals() == efficacy.lab_decimals(pd.read_csv(UNIT_TABLE))
    assert {k: efficacy.default_decimals()[k] for k in ("IGG", "ALB", "CHOL", "LDL", "HDL", "AQP4AB")} == {
        "IGG": 2, "ALB": 1, "CHOL": 2, "LDL": 2, "HDL": 2, "AQP4AB": 0}
    # IGG with 3 decimals in both its rows (g/L, mg/dL): the default follows the table
    path = _write(tmp_path, "units.csv", _edit(_edit(UNITS, 1, "decimals", "3"), 2, "decimals", "3"))
    monkeypatch.setattr(efficacy, "UNIT_TABLE", path)
    efficacy._repository_decimals.cache_clear()
    try:
        assert efficacy.default_decimals()["IGG"] == 3 and efficacy.default_decimals()["ALB"] == 1
    finally:
        efficacy._repository_decimals.cache_clear()
