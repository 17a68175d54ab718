"""Rule pkpd_fit_pk: fit one PK candidate -> pkpd/candidates/<candidate>/ (fit.json, tables, summary)."""

from fcrnpipe.pkpd.stage import fit_pk
from fcrnpipe.runner import run


def main(smk):
    p = smk.params
    fit_pk(smk.input.dataset, dict(smk.output.items()), candidate=smk.wildcards.candidate,
           residual_error=p.residual_error, blq_method=p.blq_method, limits=p.limits,
           covariates=p.covariates, threads=smk.threads)


run(main, snakemake)  # noqa: F821
