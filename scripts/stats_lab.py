"""Rule stats_lab: ADSL + ADLB -> albumin/cholesterol by visit and CTCAE shifts (stats/parts/lab.csv);
the shift tables' totals (display rows of the ARD: stats/parts/lab_display.csv)."""

import pandas as pd

from fcrnpipe.runner import run
from fcrnpipe.stats import ctcae_max_grades, lab_part
from fcrnpipe.stats.safety import lab_display_part
from fcrnpipe.tableio import read_parquet, write_csv


def main(smk):
    max_grades = ctcae_max_grades(pd.read_csv(smk.input.ctcae))
    adsl, adlb = read_parquet(smk.input.adsl), read_parquet(smk.input.adlb)
    write_csv(lab_part(adsl, adlb, smk.params.arms, smk.params.grading, max_grades), smk.output.part)
    write_csv(lab_display_part(adsl, adlb, smk.params.arms, smk.params.grading, max_grades), smk.output.display)


run(main, snakemake)  # noqa: F821
