"""Rule stats_lab: ADSL + ADLB -> the ARD part stats/parts/lab.csv: albumin/cholesterol by visit and
CTCAE shifts (endpoint rows), the shift tables' totals (display rows)."""

import pandas as pd

from fcrnpipe.runner import run
from fcrnpipe.stats import ctcae_max_grades, lab_part, part_ard
from fcrnpipe.stats.safety import lab_display_part
from fcrnpipe.tableio import read_parquet, write_csv


def main(smk):
    max_grades = ctcae_max_grades(pd.read_csv(smk.input.ctcae))
    adsl, adlb = read_parquet(smk.input.adsl), read_parquet(smk.input.adlb)
    p = smk.params
    endpoints = lab_part(adsl, adlb, p.arms, p.grading, max_grades)
    display = lab_display_part(adsl, adlb, p.arms, p.grading, max_grades)
    write_csv(part_ard(endpoints, display, p.arms, p.visits), smk.output.part)


run(main, snakemake)  # noqa: F821
