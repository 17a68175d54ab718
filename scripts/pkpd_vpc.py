"""Rule pkpd_vpc: visual predictive check of one endpoint (pk, igg), per stratum (dose level by default),
optionally prediction-corrected -> table + figure."""

from fcrnpipe.pkpd.stage import vpc
from fcrnpipe.runner import run


def main(smk):
    p, i = smk.params, smk.input
    vpc(i.dataset, i.pk_fit, i.pd_fit, dict(smk.output.items()), endpoint=smk.wildcards.endpoint,
        replicates=p.replicates, seed=p.seed, dosing_days=p.dosing_days, data_cut=p.data_cut, treatment=p.treatment,
        stratify_on=p.stratify_on, prediction_corrected=p.prediction_corrected, percentiles=p.percentiles,
        min_bin_observations=p.min_bin_observations)


run(main, snakemake)  # noqa: F821
