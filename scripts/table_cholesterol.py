"""Rule table_cholesterol: stats/ard.csv + ADSL + ADLB -> total and LDL cholesterol by visit (CSV + HTML)."""

import pandas as pd

from fcrnpipe.runner import run
from fcrnpipe.stats import read_ard
from fcrnpipe.tableio import read_parquet
from fcrnpipe.tables import cholesterol_table, lab_decimals, write_outputs


def main(smk):
    p = smk.params
    adsl, adlb = read_parquet(smk.input.adsl), read_parquet(smk.input.adlb)
    decimals = lab_decimals(pd.read_csv(smk.input.units))
    table = cholesterol_table(adsl, adlb, p.arms, decimals=decimals, ard=read_ard(smk.input.ard), treatment=p.treatment, data_cut=p.data_cut, overall_label=p.overall_label)
    write_outputs(table, smk.output.csv, smk.output.html)


run(main, snakemake)  # noqa: F821
