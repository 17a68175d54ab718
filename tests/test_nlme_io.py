"""The pandas-free reading and writing of the estimator (the command line's start-up cost,
docs/nlme.md): the same numbers, records and bytes as the pandas code they replace."""

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fcrnpipe.errors import UserError
from fcrnpipe.models import make_model
from fcrnpipe.nlme import ErrorModel, PopulationModel, fit, read_nm_dataset, validate_nm_frame
from fcrnpipe.nlme.dataset import all_integers, covariate_column, parse_numbers
from fcrnpipe.nlme.results import (
    individual_columns,
    individual_table,
    population_columns,
    population_table,
    predictions_columns,
    predictions_table,
)
from fcrnpipe.tableio import write_columns_csv, write_csv

ROOT = Path(__file__).resolve().parents[1]
THEOPH = ROOT / "tests" / "data" / "theoph_nm.csv"


def pandas_read(path: Path):
    """The reader before: pandas' text table, validated."""
    return validate_nm_frame(pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True), str(path))


@pytest.mark.parametrize(
    "text, value",
    [
        ("0.30000000000000004", 0.30000000000000004),  # correctly rounded: pandas' default reader gives 0.3
        ("28.799999999999997", 28.799999999999997),  # likewise (pandas: 28.8)
        ("0.74", 0.74),
        (" 320 ", 320.0),
        ("+5", 5.0),
        ("1e3", 1000.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("-Infinity", -math.inf),
        ("1e-400", 0.0),
    ],
)
def test_parse_numbers_reads_correctly_rounded_values(text, value):
    values, bad = parse_numbers([text])
    assert bad is None and values.tolist() == [value]


@pytest.mark.parametrize("text", ["abc", "1_0", "nan", "NaN", "1e400", "0x10", "1d3", ".", "e3", "1.2.3", "\uff11", "1\n2"])
def test_parse_numbers_gives_the_first_text_that_is_not_a_number(text):
    assert parse_numbers(["1", "2.5", text, "x"])[1] == 2


def test_parse_numbers_reads_back_what_repr_wrote():
    rng = np.random.default_rng(7)
    x = rng.standard_normal(20000) * 10.0 ** rng.integers(-12, 12, 20000)
    texts = [repr(float(v)) for v in x] + [f"{v:.20g}" for v in x[:5000]]
    values, bad = parse_numbers(texts)
    assert bad is None and np.array_equal(values, np.array([float(t) for t in texts]))
    assert np.array_equal(values[:20000], x)  # the exact floats: the fits read the dataset job's numbers
    assert not np.array_equal(values, pd.to_numeric(pd.Series(texts)).to_numpy())  # pandas' default reader does not


def test_all_integers():
    assert all_integers(["70", " -80", "+3"]) and not all_integers(["70", "1e3"]) and not all_integers([])


def test_covariate_column_types_as_pandas():
    assert covariate_column(["70", "80"]).dtype == np.int64
    assert covariate_column(["70.5", "80"]).tolist() == [70.5, 80.0]
    t = covariate_column(["70", ""])  # an empty cell (or a short row): the column stays text
    assert t.dtype == object and t.tolist() == ["70", ""]


def test_reader_gives_the_records_of_the_pandas_reader(tmp_path):
    text = (
        "ID,TIME,AMT,DV,EVID,MDV,CMT,BLQ,LLOQ,WT,SEX,DOSE\n"
        "\n"
        '1,0,340,.,1,1,1,0,.,70,"F, adult",340\n'
        "1, 168.33333333333334,0,0.30000000000000004,0,0,2,0,0.1,70,\"F, adult\",340\n"
        "1,170,0,.,0,0,2,1,0.1,70,\"F, adult\",340\n"
        "2,0,680,.,1,1,1,0,.,81.5,M,680\n"
        "2,24,0,28.799999999999997,0,0,2,0,0.1,81.5,M,680\n"
        "2,48,0,12.5,0,0,3,0,.,81.5,M\n"  # short row: DOSE missing
    )
    path = tmp_path / "nm.csv"
    path.write_text(text, encoding="utf-8")
    mine, ref = read_nm_dataset(path), pandas_read(path)
    # 17-digit values read exactly (pandas' default reader gives 0.3 and 28.8)
    assert mine.records["DV"].iloc[[1, 4]].tolist() == [0.30000000000000004, 28.799999999999997]
    pd.testing.assert_frame_equal(mine.records, ref.records)
    assert mine.covariates == ref.covariates == ("WT", "SEX", "DOSE")
    assert mine.records["ROW"].tolist() == [1, 2, 3, 4, 5, 6]
    for a, b in zip(vars(mine.design((2,))).values(), vars(ref.design((2,))).values()):
        np.testing.assert_array_equal(a, b)


def test_reader_on_theoph_and_its_errors(tmp_path):
    pd.testing.assert_frame_equal(read_nm_dataset(THEOPH).records, pandas_read(THEOPH).records)
    long_row = tmp_path / "long.csv"
    long_row.write_text("ID,TIME,AMT,DV,EVID,CMT\n1,0,100,.,1,1,7\n")
    with pytest.raises(UserError, match="not a readable CSV file .expected 6 fields in record 2, saw 7"):
        read_nm_dataset(long_row)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("ID,TIME,AMT,DV,EVID,CMT,SITE\n1,0,100,.,1,1,M\xfcnchen\n".encode("latin-1"))
    with pytest.raises(UserError, match="not a readable CSV file"):
        read_nm_dataset(latin)
    bad = tmp_path / "bad.csv"
    bad.write_text("ID,TIME,AMT,DV,EVID,CMT\n1,0,100,.,1,1\n1,1_0,0,5,0,2\n")
    with pytest.raises(UserError, match=r"data row 2 \(line 3\), column TIME: '1_0' is not a number"):
        read_nm_dataset(bad)


def test_write_columns_csv_writes_the_bytes_of_pandas(tmp_path):
    cols = {
        "ID": np.array(["1", "a,b", 'say "x"', "10"], dtype=object),
        "X": np.array([0.1, np.nan, 1e-05, 1e16]),
        "Y": np.array([np.inf, -0.0, 123456789.12345679, 2.5]),
        "N": np.array([1, -2, 3, 40], dtype=np.int64),
        "T": np.array(["ok", None, np.nan, ""], dtype=object),
        "B": np.array([True, False, True, False]),
    }
    write_columns_csv(cols, tmp_path / "mine.csv")
    write_csv(pd.DataFrame(cols), tmp_path / "pandas.csv")
    assert (tmp_path / "mine.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
    assert (tmp_path / "mine.csv").read_text().splitlines()[2] == '"a,b",,-0.0,-2,,False'  # quoted, NaN empty


def test_result_columns_are_the_data_frames(tmp_path):
    pm = PopulationModel(make_model("oral1cmt", parameterisation="ssfol"), iiv=("ke", "ka", "CL"),
                         errors={2: ErrorModel("additive")})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit(read_nm_dataset(THEOPH), pm)
    for columns, table in ((population_columns, population_table), (individual_columns, individual_table),
                           (predictions_columns, predictions_table)):
        df = table(res)
        write_columns_csv(columns(res), tmp_path / "mine.csv")
        write_csv(df, tmp_path / "pandas.csv")
        assert (tmp_path / "mine.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
    assert individual_table(res)["ID"].tolist() == [str(i) for i in range(1, 13)]


def test_frame_and_file_give_the_same_covariates(tmp_path):
    """A data frame of text (as the bootstrap's resampled table) and the file of that text give the
    same records: a 17-digit covariate value reads back exactly either way (pandas' parser: 0.3)."""
    text = "ID,TIME,AMT,DV,EVID,CMT,WT,SEX\n1,0,100,.,1,1,0.30000000000000004,F\n1,1,0,5,0,2,0.30000000000000004,F\n"
    path = tmp_path / "nm.csv"
    path.write_text(text, encoding="utf-8")
    from_file, from_frame = read_nm_dataset(path), pandas_read(path)
    assert from_file.columns["WT"].tolist() == from_frame.columns["WT"].tolist() == [0.30000000000000004] * 2
    assert from_frame.columns["SEX"].tolist() == ["F", "F"]
