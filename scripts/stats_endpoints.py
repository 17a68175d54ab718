"""Rule stats_endpoints: the endpoint parts -> stats/endpoints.csv (sorted, unique keys)."""

import pandas as pd

from fcrnpipe.runner import run
from fcrnpipe.stats import gather_endpoints
from fcrnpipe.tableio import write_csv


def main(smk):
    parts = [pd.read_csv(f, keep_default_na=False, na_values=[""]) for f in smk.input.parts]
    write_csv(gather_endpoints(parts, smk.params.arms, smk.params.visits), smk.output.endpoints)


run(main, snakemake)  # noqa: F821
