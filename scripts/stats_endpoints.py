"""Rule stats_endpoints: the endpoint and display parts -> stats/ard.csv (the analysis results
dataset) and stats/endpoints.csv (its endpoint rows, one row per statistic; sorted, unique keys)."""

import pandas as pd

from fcrnpipe.runner import run
from fcrnpipe.stats import build_ard, endpoints_from_ard, gather_endpoints
from fcrnpipe.tableio import write_csv


def read_part(path):
    # round_trip: the numbers exactly as the part wrote them (the default parser can be 1 ulp off)
    return pd.read_csv(path, keep_default_na=False, na_values=[""], float_precision="round_trip")


def main(smk):
    p = smk.params
    endpoints = gather_endpoints([read_part(f) for f in smk.input.parts], p.arms, p.visits)
    display = gather_endpoints([read_part(f) for f in smk.input.display], p.arms, p.visits)
    ard = build_ard(endpoints, [display])
    write_csv(ard, smk.output.ard)
    write_csv(endpoints_from_ard(ard), smk.output.endpoints)


run(main, snakemake)  # noqa: F821
