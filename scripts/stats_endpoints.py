"""Rule stats_endpoints: the ARD parts -> stats/ard.csv (the analysis results dataset) and
stats/endpoints.csv (its endpoint rows, one row per statistic; sorted, unique keys)."""

from fcrnpipe.runner import run
from fcrnpipe.stats import endpoints_from_ard, gather_ard, read_ard
from fcrnpipe.tableio import write_csv


def main(smk):
    p = smk.params
    ard = gather_ard([read_ard(f) for f in smk.input.parts], p.arms, p.visits)
    write_csv(ard, smk.output.ard)
    write_csv(endpoints_from_ard(ard), smk.output.endpoints)


run(main, snakemake)  # noqa: F821
