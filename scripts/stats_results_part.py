"""Rule stats_results ({part}: pk_nca, pkpd): a PK or PK/PD stage's results file (pk/nca_summary.csv,
pkpd/population_parameters.csv) -> its ARD part (stats/parts/pk_nca.csv, stats/parts/pkpd.csv):
the same numbers as display rows in the ARD's long format, with method text."""

import pandas as pd

from fcrnpipe.runner import run
from fcrnpipe.stats import part_ard
from fcrnpipe.stats.descriptive import frame
from fcrnpipe.stats.pk import nca_summary_rows, pkpd_parameter_rows
from fcrnpipe.tableio import write_csv

#: the part (wildcard) -> the conversion of its results file into display rows
CONVERSIONS = {"pk_nca": nca_summary_rows, "pkpd": pkpd_parameter_rows}


def main(smk):
    p = smk.params
    results = pd.read_csv(smk.input.results, keep_default_na=False, na_values=[""])
    write_csv(part_ard(frame([]), CONVERSIONS[smk.wildcards.part](results), p.arms, p.visits), smk.output.part)


run(main, snakemake)  # noqa: F821
