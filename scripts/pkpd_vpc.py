"""Rule pkpd_vpc: visual predictive check of one endpoint (pk, igg), per stratum (dose level by default),
optionally prediction-corrected -> table + figure."""

from fcrnpipe.pkpd.stage import vpc
from fcrnpipe.runner import run


def main(smk):
    p, i = smk.params, smk.input
    vpc(i.dataset, i.pk_fit, i.pd_fit, dict(smk.output.items()), endpoint=smk.wildcards.endpoint,
        seed=p.seed, dosing_days=p.dosing_days, data_cut=p.data_cut, treatment=p.treatment,
        **p.vpc)  # replicates, stratify_on, prediction_corrected, percentiles, min_bin_observations


run(main, snakemake)  # noqa: F821
