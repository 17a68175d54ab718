"""Rule stats_results ({part}: pk_nca, pkpd): a PK or PK/PD stage's results file
(pk/nca_summary.csv, pkpd/population_parameters.csv) -> its ARD part (stats/parts/<part>.csv):
the same numbers as display rows in the ARD's long format, with method text."""

import pandas as pd

from fcrnpipe.runner import run
from fcrnpipe.stats import part_ard
from fcrnpipe.stats.descriptive import frame
from fcrnpipe.stats.pk import results_part_rows
from fcrnpipe.tableio import write_csv


def main(smk):
    p = smk.params
    results = pd.read_csv(smk.input.results, keep_default_na=False, na_values=[""])
    display = results_part_rows(smk.wildcards.part, results)
    write_csv(part_ard(frame([]), display, p.arms, p.visits), smk.output.part)


run(main, snakemake)  # noqa: F821
