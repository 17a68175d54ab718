"""Rule check_domain: validate one raw export; record its typed table and its failures.

Always succeeds on bad data (the failures are the output); rule ``validated`` is the gate.
"""

from fcrnpipe.runner import run
from fcrnpipe.tableio import write_parquet
from fcrnpipe.validation import check_domain, first_path, write_failures


def main(smk):
    typed, failures = check_domain(
        smk.wildcards.domain,
        first_path(smk.input.raw),
        smk.params.expected,
        first_path(smk.input.units),
        dm=first_path(smk.input.dm),
        ex=first_path(smk.input.ex),
        study=smk.params.study,
    )
    write_parquet(typed, smk.output.typed)
    write_failures(failures, smk.output.failures)


run(main, snakemake)  # noqa: F821
