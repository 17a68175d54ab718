"""Rule pkpd_regimen_simulation: IgG % of baseline by regimen as simulated trials (one population
parameter set per trial, from the bootstrap replicates when the pipeline runs a bootstrap) --
table, profiles, figure -- and the model against the published PD (pd_reproduction.csv)."""

from fcrnpipe.pkpd.stage import regimen_simulation
from fcrnpipe.runner import run


def main(smk):
    p, i = smk.params, smk.input
    regimen_simulation(i.dataset, i.id_map, i.predictions, i.pk_fit, i.pd_fit, dict(smk.output.items()),
                       regimens=p.regimens, seed=p.seed, arms=p.arms, dosing_days=p.dosing_days, visits=p.visits,
                       data_cut=p.data_cut, bootstrap=i.get("bootstrap"), exclude_at_bound=p.exclude_at_bound,
                       workers=smk.threads, **p.simulation)  # trials, subjects, days, uncertainty


run(main, snakemake)  # noqa: F821
