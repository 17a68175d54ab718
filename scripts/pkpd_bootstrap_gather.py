"""Rule pkpd_bootstrap_gather: bootstrap CIs -> population_parameters.csv, fit_summary.json, bootstrap.csv."""

from fcrnpipe.pkpd.stage import bootstrap_gather
from fcrnpipe.runner import run


def main(smk):
    p, i = smk.params, smk.input
    pk = {k[3:]: v for k, v in i.items() if k.startswith("pk_")}
    pd = {k[3:]: v for k, v in i.items() if k.startswith("pd_")}
    bootstrap_gather(list(i.chunks), pk, pd, i.selection, dict(smk.output.items()),
                     replicates=p.replicates, seed=p.seed, fit_mode=p.fit_mode,
                     exclude_at_bound=p.exclude_at_bound, max_failed_share=p.max_failed_share,
                     nm_path=i.dataset, stratify_on=p.stratify_on)


run(main, snakemake)  # noqa: F821
