"""Rule pkpd_select_pk: AIC choice among the PK candidates -> model_selection.csv, pkpd/pk/."""

from fcrnpipe.pkpd.stage import select_pk
from fcrnpipe.runner import run


def main(smk):
    select_pk(list(smk.input.summaries), smk.params.candidates, dict(smk.output.items()))


run(main, snakemake)  # noqa: F821
