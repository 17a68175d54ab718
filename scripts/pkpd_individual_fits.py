"""Rule pkpd_individual_fits: observed, IPRED and PRED per subject for one endpoint (pk, igg)."""

from fcrnpipe.pkpd.stage import individual_fits
from fcrnpipe.runner import run


def main(smk):
    i = smk.input
    individual_fits(i.dataset, i.id_map, i.pk_fit, i.pd_fit, dict(smk.output.items()), endpoint=smk.wildcards.endpoint,
                    arms=smk.params.arms, data_cut=smk.params.data_cut, treatment=smk.params.treatment)


run(main, snakemake)  # noqa: F821
