"""Rule validated: stop the run if the domain broke the contract, else publish its typed table."""

from fcrnpipe.runner import run
from fcrnpipe.tableio import read_parquet, write_parquet
from fcrnpipe.validation import gate, read_failures


def main(smk):
    typed = gate(
        smk.wildcards.domain,
        read_parquet(smk.input.typed),
        read_failures(smk.input.failures),
        report=smk.input.report,
        failures_csv=smk.params.failures,
    )
    write_parquet(typed, smk.output.parquet)


run(main, snakemake)  # noqa: F821
