"""Rule pkpd_gof: goodness-of-fit panel of one endpoint (pk, igg)."""

from fcrnpipe.pkpd.stage import gof
from fcrnpipe.runner import run


def main(smk):
    i = smk.input
    gof(i.predictions, i.pk_summary, i.pd_summary, dict(smk.output.items()), endpoint=smk.wildcards.endpoint,
        arms=smk.params.arms, data_cut=smk.params.data_cut, treatment=smk.params.treatment)


run(main, snakemake)  # noqa: F821
