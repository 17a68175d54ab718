"""Deterministic table writers."""

from __future__ import annotations

import hashlib

import pandas as pd
import pyarrow.parquet as pq

from fcrnpipe.tableio import write_csv, write_json, write_parquet


def _frame():
    return pd.DataFrame({"USUBJID": ["S2", "S1"], "AVAL": [1.0 / 3.0, 2.5], "EMPTY": [None, None],
                         "ADT": pd.to_datetime(["2021-01-02", "2021-01-01"])})


def test_parquet_and_csv_are_byte_identical_when_rewritten(tmp_path):
    digests = []
    for i in range(2):
        write_parquet(_frame(), tmp_path / f"t{i}.parquet")
        write_csv(_frame(), tmp_path / f"t{i}.csv")
        digests.append((hashlib.sha256((tmp_path / f"t{i}.parquet").read_bytes()).hexdigest(),
                        hashlib.sha256((tmp_path / f"t{i}.csv").read_bytes()).hexdigest()))
    assert digests[0] == digests[1]


def test_all_missing_text_column_is_typed_string(tmp_path):
    write_parquet(_frame(), tmp_path / "t.parquet")
    assert str(pq.read_schema(tmp_path / "t.parquet").field("EMPTY").type) == "string"


def test_csv_format(tmp_path):
    write_csv(_frame(), tmp_path / "t.csv")
    text = (tmp_path / "t.csv").read_bytes()
    assert b"\r\n" not in text
    assert text.splitlines()[0] == b"USUBJID,AVAL,EMPTY,ADT"
    assert text.splitlines()[1] == b"S2,0.3333333333333333,,2021-01-02"


def test_json_sorted_keys(tmp_path):
    write_json({"b": 1, "a": [1, 2]}, tmp_path / "x.json")
    assert (tmp_path / "x.json").read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
