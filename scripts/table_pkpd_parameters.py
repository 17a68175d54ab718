"""Rule table_pkpd_parameters: pkpd/population_parameters.csv (parameters, labels) + the ARD part
pkpd (numbers) -> parameter estimates (CSV + HTML)."""

import pandas as pd

from fcrnpipe.runner import run
from fcrnpipe.stats import read_ard
from fcrnpipe.tables import pkpd_parameters_table, write_outputs


def main(smk):
    params = pd.read_csv(smk.input.parameters, keep_default_na=False, na_values=[""])
    table = pkpd_parameters_table(params, data_cut=smk.params.data_cut, ard=read_ard(smk.input.ard))
    write_outputs(table, smk.output.csv, smk.output.html)


run(main, snakemake)  # noqa: F821
