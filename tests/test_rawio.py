"""fcrnpipe.rawio: exports read as text; malformed files give structured problems, never tracebacks."""

from __future__ import annotations

import pandas as pd
import pyreadstat
import pytest

from fcrnpipe.errors import UserError
from fcrnpipe.rawio import MalformedExport, format_number, inspect_export, read_export


def _write(path, text: str | bytes):
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def _checks(export) -> list[tuple[str, int | None]]:
    return [(p.check, p.row) for p in export.problems]


# ----------------------------------------------------------------------------- CSV
def test_csv_is_read_as_text_with_missing_cells_as_none(tmp_path):
    path = _write(tmp_path / "lb.csv", " usubjid ,LBorres,LBSEQ\nS1, 9.8 ,1\nS2,,02\n")
    df = read_export(path)
    assert list(df.columns) == ["USUBJID", "LBORRES", "LBSEQ"]
    assert df.to_dict("records") == [
        {"USUBJID": "S1", "LBORRES": "9.8", "LBSEQ": "1"},
        {"USUBJID": "S2", "LBORRES": None, "LBSEQ": "02"},  # text kept as written (no number parsing)
    ]
    assert all(df[c].dtype == object for c in df.columns)
    assert list(df.index) == [0, 1]


def test_csv_quotes_bom_crlf_and_blank_trailing_line(tmp_path):
    path = _write(
        tmp_path / "ae.csv", b'\xef\xbb\xbfUSUBJID,AETERM\r\nS1,"PAIN, BACK"\r\nS2,"say ""hi"""\r\n\r\n'
    )
    df = read_export(path)
    assert list(df.columns) == ["USUBJID", "AETERM"]
    assert df["AETERM"].tolist() == ["PAIN, BACK", 'say "hi"']


def test_missing_file(tmp_path):
    export = inspect_export(tmp_path / "dm.csv")
    assert export.data is None
    assert _checks(export) == [("file_missing", None)]
    with pytest.raises(MalformedExport) as info:
        read_export(tmp_path / "dm.csv")
    assert isinstance(info.value, UserError)
    assert "dm.csv does not exist" in str(info.value)


@pytest.mark.parametrize("content", [b"", b"  \n\n"])
def test_empty_file(tmp_path, content):
    export = inspect_export(_write(tmp_path / "ex.csv", content))
    assert export.data is None
    assert _checks(export) == [("file_empty", None)]


def test_header_only(tmp_path):
    export = inspect_export(_write(tmp_path / "vs.csv", "USUBJID,VSTESTCD\n"))
    assert _checks(export) == [("header_only", None)]
    assert list(export.data.columns) == ["USUBJID", "VSTESTCD"]
    assert len(export.data) == 0
    with pytest.raises(MalformedExport, match="header but no data rows"):
        read_export(export.path)


@pytest.mark.parametrize("delimiter, label", [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_wrong_delimiter(tmp_path, delimiter, label):
    text = (
        delimiter.join(["USUBJID", "AESEQ", "AETERM"]) + "\n" + delimiter.join(["S1", "1", "HEADACHE"]) + "\n"
    )
    export = inspect_export(_write(tmp_path / "ae.csv", text))
    assert export.data is None
    assert _checks(export) == [("wrong_delimiter", None)]
    assert label in export.problems[0].message
    assert export.problems[0].value == delimiter.join(["USUBJID", "AESEQ", "AETERM"])


def test_latin1_file_names_line_and_row(tmp_path):
    text = "USUBJID,VISIT\nS1,DAY 1\nS1,SEMAINE 1 \xe9t\xe9\n".encode("latin-1")
    export = inspect_export(_write(tmp_path / "qs.csv", text))
    assert export.data is None
    assert _checks(export) == [("not_utf8", 2)]  # line 3 of the file = data row 2
    assert "line 3" in export.problems[0].message
    assert "0xe9" in export.problems[0].message


def test_ragged_rows_are_reported_and_left_out(tmp_path):
    text = "USUBJID,AESEQ,AETERM\nS1,1,HEADACHE\nS1,2,PAIN, BACK\nS2,1\nS3,1,NAUSEA\n"
    export = inspect_export(_write(tmp_path / "ae.csv", text))
    assert _checks(export) == [("ragged_row", 2), ("ragged_row", 3)]
    assert "4 field(s) but the header has 3" in export.problems[0].message
    # the good rows keep their data-row positions (index 0 and 3 -> rows 1 and 4)
    assert list(export.data.index) == [0, 3]
    assert export.data["USUBJID"].tolist() == ["S1", "S3"]


def test_duplicate_column_names_after_upper_casing(tmp_path):
    export = inspect_export(_write(tmp_path / "dm.csv", "USUBJID,age,AGE\nS1,30,31\n"))
    assert _checks(export) == [("duplicate_column", None)]
    assert export.problems[0].column == "AGE"
    assert export.data.to_dict("records") == [{"USUBJID": "S1", "AGE": "30"}]


def test_unknown_extension(tmp_path):
    export = inspect_export(_write(tmp_path / "dm.xlsx", "x"))
    assert _checks(export) == [("file_format", None)]


# ----------------------------------------------------------------------------- XPT
@pytest.mark.parametrize(
    "x, text",
    [
        (9.8, "9.8"),
        (3.0, "3"),
        (0.1 + 0.2, "0.30000000000000004"),
        (-2.5, "-2.5"),
        (float("nan"), None),
        (1e20, "1e+20"),
    ],
)
def test_format_number(x, text):
    assert format_number(x) == text


def test_xpt_is_read_as_text(tmp_path):
    frame = pd.DataFrame(
        {
            "usubjid": ["S1", "S2", "S3"],
            "AGE": [34.0, float("nan"), 61.0],
            "LBORRES": ["9.8", "", "<0.5"],
            "X": [9.8, 0.5, 1200.25],
            "AETERM": ["é", "b", "c"],
        }
    )
    path = tmp_path / "dm.xpt"
    pyreadstat.write_xport(frame, str(path), table_name="DM", file_format_version=5)
    df = read_export(path)
    assert list(df.columns) == ["USUBJID", "AGE", "LBORRES", "X", "AETERM"]
    assert df.to_dict("records") == [
        {"USUBJID": "S1", "AGE": "34", "LBORRES": "9.8", "X": "9.8", "AETERM": "é"},
        {"USUBJID": "S2", "AGE": None, "LBORRES": None, "X": "0.5", "AETERM": "b"},
        {"USUBJID": "S3", "AGE": "61", "LBORRES": "<0.5", "X": "1200.25", "AETERM": "c"},
    ]


def test_xpt_keeps_a_last_short_record_ending_in_blanks(tmp_path):
    # pandas.read_sas(format="xport") drops this last record (records <= 80 bytes whose last
    # 80-byte card holds a blank 8-byte block); the export reader must not.
    frame = pd.DataFrame(
        {"USUBJID": ["S1", "S2 "], "AGE": [34.0, float("nan")], "X": [9.8, 0.3], "T": ["ab", ""]}
    )
    path = tmp_path / "dm.xpt"
    pyreadstat.write_xport(frame, str(path), table_name="DM", file_format_version=5)
    assert len(pd.read_sas(path, format="xport")) == 1  # the pandas reader loses S2 (pandas 2.3.3)
    df = read_export(path)
    assert df["USUBJID"].tolist() == ["S1", "S2"]
    assert df["X"].tolist() == ["9.8", "0.3"]


def test_xpt_latin1_value_names_row_and_column(tmp_path):
    frame = pd.DataFrame({"USUBJID": ["S1", "S2"], "VISIT": ["DAY 1", "éte"]})
    path = tmp_path / "qs.xpt"
    pyreadstat.write_xport(frame, str(path), table_name="QS", file_format_version=5)
    path.write_bytes(path.read_bytes().replace("é".encode("utf-8"), b"\xe9 "))
    export = inspect_export(path)
    assert _checks(export) == [("not_utf8", 2)]
    assert export.problems[0].column == "VISIT"


def test_xpt_empty_unreadable_and_without_rows(tmp_path):
    assert _checks(inspect_export(_write(tmp_path / "a.xpt", b""))) == [("file_empty", None)]
    assert _checks(inspect_export(_write(tmp_path / "b.xpt", b"not a transport file" * 10))) == [
        ("xpt_unreadable", None)
    ]
    path = tmp_path / "c.xpt"
    pyreadstat.write_xport(pd.DataFrame({"USUBJID": pd.Series([], dtype=str)}), str(path), table_name="C")
    export = inspect_export(path)
    assert _checks(export) == [("header_only", None)]
    assert list(export.data.columns) == ["USUBJID"]
