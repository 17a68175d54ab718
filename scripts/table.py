"""Rule table: one CSR-style table by name (wildcard ``name``) -> CSV + HTML; the builder adapter
is the name's entry of fcrnpipe.tables.registry."""

from fcrnpipe.runner import run
from fcrnpipe.tables import write_outputs
from fcrnpipe.tables.registry import build_table


def main(smk):
    write_outputs(build_table(smk), smk.output.csv, smk.output.html)


run(main, snakemake)  # noqa: F821
