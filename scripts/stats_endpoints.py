"""Rule stats_endpoints: the endpoint parts of the ARD -> stats/endpoints.csv (their endpoint rows,
one row per statistic; sorted, unique keys)."""

from fcrnpipe.runner import run
from fcrnpipe.stats import endpoints_from_ard, gather_ard, read_ard
from fcrnpipe.tableio import write_csv


def main(smk):
    p = smk.params
    ard = gather_ard([read_ard(f) for f in smk.input.parts], p.arms, p.visits)
    write_csv(endpoints_from_ard(ard), smk.output.endpoints)


run(main, snakemake)  # noqa: F821
