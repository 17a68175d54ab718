"""Rule stats_part: one ARD part by name (wildcard ``part``) -> stats/parts/<part>.csv (its endpoint
and display rows); the adapter is the part's entry of fcrnpipe.stats.registry."""

from fcrnpipe.runner import run
from fcrnpipe.stats.registry import build_part
from fcrnpipe.tableio import write_csv


def main(smk):
    write_csv(build_part(smk), smk.output.part)


run(main, snakemake)  # noqa: F821
