"""Rule pkpd_fit_pd: IgG turnover on the chosen PK (or the simultaneous model) -> pkpd/pd/,
pkpd/individual_parameters.csv, pkpd/predictions.csv."""

from fcrnpipe.pkpd.stage import fit_pd
from fcrnpipe.runner import run


def main(smk):
    p, i = smk.params, smk.input
    pk = {k[3:]: v for k, v in i.items() if k.startswith("pk_")}
    fit_pd(i.dataset, pk, i.id_map, dict(smk.output.items()), fit_mode=p.fit_mode, pd_model=p.pd_model,
           steroid=p.steroid, residual_error=p.residual_error, blq_method=p.blq_method, limits=p.limits,
           covariates=p.covariates, threads=smk.threads)


run(main, snakemake)  # noqa: F821
