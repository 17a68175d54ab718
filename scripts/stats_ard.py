"""Rule stats_ard: every ARD part -> stats/ard.csv (the analysis results dataset: endpoint rows
sorted as endpoints.csv, then display rows)."""

from fcrnpipe.runner import run
from fcrnpipe.stats import gather_ard, read_ard
from fcrnpipe.tableio import write_csv


def main(smk):
    p = smk.params
    write_csv(gather_ard([read_ard(f) for f in smk.input.parts], p.arms, p.visits), smk.output.ard)


run(main, snakemake)  # noqa: F821
