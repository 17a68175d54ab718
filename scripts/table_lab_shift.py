"""Rule table_lab_shift: stats/ard.csv -> CTCAE shift tables (hypoalbuminaemia, hypercholesterolaemia)."""

import pandas as pd

from fcrnpipe.runner import run
from fcrnpipe.stats import ctcae_max_grades, read_ard
from fcrnpipe.tableio import read_parquet
from fcrnpipe.tables import lab_shift_table, write_outputs


def main(smk):
    p = smk.params
    adsl, adlb = read_parquet(smk.input.adsl), read_parquet(smk.input.adlb)
    max_grades = ctcae_max_grades(pd.read_csv(smk.input.ctcae))
    table = lab_shift_table(
        adsl, adlb, p.arms, p.grading, max_grades, ard=read_ard(smk.input.ard), treatment=p.treatment, data_cut=p.data_cut, overall_label=p.overall_label
    )
    write_outputs(table, smk.output.csv, smk.output.html)


run(main, snakemake)  # noqa: F821
